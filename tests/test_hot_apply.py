"""The hot-apply run: fixes applied to one running stack while traffic flows."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import logcheck
from wslab.study.hot_apply import PHASES, open_across, run_hot_apply


@pytest.fixture(scope="module")
def hot(tmp_path_factory) -> dict:
    """One short hot-apply run on fakeredis (phases longer than a direct WebSocket's ~3 s life)."""
    out = tmp_path_factory.mktemp("hot")
    result = run_hot_apply(out, phase_seconds=4.5, interval=0.25, redis_url="fakeredis")
    result["out"] = out
    return result


def test_three_phases_in_order_with_traffic_in_each(hot):
    table = hot["table"]
    assert table["phase"].tolist() == [name for name, _ in PHASES]
    assert (table["requests"] > 0).all()
    assert all(u["error"] is None for u in hot["users"])


def test_outputs_written(hot):
    out = hot["out"]
    assert (out / "hot_apply.png").stat().st_size > 0
    assert pd.read_csv(out / "hot_apply.csv")["phase"].tolist() == [name for name, _ in PHASES]
    data = logcheck.read(out / "logs" / "hot-apply.log")
    assert data.count(b"phase: ") == len(PHASES)


#: Any request line, HTTP/0.9 ones included (newer Werkzeug logs left-over WebSocket bytes so).
STATUS = re.compile(rb'HTTP/\d\.\d(?:\x1b\[[0-9;]*m)*" (\d{3}) ')


def test_phase_counts_add_up_to_the_log(hot):
    statuses = [int(s) for s in STATUS.findall(logcheck.read(hot["out"] / "logs" / "hot-apply.log"))]
    probe = 1  # the readiness probe, logged before the first marker
    assert hot["table"]["requests"].sum() == len(statuses) - probe
    assert hot["table"]["server_errors"].sum() == sum(s >= 500 for s in statuses)


def test_guard_phase_errors_come_only_from_websockets_opened_before_it(hot):
    guard = hot["table"].set_index("phase").loc["guard"]
    assert guard["server_errors"] <= guard["open_across_change"]


@pytest.mark.incident
def test_errors_before_the_guard_on_incident_pins(hot):
    table = hot["table"].set_index("phase")
    assert table.loc["before", "server_errors"] > 0
    assert table.loc["writeup-fix", "server_errors"] > 0  # the write-up's fix leaves the 500s


def test_open_across_counts_only_connections_spanning_the_instant():
    from datetime import datetime, timedelta

    t = datetime(2025, 9, 1, 13, 0, 0)
    users = [
        {"kind": "websocket", "start": t - timedelta(seconds=2), "end": t + timedelta(seconds=1)},
        {"kind": "websocket", "start": t - timedelta(seconds=2), "end": t - timedelta(seconds=1)},
        {"kind": "http", "start": t - timedelta(seconds=2), "end": t + timedelta(seconds=1)},
    ]
    assert open_across(users, t) == 1
