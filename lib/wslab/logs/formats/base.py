"""What a log format module provides (:class:`LogFormat`), and the line shapes every format builds on.

Everything works on raw bytes, so invalid UTF-8 never stops the reader; text is
decoded (with replacement characters) only for the fields that are kept.

Record starts
    A line opens a log record when it starts (after optional colour codes) with a
    timestamp (``[2025-09-01T13:04:34.761399]``, ``2025-09-01 13:04:34,761``, with or
    without brackets), with a level name (``INFO:werkzeug:...``, ``ERROR ...``), with
    a syslog date (``Sep  1 13:04:34``), or with Werkzeug's own ``host - - [date]``.
    Blank and indented lines are continuation lines in every format.

Phase markers
    A record from logger ``wslab`` whose message is ``phase: <name>``, e.g.
    ``[2025-09-01T13:04:34.761399] INFO wslab - phase: after-fix (taskName=None)``,
    found in every format.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

ANSI_LEAD = rb"(?:\x1b\[[0-9;]*m)*"
ANSI = re.compile(rb"\x1b\[[0-9;]*m")

#: A timestamp at the start of a line: ISO 8601 or logging's default ``asctime``; a UTC
#: offset before a closing bracket (gunicorn's ``[2026-12-02 02:36:43 +0000]``) is kept.
TIMESTAMP = re.compile(
    rb"\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?:[.,](?P<frac>\d{1,9}))?"
    rb"(?: (?P<offset>[+-]\d{4})(?=\]))?"
)
TS_START = rb"\[?\d{4}-\d\d-\d\d[T ]"
LEVEL_START = rb"\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?[: ]"
SYSLOG_START = rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
WERKZEUG_START = rb'[^\s"]+ - \S+ \[\d\d/[A-Za-z]{3}/\d{4} \d\d:\d\d:\d\d\] '
#: The text of a pattern for any record start (see *Record starts* above).
ANY_RECORD_START = rb"|".join([TS_START, LEVEL_START, SYSLOG_START, WERKZEUG_START])
#: A line that is indented (a continuation line) or blank.
INDENTED_OR_BLANK = [rb"[^\S\n]", rb"\r?$"]

#: A line after which a chunk may be cut without splitting a multi-line record.
RECORD_START = re.compile(ANSI_LEAD + rb"(?:" + ANY_RECORD_START + rb")")

#: A line that opens with a timestamp's date (and ``T`` or a space): a known line in every format's
#: tracebacks, which end before it.
TIMESTAMP_START = re.compile(TS_START)

#: The first words of the unindented lines of a traceback.
TRACEBACK_STARTS = [
    rb"Traceback \(most recent call last\)",
    rb"During handling of the above exception",
    rb"The above exception was the direct cause",
]
_RARE_STARTS = [*TRACEBACK_STARTS, rb"Error on request:"]
KNOWN_START = rb"|".join([ANY_RECORD_START, *INDENTED_OR_BLANK, *_RARE_STARTS])

#: Does a line start like any known line? Indented lines count as continuation lines
#: (traceback frames, pretty-printed messages); blank lines are known and empty.
KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + KNOWN_START + rb")", re.M)

#: ``<client> - <user> `` right before a request date.
CLIENT_TAIL = re.compile(rb'([^\s"]+) - (\S+) $')

#: The request method, target and protocol inside a quoted request text.
REQUEST_TEXT = re.compile(r"(?P<method>[A-Z][A-Z0-9_-]*) (?P<target>\S+) (?P<protocol>HTTP/\d(?:\.\d)?)")

PHASE = b"phase: "
PHASE_MARKER = re.compile(rb"(?:^|[\s:\[])wslab\]?[\s:-].*?(?<![^\s:-])phase: (?P<name>\S+)")

LEVEL_WORD = re.compile(r"\b(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b")

MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def in_utc(text: str, offset: bytes | None) -> str | None:
    """ISO text *text* (``yyyy-mm-ddThh:mm:ss``, a local time) moved to UTC by a
    ``+hhmm``/``-hhmm`` *offset*; without an offset, *text* as written. ``None`` for no real date."""
    if not offset:
        return text
    try:
        local = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    sign = -1 if offset[:1] == b"-" else 1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    return (local - sign * shift).isoformat()


def month_date(date: bytes) -> str | None:
    """``yyyy-mm-ddThh:mm:ss`` of a request date that starts ``01/Sep/2025 13:04:34`` (the
    separator before the time may be anything), ``None`` for an unknown month."""
    month = MONTHS.get(date[3:6].decode("ascii", "replace"))
    if month is None:
        return None
    return f"{date[7:11].decode()}-{month:02d}-{date[0:2].decode()}T{date[12:20].decode()}"


@dataclass(frozen=True)
class LogFormat:
    """What a format module provides: the patterns one log format is read with.

    ``request`` finds request records (the match starts at the ``]`` closing
    their date, ``date_width`` bytes after the ``[`` opening it) and
    ``request_status`` counts them; both are ``None`` for a log without request
    lines, and ``request_date`` turns the bytes between the brackets into ISO
    text. ``maybe_unknown`` is the cheap first pass over a chunk's line starts
    and ``known_start`` the check of the lines it returns; ``record_start`` is
    where a chunk may be cut. ``werkzeug_records`` says whether Werkzeug's own
    records are read: its format suffix and its ``Bad request syntax`` lines.
    ``timestamps_known`` says whether ``maybe_unknown`` skips every line that opens
    with a timestamp (:data:`TIMESTAMP`'s date and ``T`` or space), which lets
    :mod:`wslab.logs.scanning.linestarts` skip them too.

    Detection (:func:`wslab.logs.formats.detect_format`): ``score`` says how many
    of a source's opening lines have this format's shape; the highest score wins,
    and on a tie the lowest ``precedence``.
    """

    name: str
    label: str
    request: re.Pattern[bytes] | None
    request_status: re.Pattern[bytes] | None
    request_date: Callable[[bytes], str | None] | None
    date_width: int
    maybe_unknown: re.Pattern[bytes]
    known_start: re.Pattern[bytes]
    record_start: re.Pattern[bytes]
    werkzeug_records: bool
    score: Callable[[bytes], int]
    precedence: int
    timestamps_known: bool = False
