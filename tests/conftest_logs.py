"""Real logs for the log-parser tests: a Werkzeug server under several logging setups.

Run as a script, it serves a Flask + Flask-SocketIO app on 127.0.0.1 with
Werkzeug's threaded server, logging in one of :data:`FORMATS`, and prints its port.
:func:`produce_log` starts it, drives it with real clients, counts on the client
side what was sent, and waits until the server has logged all of it.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

FORMATS = ("iso", "basic", "thread", "bare")
GARBAGE = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", b"\xff\xfe\xfd\r\n\r\n"]


class _IsoFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created).isoformat(timespec="microseconds")


def _configure_logging(fmt: str, log: str) -> None:
    if fmt == "iso":
        handler = logging.FileHandler(log, encoding="utf-8")
        handler.setFormatter(
            _IsoFormatter(
                "[%(asctime)s] %(levelname)s %(name)s - %(message)s (taskName=%(taskName)s)",
                defaults={"taskName": None},
            )
        )
        logging.basicConfig(level=logging.INFO, handlers=[handler])
    elif fmt == "basic":
        logging.basicConfig(level=logging.INFO, filename=log, encoding="utf-8")
    elif fmt == "thread":
        logging.basicConfig(
            level=logging.INFO,
            filename=log,
            encoding="utf-8",
            format="%(asctime)s %(levelname)-8s [%(threadName)s] %(name)s: %(message)s",
        )
    # "bare": no configuration; Werkzeug and Flask write to stderr, which the caller redirects.


def serve(fmt: str, log: str) -> None:
    """Serve the app until killed, logging in format *fmt*."""
    from flask import Flask
    from flask_socketio import SocketIO
    from werkzeug.serving import make_server

    _configure_logging(fmt, log)
    app = Flask("logsample")
    app.secret_key = "test"
    SocketIO(app, async_mode="threading")

    @app.route("/")
    def index() -> str:
        return "ok"

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("boom")

    @app.route("/chain")
    def chain() -> str:
        try:
            return {}["missing"]
        except KeyError:
            raise RuntimeError("chained")  # noqa: B904 - logged as "During handling of..."

    server = make_server("127.0.0.1", 0, app, threaded=True)
    logging.getLogger("wslab").info("phase: %s", "serving")
    print(server.server_port, flush=True)
    server.serve_forever()


def _counting_session(counter: Counter) -> object:
    import requests

    session = requests.Session()
    session.hooks["response"].append(lambda response, *a, **k: counter.update([str(response.status_code)]))
    return session


def drive(port: int, ws_clients: int = 2, polling_clients: int = 1) -> Counter:
    """Send a known mix of traffic; return status counts as the clients saw them, plus
    ``websocket`` (direct WebSocket connections) and ``garbage`` (raw bad request lines)."""
    import socketio

    url = f"http://127.0.0.1:{port}"
    seen: Counter = Counter()
    http = _counting_session(seen)
    for path in ["/", "/", "/?page=2", "/missing", "/boom", "/chain"]:
        http.get(url + path, timeout=10)
    for _ in range(ws_clients):
        client = socketio.Client()
        client.connect(url, transports=["websocket"], wait_timeout=10)
        client.disconnect()
        seen.update(["500", "websocket"])  # the upgrade request is logged as a 500
    for _ in range(polling_clients):
        client = socketio.Client()
        client.eio.http = _counting_session(seen)
        client.connect(url, transports=["polling"], wait_timeout=10)
        time.sleep(0.3)
        client.disconnect()
    for payload in GARBAGE:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(payload)
            raw.recv(4096)
        seen.update(["400", "garbage"])
    return seen


def wait_for(path: Path, needle: bytes, count: int, timeout: float = 20.0) -> None:
    """Poll *path* until *needle* occurs *count* times (bounded by *timeout*)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(needle) >= count:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{path} did not get {count} x {needle!r} in {timeout} s")


def produce_log(fmt: str, directory: Path, ws_clients: int = 2) -> tuple[Path, Counter]:
    """Run the server in *fmt*, drive it, and return the log path and the client-side counts."""
    log = directory / f"{fmt}.log"
    stderr = open(log, "wb") if fmt == "bare" else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, __file__, fmt, str(log)], stdout=subprocess.PIPE, stderr=stderr, env=env
    )
    try:
        port = int(proc.stdout.readline())
        seen = drive(port, ws_clients=ws_clients)
        wait_for(log, b"AssertionError: write() before start_response", seen["websocket"])
        wait_for(log, b'" 200 ', 1)
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if stderr is not subprocess.DEVNULL:
            stderr.close()
    return log, seen


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
