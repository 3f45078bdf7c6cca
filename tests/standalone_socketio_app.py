"""A plain Flask-SocketIO app served by ``socketio.run``, written without the kit.

The matrix tests run this file with a matrix cell's interpreter to check the
cell's counts from outside the kit: it serves a minimal app the way a user
would (``socketio.run(app, debug=...)`` in threading mode), connects N direct
WebSocket clients with python-socketio, waits until Werkzeug's request threads
have ended (each logs its connection before it ends), and prints one JSON object: how many WebSocket request lines
Werkzeug logged per status, and the versions it ran on.

    python standalone_socketio_app.py --clients 3 [--debug]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import logging
import re
import socket
import threading
import time

import socketio
from flask import Flask
from flask_socketio import SocketIO

LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?\S*transport=websocket\S* HTTP/1\.1(?:\x1b\[[0-9;]*m)*" (\d{3}) ')


def request_threads() -> int:
    """Werkzeug's request threads still running (each handles one connection, then logs it)."""
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name and t.is_alive())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.addHandler(handler)
    werkzeug_log.setLevel(logging.INFO)

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "standalone"
    sio = SocketIO(app, async_mode="threading")

    @sio.on("connect")
    def connect():
        sio.emit("hello", {"ok": True})

    port = free_port()
    threading.Thread(target=sio.run, args=(app,), daemon=True,
                     kwargs={"host": "127.0.0.1", "port": port, "debug": args.debug,
                             "use_reloader": False, "allow_unsafe_werkzeug": True}).start()
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.05)

    connected = 0
    for _ in range(args.clients):
        client = socketio.Client(reconnection=False)
        client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=10)
        connected += client.connected
        client.disconnect()
    deadline = time.monotonic() + 30
    while request_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    statuses: dict[str, int] = {}
    for status in LINE.findall(log.getvalue()):
        statuses[status] = statuses.get(status, 0) + 1
    versions = {p: importlib.metadata.version(p) for p in ("werkzeug", "python-engineio", "flask-socketio")}
    print(json.dumps({"connected": connected, "websocket_statuses": statuses, "threads_left": request_threads(),
                      "versions": versions}))


if __name__ == "__main__":
    main()
