"""The hot-apply run: fixes applied to one running stack while traffic flows.

A direct WebSocket lives about 3 s and Werkzeug logs it only when it closes, so
its request line can land in a later phase than the one it was opened in.  The
tests therefore never attribute a connection by the phase its line landed in.
They use two records that do not depend on scheduling:

* the clients' own start and end times (``hot["users"]``), taken around each
  simulated user, and the instant each change was marked (``hot["changes"]``),
  taken after the change was applied;
* the ``t=`` query parameter that the Engine.IO client puts in every URL it
  requests (its ``time.time()`` when it sent the request), read from the raw
  log by :mod:`logcheck`.

A request whose ``t`` is later than a change's instant reached the server after
the change was in place.  A user whose client ended before a change began was
served entirely before it: the next change begins no earlier than
``phase_seconds`` after the previous change's instant.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import logcheck
from wslab.study.runs.hot_apply import PHASES, guard_check, open_across, run_hot_apply

#: Long enough for a direct WebSocket user (about 3.5 s from sign-in to the last
#: request) to start and finish inside one phase; three phases stay under 25 s.
PHASE_SECONDS = 6.0


@pytest.fixture(scope="module")
def hot(tmp_path_factory) -> dict:
    """One hot-apply run on fakeredis, with the raw log split at its phase markers."""
    out = tmp_path_factory.mktemp("hot")
    result = run_hot_apply(out, phase_seconds=PHASE_SECONDS, interval=0.25, redis_url="fakeredis")
    result["out"] = out
    result["segments"] = split_at_markers(logcheck.read(out / "logs" / "hot-apply.log"))
    return result


#: Any request line, HTTP/0.9 ones included (newer Werkzeug logs left-over WebSocket bytes so).
STATUS = re.compile(rb'HTTP/\d\.\d(?:\x1b\[[0-9;]*m)*" (\d{3}) ')
#: A phase marker line, as ``LabStack.mark_phase`` writes it.
MARKER = re.compile(rb"^\[[^\]]+\] INFO wslab - phase: (\S+) ")


def split_at_markers(data: bytes) -> dict[str, bytes]:
    """The raw log cut at its phase markers: ``{phase: its lines}``, ``""`` for lines before the first."""
    segments: dict[str, list[bytes]] = {"": []}
    current = ""
    for line in data.splitlines(keepends=True):
        marker = MARKER.match(line)
        if marker:
            current = marker[1].decode()
            segments[current] = []
        else:
            segments[current].append(line)
    return {name: b"".join(lines) for name, lines in segments.items()}


def direct_websockets(data: bytes) -> list[tuple[float, int]]:
    """``(client send time, status)`` of every direct-WebSocket request line in *data*.

    A direct WebSocket asks for ``transport=websocket`` without an Engine.IO
    ``sid`` (an upgrade carries the ``sid`` of its polling session).
    """
    found = []
    for request in logcheck.requests(data):
        target = urlsplit(request["target"])
        query = parse_qs(target.query)
        if target.path.startswith("/socket.io/") and query.get("transport") == ["websocket"] \
                and "sid" not in query:
            found.append((float(query["t"][0]), request["status"]))
    return found


def change_instant(hot: dict, name: str) -> float:
    """When change *name* was in place and marked, as a Unix time."""
    return dict(hot["changes"])[name].timestamp()


def websocket_users(hot: dict, started_after: float = float("-inf"),
                    ended_before: float = float("inf")) -> list[dict]:
    """The direct-WebSocket users whose client ran entirely inside ``(started_after, ended_before)``."""
    return [u for u in hot["users"] if u["kind"] == "websocket"
            and u["start"].timestamp() > started_after and u["end"].timestamp() < ended_before]


def test_three_phases_in_order_with_traffic_in_each(hot):
    table = hot["table"]
    assert table["phase"].tolist() == [name for name, _ in PHASES]
    assert [name for name, _ in hot["changes"]] == [name for name, _ in PHASES]
    assert list(hot["segments"]) == [""] + [name for name, _ in PHASES]
    assert (table["requests"] > 0).all()
    assert [u["error"] for u in hot["users"] if u["error"] is not None] == []


def test_outputs_written(hot):
    out = hot["out"]
    assert (out / "hot_apply.png").stat().st_size > 0
    assert pd.read_csv(out / "hot_apply.csv")["phase"].tolist() == [name for name, _ in PHASES]
    data = logcheck.read(out / "logs" / "hot-apply.log")
    assert data.count(b"phase: ") == len(PHASES)


def test_phase_counts_add_up_to_the_log(hot):
    """Per phase, the table counts exactly the request lines between that marker and the next."""
    table = hot["table"].set_index("phase")
    for name, _ in PHASES:
        statuses = [int(s) for s in STATUS.findall(hot["segments"][name])]
        assert table.loc[name, "requests"] == len(statuses), name
        assert table.loc[name, "server_errors"] == sum(s >= 500 for s in statuses), name


def test_every_websocket_opened_after_the_guard_gets_a_101(hot):
    guard = change_instant(hot, "guard")
    after = [status for t, status in direct_websockets(logcheck.read(hot["out"] / "logs" / "hot-apply.log"))
             if t > guard]
    opened_after = websocket_users(hot, started_after=guard)
    assert len(opened_after) >= 1, "no direct WebSocket user started after the guard went in"
    assert len(after) >= len(opened_after)
    assert set(after) == {101}, after


def test_guard_phase_errors_come_only_from_websockets_opened_before_it(hot):
    guard = change_instant(hot, "guard")
    segment = hot["segments"]["guard"]
    errors = [r for r in logcheck.requests(segment) if r["status"] >= 500]
    websocket_errors = [t for t, status in direct_websockets(segment) if status >= 500]
    assert len(errors) == len(websocket_errors), [r["line"] for r in errors]
    assert all(t < guard for t in websocket_errors), (websocket_errors, guard)


@pytest.mark.incident
def test_errors_before_the_guard_on_incident_pins(hot):
    """Every direct WebSocket that ran before the guard gets a 500, the write-up's fix or not."""
    lines = direct_websockets(logcheck.read(hot["out"] / "logs" / "hot-apply.log"))
    fix = change_instant(hot, "writeup-fix")
    before = websocket_users(hot, ended_before=change_instant(hot, "before") + PHASE_SECONDS)
    assert len(before) >= 1, "no direct WebSocket user ran entirely before the write-up's fix"
    assert sum(1 for t, status in lines if t < fix and status == 500) >= len(before)
    under_fix = websocket_users(hot, started_after=fix, ended_before=fix + PHASE_SECONDS)
    assert len(under_fix) >= 1, "no direct WebSocket user ran entirely under the write-up's fix"
    # the write-up's fix leaves the 500s
    assert sum(1 for t, status in lines if t > fix and status == 500) >= len(under_fix)


