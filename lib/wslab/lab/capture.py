"""The capture server: request heads recorded server-side from real clients, each labelled.

:class:`CaptureServer` is a real Werkzeug threaded server around a real
Flask + Flask-SocketIO app, with :class:`HeadRecorder` in front of it; its
Socket.IO path is configurable (``/socket.io`` by default).  Clients run
inside :meth:`CaptureServer.client`, which names the ``source`` and the labels
that client may produce (:mod:`wslab.lab.capture_clients` has the Python ones).

A request's label says what it really was, decided by what the server did
with it, never by a detector:

``socketio-websocket``  handled by the Engine.IO server, which switched protocols
``socketio-polling``    handled by the Engine.IO server with an HTTP response
``websocket-other``     handled by a Flask view that switched protocols
``http``                handled by a Flask view with an HTTP response
``not-engineio``        under the Socket.IO path, but answered by the static-file
                        layer in front of Engine.IO (``/socket.io/socket.io.js``)

:mod:`wslab.study.detection.corpus` reads and writes the lines as a corpus.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import simple_websocket
from flask import Flask, Response, request, session
from flask_socketio import SocketIO, emit
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from wslab.app.demo import served_socketio_path
from wslab.app.detection import DEFAULT_SOCKETIO_PATH, RequestHead

#: Every label a captured request may carry, in the order the corpus lists them.
LABELS: tuple[str, ...] = ("socketio-websocket", "socketio-polling", "websocket-other", "http",
                           "not-engineio")

#: The Socket.IO path the capture app serves unless told otherwise.
SOCKETIO_PATH = DEFAULT_SOCKETIO_PATH

#: The other Socket.IO path the capture serves an app at (``data/requests/custom_path.jsonl``).
CUSTOM_SOCKETIO_PATH = "/custom.io"

#: The files the static layer in front of Engine.IO serves, relative to the Socket.IO path.
SOCKETIO_CLIENT_FILE = "/socket.io.js"
STYLESHEET_FILE = "/static/app.css"

_ENTRY_KEY = "wslab.capture"

_BROWSER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>capture</title>
<link rel="stylesheet" href="SOCKETIO_PATH/static/app.css">
<script src="SOCKETIO_PATH/socket.io.js"></script></head>
<body><script>
const socket = io({path: "SOCKETIO_PATH", transports: ["polling", "websocket"]});
function hello() { socket.emit("hello", "browser"); }
socket.on("connect", () => {
  if (socket.io.engine.transport.name === "websocket") { hello(); }
  else { socket.io.engine.once("upgrade", hello); }
});
socket.on("bye", () => {
  socket.disconnect();
  const ws = new WebSocket(`ws://${location.host}/ws/echo`);
  ws.onopen = () => ws.send("hi");
  ws.onmessage = () => { ws.close(); fetch("/done", {method: "POST"}); };
});
</script></body></html>
"""


def _label(handler: str, switched: bool) -> str:
    """Map what the server did with a request (who handled it, did it switch) to its corpus label."""
    if handler == "static":
        return "not-engineio"
    if handler == "engineio":
        return "socketio-websocket" if switched else "socketio-polling"
    return "websocket-other" if switched else "http"


