"""Real logs for the log-parser tests: a Werkzeug server under several logging setups.

Run as a script, it serves a Flask + Flask-SocketIO app on 127.0.0.1 with
Werkzeug's threaded server, logging in one of :data:`FORMATS`, and prints its port.
:func:`produce_log` starts it, drives it with real clients, counts on the client
side what was sent, and waits (with a deadline, never a fixed sleep) until the
server has logged all of it, counted with :data:`REQUEST_STATUS`, a regex of the
tests' own that does not use the parser.

Run as ``conftest_logs.py tracebacks OUT.log``, it raises chained exceptions and
exception groups for real and logs them as Werkzeug (``Error on request:`` with
Werkzeug's own traceback text) and Flask (``Exception on /path [GET]`` with
``exc_info``) do, in the incident's line format; :func:`produce_traceback_log`
runs that in a subprocess. :data:`TRACEBACK_ROUTES` lists what it raises.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

FORMATS = ("iso", "basic", "thread", "bare")
GARBAGE = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", b"\xff\xfe\xfd\r\n\r\n"]
#: Generous: the machines running these tests are often busy with other test runs.
DEADLINE = 60.0

#: The status of a Werkzeug request line: ``[dd/Mon/yyyy hh:mm:ss] "<anything>" <status> <size>``.
#: Written for the tests, independently of :mod:`wslab.logs`.
REQUEST_STATUS = re.compile(rb'\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] ".*" (\d{3}) (?:\d+|-)(?=\s|$)', re.M)
BAD_SYNTAX = b"code 400, message Bad request syntax ("
WRITE_ERROR_LINE = re.compile(rb"^AssertionError: write\(\) before start_response", re.M)


def raw_statuses(data: bytes) -> Counter:
    """Request lines per status code in raw log bytes (the parser is not used)."""
    return Counter(status.decode() for status in REQUEST_STATUS.findall(data))


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
    else:
        # "bare": no configuration; Werkzeug and Flask write to stderr, which the caller
        # redirects. Engine.IO would add a bare stderr handler of its own for its errors
        # (a poll reaching a closed session, a timing matter); those lines are not what
        # this format is about, so its logger gets a level, which keeps that handler out.
        logging.getLogger("engineio.server").setLevel(logging.CRITICAL)


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


def _counting_session(*counters: Counter, sent: Counter | None = None) -> object:
    """A ``requests`` session adding each response's status to *counters* (and each request
    it starts to *sent*, under ``sent``)."""
    import requests

    class CountingSession(requests.Session):
        def request(self, *args: object, **kwargs: object) -> object:
            if sent is not None:
                sent.update(["sent"])
            return super().request(*args, **kwargs)

    def count(response: object, *args: object, **kwargs: object) -> None:
        for counter in counters:
            counter.update([str(response.status_code)])

    session = CountingSession()
    session.hooks["response"].append(count)
    return session


def wait_until(done: Callable[[], bool], what: Callable[[], str], timeout: float = DEADLINE) -> None:
    """Poll *done* until it is true; past *timeout* seconds raise with *what* explains."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout:.0f} s: {what()}")
        time.sleep(0.05)


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
        polled: Counter = Counter()
        client.eio.http = _counting_session(seen, polled, sent=polled)

        def answered() -> int:
            return polled.total() - polled["sent"]

        client.connect(url, transports=["polling"], wait_timeout=10)
        # Handshake, namespace connect (POST with the sid) and the poll that acknowledged
        # it are answered, and the next long poll has been sent. (On a busy machine that
        # poll may still reach the server after the disconnect: it is then answered 400,
        # which the session counts like any other response.)
        wait_until(
            lambda: client.connected and answered() >= 3 and polled["sent"] > answered(),
            lambda: f"polling client connected={client.connected}, requests={dict(polled)}",
        )
        client.disconnect()
    for payload in GARBAGE:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(payload)
            raw.recv(4096)
        seen.update(["400", "garbage"])
    return seen


def logged_counts(path: Path) -> Counter:
    """What *path* holds so far, counted on the raw bytes: request lines per status,
    ``garbage`` (Bad request syntax records) and ``websocket`` (write() tracebacks)."""
    data = path.read_bytes() if path.exists() else b""
    counts = raw_statuses(data)
    counts["garbage"] = data.count(BAD_SYNTAX)
    counts["websocket"] = len(WRITE_ERROR_LINE.findall(data))
    return counts


def wait_for_log(path: Path, seen: Counter, timeout: float = DEADLINE) -> None:
    """Poll *path* until it holds at least what the clients saw (every status count, the
    garbage lines and one write() traceback per WebSocket connection), or time out."""
    wanted = {key: n for key, n in seen.items() if key.isdigit() or key in ("garbage", "websocket")}

    def done() -> bool:
        got = logged_counts(path)
        return all(got[key] >= n for key, n in wanted.items())

    wait_until(done, lambda: f"{path} holds {dict(logged_counts(path))}, clients saw {wanted}", timeout)