def test_open_across_counts_only_connections_spanning_the_instant():
    t = datetime(2025, 9, 1, 13, 0, 0)
    users = [
        {"kind": "websocket", "start": t - timedelta(seconds=2), "end": t + timedelta(seconds=1)},
        {"kind": "websocket", "start": t - timedelta(seconds=2), "end": t - timedelta(seconds=1)},
        {"kind": "http", "start": t - timedelta(seconds=2), "end": t + timedelta(seconds=1)},
    ]
    assert open_across(users, t) == 1


def connection_statuses(data: bytes) -> dict[str, int]:
    """Status of each direct WebSocket's own request line in *data*, by its ``wslab_conn`` id."""
    found = {}
    for request in logcheck.requests(data):
        query = parse_qs(urlsplit(request["target"]).query)
        if request["method"] == "GET" and query.get("transport") == ["websocket"] and "sid" not in query \
                and "wslab_conn" in query:
            found[query["wslab_conn"][0]] = request["status"]
    return found


def test_guard_check_agrees_with_the_raw_log_and_the_clients(hot):
    """Who opened after the guard comes from the clients' clocks; what they got, from the raw log."""
    guard = change_instant(hot, "guard")
    statuses = connection_statuses(logcheck.read(hot["out"] / "logs" / "hot-apply.log"))
    opened_after = websocket_users(hot, started_after=guard)
    started = {u["user"]: u["start"].timestamp() for u in hot["users"] if u["kind"] == "websocket"}
    guard_errors = [r for r in logcheck.requests(hot["segments"]["guard"]) if r["status"] >= 500]
    ids = [parse_qs(urlsplit(r["target"]).query).get("wslab_conn", [None])[0] for r in guard_errors]
    assert hot["guard"] == {
        "websockets_opened_after": len(opened_after),
        "of_them_with_101": sum(statuses.get(u["user"]) == 101 for u in opened_after),
        "guard_phase_5xx": len(guard_errors),
        "from_websockets_opened_before": sum(1 for i in ids if i in started and started[i] < guard),
    }


LINE = ('[2025-09-01T13:00:{s:02d}.000000] INFO werkzeug - 127.0.0.1 - - [01/Sep/2025 13:00:{s:02d}] '
        '"GET {target} HTTP/1.1" {status} - (taskName=None)\n')
MARK = "[2025-09-01T13:00:{s:02d}.000000] INFO wslab - phase: {name} (taskName=None)\n"


def test_guard_check_on_a_hand_written_log(tmp_path):
    """Two WebSockets opened before the guard (one closes in its phase with a 500), two after it."""
    t = datetime(2025, 9, 1, 13, 0, 0)
    ws = "/socket.io/?wslab_conn={}&transport=websocket&EIO=4"
    log = tmp_path / "hot.log"
    log.write_text(
        MARK.format(s=0, name="before") + LINE.format(s=1, target=ws.format("websocket-0000"), status=500)
        + MARK.format(s=10, name="guard")
        + LINE.format(s=11, target=ws.format("websocket-0001"), status=500)
        + LINE.format(s=12, target="/whoami", status=200)
        + LINE.format(s=13, target=ws.format("websocket-0002"), status=101)
        + LINE.format(s=14, target=ws.format("websocket-0003"), status=500)
        + LINE.format(s=15, target="/broken", status=502), encoding="utf-8")
    users = [{"user": "websocket-0000", "kind": "websocket", "start": t, "end": t + timedelta(seconds=2)},
             {"user": "websocket-0001", "kind": "websocket", "start": t + timedelta(seconds=8),
              "end": t + timedelta(seconds=11)},
             {"user": "http-0001", "kind": "http", "start": t + timedelta(seconds=11), "end": t + timedelta(seconds=12)},
             {"user": "websocket-0002", "kind": "websocket", "start": t + timedelta(seconds=11),
              "end": t + timedelta(seconds=13)},
             {"user": "websocket-0003", "kind": "websocket", "start": t + timedelta(seconds=12),
              "end": t + timedelta(seconds=14)}]
    changes = [("before", t), ("guard", t + timedelta(seconds=10))]
    assert guard_check(log, users, changes) == {"websockets_opened_after": 2, "of_them_with_101": 1,
                                                "guard_phase_5xx": 3, "from_websockets_opened_before": 1}
