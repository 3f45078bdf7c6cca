"""Python's traceback shapes, looked for in every log format.

Tracebacks
    ``Traceback (most recent call last):`` at the start of a line, its indented
    frame lines (source and caret lines such as ``    ^^^^^`` included), then the
    exception line (``AssertionError: write() before start_response``) and any
    unindented continuation lines of the exception message. Blank lines may stand
    between any of these lines. Chained exceptions belong to the same record:
    ``During handling of the above exception, another exception occurred:`` or
    ``The above exception was the direct cause of the following exception:``
    joins one traceback section to the next, and a section may be a bare
    exception line (an exception that was never raised has no frames). An
    exception group (Python 3.11+) is a section of framed lines::

          + Exception Group Traceback (most recent call last):
          |   File "app.py", line 3, in <module>
          | ExceptionGroup: eg (2 sub-exceptions)
          +-+---------------- 1 ----------------
            | ValueError: a
            +---------------- 2 ----------------
            | TypeError: b
            +------------------------------------

The line before a traceback names who logged it: Werkzeug's ``Error on request:``,
Flask's ``Exception on /path [GET]``, gunicorn's ``Error handling request``.
"""

from __future__ import annotations

import re

from wslab.logs.formats.base import ANSI_LEAD, KNOWN_START

_NOT_KNOWN = rb"(?!" + ANSI_LEAD + rb"(?:" + KNOWN_START + rb"))"

#: Any number of blank (or whitespace-only) lines, each led by its newline.
BLANK_LINES = re.compile(rb"(?:\n[^\S\n]*(?=\n))*+")
_BLANKS = BLANK_LINES.pattern

#: The exception line of a traceback section and up to 100 continuation lines of
#: its message (blank lines in between allowed), from the newline before it.
_EXCEPTION = (
    rb"\n(?P<exception>" + _NOT_KNOWN + rb"[^\n]+)"
    rb"(?P<more>(?:" + _BLANKS + rb"\n" + _NOT_KNOWN + rb"[^\n]*){0,100})"
)

#: A traceback section from the newline before ``Traceback``: its frame lines
#: (blank lines between them allowed), then, unless the log cut it off, the
#: exception line and its continuation lines.
_INDENTED = rb"\n[^\S\n]+\S[^\n]*"
TRACEBACK = re.compile(
    rb"\nTraceback \(most recent call last\):[^\S\n]*"
    rb"(?P<frames>(?:" + _INDENTED + rb"|(?:\n[^\S\n]*(?=\n))++(?=" + _INDENTED + rb"))*+)"
    rb"(?:" + _BLANKS + _EXCEPTION + rb")?"
)

#: A section without frames (an exception never raised, e.g. a ``__cause__``).
BARE_EXCEPTION = re.compile(_EXCEPTION)

#: The words that start a traceback section's first line.
TRACEBACK_WORDS = b"Traceback (most recent call last):"

#: What stands before :data:`TRACEBACK_WORDS` on the first line of an exception group.
GROUP_LEAD = b"  + Exception Group "

#: The sentence joining a chained exception's section to the next one, after blank lines.
CHAIN_SENTENCE = re.compile(
    _BLANKS + rb"\n(?:During handling of the above exception|The above exception was the direct cause)[^\n]*"
)

#: The framed lines of an exception group (``  + ...``, ``  | ...``, ``    | ...``),
#: blank lines between them allowed, from the newline before the first one.
GROUP_SECTION = re.compile(rb"(?:" + _BLANKS + rb"\n(?:  )+[|+][^\n]*)++")

#: The group's own exception line and its continuation lines, inside a group section.
GROUP_EXCEPTION = re.compile(rb"\n  \| (?P<exception>\S[^\n]*)(?P<more>(?:\n  \| \S[^\n]*)*)")

#: A line of a group section that opens (or closes) one of its sub-exceptions.
GROUP_MEMBER_EDGE = re.compile(rb"\n  (?:\+-|  )\+-(?!\+)")

#: A text line of a group's direct sub-exception (not a frame line, not a nested group's line).
GROUP_MEMBER_LINE = re.compile(rb"\n    \| (\S[^\n]*)")

#: Lines inside a sub-exception after which its next text line is an exception line.
GROUP_MEMBER_HEADS = (
    b"Traceback (most recent call last):",
    b"Exception Group Traceback (most recent call last):",
    b"During handling of the above exception",
    b"The above exception was the direct cause",
)

#: Python's ``and 3 more exceptions`` line of a truncated group.
GROUP_MORE = re.compile(rb"and \d+ more exceptions?\s*$")

FRAME = re.compile(
    rb'^[^\S\n]+File "(?P<file>[^"\n]*)", line (?P<line>\d+), in (?P<function>[^\n]*?)\r?$', re.M
)

EXCEPTION_NAME = re.compile(r"(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$", re.S)

#: Flask's ``Exception on /path [GET]`` record header.
FLASK_EXCEPTION = re.compile(r"Exception on (?P<path>\S+) \[(?P<method>[A-Z]+)\]")
