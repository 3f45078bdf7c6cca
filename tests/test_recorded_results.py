"""The committed matrix and bisect results against the committed logs they were counted from.

``data/matrix/`` and ``data/bisect/python-engineio/`` hold what ``wslab matrix``
and ``wslab bisect`` recorded, with the log of every row. Each count is
checked here with this module's own regexes over those raw logs, and the
conclusions the notebooks print are worked out again from those regex counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.pins_independent

DATA = Path(__file__).resolve().parent.parent / "data"
MATRIX = DATA / "matrix"
BISECT = DATA / "bisect" / "python-engineio"

OWN_LINE = re.compile(rb'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?(?P<query>\S*transport=websocket\S*) HTTP/1\.1'
                      rb'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')
WBSR = re.compile(rb"^AssertionError: write\(\) before start_response", re.M)


def _statuses(log: bytes, prefix: str) -> dict[str, int]:
    """Status of each connection's own WebSocket line, by connection id, for ids starting with *prefix*."""
    found = {}
    for m in OWN_LINE.finditer(log):
        conn = re.search(rb"(?:^|&)wslab_conn=(" + prefix.encode() + rb"[^&]*)", m["query"])
        if conn:
            found[conn[1].decode()] = int(m["status"])
    return found


def _check(counts: dict, log: bytes, prefix: str) -> None:
    statuses = _statuses(log, prefix)
    n = counts["connections"]
    assert counts["status_500"] == sum(s == 500 for s in statuses.values())
    assert counts["status_101"] == sum(s == 101 for s in statuses.values())
    assert counts["status_200"] == sum(s == 200 for s in statuses.values())
    assert counts["not_logged"] == n - len(statuses)


def test_every_matrix_row_counts_what_its_committed_log_shows() -> None:
    record = json.loads((MATRIX / "matrix.json").read_text())
    assert record["rows"], "the recorded matrix has rows"
    assert not [c["name"] for c in record["cells"] if c["error"]], "no recorded cell failed"
    for row in record["rows"]:
        log = b"".join((MATRIX / "logs" / name).read_bytes() for name in row["logs"])
        _check(row["direct"], log, "websocket-")
        _check(row["upgrade"], log, "upgrade-")
        wbsr = row["direct"]["write_before_start_response"] + row["upgrade"]["write_before_start_response"]
        assert wbsr == len(WBSR.findall(log)), (row["cell"], row["variant"])


def test_the_bisect_counts_what_each_release_log_shows() -> None:
    record = json.loads((BISECT / "bisect.json").read_text())
    measured = [r for r in record["releases"] if not r["error"]]
    assert measured
    with_500 = []
    for release in measured:
        log = (BISECT / "logs" / release["log"]).read_bytes()
        _check(release["direct"], log, "websocket-")
        with_500.append(sum(s == 500 for s in _statuses(log, "websocket-").values()) > 0)
    # the earliest release with no 500 after which no measured release has one, from the regex counts
    first = None
    for i, release in enumerate(measured):
        if not any(with_500[i:]):
            first = release["version"]
            break
    assert record["first_release_without_500"] == first


def test_the_readme_states_what_the_recorded_results_show() -> None:
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    findings = readme[readme.index("## What the kit found"):readme.index("## Set up and run")]
    bisect = json.loads((BISECT / "bisect.json").read_text())
    assert f"**{bisect['first_release_without_500']}**" in findings
    rows = {(r["cell"], r["variant"]): r for r in json.loads((MATRIX / "matrix.json").read_text())["rows"]}
    before, fix = rows[("incident", "before")], rows[("incident", "writeup-fix")]
    seen = (f"**{before['session_visible_in_handler']}/{before['socketio_users']} → "
            f"{fix['session_visible_in_handler']}/{fix['socketio_users']}**")
    assert seen in findings
    direct_500 = {cell: rows[(cell, "before")]["direct"]["status_500"] for cell in
                  ("incident", "engineio-current", "werkzeug-current", "engineio-current-debugger",
                   "incident-gunicorn", "engineio-current-gunicorn")}
    # "engineio alone removes it; Werkzeug alone does not; the debugger brings it back; gunicorn: none"
    assert direct_500["incident"] > 0 and direct_500["engineio-current"] == 0
    assert direct_500["werkzeug-current"] > 0 and direct_500["engineio-current-debugger"] > 0
    assert direct_500["incident-gunicorn"] == direct_500["engineio-current-gunicorn"] == 0
    guards = [r for r in rows.values() if r["variant"] == "guard"]
    assert guards and all(r[k]["status_500"] == r[k]["status_400"] == 0 for r in guards for k in ("direct", "upgrade"))
    assert fix["direct"]["status_500"] == before["direct"]["status_500"]
    for cell in ("incident-gunicorn", "engineio-current-gunicorn"):
        assert rows[(cell, "before")]["server_side"].get("raised: StopIteration", 0) > 0
