"""``werkzeug``: Werkzeug's request lines inside any logging setup.

Request lines
    Werkzeug's access line, found anywhere in a line so that any logging prefix
    (or none) may stand before it::

        127.0.0.1 - - [01/Sep/2025 13:04:34] "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" 500 -

    The request text may carry ANSI colour codes (``\\x1b[35m\\x1b[1m...\\x1b[0m``)
    and escaped binary (``\\x16\\x03``); anything may follow the size field (a
    format suffix such as `` (taskName=None)``). A line is a request line when it
    holds ``[dd/Mon/yyyy hh:mm:ss] "<text>" <3-digit status> <size or ->``. The
    request date is kept as written.

Werkzeug's bad-request lines
    ``... [date] code 400, message Bad request syntax ('\\x16\\x03...')``.

A Werkzeug log knows every timestamped record (gunicorn's among them), the record
starts of :mod:`wslab.logs.formats.base`, tracebacks and phase markers; an access
line of gunicorn or nginx inside it is an unparsed line.
"""

from __future__ import annotations

import re

from wslab.logs.formats.base import (
    INDENTED_OR_BLANK,
    KNOWN_LINE_START,
    LEVEL_START,
    RECORD_START,
    TS_START,
    WERKZEUG_START,
    LogFormat,
    month_date,
)

#: A cheap first pass: the newline before each line that may be unknown. It skips
#: lines with a timestamp, indented and blank lines; the few lines it returns are
#: checked with :data:`~wslab.logs.formats.base.KNOWN_LINE_START` and the request pattern.
MAYBE_UNKNOWN_LINE = re.compile(
    rb"\n(?!" + rb"|".join([TS_START, *INDENTED_OR_BLANK, WERKZEUG_START, LEVEL_START]) + rb")", re.M
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

BAD_REQUEST_SYNTAX = b"] code 400, message Bad request syntax ("


def request_timestamp(date: bytes) -> str | None:
    """ISO text of Werkzeug's ``01/Sep/2025 13:04:34`` request time, as written."""
    return month_date(date)


def request_lines(window: bytes) -> int:
    """How many Werkzeug request lines *window* holds (its detection score)."""
    return len(REQUEST_STATUS.findall(window))


WERKZEUG = LogFormat(
    name="werkzeug",
    label="Werkzeug",
    request=REQUEST,
    request_status=REQUEST_STATUS,
    request_date=request_timestamp,
    date_width=DATE_WIDTH,
    maybe_unknown=MAYBE_UNKNOWN_LINE,
    known_start=KNOWN_LINE_START,
    record_start=RECORD_START,
    werkzeug_records=True,
    score=request_lines,
    precedence=0,
    timestamps_known=True,
)

#: The formats this module provides.
FORMATS = (WERKZEUG,)
