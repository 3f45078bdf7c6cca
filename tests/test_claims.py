"""The notebooks' conclusions tables, from hand-made measurements.

Every input here is written by hand: a clean set where each claim holds, then
one change per test that contradicts exactly one claim.  Each such change must
turn that claim's ``holds`` to False and leave the others True, so a claim that
cannot fail (``x == x``, ``0 <= 0``) fails these tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wslab.logs import LogOverview
from wslab.diagnose.doctor import Change, Diagnosis, Finding
from wslab.teach.claims import (COLUMNS, Claim, conclusions, fixes_compared_claims, reproduce_claims,
                                root_cause_claims, writeup_fix_claims, your_logs_claims)

pytestmark = pytest.mark.pins_independent

DIRECT, UPGRADE = "direct websocket", "upgraded websocket"
POLLING, PAGE = "polling", "page"


def holds(claims: list[Claim]) -> list[bool]:
    return [c.holds for c in claims]


def only_false(claims: list[Claim], index: int | tuple[int, ...]) -> None:
    """Claim *index* (or each of several) does not hold; every other claim does."""
    expected = list(index) if isinstance(index, tuple) else [index]
    assert [i for i, c in enumerate(claims) if not c.holds] == expected, [(c.claim, c.measured) for c in claims]


# -- the table ------------------------------------------------------------------------------


def test_conclusions_is_one_row_per_claim_with_the_four_columns() -> None:
    table = conclusions([Claim("a", "log A", "1/1", True), Claim("b", "file B", "0 of 2", np.False_)])
    assert list(table.columns) == ["claim", "evidence", "measured", "holds"] == list(COLUMNS)
    assert table["claim"].tolist() == ["a", "b"]
    assert table["holds"].tolist() == [True, False]
    assert all(type(v) is bool for v in table["holds"].tolist())


def test_an_empty_list_gives_an_empty_table_with_the_columns() -> None:
    assert list(conclusions([]).columns) == list(COLUMNS)


# -- 01_reproduce ---------------------------------------------------------------------------

WRITEUP_FRAMES = ['File "/usr/lib/python3/werkzeug/serving.py", line 364, in run_wsgi',
                  'File "/usr/lib/python3/werkzeug/serving.py", line 330, in execute',
                  'File "/usr/lib/python3/werkzeug/serving.py", line 255, in write']


def block_comparison(this_run_frames: list[str] | None = None, same: list[bool] | None = None) -> pd.DataFrame:
    """A hand-made :func:`compare_blocks` result: six parts, the frames as given."""
    ours = this_run_frames or [f.replace("/usr/lib/python3", "/venv/lib") for f in WRITEUP_FRAMES]
    parts = ["request line", "error record", "frame 1", "frame 2", "frame 3", "exception"]
    theirs = ['"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" 500 -', "Error on request:", *WRITEUP_FRAMES,
              "AssertionError: write() before start_response"]
    this_run = [theirs[0], theirs[1], *ours, theirs[5]]
    return pd.DataFrame({"write-up": theirs, "this run": this_run, "same": same or [True] * 6},
                        index=pd.Index(parts, name="part"))


@pytest.fixture
def pins(tmp_path: Path) -> Path:
    path = tmp_path / "incident.txt"
    path.write_text("werkzeug==2.3.8\npython-engineio==4.12.2\n", encoding="utf-8")
    return path


def reproduce_inputs(pins: Path) -> dict[str, Any]:
    return {
        "versions": {"python": "3.11.7", "werkzeug": "2.3.8", "python-engineio": "4.12.2"},
        "pins_file": pins,
        "comparison": block_comparison(),
        "sent": {"users": {"websocket": 6, "upgrade": 3, "http": 4}, "client_errors": 0},
        "counts": {"by_kind": [
            {"kind": DIRECT, "requests": 6, "server_errors": 6, "write_before_start_response": 6},
            {"kind": UPGRADE, "requests": 3, "server_errors": 0, "write_before_start_response": 0},
            {"kind": POLLING, "requests": 3, "server_errors": 0, "write_before_start_response": 0},
            {"kind": PAGE, "requests": 70, "server_errors": 0, "write_before_start_response": 0}]},
        "ws_users": 6,
        "log": "../logs/01_reproduce.log",
    }


def test_reproduce_claims_hold_on_the_incident_run(pins: Path) -> None:
    claims = reproduce_claims(**reproduce_inputs(pins))
    assert holds(claims) == [True] * 7
    assert [c.measured for c in claims] == ["2/2 packages", "6/6 parts", "3/3 frames", "0 errors among 13 users",
                                            "6/6 (request lines: 6)", "6/6", "0 of 76"]
    assert "lines 364, 330, 255" in claims[2].claim and "Werkzeug 2.3.8" in claims[2].claim
    assert claims[1].evidence == "01_reproduce.log against data/logs/writeup_excerpt.log"


def _reproduce(pins: Path, change: Callable[[dict[str, Any]], None]) -> list[Claim]:
    inputs = reproduce_inputs(pins)
    change(inputs)
    return reproduce_claims(**inputs)


def _kind(inputs: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(row for row in inputs["counts"]["by_kind"] if row["kind"] == kind)


@pytest.mark.parametrize(("change", "index"), [
    (lambda i: i["versions"].update(werkzeug="3.1.9"), 0),
    (lambda i: i["comparison"].__setitem__("same", [True, True, True, True, True, False]), 1),
    (lambda i: i.__setitem__("comparison", block_comparison(
        this_run_frames=[WRITEUP_FRAMES[0], WRITEUP_FRAMES[1].replace("330", "331"), WRITEUP_FRAMES[2]])), 2),
    (lambda i: i["sent"].update(client_errors=1), 3),
    (lambda i: _kind(i, DIRECT).update(server_errors=5), 4),
    (lambda i: _kind(i, DIRECT).update(write_before_start_response=5), 5),
    (lambda i: _kind(i, UPGRADE).update(server_errors=1), 6),
], ids=["pins", "block", "frames", "client-error", "direct-500s", "tracebacks", "upgrade-500"])
def test_each_reproduce_claim_fails_when_contradicted(pins: Path, change: Callable, index: int) -> None:
    only_false(_reproduce(pins, change), index)


def test_no_direct_users_is_no_evidence_for_the_500_claims(pins: Path) -> None:
    def none(inputs: dict[str, Any]) -> None:
        inputs["ws_users"] = 0
        _kind(inputs, DIRECT).update(requests=0, server_errors=0, write_before_start_response=0)

    assert holds(_reproduce(pins, none))[4:6] == [False, False]


# -- 02_writeup_fix -------------------------------------------------------------------------


def writeup_inputs() -> dict[str, Any]:
    def run(variant: str, errors: int) -> dict[str, Any]:
        return {"log_path": f"../logs/02_{variant}.log", "sent": {"client_errors": 0},
                "log": {"server_errors": errors, "by_kind": [
                    {"kind": DIRECT, "requests": 5, "server_errors": errors, "write_before_start_response": errors},
                    {"kind": PAGE, "requests": 65, "server_errors": 0, "write_before_start_response": 0}]}}

    return {
        "detection": pd.DataFrame({"requests": [6, 22, 6, 42, 8], "flagged": [6, 22, 6, 12, 8],
                                   "fewest_signals": [5, 3, 1, 1, 1]},
                                  index=pd.Index(["socketio-websocket", "socketio-polling", "websocket-other",
                                                  "http", "not-engineio"], name="label")),
        "corpus": "../data/requests/corpus.jsonl",
        "config": pd.DataFrame({"changed": [False, False, True]},
                               index=pd.Index(["cookie", "json", "manage_session"], name="key")),
        "results": {"before": run("before", 5), "writeup-fix": run("writeup-fix", 5)},
        "skipped": pd.DataFrame({"skipping_session_lines": [0, 24]}, index=["before", "writeup-fix"]),
        "sessions": pd.DataFrame({"socketio_users": [8, 8], "connect_handler_saw_user": [8, 0]},
                                 index=["before", "writeup-fix"]),
        "ws_users": 5,
    }


def test_writeup_fix_claims_hold_on_the_incident_runs() -> None:
    claims = writeup_fix_claims(**writeup_inputs())
    assert holds(claims) == [True] * 8
    assert [c.measured for c in claims[:4]] == ["28/28", "fewest signals on one: 3", "pages 12/42, static files 8/8",
                                                "changed: manage_session (of 3)"]
    assert claims[5].measured == "500s 5/5 -> 5/5; tracebacks 5/5 -> 5/5"
    assert claims[7].measured == "0/8 (before: 8/8)"
    assert claims[0].evidence == "data/requests/corpus.jsonl"
    assert claims[5].evidence == "02_before.log, 02_writeup-fix.log"


def _fix_direct(inputs: dict[str, Any], **values: int) -> None:
    inputs["results"]["writeup-fix"]["log"]["by_kind"][0].update(values)


@pytest.mark.parametrize(("change", "index"), [
    (lambda i: i["detection"].__setitem__("flagged", [6, 21, 6, 12, 8]), 0),
    (lambda i: i["detection"].__setitem__("fewest_signals", [5, 1, 1, 1, 1]), 1),
    (lambda i: i["detection"].__setitem__("flagged", [6, 22, 6, 0, 8]), 2),
    (lambda i: i["detection"].__setitem__("flagged", [6, 22, 6, 12, 0]), 2),
    (lambda i: i["config"].__setitem__("changed", [True, False, True]), 3),
    (lambda i: i["results"]["before"]["sent"].update(client_errors=2), 4),
    (lambda i: _fix_direct(i, server_errors=0), 5),
    (lambda i: _fix_direct(i, write_before_start_response=4), 5),
    (lambda i: i["skipped"].__setitem__("skipping_session_lines", [0, 7]), 6),
    (lambda i: i["skipped"].__setitem__("skipping_session_lines", [3, 24]), 6),
    (lambda i: i["results"]["writeup-fix"]["log"].update(server_errors=0), 6),
    (lambda i: i["sessions"].__setitem__("connect_handler_saw_user", [8, 1]), 7),
    (lambda i: i["sessions"].__setitem__("connect_handler_saw_user", [7, 0]), 7),
], ids=["socketio-missed", "one-signal", "no-page", "no-static-file", "cookie-changed", "client-error",
        "fix-removes-500", "fix-removes-traceback", "too-few-skips", "before-skips", "no-500-with-skips",
        "fix-keeps-user", "before-missed-user"])
def test_each_writeup_fix_claim_fails_when_contradicted(change: Callable, index: int) -> None:
    inputs = writeup_inputs()
    change(inputs)
    only_false(writeup_fix_claims(**inputs), index)


# -- 03_root_cause --------------------------------------------------------------------------


def root_cause_inputs() -> dict[str, Any]:
    variants = ["no-session", "before", "writeup-fix", "guard"]
    return {
        "demo": {"status": 500},
        "comparison": block_comparison(),
        "frames": pd.DataFrame({"line": [364, 330, 255], "shown above": [True, True, True]}),
        "runs": {
            "calls": pd.DataFrame({"kind": [DIRECT] * 3 + [UPGRADE] * 3,
                                   "status": [None, None, None, "200 OK", "200 OK", "200 OK"],
                                   "outcome": ["returned"] * 6}),
            "log": pd.DataFrame({"requests": [3, 3], "server_errors": [3, 0], "write_before_start_response": [3, 0]},
                                index=pd.Index([DIRECT, UPGRADE], name="kind")),
            "sent": {"socketio_connections": {"websocket": 3, "upgrade": 3}, "client_errors": 0},
        },
        "timing": {"lines_500_while_open": 0, "lines_500_after_close": 1, "logged_after_close": True},
        "visibility": pd.DataFrame({"users": [3, 3, 3, 3], "user_seen_by_connect_handler": [3, 3, 0, 3],
                                    "socketio_write_seen_over_http": [0, 0, 0, 0], "server_errors": [3, 3, 3, 0],
                                    "direct_101_lines": [0, 0, 0, 3]}, index=pd.Index(variants, name="variant")),
        "endings": pd.DataFrame({"python-engineio": ["4.12.2", "4.15.1"], "connections": [8, 8],
                                 "dropped_with_ConnectionError": [0, 8], "direct": [4, 4], "direct_500": [4, 0],
                                 "direct_not_logged": [0, 4]},
                                index=pd.Index(["incident", "engineio-current"], name="cell")),
        "first_release_without_500": "4.13.4",
        "ws_users": 3,
        "upgrade_users": 3,
    }


def test_root_cause_claims_hold_on_the_incident_runs() -> None:
    claims = root_cause_claims(**root_cause_inputs())
    assert holds(claims) == [True] * 13
    assert claims[2].measured == "direct: called in 0/3; upgrade: 200 OK in 3/3"
    assert claims[9].measured == "500s 0; 101 lines 3/3; user seen 3/3"
    assert claims[12].measured == ("first release without the 500: 4.13.4; engineio-current (4.15.1): "
                                   "ConnectionError 8/8, no line 4/4")
    assert claims[12].evidence == "data/matrix/matrix.json, data/bisect/python-engineio/bisect.json"


def _set(frame: str, row: Any, column: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets one cell of the hand-made table *frame*."""
    return lambda inputs: inputs[frame].loc.__setitem__((row, column), value)


