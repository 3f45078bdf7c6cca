"""The lab stack: Redis, the demo app and a server, started and stopped as one.

:class:`LabStack` is a context manager::

    with LabStack("before", log_path="logs/webapp.log") as stack:
        print(stack.url, stack.redis.description)
        ...                       # drive traffic at stack.url
        stack.wait_idle()         # every connection has ended and been logged

The server is one of :mod:`wslab.lab.servers`, by name; the default is
Werkzeug's threaded dev server in this process (``werkzeug``, or
``werkzeug-debug`` with ``debugger=True``: the app inside Werkzeug's debugger,
as ``socketio.run(app, debug=True)`` serves it).  It listens on an ephemeral
127.0.0.1 port unless you give one, and writes its log to *log_path* (a
server with several logs names them after it).  A server that calls the app
in this process gets it from the stack, built on the stack's Redis; one that
runs it in a child process builds it there (with *redis_url*, or fakeredis
inside the child), and the stack then has no :attr:`LabStack.demo` or
:attr:`LabStack.redis` of its own.

Only one stack runs per process, because they would share Werkzeug's logger:
starting a stack stops any earlier one that is still running (a notebook cell
run twice replaces its stack instead of leaking it).  On exit, also after an
exception, it closes every Socket.IO connection, stops the server and its
threads, stops a Redis child process and removes its log handler.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from wslab.app.demo import DemoApp, create_app, session_interface
from wslab.app.guard import WebSocketGuard
from wslab.app.variants import Variant, get_variant
from wslab.errors import WslabError
from wslab.lab.redis_backend import RedisHandle, open_redis
from wslab.lab.servers import AppSpec, IdleReport, Server, factory
from wslab.lab.servers.base import fresh_key_prefix
from wslab.lab.servers.werkzeug import DroppedRequest, LabRequestHandler, LabServer, ReportedError

__all__ = ["DroppedRequest", "LabRequestHandler", "LabServer", "LabStack", "ReportedError"]

logger = logging.getLogger("wslab")

_active: list[LabStack] = []
_active_lock = threading.Lock()


class LabStack:
    """Redis + demo app + a server, started on enter and fully stopped on exit.

    *server* is a name from :data:`wslab.lab.servers.REGISTRY`; ``None`` picks
    ``werkzeug``, or ``werkzeug-debug`` with *debugger*.
    """

    def __init__(self, variant: Variant | str = "before", log_path: str | Path = "logs/webapp.log",
                 redis_url: str | None = None, port: int = 0, key_prefix: str | None = None,
                 page_transports: list[str] | None = None, allow_fake_redis: bool = True,
                 keep_keys: bool = False, debugger: bool = False, server: str | None = None) -> None:
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
        self.log_path = Path(log_path)
        self.redis_url = redis_url
        self.port = port
        self.key_prefix = key_prefix or fresh_key_prefix()
        self.page_transports = page_transports
        self.allow_fake_redis = allow_fake_redis
        self.keep_keys = keep_keys
        self.server_name = server or ("werkzeug-debug" if debugger else "werkzeug")
        if debugger and self.server_name != "werkzeug-debug":
            raise WslabError(f"the debugger is Werkzeug's: it cannot run on {self.server_name}")
        self.debugger = self.server_name == "werkzeug-debug"
        self._factory = factory(self.server_name)
        self.redis: RedisHandle | None = None
        self.demo: DemoApp | None = None
        self.server: Server | None = None
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
        app = AppSpec(self.variant, self.redis_url, self.key_prefix, self.page_transports, builder=self._build)
        self.server = self._factory(app, self.log_path, port=self.port)
        self.server.start()
        logger.info("lab stack %s at %s, %s", self.variant.name, self.url,
                    self.redis.description if self.redis else "no Redis")

    def _build(self, app: AppSpec) -> DemoApp:
        """The app for a server that calls it in this process, on the stack's own Redis."""
        if self.variant.session != "none" or self.redis_url:
            self.redis = open_redis(self.redis_url, allow_fake=self.allow_fake_redis)
        self.demo = create_app(self.variant, self.redis.client if self.redis else None,
                               key_prefix=app.key_prefix, page_transports=self.page_transports)
        self._make_sleep_interruptible()
        return self.demo

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

    def stop(self, timeout: float = 15.0) -> None:
        """Close all connections, stop the server and Redis. Safe to call twice."""
        with _active_lock:
            if self in _active:
                _active.remove(self)
        self._stopping.set()
        if self.demo is not None:
            self._close_engineio_sockets()
        if self.server is not None:
            self.server.stop(timeout)
        if self.demo is not None:
            try:
                self.demo.socketio.server.shutdown()
            except Exception:  # noqa: BLE001
                pass
        if self.redis is not None:
            if self.redis.kind == "url" and not self.keep_keys:
                self._delete_own_keys()
            self.redis.close()
        self.server, self.demo, self.redis = None, None, None

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
        return self.server.url

    def wait_idle(self, timeout: float = 30.0) -> IdleReport:
        """Wait until every request, WebSocket sessions included, has ended and been logged.

        Returns what the server counted (see :class:`wslab.lab.servers.IdleReport`).
        """
        if self.server is None:
            raise WslabError("the lab stack is not running")
        return self.server.wait_idle(timeout)

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
