"""The guard reports 101 only for a WebSocket whose handshake really went out.

Every test serves a small Flask + Flask-SocketIO app on a real Werkzeug
threaded server (``make_server`` on a free loopback port) and talks to it with
real clients: raw sockets, ``websocket-client`` and the python-socketio client.
Each runs with Werkzeug's debugger off and on (the debugger wraps the Flask
app object, as ``socketio.run(app, debug=True)`` does), and ``make test`` runs
the module on the incident pins and on the current ones.

Log records are checked with the independent regular expressions of
:mod:`logcheck`.  Before looking at the log, a test waits -- with a deadline --
until every connection the server accepted has been handled to its end, so a
late line (a 400 for stray frame bytes, say) cannot slip past.
"""

from __future__ import annotations

import importlib.metadata
import re
import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import simple_websocket
import socketio
import websocket
import werkzeug.serving
from flask import Flask, Response
from flask_socketio import SocketIO
from packaging.version import Version
from werkzeug.debug import DebuggedApplication
from werkzeug.serving import WSGIRequestHandler, make_server

import logcheck
from werkzeug_server import werkzeug_messages
from wslab.app.guard import HandshakeRecorder, WebSocketGuard

ENGINEIO = Version(importlib.metadata.version("python-engineio"))
#: python-engineio raises ConnectionError under Werkzeug instead of returning [] from here on
ENGINEIO_RAISES = ENGINEIO >= Version("4.13.4")
DEADLINE = 20.0
UPGRADE = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n")
TRACEBACK = re.compile(rb"^Traceback \(most recent call last\):", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SWITCHING_LINE = b'" 101 '


# --- the app --------------------------------------------------------------------------------


def _buggy_upgrade(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    """The app bug the guard must not hide: nothing sent, no status, no body."""
    return []


def _raising_upgrade(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    raise RuntimeError("upgrade view failed")


def _refusing_upgrade(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    body = b"no WebSocket here\n"
    start_response("426 Upgrade Required", [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                            ("Upgrade", "websocket")])
    return [body]


def _streaming_upgrade(environ: dict, start_response: Callable[..., Any]) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield from (f"part {i}\n".encode() for i in range(3))


def _handshake(environ: dict) -> simple_websocket.Server:
    """Accept the WebSocket (this sends the 101 handshake) and close it again."""
    ws = simple_websocket.Server(environ)
    try:
        ws.close()
    except simple_websocket.ConnectionClosed:
        pass  # the client had already gone
    return ws


def _handshake_then_raise(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    _handshake(environ)
    raise RuntimeError("failed after the handshake")


def _handshake_then_stop_iteration(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    _handshake(environ)
    raise StopIteration  # python-engineio's signal under Gunicorn only; here it is an error


def _handshake_then_connection_error(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    _handshake(environ)
    raise ConnectionError  # how python-engineio >= 4.13.4 ends a session under Werkzeug


def _lazy_handshake_then_connection_error(environ: dict, start_response: Callable[..., Any]) -> Iterator[bytes]:
    _handshake(environ)
    raise ConnectionError
    yield b""  # a generator: the error comes while the server iterates


def _connection_error_without_handshake(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    raise ConnectionError


def _echo_once(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    """A WebSocket app on simple-websocket with pings on (so it selects on the socket)."""
    ws = simple_websocket.Server(environ, ping_interval=0.2)
    try:
        while True:
            message = ws.receive(timeout=DEADLINE)
            if message is None:
                break
            ws.send(message)
    except simple_websocket.ConnectionClosed:
        pass
    return []


RAW_ROUTES = {
    "/buggy": _buggy_upgrade,
    "/raise": _raising_upgrade,
    "/refuse": _refusing_upgrade,
    "/stream-upgrade": _streaming_upgrade,
    "/handshake-raise": _handshake_then_raise,
    "/handshake-stop-iteration": _handshake_then_stop_iteration,
    "/handshake-connection-error": _handshake_then_connection_error,
    "/lazy-connection-error": _lazy_handshake_then_connection_error,
    "/connection-error": _connection_error_without_handshake,
    "/echo": _echo_once,
}


def build_app(debug: bool) -> tuple[Flask, SocketIO]:
    """Flask + Flask-SocketIO, with raw WSGI routes in front of Flask for the upgrade cases."""
    app = Flask("guard-handshake-test")
    app.config["SECRET_KEY"] = "test"
    app.debug = debug  # as socketio.run(app, debug=...) sets it
    sio = SocketIO(app, async_mode="threading", logger=False, engineio_logger=False)

    @app.get("/ok")
    def ok():
        return "hello\n"

    @app.get("/boom")
    def boom():
        raise RuntimeError("view failed")

    @app.get("/stream")
    def stream():
        return Response((f"chunk {i}\n" for i in range(3)), mimetype="text/plain")

    @sio.on("echo")
    def on_echo(data):
        return data

    below = app.wsgi_app

    def routes(environ: dict, start_response: Callable[..., Any]):
        return RAW_ROUTES.get(environ.get("PATH_INFO"), below)(environ, start_response)

    app.wsgi_app = routes
    return app, sio


# --- the server -----------------------------------------------------------------------------


class Connections:
    """Counts the connections a server accepted and the ones it has finished handling."""

    def __init__(self) -> None:
        self.opened = 0
        self.finished = 0
        self._cond = threading.Condition()

    def handler(self) -> type[WSGIRequestHandler]:
        """A request handler class that reports to this counter."""
        counter = self

        class CountingHandler(WSGIRequestHandler):
            def setup(self) -> None:
                with counter._cond:
                    counter.opened += 1
                super().setup()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with counter._cond:
                        counter.finished += 1
                        counter._cond.notify_all()

        return CountingHandler

    def wait_idle(self, at_least: int, timeout: float = DEADLINE) -> bool:
        """Wait until *at_least* connections were accepted and every accepted one is handled."""
        with self._cond:
            return self._cond.wait_for(lambda: self.opened >= at_least and self.finished == self.opened, timeout)


class ErrorStream:
    """A thread-safe ``wsgi.errors``: the debugger writes its tracebacks here."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Keep *text*."""
        with self._lock:
            self.parts.append(text)
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        """Keep every line of *lines*."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing to flush."""

    def text(self) -> bytes:
        """Everything written so far, encoded."""
        with self._lock:
            return "".join(self.parts).encode()


@dataclass
class Served:
    """A running server and what it has logged."""

    host: str
    port: int
    guard: WebSocketGuard | None
    records: list[str]
    errors: ErrorStream
    connections: Connections

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def log(self, start: int = 0) -> bytes:
        """The werkzeug log records from index *start* on, one per line."""
        return "\n".join(self.records[start:]).encode()

    def lines(self, start: int = 0) -> list[dict]:
        """The request lines among the records from index *start* on."""
        return logcheck.requests(self.log(start))


def arrange(app: Flask, *, guarded: bool, debug: bool, guard_outside: bool = False
            ) -> tuple[Callable[..., Any], WebSocketGuard | None]:
    """The app the server runs: the guard inside (documented) or outside the debugger."""
    guard = None
    if guarded and not guard_outside:
        guard = WebSocketGuard(app.wsgi_app)
        app.wsgi_app = guard
    top: Callable[..., Any] = DebuggedApplication(app, evalex=True) if debug else app
    if guarded and guard_outside:
        guard = WebSocketGuard(top)
        top = guard
    return top, guard


@contextmanager
def serve(*, guarded: bool, debug: bool, guard_outside: bool = False) -> Iterator[Served]:
    """Serve :func:`build_app` on Werkzeug's threaded server at a free loopback port."""
    app, sio = build_app(debug)
    top, guard = arrange(app, guarded=guarded, debug=debug, guard_outside=guard_outside)
    errors, connections = ErrorStream(), Connections()

    def outermost(environ: dict, start_response: Callable[..., Any]):
        environ["wsgi.errors"] = errors
        return top(environ, start_response)

    with werkzeug_messages() as records:
        server = make_server("127.0.0.1", 0, outermost, threaded=True, request_handler=connections.handler())
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield Served("127.0.0.1", server.socket.getsockname()[1], guard, records, errors, connections)
        finally:
            for session in list(sio.server.eio.sockets.values()):
                session.close(wait=False, abort=True)
            server.shutdown()
            thread.join(5)
            server.server_close()


def raw_exchange(host: str, port: int, request: str, timeout: float = DEADLINE) -> bytes:
    """Send *request*, half-close, and return every byte the server sent until it closed."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.encode("latin-1"))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # the server closed a WebSocket with unread bytes in its buffer
    return b"".join(chunks)


def statuses(lines: list[dict], path: str) -> list[int]:
    """The logged status of every request to *path* (query string ignored)."""
    return [r["status"] for r in lines if r["target"].split("?")[0] == path]


def failure_lines(records: list[str]) -> list[str]:
    """Every 4xx/5xx request line, including Werkzeug's lines for unparsable requests."""
    return [r for r in records if re.search(r'" [45]\d\d ', ANSI.sub("", r))]


@pytest.fixture(params=[False, True], ids=["debugger-off", "debugger-on"])
def debug(request: pytest.FixtureRequest) -> bool:
    """Werkzeug's debugger off, then on."""
    return request.param


# --- raw upgrade requests: what the guard must leave alone and what it must end ----------------

RAW = {
    "app returns nothing": "/buggy",
    "app raises": "/raise",
    "app refuses with 426": "/refuse",
    "app streams a 200": "/stream-upgrade",
    "handshake, then RuntimeError": "/handshake-raise",
    "handshake, then StopIteration": "/handshake-stop-iteration",
    "ConnectionError, no handshake": "/connection-error",
    "Engine.IO, handshake header missing": "/socket.io/",
    "handshake, then ConnectionError": "/handshake-connection-error",
    "handshake, then ConnectionError while iterating": "/lazy-connection-error",
}
ORDINARY = {"ordinary route": "/ok", "ordinary view raises": "/boom", "ordinary streaming": "/stream"}


def _normalise(response: bytes) -> bytes:
    return re.sub(rb"^Date: .*$", b"Date: -", response, flags=re.M | re.I)


def _request_for(name: str) -> str:
    if name in ORDINARY:
        return f"GET {ORDINARY[name]} HTTP/1.1\r\nHost: t\r\n\r\n"
    path = RAW[name]
    if path == "/socket.io/":
        return ("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: t\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n"


@dataclass
class Outcome:
    """One request's response and what the server logged for it."""

    response: bytes
    statuses: list[int]
    log: bytes
    errors: bytes
    idle: bool

    @property
    def tracebacks(self) -> int:
        """Tracebacks in the log records and in ``wsgi.errors`` together."""
        return len(TRACEBACK.findall(self.log)) + len(TRACEBACK.findall(self.errors))


def _exchange_each(guarded: bool, debug: bool) -> tuple[dict[str, Outcome], int]:
    outcomes = {}
    with serve(guarded=guarded, debug=debug) as served:
        for name in [*RAW, *ORDINARY]:
            start, err_start, opened = len(served.records), len(served.errors.text()), served.connections.opened
            response = raw_exchange(served.host, served.port, _request_for(name))
            idle = served.connections.wait_idle(opened + 1)
            path = RAW.get(name) or ORDINARY[name]
            outcomes[name] = Outcome(response, statuses(served.lines(start), path), served.log(start),
                                     served.errors.text()[err_start:], idle)
        ended = served.guard.ended if served.guard else 0
    return outcomes, ended


@pytest.fixture(scope="module")
def raw_outcomes() -> dict[tuple[bool, bool], tuple[dict[str, Outcome], int]]:
    """(guarded, debug) -> every raw request's outcome and the guard's count of ended requests."""
    return {(g, d): _exchange_each(g, d) for g in (False, True) for d in (False, True)}


@pytest.mark.parametrize("name", [n for n in [*RAW, *ORDINARY] if "then ConnectionError" not in n])
def test_guard_changes_nothing_but_finished_websockets(raw_outcomes, debug, name):
    """Failures stay failures and ordinary responses stay as they are, debugger off and on."""
    plain, guarded = raw_outcomes[(False, debug)][0][name], raw_outcomes[(True, debug)][0][name]
    assert plain.idle and guarded.idle
    assert guarded.statuses == plain.statuses
    assert SWITCHING_LINE not in guarded.log
    assert guarded.tracebacks == plain.tracebacks
    assert guarded.response.split(b"\r\n", 1)[0] == plain.response.split(b"\r\n", 1)[0]
    # byte for byte, unless the debugger's page (a fresh secret each time) or bytes racing a
    # WebSocket's own close frame after a handshake are in it
    if not debug and not plain.response.startswith(b"HTTP/1.1 101"):
        assert _normalise(guarded.response) == _normalise(plain.response)


def test_the_pass_through_cases_are_what_they_claim(raw_outcomes, debug):
    """With the guard on: the statuses, tracebacks and responses each case should have."""
    out, ended = raw_outcomes[(True, debug)]
    assert ended == 2  # only the two "handshake, then ConnectionError" requests
    buggy = out["app returns nothing"]
    assert buggy.statuses == [500] and buggy.response.startswith(b"HTTP/1.1 500")
    assert logcheck.tracebacks(buggy.log) == 1  # Werkzeug's own assertion, debugger or not
    raising = out["app raises"]
    assert raising.statuses == [500] and raising.response.startswith(b"HTTP/1.1 500")
    assert raising.tracebacks == 1
    assert re.search(rb"^RuntimeError: upgrade view failed", raising.errors if debug else raising.log, re.M)
    assert out["app refuses with 426"].statuses == [426]
    assert out["app refuses with 426"].response.endswith(b"no WebSocket here\n")
    streamed = out["app streams a 200"]
    assert streamed.statuses == [200] and b"Transfer-Encoding: chunked" in streamed.response
    assert b"part 2" in streamed.response
    after = out["handshake, then RuntimeError"]
    assert after.response.startswith(b"HTTP/1.1 101") and after.statuses == [500] and after.tracebacks == 1
    assert re.search(rb"^RuntimeError: failed after the handshake", after.errors if debug else after.log, re.M)
    stopped = out["handshake, then StopIteration"]
    assert stopped.response.startswith(b"HTTP/1.1 101") and stopped.statuses == [500] and stopped.tracebacks == 1
    # Werkzeug takes a ConnectionError for a dropped connection; the debugger makes it a 500 page
    assert out["ConnectionError, no handshake"].statuses == ([500] if debug else [])
    missing = out["Engine.IO, handshake header missing"]
    assert missing.statuses == [500] and missing.tracebacks == 1
    assert out["ordinary route"].statuses == [200]
    # Flask logs a view's exception on its own logger; in debug mode it reaches the debugger
    assert out["ordinary view raises"].statuses == [500] and out["ordinary view raises"].tracebacks == (1 if debug else 0)
    assert out["ordinary streaming"].statuses == [200] and b"chunk 2" in out["ordinary streaming"].response


@pytest.mark.parametrize("name", ["handshake, then ConnectionError", "handshake, then ConnectionError while iterating"])
def test_guard_ends_a_finished_websocket_that_signals_with_connection_error(raw_outcomes, debug, name):
    """The handshake went out, then ConnectionError: one 101 line, no 500, no traceback."""
    plain, guarded = raw_outcomes[(False, debug)][0][name], raw_outcomes[(True, debug)][0][name]
    assert guarded.idle
    assert guarded.response.startswith(b"HTTP/1.1 101")
    assert guarded.statuses == [101]
    assert guarded.tracebacks == 0 and failure_lines(guarded.log.decode().splitlines()) == []
    # without the guard: not logged at all, or a 500 debugger page written after the 101
    assert plain.statuses == ([500] if debug else [])


# --- real WebSocket clients ---------------------------------------------------------------------


def _socketio_session(url: str, transports: list[str] | None = None) -> str:
    client = socketio.Client(reconnection=False)
    client.connect(url, transports=transports or ["websocket"], wait_timeout=DEADLINE)
    try:
        return client.call("echo", "ping", timeout=DEADLINE)
    finally:
        client.disconnect()


def _sessions(url: str, count: int, transports: list[str] | None = None) -> list[str]:
    """Run *count* Socket.IO sessions at once; their results, collected in this thread."""
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(_socketio_session, url, transports) for _ in range(count)]
        return [f.result(timeout=DEADLINE * 2) for f in futures]


def _direct_websocket_lines(served: Served) -> list[dict]:
    return [r for r in served.lines() if "transport=websocket" in r["target"] and "sid=" not in r["target"]]


def test_direct_socketio_websockets_are_one_101_each(debug):
    """Guard in the documented place: per connection exactly one 101, no 500, no 400, no traceback.

    The opposite order is :func:`test_guard_outside_the_debugger_loses_the_engineio_signal`.
    """
    clients = 3
    with serve(guarded=True, debug=debug) as served:
        echoes = _sessions(served.url, clients)
        idle = served.connections.wait_idle(clients)
        ended = served.guard.ended
    assert echoes == ["ping"] * clients
    assert idle
    text = served.log()
    assert [r["status"] for r in _direct_websocket_lines(served)] == [101] * clients
    assert len(served.lines()) == clients
    assert failure_lines(served.records) == []
    assert logcheck.bad_syntax(text) == 0 and b"Bad HTTP/0.9" not in text
    assert len(TRACEBACK.findall(text)) == 0 and len(TRACEBACK.findall(served.errors.text())) == 0
    assert ended == clients


def test_socketio_polling_then_upgrade_is_not_a_500(debug):
    """The upgrade request (it carries a sid) never fails, and is ended only when Engine.IO gave no status.

    Older python-engineio answers it itself once the WebSocket is over (a ``200``
    with an empty payload, which the guard passes through); from 4.13.4 on it raises
    ``ConnectionError`` there too, and the guard ends it as a ``101``.
    """
    with serve(guarded=True, debug=debug) as served:
        echoes = _sessions(served.url, 2, transports=["polling", "websocket"])
        opened = served.connections.opened
        idle = served.connections.wait_idle(opened)
        ended = served.guard.ended
    assert echoes == ["ping", "ping"] and idle
    upgrades = [r["status"] for r in served.lines() if "transport=websocket" in r["target"]]
    assert upgrades == ([101, 101] if ENGINEIO_RAISES else [200, 200])
    assert ended == (2 if ENGINEIO_RAISES else 0)
    assert [r for r in served.lines() if r["status"] >= 500] == []
    assert len(TRACEBACK.findall(served.log())) == 0


def test_without_the_guard_direct_websockets_are_never_101(debug):
    """What the guard is for, measured on this pin set: a 500 per connection, or no line at all."""
    clients = 2
    with serve(guarded=False, debug=debug) as served:
        echoes = _sessions(served.url, clients)
        idle = served.connections.wait_idle(clients)
    assert echoes == ["ping"] * clients and idle
    direct = [r["status"] for r in _direct_websocket_lines(served)]
    assert 101 not in direct
    if debug or not ENGINEIO_RAISES:
        assert direct == [500] * clients  # the assertion, or the debugger's page for ConnectionError
    else:
        assert 500 not in direct  # a dropped connection: at most a 400 for stray frame bytes


def test_guard_outside_the_debugger_loses_the_engineio_signal():
    """Why the guard must sit inside the debugger: outside it, current pins log a 500 again."""
    with serve(guarded=True, debug=True, guard_outside=True) as served:
        echoes = _sessions(served.url, 1)
        idle = served.connections.wait_idle(1)
        ended = served.guard.ended
    assert echoes == ["ping"] and idle
    direct = [r["status"] for r in _direct_websocket_lines(served)]
    if ENGINEIO_RAISES:
        # the debugger turned the ConnectionError into its 500 page (whether it can still
        # write that page and its traceback depends on how fast the client hung up)
        assert direct == [500] and ended == 0
    else:
        assert direct == [101] and ended == 1


def test_websocket_client_gets_the_500_for_the_buggy_upgrade(debug):
    """``websocket-client`` sees the real status of the app bug, with the guard on."""
    with serve(guarded=True, debug=debug) as served:
        with pytest.raises(websocket.WebSocketBadStatusException) as caught:
            websocket.create_connection(f"ws://{served.host}:{served.port}/buggy", timeout=DEADLINE)
        idle = served.connections.wait_idle(1)
        ended = served.guard.ended
    assert caught.value.status_code == 500 and idle and ended == 0
    assert statuses(served.lines(), "/buggy") == [500]
    assert logcheck.tracebacks(served.log()) == 1


@pytest.mark.parametrize("guarded", [False, True], ids=["unguarded", "guarded"])
def test_simple_websocket_app_with_pings_through_the_proxy(debug, guarded):
    """A plain simple-websocket app (selector, recv, send, close on the proxy): 101 only with the guard."""
    with serve(guarded=guarded, debug=debug) as served:
        ws = websocket.create_connection(f"ws://{served.host}:{served.port}/echo", timeout=DEADLINE)
        try:
            ws.send("hello")
            echoed = ws.recv()
        finally:
            ws.close()
        idle = served.connections.wait_idle(1)
        ended = served.guard.ended if served.guard else 0
    assert echoed == "hello" and idle
    logged = statuses(served.lines(), "/echo")
    if guarded:
        assert logged == [101] and ended == 1 and logcheck.tracebacks(served.log()) == 0
    else:
        assert logged == [500] and logcheck.tracebacks(served.log()) == 1


def test_engineio_websocket_via_websocket_client(debug):
    """A raw Engine.IO/Socket.IO exchange with ``websocket-client``: one 101, nothing else."""
    with serve(guarded=True, debug=debug) as served:
        ws = websocket.create_connection(f"ws://{served.host}:{served.port}/socket.io/?EIO=4&transport=websocket",
                                         timeout=DEADLINE)
        try:
            opened = ws.recv()
            ws.send("40")
            connected = ws.recv()
            ws.send('421["echo","ping"]')
            answer = ws.recv()
        finally:
            ws.close()
        idle = served.connections.wait_idle(1)
        ended = served.guard.ended
    assert opened.startswith("0{") and connected.startswith("40") and answer == '431["ping"]'
    assert idle and ended == 1
    assert [r["status"] for r in served.lines()] == [101]
    assert failure_lines(served.records) == []


# --- the real socketio.run(app, debug=True) wiring ---------------------------------------------


def test_socketio_run_debug_puts_the_debugger_outside_the_guard(monkeypatch):
    """``socketio.run(app, debug=True)`` in threading mode: debugger -> Flask -> guard, and it works."""
    app, sio = build_app(debug=False)
    guard = WebSocketGuard(app.wsgi_app)
    app.wsgi_app = guard
    connections = Connections()
    servers: list[Any] = []
    ready = threading.Event()
    real_make_server = werkzeug.serving.make_server

    def capturing_make_server(*args: Any, **kwargs: Any) -> Any:
        server = real_make_server(*args, **kwargs)
        server.RequestHandlerClass = connections.handler()
        servers.append(server)
        ready.set()
        return server

    monkeypatch.setattr(werkzeug.serving, "make_server", capturing_make_server)
    monkeypatch.setenv("WERKZEUG_SERVER_FD", "")  # run_simple sets it; undone afterwards
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with werkzeug_messages() as records, ThreadPoolExecutor(1) as pool:
        running = pool.submit(sio.run, app, host="127.0.0.1", port=0, debug=True, use_reloader=False,
                              allow_unsafe_werkzeug=True)
        try:
            assert ready.wait(DEADLINE), running.exception(0) if running.done() else "server did not start"
            server = servers[0]
            host, port = server.socket.getsockname()[:2]
            echoes = _sessions(f"http://{host}:{port}", 2)
            buggy = raw_exchange(host, port, _request_for("app returns nothing"))
            idle = connections.wait_idle(3)
        finally:
            if servers:
                servers[0].shutdown()
            for session in list(sio.server.eio.sockets.values()):
                session.close(wait=False, abort=True)
        running.result(timeout=DEADLINE)
        servers[0].server_close()
    assert isinstance(server.app, DebuggedApplication) and server.app.app is app and app.wsgi_app is guard
    assert echoes == ["ping", "ping"] and idle
    lines = logcheck.requests("\n".join(records).encode())
    assert [r["status"] for r in lines if "transport=websocket" in r["target"]] == [101, 101]
    assert statuses(lines, "/buggy") == [500] and buggy.startswith(b"HTTP/1.1 500")
    assert logcheck.tracebacks("\n".join(records).encode()) == 1  # the buggy upgrade's, nobody else's
    assert guard.ended == 2


# --- the socket proxy itself --------------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair of sockets, closed afterwards."""
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_recorder_sees_a_handshake_split_over_sends(pair):
    a, b = pair
    proxy = HandshakeRecorder(a)
    assert proxy.send(b"HTTP/1.") == 7
    assert not proxy.handshake_sent
    proxy.sendall(memoryview(b"1 101 Switching Protocols\r\n\r\n"))
    assert proxy.handshake_sent
    proxy.sendmsg([b"frame"])
    assert b.recv(100) == b"HTTP/1.1 101 Switching Protocols\r\n\r\nframe"


@pytest.mark.parametrize("first", [b"HTTP/1.1 200 OK\r\n\r\n", b"\x81\x05hello", b"HTTP/1.0 101 ", b"H"])
def test_recorder_only_counts_a_101_at_the_start(pair, first):
    a, b = pair
    proxy = HandshakeRecorder(a)
    proxy.sendall(first)
    proxy.sendall(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")  # too late: the stream began otherwise
    assert not proxy.handshake_sent


def test_recorder_counts_only_what_sendmsg_sent(pair):
    a, b = pair
    proxy = HandshakeRecorder(a)
    assert proxy.sendmsg([bytearray(b"HTTP/1.1 "), b"101 Switching"]) == 22
    assert proxy.handshake_sent


def test_recorder_is_transparent_for_the_rest(pair):
    a, b = pair
    proxy = HandshakeRecorder(a)
    assert proxy.wrapped is a and proxy.fileno() == a.fileno()
    proxy.settimeout(2.5)
    assert a.gettimeout() == proxy.gettimeout() == 2.5
    with selectors.DefaultSelector() as selector:
        selector.register(proxy, selectors.EVENT_READ)
        b.sendall(b"ping")
        assert [key.fileobj for key, _ in selector.select(DEADLINE)] == [proxy]
    assert proxy.recv(4) == b"ping"
    b.sendall(b"abc")
    buffer = bytearray(3)
    assert proxy.recv_into(buffer) == 3 and buffer == b"abc"
    reader = proxy.makefile("rb")
    b.sendall(b"line\n")
    assert reader.readline() == b"line\n"
    reader.close()
    proxy.shutdown(socket.SHUT_WR)
    assert b.recv(10) == b""
    with proxy:
        pass
    assert a.fileno() == -1
