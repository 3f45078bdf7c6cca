"""The whole stack under faults, and many start/stop cycles in one process.

Fault tests: the lab stack talks to a private ``redis-server`` with an fsynced
append-only file (``--appendonly yes --appendfsync always``) in a temporary
directory.  While simulated page users run (:func:`wslab.study.runs.load.run_load`,
repeated on a worker thread), Redis is stopped twice, once with SIGTERM and once
with SIGKILL, and restarted on the same port each time; a signed-in visitor,
Alice, keeps browsing through both outages.  Because every acknowledged write is
on disk, anything lost afterwards would be lost by the session interface, not by
Redis.

The outage schedule waits on conditions, not on the clock: Redis stays down (and,
once restarted, up) until the log shows enough page requests completed in that
interval that at least one load request provably ran entirely inside it (see
:data:`INSIDE`).  The assertions are bounds and relations between what the
clients recorded and what an independent regular expression finds in the raw
log, so they hold however the threads are scheduled.

Leak test: ten start/stop cycles of a stack whose Redis is a ``redis-server``
child, each with one direct-WebSocket, one polling and one plain HTTP user,
leave no thread, child process, file descriptor or TCP socket behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import requests

import logcheck
from wslab.study.runs.load import LoadResult, run_load
from restartable_redis import RestartableRedis
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None,
                                        reason="redis-server is not installed")

USERS = 4
#: How each outage stops Redis, in order.
OUTAGES = (signal.SIGTERM, signal.SIGKILL)
#: Redis stays down at least this long, so Alice asks several times during each outage.
MIN_DOWN_SECONDS = 1.0
#: Each :func:`run_load` call on the load thread lasts this long; calls repeat until the schedule ends.
LOAD_ROUND_SECONDS = 1.0
#: Load request lines that must be logged inside an interval before it may end.  Each
#: user's requests are sequential and Werkzeug logs a request before its client has
#: read the answer, so a user with three lines inside an interval made the middle
#: request entirely inside it; with ``2 * USERS + 1`` lines some user has three.
INSIDE = 2 * USERS + 1
#: Generous limit for every condition the schedule waits on.
CONDITION_TIMEOUT = 60.0
#: What Alice asks for; the query tells her request lines apart from the load's.
ALICE_PROBE = "/whoami?probe=alice"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    handle = RestartableRedis(tmp_path)
    handle.start()
    yield handle
    handle.stop(signal.SIGKILL)


class LogTail:
    """Counts the load's request lines logged since the last :meth:`mark`, read from the raw file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        """Start counting from the end of the log as it is now."""
        self.offset = self.path.stat().st_size

    def load_lines(self) -> int:
        """Complete request lines after the mark that are not Alice's."""
        data = self.path.read_bytes()[self.offset:]
        data = data[:data.rfind(b"\n") + 1]
        return sum(1 for r in logcheck.requests(data) if "probe=alice" not in r["target"])


def wait_for(condition: Callable[[], bool], what: str, load: Future,
             step: Callable[[], None] = lambda: time.sleep(0.05)) -> None:
    """Run *step* until *condition* holds; fail if the load thread stopped or time ran out."""
    deadline = time.monotonic() + CONDITION_TIMEOUT
    while not condition():
        if load.done():
            load.result()  # re-raise what stopped it
            pytest.fail(f"the load stopped before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {CONDITION_TIMEOUT:.0f} s waiting for {what}")
        step()


def load_until(stack: LabStack, stop: threading.Event) -> list[LoadResult]:
    """Page load in rounds of :data:`LOAD_ROUND_SECONDS` until *stop* is set."""
    rounds = []
    while not stop.is_set():
        rounds.append(run_load(stack, USERS, LOAD_ROUND_SECONDS))
    return rounds


