"""``wslab verify`` against small Flask-SocketIO apps written without the kit (``verify_apps.py``).

Each app runs in a real server: a subprocess of this interpreter serving it with Werkzeug
(``socketio.run``, its log on stderr into a file), or a real ``gunicorn`` gthread worker with
its access and error logs in files. The log outcomes expected here come from
:mod:`logcheck`'s regular expressions over the raw bytes the log gained during the checks,
never from the kit's parser; the apps' behaviour (what ``echo`` acknowledges, where the
custom-path app serves Socket.IO) is pinned by hand from ``verify_apps.py``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from packaging.version import Version

import logcheck
from verify_apps import CUSTOM_PATH
from wslab.cli import main
from wslab.lab.redis_backend import free_port
from wslab.diagnose.verify import run_verify

APPS = Path(__file__).resolve().parent / "verify_apps.py"
DEADLINE = 30.0
#: python-engineio ends a WebSocket under Werkzeug by raising from here on (no request line, 400 noise)
ENGINEIO_RAISES = Version(importlib.metadata.version("python-engineio")) >= Version("4.13.4")
TOKEN = re.compile(rb"wslab-verify=[0-9a-f]+")
LISTENING = re.compile(rb"Listening at: http://127\.0\.0\.1:(\d+) ")
BOOTED = re.compile(rb"Booting worker with pid: (\d+)")
#: Werkzeug's record of a connection's left-over bytes read as a request ("Bad request syntax",
#: or "Bad HTTP/0.9 request type", both measured); its "None ... HTTP/0.9" 400 line follows it.
LEFTOVER = re.compile(rb"\] code 400, message Bad ")


@dataclass
class Served:
    """A running app: its base URL and the log files its server writes."""

    url: str
    logs: list[Path]
    process: subprocess.Popen

    def sizes(self) -> list[int]:
        """Each log's size now: where the checks' bytes will start."""
        return [p.stat().st_size for p in self.logs]


def _wait_until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what()}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM this pid, wait, SIGKILL it only as a last resort."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def werkzeug_app(name: str, directory: Path) -> Iterator[Served]:
    """App *name* served by ``socketio.run`` (Werkzeug) in a child process, its log in a file."""
    log, port = directory / f"{name}-werkzeug.log", free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, str(APPS), name, str(port)], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    served = Served(f"http://127.0.0.1:{port}", [log], process)
    try:
        _wait_until(lambda: process.poll() is None and _answers(served.url) or process.poll() is not None,
                    lambda: log.read_text(errors="replace"))
        assert process.poll() is None, log.read_text(errors="replace")
        yield served
    finally:
        _stop(process)


def _pid_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


@contextmanager
def gunicorn_app(name: str, directory: Path) -> Iterator[Served]:
    """App *name* under a real gunicorn gthread worker; access and error logs in *directory*."""
    access, error = directory / f"{name}-access.log", directory / f"{name}-error.log"
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "8",
               "-b", "127.0.0.1:0", "--access-logfile", str(access), "--error-logfile", str(error),
               "--chdir", str(APPS.parent), "--no-control-socket", f'verify_apps:create_app("{name}")']
    process = subprocess.Popen(command, cwd=directory, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        text = lambda: error.read_bytes() if error.exists() else b""  # noqa: E731
        _wait_until(lambda: LISTENING.search(text()) is not None or process.poll() is not None,
                    lambda: text().decode(errors="replace"))
        assert process.poll() is None, text().decode(errors="replace")
        served = Served(f"http://127.0.0.1:{LISTENING.search(text())[1].decode()}", [access, error], process)
        _wait_until(lambda: _answers(served.url), lambda: text().decode(errors="replace"))
        workers = [int(pid) for pid in BOOTED.findall(text())]
        yield served
    finally:
        _stop(process)
        for pid in workers:  # gone with their master; by pid only if one outlived it
            if not _pid_gone(pid):
                os.kill(pid, signal.SIGKILL)


def verify(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict[str, dict]]:
    """Run ``wslab verify ARGS --json``; the exit code and the checks by name (server logs numbered)."""
    code = main(["verify", *args, "--json"])
    out = capsys.readouterr().out
    checks: dict[str, dict] = {}
    for check in json.loads(out)["checks"]:
        name = check["name"]
        while name in checks:
            name += "+"
        checks[name] = check
    return code, checks


def new_bytes(path: Path, start: int) -> bytes:
    return path.read_bytes()[start:]


def ours(data: bytes) -> list[dict]:
    """The request lines (logcheck's regex) whose target carries a verify token."""
    return [r for r in logcheck.requests(data) if TOKEN.search(r["target"].encode())]


def failed_names(checks: dict[str, dict]) -> list[str]:
    return [n for n, c in checks.items() if not (c["ok"] or c["skipped"])]


# -- what every Flask-SocketIO app has --------------------------------------------------------

def test_an_app_without_any_handler_passes_the_default_checks(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    with werkzeug_app("silent", tmp_path) as app:
        code, checks = verify(capsys, app.url)
        code_event, with_event = verify(capsys, app.url, "--event", "echo", "--timeout", "2")
    assert code == 0, checks
    assert list(checks) == ["polling handshake", "websocket", "polling→upgrade", "server log"]
    assert checks["server log"]["skipped"]
    # the app has no 'echo' handler: no acknowledgement can arrive, on either connection
    assert code_event == 1 and failed_names(with_event) == ["event"], with_event
    assert with_event["event"]["detail"].count("no acknowledgement within 2 s") == 2


def test_an_event_passes_on_any_acknowledgement_and_shows_it(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    payload = {"n": 7, "text": "hi"}
    with werkzeug_app("echo", tmp_path) as app:
        code, checks = verify(capsys, app.url, "--event", "echo", "--payload", json.dumps(payload))
    assert code == 0, checks
    detail = checks["event"]["detail"]
    # verify_apps' echo answers {"echo": data}, not what was sent
    assert detail.count("acknowledged with " + json.dumps({"echo": payload})) == 2, detail


def test_a_custom_socketio_path_is_found_only_with_the_option(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    with werkzeug_app("custom-path", tmp_path) as app:
        code_default, default = verify(capsys, app.url, "--timeout", "3")
        code_custom, custom = verify(capsys, app.url, "--socketio-path", CUSTOM_PATH)
    assert code_default == 1
    assert failed_names(default) == ["polling handshake", "websocket", "polling→upgrade"], default
    assert "--socketio-path" in default["polling handshake"]["detail"]
    assert code_custom == 0 and failed_names(custom) == [], custom


# -- the server log, on Werkzeug --------------------------------------------------------------

def _werkzeug_run(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[int, dict, bytes]:
    """Verify app *name* with its log; the outcome and the raw bytes its log gained meanwhile."""
    with werkzeug_app(name, tmp_path) as app:
        (start,) = app.sizes()
        code, checks = verify(capsys, app.url, "--event", "echo", "--log", str(app.logs[0]))
        data_at_return = new_bytes(app.logs[0], start)
    return code, checks, data_at_return


@pytest.mark.incident
def test_incident_pins_werkzeug_fails_on_the_server_log_only(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    code, checks, data = _werkzeug_run("echo", tmp_path, capsys)
    failed_5xx = [r for r in ours(data) if r["status"] >= 500]
    # what the raw log shows: the direct WebSocket's 500, and its traceback
    assert [r["status"] for r in failed_5xx] == [500] and "transport=websocket" in failed_5xx[0]["target"]
    assert "sid=" not in failed_5xx[0]["target"]
    assert logcheck.tracebacks(data) == 1
    assert code == 1 and failed_names(checks) == ["server log"], checks
    log = checks["server log"]
    assert log["detail"].startswith(f"{len(failed_5xx)} 5xx line(s)")
    assert f"{logcheck.tracebacks(data)} 'write() before start_response' record(s)" in log["detail"]
    assert log["notes"] and log["notes"][0].startswith("the incident")


if ENGINEIO_RAISES:  # a version check, not a skip: on the incident pins this test does not exist

    def test_current_pins_werkzeug_passes_and_says_what_is_not_logged(
            tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
        code, checks, data = _werkzeug_run("echo", tmp_path, capsys)
        lines = ours(data)
        websocket_lines = [r for r in lines if "transport=websocket" in r["target"]]
        # what the raw log shows: no 5xx, the WebSockets' own request lines missing, 400 noise
        assert [r for r in lines if r["status"] >= 500] == [] and logcheck.tracebacks(data) == 0
        assert len(websocket_lines) < 2
        assert code == 0 and failed_names(checks) == [], checks
        log = checks["server log"]
        assert f"{len(websocket_lines)} of 2 WebSocket request(s) logged" in log["detail"]
        counted = re.search(r"(\d+) left-over-bytes 400 line", log["detail"])
        assert (int(counted[1]) if counted else 0) == len(LEFTOVER.findall(data)), log
        assert log["notes"] and "python-engineio >= 4.13.4" in log["notes"][0] and "400" in log["notes"][0]


def test_debugger_on_fails_on_the_server_log_and_says_which_500(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    code, checks, data = _werkzeug_run("debug", tmp_path, capsys)
    failed_5xx = [r for r in ours(data) if r["status"] >= 500]
    assert failed_5xx and all("transport=websocket" in r["target"] for r in failed_5xx)
    assert code == 1 and failed_names(checks) == ["server log"], checks
    log = checks["server log"]
    assert log["detail"].startswith(f"{len(failed_5xx)} 5xx line(s)")
    # the raw log decides which meaning: the incident's traceback, or a 500 without it
    expected = "the incident" if logcheck.tracebacks(data) else "a 500 without a 'write() before start_response'"
    assert log["notes"][0].startswith(expected), log
    assert bool(logcheck.tracebacks(data)) == (not ENGINEIO_RAISES)


def test_a_log_without_the_checks_requests_fails_with_why(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other-app.log"
    other.write_bytes((Path(__file__).parent / "logsamples" / "basic.log").read_bytes())
    with werkzeug_app("echo", tmp_path) as app:
        code, checks = verify(capsys, app.url, "--log", str(other))
    assert ours(other.read_bytes()) == []
    assert code == 1 and failed_names(checks) == ["server log"], checks
    assert "none of the checks' requests appear" in checks["server log"]["detail"]
    assert "is it this server's log?" in checks["server log"]["detail"]


# -- gunicorn -----------------------------------------------------------------------------------

def test_gunicorn_passes_and_says_websockets_are_not_logged(tmp_path: Path) -> None:
    with gunicorn_app("echo", tmp_path) as app:
        access, error = app.logs
        starts = app.sizes()
        report = run_verify(app.url, log=app.logs, socketio_path="/socket.io", timeout=10.0)
        text = report.render()
        data = [new_bytes(p, s) for p, s in zip(app.logs, starts)]
    lines = ours(data[0])
    # what the raw logs show: the checks' polling lines, all below 500, no WebSocket line, no error record
    assert lines and all(r["status"] < 500 for r in lines)
    assert [r for r in lines if "transport=websocket" in r["target"]] == []
    assert b"Error handling request" not in data[1] and logcheck.tracebacks(data[1]) == 0
    assert report.ok, text
    log_checks = [c for c in report.checks if c.name == "server log"]
    assert len(log_checks) == 2 and all(c.ok for c in log_checks)
    assert f"checks' {len(lines)} request line(s)" in log_checks[0].detail
    assert "0 of 2 WebSocket request(s) logged" in log_checks[0].detail
    assert "gunicorn's access log does not log WebSocket requests" in log_checks[0].notes[0]
    assert "gunicorn error log" in log_checks[1].detail
    assert text.splitlines()[-1].startswith("OK: 5 of 5")


def test_only_the_checks_own_lines_count(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """500s of other traffic, before and during the checks, are not the checks' business."""
    with gunicorn_app("echo", tmp_path) as app:
        requests.get(app.url + "/boom", timeout=5)  # before the checks: outside what verify reads
        start = app.sizes()[0]
        stop = threading.Event()

        def other_traffic() -> None:
            while not stop.is_set():
                requests.get(app.url + "/boom", timeout=5)
                time.sleep(0.05)

        worker = threading.Thread(target=other_traffic)
        worker.start()
        try:
            code, checks = verify(capsys, app.url, "--log", str(app.logs[0]))
            code_own, own = verify(capsys, app.url, "--log", str(app.logs[0]), "--client-config", "/boom")
        finally:
            stop.set()
            worker.join(10)
        data = new_bytes(app.logs[0], start)
    others = [r for r in logcheck.requests(data) if r["target"] == "/boom"]
    assert others and all(r["status"] == 500 for r in others)  # other traffic did fail meanwhile
    assert code == 0 and failed_names(checks) == [], checks
    # the checks' own request to a failing route is theirs: a 500 the log check fails on
    own_boom = [r for r in ours(data) if r["target"].startswith("/boom?")]
    assert [r["status"] for r in own_boom] == [500]
    assert code_own == 1 and failed_names(own) == ["client config", "server log"], own
    assert own["server log"]["detail"].startswith("1 5xx line(s)") and "/boom" in own["server log"]["detail"]
    assert "plain HTTP request" in own["server log"]["notes"][-1]


# -- gunicorn's error log, written by hand ------------------------------------------------------

GUNICORN_BOOT = (b"[2026-12-02 05:00:00 +0000] [100] [INFO] Starting gunicorn 23.0.0\n"
                 b"[2026-12-02 05:00:00 +0000] [100] [INFO] Listening at: http://127.0.0.1:8000 (100)\n"
                 b"[2026-12-02 05:00:00 +0000] [101] [INFO] Booting worker with pid: 101\n")


def _error_record(target: str) -> bytes:
    return (f"[2026-12-02 05:00:01 +0000] [101] [ERROR] Error handling request {target}\n"
            "Traceback (most recent call last):\n"
            '  File "/srv/app.py", line 3, in handle\n'
            "    raise OSError('broken')\n"
            "OSError: broken\n").encode()


@pytest.mark.parametrize(("target", "fails"), [
    ("/socket.io/?wslab-verify=abc123&EIO=4&transport=polling", True),   # one of the checks' requests
    ("/socket.io/?EIO=4&transport=polling", False),                      # someone else's
])
def test_gunicorn_error_log_fails_only_on_a_record_for_the_checks_request(tmp_path: Path, target: str,
                                                                          fails: bool) -> None:
    from wslab.diagnose.verify_log import LogWatch, Sent

    log = tmp_path / "error.log"
    log.write_bytes(GUNICORN_BOOT + _error_record("/socket.io/?wslab-verify=abc123&EIO=4&transport=polling"))
    watch = LogWatch(log)  # the record above was there before the checks: not theirs
    with open(log, "ab") as out:
        out.write(_error_record(target))
    verdict = watch.check(Sent("abc123"), timeout=5)
    assert verdict.ok is not fails, verdict
    if fails:
        assert verdict.detail.startswith("1 'Error handling request' record(s)") and "OSError: broken" in verdict.detail
    else:
        assert "1 traceback record(s) of other requests" in verdict.detail
    assert "gunicorn's error log holds no request lines" in verdict.notes[0]
