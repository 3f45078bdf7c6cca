"""The root-cause experiments, on real runs: a real Werkzeug server, real clients, real log lines.

Tests that need the incident's behaviour (python-engineio < 4.13.4 returning
without ``start_response``) are marked ``incident``; the rest hold on both pin
sets and also run in the current-pins venv.
"""

from __future__ import annotations

import inspect
import linecache
import logging
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from packaging.version import Version

from wslab.study.incident import rootcause
from wslab.study.incident.rootcause import DIRECT, UPGRADE
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload
from wslab.study.incident.writeup import compare_blocks, first_error_block

#: python-engineio from 4.13.4 on raises ConnectionError under Werkzeug instead of returning [].
ENGINEIO_RAISES = Version(version("python-engineio")) >= Version("4.13.4")
USERS = 2


def test_minimal_app_gets_the_assertion_without_flask_or_socketio(tmp_path: Path, no_leaks: None) -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    before = (werkzeug_log.level, werkzeug_log.propagate, list(werkzeug_log.handlers))
    demo = rootcause.minimal_app_demo(tmp_path / "minimal.log")
    assert (werkzeug_log.level, werkzeug_log.propagate, list(werkzeug_log.handlers)) == before
    assert demo["status"] == 500
    assert demo["log"]["server_errors"] == 1 and demo["log"]["write_before_start_response"] == 1
    assert demo["error_block"][-1].startswith("AssertionError: write() before start_response")
    frames = rootcause.frames_shown([], demo["error_block"])
    assert list(frames["function"]) == ["run_wsgi", "execute", "write"]


