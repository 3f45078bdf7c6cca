"""``gunicorn-access`` and ``gunicorn-error``: gunicorn's two logs.

``gunicorn-access``
    gunicorn's default access format,
    ``%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"``, the access-line
    shape of :mod:`wslab.logs.formats.access`::

        127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET /login HTTP/1.1" 200 379 "-" "curl/8.0"

``gunicorn-error``
    gunicorn's error log: records ``[2026-12-02 02:36:43 +0000] [1234] [INFO]
    Booting worker with pid: 1234``, and ``[ERROR] Error handling request GET
    /path`` followed by a traceback (its row's ``kind`` is ``gunicorn`` and it is
    paired with no request, whose ``500`` line is in the access log). Its times keep
    their UTC offset and are converted to UTC, as the access lines' are. It holds no
    request lines. What the app itself printed (``--capture-output``) is known when
    it starts like a record (a timestamp or a level name), as in Werkzeug logs; an
    access line or a Werkzeug line in it is an unparsed line.
"""

from __future__ import annotations

import re

from wslab.logs.formats.access import access_lines, access_log_format
from wslab.logs.formats.base import (
    ANSI_LEAD,
    INDENTED_OR_BLANK,
    LEVEL_START,
    RECORD_START,
    SYSLOG_START,
    TRACEBACK_STARTS,
    TS_START,
    LogFormat,
)

#: A record of gunicorn's own: ``[2026-12-02 02:36:43 +0000] [1234] [INFO] ``.
GUNICORN_ERROR_RECORD = re.compile(
    rb"^" + ANSI_LEAD + rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ", re.M
)

#: A gunicorn error log knows every record start except Werkzeug's ``host - - [date]``.
_ERROR_LOG_RECORD_START = rb"|".join([TS_START, LEVEL_START, SYSLOG_START])
_ERROR_LOG_KNOWN = rb"|".join([_ERROR_LOG_RECORD_START, *INDENTED_OR_BLANK, *TRACEBACK_STARTS])
ERROR_LOG_KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + _ERROR_LOG_KNOWN + rb")", re.M)
ERROR_LOG_MAYBE_UNKNOWN_LINE = re.compile(
    rb"\n(?!" + rb"|".join([TS_START, *INDENTED_OR_BLANK, LEVEL_START]) + rb")", re.M
)

#: gunicorn's header line of a request's traceback: ``[ERROR] Error handling request GET /path``.
GUNICORN_ERROR_HANDLING = "Error handling request"


def gunicorn_access_lines(window: bytes) -> int:
    """How many access lines *window* holds, when none shows what only nginx writes."""
    count, nginx = access_lines(window)
    return 0 if nginx else count


def error_records(window: bytes) -> int:
    """How many of gunicorn's own error-log records *window* holds."""
    return len(GUNICORN_ERROR_RECORD.findall(window))


GUNICORN_ACCESS = access_log_format("gunicorn-access", "gunicorn access", gunicorn_access_lines)
GUNICORN_ERROR = LogFormat(
    name="gunicorn-error",
    label="gunicorn error",
    request=None,
    request_status=None,
    request_date=None,
    date_width=0,
    maybe_unknown=ERROR_LOG_MAYBE_UNKNOWN_LINE,
    known_start=ERROR_LOG_KNOWN_LINE_START,
    record_start=RECORD_START,
    werkzeug_records=False,
    score=error_records,
    precedence=2,
    timestamps_known=True,
)

#: The formats this module provides.
FORMATS = (GUNICORN_ACCESS, GUNICORN_ERROR)
