"""Werkzeug's threaded dev server in this process, with its debugger on or off.

:class:`WerkzeugServer` serves the app with
:class:`werkzeug.serving.ThreadedWSGIServer`, the class ``socketio.run(app)``
and ``app.run()`` use in threading mode, so requests go through the very
``WSGIRequestHandler.run_wsgi`` that logged the incident.  With
``debugger=True`` it serves the app inside Werkzeug's debugger, as
``socketio.run(app, debug=True)`` does.  Records of the ``werkzeug``,
``wslab``, ``engineio.server`` and ``socketio.server`` loggers go to its log
file in the incident's format (see :mod:`wslab.lab.logformat`) while it runs.

:class:`LabServer` is the server class itself, counting the requests still
being handled and recording what the log may not show: requests whose
connection broke (:class:`DroppedRequest`) and tracebacks written to
``wsgi.errors`` (:class:`ReportedError`).
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from wslab.app.demo import DemoApp
from wslab.errors import WslabError
from wslab.lab.logformat import LAB_LOGGERS, file_handler
from wslab.lab.servers.base import AppSpec, IdleReport, Server
from wslab.waiting import WaitTimeout, wait_until


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

    def server_side(self) -> dict[str, int]:
        """``dropped: <error>`` and ``reported: <exception>`` counts, sorted (see :class:`IdleReport`)."""
        seen = Counter(f"dropped: {d.error}" for d in self.dropped)
        seen.update(f"reported: {e.exception}" for e in self.reported)
        return dict(sorted(seen.items()))


class WerkzeugServer(Server):
    """The app built in this process, served by :class:`LabServer` threads; its log is one file.

    :param app: the app to serve (built with :meth:`AppSpec.build` on start).
    :param log_path: the log file the lab's loggers append to while it runs.
    :param port: the 127.0.0.1 port, 0 for an ephemeral one.
    :param debugger: serve the app inside Werkzeug's debugger.
    """

    def __init__(self, app: AppSpec, log_path: str | Path, *, port: int = 0, debugger: bool = False) -> None:
        self.app = app
        self.log_path = Path(log_path)
        self.port = port
        self.debugger = debugger
        self.server: LabServer | None = None
        self._thread: threading.Thread | None = None
        self._handler: logging.Handler | None = None
        self._saved_logger_state: dict[str, tuple[int, bool]] = {}

    # -- life cycle -------------------------------------------------------
    def start(self) -> WerkzeugServer:
        """Bind, build the app, attach the log, serve; on any failure undo what was started."""
        try:
            self.server = self._bind()
            self.server.app = self._served_app(self.app.build())
            self._attach_log()
            self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="wslab-server", daemon=True)
            self._thread.start()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

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

    def _served_app(self, demo: DemoApp) -> Any:
        """The WSGI app the server calls: the Flask app, or the debugger around it.

        With *debugger*, exactly what ``socketio.run(app, debug=True)`` serves in
        threading mode (the reloader aside): ``app.debug`` is set and Flask's
        ``app.run`` has ``run_simple`` wrap the Flask app in
        ``DebuggedApplication(app, evalex=True)``, outside the Socket.IO
        middleware and the guard.
        """
        if not self.debugger:
            return demo.app
        from werkzeug.debug import DebuggedApplication

        demo.app.debug = True
        return DebuggedApplication(demo.app, evalex=True)

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
        def answers() -> bool:
            try:
                return requests.get(self.url + "/healthz", timeout=2).ok
            except requests.RequestException:
                return False

        try:
            wait_until(answers, timeout)
        except WaitTimeout:
            raise WslabError(f"the lab server at {self.url} did not answer within {timeout:.0f} s") from None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving, wait for the request threads (up to *timeout* s), detach the log."""
        if self.server is not None:
            deadline = time.monotonic() + timeout
            if self._thread is not None:
                self.server.shutdown()
                self._thread.join(timeout)
            self.server.wait_idle(max(0.0, deadline - time.monotonic()))
            for thread in list(self.server.threads):
                thread.join(max(0.0, deadline - time.monotonic()))
            self.server.server_close()
        self._detach_log()
        self.server, self._thread = None, None

    # -- use --------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:43121``."""
        if self.server is None:
            return "(stopped)"
        return f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"

    @property
    def logs(self) -> list[Path]:
        """The one log file."""
        return [self.log_path]

    @property
    def in_flight(self) -> int:
        """Requests being handled now."""
        return self._running().in_flight

    @property
    def handled(self) -> int:
        """Requests handled since the server started."""
        return self._running().handled

    @property
    def dropped(self) -> list[DroppedRequest]:
        """Requests whose connection broke while they were handled."""
        return self._running().dropped

    @property
    def reported(self) -> list[ReportedError]:
        """Tracebacks written to ``wsgi.errors``."""
        return self._running().reported

    def wait_idle(self, timeout: float = 30.0) -> IdleReport:
        """Wait until every request, WebSocket sessions included, has ended and been logged."""
        server = self._running()
        if not server.wait_idle(timeout):
            raise WslabError(f"{server.in_flight} request(s) still open after {timeout:.0f} s")
        return IdleReport(server.in_flight, server.handled, server.server_side())

    def _running(self) -> LabServer:
        if self.server is None:
            raise WslabError("the lab server is not running")
        return self.server


def _not_ready(environ: dict, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]
