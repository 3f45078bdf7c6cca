"""The write-up's fix measured piece by piece: hand-made request heads, runs and logs.

Which of the write-up's signals fire on each head below is worked out by hand
from the six tests it describes (``Upgrade: websocket``, ``Connection: upgrade``,
"websocket" in ``Connection``, a ``/socket.io/`` path, a ``transport`` of
``websocket``/``polling``, an ``EIO`` parameter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wslab.study.incident.writeup_fix import (SKIPPING_SESSION, config_effect, detection_by_label, detection_examples,
                                     handler_sessions, log_counts_by_kind, skipped_lines)

WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade"}


def head(label: str, source: str, path: str, query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"method": "GET", "path": path, "query": query, "headers": headers or {}, "label": label,
            "source": source}


RECORDS = [
    head("socketio-websocket", "client A", "/socket.io/", "EIO=4&transport=websocket", WS_HEADERS),
    head("socketio-websocket", "client A", "/socket.io/", "EIO=4&transport=websocket&sid=abc", WS_HEADERS),
    head("http", "client B", "/search", "transport=polling"),
    head("not-engineio", "client B", "/socket.io/socket.io.js"),
    head("http", "client C", "/"),
]


def test_examples_show_the_first_head_of_each_label_and_client_with_its_signals() -> None:
    table = detection_examples(RECORDS)
    assert table[["label", "client"]].values.tolist() == [["http", "client B"], ["http", "client C"],
                                                          ["not-engineio", "client B"],
                                                          ["socketio-websocket", "client A"]]
    marks = {row["request"]: [name for name in table.columns[3:] if row[name] == "x"] for _, row in table.iterrows()}
    assert marks == {
        "GET /search?transport=polling": ["transport-param"],
        "GET /?": [],
        "GET /socket.io/socket.io.js?": ["socketio-path"],
        "GET /socket.io/?EIO=4&transport=websocket": ["upgrade-header", "connection-upgrade", "socketio-path",
                                                      "transport-param", "eio-param"],
    }


def test_detection_by_label_counts_every_head() -> None:
    table = detection_by_label(RECORDS)
    assert table.loc["socketio-websocket"].tolist() == [2, 2, 5]
    assert table.loc["http"].tolist() == [2, 1, 1]
    assert table.loc["not-engineio"].tolist() == [1, 1, 1]
    assert table.loc["socketio-polling"].tolist() == [0, 0, 0]
    assert list(table.columns) == ["requests", "flagged", "fewest_signals"]


def test_config_effect_only_manage_session_changes() -> None:
    """``cookie=None`` and ``json=None`` are what the server holds without them; ``manage_session`` defaults to True."""
    table = config_effect()
    assert table.index.tolist() == ["cookie", "json", "manage_session"]
    assert table["changed"].tolist() == [False, False, True]
    assert table.loc["manage_session"].tolist() == ["True", "False", True]


def run(variant: str, log: Path, errors: int, users: dict[str, int], seen: int) -> dict[str, Any]:
    return {"log_path": str(log), "sent": {"users": users, "session_seen_by_connect": seen,
                                           "socketio_write_seen_over_http": 0},
            "log": {"server_errors": errors, "write_before_start_response": errors, "by_kind": [
                {"kind": "direct websocket", "requests": 2, "server_errors": errors,
                 "write_before_start_response": errors},
                {"kind": "page", "requests": 9, "server_errors": 0, "write_before_start_response": 0}]}}


@pytest.fixture
def results(tmp_path: Path) -> dict[str, Any]:
    before, fixed = tmp_path / "before.log", tmp_path / "fixed.log"
    before.write_text("[t] INFO werkzeug - GET / 200\n", encoding="utf-8")
    fixed.write_text(f"[t] INFO app - {SKIPPING_SESSION}: /socket.io/\n[t] INFO werkzeug - GET / 200\n"
                     f"[t] INFO app - {SKIPPING_SESSION}: /socket.io/\n[t] INFO app - Skipping nothing\n",
                     encoding="utf-8")
    return {"before": run("before", before, 2, {"websocket": 2, "upgrade": 1, "http": 4}, 3),
            "writeup-fix": run("writeup-fix", fixed, 2, {"websocket": 2, "http": 4}, 0)}


def test_skipped_lines_counts_the_fixed_interfaces_lines(results: dict[str, Any]) -> None:
    table = skipped_lines(results)
    assert table.loc["before"].tolist() == [0, 2, 2]
    assert table.loc["writeup-fix"].tolist() == [2, 2, 2]


def test_handler_sessions_counts_socketio_users_only(results: dict[str, Any]) -> None:
    table = handler_sessions(results)
    assert table.loc["before"].tolist() == [3, 3, 0]
    assert table.loc["writeup-fix"].tolist() == [2, 0, 0]


def test_log_counts_by_kind_stacks_the_runs(results: dict[str, Any]) -> None:
    table = log_counts_by_kind(results)
    assert table.index.names == ["variant", "kind"]
    assert table.loc[("writeup-fix", "page"), "requests"] == 9
    assert len(table) == 4
