"""The committed deploy log (``data/logs/deploys/``): its phases, read without the kit's parser.

The log was recorded by the command its manifest names: one stack under steady
traffic, the write-up's fix and then the guard applied at ``wslab - phase:``
marker lines.  The test splits the raw lines at those markers with its own
regex and checks :func:`wslab.logs.analyze_log`'s before/after table and its
direct-WebSocket count against them.
"""

from __future__ import annotations

import json
import re

import pytest

from logcheck import REQUEST
from wslab.logs import analyze_log
from wslab.paths import DATA_DIR

pytestmark = pytest.mark.pins_independent

FOLDER = DATA_DIR / "logs" / "deploys"
LOG = FOLDER / "hot-apply.log"
MARKER = re.compile(rb"^\[(?P<ts>[^\]]+)\] INFO wslab - phase: (?P<name>\S+)")


def _phases() -> list[tuple[str, str, list[int]]]:
    """(marker time, phase name, statuses of the request lines after it) per marker, in file order."""
    phases: list[tuple[str, str, list[int]]] = []
    for line in LOG.read_bytes().splitlines():
        marker = MARKER.match(line)
        if marker:
            phases.append((marker["ts"].decode(), marker["name"].decode(), []))
        elif (request := REQUEST.search(line)) and phases:
            phases[-1][2].append(int(request["status"]))
    return phases


def test_the_manifest_names_the_command_and_the_versions() -> None:
    entry = json.loads((FOLDER / "manifest.json").read_text())["hot-apply.log"]
    assert entry["command"].startswith("wslab experiment ") and "--hot-apply" in entry["command"]
    assert entry["versions"]["werkzeug"] == "2.3.8" and entry["versions"]["python-engineio"] == "4.12.2"


def test_three_phases_the_fix_then_the_guard() -> None:
    assert [name for _, name, _ in _phases()] == ["before", "writeup-fix", "guard"]


def test_before_after_counts_equal_the_raw_lines_between_the_markers() -> None:
    phases = _phases()
    overview = analyze_log(LOG, deploy_at=[ts for ts, _, _ in phases[1:]])
    table = overview.before_after
    assert table is not None
    # Requests logged before the first marker (the stack's readiness probe) count in phase 0.
    head = [int(m["status"]) for line in LOG.read_bytes().split(phases[0][0].encode())[0].splitlines()
            if (m := REQUEST.search(line))]
    expected = [len(phases[0][2]) + len(head), len(phases[1][2]), len(phases[2][2])]
    assert table["requests"].tolist() == expected
    expected_5xx = [sum(s >= 500 for s in phases[0][2] + head), sum(s >= 500 for s in phases[1][2]),
                    sum(s >= 500 for s in phases[2][2])]
    assert table["server_errors"].tolist() == expected_5xx
    assert expected_5xx[0] > 0 and expected_5xx[1] > 0, "the write-up's fix leaves the 500s"


def test_direct_websocket_requests_by_an_independent_regex() -> None:
    lines = [m for line in LOG.read_bytes().splitlines() if (m := REQUEST.search(line))]
    direct = [m for m in lines if b"transport=websocket" in m["target"] and b"sid=" not in m["target"]]
    row = analyze_log(LOG).by_kind.set_index("kind").loc["direct websocket"]
    assert int(row["requests"]) == len(direct)
    assert int(row["server_errors"]) == sum(int(m["status"]) >= 500 for m in direct)


def test_named_deploys_from_the_markers_label_the_phases_and_the_chart() -> None:
    from wslab.logs import marker_deploys, parse_log

    phases = _phases()
    deploys = marker_deploys(parse_log(LOG).markers)
    # the markers after the first, by this test's own regex: names and times
    assert list(deploys) == [name for _, name, _ in phases[1:]]
    assert [t.isoformat() for t in deploys.values()] == [ts for ts, _, _ in phases[1:]]
    overview = analyze_log(LOG, deploy_at=deploys)
    first, second = phases[1][1], phases[2][1]
    assert overview.before_after["phase"].tolist() == [f"before {first}", f"after {first}", f"after {second}"]
    assert overview.before_after["requests"].tolist()[1:] == [len(phases[1][2]), len(phases[2][2])]
    fig = overview.chart()
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert [label.split(":")[0].strip() for label in labels] == [first, second]
    assert fig._suptitle.get_text() == f"Did the 5xx error rate change after {first} and {second}?"
