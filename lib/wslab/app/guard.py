"""A WSGI guard that ends WebSocket requests cleanly under Werkzeug's server.

Why it is needed
----------------
python-engineio's threading driver hands the raw connection
(``environ["werkzeug.socket"]``) to simple-websocket, which writes the
``HTTP/1.1 101 Switching Protocols`` handshake straight onto the socket, runs
the whole WebSocket session, and then returns an empty iterable *without ever
calling ``start_response``*.  Werkzeug's ``run_wsgi`` then calls ``write(b"")``
to send the (missing) headers and trips ``assert status_set is not None``:
``AssertionError: write() before start_response``, logged as a 500 for a
connection that in fact worked.

python-engineio 4.13.4 and later raise ``ConnectionError`` instead, which
Werkzeug treats as a dropped connection: no 500, but the request is not logged
at all and the handler keeps reading the socket, so left-over WebSocket frame
bytes can be logged as ``code 400, message Bad request syntax``.

What it does
------------
For a request that asks to upgrade to WebSocket on a server that exposes its
socket, :class:`WebSocketGuard` puts a thin, transparent proxy
(:class:`HandshakeRecorder`) in ``environ["werkzeug.socket"]`` that remembers
whether the first bytes sent through it were ``HTTP/1.1 101``.  The request is
*ended* only when all of these hold:

* the WebSocket handshake really went out through that request's socket,
* the wrapped app never called ``start_response`` and produced no body, and
* the app finished by returning its (empty) iterable or by raising
  ``ConnectionError`` (python-engineio's signal under Werkzeug).

Then the guard shuts the finished socket down and reports the status the
client really received, ``101 Switching Protocols``.  Werkzeug logs that as an
ordinary ``101`` request line, sees the connection is closed, and neither
asserts nor reads another request.

Everything else is passed through untouched: ordinary requests, upgrades that
*did* call ``start_response``, streaming responses, exceptions other than
``ConnectionError`` (at any point; python-engineio raises ``StopIteration``
only when the socket came from Gunicorn, so under Werkzeug a ``StopIteration``
is an error like any other), and -- the case that matters most -- an
upgrade request whose app returned nothing without sending a handshake.  The
last one is a bug in the app; without the guard Werkzeug logs it as a 500 with
a traceback, and it stays exactly that with the guard.  The guard never turns
a failure into a ``101`` line.

Only bytes sent through the proxy's ``send``, ``sendall`` and ``sendmsg`` count
as the handshake.  A handshake written another way (through ``makefile``, the
raw file descriptor or ``sendfile``) is not seen; the guard then errs on the
safe side and leaves the response alone.

Order with Werkzeug's debugger
------------------------------
``socketio.run(app, debug=True)`` in threading mode calls ``app.run``, and
Werkzeug's ``run_simple`` wraps the *Flask app object* in
:class:`werkzeug.debug.DebuggedApplication`.  Install the guard on
``app.wsgi_app`` (``app.wsgi_app = WebSocketGuard(app.wsgi_app)``, after
``SocketIO(app)``), so the chain is::

    DebuggedApplication -> Flask.__call__ -> WebSocketGuard -> Socket.IO middleware -> Flask

The guard must sit *inside* the debugger, between it and Engine.IO.  The
debugger turns every exception it sees into a ``500`` debugger page.  Were
the debugger inside the guard, it would catch python-engineio's
``ConnectionError`` (4.13.4 and later) first and answer a finished WebSocket
with a 500 page written after the handshake; the guard would then, correctly,
pass that response through.  (With older python-engineio, which returns ``[]``,
either order works.)
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from wslab.app.detection import header_tokens

logger = logging.getLogger("wslab.app.guard")

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]

SWITCHING = "101 Switching Protocols"
#: How every WebSocket server handshake begins on the wire (RFC 6455, section 4.2.2).
HANDSHAKE_PREFIX = b"HTTP/1.1 101"


def is_websocket_takeover(environ: dict) -> bool:
    """True for a WebSocket upgrade request served by a server that exposes its socket."""
    return (
        "werkzeug.socket" in environ
        and "websocket" in header_tokens(environ.get("HTTP_UPGRADE", ""))
        and "upgrade" in header_tokens(environ.get("HTTP_CONNECTION", ""))
    )


class HandshakeRecorder:
    """A transparent proxy for a connected socket that notes whether a 101 handshake was sent.

    ``send``, ``sendall`` and ``sendmsg`` are forwarded and the first bytes that
    actually left (``send`` may send only part of its data) are kept until
    :data:`HANDSHAKE_PREFIX` can be judged.  Every other attribute -- ``recv``,
    ``recv_into``, ``makefile``, ``fileno`` (so selectors work), ``settimeout``,
    ``shutdown``, ``close`` and the rest -- is the wrapped socket's own.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._head = b""
        self._lock = threading.Lock()

    @property
    def wrapped(self) -> Any:
        """The socket this proxy forwards to."""
        return self._sock

    @property
    def handshake_sent(self) -> bool:
        """True once the bytes sent so far begin with ``HTTP/1.1 101``."""
        return self._head.startswith(HANDSHAKE_PREFIX)

    def _record(self, data: Any) -> None:
        if len(self._head) >= len(HANDSHAKE_PREFIX):
            return
        with self._lock:
            missing = len(HANDSHAKE_PREFIX) - len(self._head)
            if missing > 0:
                self._head += bytes(memoryview(data).cast("B")[:missing])

    def send(self, data: Any, flags: int = 0) -> int:
        """Send like :meth:`socket.socket.send`, recording the bytes that left."""
        sent = self._sock.send(data, flags)
        self._record(memoryview(data).cast("B")[:sent])
        return sent

    def sendall(self, data: Any, flags: int = 0) -> None:
        """Send like :meth:`socket.socket.sendall`, recording the bytes."""
        self._sock.sendall(data, flags)
        self._record(data)

    def sendmsg(self, buffers: Iterable[Any], *args: Any) -> int:
        """Send like :meth:`socket.socket.sendmsg`, recording the bytes that left."""
        buffers = [memoryview(b).cast("B") for b in buffers]
        sent = self._sock.sendmsg(buffers, *args)
        remaining = sent
        for buf in buffers:
            if remaining <= 0:
                break
            self._record(buf[:remaining])
            remaining -= len(buf)
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def __enter__(self) -> HandshakeRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def __repr__(self) -> str:
        return f"<HandshakeRecorder handshake_sent={self.handshake_sent} {self._sock!r}>"