class OutageRun:
    """What :func:`run_with_outages` recorded: load samples, outage windows, restarts, Alice's answers."""

    def __init__(self, rounds: list[LoadResult], windows: list[tuple[float, float]],
                 restarts: list[float], answers: list[dict]) -> None:
        self.samples = pd.concat([r.samples() for r in rounds], ignore_index=True)
        self.client_errors = [e for r in rounds for p in r.phases.values() for e in p.errors]
        self.windows = windows
        self.restarts = restarts
        self.answers = answers

    def during(self) -> pd.Series:
        """True for samples that started and ended while Redis was down."""
        return self.inside(self.windows)

    def inside(self, intervals: list[tuple[float, float]]) -> pd.Series:
        """True for samples that started and ended inside one of *intervals* (monotonic times)."""
        ends = self.samples["started"] + self.samples["seconds"]
        mask = pd.Series(False, index=self.samples.index)
        for start, end in intervals:
            mask |= (self.samples["started"] >= start) & (ends <= end)
        return mask

    def up_intervals(self) -> list[tuple[float, float]]:
        """From each restart to the next outage (the last one to the end of the load)."""
        downs = [down for down, _ in self.windows[1:]] + [float("inf")]
        return list(zip(self.restarts, downs))


def run_with_outages(stack: LabStack, server: RestartableRedis, alice: requests.Session,
                     log: Path) -> OutageRun:
    """Run page load on a worker thread, stop and restart Redis per :data:`OUTAGES`.

    Alice asks :data:`ALICE_PROBE` while Redis is down.  Each outage lasts at
    least :data:`MIN_DOWN_SECONDS` and until :data:`INSIDE` load lines were
    logged during it; after each restart the load runs until another
    :data:`INSIDE` lines were logged.  Nothing is asserted on the load thread:
    its result (or exception) is collected here, in the test thread.
    """
    tail, stop = LogTail(log), threading.Event()
    windows: list[tuple[float, float]] = []
    restarts: list[float] = []
    answers: list[dict] = []

    def ask_alice() -> None:
        response = alice.get(stack.url + ALICE_PROBE, timeout=10)
        answers.append({"status": response.status_code, "set_cookie": "Set-Cookie" in response.headers,
                        "body": response.text})
        time.sleep(0.1)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wslab-test-load") as pool:
        load = pool.submit(load_until, stack, stop)
        try:
            tail.mark()
            wait_for(lambda: tail.load_lines() >= INSIDE, "the load got going", load)
            for sig in OUTAGES:
                server.stop(sig)
                down = time.monotonic()
                tail.mark()
                wait_for(lambda: time.monotonic() - down >= MIN_DOWN_SECONDS and tail.load_lines() >= INSIDE,
                         f"{INSIDE} load requests while Redis was down", load, step=ask_alice)
                windows.append((down, time.monotonic()))
                server.start()
                restarts.append(time.monotonic())
                tail.mark()
                wait_for(lambda: tail.load_lines() >= INSIDE,
                         f"{INSIDE} load requests after Redis restarted", load)
        finally:
            stop.set()
            rounds = load.result(timeout=LOAD_ROUND_SECONDS + CONDITION_TIMEOUT)
    return OutageRun(rounds, windows, restarts, answers)


def log_lines(path: Path, text: str) -> int:
    """How many lines of the lab log contain *text*."""
    return sum(text in line for line in path.read_text(errors="replace").splitlines())


def sign_in(stack: LabStack, name: str) -> requests.Session:
    """A browser session signed in as *name*."""
    browser = requests.Session()
    assert browser.post(stack.url + "/login", data={"user": name}, allow_redirects=False).status_code == 302
    return browser


