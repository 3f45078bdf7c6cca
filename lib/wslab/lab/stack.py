"""The in-process lab stack: Redis, the demo app and Werkzeug's threaded server.

:class:`LabStack` is a context manager::

    with LabStack("before", log_path="logs/webapp.log") as stack:
        print(stack.url, stack.redis.description)
        ...                       # drive traffic at stack.url
        stack.wait_idle()         # every connection has ended and been logged

It serves the app with :class:`werkzeug.serving.ThreadedWSGIServer`, the class
``socketio.run(app)`` and ``app.run()`` use in threading mode, so requests go
through the very ``WSGIRequestHandler.run_wsgi`` that logged the incident.  The
server listens on an ephemeral 127.0.0.1 port unless you give one; with
``debugger=True`` it serves the app inside Werkzeug's debugger, as
``socketio.run(app, debug=True)`` does.  Records of
the ``werkzeug``, ``wslab``, ``engineio.server`` and ``socketio.server`` loggers
go to *log_path* in the incident's format (see :mod:`wslab.lab.logformat`).

Only one stack runs per process, because they would share Werkzeug's logger:
starting a stack stops any earlier one that is still running (a notebook cell
run twice replaces its stack instead of leaking it).  On exit, also after an
exception, it closes every Socket.IO connection, stops the server and its
threads, stops a Redis child process and removes its handler.
"""

from __future__ import annotations

import errno
import logging
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from wslab.app.demo import DemoApp, create_app, session_interface
from wslab.app.guard import WebSocketGuard
from wslab.app.variants import Variant, get_variant
from wslab.errors import WslabError
from wslab.lab.logformat import LAB_LOGGERS, file_handler
from wslab.lab.redis_backend import RedisHandle, open_redis

logger = logging.getLogger("wslab")

_active: list[LabStack] = []
_active_lock = threading.Lock()


@dataclass(frozen=True)
class DroppedRequest:
    """A request whose connection broke (reset, broken pipe) while Werkzeug handled it."""

    method: str
    target: str
    error: str  #: the exception's class name, e.g. ``ConnectionResetError``


@dataclass(frozen=True)
class ReportedError:
    """A traceback the app wrote to ``wsgi.errors`` (Werkzeug's debugger does) for a request."""

    target: str
    exception: str  #: the exception's class name, from the traceback's last line


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


class _ErrorStream:
    """``wsgi.errors`` for one request: written through, tracebacks also recorded."""

    def __init__(self, stream: Any, server: LabServer, target: str) -> None:
        self._stream, self._server, self._target = stream, server, target

    def write(self, text: str) -> int:
        if "Traceback (most recent call last)" in text:
            lines = [line for line in text.splitlines() if line.strip()]
            match = _EXCEPTION_LINE.match(lines[-1]) if lines else None
            self._server.reported.append(ReportedError(self._target, match[1] if match else "?"))
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()


class LabRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, recording the requests whose connection broke.

    When the connection breaks while a request is handled, Werkzeug's
    ``run_wsgi`` catches the ``ConnectionError`` and logs no traceback; if no
    response had been started, it logs no access line either, even when the app
    had already failed.  A browser that resets the connection as its tab closes
    can do that to a WebSocket.  The lab keeps such requests in
    :attr:`LabServer.dropped` so that a missing log line can be told from a
    request that never came.
    """

    def make_environ(self) -> dict[str, Any]:
        """Werkzeug's environ, with a ``wsgi.errors`` that records the tracebacks written to it.

        Werkzeug's debugger writes the traceback of an exception it turned into
        its 500 page to ``wsgi.errors`` (the server's stderr), not to the log;
        the lab keeps the exception's name in :attr:`LabServer.reported`.
        """
        environ = super().make_environ()
        environ["wsgi.errors"] = _ErrorStream(environ["wsgi.errors"], self.server, self.path)
        return environ

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """Record the dropped request, then let Werkzeug carry on as it would."""
        self.server.dropped.append(DroppedRequest(getattr(self, "command", "") or "",
                                                  getattr(self, "path", "") or "",
                                                  type(error).__name__))
        super().connection_dropped(error, environ)


class LabServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, counting requests still being handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, handler=LabRequestHandler, **kwargs)
        self.in_flight = 0
        self.handled = 0
        self.dropped: list[DroppedRequest] = []
        self.reported: list[ReportedError] = []
        self.threads: set[threading.Thread] = set()
        self._idle = threading.Condition()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self.in_flight += 1
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address), daemon=True,
                                  name=f"wslab-request-{client_address[1]}")
        self.threads.add(thread)
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._idle:
                self.in_flight -= 1
                self.handled += 1
                self.threads.discard(threading.current_thread())
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no request is being handled; False if *timeout* passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self.in_flight == 0, timeout)


class LabStack:
    """Redis + demo app + Werkzeug server, started on enter and fully stopped on exit."""

    def __init__(self, variant: Variant | str = "before", log_path: str | Path = "logs/webapp.log",
                 redis_url: str | None = None, port: int = 0, key_prefix: str | None = None,
                 page_transports: list[str] | None = None, allow_fake_redis: bool = True,
                 keep_keys: bool = False, debugger: bool = False) -> None:
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
        self.log_path = Path(log_path)
        self.redis_url = redis_url
        self.port = port
        self.key_prefix = key_prefix or f"wslab:{secrets.token_hex(4)}:session:"
        self.page_transports = page_transports
        self.allow_fake_redis = allow_fake_redis
        self.keep_keys = keep_keys
        self.debugger = debugger
        self.redis: RedisHandle | None = None
        self.demo: DemoApp | None = None
        self.server: LabServer | None = None
        self._thread: threading.Thread | None = None
        self._handler: logging.Handler | None = None
        self._saved_logger_state: dict[str, tuple[int, bool]] = {}
        self._stopping = threading.Event()

    # -- life cycle -------------------------------------------------------
    def start(self) -> LabStack:
        """Start Redis, the app and the server; on any failure undo what was started."""
        with _active_lock:
            earlier = list(_active)
        for stack in earlier:
            logger.warning("stopping an earlier lab stack still running at %s", stack.url)
            stack.stop()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        with _active_lock:
            _active.append(self)
        return self

    def _start(self) -> None:
        self.server = self._bind()
        if self.variant.session != "none" or self.redis_url:
            self.redis = open_redis(self.redis_url, allow_fake=self.allow_fake_redis)
        self.demo = create_app(self.variant, self.redis.client if self.redis else None,
                               key_prefix=self.key_prefix, page_transports=self.page_transports)
        self.server.app = self._served_app()
        self._make_sleep_interruptible()
        self._attach_log()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="wslab-server", daemon=True)
        self._thread.start()
        self._wait_ready()
        logger.info("lab stack %s at %s, %s", self.variant.name, self.url,
                    self.redis.description if self.redis else "no Redis")

    def _served_app(self) -> Any:
        """The WSGI app the server calls: the Flask app, or the debugger around it.

        With *debugger*, exactly what ``socketio.run(app, debug=True)`` serves in
        threading mode (the reloader aside): ``app.debug`` is set and Flask's
        ``app.run`` has ``run_simple`` wrap the Flask app in
        ``DebuggedApplication(app, evalex=True)``, outside the Socket.IO
        middleware and the guard.
        """
        if not self.debugger:
            return self.demo.app
        from werkzeug.debug import DebuggedApplication

        self.demo.app.debug = True
        return DebuggedApplication(self.demo.app, evalex=True)

    def _make_sleep_interruptible(self) -> None:
        """Let Engine.IO's background sleeps (25 s ping timers) end when the stack stops.

        In threading mode Engine.IO sleeps with :func:`time.sleep`; its per-socket
        ping threads would outlive the stack by up to ``ping_interval``.  The lab
        swaps in a sleep that returns early once :meth:`stop` is called; nothing
        else about Engine.IO changes.
        """
        eio = self.demo.socketio.server.eio
        if isinstance(getattr(eio, "_async", None), dict):
            eio._async = {**eio._async, "sleep": lambda seconds=0: self._stopping.wait(seconds)}

    def _bind(self) -> LabServer:
        """Bind the listening socket ourselves (one clear error if the port is taken)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                raise WslabError(f"port {self.port} on 127.0.0.1 is already in use") from None
            raise WslabError(f"cannot listen on 127.0.0.1:{self.port}: {exc.strerror}") from None
        try:
            return LabServer("127.0.0.1", self.port, _not_ready, fd=listener.fileno())
        finally:
            listener.close()  # the server holds its own duplicate of the socket

    def _attach_log(self) -> None:
        self._handler = file_handler(self.log_path)
        for name in LAB_LOGGERS:
            log = logging.getLogger(name)
            self._saved_logger_state[name] = (log.level, log.propagate)
            if log.level == logging.NOTSET or log.level > logging.INFO:
                log.setLevel(logging.INFO if name in ("werkzeug", "wslab") else logging.WARNING)
            log.propagate = False
            log.addHandler(self._handler)

    def _detach_log(self) -> None:
        if self._handler is None:
            return
        for name, (level, propagate) in self._saved_logger_state.items():
            log = logging.getLogger(name)
            log.removeHandler(self._handler)
            log.setLevel(level)
            log.propagate = propagate
        self._handler.close()
        self._handler = None
        self._saved_logger_state.clear()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise WslabError(f"the lab server at {self.url} did not answer within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """Close all connections, stop the server and Redis. Safe to call twice."""
        with _active_lock:
            if self in _active:
                _active.remove(self)
        self._stopping.set()
        if self.demo is not None:
            self._close_engineio_sockets()
        if self.server is not None:
            deadline = time.monotonic() + timeout
            if self._thread is not None:
                self.server.shutdown()
                self._thread.join(timeout)
            self.server.wait_idle(max(0.0, deadline - time.monotonic()))
            for thread in list(self.server.threads):
                thread.join(max(0.0, deadline - time.monotonic()))
            self.server.server_close()
        if self.demo is not None:
            try:
                self.demo.socketio.server.shutdown()
            except Exception:  # noqa: BLE001
                pass
        self._detach_log()
        if self.redis is not None:
            if self.redis.kind == "url" and not self.keep_keys:
                self._delete_own_keys()
            self.redis.close()
        self.server, self._thread, self.demo, self.redis = None, None, None, None

    def _close_engineio_sockets(self) -> None:
        """Close every Engine.IO connection without waiting for clients that already left."""
        eio = self.demo.socketio.server.eio
        for sock in list(getattr(eio, "sockets", {}).values()):
            try:
                sock.close(wait=False, abort=True)
            except Exception:  # noqa: BLE001 - best effort while stopping
                pass

    def __enter__(self) -> LabStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use --------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:43121``."""
        if self.server is None:
            return "(stopped)"
        return f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every request, WebSocket sessions included, has ended and been logged."""
        if self.server is None:
            raise WslabError("the lab stack is not running")
        if not self.server.wait_idle(timeout):
            raise WslabError(f"{self.server.in_flight} request(s) still open after {timeout:.0f} s")

    def mark_phase(self, name: str) -> None:
        """Write a ``phase: <name>`` marker line to the log (the analysis splits on it)."""
        logging.getLogger("wslab").info("phase: %s", name)

    def apply(self, *, session: str | None = None, config: str | None = None,
              guard: bool | None = None) -> None:
        """Change the running app in place: session interface, Socket.IO config, guard.

        *session* is ``"legacy"`` or ``"fixed"``; *config* ``"pre-fix"`` or
        ``"fixed"`` (the only runtime effect of the write-up's config is
        ``manage_session=False``; ``cookie=None`` and ``json=None`` are the
        defaults already); *guard* adds or removes the WebSocket guard.
        """
        if self.demo is None:
            raise WslabError("the lab stack is not running")
        app = self.demo.app
        if session is not None:
            if self.redis is None:
                raise WslabError("this stack has no Redis for a session interface")
            app.session_interface = session_interface(session, self.redis.client, self.key_prefix)
        if config is not None:
            self.demo.socketio.manage_session = config != "fixed"
        if guard is True and self.demo.guard is None:
            self.demo.guard = WebSocketGuard(app.wsgi_app)
            app.wsgi_app = self.demo.guard
        elif guard is False and self.demo.guard is not None:
            app.wsgi_app = self.demo.guard.app
            self.demo.guard = None

    def _delete_own_keys(self) -> None:
        try:
            keys = list(self.redis.client.scan_iter(match=self.key_prefix + "*", count=1000))
            if keys:
                self.redis.client.delete(*keys)
        except Exception:  # noqa: BLE001 - Redis may be the thing that failed
            pass

    def own_keys(self) -> list[str]:
        """The Redis keys this stack's sessions wrote."""
        if self.redis is None:
            return []
        return sorted(k.decode() if isinstance(k, bytes) else k
                      for k in self.redis.client.scan_iter(match=self.key_prefix + "*", count=1000))


def _not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]

