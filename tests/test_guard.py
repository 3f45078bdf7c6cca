"""The WebSocket guard: it ends finished WebSockets cleanly and changes no other response.

A real Werkzeug threaded server serves the same small Flask + Flask-SocketIO app
once without and once with :class:`~wslab.app.guard.WebSocketGuard`; raw responses
are compared byte for byte, apart from the ``Date`` header and Engine.IO
session ids.  Nothing here depends on one pin set: ``make test`` runs this
module on the incident pins and on the current ones.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import socketio
from flask import Flask, Response, request
from flask_socketio import SocketIO

import logcheck
from werkzeug_server import threaded_server, werkzeug_messages
from wslab.app.guard import WebSocketGuard, is_websocket_takeover

UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
#: name -> raw request (the client half-closes after sending, so each ends with EOF).
REQUESTS = {
    "ordinary route": "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n",
    "view raises": "GET /boom HTTP/1.1\r\nHost: t\r\n\r\n",
    "streaming": "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n",
    "not found": "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n",
    "post form": "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 "Content-Length: 7\r\n\r\nname=ab",
    "head": "HEAD /ok HTTP/1.1\r\nHost: t\r\n\r\n",
    "polling handshake": "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: t\r\n\r\n",
    "polling, unknown sid": "GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: t\r\n\r\n",
    "upgrade to a plain Flask route": f"GET /ok HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
    "upgrade to a raising Flask view": f"GET /boom HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
    "upgrade, plain WSGI 200": f"GET /wsgi-ok HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
    "upgrade, WSGI streaming": f"GET /wsgi-stream HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
    "upgrade, WSGI empty 204": f"GET /wsgi-empty HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
    "WSGI-level error": "GET /wsgi-error HTTP/1.1\r\nHost: t\r\n\r\n",
    "upgrade, WSGI-level error": f"GET /wsgi-error HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n",
}
VOLATILE = [
    (re.compile(rb"^Date: .*$", re.M | re.I), b"Date: -"),
    (re.compile(rb'"sid":"[^"]+"'), b'"sid":"-"'),
]


def build_app() -> tuple[Flask, SocketIO]:
    """A Flask + Flask-SocketIO app with the kinds of responses the guard must leave alone."""
    app = Flask("guard-test")
    app.config["SECRET_KEY"] = "test"
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

    @app.get("/empty")
    def empty():
        return "", 204

    @app.post("/echo")
    def echo():
        return {"name": request.form.get("name")}

    @sio.on("echo")
    def on_echo(data):
        return data

    flask_wsgi = app.wsgi_app
    raw = {"/wsgi-ok": _wsgi_ok, "/wsgi-stream": _wsgi_stream, "/wsgi-empty": _wsgi_empty,
           "/wsgi-error": _wsgi_error}

    def outer(environ: dict, start_response):
        return raw.get(environ.get("PATH_INFO"), flask_wsgi)(environ, start_response)

    app.wsgi_app = outer
    return app, sio


def _wsgi_ok(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]


def _wsgi_stream(environ: dict, start_response) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield from (f"part {i}\n".encode() for i in range(3))


def _wsgi_empty(environ: dict, start_response) -> list[bytes]:
    start_response("204 No Content", [])
    return []


def _wsgi_error(environ: dict, start_response) -> list[bytes]:
    raise ValueError("failure below Flask")


@contextmanager
def serve(guarded: bool) -> Iterator[tuple[str, int, WebSocketGuard | None, list[str]]]:
    """Serve :func:`build_app` on Werkzeug's threaded server; yield host, port, guard, log lines."""
    app, sio = build_app()
    guard = None
    if guarded:
        guard = WebSocketGuard(app.wsgi_app)
        app.wsgi_app = guard
    with werkzeug_messages() as records, threaded_server(app) as (host, port):
        try:
            yield host, port, guard, records
        finally:
            for sock in list(sio.server.eio.sockets.values()):
                sock.close(wait=False, abort=True)


