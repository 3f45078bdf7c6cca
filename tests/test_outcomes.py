"""One outcome per connection: the traffic driver's record joined with the server log.

The expected outcome of each connection comes from the raw log through a
regex of this module (the line carrying the connection's id), or is pinned by
hand for a log written here; never from the code under test.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from logcheck import read, tracebacks
from wslab.lab.stack import LabStack
from wslab.lab.traffic import TrafficReport, UserResult, Workload, run_workload
from wslab.logs import parse_log
from wslab.study.runs.outcomes import connection_outcomes, outcome_counts

OWN_LINE = re.compile(rb'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?(?P<query>\S*transport=websocket\S*) HTTP/1\.1'
                      rb'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')
LEFT_OVER = re.compile(rb'"(?:\x1b\[[0-9;]*m)*None /socket\.io/\?(?P<query>\S*) HTTP/0\.9(?:\x1b\[[0-9;]*m)*" 400 ')


def _expected(data: bytes, user: str) -> tuple[int | None, int]:
    """The status of *user*'s own WebSocket line (None if missing) and its left-over 400 lines."""
    tag = f"wslab_conn={user}".encode()
    own = [int(m["status"]) for m in OWN_LINE.finditer(data) if tag in m["query"].split(b"&")]
    left = sum(1 for m in LEFT_OVER.finditer(data) if tag in m["query"].split(b"&"))
    return (own[-1] if own else None), left


def _run(variant: str, tmp_path: Path, **users: int) -> tuple[TrafficReport, bytes]:
    log = tmp_path / f"{variant}.log"
    with LabStack(variant, log_path=log, redis_url="fakeredis") as stack:
        report = run_workload(stack, Workload(**users, concurrency=8))
    return report, read(log)


@pytest.mark.parametrize("variant", ["before", "guard"])
def test_each_connection_gets_the_status_its_own_line_shows(variant: str, tmp_path: Path) -> None:
    report, data = _run(variant, tmp_path, ws_users=4, upgrade_users=3, http_users=2)
    assert report.totals()["client_errors"] == 0
    outcomes = connection_outcomes(report, parse_log(io.BytesIO(data)))
    sent = {u.user: u.kind for u in report.users if u.kind in ("websocket", "upgrade")}
    assert sorted(outcomes["user"]) == sorted(sent), "one row per Socket.IO connection the workload opened"
    for row in outcomes.itertuples():
        status, left_over = _expected(data, row.user)
        assert (row.status, row.left_over_400) == (status, left_over), row.user
        assert row.outcome == ("not_logged" if status is None else f"status_{status}"), row.user
    counts = {kind: outcome_counts(outcomes, kind) for kind in ("direct", "upgrade")}
    assert counts["direct"]["connections"] == 4 and counts["upgrade"]["connections"] == 3
    assert sum(c["write_before_start_response"] for c in counts.values()) == tracebacks(data)


@pytest.mark.incident
def test_on_the_incident_pins_every_direct_websocket_logs_the_500_and_the_guard_none(tmp_path: Path) -> None:
    before, before_log = _run("before", tmp_path, ws_users=5)
    guard, guard_log = _run("guard", tmp_path, ws_users=5)
    before_counts = outcome_counts(connection_outcomes(before, parse_log(io.BytesIO(before_log))), "direct")
    guard_counts = outcome_counts(connection_outcomes(guard, parse_log(io.BytesIO(guard_log))), "direct")
    assert (before_counts["status_500"], before_counts["write_before_start_response"]) == (5, 5)
    assert (guard_counts["status_101"], guard_counts["status_500"], guard_counts["status_400"]) == (5, 0, 0)


HAND_LOG = b"""\
[2026-01-01T00:00:00.000001] INFO werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:00] "GET /socket.io/?wslab_conn=websocket-000&transport=websocket&EIO=4&t=1 HTTP/1.1" 500 -
[2026-01-01T00:00:00.000002] ERROR werkzeug - Error on request:
Traceback (most recent call last):
  File "/x/werkzeug/serving.py", line 255, in write
    assert status_set is not None, "write() before start_response"
AssertionError: write() before start_response
[2026-01-01T00:00:01.000001] ERROR werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:01] code 400, message Bad request syntax ('\\x88\\x82')
[2026-01-01T00:00:01.000002] INFO werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:01] "None /socket.io/?wslab_conn=websocket-001&transport=websocket&EIO=4&t=2 HTTP/0.9" 400 -
[2026-01-01T00:00:02.000001] INFO werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:02] "GET /socket.io/?wslab_conn=upgrade-000&transport=polling&EIO=4&t=3 HTTP/1.1" 200 -
[2026-01-01T00:00:02.000002] INFO werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:02] "GET /socket.io/?wslab_conn=upgrade-000&transport=websocket&EIO=4&sid=abc&t=4 HTTP/1.1" 200 -
[2026-01-01T00:00:03.000001] INFO werkzeug - 127.0.0.1 - - [01/Jan/2026 00:00:03] "GET /socket.io/?transport=websocket&EIO=4 HTTP/1.1" 101 -
"""


def test_hand_written_log_gives_the_outcomes_counted_by_hand() -> None:
    users = [UserResult("websocket-000", "websocket", socketio_connected=True),
             UserResult("websocket-001", "websocket", socketio_connected=True),
             UserResult("websocket-002", "websocket", socketio_connected=False),
             UserResult("upgrade-000", "upgrade", socketio_connected=True),
             UserResult("http-000", "http")]
    report = TrafficReport(Workload(ws_users=3, upgrade_users=1, http_users=1), users, 1.0)
    outcomes = connection_outcomes(report, parse_log(io.BytesIO(HAND_LOG)))
    assert outcomes.set_index("user")["outcome"].to_dict() == {
        "websocket-000": "status_500", "websocket-001": "not_logged",
        "websocket-002": "not_logged", "upgrade-000": "status_200"}
    assert outcome_counts(outcomes, "direct") == {
        "connections": 3, "status_500": 1, "status_101": 0, "status_200": 0, "status_400": 1,
        "not_logged": 2, "write_before_start_response": 1}
    assert outcome_counts(outcomes, "upgrade") == {
        "connections": 1, "status_500": 0, "status_101": 0, "status_200": 1, "status_400": 0,
        "not_logged": 0, "write_before_start_response": 0}
