"""Row dictionaries for the parser's DataFrames, built from regex matches."""

from __future__ import annotations

import re
from typing import Any

from wslab.logs.formats import WERKZEUG, LogFormat
from wslab.logs.formats.base import ANSI, CLIENT_TAIL
from wslab.logs.formats.gunicorn import GUNICORN_ERROR_HANDLING
from wslab.logs.formats.tracebacks import FLASK_EXCEPTION, FRAME
from wslab.logs.parsing.fields import client_of, context_key, prefix_timestamp, request_kind, route_of, split_request
from wslab.logs.scanning.chunks import clean_text, line_start
from wslab.logs.scanning.tracebacks import Traceback, exception_type
from wslab.logs.stats import is_server_error

MAX_MESSAGE = 2000


def frames_of(frames: bytes) -> list[dict[str, Any]]:
    """``{file, line, function}`` of each ``File "...", line N, in f`` line of a traceback."""
    return [
        {
            "file": f["file"].decode("utf-8", "replace"),
            "line": int(f["line"]),
            "function": f["function"].decode("utf-8", "replace"),
        }
        for f in FRAME.finditer(frames)
    ]


def request_row(
    buf: bytes, match: re.Match[bytes], file: str, line: int, fmt: LogFormat = WERKZEUG
) -> dict[str, Any]:
    """The ``requests`` row of one request match of *fmt* in *buf*
    (:data:`~wslab.logs.formats.werkzeug.REQUEST` for Werkzeug).

    ``ts`` is the line's logging timestamp, else the request date: Werkzeug's as
    written, an access line's in UTC.
    """
    pos, width = match.start(), fmt.date_width
    pre = buf[line_start(buf, pos) : pos - width]
    tail = CLIENT_TAIL.search(pre)
    prefix = pre[: tail.start()] if tail else pre
    text = ANSI.sub(b"", match["text"]).decode("utf-8", "replace")
    status = match["status"].decode()
    parts = split_request(text)
    dated = fmt.request_date(buf[pos - width + 1 : pos])  # type: ignore[misc]
    return {
        "file": file,
        "line": line,
        "ts": prefix_timestamp(prefix) or dated,
        "client": client_of(tail[1]) if tail else None,
        **parts,
        "status": status,
        "size": match["size"].decode(),
        "server_error": is_server_error(status),
        "is_socketio": parts["transport"] not in (None, "http"),
        "kind": request_kind(parts["transport"], parts["sid"]),
        "route": route_of(parts["path"]),
        "request": text,
        "context": context_key(prefix.decode("utf-8", "replace")),
    }


def error_row(record: Traceback, header: bytes | None, suffix: bytes) -> dict[str, Any]:
    """The ``errors`` row of one traceback *record* (without ``file``/``line``).

    *header* is the line before the record's first section and *suffix* the
    learned format suffix. The row is named by the record's final exception;
    ``chain`` holds the earlier exceptions of a chained traceback and
    ``sub_exceptions`` the members of a final exception group.
    """
    head = clean_text(header, suffix) if header else ""
    final = record.final
    key = clean_text(final.exception, suffix) if final.exception is not None else None
    message = final.message.rstrip()
    if suffix and message.endswith(suffix):
        message = message[: -len(suffix)]
    werkzeug_at = head.find("Error on request:")
    flask = FLASK_EXCEPTION.search(head)
    gunicorn = werkzeug_at < 0 and not flask and GUNICORN_ERROR_HANDLING in head
    return {
        "ts": prefix_timestamp(header) if header else None,
        "header": head,
        "reporter": "werkzeug" if werkzeug_at >= 0 else "flask" if flask else "gunicorn" if gunicorn else "other",
        "exception": exception_type(key) if key is not None else None,
        "message": ANSI.sub(b"", message.rstrip()).decode("utf-8", "replace")[:MAX_MESSAGE],
        "error": key,
        "frames": frames_of(final.frames),
        "chain": [clean_text(line, suffix) for line in record.chain],
        "sub_exceptions": [clean_text(line, suffix) for line in final.members],
        "complete": final.exception is not None,
        "context": context_key(head[:werkzeug_at]) if werkzeug_at >= 0 else None,
        "flask_method": flask["method"] if flask else None,
        "flask_path": flask["path"] if flask else None,
    }
