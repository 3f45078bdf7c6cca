"""Integration tests: the demo app under a real gunicorn gthread worker, run as a child process.

Each test reads gunicorn's raw access and error logs with its own regular
expressions, so nothing here trusts the kit's log parser.  What they pin is
what was measured on gunicorn 27.0.1, alike on the incident pins
(python-engineio 4.12.2) and the current ones (4.15.1): python-engineio ends a
WebSocket by raising ``StopIteration``, gunicorn's gthread worker takes that as
a closed connection, and the WebSocket request leaves no access line, no 500
and no traceback.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import socketio

from wslab.errors import WslabError
from wslab.lab import pids
from wslab.lab.servers.gunicorn import GunicornServer
from wslab.lab.traffic import Workload, run_workload

#: One line of gunicorn's default access log format:
#: ``%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"``.
ACCESS = re.compile(rb'^\S+ \S+ \S+ \[[^\]]+\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/\d\.\d" '
                    rb'(?P<status>\d{3}) ')
#: engineio's writer thread, after gunicorn closed the WebSocket's socket: a background thread's
#: traceback printed to stderr, not a request error.
WRITER_THREAD_EBADF = re.compile(
    rb"Exception in thread [^\n]*\(writer\):\nTraceback \(most recent call last\):\n(?:(?:  .*|\[.*)\n)*?"
    rb"OSError: \[Errno 9\] Bad file descriptor\n")
#: gunicorn's default ``pre_request`` hook logs every request it starts, at debug level.
DEBUG_SOCKETIO_REQUEST = re.compile(rb"\[DEBUG\] GET /socket\.io/$", re.M)
#: Paths the kit itself asks for (readiness and in-flight probes), not the workload.
LAB_PATHS = ("/healthz", "/_wslab/")


def access_lines(path: Path) -> list[dict]:
    """Every line of a gunicorn access log; a line that does not parse fails the test."""
    rows = []
    for line in path.read_bytes().splitlines():
        match = ACCESS.match(line)
        assert match is not None, f"not an access line: {line!r}"
        rows.append({"method": match["method"].decode(), "target": match["target"].decode(),
                     "status": int(match["status"])})
    return rows


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private pid-record folder, so the test sees exactly the records it caused."""
    folder = tmp_path / "run"
    monkeypatch.setenv("WSLAB_RUN_DIR", str(folder))
    return folder


@pytest.fixture(params=["fakeredis", pytest.param("realredis", marks=pytest.mark.realredis)])
def redis_url(request: pytest.FixtureRequest) -> str:
    """Each workload test runs once on fakeredis in the worker and once on a real Redis server."""
    if request.param == "fakeredis":
        return "fakeredis"
    return request.getfixturevalue("real_redis_handle").url


@pytest.mark.parametrize("variant", ["before", "guard"])
def test_websockets_end_without_500_or_access_line(tmp_path, run_dir, variant, redis_url, key_prefix,
                                                   request, no_leaks):
    ws_users, upgrade_users, http_users = 3, 2, 2
    websockets = ws_users + upgrade_users
    with GunicornServer(variant, log_dir=tmp_path / "logs", redis_url=redis_url, key_prefix=key_prefix,
                        log_level="debug") as server:
        report = run_workload(server.url, Workload(ws_users=ws_users, upgrade_users=upgrade_users,
                                                   http_users=http_users))
        counts = server.wait_idle(30)
        if redis_url != "fakeredis":
            real = request.getfixturevalue("real_redis_handle").client
            assert list(real.scan_iter(match=key_prefix + "*")), "the legacy interface stores sessions"
    if redis_url != "fakeredis":
        assert list(real.scan_iter(match=key_prefix + "*")) == []

    # every client connected, and its welcome named the signed-in user
    assert report.errors() == []
    socketio_users = [u for u in report.users if u.kind != "http"]
    assert len(socketio_users) == websockets
    assert [u.user for u in socketio_users if not u.socketio_connected] == []
    assert [u.user for u in socketio_users if u.seen_by_connect_handler != u.user] == []

    lines = [r for r in access_lines(server.access_log) if not r["target"].startswith(LAB_PATHS)]
    plain = [r for r in lines if not r["target"].startswith("/socket.io/")]
    engineio = [r for r in lines if r["target"].startswith("/socket.io/")]
    # every HTTP request the clients sent has exactly one access line, with the status they saw
    sent = {int(status): n for status, n in report.totals()["http_statuses"].items()}
    assert Counter(r["status"] for r in plain) == sent
    assert sum(sent.values()) == report.totals()["http_requests"] > 0
    # the WebSocket requests leave no access line at all; only the upgraders' polling requests do
    assert [r for r in engineio if "transport=websocket" in r["target"]] == []
    assert len(engineio) >= upgrade_users
    assert {r["status"] for r in engineio} == {200}
    assert [r for r in lines if r["status"] >= 500] == []

    errors = server.error_log.read_bytes()
    # gunicorn did receive each WebSocket request: its debug line is there, its access line is not
    assert len(DEBUG_SOCKETIO_REQUEST.findall(errors)) == len(engineio) + websockets
    # The only tracebacks allowed: engineio's writer thread closing a socket gunicorn already
    # closed (seen now and then under load); never a request's error.
    assert errors.count(b"Traceback") == len(WRITER_THREAD_EBADF.findall(errors))
    assert b"write() before start_response" not in errors
    assert b"[ERROR]" not in errors
    # how each request left the app, as the lab's outermost WSGI wrapper saw it: every WebSocket
    # by StopIteration, every other request by returning
    assert counts.in_flight == 0
    assert counts.server_side == {"raised: StopIteration": websockets}
    # every request that returned left one access line; the in-flight probes are not counted
    answered = [r for r in access_lines(server.access_log) if not r["target"].startswith("/_wslab/")]
    assert counts.handled == len(answered) + websockets


