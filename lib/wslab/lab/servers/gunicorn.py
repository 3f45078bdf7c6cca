"""The demo app under a real gunicorn gthread worker, as a child process the kit starts and stops.

:class:`GunicornServer` serves the deployment the Flask-SocketIO docs
recommend (one gthread worker, many threads, simple-websocket)::

    with GunicornServer("before", log_dir="logs/gunicorn") as server:
        print(server.url, server.pid)
        ...                       # drive traffic at server.url
        server.wait_idle()        # every request, WebSocket sessions included, has ended
    print(server.error_log.read_text())

It runs::

    <python> -m gunicorn -k gthread -w 1 --threads N -b 127.0.0.1:PORT
        --access-logfile A --error-logfile E 'wslab.lab.servers.child_app:make_application()'

with the interpreter given (default :data:`sys.executable`, so another
virtualenv's pins can be served), on an ephemeral 127.0.0.1 port unless you
give one; the port actually bound is read from gunicorn's ``Listening at:``
line.  The app is built in the worker from the environment (see
:mod:`wslab.lab.servers.child_app`).  Everything the child prints, and its
workers' stdout and stderr (``--capture-output``), goes to the error log.
The child runs in the log folder with ``GUNICORN_CMD_ARGS`` removed, so a
``gunicorn.conf.py`` or setting elsewhere cannot change what is measured, and
without gunicorn's control socket (a fixed path shared by every gunicorn).

The master's pid and its workers' are recorded with :mod:`wslab.lab.pids`, so
``make reset`` can stop them; :meth:`GunicornServer.stop` sends SIGTERM to the
master, waits, sends SIGKILL only as a last resort, and forgets them.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import redis
import requests

from wslab.app.variants import Variant
from wslab.errors import WslabError
from wslab.lab import pids as pid_records
from wslab.lab.redis_backend import connect_url
from wslab.lab.servers.base import AppSpec, IdleReport, Server, fresh_key_prefix, named_after
from wslab.lab.servers.child_app import ENTRY_POINT, INFLIGHT_PATH, RETURNED
from wslab.waiting import WaitTimeout, wait_until

#: gunicorn's ``--log-level`` choices.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

#: The folder holding the ``wslab`` package, put on the child's ``PYTHONPATH``.
_LIB_DIR = Path(__file__).resolve().parents[3]
_LISTENING = re.compile(rb"\[INFO\] Listening at: http://127\.0\.0\.1:(?P<port>\d+) \((?P<pid>\d+)\)")
_BOOTED = re.compile(rb"\[INFO\] Booting worker with pid: (?P<pid>\d+)")


class GunicornServer(Server):
    """gunicorn (gthread worker) serving one variant of the demo app, started on enter, stopped on exit.

    :param variant: the variant (or its name) the worker builds.
    :param log_dir: the folder for ``<name>-access.log`` and
        ``<name>-error.log``; gunicorn appends to them, as Werkzeug's log
        handler does in the in-process stack.
    :param name: what the two log files' names begin with, so that several
        servers can share one folder.
    :param python: the interpreter to run gunicorn with, default the current one.
    :param threads: the gthread worker's threads.  A WebSocket holds one for
        its whole session and a polling client that upgrades briefly holds
        two, so the default leaves room for 16 users at once.
    :param port: the 127.0.0.1 port, 0 for an ephemeral one.
    :param redis_url: a ``redis://`` URL, or ``None`` / ``"fakeredis"`` for an
        in-process fake inside the worker.
    :param key_prefix: the session keys' prefix, default a fresh random one.
    :param page_transports: the transports the client config names.
    :param log_level: gunicorn's ``--log-level``.
    :param graceful_timeout: seconds gunicorn lets requests (open WebSockets
        included) finish after SIGTERM.
    :param keep_keys: keep this server's session keys on a real Redis after stop.
    """

    def __init__(self, variant: Variant | str = "before", log_dir: str | Path = "logs/gunicorn", *,
                 name: str = "gunicorn", python: str | Path | None = None, threads: int = 32, port: int = 0,
                 redis_url: str | None = None, key_prefix: str | None = None,
                 page_transports: list[str] | None = None, log_level: str = "info",
                 graceful_timeout: int = 5, keep_keys: bool = False) -> None:
        self.app = AppSpec(variant, redis_url, key_prefix or fresh_key_prefix(), page_transports)
        if not isinstance(threads, int) or threads < 1:
            raise WslabError(f"threads must be a whole number of at least 1, not {threads!r}")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise WslabError(f"port must be 0 (any free port) or 1-65535, not {port!r}")
        if log_level not in LOG_LEVELS:
            raise WslabError(f"unknown gunicorn log level {log_level!r} "
                             f"(choose from {', '.join(LOG_LEVELS)})")
        if not isinstance(graceful_timeout, int) or graceful_timeout < 0:
            raise WslabError(f"graceful_timeout must be a whole number of seconds, not {graceful_timeout!r}")
        if not name or name != Path(name).name or name.startswith("."):
            raise WslabError(f"the log name must be a plain file name, not {name!r}")
        self.log_dir = Path(log_dir).resolve()
        self.name = name
        self.python = str(python or sys.executable)
        self.threads = threads
        self.requested_port = port
        self.log_level = log_level
        self.graceful_timeout = graceful_timeout
        self.keep_keys = keep_keys
        self.gunicorn_version: str | None = None
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self._redis: redis.Redis | None = None
        self._log_start = 0
        self._workers: list[pid_records.Started] = []

    @classmethod
    def serving(cls, app: AppSpec, log_path: Path, *, port: int = 0) -> GunicornServer:
        """The registry's factory: *app* in a gthread worker, its two logs named after *log_path*."""
        return cls(app.variant, log_dir=log_path.parent, name=log_path.stem, port=port,
                   redis_url=app.redis_url, key_prefix=app.key_prefix,
                   page_transports=list(app.page_transports) if app.page_transports is not None else None)

    @property
    def variant(self) -> Variant:
        """The variant the worker builds."""
        return self.app.variant

    @property
    def key_prefix(self) -> str:
        """The prefix of this server's session keys."""
        return self.app.key_prefix

    @property
    def access_log(self) -> Path:
        """gunicorn's access log: one line per response it wrote (a WebSocket that python-engineio
        ended by raising ``StopIteration`` gets none)."""
        return self.log_dir / f"{self.name}-access.log"

    @property
    def error_log(self) -> Path:
        """gunicorn's error log, with everything the master and its workers printed."""
        return self.log_dir / f"{self.name}-error.log"

    @property
    def logs(self) -> list[Path]:
        """The access log, then the error log."""
        return named_after(self.log_dir / self.name, "access", "error")

    @property
    def pid(self) -> int | None:
        """The gunicorn master's pid, ``None`` when stopped."""
        return self.process.pid if self.process is not None else None

    @property
    def worker_pids(self) -> list[int]:
        """The pids of the workers this server booted so far."""
        return [w.pid for w in self._workers]

    @property
    def pids(self) -> list[int]:
        """The master's pid and its workers', while running."""
        return [self.process.pid, *self.worker_pids] if self.process is not None else []

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:43121``."""
        if self.process is None or self.port is None:
            return "(stopped)"
        return f"http://127.0.0.1:{self.port}"

    # -- life cycle -------------------------------------------------------
    def start(self, timeout: float = 30.0) -> GunicornServer:
        """Start gunicorn and wait until the app answers ``/healthz``; on any failure undo it all.

        :raises WslabError: gunicorn is missing, the port is taken, Redis does
            not answer, or the server did not come up within *timeout* seconds.
        """
        if self.process is not None:
            raise WslabError(f"the gunicorn server is already running at {self.url}")
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        self.gunicorn_version = self._check_gunicorn()
        if self.requested_port:
            _check_port_free(self.requested_port)
        if self.app.redis_url:
            self._redis = connect_url(self.app.redis_url)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log_start = self.error_log.stat().st_size if self.error_log.exists() else 0
        with open(self.error_log, "ab") as console:
            self.process = subprocess.Popen(self.command(), cwd=self.log_dir, env=self._child_env(),
                                            stdin=subprocess.DEVNULL, stdout=console, stderr=console)
        pid_records.register(self.process.pid, f"gunicorn master ({self.variant.name})")
        deadline = time.monotonic() + timeout
        self.port = self._wait_for_port(deadline)
        self._wait_healthy(deadline)
        self._register_workers()

    def command(self) -> list[str]:
        """The command line the child runs (with the port asked for, 0 meaning any)."""
        return [self.python, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", str(self.threads),
                "-b", f"127.0.0.1:{self.requested_port}", "--access-logfile", str(self.access_log),
                "--error-logfile", str(self.error_log), "--log-level", self.log_level,
                "--capture-output", "--graceful-timeout", str(self.graceful_timeout),
                "--no-control-socket", ENTRY_POINT]

    def _child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_LIB_DIR), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        return {**env, **self.app.environ()}

    def _check_gunicorn(self) -> str:
        """gunicorn's version in :attr:`python`; one clear error if it is not there."""
        try:
            done = subprocess.run([self.python, "-c", "import gunicorn; print(gunicorn.__version__)"],
                                  capture_output=True, text=True, timeout=60, env=self._child_env())
        except FileNotFoundError:
            raise WslabError(f"no Python interpreter at {self.python}") from None
        except OSError as exc:
            raise WslabError(f"cannot run {self.python}: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise WslabError(f"{self.python} did not say within 60 s whether gunicorn is installed") from None
        if done.returncode != 0:
            raise WslabError(f"gunicorn is not installed for {self.python} "
                             f"(install it with: {self.python} -m pip install gunicorn)")
        return done.stdout.strip()

    def _new_log(self) -> bytes:
        """What the error log gained since this server started."""
        try:
            with open(self.error_log, "rb") as log:
                log.seek(self._log_start)
                return log.read()
        except OSError:
            return b""

    def _raise_if_exited(self) -> None:
        """Raise an error describing the child's exit, if it has exited."""
        code = self.process.poll()
        if code is None:
            return
        lines = [line for line in self._new_log().decode(errors="replace").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "(nothing in its error log)"
        raise WslabError(f"gunicorn exited with code {code} before it was ready: {last}")

    def _wait_for_port(self, deadline: float) -> int:
        """The port from gunicorn's ``Listening at:`` line (the one naming our child's pid)."""
        def listening() -> int | None:
            for match in _LISTENING.finditer(self._new_log()):
                if int(match["pid"]) == self.process.pid:
                    return int(match["port"])
            self._raise_if_exited()
            return None

        try:
            return wait_until(listening, max(0.0, deadline - time.monotonic()))
        except WaitTimeout:
            raise WslabError(f"gunicorn did not start listening; see {self.error_log}") from None

    def _wait_healthy(self, deadline: float) -> None:
        """Wait until ``/healthz`` answers with this server's variant."""
        def healthy() -> bool:
            try:
                answer = requests.get(self.url + "/healthz", timeout=2)
                if answer.ok and answer.json().get("variant") == self.variant.name:
                    return True
            except (requests.RequestException, ValueError):
                pass
            self._raise_if_exited()
            return False

        try:
            wait_until(healthy, max(0.0, deadline - time.monotonic()))
        except WaitTimeout:
            raise WslabError(f"the gunicorn server at {self.url} did not answer; see {self.error_log}") from None

    def _register_workers(self) -> None:
        for match in _BOOTED.finditer(self._new_log()):
            pid = int(match["pid"])
            if _parent_of(pid) == self.process.pid and pid not in self.worker_pids:
                record = pid_records.register(pid, f"gunicorn worker ({self.variant.name})")
                if record is not None:
                    self._workers.append(record)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the master, wait up to *timeout* seconds, then SIGKILL; forget its pids.

        Safe to call twice.  Session keys on a real Redis are deleted unless
        *keep_keys* was given.
        """
        if self.process is not None:
            self._register_workers()  # a worker gunicorn replaced while running
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            pid_records.unregister(self.process.pid)
            self._stop_workers(timeout)
        if self._redis is not None:
            if not self.keep_keys:
                self._delete_own_keys()
            self._redis.close()
        self.process, self.port, self._redis = None, None, None

    def _stop_workers(self, timeout: float) -> None:
        """Wait for the workers to go with their master; SIGKILL any that outlived it."""
        try:
            wait_until(lambda: not any(pid_records.is_running(w) for w in self._workers), timeout)
        except WaitTimeout:
            pass
        for worker in self._workers:
            if pid_records.is_running(worker):
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            pid_records.unregister(worker.pid)
        self._workers = []

    def _delete_own_keys(self) -> None:
        try:
            keys = list(self._redis.scan_iter(match=self.key_prefix + "*", count=1000))
            if keys:
                self._redis.delete(*keys)
        except redis.RedisError:
            pass  # Redis may be the thing that failed

    # -- use --------------------------------------------------------------
    def counts(self, http: requests.Session | None = None) -> IdleReport:
        """The worker's request counts now (see :class:`~wslab.lab.servers.child_app.InFlightCounter`).

        ``server_side`` holds ``raised: <exception>`` for each exception class
        that left the app.
        """
        if self.process is None:
            raise WslabError("the gunicorn server is not running")
        try:
            counts = (http or requests).get(self.url + INFLIGHT_PATH, timeout=5).json()
        except (requests.RequestException, ValueError) as exc:
            raise WslabError(f"the gunicorn server at {self.url} stopped answering: "
                             f"{type(exc).__name__}") from None
        raised = {f"raised: {k}": v for k, v in sorted(counts["outcomes"].items()) if k != RETURNED}
        return IdleReport(counts["in_flight"], counts["handled"], raised)

    def wait_idle(self, timeout: float = 30.0) -> IdleReport:
        """Wait until no request, WebSocket sessions included, is inside the app; return the counts.

        gunicorn writes a request's access line before it closes the
        response, so every request that was answered has been logged by then.
        """
        last: list[IdleReport] = []
        with requests.Session() as http:
            def idle() -> IdleReport | None:
                last[:] = [self.counts(http)]
                return last[0] if last[0].in_flight == 0 else None

            try:
                return wait_until(idle, timeout)
            except WaitTimeout:
                raise WslabError(f"{last[0].in_flight} request(s) still open after {timeout:.0f} s") from None


def _check_port_free(port: int) -> None:
    """Raise one clear :class:`WslabError` if *port* on 127.0.0.1 cannot be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise WslabError(f"port {port} on 127.0.0.1 is already in use") from None
            raise WslabError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def _parent_of(pid: int) -> int | None:
    """The parent pid of *pid*, ``None`` if it is gone."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None
