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
    frame lines, then the exception line (``AssertionError: write() before
    start_response``) and any unindented continuation lines of the exception
    message. Chained exceptions (``During handling of the above exception...``)
    belong to the same record.

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

#: A traceback block from the newline before ``Traceback``: its frame lines, then
#: (unless the block was cut off) the exception line, up to 100 continuation lines
#: of the exception message, and the separator of a chained exception if one follows.
TRACEBACK = re.compile(
    rb"\nTraceback \(most recent call last\):[^\S\n]*\n"
    rb"(?P<frames>(?:[^\S\n][^\n]*\n)*+)"
    rb"(?:" + _NOT_KNOWN + rb"(?P<exception>[^\n]+)"
    rb"(?P<more>(?:\n" + _NOT_KNOWN + rb"[^\n]*){0,100})"
    rb"(?P<chained>(?:\n[^\S\n]*)*\n(?:During handling of the above exception"
    rb"|The above exception was the direct cause))?)?",
    re.M,
)

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
