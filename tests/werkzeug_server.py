"""A plain Werkzeug threaded server in a thread, with its log records collected (tests only)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def werkzeug_messages() -> Iterator[list[str]]:
    """Collect the ``werkzeug`` logger's messages; its level and propagation are restored after."""
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    log = logging.getLogger("werkzeug")
    saved = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield messages
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


@contextmanager
def threaded_server(app: Callable[..., Any]) -> Iterator[tuple[str, int]]:
    """Serve *app* on ``make_server(..., threaded=True)`` at a free loopback port; yield host, port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.socket.getsockname()[1]
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