def raw_exchange(host: str, port: int, request: str, timeout: float = 5.0) -> bytes:
    """Send *request*, half-close, and return every byte the server sent until it closed."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.encode("latin-1"))
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def normalise(response: bytes) -> bytes:
    """*response* with the volatile parts (Date, Engine.IO sids) replaced by ``-``."""
    for pattern, replacement in VOLATILE:
        response = pattern.sub(replacement, response)
    return response


def exchange_all(guarded: bool) -> tuple[dict[str, bytes], WebSocketGuard | None, list[str]]:
    with serve(guarded) as (host, port, guard, records):
        responses = {name: normalise(raw_exchange(host, port, req)) for name, req in REQUESTS.items()}
    return responses, guard, records


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[dict[str, bytes], WebSocketGuard | None, list[str]]]:
    """Every request's response, without and with the guard."""
    return {"plain": exchange_all(False), "guarded": exchange_all(True)}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_guard_leaves_response_byte_for_byte(both, name):
    plain, guarded = both["plain"][0][name], both["guarded"][0][name]
    assert plain, f"no response for {name}"
    assert guarded == plain


def test_the_requests_cover_what_they_claim(both):
    responses = both["plain"][0]
    assert responses["ordinary route"].startswith(b"HTTP/1.1 200")
    assert responses["view raises"].startswith(b"HTTP/1.1 500")
    assert responses["WSGI-level error"].startswith(b"HTTP/1.1 500")
    assert responses["upgrade, WSGI-level error"].startswith(b"HTTP/1.1 500")
    assert b"Transfer-Encoding: chunked" in responses["streaming"]
    assert b"chunk 2" in responses["streaming"]
    assert responses["polling handshake"].startswith(b"HTTP/1.1 200") and b'"sid":"-"' in responses["polling handshake"]
    assert responses["polling, unknown sid"].startswith(b"HTTP/1.1 400")
    # Werkzeug's router answers a WebSocket request to an HTTP-only rule with 400
    assert responses["upgrade to a plain Flask route"].startswith(b"HTTP/1.1 400")
    assert responses["upgrade, plain WSGI 200"].startswith(b"HTTP/1.1 200") and responses["upgrade, plain WSGI 200"].endswith(b"ok\n")
    assert b"part 2" in responses["upgrade, WSGI streaming"]
    assert responses["upgrade, WSGI empty 204"].startswith(b"HTTP/1.1 204")


def test_guard_ends_nothing_it_should_not(both):
    guard = both["guarded"][1]
    assert guard is not None and guard.ended == 0


def test_guard_leaves_the_log_lines_alone(both):
    def statuses(records: list[str]) -> list[str]:
        return sorted(re.sub(r"\x1b\[[0-9;]*m", "", r).split('" ')[-1] for r in records if '" ' in r)

    assert statuses(both["guarded"][2]) == statuses(both["plain"][2])


def test_takeover_detection_needs_the_socket_and_both_headers():
    base = {"HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "keep-alive, Upgrade"}
    assert is_websocket_takeover({**base, "werkzeug.socket": object()})
    assert not is_websocket_takeover(base)
    assert not is_websocket_takeover({**base, "HTTP_UPGRADE": "h2c", "werkzeug.socket": object()})
    assert not is_websocket_takeover({"HTTP_UPGRADE": "websocket", "werkzeug.socket": object()})


def _socketio_session(url: str) -> str:
    """Connect over a direct WebSocket, call ``echo``, disconnect; return what ``echo`` answered."""
    client = socketio.Client(reconnection=False)
    client.connect(url, transports=["websocket"], wait_timeout=5)
    try:
        return client.call("echo", "ping", timeout=5)
    finally:
        client.disconnect()


def _wait_for(records: list[str], count: int, timeout: float = 20.0) -> None:
    """Wait until *count* WebSocket request lines are logged; fail the test after *timeout* s."""
    deadline = time.monotonic() + timeout
    while sum('/socket.io/' in r and "transport=websocket" in r for r in records) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} WebSocket request lines logged within {timeout:.0f} s")
        time.sleep(0.05)


def test_guard_ends_direct_websockets_without_500_or_400():
    """On either pin set: each closed WebSocket is one 101 line, no 500, no 400 garbage line."""
    clients = 3
    with serve(guarded=True) as (host, port, guard, records):
        url = f"http://{host}:{port}"
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = [f.result(timeout=30) for f in [pool.submit(_socketio_session, url) for _ in range(clients)]]
        _wait_for(records, clients)
        ended = guard.ended
    assert answers == ["ping"] * clients
    text = "\n".join(records).encode()
    lines = logcheck.requests(text)
    direct = [r for r in lines if "transport=websocket" in r["target"]]
    assert [r["status"] for r in direct] == [101] * clients
    assert [r for r in records if re.search(r'" [45]\d\d ', r)] == []  # HTTP/0.9 garbage lines too
    assert logcheck.bad_syntax(text) == 0 and b"Bad HTTP/0.9" not in text
    assert ended == clients
