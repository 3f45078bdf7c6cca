"""Turn matched byte spans into typed fields: line timestamps, request parts, kinds, log context.

A request line's own date is read by its format (:attr:`~wslab.logs.formats.base.LogFormat.request_date`)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from wslab.logs.formats.base import ANSI, LEVEL_WORD, REQUEST_TEXT, TIMESTAMP, in_utc
from wslab.model.kinds import RequestKind

SOCKETIO_PATH = "/socket.io/"
IPV6 = re.compile(r"\[?[0-9A-Fa-f:.]+\]?")

#: The kinds of request, in the order tables list them (labels of :class:`RequestKind`).
KINDS: tuple[RequestKind, ...] = RequestKind.ordered()


def prefix_timestamp(prefix: bytes) -> str | None:
    """ISO text of the timestamp a line starts with (colour codes allowed), else ``None``.

    A timestamp that states its UTC offset (gunicorn's ``[2026-12-02 02:36:43 +0100]``)
    is given in UTC; one without is given as written.
    """
    match = TIMESTAMP.match(ANSI.sub(b"", prefix[:80]))
    if not match:
        return None
    text = in_utc(f"{match['date'].decode()}T{match['time'].decode()}", match["offset"])
    return f"{text}.{match['frac'].decode()}" if match["frac"] and text else text


def context_key(prefix: str) -> str:
    """A line prefix without its timestamp and level: what a record shares with its thread's
    other records (logger name, thread name), used to pair an error with its request."""
    prefix = ANSI.sub(b"", prefix.encode()).decode()
    match = TIMESTAMP.match(prefix.encode())
    if match:
        prefix = prefix[match.end() :].lstrip("]")
    return " ".join(LEVEL_WORD.sub(" ", prefix).split())


def client_of(token: bytes) -> str:
    """The client address from the token before `` - - [date]``.

    Drops a logging prefix glued to it (``INFO:werkzeug:127.0.0.1``) but keeps
    IPv6 addresses (``::1``) whole.
    """
    text = token.decode("utf-8", "replace")
    if ":" in text and not IPV6.fullmatch(text):
        text = text.rsplit(":", 1)[1]
    return text


def split_request(text: str) -> dict[str, object]:
    """Method, path, query and Socket.IO fields of a request text like ``GET /p?q HTTP/1.1``.

    Fields are ``None`` when the text is not an HTTP request line (binary garbage).
    """
    match = REQUEST_TEXT.fullmatch(text)
    if not match:
        return {"method": None, "path": None, "query": None, "eio": None, "transport": None, "sid": None}
    parts = urlsplit(match["target"])
    query = parse_qs(parts.query, keep_blank_values=True)
    is_socketio = SOCKETIO_PATH in parts.path or "EIO" in query
    transport = query.get("transport", [None])[-1]
    return {
        "method": match["method"],
        "path": parts.path,
        "query": parts.query,
        "eio": query.get("EIO", [None])[-1],
        "transport": transport if is_socketio else "http",
        "sid": query.get("sid", [None])[-1],
    }


def request_kind(transport: object, sid: object) -> RequestKind:
    """The kind of a request (one of :data:`KINDS`) from its :func:`split_request` fields.

    ``transport`` is ``websocket`` or ``polling`` only for Engine.IO requests; a
    WebSocket request is *upgraded* when its query carries a non-empty ``sid``.
    """
    if transport == "websocket":
        return RequestKind.UPGRADED_WEBSOCKET if isinstance(sid, str) and sid else RequestKind.DIRECT_WEBSOCKET
    if transport == "polling":
        return RequestKind.POLLING
    return RequestKind.PAGE


def route_of(path: str | None) -> str:
    """A route label: the path with numeric and long hex-like segments collapsed to ``<id>``."""
    if not path:
        return "(not HTTP)"
    segments = [
        "<id>" if seg.isdigit() or (len(seg) >= 16 and seg.isalnum()) else seg for seg in path.split("/")
    ]
    return "/".join(segments)
