"""Decide whether a request is WebSocket / Engine.IO traffic, and say why.

Two detectors share one interface and return a :class:`Decision`:

``writeup_decision``
    The heuristic from the incident write-up, signal for signal: an
    ``Upgrade: websocket`` header, ``Connection: upgrade`` compared as a whole
    string, ``websocket`` anywhere in ``Connection``, a path starting with
    ``/socket.io/``, a ``transport`` query parameter of ``websocket`` or
    ``polling``, or any ``EIO`` query parameter.  Its ``save_session`` variant
    adds one more signal, ``response is None`` (see :func:`writeup_save_decision`).

``precise_decision``
    Parses the ``Upgrade`` and ``Connection`` headers as the comma-separated,
    case-insensitive token lists that RFC 9110 defines, and counts a request
    as Engine.IO traffic only when it lies below the configured Socket.IO path
    (by segment, as Engine.IO routes it) **and** carries Engine.IO's query
    (``EIO`` and ``transport``): a static file served under that path is not
    an Engine.IO request, nor is the right query under any other path.

A *source* can be a WSGI environ, a Werkzeug/Flask request, or a
:class:`RequestHead` (the shape stored in the request corpus).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.datastructures import EnvironHeaders
from werkzeug.wrappers import Request

#: The write-up's ``open_session`` signals, in the order its code tests them.
WRITEUP_SIGNALS: tuple[str, ...] = (
    "upgrade-header",
    "connection-upgrade",
    "connection-websocket",
    "socketio-path",
    "transport-param",
    "eio-param",
)

#: The extra signal the write-up's ``save_session`` uses.
RESPONSE_NONE_SIGNAL = "response-none"

#: The precise detector's signals.
PRECISE_SIGNALS: tuple[str, ...] = ("engineio-request", "websocket-upgrade")

#: Where Flask-SocketIO and python-engineio serve Socket.IO unless told otherwise.
DEFAULT_SOCKETIO_PATH = "/socket.io"

#: The transports an Engine.IO server speaks (the ``transport`` query parameter).
ENGINEIO_TRANSPORTS: frozenset[str] = frozenset({"polling", "websocket"})


@dataclass(frozen=True)
class RequestHead:
    """The parts of a request a detector looks at: method, path, raw query, headers."""

    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: Any) -> RequestHead:
        """Build a head from an environ dict, a Werkzeug request or a head itself."""
        if isinstance(source, RequestHead):
            return source
        if isinstance(source, Request):
            return cls(source.method, source.path, source.query_string.decode("latin-1"),
                       dict(source.headers.items()))
        if isinstance(source, Mapping) and "REQUEST_METHOD" in source:
            headers = dict(EnvironHeaders(source).items())
            return cls(source.get("REQUEST_METHOD", "GET"), source.get("PATH_INFO", "/") or "/",
                       source.get("QUERY_STRING", ""), headers)
        if isinstance(source, Mapping):
            return cls(str(source.get("method", "GET")), str(source.get("path", "/")),
                       str(source.get("query", "")), dict(source.get("headers", {})))
        raise TypeError(f"cannot read a request head from {type(source).__name__}")

    def header(self, name: str) -> str:
        """Return a header value by case-insensitive name, or ``""``."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if str(key).lower() == wanted:
                return str(value)
        return ""

    def args(self) -> dict[str, str]:
        """Return the query parameters, first value of each."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class Decision:
    """A detector's answer: is it WebSocket/Engine.IO traffic, and which signals fired."""

    is_websocket: bool
    matched: tuple[str, ...] = ()

    @property
    def signal(self) -> str | None:
        """The first signal that fired, the one the write-up's ``or`` chain stops at."""
        return self.matched[0] if self.matched else None


