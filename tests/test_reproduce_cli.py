"""``wslab reproduce`` end to end, as a user runs it: a subprocess, a real log file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import logcheck

WSLAB = [sys.executable, "-m", "wslab"]


def run(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*WSLAB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def redis_server_pids() -> set[int]:
    pids = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if b"wslab-redis-" in (entry / "cmdline").read_bytes():
                pids.add(int(entry.name))
        except OSError:
            pass
    return pids


@pytest.mark.incident
def test_reproduce_before_counts_match_the_log(tmp_path):
    ws, upgrade, http = 17, 5, 10
    log = tmp_path / "webapp.log"
    done = run("reproduce", "--variant", "before", "--ws-users", str(ws), "--upgrade-users",
               str(upgrade), "--http-users", str(http), "--log", str(log), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    data = logcheck.read(log)
    lines = logcheck.requests(data)
    failing = [r for r in lines if r["status"] >= 500]
    # exactly one 500 and one traceback per direct-WebSocket user, nothing else fails
    assert len(failing) == ws
    assert all("transport=websocket" in r["target"] and "sid=" not in r["target"] for r in failing)
    assert all(b"\x1b[35m\x1b[1m" in r["line"] for r in failing)
    assert logcheck.tracebacks(data) == ws
    assert {f[:2] for f in logcheck.serving_frames(data)} == {("run_wsgi", 364), ("execute", 330),
                                                                ("write", 255)}
    # and the command's own report agrees with the raw log
    assert result["log"]["server_errors"] == ws
    assert result["log"]["write_before_start_response"] == ws
    assert result["log"]["request_lines"] == len(lines)
    assert result["sent"]["socketio_connections"]["websocket"] == ws
    assert result["sent"]["socketio_connections"]["upgrade"] == upgrade
    assert result["sent"]["users"]["http"] == http
    # per kind of request line, in the parser's order and with its labels
    by_kind = {row["kind"]: row for row in result["log"]["by_kind"]}
    assert list(by_kind) == ["direct websocket", "upgraded websocket", "polling", "page"]
    assert by_kind["direct websocket"]["server_errors"] == ws
    assert by_kind["direct websocket"]["write_before_start_response"] == ws
    assert by_kind["upgraded websocket"]["server_errors"] == 0


def test_reproduce_text_report(tmp_path):
    done = run("reproduce", "--variant", "guard", "--ws-users", "2", "--upgrade-users", "1",
               "--http-users", "1", "--log", str(tmp_path / "g.log"), "--redis-url", "fakeredis")
    assert done.returncode == 0, done.stderr
    assert "variant   guard" in done.stdout
    assert "5xx lines: 0" in done.stdout
    assert "error rate = 5xx request lines / all request lines" in done.stdout
    table = done.stdout.split("request kind", 1)[1].splitlines()[1:]
    assert [line[:32].rstrip() for line in table] == ["direct websocket", "upgraded websocket", "polling", "page"]


def test_unknown_variant_is_one_line(tmp_path):
    done = run("reproduce", "--variant", "nope", "--log", str(tmp_path / "x.log"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wslab: error: unknown variant 'nope' (choose from no-session, before, writeup-fix, guard)"]
    assert not (tmp_path / "x.log").exists()


def test_port_in_use_is_one_line_and_leaves_nothing(tmp_path):
    before = redis_server_pids()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run("reproduce", "--port", str(port), "--log", str(tmp_path / "x.log"),
                   env={"REDIS_URL": ""})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"wslab: error: port {port} on 127.0.0.1 is already in use"]
    assert redis_server_pids() == before


def test_unreachable_redis_url_is_one_line(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run("reproduce", "--log", str(tmp_path / "x.log"), env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wslab: error: Redis at redis://127.0.0.1:{port}/0 is unreachable")


def test_bad_count_is_a_usage_error(tmp_path):
    done = run("reproduce", "--ws-users", "-3", "--log", str(tmp_path / "x.log"))
    assert done.returncode == 2
    assert "must be zero or more" in done.stderr
