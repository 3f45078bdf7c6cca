"""Shared fixtures: Redis clients (fakeredis and a real server) with private key prefixes."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import fakeredis
import psutil
import pytest
import redis
from hypothesis import settings
from tqdm import TMonitor

from wslab.errors import WslabError
from wslab.lab.redis_backend import RedisHandle, connect_url, start_redis_server
from wslab.waiting import WaitTimeout, wait_until

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


#: Child processes and fds opened by session-scoped fixtures (a real Redis server and its client).
#: Such a fixture may first be set up while a test runs (``request.getfixturevalue``); what it
#: opens stays for the whole run and is not that test's leak.
_SESSION_PIDS: set[int] = set()
_SESSION_FDS: set[tuple[int, int, int]] = set()


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
    children, fds = child_processes(), set(open_fds())
    handle = _real_redis()
    _SESSION_PIDS.update(p.pid for p in child_processes() - children)
    _SESSION_FDS.update(set(open_fds()) - fds)
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


@dataclass(frozen=True)
class Leaks:
    """What a test left behind: thread names, child processes and file descriptors (with what each is)."""

    threads: list[str]
    children: list[str]
    fds: list[str]

    def __bool__(self) -> bool:
        return bool(self.threads or self.children or self.fds)


def child_processes() -> set[psutil.Process]:
    """This process's live (non-zombie) children; a psutil.Process compares by pid and start time."""
    alive = set()
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child)
    return alive


def open_fds() -> dict[tuple[int, int, int], int]:
    """This process's open file descriptors, keyed by (fd, device, inode): a reused number is a new key.

    psutil lists only the regular files and sockets among them, so the numbers come from the fd folder.
    """
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the folder's own descriptor is closed by now
            stat = os.fstat(int(name))
            fds[(int(name), stat.st_dev, stat.st_ino)] = int(name)
    return fds


def _describe_fds(fds: list[int]) -> list[str]:
    """Each fd with what it is: psutil's file path or socket addresses, else the kernel's name for it."""
    me = psutil.Process()
    named = {f.fd: f.path for f in me.open_files()}
    named.update({c.fd: f"socket {c.laddr}->{c.raddr or '-'} {c.status}".rstrip()
                  for c in me.net_connections(kind="all") if c.fd >= 0})
    described = []
    for fd in sorted(fds):
        try:
            what = named.get(fd) or os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            what = "closed meanwhile"
        described.append(f"{fd}: {what}")
    return described


def _process_wide_helpers() -> tuple[set[int], set[int]]:
    """Pids and fds of the helpers multiprocessing starts once per process (resource tracker, forkserver).

    Whichever test first needs one starts it, and it lives until the worker exits: not a test's leak.
    """
    from multiprocessing import forkserver, resource_tracker

    tracker, server = resource_tracker._resource_tracker, forkserver._forkserver
    pids = {tracker._pid, server._forkserver_pid} - {None}
    fds = {tracker._fd, server._forkserver_alive_fd} - {None}
    return pids, fds


class _ThreadParents:
    """While active, each thread started records the thread that started it (``wslab_parent``)."""

    def __enter__(self) -> _ThreadParents:
        self._start = threading.Thread.start
        original = self._start

        def start(thread: threading.Thread) -> None:
            thread.wslab_parent = threading.current_thread()  # type: ignore[attr-defined]
            original(thread)

        threading.Thread.start = start  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        threading.Thread.start = self._start  # type: ignore[method-assign]


def _started_by(thread: threading.Thread, test_thread: threading.Thread, older: set[threading.Thread]) -> bool:
    """Whether *thread* descends from *test_thread* through threads started during the test.

    A thread started by one of the *older* threads (those an earlier test or a session fixture
    left running) is not this test's; a thread that recorded no parent counts as the test's.
    """
    while thread is not test_thread:
        parent = getattr(thread, "wslab_parent", None)
        if parent is None:
            return True
        if parent in older and parent is not test_thread:
            return False
        thread = parent
    return True


def _stop_tqdm_monitors() -> None:
    """Stop tqdm's process-wide monitor thread(s), whichever earlier test started them.

    tqdm starts the monitor with the first bar of a class whose ``monitor_interval`` is not 0
    (even a disabled bar) and keeps it until the process exits; stopped here, a plain tqdm bar
    made during the test starts a new one, which the check then reports, in any test order.
    """
    for thread in threading.enumerate():
        if isinstance(thread, TMonitor):
            thread.exit()


@dataclass
class _Before:
    """What ran and was open when a test started."""

    test_thread: threading.Thread = field(default_factory=threading.current_thread)
    threads: set[threading.Thread] = field(default_factory=lambda: set(threading.enumerate()))
    children: set[psutil.Process] = field(default_factory=child_processes)
    fds: set[tuple[int, int, int]] = field(default_factory=lambda: set(open_fds()))

    def leaks(self) -> Leaks:
        """What the test has started or opened since, and not yet ended or closed."""
        gc.collect()
        new = set(threading.enumerate()) - self.threads
        threads = sorted(t.name for t in new if t.is_alive() and _started_by(t, self.test_thread, self.threads))
        helper_pids, helper_fds = _process_wide_helpers()
        children = sorted(f"{p.pid} {_cmdline(p)}" for p in child_processes() - self.children
                          if p.pid not in helper_pids | _SESSION_PIDS)
        fds = [fd for key, fd in open_fds().items()
               if key not in self.fds | _SESSION_FDS and fd not in helper_fds]
        return Leaks(threads, children, _describe_fds(fds) if fds else [])


def _cmdline(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return " ".join(process.cmdline())[:120]
    return "(gone)"


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves a thread, child process or file descriptor behind.

    Only what the test itself (and the fixtures it asks for after this one) started counts:
    threads, children and fds that existed before it are compared by identity, so one that an
    earlier test left and that ends late is not blamed here; threads started meanwhile by such
    older threads are not either.  Process-wide helpers started once per worker (tqdm's monitor
    is stopped first so that a new one is caught; multiprocessing's resource tracker and
    forkserver; what session fixtures open) are not a test's leak.  Leftovers get 5 s to end.
    """
    _stop_tqdm_monitors()
    with _ThreadParents():
        before = _Before()
        yield
        with contextlib.suppress(WaitTimeout):
            wait_until(lambda: not before.leaks(), timeout=5, interval=0.1)
        left = before.leaks()
    assert not left.threads, f"threads left behind: {left.threads}"
    assert not left.children, f"child processes left behind: {left.children}"
    assert not left.fds, f"file descriptors left open: {left.fds}"
