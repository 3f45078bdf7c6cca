"""The demo app under a real gunicorn gthread worker, as a child process the kit starts and stops.

:class:`GunicornServer` is a context manager, the counterpart of
:class:`wslab.lab.stack.LabStack` for the deployment the Flask-SocketIO docs
recommend (one gthread worker, many threads, simple-websocket)::

    with GunicornServer("before", log_dir="logs/gunicorn") as server:
        print(server.url, server.pid)
        ...                       # drive traffic at server.url
        server.wait_idle()        # every request, WebSocket sessions included, has ended
    print(server.error_log.read_text())

It runs::

    <python> -m gunicorn -k gthread -w 1 --threads N -b 127.0.0.1:PORT
        --access-logfile A --error-logfile E 'wslab.lab.gunicorn_app:make_application()'

with the interpreter given (default :data:`sys.executable`, so another
virtualenv's pins can be served), on an ephemeral 127.0.0.1 port unless you
give one; the port actually bound is read from gunicorn's ``Listening at:``
line.  The app is configured through the environment (see
:mod:`wslab.lab.gunicorn_app`).  Everything the child prints, and its
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
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
import requests

from wslab.app.variants import Variant, get_variant
from wslab.errors import WslabError
from wslab.lab import pids
from wslab.lab.gunicorn_app import INFLIGHT_PATH
from wslab.lab.redis_backend import FAKE, connect_url

#: What gunicorn loads: the factory that builds the app from the environment.
ENTRY_POINT = "wslab.lab.gunicorn_app:make_application()"
#: gunicorn's ``--log-level`` choices.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

#: The folder holding the ``wslab`` package, put on the child's ``PYTHONPATH``.
_LIB_DIR = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(rb"\[INFO\] Listening at: http://127\.0\.0\.1:(?P<port>\d+) \((?P<pid>\d+)\)")
_BOOTED = re.compile(rb"\[INFO\] Booting worker with pid: (?P<pid>\d+)")


class GunicornServer:
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
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
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
        self.redis_url = None if redis_url in (None, FAKE) else redis_url
        self.key_prefix = key_prefix or f"wslab:{secrets.token_hex(4)}:session:"
        self.page_transports = page_transports
        self.log_level = log_level
        self.graceful_timeout = graceful_timeout
        self.keep_keys = keep_keys
        self.gunicorn_version: str | None = None
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self._redis: redis.Redis | None = None
        self._log_start = 0
        self._workers: list[pids.Started] = []

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
    def pid(self) -> int | None:
        """The gunicorn master's pid, ``None`` when stopped."""
        return self.process.pid if self.process is not None else None

    @property
    def worker_pids(self) -> list[int]:
        """The pids of the workers this server booted so far."""
        return [w.pid for w in self._workers]

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
        if self.redis_url:
            self._redis = connect_url(self.redis_url)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log_start = self.error_log.stat().st_size if self.error_log.exists() else 0
        with open(self.error_log, "ab") as console:
            self.process = subprocess.Popen(self.command(), cwd=self.log_dir, env=self._child_env(),
                                            stdin=subprocess.DEVNULL, stdout=console, stderr=console)
        pids.register(self.process.pid, f"gunicorn master ({self.variant.name})")
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
        env["WSLAB_VARIANT"] = self.variant.name
        env["WSLAB_REDIS_URL"] = self.redis_url or FAKE
        env["WSLAB_KEY_PREFIX"] = self.key_prefix
        env["WSLAB_PAGE_TRANSPORTS"] = ",".join(self.page_transports or [])
        return env

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

    def _exited(self) -> WslabError | None:
        """An error describing the child's exit, if it has exited."""
        code = self.process.poll()
        if code is None:
            return None
        lines = [line for line in self._new_log().decode(errors="replace").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "(nothing in its error log)"
        return WslabError(f"gunicorn exited with code {code} before it was ready: {last}")

    def _wait_for_port(self, deadline: float) -> int:
        """The port from gunicorn's ``Listening at:`` line (the one naming our child's pid)."""
        while True:
            for match in _LISTENING.finditer(self._new_log()):
                if int(match["pid"]) == self.process.pid:
                    return int(match["port"])
            if (error := self._exited()) is not None:
                raise error
            if time.monotonic() > deadline:
                raise WslabError(f"gunicorn did not start listening; see {self.error_log}")
            time.sleep(0.05)

    def _wait_healthy(self, deadline: float) -> None:
        """Wait until ``/healthz`` answers with this server's variant."""
        while True:
            try:
                answer = requests.get(self.url + "/healthz", timeout=2)
                if answer.ok and answer.json().get("variant") == self.variant.name:
                    return
            except (requests.RequestException, ValueError):
                pass
            if (error := self._exited()) is not None:
                raise error
            if time.monotonic() > deadline:
                raise WslabError(f"the gunicorn server at {self.url} did not answer; see {self.error_log}")
            time.sleep(0.05)

    def _register_workers(self) -> None:
        for match in _BOOTED.finditer(self._new_log()):
            pid = int(match["pid"])
            if _parent_of(pid) == self.process.pid and pid not in self.worker_pids:
                record = pids.register(pid, f"gunicorn worker ({self.variant.name})")
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
            pids.unregister(self.process.pid)
            self._stop_workers(timeout)
        if self._redis is not None:
            if not self.keep_keys:
                self._delete_own_keys()
            self._redis.close()
        self.process, self.port, self._redis = None, None, None

    def _stop_workers(self, timeout: float) -> None:
        """Wait for the workers to go with their master; SIGKILL any that outlived it."""
        deadline = time.monotonic() + timeout
        while any(pids.is_running(w) for w in self._workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        for worker in self._workers:
            if pids.is_running(worker):
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            pids.unregister(worker.pid)
        self._workers = []

    def _delete_own_keys(self) -> None:
        try:
            keys = list(self._redis.scan_iter(match=self.key_prefix + "*", count=1000))
            if keys:
                self._redis.delete(*keys)
        except redis.RedisError:
            pass  # Redis may be the thing that failed

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use --------------------------------------------------------------
    def inflight(self) -> dict[str, Any]:
        """The worker's request counts: ``in_flight``, ``handled`` and ``outcomes``.

        See :class:`wslab.lab.gunicorn_app.InFlightCounter`.
        """
        if self.process is None:
            raise WslabError("the gunicorn server is not running")
        return requests.get(self.url + INFLIGHT_PATH, timeout=5).json()

    def wait_idle(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until no request, WebSocket sessions included, is inside the app; return the counts.

        gunicorn writes a request's access line before it closes the
        response, so every request that was answered has been logged by then.
        """
        if self.process is None:
            raise WslabError("the gunicorn server is not running")
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            while True:
                try:
                    counts = http.get(self.url + INFLIGHT_PATH, timeout=5).json()
                except (requests.RequestException, ValueError) as exc:
                    raise WslabError(f"the gunicorn server at {self.url} stopped answering: "
                                     f"{type(exc).__name__}") from None
                if counts["in_flight"] == 0:
                    return counts
                if time.monotonic() > deadline:
                    raise WslabError(f"{counts['in_flight']} request(s) still open after {timeout:.0f} s")
                time.sleep(0.05)


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
    """The parent pid of *pid* (``/proc/PID/stat``, field 4), ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])
