"""``wslab doctor`` against the recorded matrix and bisect, read here independently with plain ``json``.

Every expected verdict, version and count comes from ``data/matrix/matrix.json``,
``data/bisect/python-engineio/bisect.json`` and the requirement files, read by
this module's own helpers (never through :mod:`wslab.diagnose.doctor`), or from
``importlib.metadata`` in this process, or is pinned by hand for the unit tests.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from wslab.cli import main
from wslab.paths import DATA_DIR
from wslab.errors import WslabError
from wslab.lab.stack import LabStack
from wslab.diagnose import doctor
from wslab.versions import Wanted, required_versions

ROOT = Path(__file__).resolve().parent.parent
MATRIX_FILE = ROOT / "data" / "matrix" / "matrix.json"
BISECT_FILE = ROOT / "data" / "bisect" / "python-engineio" / "bisect.json"
MATRIX = json.loads(MATRIX_FILE.read_text())
BISECT = json.loads(BISECT_FILE.read_text())
INCIDENT = ROOT / "requirements" / "incident.txt"
CURRENT = ROOT / "requirements" / "current.txt"


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of one requirements file, read with a regex."""
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)}


def _matrix_rows(werkzeug: str, engineio: str, server: str, variant: str = "before") -> list[dict]:
    return [r for r in MATRIX["rows"] if r["werkzeug"] == werkzeug and r["python_engineio"] == engineio
            and r["server"] == server and r["variant"] == variant]


def _bisect_release(version: str) -> dict | None:
    return next((r for r in BISECT["releases"] if r["version"] == version and not r["error"]), None)


def _expected_code(rows: list[dict]) -> int:
    """1 if a row logs a 500, 3 if there is no row, else 0: the documented exit codes."""
    if not rows:
        return 3
    return 1 if any(r[k]["status_500"] for r in rows for k in ("direct", "upgrade") if k in r) else 0


