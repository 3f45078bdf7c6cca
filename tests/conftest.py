"""Shared fixtures: Redis clients (fakeredis and a real server) with private key prefixes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import fakeredis
import pytest
import redis
from hypothesis import settings

from wslab.errors import WslabError
from wslab.lab.redis_backend import RedisHandle, connect_url, start_redis_server

DEFAULT_REAL_URL = "redis://127.0.0.1:6379/0"

#: Set by ``.ci/run``: a run that must skip nothing turns every skip into a failure.
NO_SKIPS = os.environ.get("WSLAB_NO_SKIPS") == "1"

# CI explores the same examples on every run (a property test that finds a new case there
# would fail a submission at random); elsewhere the examples vary from run to run.
settings.register_profile("ci", derandomize=True)
if NO_SKIPS:
    settings.load_profile("ci")


def _as_failure(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Turn a skipped *report* into a failed one that names the skip's reason."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in a run that allows no skips (WSLAB_NO_SKIPS=1): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """With WSLAB_NO_SKIPS=1, a skipped test fails (expected failures stay as they are)."""
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        _as_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """With WSLAB_NO_SKIPS=1, a module skipped at collection fails instead."""
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped:
        _as_failure(report)


def _real_redis() -> RedisHandle | None:
    """REDIS_URL, else the machine's server on 6379, else a redis-server child, else None."""
    url = os.environ.get("REDIS_URL")
    if url:
        return RedisHandle(connect_url(url), "url", url)
    try:
        return RedisHandle(connect_url(DEFAULT_REAL_URL, timeout=0.5), "url", DEFAULT_REAL_URL)
    except WslabError:
        pass
    try:
        return start_redis_server()
    except WslabError:
        return None


@pytest.fixture(scope="session")
def real_redis_handle() -> Iterator[RedisHandle]:
    """A real Redis server for the whole run; a hard failure when WSLAB_REQUIRE_REDIS=1."""
    handle = _real_redis()
    if handle is None:
        message = "no real Redis server (set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server)"
        if os.environ.get("WSLAB_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    yield handle
    handle.close()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test or user shares."""
    return f"wslab-test:{uuid.uuid4().hex[:12]}:"


def _delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def real_redis(real_redis_handle: RedisHandle, key_prefix: str) -> Iterator[redis.Redis]:
    """A client on the real server; only keys under this test's prefix are removed afterwards."""
    yield real_redis_handle.client
    _delete_prefix(real_redis_handle.client, key_prefix)


@pytest.fixture
def fake_redis() -> redis.Redis:
    """A fresh in-process fakeredis server."""
    return fakeredis.FakeRedis()


@pytest.fixture(params=["fakeredis", "realredis"])
def any_redis(request: pytest.FixtureRequest, key_prefix: str) -> Iterator[redis.Redis]:
    """Each test that uses it runs twice: on fakeredis and on a real Redis server."""
    if request.param == "fakeredis":
        yield fakeredis.FakeRedis()
        return
    handle = request.getfixturevalue("real_redis_handle")
    yield handle.client
    _delete_prefix(handle.client, key_prefix)


def child_pids() -> set[int]:
    """Process ids of this process's live (non-zombie) children, from /proc."""
    pids = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as handle:
                pids.update(int(p) for p in handle.read().split())
        except OSError:
            continue
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(")")[-1].split()[0] != "Z":
                    alive.add(pid)
        except OSError:
            continue
    return alive


def open_fds() -> set[int]:
    """This process's open file descriptors."""
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def lab_threads() -> set[str]:
    """Names of live threads other than the ones pytest and libraries keep for good."""
    import threading

    return {t.name for t in threading.enumerate() if t.is_alive()}


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves a thread, child process or file descriptor behind."""
    import gc
    import threading
    import time

    threads_before = set(threading.enumerate())
    children_before = child_pids()
    fds_before = open_fds()
    yield
    deadline = time.monotonic() + 5
    while True:
        gc.collect()
        new_threads = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
        new_children = child_pids() - children_before
        new_fds = open_fds() - fds_before
        if not (new_threads or new_children or new_fds) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not new_threads, f"threads left behind: {new_threads}"
    assert not new_children, f"child processes left behind: {new_children}"
    assert not new_fds, f"file descriptors left open: {sorted(new_fds)}"