def test_start_and_stop_leave_nothing_running(tmp_path, run_dir, no_leaks):
    server = GunicornServer("no-session", log_dir=tmp_path / "logs").start()
    try:
        master, workers = server.pid, server.worker_pids
        assert len(workers) == 1
        assert {p.pid for p in pids.records(run_dir) if pids.is_running(p)} == {master, *workers}
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert server.pids == [master, *workers]
        assert server.logs == [tmp_path / "logs" / "gunicorn-access.log", tmp_path / "logs" / "gunicorn-error.log"]
    finally:
        server.stop()
    assert [pid for pid in (master, *workers) if pids.start_time(pid) is not None] == []
    assert list(run_dir.glob("*.json")) == []
    assert server.url == "(stopped)" and server.pid is None and server.pids == []
    server.stop()  # a second stop does nothing


def test_stop_with_a_websocket_still_open(tmp_path, run_dir, no_leaks):
    client = socketio.Client(reconnection=False)
    with GunicornServer("no-session", log_dir=tmp_path / "logs", graceful_timeout=1) as server:
        master, workers = server.pid, server.worker_pids
        client.connect(server.url, transports=["websocket"], wait_timeout=10)
        assert server.counts().in_flight == 1
    client.disconnect()
    assert [pid for pid in (master, *workers) if pids.start_time(pid) is not None] == []
    assert list(run_dir.glob("*.json")) == []


def test_a_failed_start_stops_the_child(tmp_path, run_dir, monkeypatch, no_leaks):
    started: list[int] = []

    def fail(self, deadline):
        started.append(self.pid)
        raise WslabError("simulated: not healthy")

    monkeypatch.setattr(GunicornServer, "_wait_healthy", fail)
    server = GunicornServer("no-session", log_dir=tmp_path / "logs")
    with pytest.raises(WslabError, match="simulated"):
        server.start()
    assert len(started) == 1 and pids.start_time(started[0]) is None
    assert list(run_dir.glob("*.json")) == []
    assert server.pid is None


def test_port_in_use_is_one_clear_error(tmp_path, run_dir, no_leaks):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(WslabError) as caught:
            GunicornServer("before", log_dir=tmp_path / "logs", port=port).start()
    assert str(caught.value) == f"port {port} on 127.0.0.1 is already in use"
    assert list(run_dir.glob("*.json")) == []


def test_a_port_given_is_the_port_used(tmp_path, run_dir, no_leaks):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with GunicornServer("no-session", log_dir=tmp_path / "logs", name="cell-1", port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}"
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["cell-1-access.log", "cell-1-error.log"]


def test_gunicorn_missing_is_one_clear_error(tmp_path, run_dir):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    with pytest.raises(WslabError) as caught:
        GunicornServer("before", log_dir=tmp_path / "logs", python=python).start()
    assert str(caught.value) == (f"gunicorn is not installed for {python} "
                                 f"(install it with: {python} -m pip install gunicorn)")
    assert list(run_dir.glob("*.json")) == []


def test_missing_interpreter_is_one_clear_error(tmp_path, run_dir):
    python = tmp_path / "no-such-python"
    with pytest.raises(WslabError) as caught:
        GunicornServer("before", log_dir=tmp_path / "logs", python=python).start()
    assert str(caught.value) == f"no Python interpreter at {python}"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"variant": "nope"}, "unknown variant 'nope'"),
    ({"threads": 0}, "threads must be a whole number of at least 1, not 0"),
    ({"port": 70000}, "port must be 0 (any free port) or 1-65535, not 70000"),
    ({"log_level": "loud"}, "unknown gunicorn log level 'loud'"),
    ({"name": "../elsewhere"}, "the log name must be a plain file name, not '../elsewhere'"),
])
def test_bad_input_is_one_clear_error(tmp_path, kwargs, message):
    with pytest.raises(WslabError) as caught:
        GunicornServer(log_dir=tmp_path, **kwargs)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_unreachable_redis_is_one_clear_error(tmp_path, run_dir):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WslabError, match="unreachable"):
        GunicornServer("before", log_dir=tmp_path / "logs", redis_url=f"redis://127.0.0.1:{port}/0").start()
    assert list(run_dir.glob("*.json")) == []