class _WatchedSocket:
    """A socket proxy that notices when the server answers ``101 Switching Protocols``."""

    def __init__(self, sock: Any, entry: dict[str, Any]) -> None:
        self._sock = sock
        self._entry = entry

    def _watch(self, data: bytes) -> None:
        if bytes(data[:12]) == b"HTTP/1.1 101":
            self._entry["switched"] = True

    def send(self, data: bytes, *args: Any) -> int:
        """Send, remembering a protocol switch."""
        self._watch(data)
        return self._sock.send(data, *args)

    def sendall(self, data: bytes, *args: Any) -> None:
        """Send everything, remembering a protocol switch."""
        self._watch(data)
        self._sock.sendall(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class HeadRecorder:
    """WSGI middleware that records every request head before passing it on.

    Each head is attributed to the client run active when it arrived (see
    :meth:`attribute`) and to what handled it: ``engineio`` unless a Flask
    ``before_request`` hook or :class:`SocketIOPathFiles` says otherwise.  A
    request whose connection switched protocols has no HTTP response left to
    send, so the recorder reports it to Werkzeug as a closed connection instead
    of returning an empty body.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.entries: list[dict[str, Any]] = []
        self._current: tuple[str, frozenset[str]] | None = None
        self._in_flight = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        head = RequestHead.from_source(environ)
        entry: dict[str, Any] = {
            "head": {"method": head.method, "path": head.path, "query": head.query,
                     "headers": dict(head.headers)},
            "client": self._current, "handler": "engineio", "switched": False,
        }
        if "werkzeug.socket" in environ:
            environ["werkzeug.socket"] = _WatchedSocket(environ["werkzeug.socket"], entry)
        environ[_ENTRY_KEY] = entry
        with self._idle:
            self.entries.append(entry)
            self._in_flight += 1
            self._idle.notify_all()
        try:
            result = self.app(environ, start_response)
            if entry["switched"]:
                getattr(result, "close", lambda: None)()
                raise ConnectionError("connection switched protocols")
            return result
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    @contextmanager
    def attribute(self, source: str, expect: Iterable[str]) -> Iterator[None]:
        """Attribute requests arriving inside the block to *source*; wait for them to end."""
        self._current = (source, frozenset(expect))
        try:
            yield
        finally:
            self.wait_idle()
            self._current = None

    def wait_idle(self, quiet: float = 0.3, timeout: float = 15.0) -> None:
        """Wait until no request has been in flight for *quiet* seconds."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while time.monotonic() < deadline:
                if self._in_flight == 0 and not self._idle.wait(quiet):
                    return
                if self._in_flight:
                    self._idle.wait(0.1)
        raise RuntimeError("capture: requests still in flight after the client finished")

    def records(self) -> list[dict[str, Any]]:
        """The labelled corpus lines, checked against what each client may produce."""
        lines = []
        for entry in self.entries:
            head = entry["head"]
            where = f"{head['method']} {head['path']}"
            if entry["client"] is None:
                raise RuntimeError(f"capture: {where} arrived outside any client run")
            source, expect = entry["client"]
            label = _label(entry["handler"], entry["switched"])
            if label not in expect:
                raise RuntimeError(f"capture: {where} from {source} is {label}, "
                                   f"expected one of {sorted(expect)}")
            lines.append({**head, "label": label, "source": source})
        return lines


class SocketIOPathFiles:
    """WSGI layer in front of the Socket.IO middleware that serves a few files under its path.

    Engine.IO's middleware takes every request below its path, so a file served
    there (the socket.io browser client at ``/socket.io/socket.io.js``, as the
    Node.js server and many reverse proxies serve it) must be answered before
    the request reaches Engine.IO.  *files* maps a full path to a callable
    returning ``(body, content type)``, or ``None`` for a ``404``.
    """

    def __init__(self, app: Callable[..., Any],
                 files: dict[str, Callable[[], tuple[bytes, str] | None]]) -> None:
        self.app = app
        self.files = files

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        serve = self.files.get(environ.get("PATH_INFO", ""))
        if serve is None:
            return self.app(environ, start_response)
        environ[_ENTRY_KEY]["handler"] = "static"
        found = serve()
        if found is None:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"not found"]
        body, content_type = found
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


