"""Integration tests: the real stack over real sockets, on fakeredis and a real Redis."""

from __future__ import annotations

import socket

import pytest
import werkzeug

import logcheck
from wslab.errors import WslabError
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload

INCIDENT_WERKZEUG = werkzeug.__version__ if hasattr(werkzeug, "__version__") else None


@pytest.fixture(params=["fakeredis", "realredis"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """Run each stack test once on fakeredis and once on a real Redis server."""
    if request.param == "fakeredis":
        return "fakeredis"
    return request.getfixturevalue("real_redis_handle").url


@pytest.mark.incident
def test_before_logs_one_error_block_per_direct_websocket(tmp_path, redis_url, no_leaks):
    ws_users, upgrade_users, http_users = 3, 2, 2
    log = tmp_path / "webapp.log"
    with LabStack("before", log_path=log, redis_url=redis_url) as stack:
        report = run_workload(stack, Workload(ws_users=ws_users, upgrade_users=upgrade_users,
                                              http_users=http_users))
    assert report.errors() == []
    data = logcheck.read(log)
    lines = logcheck.requests(data)
    failing = [r for r in lines if r["status"] >= 500]
    assert len(failing) == ws_users
    for row in failing:
        assert row["target"].startswith("/socket.io/?")
        assert "transport=websocket" in row["target"] and "sid=" not in row["target"]
        assert b"\x1b[35m\x1b[1m" in row["line"]  # Werkzeug's colour for 5xx
        assert row["line"].endswith(b"(taskName=None)")
    assert logcheck.tracebacks(data) == ws_users
    assert {f[:2] for f in logcheck.serving_frames(data)} == {("run_wsgi", 364), ("execute", 330),
                                                                ("write", 255)}
    # the polling→upgrade users' WebSocket requests (they carry a sid) do not fail
    upgraded = [r for r in lines if "transport=websocket" in r["target"] and "sid=" in r["target"]]
    assert len(upgraded) == upgrade_users and all(r["status"] < 500 for r in upgraded)


def test_guard_ends_websockets_without_500_or_400(tmp_path, redis_url, no_leaks):
    ws_users, upgrade_users = 3, 2
    log = tmp_path / "webapp.log"
    with LabStack("guard", log_path=log, redis_url=redis_url) as stack:
        report = run_workload(stack, Workload(ws_users=ws_users, upgrade_users=upgrade_users,
                                              http_users=1))
        ended = stack.demo.guard.ended
    assert report.errors() == []
    data = logcheck.read(log)
    lines = logcheck.requests(data)
    assert [r for r in lines if r["status"] >= 500] == []
    assert logcheck.tracebacks(data) == 0
    assert logcheck.bad_syntax(data) == 0
    assert [r for r in lines if r["status"] == 400] == []
    direct = [r for r in lines if "transport=websocket" in r["target"] and "sid=" not in r["target"]]
    assert len(direct) == ws_users
    assert ended >= ws_users


def test_stack_records_what_handlers_saw(tmp_path):
    with LabStack("before", log_path=tmp_path / "a.log", redis_url="fakeredis") as stack:
        run_workload(stack, Workload(ws_users=1, polling_users=1))
        connects = [o for o in stack.demo.observations if o["event"] == "connect"]
    assert sorted(o["user"] for o in connects) == ["polling-000", "websocket-000"]


def test_port_in_use_is_one_clear_error(tmp_path, no_leaks):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(WslabError, match=f"port {port} on 127.0.0.1 is already in use"):
            LabStack("before", log_path=tmp_path / "a.log", port=port).start()


def test_unreachable_redis_is_one_clear_error(tmp_path, no_leaks):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WslabError, match="unreachable"):
        LabStack("before", log_path=tmp_path / "a.log", redis_url=f"redis://127.0.0.1:{port}/0").start()


def test_unknown_variant(tmp_path):
    with pytest.raises(WslabError, match="unknown variant 'nope'"):
        LabStack("nope", log_path=tmp_path / "a.log")


def test_starting_a_stack_stops_the_earlier_one(tmp_path, no_leaks):
    first = LabStack("no-session", log_path=tmp_path / "a.log").start()
    first_url = first.url
    second = LabStack("no-session", log_path=tmp_path / "b.log").start()
    try:
        assert first.server is None
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", int(first_url.rsplit(":", 1)[1])), timeout=1).close()
    finally:
        second.stop()


def test_ten_start_stop_cycles_leave_nothing(tmp_path, no_leaks):
    for i in range(10):
        with LabStack("before", log_path=tmp_path / "cycles.log", redis_url="fakeredis") as stack:
            run_workload(stack, Workload(ws_users=1, http_users=1))


def test_exception_inside_the_block_still_stops_everything(tmp_path, no_leaks):
    with pytest.raises(RuntimeError, match="boom"):
        with LabStack("before", log_path=tmp_path / "a.log", redis_url="fakeredis"):
            raise RuntimeError("boom")


def test_real_redis_keys_are_removed_on_stop(tmp_path, real_redis_handle):
    with LabStack("before", log_path=tmp_path / "a.log", redis_url=real_redis_handle.url) as stack:
        run_workload(stack, Workload(http_users=2))
        keys = stack.own_keys()
        prefix = stack.key_prefix
    assert keys, "the legacy interface stores sessions in Redis"
    assert list(real_redis_handle.client.scan_iter(match=prefix + "*")) == []
