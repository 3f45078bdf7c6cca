"""``wslab verify`` against the lab stack (before / guard) and a plain Flask-SocketIO app.

More apps written without the kit, under Werkzeug and gunicorn, are in ``test_verify_any_app.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from wslab.cli import main
from wslab.lab.redis_backend import free_port
from wslab.lab.stack import LabStack

PLAIN_APP = textwrap.dedent('''
    import sys
    from flask import Flask, jsonify
    from flask_socketio import SocketIO

    app = Flask(__name__)
    socketio = SocketIO(app)

    @app.get("/")
    def index():
        return "plain app"

    @app.get("/settings.json")
    def settings():
        return jsonify(transports=["websocket"])

    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), allow_unsafe_werkzeug=True)
''')


#: The demo app's own checks, which verify runs only when asked: its client-config route and its
#: ``echo`` event (which acknowledges with what it was sent).
DEMO_CHECKS = ("--client-config", "/api/websocket/client-config", "--event", "echo", "--payload", '{"n": 1}')


def _lines(out: str) -> dict[str, str]:
    """Check name → its printed line."""
    return {line[6:24].strip(): line for line in out.splitlines() if line[:4] in ("PASS", "FAIL", "SKIP")}


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "webapp.log"


def _verify(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.incident
def test_before_fails_on_the_log_check_only(log_path: Path, capsys: pytest.CaptureFixture) -> None:
    with LabStack("before", log_path=log_path, redis_url="fakeredis") as stack:
        code, out, _ = _verify(capsys, stack.url, "--log", str(log_path), *DEMO_CHECKS)
    lines = _lines(out)
    assert code == 1, out
    assert lines["server log"].startswith("FAIL")
    assert "1 'write() before start_response' record(s)" in lines["server log"]
    assert "1 5xx line(s)" in lines["server log"]
    assert "→ the incident" in out
    for name in ("polling handshake", "client config", "websocket", "polling→upgrade", "event"):
        assert lines[name].startswith("PASS"), out
    assert lines["event"].count('acknowledged with {"n": 1}') == 2, out
    assert out.splitlines()[-1].startswith("FAILED: 5 of 6")


def test_guard_passes(log_path: Path, capsys: pytest.CaptureFixture) -> None:
    with LabStack("guard", log_path=log_path, redis_url="fakeredis") as stack:
        code, out, _ = _verify(capsys, stack.url, "--log", str(log_path), *DEMO_CHECKS)
    assert code == 0, out
    assert all(line.startswith("PASS") for line in _lines(out).values()), out
    assert out.splitlines()[-1].startswith("OK: 6 of 6")


def test_json_output_and_no_log_skips_the_log_check(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    with LabStack("guard", log_path=tmp_path / "x.log", redis_url="fakeredis") as stack:
        code, out, _ = _verify(capsys, stack.url + "/", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    log_check = report["checks"][-1]
    assert log_check["name"] == "server log" and log_check["skipped"] is True


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code, out, err = _verify(capsys, "127.0.0.1:5000")
    assert code == 2 and err.count("\n") == 1 and "not an http(s) URL" in err
    code, out, err = _verify(capsys, f"http://127.0.0.1:{free_port()}")
    assert code == 1 and err.count("\n") == 1 and "cannot reach" in err and out == ""
    code, out, err = _verify(capsys, "http://127.0.0.1:1", "--log", str(tmp_path / "missing.log"))
    assert code == 2 and err.count("\n") == 1 and "no such file" in err
    code, out, err = _verify(capsys, "http://127.0.0.1:1", "--event", "echo", "--payload", "{n: 1}")
    assert code == 2 and err.count("\n") == 1 and "--payload is not JSON" in err and out == ""
    code, out, err = _verify(capsys, "http://127.0.0.1:1", "--payload", "1")
    assert code == 2 and err.count("\n") == 1 and "--payload needs --event" in err and out == ""


@pytest.fixture
def plain_app(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Flask-SocketIO app without the kit's routes or events, run by ``socketio.run``."""
    script, log, port = tmp_path / "plain.py", tmp_path / "plain.log", free_port()
    script.write_text(PLAIN_APP)
    with open(log, "ab") as stderr:
        process = subprocess.Popen([sys.executable, str(script), str(port)], stdout=stderr, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(url, timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_plain_app_passes_without_the_demo_checks(plain_app: tuple[str, Path],
                                                  capsys: pytest.CaptureFixture) -> None:
    url, _ = plain_app
    code, out, _ = _verify(capsys, url)
    lines = _lines(out)
    assert code == 0, out
    assert sorted(lines) == ["polling handshake", "polling→upgrade", "server log", "websocket"], out
    assert lines["server log"].startswith("SKIP")


def test_plain_app_fails_the_demo_checks_when_asked(plain_app: tuple[str, Path],
                                                    capsys: pytest.CaptureFixture) -> None:
    url, _ = plain_app
    code, out, _ = _verify(capsys, url, *DEMO_CHECKS[:2], "--event", "echo", "--timeout", "2")
    lines = _lines(out)
    assert code == 1
    assert lines["client config"].startswith("FAIL") and "no client-config route" in lines["client config"]
    assert lines["event"].startswith("FAIL") and lines["event"].count("no acknowledgement within 2 s") == 2
    for name in ("polling handshake", "websocket", "polling→upgrade"):
        assert lines[name].startswith("PASS"), out


def test_plain_app_with_its_own_config_path(plain_app: tuple[str, Path], capsys: pytest.CaptureFixture) -> None:
    url, _ = plain_app
    code, out, _ = _verify(capsys, url, "--client-config", "/settings.json")
    assert code == 0, out
    assert "transports ['websocket']" in _lines(out)["client config"]


@pytest.mark.incident
def test_plain_app_log_shows_the_incident(plain_app: tuple[str, Path], capsys: pytest.CaptureFixture) -> None:
    url, log = plain_app
    code, out, _ = _verify(capsys, url, "--client-config", "/settings.json", "--log", str(log))
    assert code == 1, out
    assert "write() before start_response" in _lines(out)["server log"]


# -- a custom Socket.IO path and the timeout -----------------------------------------------------

def test_socketio_path_option_finds_an_app_served_elsewhere(capsys: pytest.CaptureFixture) -> None:
    from flask import Flask
    from flask_socketio import SocketIO
    from werkzeug_server import threaded_server

    app = Flask("custom-path")
    SocketIO(app, async_mode="threading", path="/custom.io")
    app.get("/")(lambda: "custom")
    with threaded_server(app) as (host, port):
        url = f"http://{host}:{port}"
        code_default, out_default, _ = _verify(capsys, url, "--json")
        code_custom, out_custom, _ = _verify(capsys, url, "--socketio-path", "/custom.io", "--json")
    default = {c["name"]: c for c in json.loads(out_default)["checks"]}
    custom = {c["name"]: c for c in json.loads(out_custom)["checks"]}
    handshake = [n for n in custom if "handshake" in n]
    assert handshake, sorted(custom)
    assert code_default == 1 and not default[handshake[0]]["ok"]
    assert custom[handshake[0]]["ok"]
    assert [n for n, c in custom.items() if "websocket" in n.lower() and not c["ok"]] == []


def test_timeout_option_bounds_a_server_that_never_answers(capsys: pytest.CaptureFixture) -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepts connections into the backlog, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        code, out, err = _verify(capsys, f"http://127.0.0.1:{port}", "--timeout", "0.5")
        elapsed = time.monotonic() - started
    assert code != 0 and out == ""
    assert err.strip().splitlines() == [f"wslab: error: cannot reach http://127.0.0.1:{port} (ReadTimeout)"]
    # With the default of 10 s per request this could not end before 10 s.
    assert elapsed < 8
