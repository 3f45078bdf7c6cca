"""Short load runs on the real stack and a real Redis: what each session interface costs.

Four users for two seconds per phase (pages, then direct-WebSocket and
long-polling Socket.IO).  Half the page users sign in and keep using their
session, half are anonymous visitors (see :mod:`wslab.study.runs.load`).  The Redis
counts are exact because every user's sequence is fixed.
"""

from __future__ import annotations

import pytest

from wslab.errors import WslabError
from wslab.study.runs.load import PHASES, LoadResult, PhaseResult, run_load
from wslab.lab.stack import LabStack

pytestmark = pytest.mark.realredis

USERS, SECONDS = 4, 2.0


def signed_in(phase: PhaseResult) -> tuple[int, int, int]:
    """Requests of signed-in (even-numbered) users, how many signed-in users, their sign-ins."""
    mine = [s for s in phase.samples if s.user % 2 == 0]
    return len(mine), len({s.user for s in mine}), sum(1 for s in mine if s.what == "POST /login")


def assert_clean(result: LoadResult) -> None:
    """Every phase made requests, no client failed and no page got a 5xx."""
    for phase in result.phases.values():
        assert phase.requests > 0 and phase.errors == [], (phase.phase, phase.errors[:3])
        assert set(phase.statuses()) <= {200, 302}, (phase.phase, phase.statuses())
        assert phase.redis["redis_errors"] == 0
    pages = result.phases["pages"]
    assert pages.server_requests == pages.requests  # one server request per page sample


@pytest.fixture
def load(tmp_path, real_redis_handle):
    """Run the standard load against a fresh stack of *variant* on the real Redis."""
    def run(variant: str) -> LoadResult:
        with LabStack(variant, log_path=tmp_path / f"{variant}.log", redis_url=real_redis_handle.url) as stack:
            return run_load(stack, USERS, SECONDS, mix=PHASES)
    return run


def test_fixed_interface_round_trips(load, no_leaks):
    result = load("writeup-fix")
    assert_clean(result)
    pages = result.phases["pages"]
    assert pages.per_request("redis_reads") <= 1 and pages.per_request("redis_writes") <= 1
    # signed-in users: one read per request except their first, one write (SET or EXPIRE) per
    # request, one DEL of the old id per sign-in after the first; anonymous visitors: nothing
    requests, users, sign_ins = signed_in(pages)
    assert pages.redis["redis_reads"] == requests - users
    assert pages.redis["redis_writes"] == requests
    assert pages.redis["redis_deletes"] == sign_ins - users
    for kind in ("websocket", "polling"):
        phase = result.phases[kind]
        assert phase.redis_commands() == 0, (kind, phase.redis)
        assert phase.redis["skipped_websocket"] >= phase.requests


def test_legacy_interface_round_trips(load, no_leaks):
    """Measured: a read (except without a cookie) and a write for every page, anonymous
    visitors included, and about one read per Socket.IO event (connect, each call and the
    disconnect) but no write."""
    result = load("before")
    assert_clean(result)
    pages = result.phases["pages"]
    requests, users, sign_ins = signed_in(pages)
    assert pages.redis["redis_reads"] == pages.requests - USERS
    assert pages.redis["redis_writes"] == pages.requests
    assert pages.redis["redis_deletes"] == sign_ins - users
    for kind in ("websocket", "polling"):
        phase = result.phases[kind]
        # one read per event; a polling client's last event can still be in flight when
        # the phase's clock stops, so its read may land on either side of the count
        assert phase.requests <= phase.redis["redis_reads"] <= phase.requests + USERS, (kind, phase.redis)
        assert phase.redis["redis_writes"] == phase.redis["redis_deletes"] == 0
        assert phase.redis["skipped_websocket"] == 0


def test_load_on_a_bare_url_measures_latency_only(tmp_path, no_leaks):
    with LabStack("writeup-fix", log_path=tmp_path / "a.log", redis_url="fakeredis") as stack:
        result = run_load(stack.url, users=2, seconds=0.5, max_per_user=20)
        stack.wait_idle()
    pages = result.phases["pages"]
    assert 0 < pages.requests <= 40 and pages.redis is None and pages.server_requests is None
    assert pages.latency_ms(50) <= pages.latency_ms(99)
    assert list(result.summary().index) == ["pages"]
    assert len(result.samples()) == pages.requests


def test_bad_arguments_are_one_clear_error():
    with pytest.raises(WslabError, match="unknown load phase"):
        run_load("http://127.0.0.1:1", users=1, seconds=1, mix=("pages", "carrier-pigeon"))
    with pytest.raises(WslabError, match="must be positive"):
        run_load("http://127.0.0.1:1", users=0, seconds=1)
