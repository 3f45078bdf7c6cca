"""The access-line shape gunicorn's default access format and nginx's ``combined`` share.

gunicorn's ``%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`` and
nginx's ``combined`` write the same line::

    127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET /login HTTP/1.1" 200 379 "-" "curl/8.0"

An access line may carry a prefix (``docker logs --timestamps``, syslog), as
Werkzeug's may; the request text runs to the first ``" <status> <size> "``. The
request date keeps its UTC offset and is converted to UTC. In an access log the
known lines are access lines and the lines of tracebacks; a Werkzeug line or a
gunicorn record in it is an unparsed line.

Only nginx writes some lines (:data:`NGINX_ONLY_STATUSES`, request texts that are
no HTTP request line): :func:`nginx_lines` tells the two writers apart.
"""

from __future__ import annotations

import re

from collections.abc import Callable

from wslab.logs.formats.base import (
    ANSI,
    ANSI_LEAD,
    ANY_RECORD_START,
    INDENTED_OR_BLANK,
    TRACEBACK_STARTS,
    LogFormat,
    in_utc,
    month_date,
)

#: ``[02/Dec/2026:02:36:43 +0000]``: the request date of an access line, with its UTC offset.
_ACCESS_DATE = rb"\[\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"
#: What follows the opening quote of the request text: the text, status, size, referrer, user agent.
_ACCESS_TAIL = (
    rb'(?P<text>[^\n]*?)" (?P<status>\d{3}) (?P<size>\d+|-) "(?P<referrer>[^\n]*?)" "(?P<agent>[^\n]*)"'
    rb"(?=[^\S\n]*$)"
)

#: An access record; the match starts at the ``]`` closing the date.
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
ACCESS_RECORD_START = re.compile(
    ANSI_LEAD + rb"(?:" + ANY_RECORD_START + rb'|[^\s"]+ \S+ \S+ ' + _ACCESS_DATE + rb" )"
)

_ACCESS_KNOWN = rb"|".join([*INDENTED_OR_BLANK, *TRACEBACK_STARTS])
ACCESS_KNOWN_LINE_START = re.compile(ANSI_LEAD + rb"(?:" + _ACCESS_KNOWN + rb")", re.M)
ACCESS_MAYBE_UNKNOWN_LINE = re.compile(rb"\n(?!" + rb"|".join([_ACCESS_LINE, *INDENTED_OR_BLANK]) + rb")", re.M)

#: Statuses only nginx writes: ``101`` for a proxied WebSocket (gunicorn's gthread worker logs
#: no line for a WebSocket), ``444`` (connection closed) and ``499`` (client closed first).
NGINX_ONLY_STATUSES = frozenset([b"101", b"444", b"499"])

#: A request text that is an HTTP request line; nginx also logs other texts (``""``, TLS bytes as
#: ``\x16\x03...``) for requests it could not read, where gunicorn writes no access line.
HTTP_REQUEST_LINE = re.compile(rb"[A-Z][A-Z0-9_-]* \S+ HTTP/\d(?:\.\d)?")


def access_timestamp(date: bytes) -> str | None:
    """ISO text, in UTC, of an access line's ``02/Dec/2026:02:36:43 +0100`` request time."""
    text = month_date(date)
    return None if text is None else in_utc(text, date[21:26])


def access_lines(window: bytes) -> tuple[int, bool]:
    """How many access lines *window* holds, and whether one of them shows what only nginx
    writes (a status in :data:`NGINX_ONLY_STATUSES`, or a request text that is not an HTTP
    request line)."""
    found = list(ACCESS_REQUEST.finditer(window))
    nginx = any(
        m["status"] in NGINX_ONLY_STATUSES or not HTTP_REQUEST_LINE.fullmatch(ANSI.sub(b"", m["text"]))
        for m in found
    )
    return len(found), nginx


def access_log_format(name: str, label: str, score: Callable[[bytes], int]) -> LogFormat:
    """A format of this access-line shape: *score* counts the lines that are its writer's."""
    return LogFormat(
        name=name,
        label=label,
        request=ACCESS_REQUEST,
        request_status=ACCESS_STATUS,
        request_date=access_timestamp,
        date_width=ACCESS_DATE_WIDTH,
        maybe_unknown=ACCESS_MAYBE_UNKNOWN_LINE,
        known_start=ACCESS_KNOWN_LINE_START,
        record_start=ACCESS_RECORD_START,
        werkzeug_records=False,
        score=score,
        precedence=1,
    )