def writeup_signals(source: Any) -> dict[str, bool]:
    """Evaluate every one of the write-up's ``open_session`` signals on *source*."""
    head = RequestHead.from_source(source)
    args = head.args()
    connection = head.header("Connection").lower()
    return {
        "upgrade-header": head.header("Upgrade").lower() == "websocket",
        "connection-upgrade": connection == "upgrade",
        "connection-websocket": "websocket" in connection,
        "socketio-path": head.path.startswith("/socket.io/"),
        "transport-param": args.get("transport") in ("websocket", "polling"),
        "eio-param": args.get("EIO") is not None,
    }


def writeup_decision(source: Any) -> Decision:
    """The write-up's ``open_session`` detection, with every matching signal named."""
    fired = tuple(name for name, hit in writeup_signals(source).items() if hit)
    return Decision(bool(fired), fired)


def writeup_save_decision(source: Any, response: Any) -> Decision:
    """The write-up's ``save_session`` detection: the same signals plus ``response is None``."""
    decision = writeup_decision(source)
    fired = decision.matched + ((RESPONSE_NONE_SIGNAL,) if response is None else ())
    return Decision(bool(fired), fired)


def header_tokens(value: str) -> set[str]:
    """Split a comma-separated header value into lower-case tokens."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def socketio_prefix(socketio_path: str = DEFAULT_SOCKETIO_PATH) -> str:
    """The path prefix Engine.IO's WSGI middleware routes, with both slashes: ``/socket.io/``.

    Written the way python-engineio normalises its ``engineio_path`` (a leading
    and a trailing slash are added when missing), so ``socket.io``,
    ``/socket.io`` and ``/socket.io/`` all give ``/socket.io/``.  An empty path,
    ``/``, or one holding a query, a fragment or white space raises
    :class:`ValueError`: Flask-SocketIO would not serve it there.
    """
    path = socketio_path.strip()
    if path != socketio_path or not path.strip("/") or any(c in path for c in "?# \t"):
        raise ValueError(f"not a Socket.IO path: {socketio_path!r} (expected e.g. /socket.io)")
    path = path if path.startswith("/") else "/" + path
    return path if path.endswith("/") else path + "/"


def is_engineio_query(head: RequestHead) -> bool:
    """Whether the query names an Engine.IO protocol version and transport.

    Every Engine.IO client sends ``EIO`` (the protocol revision) and
    ``transport`` (``polling`` or ``websocket``) on every request; python-engineio
    reads both, ignoring blank values.
    """
    args = head.args()
    return bool(args.get("EIO")) and args.get("transport") in ENGINEIO_TRANSPORTS


def precise_decision(source: Any, socketio_path: str = DEFAULT_SOCKETIO_PATH) -> Decision:
    """Precise detection: an Engine.IO request on the configured path, or a real WebSocket upgrade.

    ``engineio-request`` fires when the path lies below *socketio_path* as
    Engine.IO's WSGI middleware routes it (``/socket.io/`` matches;
    ``/socket.io`` without the slash, ``/socket.iox/`` and ``/socket.io-docs``
    go to Flask and do not) **and** the query carries ``EIO`` and a
    ``transport`` of ``polling`` or ``websocket`` (see :func:`is_engineio_query`).
    So a static file served under the path (``/socket.io/socket.io.js``) is not
    Engine.IO traffic, and neither is an Engine.IO query under a path other
    than *socketio_path*: pass the path the app really serves Socket.IO at.

    ``websocket-upgrade`` fires when ``Upgrade`` lists the ``websocket`` token
    and ``Connection`` lists the ``upgrade`` token (``keep-alive, Upgrade``
    counts; ``Upgrade: h2c`` does not), on any path.
    """
    head = RequestHead.from_source(source)
    fired = []
    if head.path.startswith(socketio_prefix(socketio_path)) and is_engineio_query(head):
        fired.append("engineio-request")
    if ("websocket" in header_tokens(head.header("Upgrade"))
            and "upgrade" in header_tokens(head.header("Connection"))):
        fired.append("websocket-upgrade")
    return Decision(bool(fired), tuple(fired))