@needs_redis_server
def test_fixed_interface_stack_serves_through_outages(tmp_path, no_leaks, server):
    log = tmp_path / "webapp.log"
    with LabStack("writeup-fix", log_path=log, redis_url=server.url) as stack, \
            sign_in(stack, "alice") as alice:
        cookie = alice.cookies["session"]
        run = run_with_outages(stack, server, alice, log)
        after = alice.get(stack.url + "/whoami", timeout=10)
        with sign_in(stack, "bob") as bob:
            bob_after = bob.get(stack.url + "/whoami", timeout=10).json()
        stats = stack.demo.app.session_interface.stats.snapshot()
        sid = cookie.partition(".")[0]
        stored = stack.redis.client.exists(stack.key_prefix + sid)

    samples, down = run.samples, run.during()
    assert run.client_errors == []
    assert down.sum() >= 1 and (~down).sum() >= 1
    assert set(samples["status"]) <= {200, 302}, samples["status"].value_counts().to_dict()
    # during every outage Alice is served as a visitor, and her cookie is left alone
    assert len(run.answers) >= len(OUTAGES)
    assert all(a == {"status": 200, "set_cookie": False, "body": run.answers[0]["body"]} for a in run.answers)
    assert '"user":null' in run.answers[0]["body"]
    # recovered without a restart; what Alice stored before the outages is still there
    assert after.json()["user"] == "alice" and alice.cookies["session"] == cookie
    assert bob_after["user"] == "bob" and stored == 1
    # one warning when an outage starts, one line when it ends: at least one pair per outage
    warnings = log_lines(log, "WARNING wslab.app.sessions - Redis is unavailable")
    assert warnings >= len(OUTAGES)
    assert log_lines(log, "Redis is reachable again") == warnings
    assert stats["outages"] == warnings and stats["redis_errors"] >= warnings
    assert [r["line"] for r in logcheck.requests(logcheck.read(log)) if r["status"] >= 500] == []


@needs_redis_server
def test_legacy_interface_stack_answers_500_during_outages(tmp_path, no_leaks, server):
    """Measured: every page request that runs while Redis is down gets a 500, each
    logged with the ConnectionError's traceback (and, when Redis is still down at
    the end, Flask's failure to save a session while finalizing the error
    response); none is logged as a warning.  redis-py reconnects by itself, so
    pages work again once Redis is back, and the append-only file keeps Alice's
    session."""
    log = tmp_path / "webapp.log"
    with LabStack("before", log_path=log, redis_url=server.url) as stack, \
            sign_in(stack, "alice") as alice:
        run = run_with_outages(stack, server, alice, log)
        after = alice.get(stack.url + "/whoami", timeout=10)
        stats = stack.demo.app.session_interface.stats.snapshot()

    samples, down = run.samples, run.during()
    assert run.client_errors == []
    assert down.sum() >= 1
    assert set(samples.loc[down, "status"]) == {500}
    assert len(run.answers) >= len(OUTAGES) and {a["status"] for a in run.answers} == {500}
    # recovery: after each restart, pages that ran entirely while Redis was up were served
    for interval in run.up_intervals():
        served = samples.loc[run.inside([interval]), "status"]
        assert len(served) >= 1 and served.isin([200, 302]).any(), (interval, served.tolist())
    assert after.status_code == 200 and after.json()["user"] == "alice"

    seen = int((samples["status"] == 500).sum()) + len(run.answers)
    surely_down = int(down.sum()) + len(run.answers)  # requests that ran entirely during an outage
    assert stats["outages"] >= len(OUTAGES) and stats["redis_errors"] >= seen
    logged = [r for r in logcheck.requests(logcheck.read(log)) if r["status"] >= 500]
    assert len(logged) == seen  # every 500 the server logged is one a client saw, and back
    assert log_lines(log, "ERROR wslab.app.demo - Exception on /") == len(logged)
    assert surely_down <= log_lines(log, "ERROR wslab.app.demo - Request finalizing failed") <= len(logged)
    assert log_lines(log, "WARNING wslab.app.sessions") == 0


def tcp_sockets() -> set[tuple[str, str, str]]:
    """This process's open TCP sockets as ``(local, remote, state)`` hex fields from /proc."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[9] in inodes:
                found.add((fields[1], fields[2], fields[3]))
    return found


@needs_redis_server
def test_ten_cycles_with_a_redis_server_child_leave_nothing(tmp_path, monkeypatch, no_leaks):
    monkeypatch.delenv("REDIS_URL", raising=False)
    sockets_before = tcp_sockets()
    kinds = []
    for _ in range(10):
        with LabStack("before", log_path=tmp_path / "cycles.log") as stack:
            kinds.append(stack.redis.kind)
            report = run_workload(stack, Workload(ws_users=1, polling_users=1, http_users=1))
            assert report.errors() == []
            assert report.totals()["socketio_connections"] == {"websocket": 1, "upgrade": 0, "polling": 1}
    assert kinds == ["redis-server"] * 10
    deadline = time.monotonic() + CONDITION_TIMEOUT
    while tcp_sockets() - sockets_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert tcp_sockets() - sockets_before == set()
