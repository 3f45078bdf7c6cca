"""The line shapes the log parser understands, as compiled ``bytes`` regexes.

Everything works on raw bytes, so invalid UTF-8 never stops the parser; text is
decoded (with replacement characters) only for the fields that are kept.

Request lines
    Werkzeug's access line, found anywhere in a line so that any logging prefix
    (or none) may stand before it::

        127.0.0.1 - - [01/Sep/2025 13:04:34] "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" 500 -

    The request text may carry ANSI colour codes (``\\x1b[35m\\x1b[1m...\\x1b[0m``)
    and escaped binary (``\\x16\\x03``); anything may follow the size field (a
    format suffix such as `` (taskName=None)``). A line is a request line when it
    holds ``[dd/Mon/yyyy hh:mm:ss] "<text>" <3-digit status> <size or ->``.

Record starts
    A line opens a log record when it starts (after optional colour codes) with a
    timestamp (``[2025-09-01T13:04:34.761399]``, ``2025-09-01 13:04:34,761``, with or
    without brackets), with a level name (``INFO:werkzeug:...``, ``ERROR ...``), with
    a syslog date (``Sep  1 13:04:34``), or with Werkzeug's own ``host - - [date]``.

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

Werkzeug's bad-request lines
    ``... [date] code 400, message Bad request syntax ('\\x16\\x03...')``.

Phase markers
    A record from logger ``wslab`` whose message is ``phase: <name>``, e.g.
    ``[2025-09-01T13:04:34.761399] INFO wslab - phase: after-fix (taskName=None)``.
"""

from __future__ import annotations

import re

ANSI_LEAD = rb"(?:\x1b\[[0-9;]*m)*"
ANSI = re.compile(rb"\x1b\[[0-9;]*m")

#: A timestamp at the start of a line: ISO 8601 or logging's default ``asctime``.
TIMESTAMP = re.compile(rb"\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))?")
_TS_START = rb"\[?\d{4}-\d\d-\d\d[T ]"
_LEVEL_START = rb"\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?[: ]"
_SYSLOG_START = rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
_WERKZEUG_START = rb'[^\s"]+ - \S+ \[\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d\] '
_RECORD_START = rb"|".join([_TS_START, _LEVEL_START, _SYSLOG_START, _WERKZEUG_START])

#: A line after which a chunk may be cut without splitting a multi-line record.
RECORD_START = re.compile(ANSI_LEAD + rb"(?:" + _RECORD_START + rb")")

_RARE_STARTS = [
    rb"Traceback \(most recent call last\)",
    rb"During handling of the above exception",
    rb"The above exception was the direct cause",
    rb"Error on request:",
]
_KNOWN_START = rb"|".join([_RECORD_START, rb"[^\S\n]", rb"\r?$", *_RARE_STARTS])

#: Does a line start like any known line? Indented lines count as continuation lines
#: (traceback frames, pretty-printed messages); blank lines are known and empty.
KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + _KNOWN_START + rb")", re.M)

#: A cheap first pass: the newline before each line that may be unknown. It skips
#: lines with a timestamp, indented and blank lines; the few lines it returns are
#: checked with :data:`KNOWN_LINE_START` and the request pattern.
MAYBE_UNKNOWN_LINE = re.compile(
    rb"\n(?!" + rb"|".join([_TS_START, rb"[^\S\n]", rb"\r?$", _WERKZEUG_START, _LEVEL_START]) + rb")", re.M
)

#: A Werkzeug request record; the match starts at the ``]`` closing the date. The
#: request text runs to the *last* ``" <status> <size>`` on the line.
REQUEST = re.compile(
    rb'\] "(?<=\[\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d\] ")'
    rb'(?P<text>.*)" (?P<status>\d{3}) (?P<size>\d+|-)(?=\s|$)',
    re.M,
)

#: The same pattern with the status as its only group, for counting with ``findall``.
REQUEST_STATUS = re.compile(
    rb'\] "(?<=\[\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d\] ").*" (\d{3}) (?:\d+|-)(?=\s|$)', re.M
)

#: Length of ``[01/Sep/2025 13:04:34]`` minus its closing bracket.
DATE_WIDTH = 21

#: ``<client> - <user> `` right before the request date.
CLIENT_TAIL = re.compile(rb'([^\s"]+) - (\S+) $')

#: Werkzeug's request method, target and protocol inside the quoted request text.
REQUEST_TEXT = re.compile(r"(?P<method>[A-Z][A-Z0-9_-]*) (?P<target>\S+) (?P<protocol>HTTP/\d(?:\.\d)?)")

BAD_REQUEST_SYNTAX = b"] code 400, message Bad request syntax ("

_NOT_KNOWN = rb"(?!" + ANSI_LEAD + rb"(?:" + _KNOWN_START + rb"))"

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

PHASE = b"phase: "
PHASE_MARKER = re.compile(rb"(?:^|[\s:\[])wslab\]?[\s:-].*?(?<![^\s:-])phase: (?P<name>\S+)")

LEVEL_WORD = re.compile(r"\b(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b")

MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