class WebSocketGuard:
    """Wrap a WSGI app so finished WebSocket sessions end without a false 500.

    Install it inside Werkzeug's debugger (see the module docstring):
    ``app.wsgi_app = WebSocketGuard(app.wsgi_app)``.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.ended = 0  # WebSocket requests the guard has ended
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request; see the module docstring for when it is ended with a 101."""
        if not is_websocket_takeover(environ):
            return self.app(environ, start_response)
        sock = environ["werkzeug.socket"]
        recorder = HandshakeRecorder(sock)
        environ["werkzeug.socket"] = recorder
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
            if called or not recorder.handshake_sent:
                raise
            result = ()
        return self._finish(result, sock, recorder, environ, start_response, lambda: called)

    def _finish(self, result: Iterable[bytes], sock: Any, recorder: HandshakeRecorder, environ: dict,
                start_response: Callable[..., Any], was_called: Callable[[], bool]) -> Iterator[bytes]:
        """Yield the app's body; end the request only if it was a finished WebSocket."""
        produced = False
        try:
            for chunk in result:
                produced = produced or bool(chunk)
                yield chunk
        except ConnectionError:
            # the same signal, raised while a lazy iterable (another
            # middleware's generator) was being consumed
            if produced or was_called() or not recorder.handshake_sent:
                raise
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if produced or was_called() or not recorder.handshake_sent:
            return  # not a finished WebSocket: Werkzeug handles it as usual
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the peer already closed it
        with self._lock:
            self.ended += 1
        logger.debug("ended WebSocket request %s", environ.get("PATH_INFO"))
        start_response(SWITCHING, [("Upgrade", "websocket")])