def _call_status(inputs: dict[str, Any], row: int, status: str) -> None:
    inputs["runs"]["calls"].loc[row, "status"] = status


@pytest.mark.parametrize(("change", "index"), [
    (lambda i: i["demo"].update(status=200), 0),
    (lambda i: i["comparison"].__setitem__("same", [False] + [True] * 5), 0),
    (lambda i: i["frames"].__setitem__("shown above", [True, False, True]), 1),
    (lambda i: _call_status(i, 0, "500 INTERNAL SERVER ERROR"), 2),
    (lambda i: _call_status(i, 4, None), 2),
    (lambda i: i["runs"]["log"].loc.__setitem__((UPGRADE, "server_errors"), 1), 3),
    (lambda i: i["runs"]["log"].loc.__setitem__((DIRECT, "write_before_start_response"), 2), 3),
    (lambda i: i["runs"]["sent"]["socketio_connections"].update(websocket=2), 4),
    (lambda i: i["runs"]["sent"].update(client_errors=1), 4),
    (lambda i: i["timing"].update(lines_500_while_open=1), 5),
    (lambda i: i["timing"].update(logged_after_close=False), 5),
    (_set("visibility", "no-session", "server_errors", 0), 6),
    (_set("visibility", "writeup-fix", "server_errors", 2), 7),
    (_set("visibility", "writeup-fix", "user_seen_by_connect_handler", 3), 8),
    (_set("visibility", "guard", "direct_101_lines", 2), 9),
    (_set("visibility", "guard", "server_errors", 1), 9),
    (_set("visibility", "guard", "user_seen_by_connect_handler", 2), 9),
    (_set("visibility", "before", "socketio_write_seen_over_http", 3), 10),
    (_set("endings", "incident", "dropped_with_ConnectionError", 1), 11),
    (_set("endings", "engineio-current", "direct_not_logged", 3), 12),
    (_set("endings", "engineio-current", "dropped_with_ConnectionError", 7), 12),
], ids=["client-got-200", "block-differs", "frame-not-shown", "direct-started", "upgrade-not-started",
        "upgrade-500", "direct-traceback-missing", "not-connected", "client-error", "500-while-open",
        "500-before-close", "no-session-ok", "fix-removes-500", "fix-keeps-user", "guard-no-101", "guard-500",
        "guard-loses-user", "writes-differ", "incident-dropped", "current-logged", "current-not-dropped"])
