"""``make reset``: it stops the processes the kit recorded and no others, and clears only its own keys.

Decoys check the "no others" half: a process whose command line says
``wslab serve`` but that the kit never registered, a record whose pid now
belongs to another process (its start time differs), and Redis keys outside
the prefix.  Every expected count is the number of things the test itself
created.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from wslab.lab import pids
from wslab.lab.redis_backend import free_port, start_redis_server
from wslab.teach import reset
from wslab.waiting import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    monkeypatch.setenv("WSLAB_RUN_DIR", str(folder))
    return folder


@pytest.fixture
def spawn() -> Iterator:  # type: ignore[type-arg]
    """Start child processes; any still alive at the end are killed and reaped."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs) -> subprocess.Popen:  # type: ignore[no-untyped-def]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def alive(process: subprocess.Popen) -> bool:
    return process.poll() is None


# -- the record ----------------------------------------------------------------------------------

def test_a_registered_process_is_stopped_and_its_record_removed(run_dir: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    child = spawn(SLEEPER)
    record = pids.register(child.pid, "sleeper")
    assert record is not None and json.loads((run_dir / f"{child.pid}.json").read_text())["pid"] == child.pid
    stopped = pids.stop_all(timeout=10)
    assert [r.pid for r in stopped] == [child.pid]
    assert child.wait(timeout=10) == -15  # SIGTERM
    assert list(run_dir.glob("*.json")) == []


def test_a_process_that_ignores_sigterm_gets_sigkill(run_dir: Path) -> None:
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
         "print('ready', flush=True)\ntime.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline().strip() == "ready"
        pids.register(stubborn.pid, "stubborn")
        assert [r.pid for r in pids.stop_all(timeout=0.5)] == [stubborn.pid]
        assert stubborn.wait(timeout=10) == -9  # SIGKILL
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.wait(timeout=10)
        if stubborn.stdout is not None:
            stubborn.stdout.close()


def test_a_reused_pid_is_left_alone(run_dir: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    decoy = spawn(SLEEPER)
    started = pids.start_time(decoy.pid)
    assert started is not None
    # A record for this pid from a process that started at another moment: the pid was reused.
    run_dir.mkdir(parents=True)
    (run_dir / f"{decoy.pid}.json").write_text(json.dumps({"pid": decoy.pid, "started": started - 1,
                                                           "what": "long gone"}))
    assert pids.stop_all(timeout=1) == []
    assert alive(decoy)
    assert list(run_dir.glob("*.json")) == []


def test_an_unregistered_process_named_like_the_kit_is_left_alone(run_dir: Path, spawn) -> None:  # type: ignore[no-untyped-def]
    decoy = spawn([*SLEEPER, "wslab serve", "wslab experiment", "redis-server", "wslab-redis-decoy"])
    mine = spawn(SLEEPER)
    pids.register(mine.pid, "mine")
    assert [r.pid for r in pids.stop_all(timeout=10)] == [mine.pid]
    assert alive(decoy)
    assert mine.wait(timeout=10) == -15


def test_damaged_records_are_dropped(run_dir: Path) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "123.json").write_text("{not json")
    assert pids.records() == []
    assert not (run_dir / "123.json").exists()


def test_a_redis_child_is_registered_while_it_runs(run_dir: Path) -> None:
    handle = start_redis_server()
    try:
        assert handle.process is not None
        assert [r.pid for r in pids.records()] == [handle.process.pid]
    finally:
        handle.close()
    assert pids.records() == []


# -- the whole reset -----------------------------------------------------------------------------

@pytest.fixture
def keys(real_redis: redis.Redis, real_redis_handle, key_prefix: str):  # type: ignore[no-untyped-def]
    """Three keys under a private reset prefix and two decoys under the test's own prefix."""
    mine = f"wslab-reset-{uuid.uuid4().hex[:8]}:"
    for name in ("a", "b", "c"):
        real_redis.set(mine + name, "1")
    for name in ("x", "y"):
        real_redis.set(key_prefix + name, "1")
    yield real_redis, real_redis_handle.url, mine, key_prefix
    for key in real_redis.scan_iter(match=mine + "*"):
        real_redis.delete(key)


def test_reset_stops_the_kits_server_and_clears_only_its_keys(
        run_dir: Path, spawn, keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture) -> None:
    client, url, prefix, other = keys
    monkeypatch.setenv("REDIS_URL", url)
    port = free_port()
    server = spawn([sys.executable, "-m", "wslab", "serve", "--port", str(port), "--redis-url", "fakeredis",
                    "--log", str(tmp_path / "serve.log")])
    decoy = spawn([*SLEEPER, "wslab serve", "--port", str(port)])
    wait_until(lambda: (run_dir / f"{server.pid}.json").exists(), 20, what="wslab serve to register")
    wait_until(lambda: _answers(port), 20, what="wslab serve to answer")
    reports, logs, workspace = tmp_path / "reports", tmp_path / "logs", tmp_path / "workspace"
    for folder in (reports, logs, workspace):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "file.txt").write_text("x")
    temp = tmp_path / "tmp"
    for name in ("wslab-redis-abc", "wslab-05-def"):
        (temp / name).mkdir(parents=True)
        (temp / name / "dump.rdb").write_text("x")
    (temp / "wslab-a-file").write_text("not a folder")
    (temp / "other-tool-xyz").mkdir()

    code = reset.main(["--prefix", prefix, "--reports", str(reports), "--logs", str(logs),
                       "--workspace", str(workspace), "--tmp", str(temp)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"stopped wslab serve (pid {server.pid})" in out
    assert f"deleted 3 {prefix}* key(s)" in out
    assert server.wait(timeout=15) == 0  # it stopped cleanly on SIGTERM
    assert alive(decoy)
    assert sorted(client.scan_iter(match=prefix + "*")) == []
    assert sorted(client.scan_iter(match=other + "*")) == [(other + "x").encode(), (other + "y").encode()]
    assert not reports.exists() and not logs.exists() and not workspace.exists()
    assert f"removed 2 temporary folder(s) {temp / 'wslab-'}*" in out
    assert sorted(p.name for p in temp.iterdir()) == ["other-tool-xyz", "wslab-a-file"]
    assert list(run_dir.glob("*.json")) == []


def test_a_serve_stopped_while_it_starts_still_stops_cleanly(run_dir: Path, spawn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = spawn([sys.executable, "-m", "wslab", "serve", "--port", str(port), "--redis-url", "fakeredis",
                    "--log", str(tmp_path / "serve.log")])
    wait_until(lambda: (run_dir / f"{server.pid}.json").exists(), 20, what="wslab serve to register")
    stopped = pids.stop_all(timeout=30)  # at once: the stack may still be starting
    assert [r.pid for r in stopped] == [server.pid]
    assert server.wait(timeout=30) == 0


def test_reset_refuses_an_empty_prefix() -> None:
    with pytest.raises(Exception, match="empty prefix"):
        reset.clear_keys("redis://127.0.0.1:1/0", "")


def test_reset_with_an_unreachable_redis_url_is_one_error(run_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    code = reset.main(["--reports", str(tmp_path / "r"), "--logs", str(tmp_path / "l"),
                       "--workspace", str(tmp_path / "w"), "--tmp", str(tmp_path / "t")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("reset: error: Redis at redis://127.0.0.1:")


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code < 500
    except requests.RequestException:
        return False