def _doctor(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["doctor", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _section(out: str, title: str) -> str:
    """The lines under the heading (a line) that starts with *title*, up to the next blank line."""
    start = out.index(title) if out.startswith(title) else out.index("\n" + title) + 1
    end = out.find("\n\n", start)
    return out[start:end if end > 0 else None]


@pytest.mark.pins_independent
def test_incident_requirements_are_affected_and_name_the_fixes(capsys: pytest.CaptureFixture) -> None:
    pins = _pins(INCIDENT)
    w, e = pins["werkzeug"], pins["python-engineio"]
    base = _matrix_rows(w, e, "werkzeug")
    assert base and base[0]["direct"]["status_500"] > 0  # what the matrix recorded for the incident pins
    measured = sorted((r for r in BISECT["releases"] if not r["error"]), key=lambda r: Version(r["version"]))
    first = next(r["version"] for i, r in enumerate(measured)
                 if all(x["direct"]["status_500"] == 0 for x in measured[i:]))
    guard = _matrix_rows(w, e, "werkzeug", "guard")[0]
    gunicorn = _matrix_rows(w, e, "gunicorn-gthread")[0]
    newer_werkzeug = [r for r in MATRIX["rows"] if r["python_engineio"] == e and r["server"] == "werkzeug"
                      and r["variant"] == "before" and Version(r["werkzeug"]) > Version(w)]
    assert guard["direct"]["status_500"] == 0 and gunicorn["direct"]["status_500"] == 0
    assert newer_werkzeug and all(r["direct"]["status_500"] > 0 for r in newer_werkzeug)

    code, out, err = _doctor(capsys, "--requirements", str(INCIDENT))
    assert code == 1 and err == "", err
    assert out.splitlines()[0].startswith("AFFECTED:") and "'write() before start_response'" in out.splitlines()[0]
    n = base[0]["direct"]["connections"]
    evidence = _section(out, "evidence")
    assert f"data/matrix/matrix.json, cell {base[0]['cell']}, variant before" in evidence
    assert f"direct: 500 {base[0]['direct']['status_500']}/{n}" in evidence
    assert f"re-measure: {MATRIX['made_by']}" in evidence and f"re-measure: {BISECT['made_by']}" in evidence
    removes = _section(out, "changes that remove the 500")
    assert f"upgrade python-engineio to {first}: removes the 500" in removes
    assert f"release {first}" in removes and "data/bisect/python-engineio/bisect.json" in removes
    assert "variant 'guard'" in removes and f"cell {guard['cell']}, variant guard" in removes
    assert "gunicorn's gthread worker" in removes and f"cell {gunicorn['cell']}" in removes
    keeps = _section(out, "changes that do not remove the 500")
    assert f"upgrade werkzeug to {newer_werkzeug[0]['werkzeug']}: still logs the 500" in keeps
    assert "write-up's fix" in keeps


@pytest.mark.pins_independent
def test_the_fixes_named_are_the_kits_own() -> None:
    from wslab.app import guard
    from wslab.app.variants import VARIANTS

    assert hasattr(guard, "WebSocketGuard") and VARIANTS[doctor.GUARD_VARIANT].guard


@pytest.mark.pins_independent
def test_current_requirements_say_what_the_matrix_measured(capsys: pytest.CaptureFixture) -> None:
    pins = _pins(CURRENT)
    rows = _matrix_rows(pins["werkzeug"], pins["python-engineio"], "werkzeug")
    code, out, _ = _doctor(capsys, "--requirements", str(CURRENT))
    assert code == _expected_code(rows), out
    assert rows, "the recorded matrix has a cell for the current pins"
    row = rows[0]
    n = row["direct"]["connections"]
    assert f"cell {row['cell']}, variant before" in out
    assert f"direct: 500 {row['direct']['status_500']}/{n}" in out
    headline = out.splitlines()[0]
    if row["direct"]["status_500"]:
        assert headline.startswith("AFFECTED:")
    else:
        assert headline.startswith("NOT AFFECTED:")
        assert ("400 'left-over bytes' noise" in headline) == (row["direct"]["status_400"] > 0)
        if row["direct"]["status_400"]:
            assert f"400 {row['direct']['status_400']}/{n}" in out


def test_python_reports_the_versions_installed_there(capsys: pytest.CaptureFixture) -> None:
    code, out, err = _doctor(capsys, "--python", sys.executable)
    assert err == "", err
    versions = _section(out, "versions (")
    for package in ("werkzeug", "python-engineio", "python-socketio", "flask-socketio", "flask", "gunicorn"):
        assert f"  {package} {importlib.metadata.version(package)} (installed)" in versions
    rows = _matrix_rows(importlib.metadata.version("werkzeug"), importlib.metadata.version("python-engineio"),
                        "werkzeug")
    if not rows:
        release = _bisect_release(importlib.metadata.version("python-engineio"))
        if release and importlib.metadata.version("werkzeug") == BISECT["pins"]["werkzeug"]:
            rows = [release]
    assert code == _expected_code(rows), out


@pytest.mark.pins_independent
@pytest.mark.parametrize("option, server", [("werkzeug-debug", "werkzeug-debug"), ("gunicorn", "gunicorn-gthread")])
def test_servers_give_the_matrix_rows_for_that_server(capsys: pytest.CaptureFixture, option: str,
                                                      server: str) -> None:
    pins = _pins(INCIDENT)
    rows = _matrix_rows(pins["werkzeug"], pins["python-engineio"], server)
    assert rows, f"the recorded matrix ran the incident pins on {server}"
    code, out, _ = _doctor(capsys, "--requirements", str(INCIDENT), "--server", option)
    assert code == _expected_code(rows), out
    evidence = _section(out, "evidence")
    for row in rows:
        n = row["direct"]["connections"]
        assert f"cell {row['cell']}, variant before (werkzeug {pins['werkzeug']}, python-engineio " \
               f"{pins['python-engineio']}, server {server})" in evidence
        assert f"direct: 500 {row['direct']['status_500']}/{n}" in evidence
        assert f"upgraded: 500 {row['upgrade']['status_500']}/{n}" in evidence
    assert "server werkzeug)" not in evidence  # no row of another server is evidence here
    if server == "werkzeug-debug":  # what upgrading python-engineio did with the debugger on
        upgraded = [r for r in MATRIX["rows"] if r["server"] == server and r["variant"] == "before"
                    and r["werkzeug"] == pins["werkzeug"] and r["python_engineio"] != pins["python-engineio"]]
        assert upgraded
        title = ("changes that remove the 500" if upgraded[0]["direct"]["status_500"] == 0
                 else "changes that do not remove the 500")
        assert f"upgrade python-engineio to {upgraded[0]['python_engineio']}" in _section(out, title)
    else:  # gunicorn: what the app raised, as recorded
        for key, count in rows[0]["server_side"].items():
            assert f"{key} {count}" in evidence


@pytest.mark.pins_independent
def test_debugger_on_current_pins_is_unmeasured_and_names_a_command(capsys: pytest.CaptureFixture) -> None:
    pins = _pins(CURRENT)
    assert not _matrix_rows(pins["werkzeug"], pins["python-engineio"], "werkzeug-debug")
    code, out, _ = _doctor(capsys, "--requirements", str(CURRENT), "--server", "werkzeug-debug")
    assert code == 3 and out.startswith("UNMEASURED:"), out
    assert (f"wslab bisect python-engineio --from {pins['python-engineio']} --to {pins['python-engineio']} "
            f"--pin werkzeug=={pins['werkzeug']}") in out


@pytest.mark.pins_independent
def test_ranges_are_evaluated_at_every_measured_release_they_admit(capsys: pytest.CaptureFixture,
                                                                  tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("werkzeug>=2.3,<3  # the 2.x line\npython-engineio>=4.13\nflask\n")
    measured = {r["python_engineio"] for r in MATRIX["rows"]} | {r["version"] for r in BISECT["releases"]}
    engineio = sorted((v for v in measured if Version(v) >= Version("4.13")), key=Version)
    werkzeug = sorted({r["werkzeug"] for r in MATRIX["rows"]} | {BISECT["pins"]["werkzeug"]}, key=Version)
    werkzeug = [v for v in werkzeug if Version("2.3") <= Version(v) < Version("3")]
    with_500 = 0
    for w in werkzeug:
        for e in engineio:
            rows = _matrix_rows(w, e, "werkzeug")
            release = _bisect_release(e) if w == BISECT["pins"]["werkzeug"] else None
            with_500 += bool(any(r["direct"]["status_500"] for r in rows) or (release and release["direct"]["status_500"]))
    code, out, _ = _doctor(capsys, "--requirements", str(requirements))
    assert code == (1 if with_500 else 0), out
    pairs = len(werkzeug) * len(engineio)
    assert out.splitlines()[0].startswith(f"AFFECTED: {with_500} of {pairs} admitted version pairs")
    versions = _section(out, "versions (")
    assert f"python-engineio >=4.13 ({requirements}:2): a range; assumed" in versions
    assert f"each evaluated: {', '.join(engineio)}" in versions
    assert f"each evaluated: {', '.join(werkzeug)}" in versions
    assert "flask (no version given)" in versions and "gunicorn: not in the requirements" in versions
    for e in engineio:
        assert f"  werkzeug {werkzeug[0]}, python-engineio {e}: " in out


@pytest.mark.pins_independent
def test_an_unmeasured_version_says_so_and_prints_the_bisect_command(capsys: pytest.CaptureFixture,
                                                                    tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("werkzeug==2.3.8\npython-engineio==4.0.0\n")
    assert not _matrix_rows("2.3.8", "4.0.0", "werkzeug") and _bisect_release("4.0.0") is None
    code, out, _ = _doctor(capsys, "--requirements", str(requirements))
    assert code == 3, out
    assert out.startswith("UNMEASURED: the recorded results have no row for werkzeug 2.3.8, python-engineio 4.0.0")
    command = f"wslab bisect python-engineio --from 4.0.0 --to 4.0.0 --pin werkzeug==2.3.8 --users {BISECT['users']}"
    assert f"measure it with: {command}" in out
    code, out, _ = _doctor(capsys, "--requirements", str(requirements), "--json")
    record = json.loads(out)
    assert code == 3 and record["verdict"] == "unmeasured" and record["exit_code"] == 3
    assert record["findings"][0]["measure"] == command and record["findings"][0]["evidence"] == []


def _not_python(tmp_path: Path) -> str:
    script = tmp_path / "not-python"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    return str(script)


def _python_without_packages(tmp_path: Path) -> str:
    script = tmp_path / "bare-python"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')  # -S: no site-packages
    script.chmod(0o755)
    return str(script)


@pytest.mark.pins_independent
@pytest.mark.parametrize("case, expected", [
    ("missing file", "no such file"),
    ("directory", "is a directory"),
    ("missing include", "does not exist"),
    ("no interpreter", "does not run"),
    ("not python", "does not run as Python"),
    ("no stack there", "werkzeug is not installed in that interpreter"),
    ("both sources", "not both"),
    ("unknown server", "unknown server 'nginx'"),
    ("log without url", "--log needs --url"),
])
def test_bad_input_is_one_error_line(capsys: pytest.CaptureFixture, tmp_path: Path, case: str,
                                     expected: str) -> None:
    including = tmp_path / "including.txt"
    including.write_text("-r absent.txt\n")
    args = {
        "missing file": ["--requirements", str(tmp_path / "absent.txt")],
        "directory": ["--requirements", str(tmp_path)],
        "missing include": ["--requirements", str(including)],
        "no interpreter": ["--python", str(tmp_path / "no-such-python")],
        "not python": ["--python", _not_python(tmp_path)],
        "no stack there": ["--python", _python_without_packages(tmp_path)],
        "both sources": ["--python", sys.executable, "--requirements", str(INCIDENT)],
        "unknown server": ["--requirements", str(INCIDENT), "--server", "nginx"],
        "log without url": ["--requirements", str(INCIDENT), "--log", str(tmp_path / "x.log")],
    }[case]
    code, out, err = _doctor(capsys, *args)
    assert code == 2 and out == "", out
    assert err.count("\n") == 1 and err.startswith("wslab: error:") and expected in err, err


def test_url_runs_the_live_checks_and_includes_them(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    pins = _pins(CURRENT)
    recorded = _expected_code(_matrix_rows(pins["werkzeug"], pins["python-engineio"], "werkzeug"))
    log = tmp_path / "webapp.log"
    with LabStack("guard", log_path=log, redis_url="fakeredis") as stack:
        url = stack.url
        code, out, err = _doctor(capsys, "--requirements", str(CURRENT), "--url", url, "--log", str(log), "--json")
    record = json.loads(out)
    assert record["live"]["ok"] is True and url in record["live"]["report"], err
    assert code == record["exit_code"] == recorded  # the guard passes, so the records decide


# --- unit tests: the pure functions over records made by hand ---

def _row(cell: str, werkzeug: str, engineio: str, server: str = "werkzeug", variant: str = "before",
         s500: int = 0, s400: int = 0) -> dict:
    counts = {"connections": 2, "status_500": s500, "status_101": 0, "status_200": 0, "status_400": s400,
              "not_logged": 0, "write_before_start_response": s500}
    return {"cell": cell, "variant": variant, "server": server, "werkzeug": werkzeug, "python_engineio": engineio,
            "direct": counts, "upgrade": dict(counts, status_500=0, status_400=0)}


def _records(*rows: dict) -> doctor.Records:
    return doctor.records_from({"made_by": "wslab matrix --out m", "rows": list(rows), "cells": []}, "m.json",
                               None, "b.json")


def _pinned(werkzeug: str, engineio: str) -> dict[str, Wanted]:
    return {"werkzeug": Wanted("werkzeug", werkzeug), "python-engineio": Wanted("python-engineio", engineio)}


@pytest.mark.pins_independent
def test_an_upgrade_counts_only_if_no_newer_measured_release_brings_the_500_back() -> None:
    records = _records(_row("a", "1.0", "1.0", s500=2), _row("b", "1.0", "1.1"), _row("c", "1.0", "1.2", s500=2),
                       _row("d", "1.0", "1.3", s400=1))
    diagnosis = doctor.diagnose(records, _pinned("1.0", "1.0"), "werkzeug", "by hand")
    upgrade = next(c for c in diagnosis.findings[0].changes if c.what.startswith("upgrade python-engineio"))
    assert upgrade.what == "upgrade python-engineio to 1.3" and upgrade.removes is True
    assert "leaves the 400" in upgrade.note and diagnosis.exit_code == 1


@pytest.mark.pins_independent
def test_verdicts_and_exit_codes() -> None:
    records = _records(_row("a", "1.0", "1.0"), _row("b", "1.0", "2.0", s500=1))
    clean = doctor.diagnose(records, _pinned("1.0", "1.0"), "werkzeug", "by hand")
    assert (clean.verdict, clean.exit_code) == ("not affected", 0)
    clean.live = doctor.Live("http://127.0.0.1:1", False, "FAILED")
    assert (clean.verdict, clean.exit_code) == ("affected", 1)
    assert clean.headline().startswith("AFFECTED: the live checks of http://127.0.0.1:1 failed")
    ranged = {"werkzeug": Wanted("werkzeug", "1.0"), "python-engineio": Wanted("python-engineio", None, ">=1")}
    both = doctor.diagnose(records, ranged, "werkzeug", "by hand")
    assert [f.outcome for f in both.findings] == ["nothing", "500"] and both.exit_code == 1
    unmeasured = doctor.diagnose(records, _pinned("1.0", "1.5"), "werkzeug", "by hand")
    assert (unmeasured.verdict, unmeasured.exit_code) == ("unmeasured", 3)
    assert doctor.diagnose(records, _pinned("1.0", "1.0"), "werkzeug-debug", "by hand").exit_code == 3
    with pytest.raises(WslabError, match="not installed"):
        doctor.diagnose(records, {"werkzeug": Wanted("werkzeug", "1.0")}, "werkzeug", "x", installed=True)


@pytest.mark.pins_independent
def test_requirements_follow_includes_relative_to_their_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("python-engineio ~= 4.12.0 \\\n  ; python_version >= '3'\n")
    (tmp_path / "main.txt").write_text("# pins\n-r sub/base.txt\nWerkzeug==2.3.8  # inline\n"
                                       "gunicorn==1.0; python_version < '3'\n--index-url https://example.invalid\n")
    found = required_versions(tmp_path / "main.txt")
    assert found["werkzeug"].version == "2.3.8" and found["werkzeug"].source.endswith("main.txt:3")
    assert found["python-engineio"].version is None and found["python-engineio"].specifier == "~=4.12.0"
    assert found["gunicorn"].missing and found["flask"].missing
    (tmp_path / "twice.txt").write_text("werkzeug==2.3.8\nwerkzeug==3.1.9\n")
    with pytest.raises(WslabError, match="pinned to more than one version"):
        required_versions(tmp_path / "twice.txt")


@pytest.mark.pins_independent
def test_pins_and_names_are_read_as_the_package_index_reads_them() -> None:
    from wslab import versions

    assert versions.parse_pin("Flask_SocketIO == 5.5.1") == ("flask-socketio", "5.5.1")
    for bad in ("werkzeug>=2", "werkzeug==", "==2.3.8", "werkzeug", "wer kzeug==1", "werkzeug=2.3.8", "w==2.*"):
        with pytest.raises(WslabError, match=f"malformed pin {re.escape(repr(bad))}"):
            versions.parse_pin(bad)
    assert versions.package_name(" Python_EngineIO ") == "python-engineio"
    for bad in ("a b", "x==1", "x[y]", "-x", ""):
        with pytest.raises(WslabError, match="is not a package name"):
            versions.package_name(bad)


@pytest.mark.pins_independent
def test_another_interpreters_versions_are_what_it_reports_itself() -> None:
    from wslab import versions

    python, found = versions.probe_versions(sys.executable, ["Werkzeug", "no-such-package-wslab"])
    assert python == ".".join(map(str, sys.version_info[:3]))
    assert found == {"werkzeug": importlib.metadata.version("werkzeug"), "no-such-package-wslab": None}
    _, every = versions.probe_versions(sys.executable)
    assert every["python-engineio"] == importlib.metadata.version("python-engineio")
    with pytest.raises(WslabError, match="does not run"):
        versions.probe_versions("/nonexistent/python")


@pytest.mark.pins_independent
def test_a_damaged_record_is_one_error(tmp_path: Path) -> None:
    damaged = tmp_path / "matrix.json"
    damaged.write_text('{"rows": "not a list"}')
    with pytest.raises(WslabError, match="not a matrix result"):
        doctor.load_records(damaged, BISECT_FILE)
    assert os.path.exists(BISECT_FILE)


def test_diagnose_requirements_finds_the_file_under_the_kit_from_any_folder(tmp_path, monkeypatch) -> None:
    """The notebooks' call: a path relative to the repository works from another folder."""
    from wslab.diagnose.doctor import diagnose_requirements

    monkeypatch.chdir(tmp_path)
    incident = diagnose_requirements()
    explicit = diagnose_requirements("requirements/incident.txt")
    # The incident pins' direct WebSocket row in the recorded matrix has 500s (read with plain json).
    rows = json.loads((DATA_DIR / "matrix" / "matrix.json").read_text())["rows"]
    row = next(r for r in rows if r["cell"] == "incident" and r["variant"] == "before" and r["server"] == "werkzeug")
    assert row["direct"]["status_500"] > 0
    assert incident.exit_code == explicit.exit_code == 1
    with pytest.raises(WslabError, match="no requirements file"):
        diagnose_requirements("requirements/nope.txt")
