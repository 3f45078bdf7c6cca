"""The factor matrix (``wslab.study.versions.matrix``, ``wslab matrix``).

Its cells run for real: each in an environment built with uv under a
temporary root, as a subprocess, against the real servers.  Expected values
come from outside the code under test: the versions from the requirements
files read here, each row's outcome counts from a regex over that row's raw
log, the versions a cell recorded from asking its interpreter directly.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from test_envs import pins_in
from wslab import cli
from wslab.errors import WslabError
from wslab.study.versions import matrix

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parent.parent
STANDALONE = Path(__file__).resolve().parent / "standalone_socketio_app.py"
OWN_LINE = re.compile(rb'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?(?P<query>\S*transport=websocket\S*) HTTP/1\.1'
                      rb'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')
WBSR = re.compile(rb"^AssertionError: write\(\) before start_response", re.M)


def _statuses(log: bytes, prefix: str) -> list[int]:
    """Statuses of the own WebSocket lines of connections whose id starts with *prefix*."""
    return [int(m["status"]) for m in OWN_LINE.finditer(log)
            if re.search(rb"(?:^|&)wslab_conn=" + prefix.encode(), m["query"])]


@pytest.fixture(scope="module")
def envs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matrix-envs")


@pytest.fixture(scope="module")
def two_cells(envs_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """Three cells, run once for the module: the incident, python-engineio upgraded, with the debugger."""
    out = tmp_path_factory.mktemp("matrix")
    mp = pytest.MonkeyPatch()
    mp.setenv("WSLAB_ENVS_DIR", str(envs_root))
    try:
        cells = matrix.select(matrix.design(), ["incident", "engineio-current", "engineio-current-debugger"])
        results = matrix.run_matrix(out, cells, users=3, jobs=2, progress=False)
    finally:
        mp.undo()
    return out, results


def test_the_design_takes_its_versions_from_the_requirement_files() -> None:
    incident = pins_in(ROOT / "requirements" / "incident.txt")
    current = pins_in(ROOT / "requirements" / "current.txt")
    cells = {c.name: c for c in matrix.design()}
    assert (cells["incident"].werkzeug, cells["incident"].python_engineio) == \
        (incident["werkzeug"], incident["python-engineio"])
    assert (cells["both-current"].werkzeug, cells["both-current"].python_engineio) == \
        (current["werkzeug"], current["python-engineio"])
    # each cell away from the incident changes one thing, or says it changes both
    for name, cell in cells.items():
        moved = [cell.werkzeug != incident["werkzeug"], cell.python_engineio != incident["python-engineio"],
                 cell.server != "werkzeug"]
        assert sum(moved) <= 2 and (sum(moved) < 2 or "," in cell.changed or "both" in cell.changed), name
    assert all("guard" in c.variants for c in cells.values() if c.server.startswith("werkzeug"))


def test_unknown_cells_and_servers_are_refused_with_the_known_ones_named() -> None:
    with pytest.raises(WslabError, match="unknown cell 'nope'.*incident"):
        matrix.select(matrix.design(), ["nope"])
    with pytest.raises(WslabError, match="unknown server 'apache'.*gunicorn-gthread"):
        matrix.select(matrix.design(), None, ["apache"])
    gunicorn = matrix.select(matrix.design(), None, ["gunicorn-gthread"])
    assert [c.name for c in gunicorn] == ["incident-gunicorn", "engineio-current-gunicorn"]


def test_each_row_counts_what_its_own_log_shows(two_cells: tuple[Path, list]) -> None:
    out, results = two_cells
    assert [r.error for r in results] == [None, None, None]
    rows = matrix.rows_of(results)
    assert [(r["cell"], r["variant"]) for r in rows] == [
        ("incident", "before"), ("incident", "writeup-fix"), ("incident", "guard"),
        ("engineio-current", "before"), ("engineio-current", "guard"),
        ("engineio-current-debugger", "before"), ("engineio-current-debugger", "guard")]
    for row in rows:
        assert row["logs"] == [f"{row['cell']}-{row['variant']}.log"]
        log = (out / "logs" / row["logs"][0]).read_bytes()
        for kind, prefix in (("direct", "websocket-"), ("upgrade", "upgrade-")):
            statuses = _statuses(log, prefix)
            counts = row[kind]
            assert counts["connections"] == 3
            assert counts["status_500"] == statuses.count(500), (row["cell"], row["variant"], kind)
            assert counts["status_101"] == statuses.count(101), (row["cell"], row["variant"], kind)
            assert counts["not_logged"] == 3 - len(statuses), (row["cell"], row["variant"], kind)
        wbsr = row["direct"]["write_before_start_response"] + row["upgrade"]["write_before_start_response"]
        assert wbsr == len(WBSR.findall(log))
    assert json.loads((out / matrix.RESULT_FILE).read_text())["rows"] == rows


def test_each_cell_records_the_versions_its_interpreter_has(two_cells: tuple[Path, list],
                                                            envs_root: Path) -> None:
    _, results = two_cells
    for result in results:
        python = envs_root / result.env / "bin" / "python"
        asked = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) "
             "for p in ('werkzeug', 'python-engineio', 'python-socketio', 'flask-socketio')}))"],
            capture_output=True, text=True, check=True)
        have = json.loads(asked.stdout)
        assert (have["werkzeug"], have["python-engineio"]) == (result.cell.werkzeug, result.cell.python_engineio)
        for row in result.rows:
            assert (row["werkzeug"], row["python_engineio"], row["python_socketio"], row["flask_socketio"]) == \
                (have["werkzeug"], have["python-engineio"], have["python-socketio"], have["flask-socketio"])


def test_each_before_row_agrees_with_a_plain_app_outside_the_kit(two_cells: tuple[Path, list],
                                                                 envs_root: Path) -> None:
    """``tests/standalone_socketio_app.py`` (no kit code) in the cell's interpreter, same server."""
    _, results = two_cells
    for result in results:
        python = envs_root / result.env / "bin" / "python"
        command = [str(python), str(STANDALONE), "--clients", "3"]
        command += ["--debug"] if result.cell.server == "werkzeug-debug" else []
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        plain = json.loads(done.stdout.strip().splitlines()[-1])
        assert plain["connected"] == 3 and plain["threads_left"] == 0
        row = next(r for r in result.rows if r["variant"] == "before")
        logged = plain["websocket_statuses"]
        assert row["direct"]["status_500"] == logged.get("500", 0), result.cell.name
        assert row["direct"]["status_101"] == logged.get("101", 0), result.cell.name
        assert row["direct"]["not_logged"] == 3 - sum(logged.values()), result.cell.name


