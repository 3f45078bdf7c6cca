"""``wslab experiment``: its rows, its outputs, the subprocess runner, and an outside check."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import socketio
from flask import Flask
from flask_socketio import SocketIO

from werkzeug_server import threaded_server, werkzeug_messages
from wslab.study.runs import envrun
from wslab.errors import WslabError
from wslab.study.runs.cells import TRANSPORTS, run_cell
from wslab.study.runs.experiment import ROW_FIELDS, Plan, json_rows, run_experiment, write_outputs

ROOT = Path(__file__).resolve().parent.parent
FIVE_XX = re.compile(r'" 5\d\d ')


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """no-session and guard × every transport, 2 users per cell, in this process."""
    out = tmp_path_factory.mktemp("experiment")
    table = run_experiment(Plan(out, variants=("no-session", "guard"), users=2, redis_url="fakeredis"),
                           parallel=False)
    write_outputs(table, out)
    return out, table


def test_one_row_per_cell_in_order(small_run):
    _, table = small_run
    assert list(zip(table["variant"], table["transport"])) == [
        (v, t) for v in ("no-session", "guard") for t in TRANSPORTS]
    assert (table["sessions"] == 2).all()
    assert (table["client_errors"] == 0).all()


def test_session_visibility_is_a_fraction_and_none_for_http(small_run):
    _, table = small_run
    for row in json_rows(table, [*ROW_FIELDS, "socketio_write_in_http_session"]):
        if row["transport"] == "http":
            assert row["session_visible_in_handler"] is None
            assert row["socketio_write_in_http_session"] is None
        else:
            assert 0.0 <= row["session_visible_in_handler"] <= 1.0


def test_outputs_and_one_log_per_cell(small_run):
    out, table = small_run
    for name in ("results.csv", "results.json", "error_rate_by_variant.png"):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "results.json").read_text())
    assert [r["server_errors"] for r in saved] == table["server_errors"].tolist()
    assert pd.read_csv(out / "results.csv")["request_lines"].tolist() == table["request_lines"].tolist()
    assert sorted(p.name for p in (out / "logs").glob("*.log")) == sorted(
        f"{v}-{t}.log" for v in ("no-session", "guard") for t in TRANSPORTS)


def test_counts_match_a_plain_regex_over_each_cell_log(small_run):
    out, table = small_run
    for row in table.itertuples():
        text = (out / row.log).read_text(errors="replace")
        assert len(re.findall(r'HTTP/\d\.\d(?:\x1b\[0m)?" \d{3} ', text)) == row.request_lines
        assert len(FIVE_XX.findall(text)) == row.server_errors


def test_guard_rows_have_no_server_errors(small_run):
    _, table = small_run
    guard = table[table["variant"] == "guard"]
    assert guard["server_errors"].sum() == 0
    assert guard["write_before_start_response"].sum() == 0


@pytest.mark.incident
def test_no_session_direct_websockets_fail_on_incident_pins(small_run):
    _, table = small_run
    row = table[(table["variant"] == "no-session") & (table["transport"] == "websocket")].iloc[0]
    assert row["server_errors"] == row["write_before_start_response"] == row["sessions"]


def test_unknown_transport_and_bad_user_count(tmp_path):
    with pytest.raises(WslabError, match="unknown transport 'carrier-pigeon'"):
        Plan(tmp_path, transports=("carrier-pigeon",))
    with pytest.raises(WslabError, match="at least 1"):
        Plan(tmp_path, users=0)
    with pytest.raises(WslabError, match="unknown variant"):
        Plan(tmp_path, variants=("nope",))


def test_cli_json_prints_exactly_the_row_fields(tmp_path):
    done = subprocess.run([sys.executable, "-m", "wslab", "experiment", "--out", str(tmp_path / "o"),
                           "--variants", "guard", "--transports", "http,polling", "--users", "2",
                           "--json", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [tuple(r) for r in rows] == [ROW_FIELDS] * 2
    assert [(r["variant"], r["transport"]) for r in rows] == [("guard", "polling"), ("guard", "http")]


@pytest.mark.incident
def test_cli_sequential_text_table_counts_what_the_cell_logs_show(tmp_path):
    users = 2
    out = tmp_path / "o"
    done = subprocess.run([sys.executable, "-m", "wslab", "experiment", "--out", str(out),
                           "--variants", "no-session", "--transports", "websocket,http",
                           "--users", str(users), "--sequential", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines[0].split()
    rows = {line.split()[1]: dict(zip(header, line.split())) for line in lines[1:3]}
    assert sorted(rows) == ["http", "websocket"]
    log = (out / "logs" / "no-session-websocket.log").read_bytes()
    independent = sum(1 for line in log.splitlines() if FIVE_XX.search(line.decode(errors="replace")))
    assert independent == users  # one 500 per direct WebSocket user the cell sent
    assert int(rows["websocket"]["5xx"]) == independent
    assert int(rows["http"]["5xx"]) == 0
    assert any(line.startswith("results.csv") or "results.csv" in line for line in lines)


def test_cli_hot_apply_writes_its_table_chart_and_log(tmp_path):
    out = tmp_path / "o"
    done = subprocess.run([sys.executable, "-m", "wslab", "experiment", "--out", str(out),
                           "--variants", "guard", "--transports", "http", "--users", "1",
                           "--hot-apply", "--phase-seconds", "3", "--no-progress"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "hot_apply_chart" in done.stdout and "hot_apply_csv" in done.stdout
    phases = pd.read_csv(out / "hot_apply.csv")
    assert phases["phase"].tolist() == ["before", "writeup-fix", "guard"]
    log = (out / "logs" / "hot-apply.log").read_text(errors="replace")
    marked = log[log.index("phase: before"):]  # the readiness probe before the first marker is not counted
    # Werkzeug's access-line shape: [date] "request text" status size. Lines for left-over
    # WebSocket bytes ("None /socket.io/... HTTP/0.9" 400) count too.
    request_lines = len(re.findall(r'\d\d:\d\d:\d\d\] ".*" \d{3} (?:\d+|-)(?:\s|$)', marked, re.M))
    assert request_lines > 0
    assert int(phases["requests"].sum()) == request_lines
    assert (out / "hot_apply.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the subprocess runner ---------------------------------------------------------------------

def test_a_variant_runs_in_a_subprocess_and_its_rows_come_back(tmp_path):
    job = envrun.start(sys.executable, "no-session", ["http"], tmp_path / "logs", 1, "fakeredis")
    rows = envrun.collect(job)
    assert [(r["variant"], r["transport"], r["sessions"]) for r in rows] == [("no-session", "http", 1)]
    assert (tmp_path / "logs" / "no-session-http.log").exists()


def test_a_failing_subprocess_is_one_error_naming_it(tmp_path):
    job = envrun.launch(sys.executable, "wslab.study.runs.envrun", ["--log-dir", str(tmp_path), "--variant", "nope"],
                        "nope")
    with pytest.raises(WslabError, match=r"the nope run failed \(exit 2\): .*unknown variant 'nope'"):
        envrun.collect(job)


# -- the same libraries outside the kit ----------------------------------------------------------

def _independent_websocket_500s(clients: int) -> int:
    """A bare Flask-SocketIO app on Werkzeug's threaded server; 500 lines from websocket-only clients."""
    app = Flask("independent")
    app.config["SECRET_KEY"] = "x"
    SocketIO(app, async_mode="threading")
    with werkzeug_messages() as lines, threaded_server(app) as (host, port):
        url = f"http://{host}:{port}"

        def one() -> str:
            client = socketio.Client(reconnection=False)
            client.connect(url, transports=["websocket"], wait_timeout=5)
            transport = client.transport()
            client.disconnect()
            return transport

        with ThreadPoolExecutor(max_workers=clients) as pool:
            transports = [f.result(timeout=20) for f in [pool.submit(one) for _ in range(clients)]]
        assert transports == ["websocket"] * clients
        deadline = time.monotonic() + 15
        while sum("transport=websocket" in line for line in lines) < clients:
            assert time.monotonic() < deadline, "the server did not log every WebSocket"
            time.sleep(0.05)
    return sum(1 for line in lines if "transport=websocket" in line and FIVE_XX.search(line))


@pytest.mark.incident
def test_no_session_websocket_row_agrees_with_a_bare_flask_socketio_app(tmp_path):
    clients = 3
    outside = _independent_websocket_500s(clients)
    row = run_cell("no-session", "websocket", tmp_path / "logs", clients, redis_url="fakeredis")
    assert outside == clients
    assert row["server_errors"] == outside