def test_each_root_cause_claim_fails_when_contradicted(change: Callable, index: int) -> None:
    inputs = root_cause_inputs()
    change(inputs)
    only_false(root_cause_claims(**inputs), index)


def test_a_first_release_after_every_recorded_cell_is_not_evidence() -> None:
    inputs = root_cause_inputs()
    inputs["first_release_without_500"] = "4.16.0"
    claims = root_cause_claims(**inputs)
    assert not claims[-1].holds and "no recorded cell at or after it" in claims[-1].measured


# -- 04_fixes_compared ----------------------------------------------------------------------


def row(cell: str, variant: str, n: int = 3, server: str = "werkzeug", seen: int | None = None,
        server_side: dict[str, int] | None = None, **direct: int) -> dict[str, Any]:
    counts = {"connections": n, "status_500": 0, "status_101": 0, "status_200": 0, "status_400": 0,
              "not_logged": 0, "write_before_start_response": 0}
    upgrade = dict(counts, status_200=n) if variant != "guard" else dict(counts, status_101=n)
    return {"cell": cell, "variant": variant, "server": server, "direct": dict(counts, **direct),
            "upgrade": upgrade, "socketio_users": 2 * n, "session_visible_in_handler": 2 * n if seen is None else seen,
            "server_side": server_side or {}}