def test_conclusions_are_worked_out_from_the_counts() -> None:
    def row(cell: str, variant: str, d500: int, seen: int = 6) -> dict:
        counts = {"connections": 3, "status_500": d500, "status_101": 0, "status_200": 0, "status_400": 0,
                  "not_logged": 3 - d500, "write_before_start_response": d500}
        return {"cell": cell, "variant": variant, "direct": counts, "upgrade": dict(counts, status_500=0),
                "session_visible_in_handler": seen, "socketio_users": 6}

    rows = [row("incident", "before", 3), row("engineio-current", "before", 0),
            row("werkzeug-current", "before", 3), row("incident", "writeup-fix", 3, seen=0)]
    found = {c["question"]: c for c in matrix.conclusions(rows)}
    assert found["Does upgrading python-engineio alone change the 500?"]["answer"] == "removes the 500"
    assert found["Does upgrading Werkzeug alone change the 500?"]["answer"] == "keeps the 500"
    fix = found["Does the write-up's fix change the 500, and what does it do to sessions?"]
    assert fix["answer"] == "keeps the 500; hides the user from connect handlers"
    assert "6/6 -> 0/6" in fix["measured"]
    assert not any("debugger" in q for q in found), "cells that did not run give no answer"


def test_a_cell_whose_env_cannot_be_built_fails_alone(envs_root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, no_leaks: None) -> None:
    monkeypatch.setenv("WSLAB_ENVS_DIR", str(envs_root))
    good = matrix.select(matrix.design(), ["incident"])[0]
    broken = matrix.Cell("broken", good.werkzeug, "0.0.0", "werkzeug", ("before",), "a version that does not exist")
    results = matrix.run_matrix(tmp_path, [broken, good], users=1, progress=False)
    assert results[0].error and "python-engineio" in results[0].error and results[0].rows == []
    assert results[1].error is None and [r["variant"] for r in results[1].rows] == list(good.variants)


def test_offline_the_built_cells_still_run_and_an_unbuilt_one_says_what_is_missing(
        two_cells: tuple[Path, list], envs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSLAB_ENVS_DIR", str(envs_root))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    cells = matrix.select(matrix.design(), ["incident", "werkzeug-current"])
    built, unbuilt = matrix.run_matrix(tmp_path / "out", cells, users=1, progress=False)
    assert built.error is None and len(built.rows) == len(cells[0].variants)
    assert unbuilt.rows == [] and "werkzeug" in unbuilt.error and "\n" not in unbuilt.error


def test_cli_rejects_an_unknown_cell_in_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert cli.main(["matrix", "--out", str(tmp_path), "--cells", "incident,nope"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown cell 'nope'" in err[0]
