"""The stack's less-used switches: removing the guard in place, keeping keys, refusing fakeredis."""

from __future__ import annotations

import shutil
import time

import pytest

import logcheck
from wslab.errors import WslabError
from wslab.lab.redis_backend import open_redis
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload


def wait_for_websocket_lines(log, count: int, timeout: float = 30.0) -> bytes:  # type: ignore[no-untyped-def]
    """The log's bytes once it holds *count* WebSocket request lines; fail after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        data = logcheck.read(log)
        if sum("transport=websocket" in r["target"] for r in logcheck.requests(data)) >= count:
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} WebSocket request lines within {timeout:.0f} s")
        time.sleep(0.05)


@pytest.mark.incident
def test_removing_the_guard_in_place_brings_the_500_back(tmp_path, no_leaks):
    log = tmp_path / "webapp.log"
    with LabStack("guard", log_path=log, redis_url="fakeredis") as stack:
        first = run_workload(stack, Workload(ws_users=2))
        stack.wait_idle()
        guarded = wait_for_websocket_lines(log, 2)
        stack.apply(guard=False)
        assert stack.demo.guard is None
        second = run_workload(stack, Workload(ws_users=3))
        stack.wait_idle()
        wait_for_websocket_lines(log, 5)
    assert first.errors() == [] and second.errors() == []
    after = logcheck.read(log)[len(guarded):]
    assert [r["status"] for r in logcheck.requests(guarded) if "transport=websocket" in r["target"]] == [101, 101]
    assert logcheck.tracebacks(guarded) == 0
    direct = [r for r in logcheck.requests(after) if "transport=websocket" in r["target"]]
    assert [r["status"] for r in direct] == [500, 500, 500]
    assert logcheck.tracebacks(after) == 3


@pytest.mark.parametrize("keep", [True, False])
def test_keep_keys_decides_whether_a_real_redis_keeps_the_sessions(tmp_path, real_redis_handle, keep):
    users = 3
    with LabStack("before", log_path=tmp_path / "a.log", redis_url=real_redis_handle.url,
                  keep_keys=keep) as stack:
        report = run_workload(stack, Workload(http_users=users))
        prefix = stack.key_prefix
        during = stack.own_keys()
    client = real_redis_handle.client
    left = sorted(client.scan_iter(match=prefix + "*"))
    try:
        assert report.errors() == []
        assert len(during) >= users  # every HTTP user logged in: one session key each at least
        assert len(left) == (len(during) if keep else 0)
    finally:
        for key in left:
            client.delete(key)


def test_open_redis_without_fake_or_child_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(WslabError, match="no Redis: set REDIS_URL or install redis-server"):
        open_redis(allow_child=False, allow_fake=False)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_open_redis_without_fake_starts_a_child_server(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with open_redis(allow_fake=False) as handle:
        assert handle.kind == "redis-server"
        assert handle.client.ping() is True
        process = handle.process
    assert process is not None and process.poll() is not None