def small_rows() -> list[dict[str, Any]]:
    return [
        row("incident", "before", status_500=3, write_before_start_response=3),
        row("incident", "writeup-fix", seen=0, status_500=3, write_before_start_response=3),
        row("incident", "guard", status_101=3),
        row("engineio-current", "before", not_logged=3, status_400=1),
        row("engineio-current", "guard", status_101=3),
        row("werkzeug-current", "before", status_500=3, write_before_start_response=3),
        row("werkzeug-current", "guard", status_101=3),
        row("engineio-current-debugger", "before", server="werkzeug-debug", status_500=3),
        row("engineio-current-debugger", "guard", server="werkzeug-debug", status_101=3),
    ]


def full_rows() -> list[dict[str, Any]]:
    stop = {"raised: StopIteration": 8}
    return [
        row("incident", "before", n=4, status_500=4, write_before_start_response=4),
        row("both-current", "before", n=4, not_logged=4),
        row("incident-debugger", "before", n=4, server="werkzeug-debug", status_500=4, write_before_start_response=4),
        row("incident-gunicorn", "before", n=4, server="gunicorn-gthread", server_side=stop, not_logged=4),
        row("engineio-current-gunicorn", "before", n=4, server="gunicorn-gthread", server_side=stop, not_logged=4),
    ]