class _ClosedAfterWebSocket(Response):
    """The Flask response of a view whose connection became a WebSocket."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return []


def create_capture_app(socketio_js: Path | None = None, socketio_path: str = SOCKETIO_PATH,
                       ) -> tuple[Flask, SocketIO, dict[str, threading.Event]]:
    """Build the capture app: pages, a WebSocket echo, a Socket.IO server, and a browser page.

    The Socket.IO server is mounted at *socketio_path*; in front of it
    :class:`SocketIOPathFiles` serves the browser client (*socketio_js*, ``404``
    when not given) and a stylesheet under that path.  Returns the Flask app,
    its ``SocketIO`` and the events the browser run waits on (``hello`` after a
    Socket.IO round trip, ``done`` after the browser's last request).
    """
    app = Flask("wslab_capture", static_folder=None)
    app.secret_key = "capture-only"
    sio = SocketIO(app, async_mode="threading", path=socketio_path, logger=False, engineio_logger=False)
    path = served_socketio_path(sio)
    events = {"hello": threading.Event(), "done": threading.Event()}

    def client_js() -> tuple[bytes, str] | None:
        return None if socketio_js is None else (socketio_js.read_bytes(), "text/javascript")

    app.wsgi_app = SocketIOPathFiles(app.wsgi_app, {  # type: ignore[method-assign]
        path + SOCKETIO_CLIENT_FILE: client_js,
        path + STYLESHEET_FILE: lambda: (b"body { font-family: sans-serif; }\n", "text/css"),
    })

    @app.before_request
    def _mark_flask() -> None:
        request.environ[_ENTRY_KEY]["handler"] = "flask"

    @app.get("/")
    def index() -> str:
        return "<h1>home</h1>"

    @app.get("/docs/<path:name>")
    def docs(name: str) -> str:
        return f"<h1>{name}</h1>"

    @app.get("/search")
    def search() -> dict[str, Any]:
        return {"args": request.args.to_dict()}

    @app.post("/login")
    def login() -> str:
        session["user"] = request.form.get("user", "")
        return "ok"

    @app.get("/dashboard")
    def dashboard() -> str:
        return f"<h1>{session.get('user', 'anonymous')}</h1>"

    @app.post("/api/echo")
    def api_echo() -> Any:
        return request.get_json(silent=True) or {}

    @app.get("/chat")
    def chat() -> str:
        return _BROWSER_PAGE.replace("SOCKETIO_PATH", path)

    @app.post("/done")
    def done() -> str:
        events["done"].set()
        return "ok"

    @app.route("/ws/echo", websocket=True)
    def ws_echo() -> Response:
        ws = simple_websocket.Server(request.environ)
        try:
            while True:
                ws.send(ws.receive())
        except simple_websocket.ConnectionClosed:
            pass
        return _ClosedAfterWebSocket()

    @sio.on("hello")
    def hello(who: str) -> str:
        events["hello"].set()
        emit("bye")
        return "ok"

    return app, sio, events


class _CaptureHandler(WSGIRequestHandler):
    """Werkzeug's handler, without access log lines, closing switched connections.

    After a WebSocket ends, the bytes left on the connection are frames, not a
    next HTTP request, so the handler must not try to read one.
    """

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Skip the access log; errors are still logged."""

    def run_wsgi(self) -> None:
        """Serve one request; close the connection if it switched protocols."""
        super().run_wsgi()
        if self.environ.get(_ENTRY_KEY, {}).get("switched"):
            self.close_connection = True


class CaptureServer:
    """A real Werkzeug threaded server on 127.0.0.1 around the recorded capture app.

    *socketio_path* is where its Socket.IO server is mounted (see :func:`create_capture_app`).
    """

    def __init__(self, socketio_js: Path | None = None, socketio_path: str = SOCKETIO_PATH) -> None:
        self.app, self.socketio, self.events = create_capture_app(socketio_js, socketio_path)
        self.recorder = HeadRecorder(self.app.wsgi_app)
        self.app.wsgi_app = self.recorder
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def socketio_path(self) -> str:
        """The path the app's Socket.IO server is mounted at, read back from Flask-SocketIO."""
        return served_socketio_path(self.socketio)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError("capture server is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> CaptureServer:
        """Start serving on a free port in a background thread."""
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                   request_handler=_CaptureHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, source: str, expect: Iterable[str]) -> AbstractContextManager[None]:
        """Context manager: requests inside it come from *source* and carry labels in *expect*."""
        return self.recorder.attribute(source, expect)

    def records(self) -> list[dict[str, Any]]:
        """The labelled corpus lines captured so far."""
        return self.recorder.records()
