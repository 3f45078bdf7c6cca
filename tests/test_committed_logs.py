"""The committed logs, counted by hand: both parser paths must give these numbers.

The expected values below were counted with ``grep`` on the raw files (request
lines by status, ``AssertionError: write() before start_response`` lines,
``Bad request syntax`` records) and written here by hand; they do not come
from the parser or from ``data/logs/manifest.json`` (which the kit wrote).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wslab.logs import parse_log, scan_summary, summarize

pytestmark = pytest.mark.pins_independent

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"

#: file -> (status counts, write() before start_response tracebacks, Bad request syntax records)
HAND_COUNTED = {
    "before.log": ({"200": 182, "302": 48, "500": 20}, 20, 0),
    "no-session.log": ({"200": 182, "302": 48, "500": 20}, 20, 0),
    "writeup-fix.log": ({"200": 182, "302": 48, "500": 20}, 20, 0),
    "guard.log": ({"101": 20, "200": 182, "302": 48}, 0, 0),
    "writeup_excerpt.log": ({"500": 1}, 1, 0),
}


def test_every_committed_log_is_counted_here() -> None:
    assert sorted(p.name for p in LOGS.glob("*.log")) == sorted(HAND_COUNTED)


@pytest.mark.parametrize("path", ["parsed", "streamed"])
@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_committed_log_counts(name: str, path: str) -> None:
    statuses, assertion_tracebacks, bad_syntax = HAND_COUNTED[name]
    source = LOGS / name
    summary = summarize(parse_log(source)) if path == "parsed" else scan_summary([source])
    assert summary["status_counts"] == statuses
    assert summary["request_lines"] == sum(statuses.values())
    assert summary["server_errors"] == sum(n for s, n in statuses.items() if s.startswith("5"))
    assert summary["write_before_start_response"] == assertion_tracebacks
    assert summary["bad_request_syntax_lines"] == bad_syntax