def release(version: str, status_500: int, n: int = 4) -> dict[str, Any]:
    return {"version": version, "error": None, "direct": {"connections": n, "status_500": status_500}}


def fixes_inputs() -> dict[str, Any]:
    return {
        "rows": small_rows(),
        "recorded": {"rows": full_rows()},
        "bisect": {"first_release_without_500": "4.13.4",
                   "releases": [release("4.12.2", 4), release("4.13.3", 4), release("4.13.4", 0),
                                release("4.15.1", 0), {"version": "4.14.0", "error": "no wheel", "direct": {}}]},
        "guard": {"websockets_opened_after": 5, "of_them_with_101": 5, "guard_phase_5xx": 1,
                  "from_websockets_opened_before": 1},
    }


#: Claim positions in the clean set: the small run's five, the recorded rows' four, bisect, hot apply.
SMALL = {"engineio": 0, "werkzeug": 1, "debugger": 2, "guard": 3, "writeup": 4}
FULL = {"both": 5, "incident-debugger": 6, "gunicorn": 7}
BISECT, HOT_101, HOT_5XX = 8, 9, 10


def test_fixes_compared_claims_hold_on_the_recorded_shapes() -> None:
    claims = fixes_compared_claims(**fixes_inputs())
    assert holds(claims) == [True] * 11
    assert claims[SMALL["engineio"]].measured == "incident 3/3 -> engineio-current 0/3"
    assert claims[SMALL["guard"]].measured == "0 of 24 connections with a 500 or 400; 101 lines 12/12 (4 guard rows)"
    assert claims[SMALL["writeup"]].measured == "500s 3/3 -> 3/3; user seen 6/6 -> 0/6"
    assert claims[FULL["both"]].evidence == "data/matrix/matrix.json"
    assert claims[BISECT].measured == "2 of 2 earlier releases with n/n, 2 of 2 from 4.13.4 on with 0/n"
    assert claims[HOT_101].measured == "opened after it without a 101 line: 0"
    assert claims[HOT_5XX].measured == "5xx lines from anything else: 0"


def _small(cell: str, variant: str = "before") -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda inputs: next(r for r in inputs["rows"] if r["cell"] == cell and r["variant"] == variant)