def _read_port(proc: subprocess.Popen, timeout: float = DEADLINE) -> int:
    """The port the server prints on its first stdout line, waiting at most *timeout* seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError(f"the log server printed no port in {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError(f"the log server did not start (exit code {proc.poll()}, said {line!r})")
    return int(line)


#: The records :func:`write_traceback_log` writes, in order: route, logging style, and
#: what is raised (earliest exception first; the last one names the traceback).
TRACEBACK_ROUTES = [
    ("/direct", "werkzeug", "KeyError, raise RuntimeError from it"),
    ("/during", "flask", "ValueError, KeyError while handling it"),
    ("/three", "werkzeug", "OSError, KeyError while handling it, RuntimeError from that"),
    ("/group", "werkzeug", "ExceptionGroup of ValueError and TypeError"),
    ("/nested-group", "flask", "ExceptionGroup holding a chained member and a group, LookupError from it"),
    ("/group-during", "werkzeug", "KeyError, ExceptionGroup of ZeroDivisionError while handling it"),
    ("/caret", "werkzeug", "ZeroDivisionError inside an expression (caret lines)"),
    ("/bare-cause", "flask", "RuntimeError from a KeyError that was never raised"),
    ("/write", "werkzeug", "AssertionError: write() before start_response"),
    ("/multiline", "flask", "KeyError, two-line ValueError while handling it"),
]


def _direct() -> None:
    try:
        {}["user"]
    except KeyError as exc:
        raise RuntimeError("lookup failed") from exc


def _during() -> None:
    try:
        int("not a number")
    except ValueError:
        {}["missing"]


def _three() -> None:
    try:
        try:
            open("/nonexistent/dir/file")  # noqa: SIM115
        except OSError:
            {}["config"]
    except KeyError as exc:
        raise RuntimeError("three deep") from exc


def _group() -> None:
    raise ExceptionGroup("several", [ValueError("a"), TypeError("b")])


def _chained_member() -> ValueError:
    try:
        try:
            raise OSError("disk")
        except OSError:
            raise ValueError("in group")  # noqa: B904
    except ValueError as exc:
        return exc


def _nested_group() -> None:
    try:
        raise ExceptionGroup("outer", [_chained_member(), ExceptionGroup("inner", [TypeError("t")])])
    except ExceptionGroup as group:
        raise LookupError("after group") from group


def _group_during() -> None:
    try:
        {}["session"]
    except KeyError:
        raise ExceptionGroup("while handling", [ZeroDivisionError("division by zero")])  # noqa: B904


def _caret(numerator: int = 1, denominator: int = 0) -> float:
    return 1 + numerator / denominator


def _bare_cause() -> None:
    raise RuntimeError("no stack cause") from KeyError("never raised")


def _write() -> None:
    status_set = None
    assert status_set is not None, "write() before start_response"


def _multiline() -> None:
    try:
        {}["field"]
    except KeyError:
        raise ValueError("bad input:\nline two")  # noqa: B904


_RAISERS = [
    _direct,
    _during,
    _three,
    _group,
    _nested_group,
    _group_during,
    _caret,
    _bare_cause,
    _write,
    _multiline,
]


def write_traceback_log(path: str) -> None:
    """Raise every :data:`TRACEBACK_ROUTES` exception and log it with its 500 request line."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "lib"))
    from werkzeug.debug.tbtools import DebugTraceback
    from wslab.lab.logformat import file_handler

    handler = file_handler(path)
    for name in ("werkzeug", "logsample"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    werkzeug, app = logging.getLogger("werkzeug"), logging.getLogger("logsample")

    def request(path: str, status: int) -> None:
        when = datetime.now().strftime("%d/%b/%Y %H:%M:%S")
        werkzeug.info('127.0.0.1 - - [%s] "GET %s HTTP/1.1" %s -', when, path, status)

    request("/", 200)
    for (route, style, _), raiser in zip(TRACEBACK_ROUTES, _RAISERS, strict=True):
        try:
            raiser()
        except BaseException as exc:  # noqa: BLE001 - logged like the servers log it
            if style == "werkzeug":
                request(route, 500)
                text = DebugTraceback(exc).render_traceback_text()
                werkzeug.error(f"Error on request:\n{text}".rstrip())
            else:
                app.error("Exception on %s [GET]", route, exc_info=exc)
                request(route, 500)
        request("/", 200)
    handler.close()


def produce_traceback_log(directory: Path) -> Path:
    """Run :func:`write_traceback_log` in a fresh interpreter; return the log path."""
    log = directory / "tracebacks.log"
    subprocess.run([sys.executable, __file__, "tracebacks", str(log)], check=True, timeout=60)
    return log


def produce_log(fmt: str, directory: Path, ws_clients: int = 2) -> tuple[Path, Counter]:
    """Run the server in *fmt*, drive it, and return the log path and the client-side counts."""
    log = directory / f"{fmt}.log"
    stderr = open(log, "wb") if fmt == "bare" else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, __file__, fmt, str(log)], stdout=subprocess.PIPE, stderr=stderr, env=env
    )
    try:
        seen = drive(_read_port(proc), ws_clients=ws_clients)
        wait_for_log(log, seen)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if stderr is not subprocess.DEVNULL:
            stderr.close()
    return log, seen


if __name__ == "__main__":
    if sys.argv[1] == "tracebacks":
        write_traceback_log(sys.argv[2])
    else:
        serve(sys.argv[1], sys.argv[2])
