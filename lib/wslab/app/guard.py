"""A WSGI guard that ends WebSocket requests cleanly under Werkzeug's server.

Why it is needed
----------------
python-engineio's threading driver hands the raw connection
(``environ["werkzeug.socket"]``) to simple-websocket, runs the whole
WebSocket session, and then returns an empty iterable *without ever calling
``start_response``*.  Werkzeug's ``run_wsgi`` then calls ``write(b"")`` to
send the (missing) headers and trips ``assert status_set is not None``:
``AssertionError: write() before start_response``, logged as a 500 for a
connection that in fact worked.

python-engineio 4.13.4 and later raise ``ConnectionError`` instead, which
Werkzeug treats as a dropped connection: no 500, but the request is not logged
at all and the handler keeps reading the socket, so left-over WebSocket frame
bytes can be logged as ``code 400, message Bad request syntax``.

What it does
------------
For a request that asked to upgrade to WebSocket and whose socket was taken
over, when the wrapped app's iterable ends (or the app raises
``ConnectionError``) with no ``start_response`` call and no body,
:class:`WebSocketGuard` closes the finished socket and reports the
status the client really received at the handshake, ``101 Switching
Protocols``.  Werkzeug logs that as an ordinary ``101`` request line, sees the
connection is closed, and neither asserts nor reads another request.

Every other request (including ordinary upgrades that *did* call
``start_response``, streaming responses and errors raised by views) is passed
through untouched: the guard returns the wrapped app's own iterable.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from wslab.app.detection import header_tokens

logger = logging.getLogger("wslab.app.guard")

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]

SWITCHING = "101 Switching Protocols"


def is_websocket_takeover(environ: dict) -> bool:
    """True for a WebSocket upgrade request served by a server that exposes its socket."""
    return (
        "werkzeug.socket" in environ
        and "websocket" in header_tokens(environ.get("HTTP_UPGRADE", ""))
        and "upgrade" in header_tokens(environ.get("HTTP_CONNECTION", ""))
    )


class WebSocketGuard:
    """Wrap a WSGI app so finished WebSocket sessions end without a false 500."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.ended = 0  # WebSocket requests the guard has ended

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_websocket_takeover(environ):
            return self.app(environ, start_response)
        called = False

        def tracking_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            nonlocal called
            called = True
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, tracking_start_response)
        except ConnectionError:
            # python-engineio >= 4.13.4 ends a finished session this way under
            # Werkzeug; Werkzeug then keeps the connection open and may read
            # left-over frame bytes as a new request ("Bad request syntax").
            if called:
                raise
            result = []
        return self._finish(result, environ, start_response, lambda: called)

    def _finish(self, result: Iterable[bytes], environ: dict, start_response: Callable[..., Any],
                was_called: Callable[[], bool]) -> Iterator[bytes]:
        """Yield the app's body; if it had none and no status, end the taken-over socket."""
        produced = False
        try:
            for chunk in result:
                produced = produced or bool(chunk)
                yield chunk
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if produced or was_called():
            return
        sock = environ["werkzeug.socket"]
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the peer already closed it
        self.ended += 1
        logger.debug("ended WebSocket request %s", environ.get("PATH_INFO"))
        start_response(SWITCHING, [("Upgrade", "websocket")])