def _full(cell: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda inputs: next(r for r in inputs["recorded"]["rows"] if r["cell"] == cell)


@pytest.mark.parametrize(("change", "index"), [
    # the upgraded python-engineio is also the debugger claim's baseline
    (lambda i: _small("engineio-current")(i)["direct"].update(status_500=1), (SMALL["engineio"], SMALL["debugger"])),
    (lambda i: _small("werkzeug-current")(i)["direct"].update(status_500=0), SMALL["werkzeug"]),
    (lambda i: _small("engineio-current-debugger")(i)["direct"].update(write_before_start_response=3),
     SMALL["debugger"]),
    (lambda i: _small("engineio-current-debugger")(i)["direct"].update(status_500=2), SMALL["debugger"]),
    (lambda i: _small("incident", "guard")(i)["upgrade"].update(status_400=1), SMALL["guard"]),
    (lambda i: _small("werkzeug-current", "guard")(i)["direct"].update(status_101=2), SMALL["guard"]),
    (lambda i: _small("incident", "writeup-fix")(i).update(session_visible_in_handler=6), SMALL["writeup"]),
    (lambda i: _small("incident", "writeup-fix")(i)["direct"].update(status_500=0), SMALL["writeup"]),
    (lambda i: _full("both-current")(i)["direct"].update(status_500=1), FULL["both"]),
    (lambda i: _full("incident-debugger")(i)["direct"].update(status_500=0), FULL["incident-debugger"]),
    (lambda i: _full("incident-gunicorn")(i)["direct"].update(status_500=1), FULL["gunicorn"]),
    (lambda i: _full("engineio-current-gunicorn")(i).update(server_side={}), FULL["gunicorn"]),
    (lambda i: i["bisect"]["releases"].__setitem__(3, release("4.15.1", 1)), BISECT),
    (lambda i: i["bisect"]["releases"].__setitem__(1, release("4.13.3", 0)), BISECT),
    (lambda i: i["bisect"].update(first_release_without_500=None), BISECT),
    (lambda i: i["guard"].update(of_them_with_101=4), HOT_101),
    (lambda i: i["guard"].update(websockets_opened_after=0, of_them_with_101=0), HOT_101),
    (lambda i: i["guard"].update(from_websockets_opened_before=0), HOT_5XX),
], ids=["engineio-keeps", "werkzeug-removes", "debugger-traceback", "debugger-partial", "guard-400",
        "guard-no-101", "fix-keeps-user", "fix-removes-500", "both-keeps", "debugger-removes", "gunicorn-500",
        "gunicorn-no-stopiteration", "later-release-500", "earlier-release-clean", "no-first-release",
        "hot-no-101", "hot-nothing-opened", "hot-unexplained-5xx"])
def test_each_fixes_compared_claim_fails_when_contradicted(change: Callable, index: int | tuple) -> None:
    inputs = copy.deepcopy(fixes_inputs())
    change(inputs)
    only_false(fixes_compared_claims(**inputs), index)


def test_questions_whose_cells_did_not_run_are_left_out() -> None:
    inputs = fixes_inputs()
    inputs["rows"] = [r for r in inputs["rows"] if r["cell"] == "incident"]
    claims = fixes_compared_claims(**inputs)
    assert [c.evidence for c in claims].count("this notebook's matrix run") == 2  # the guard and the write-up's fix


# -- 05_your_logs ---------------------------------------------------------------------------


def kind_table(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """An error-rate-per-kind table: kind -> (requests, 5xx lines)."""
    return pd.DataFrame([{"kind": k, "requests": n, "server_errors": e} for k, (n, e) in rows.items()])


def overview(path: str, kinds: dict[str, tuple[int, int]], tracebacks: int,
             phases: dict[str, tuple[int, int]] | None = None) -> LogOverview:
    before_after = None if phases is None else pd.DataFrame(
        [{"phase": p, "requests": n, "server_errors": e} for p, (n, e) in phases.items()])
    return LogOverview(path=Path(path), parsed=None, summary={"write_before_start_response": tracebacks},
                       bucket=pd.Timedelta(seconds=1), by_kind=kind_table(kinds), over_time=pd.DataFrame(),
                       before_after=before_after)


def finding(outcome: str, removes: tuple[str, ...] = ("add the guard",)) -> Finding:
    return Finding(werkzeug="2.3.8", engineio="4.12.2", server="werkzeug", outcome=outcome,
                   changes=[Change(what, True) for what in removes] + [Change("the write-up's fix", False)])


def your_logs_inputs() -> dict[str, Any]:
    recorded = pd.DataFrame({"holds": [True, True, True]}, index=["before.log", "writeup-fix.log", "guard.log"])
    # three requests: a direct WebSocket's 500 (row 0), a page (1), another direct 500 (2); two tracebacks
    before = type("Parsed", (), {})()
    before.requests = pd.DataFrame({"server_error": [True, False, True]})
    before.errors = pd.DataFrame({"request": [0.0, 2.0]})
    return {
        "recorded": recorded, "before": before, "before_log": "data/logs/before.log",
        "by_kind": kind_table({"direct websocket": (2, 2), "page": (1, 0)}),
        "deploys": overview("data/logs/deploys/hot-apply.log", {"direct websocket": (4, 3)}, 3,
                            {"before writeup-fix": (10, 2), "after writeup-fix": (10, 1), "after guard": (10, 0)}),
        "yours": overview("prod.log", {"direct websocket": (5, 5), "page": (50, 0)}, 5),
        "diagnosis": Diagnosis(server="werkzeug", source="from requirements.txt", packages=[],
                               findings=[finding("500")]),
    }


RECORDED, ONLY_DIRECT, MATCHED, FIX_KEEPS, GUARD_CLEAN, YOUR_LOG, YOUR_PINS, A_CHANGE = range(8)


def test_your_logs_claims_hold_on_an_affected_deployment() -> None:
    claims = your_logs_claims(**your_logs_inputs())
    assert holds(claims) == [True] * 8
    assert claims[ONLY_DIRECT].measured == "direct 2/2; other requests 0 of 1"
    assert claims[MATCHED].measured == "2/2"
    assert claims[FIX_KEEPS].measured == "before: 2 of 10; after writeup-fix: 1 of 10"
    assert claims[YOUR_LOG].measured == "direct WebSockets with a 5xx 5/5; tracebacks 5"
    assert claims[A_CHANGE].measured == "add the guard"


def _page_error(inputs: dict[str, Any]) -> None:
    inputs["by_kind"] = kind_table({"direct websocket": (2, 2), "page": (1, 1)})


def _unmatched_traceback(inputs: dict[str, Any]) -> None:
    inputs["before"].errors = pd.DataFrame({"request": [0.0, 1.0]})


@pytest.mark.parametrize(("change", "index"), [
    (lambda i: i["recorded"].__setitem__("holds", [True, False, True]), RECORDED),
    (_page_error, ONLY_DIRECT),
    (lambda i: i.update(by_kind=kind_table({"direct websocket": (2, 1), "page": (1, 0)})), ONLY_DIRECT),
    (_unmatched_traceback, MATCHED),
    (lambda i: i["deploys"].before_after.__setitem__("server_errors", [2, 0, 0]), FIX_KEEPS),
    (lambda i: i["deploys"].before_after.__setitem__("server_errors", [2, 1, 1]), GUARD_CLEAN),
    (lambda i: i["deploys"].before_after.__setitem__("phase", ["before fix", "after fix", "after guard"]),
     FIX_KEEPS),
    (lambda i: i.update(yours=overview("prod.log", {"direct websocket": (5, 0), "page": (50, 0)}, 0)), YOUR_LOG),
    (lambda i: i["diagnosis"].findings[0].changes.__setitem__(0, Change("add the guard", None)), A_CHANGE),
], ids=["recording-off", "page-5xx", "direct-partial", "unmatched-traceback", "fix-removes", "guard-5xx",
        "no-fix-phase", "your-log-clean", "no-change-removes"])
def test_each_your_logs_claim_fails_when_contradicted(change: Callable, index: int) -> None:
    inputs = your_logs_inputs()
    change(inputs)
    only_false(your_logs_claims(**inputs), index)


def test_unaffected_pins_say_so_and_list_no_change() -> None:
    inputs = your_logs_inputs()
    inputs["diagnosis"] = Diagnosis(server="gunicorn-gthread", source="from requirements.txt", packages=[],
                                    findings=[finding("nothing", removes=())])
    claims = your_logs_claims(**inputs)
    assert len(claims) == 7 and not claims[YOUR_PINS].holds
    assert claims[YOUR_PINS].measured.startswith("not affected: werkzeug 2.3.8, python-engineio 4.12.2")
