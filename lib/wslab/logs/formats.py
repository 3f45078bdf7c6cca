"""The line shapes the log parser understands, as compiled ``bytes`` regexes.

Everything works on raw bytes, so invalid UTF-8 never stops the parser; text is
decoded (with replacement characters) only for the fields that are kept.

Log formats
    Each source is read in one :class:`LogFormat`, given by name or detected
    from its opening lines (:func:`detect_format`):

    ``werkzeug``
        Werkzeug's request lines inside any logging setup, with tracebacks,
        phase markers and ``Bad request syntax`` records; everything below
        under *Request lines* to *Phase markers*.
    ``gunicorn-access``
        gunicorn's default access format,
        ``%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"``::

            127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET /login HTTP/1.1" 200 379 "-" "curl/8.0"

    ``nginx``
        nginx's ``combined`` format, the same shape (nginx also logs ``101`` for a
        proxied WebSocket when it closes, and ``499`` when the client closed first)::

            127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.0"

        An access line may carry a prefix (``docker logs --timestamps``, syslog),
        as Werkzeug's may; the request text runs to the first ``" <status> <size> "``.
        The request date keeps its UTC offset; the parser converts it to UTC.
    ``gunicorn-error``
        gunicorn's error log: records ``[2026-12-02 02:36:43 +0000] [1234] [INFO]
        Booting worker with pid: 1234``, and ``[ERROR] Error handling request GET
        /path`` followed by a traceback (found as under *Tracebacks*; its row's
        ``kind`` is ``gunicorn`` and it is paired with no request, whose ``500``
        line is in the access log). Its times keep their UTC offset and are
        converted to UTC, as the access lines' are. It holds no request lines.
        What the app itself printed (``--capture-output``) is known when it starts
        like a record (a timestamp or a level name), as in Werkzeug logs.

    Detection (``format="auto"``) looks at a source's first :data:`DETECT_LINES`
    lines and picks the format whose shape most of them have: Werkzeug request
    lines, access lines, or gunicorn's own error records; Werkzeug on a tie or
    when none matches. An access log is nginx's when one of those lines shows
    what only nginx writes (:data:`NGINX_ONLY_STATUSES`, or a request text that
    is no HTTP request line), else gunicorn's; both are read the same way.

    In every format tracebacks are looked for, and blank and indented lines are
    continuation lines. A line of another format inside a file (a Werkzeug line in
    a gunicorn access or error log, an access line in a Werkzeug or gunicorn error
    log, a gunicorn record in an access log) is an unparsed line, never a request.
    A Werkzeug log knows every timestamped record, gunicorn's among them.

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
from dataclasses import dataclass

from wslab.errors import WslabError

ANSI_LEAD = rb"(?:\x1b\[[0-9;]*m)*"
ANSI = re.compile(rb"\x1b\[[0-9;]*m")

#: A timestamp at the start of a line: ISO 8601 or logging's default ``asctime``; a UTC
#: offset before a closing bracket (gunicorn's ``[2026-12-02 02:36:43 +0000]``) is kept.
TIMESTAMP = re.compile(
    rb"\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))?"
    rb"(?: (?P<offset>[+-]\d{4})(?=\]))?"
)
_TS_START = rb"\[?\d{4}-\d\d-\d\d[T ]"
_LEVEL_START = rb"\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?[: ]"
_SYSLOG_START = rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
_WERKZEUG_START = rb'[^\s"]+ - \S+ \[\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d\] '
_RECORD_START = rb"|".join([_TS_START, _LEVEL_START, _SYSLOG_START, _WERKZEUG_START])

#: A line after which a chunk may be cut without splitting a multi-line record.
RECORD_START = re.compile(ANSI_LEAD + rb"(?:" + _RECORD_START + rb")")

#: A line that opens with a timestamp's date (and ``T`` or a space): a known line in every format's
#: tracebacks, which end before it.
TIMESTAMP_START = re.compile(_TS_START)

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


# -- access logs: gunicorn's default format and nginx's combined --------------------------

#: ``[02/Dec/2026:02:36:43 +0000]``: the request date of an access line, with its UTC offset.
_ACCESS_DATE = rb"\[\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"
#: What follows the opening quote of the request text: the text, status, size, referrer, user agent.
_ACCESS_TAIL = (
    rb'(?P<text>[^\n]*?)" (?P<status>\d{3}) (?P<size>\d+|-) "(?P<referrer>[^\n]*?)" "(?P<agent>[^\n]*)"'
    rb"(?=[^\S\n]*$)"
)

#: An access record; like :data:`REQUEST` the match starts at the ``]`` closing the date.
ACCESS_REQUEST = re.compile(rb'\] "(?<=' + _ACCESS_DATE + rb' ")' + _ACCESS_TAIL, re.M)

#: The same pattern with the status as its only group, for counting with ``findall``.
ACCESS_STATUS = re.compile(
    rb'\] "(?<=' + _ACCESS_DATE + rb' ")[^\n]*?" (\d{3}) (?:\d+|-) "[^\n]*?" "[^\n]*"(?=[^\S\n]*$)', re.M
)

#: Length of ``[02/Dec/2026:02:36:43 +0000]`` minus its closing bracket.
ACCESS_DATE_WIDTH = 27

#: A whole access line without a prefix, the common case: what :data:`ACCESS_REQUEST` finds.
_ACCESS_LINE = (
    rb'[^\s"]+ \S+ \S+ ' + _ACCESS_DATE + rb' "[^\n]*?" \d{3} (?:\d+|-) "[^\n]*?" "[^\n]*"[^\S\n]*$'
)

#: Lines that may start a record in an access log: an access line, or a record start of any other log.
_ACCESS_RECORD_START = re.compile(
    ANSI_LEAD + rb"(?:" + _RECORD_START + rb'|[^\s"]+ \S+ \S+ ' + _ACCESS_DATE + rb" )"
)

#: The first words of the unindented lines of a traceback (Werkzeug's ``Error on request:`` is not one).
_TRACEBACK_STARTS = _RARE_STARTS[:3]

#: In an access log the known lines are access lines and the lines of tracebacks.
_ACCESS_KNOWN = rb"|".join([rb"[^\S\n]", rb"\r?$", *_TRACEBACK_STARTS])
ACCESS_KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + _ACCESS_KNOWN + rb")", re.M)
ACCESS_MAYBE_UNKNOWN_LINE = re.compile(
    rb"\n(?!" + rb"|".join([_ACCESS_LINE, rb"[^\S\n]", rb"\r?$"]) + rb")", re.M
)

#: Statuses only nginx writes: ``101`` for a proxied WebSocket (gunicorn's gthread worker logs
#: no line for a WebSocket), ``444`` (connection closed) and ``499`` (client closed first).
NGINX_ONLY_STATUSES = frozenset([b"101", b"444", b"499"])

#: A request text that is an HTTP request line; nginx also logs other texts (``""``, TLS bytes as
#: ``\x16\x03...``) for requests it could not read, where gunicorn writes no access line.
HTTP_REQUEST_LINE = re.compile(rb"[A-Z][A-Z0-9_-]* \S+ HTTP/\d(?:\.\d)?")

# -- gunicorn's error log --------------------------------------------------------------

#: A record of gunicorn's own: ``[2026-12-02 02:36:43 +0000] [1234] [INFO] ``.
GUNICORN_ERROR_RECORD = re.compile(
    rb"^" + ANSI_LEAD + rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ", re.M
)

#: A gunicorn error log knows every record start except Werkzeug's ``host - - [date]``.
_ERROR_LOG_RECORD_START = rb"|".join([_TS_START, _LEVEL_START, _SYSLOG_START])
_ERROR_LOG_KNOWN = rb"|".join([_ERROR_LOG_RECORD_START, rb"[^\S\n]", rb"\r?$", *_TRACEBACK_STARTS])
ERROR_LOG_KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + _ERROR_LOG_KNOWN + rb")", re.M)
ERROR_LOG_MAYBE_UNKNOWN_LINE = re.compile(
    rb"\n(?!" + rb"|".join([_TS_START, rb"[^\S\n]", rb"\r?$", _LEVEL_START]) + rb")", re.M
)

#: gunicorn's header line of a request's traceback: ``[ERROR] Error handling request GET /path``.
GUNICORN_ERROR_HANDLING = "Error handling request"


@dataclass(frozen=True)
class LogFormat:
    """The patterns one log format is read with (see the module docstring).

    ``request`` finds request records (the match starts at the ``]`` closing
    their date, ``date_width`` bytes after the ``[`` opening it) and
    ``request_status`` counts them; both are ``None`` for a log without request
    lines. ``maybe_unknown`` is the cheap first pass over a chunk's line starts
    and ``known_start`` the check of the lines it returns; ``record_start`` is
    where a chunk may be cut. ``werkzeug_records`` says whether Werkzeug's own
    records are read: its format suffix and its ``Bad request syntax`` lines.
    ``timestamps_known`` says whether ``maybe_unknown`` skips every line that opens
    with a timestamp (:data:`TIMESTAMP`'s date and ``T`` or space), which lets
    :mod:`wslab.logs.linestarts` skip them too.
    """

    name: str
    label: str
    request: re.Pattern[bytes] | None
    request_status: re.Pattern[bytes] | None
    date_width: int
    maybe_unknown: re.Pattern[bytes]
    known_start: re.Pattern[bytes]
    record_start: re.Pattern[bytes]
    werkzeug_records: bool
    timestamps_known: bool = False


WERKZEUG = LogFormat(
    "werkzeug", "Werkzeug", REQUEST, REQUEST_STATUS, DATE_WIDTH, MAYBE_UNKNOWN_LINE, KNOWN_LINE_START,
    RECORD_START, True, True,
)
GUNICORN_ACCESS = LogFormat(
    "gunicorn-access", "gunicorn access", ACCESS_REQUEST, ACCESS_STATUS, ACCESS_DATE_WIDTH,
    ACCESS_MAYBE_UNKNOWN_LINE, ACCESS_KNOWN_LINE_START, _ACCESS_RECORD_START, False,
)
GUNICORN_ERROR = LogFormat(
    "gunicorn-error", "gunicorn error", None, None, 0, ERROR_LOG_MAYBE_UNKNOWN_LINE,
    ERROR_LOG_KNOWN_LINE_START, RECORD_START, False, True,
)
NGINX = LogFormat(
    "nginx", "nginx", ACCESS_REQUEST, ACCESS_STATUS, ACCESS_DATE_WIDTH, ACCESS_MAYBE_UNKNOWN_LINE,
    ACCESS_KNOWN_LINE_START, _ACCESS_RECORD_START, False,
)

#: Every format by name, in ``--format`` order.
FORMATS: dict[str, LogFormat] = {f.name: f for f in (WERKZEUG, GUNICORN_ACCESS, GUNICORN_ERROR, NGINX)}
#: The value that asks for :func:`detect_format`.
AUTO = "auto"
#: How many opening lines of a source :func:`detect_format` looks at.
DETECT_LINES = 200


def get_format(name: str | LogFormat) -> LogFormat | None:
    """The format called *name*, ``None`` for ``"auto"``; one clear error for any other name."""
    if isinstance(name, LogFormat):
        return name
    if name == AUTO:
        return None
    if name not in FORMATS:
        raise WslabError(f"unknown log format {name!r} (choose from {AUTO}, {', '.join(FORMATS)})")
    return FORMATS[name]


def detect_format(head: bytes, lines: int = DETECT_LINES) -> LogFormat:
    """The format of a source whose first bytes are *head*, from its first *lines* lines.

    Each format scores the lines of its own shape: Werkzeug request lines,
    access lines, gunicorn error records. The highest score wins; Werkzeug wins
    ties and a source where nothing matches, as before formats were detected.
    gunicorn's and nginx's access lines have the same shape: the source is
    nginx's when an opening access line shows what only nginx writes (a status
    in :data:`NGINX_ONLY_STATUSES`, or a request text that is not an HTTP
    request line), else gunicorn's. Both are read the same way.
    """
    cut = -1
    for _ in range(lines):
        cut = head.find(b"\n", cut + 1)
        if cut < 0:
            break
    window = head if cut < 0 else head[:cut]
    werkzeug = len(REQUEST_STATUS.findall(window))
    access = list(ACCESS_REQUEST.finditer(window))
    errors = len(GUNICORN_ERROR_RECORD.findall(window))
    if werkzeug >= max(len(access), errors):
        return WERKZEUG
    if errors > len(access):
        return GUNICORN_ERROR
    nginx = any(
        m["status"] in NGINX_ONLY_STATUSES or not HTTP_REQUEST_LINE.fullmatch(ANSI.sub(b"", m["text"]))
        for m in access
    )
    return NGINX if nginx else GUNICORN_ACCESS
