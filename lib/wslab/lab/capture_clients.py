"""The Python clients the capture server records: python-socketio, websocket-client, requests.

Each runs against a :class:`wslab.lab.capture.CaptureServer`'s URL, inside its
:meth:`~wslab.lab.capture.CaptureServer.client` block:
:func:`run_socketio_client` (any transports, a round trip, then leave),
:func:`run_websocket_client` (an echo over ``/ws/echo``),
:func:`run_http_requests` (:data:`HTTP_VISITS`, pages that merely mention
Socket.IO words) and :func:`run_socketio_path_requests` (requests near the
Socket.IO path that are not Engine.IO's).  :func:`package_version` names a
client's version in a corpus line's ``source``.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import version
from typing import Any

import requests
import socketio
import websocket

from wslab.lab.capture import CUSTOM_SOCKETIO_PATH, SOCKETIO_CLIENT_FILE, SOCKETIO_PATH, STYLESHEET_FILE
from wslab.waiting import WaitTimeout, wait_until

#: The pages :func:`run_http_requests` visits: some merely mention Socket.IO words.
HTTP_VISITS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("GET", "/", {}),
    ("GET", "/docs/socket.io-guide", {}),
    ("GET", "/search?transport=polling", {}),
    ("GET", "/search?q=EIO%3D4%26transport%3Dwebsocket", {}),
    ("POST", "/login", {"data": {"user": "ada"}}),
    ("GET", "/dashboard", {}),
    ("POST", "/api/echo", {"json": {"message": "hello"}}),
)


def package_version(name: str) -> str:
    """The installed version of a Python distribution, for ``source`` strings."""
    return version(name)


def run_socketio_client(url: str, transports: list[str], timeout: float = 10.0,
                        socketio_path: str = SOCKETIO_PATH) -> None:
    """Connect a python-socketio client, wait for the WebSocket transport if allowed, round-trip, leave."""
    client = socketio.Client(reconnection=False)
    client.connect(url, transports=transports, socketio_path=socketio_path, wait_timeout=timeout)
    try:
        if "websocket" in transports:
            try:
                wait_until(lambda: client.transport() == "websocket", timeout)
            except WaitTimeout:
                raise RuntimeError("python-socketio client never upgraded to WebSocket") from None
        client.call("hello", "python", timeout=timeout)
    finally:
        client.disconnect()


def run_websocket_client(url: str, connection: str | None = None, timeout: float = 10.0) -> None:
    """Open a websocket-client connection to ``/ws/echo``, echo one message, close.

    *connection* replaces the whole ``Connection`` header line, e.g.
    ``"Connection: keep-alive, Upgrade"`` as Firefox sends it.
    """
    options = {"connection": connection} if connection else {}
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/ws/echo",
                                     timeout=timeout, **options)
    try:
        ws.send("hi")
        ws.recv()
    finally:
        ws.close()


def run_http_requests(url: str, visits: Iterable[tuple[str, str, dict[str, Any]]] = HTTP_VISITS) -> None:
    """Visit pages with one ``requests`` session (so later requests carry the session cookie)."""
    with requests.Session() as http:
        for method, path, kwargs in visits:
            http.request(method, url + path, timeout=10, **kwargs).raise_for_status()


def socketio_path_visits(socketio_path: str = SOCKETIO_PATH,
                         other_path: str = CUSTOM_SOCKETIO_PATH) -> tuple[tuple[str, str], ...]:
    """The requests :func:`run_socketio_path_requests` sends: near Engine.IO, none of them Engine.IO's.

    Two static files under *socketio_path* (served in front of Engine.IO:
    ``not-engineio``), Engine.IO's query under a path that merely starts with
    the same letters (``/socket.iox/``), and under *other_path*, where no
    Socket.IO server is mounted (both answered by Flask, ``404``: ``http``).
    """
    query = "?EIO=4&transport=polling"
    return (
        ("GET", socketio_path + SOCKETIO_CLIENT_FILE),
        ("GET", socketio_path + STYLESHEET_FILE),
        ("GET", socketio_path + "x/" + query),
        ("GET", other_path + "/" + query),
    )


def run_socketio_path_requests(url: str, socketio_path: str = SOCKETIO_PATH,
                               other_path: str = CUSTOM_SOCKETIO_PATH) -> None:
    """Send :func:`socketio_path_visits` with one ``requests`` session; ``200`` and ``404`` are both fine."""
    with requests.Session() as http:
        for method, path in socketio_path_visits(socketio_path, other_path):
            response = http.request(method, url + path, timeout=10)
            if response.status_code not in (200, 404):
                raise RuntimeError(f"capture: {method} {path} answered {response.status_code}")