def test_an_app_that_calls_start_response_is_not_an_error(tmp_path: Path) -> None:
    def ok_app(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    demo = rootcause.minimal_app_demo(tmp_path / "ok.log", app=ok_app)
    assert demo["status"] == 200 and demo["error_block"] == []
    assert demo["log"]["request_lines"] == 1 and demo["log"]["server_errors"] == 0


@pytest.mark.incident
def test_minimal_app_block_matches_the_writeup_part_by_part(tmp_path: Path) -> None:
    demo = rootcause.minimal_app_demo(tmp_path / "minimal.log")
    assert compare_blocks(demo["error_block"])["same"].all()


@pytest.mark.incident
def test_the_lab_stacks_block_matches_the_writeup_part_by_part(tmp_path: Path) -> None:
    """The block notebook 01 compares: the traffic driver's direct WebSocket on the ``before`` stack."""
    log = tmp_path / "before.log"
    with LabStack("before", log_path=log, redis_url="fakeredis") as stack:
        run_workload(stack, Workload(ws_users=1))
    comparison = compare_blocks(first_error_block(log))
    assert comparison["same"].all(), comparison.loc[~comparison["same"], "this run"].tolist()


def test_code_path_is_read_from_the_installed_packages() -> None:
    found = rootcause.code_path()
    snippets = {s.label.split(" (")[0]: s for s in found}
    for snippet in found:
        first = snippet.text.splitlines()[0].strip()
        module = snippet.file.rsplit(".", 1)[0].replace("/", ".")
        source_file = inspect.getsourcefile(__import__(module, fromlist=["_"]))
        assert linecache.getline(source_file, snippet.line).strip() == first, snippet.label
    assert snippets["Socket._websocket_handler"].text.endswith("return []")
    handle_request = "\n".join(s.text for s in found if s.label.startswith("Server.handle_request"))
    assert "if not isinstance(r, dict):\n    return r" in handle_request
    assert "start_response(r['status']" in handle_request and "r = self._ok(packets" in handle_request
    assert ("raise ConnectionError()" in snippets["SimpleWebSocketWSGI.__call__"].text) == ENGINEIO_RAISES
    write = snippets["WSGIRequestHandler.run_wsgi: write"]
    assert 'assert status_set is not None, "write() before start_response"' in write.text
    assert 'write(b"")' in snippets["WSGIRequestHandler.run_wsgi: execute"].text


def test_the_snippets_cover_every_frame_of_the_assertion(tmp_path: Path) -> None:
    demo = rootcause.minimal_app_demo(tmp_path / "minimal.log")
    frames = rootcause.frames_shown(rootcause.code_path(), demo["error_block"])
    assert len(frames) == 3 and frames["shown above"].all()


def test_excerpt_finds_lines_by_content() -> None:
    def sample() -> int:
        a = 1
        b = 2
        return a + b

    snippet = rootcause.excerpt(sample, "b = 2", "return")
    assert snippet.text == "b = 2\nreturn a + b"
    assert str(snippet).splitlines()[1].endswith("b = 2")
    with pytest.raises(LookupError):
        rootcause.excerpt(sample, "not there")


@pytest.fixture(scope="module")
def direct_and_upgrade(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    log = tmp_path_factory.mktemp("rootcause") / "direct_vs_upgrade.log"
    return rootcause.direct_vs_upgrade(log, ws_users=USERS, upgrade_users=USERS, redis_url="fakeredis")


def test_start_response_per_websocket_kind(direct_and_upgrade: dict[str, Any]) -> None:
    assert direct_and_upgrade["sent"]["client_errors"] == 0
    table = rootcause.start_response_by_kind(direct_and_upgrade["calls"])
    direct, upgrade = table[table["kind"] == DIRECT], table[table["kind"] == UPGRADE]
    assert list(direct["status"]) == ["never called"] and direct["requests"].sum() == USERS
    assert upgrade["requests"].sum() == USERS
    if ENGINEIO_RAISES:  # both kinds now end with ConnectionError, before any start_response
        assert list(upgrade["status"]) == ["never called"]
        assert list(table["outcome"]) == ["raised ConnectionError"] * 2
    else:
        assert list(upgrade["status"]) == ["200 OK"]
        assert list(table["outcome"]) == ["returned"] * 2
    assert direct_and_upgrade["log"].loc[UPGRADE, "server_errors"] == 0


@pytest.mark.incident
def test_every_direct_websocket_and_no_upgrade_is_a_500(direct_and_upgrade: dict[str, Any]) -> None:
    log = direct_and_upgrade["log"]
    assert log.loc[DIRECT, "requests"] == USERS
    assert log.loc[DIRECT, "server_errors"] == USERS
    assert log.loc[DIRECT, "write_before_start_response"] == USERS
    assert log.loc[UPGRADE, "requests"] == USERS and log.loc[UPGRADE, "write_before_start_response"] == 0


@pytest.mark.incident
def test_the_500_is_logged_at_the_close_not_the_handshake(tmp_path: Path, no_leaks: None) -> None:
    result = rootcause.when_is_500_logged(tmp_path / "when.log", hold_seconds=0.5, redis_url="fakeredis")
    assert result["lines_500_while_open"] == 0
    assert result["lines_500_after_close"] == 1
    assert result["logged_at_handshake"] is False and result["logged_after_close"] is True
    assert result["logged_after_connected_s"] >= 0.5
    assert result["logged_after_close_started_s"] >= 0
    assert abs(result["logged_after_closed_s"]) < 1.0


def test_no_500_while_the_websocket_is_open(tmp_path: Path) -> None:
    result = rootcause.when_is_500_logged(tmp_path / "when.log", hold_seconds=0.3, redis_url="fakeredis")
    assert result["lines_500_while_open"] == 0
    assert result["connected_at"] < result["close_started_at"] <= result["closed_at"]
    if result["logged_at"] is None:
        assert result["logged_after_close"] is None


@pytest.fixture(scope="module")
def visibility(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return rootcause.session_visibility(tmp_path_factory.mktemp("visibility"), ws_users=USERS,
                                        redis_url="fakeredis")


def test_only_the_writeup_fix_hides_the_user_from_the_connect_handler(visibility: Any) -> None:
    assert list(visibility.index) == ["no-session", "before", "writeup-fix", "guard"]
    assert (visibility["connected"] == USERS).all()
    seen = visibility["user_seen_by_connect_handler"]
    assert seen["writeup-fix"] == 0
    assert (seen.drop("writeup-fix") == USERS).all()
    assert visibility.loc["guard", "server_errors"] == 0
    # the guard answers each finished direct WebSocket with the 101 its client got; no other variant logs one
    assert visibility.loc["guard", "direct_101_lines"] == USERS
    assert (visibility["direct_101_lines"].drop("guard") == 0).all()


@pytest.mark.incident
def test_sessions_are_not_on_the_failing_path(visibility: Any) -> None:
    for variant in ("no-session", "before", "writeup-fix"):
        assert visibility.loc[variant, "server_errors"] == USERS, variant
        assert visibility.loc[variant, "write_before_start_response"] == USERS, variant


LINE = ('[2025-09-01T13:00:0{s}.000000] INFO werkzeug - 127.0.0.1 - - [01/Sep/2025 13:00:0{s}] '
        '"GET {target} HTTP/1.1" {status} - (taskName=None)\n')


def test_websocket_statuses_put_the_recorded_calls_beside_the_logged_statuses(tmp_path: Path) -> None:
    log = tmp_path / "ws.log"
    log.write_text(LINE.format(s=1, target="/socket.io/?transport=websocket&EIO=4", status=500)
                   + LINE.format(s=2, target="/socket.io/?transport=websocket&EIO=4", status=500)
                   + LINE.format(s=3, target="/socket.io/?transport=websocket&EIO=4&sid=abc", status=200)
                   + LINE.format(s=4, target="/socket.io/?transport=polling&EIO=4", status=200)
                   + LINE.format(s=5, target="/whoami", status=200), encoding="utf-8")
    calls = pd.DataFrame({"kind": [DIRECT, DIRECT, UPGRADE], "status": [None, None, "200 OK"],
                          "outcome": ["returned"] * 3})
    table = rootcause.websocket_statuses(calls, log)
    assert table.loc[DIRECT].tolist() == [2, 0, {"500": 2}]
    assert table.loc[UPGRADE].tolist() == [1, 1, {"200": 1}]


def test_recorded_endings_read_the_server_side_record() -> None:
    def row(cell: str, engineio: str, dropped: int, status_500: int, not_logged: int) -> dict[str, Any]:
        return {"cell": cell, "variant": "before", "python_engineio": engineio,
                "direct": {"connections": 4, "status_500": status_500, "not_logged": not_logged},
                "upgrade": {"connections": 4, "status_500": 0, "not_logged": 0},
                "server_side": {"dropped: ConnectionError": dropped} if dropped else {"dropped: BrokenPipeError": 1}}

    rows = [row("incident", "4.12.2", 0, 4, 0), row("engineio-current", "4.15.1", 8, 0, 4),
            dict(row("engineio-current", "4.15.1", 3, 0, 0), variant="guard")]
    table = rootcause.recorded_endings(rows)
    assert table.index.tolist() == ["incident", "engineio-current"]
    assert table.loc["incident"].tolist() == ["4.12.2", 8, 0, 4, 4, 0]
    assert table.loc["engineio-current"].tolist() == ["4.15.1", 8, 8, 4, 0, 4]
    assert rootcause.recorded_endings(rows, cells=("both-current",)).empty
