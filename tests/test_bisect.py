"""A package's releases one by one (``wslab.study.versions.bisect``, ``wslab bisect``).

Everything runs for real: the releases come from the package index through
pip, each release's environment is built with uv under a temporary root and
measured in a subprocess against Werkzeug's dev server.  Expected values come
from outside the code under test: the listing from pip's own text output,
parsed here; each release's counts from a regex over that release's raw log;
the first release without the 500 worked out here from those regex counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from wslab import cli

pytestmark = pytest.mark.pins_independent

PACKAGE = "python-engineio"
#: Two consecutive releases around python-engineio 4.13.x.
RANGE = ("4.13.3", "4.13.4")
PINS = ["--pin", "werkzeug==2.3.8"]
USERS = 2

OWN_LINE = re.compile(rb'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?(?P<query>\S*transport=websocket\S*) HTTP/1\.1'
                      rb'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')
LEFT_OVER = re.compile(rb'"(?:\x1b\[[0-9;]*m)*None /socket\.io/\?(?P<query>\S*) HTTP/0\.9(?:\x1b\[[0-9;]*m)*" 400 ')
WBSR = re.compile(rb"^AssertionError: write\(\) before start_response", re.M)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _pip_listing(package: str) -> list[str]:
    """The versions ``pip index versions`` prints, read from its text (not its JSON)."""
    done = subprocess.run([sys.executable, "-m", "pip", "index", "versions", package],
                          capture_output=True, text=True, check=True)
    line = re.search(r"^Available versions: (.+)$", done.stdout, re.M)
    assert line, done.stdout
    return [v.strip() for v in line[1].split(",")]


def _expected_counts(log: bytes, users: int) -> dict[str, int]:
    """The direct connections' counts, from the regexes over the raw log only."""
    own: dict[str, list[int]] = {}
    for m in OWN_LINE.finditer(log):
        conn = re.search(rb"(?:^|&)wslab_conn=(websocket-\d+)", m["query"])
        if conn:
            own.setdefault(conn[1].decode(), []).append(int(m["status"]))
    left = {c.decode() for m in LEFT_OVER.finditer(log)
            for c in re.findall(rb"(?:^|&)wslab_conn=(websocket-\d+)", m["query"])}
    last = [statuses[-1] for statuses in own.values()]
    return {"connections": users, "status_500": last.count(500), "status_101": last.count(101),
            "status_200": last.count(200),
            "status_400": len({c for c, s in own.items() if s[-1] == 400} | left),
            "not_logged": users - len(own), "write_before_start_response": len(WBSR.findall(log))}


def _first_without_500(counts: list[tuple[str, int]]) -> str | None:
    """Written here from the definition: earliest 0 after which every release has 0."""
    for i, (version, _) in enumerate(counts):
        if all(n == 0 for _, n in counts[i:]):
            return version
    return None


def _wslab(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


#: Child processes of this worker when this module's tests start (a session fixture may hold some).
_CHILDREN_BEFORE: set[int] = set()


@pytest.fixture(scope="module", autouse=True)
def _note_children_before() -> None:
    _CHILDREN_BEFORE.update(p.pid for p in psutil.Process().children(recursive=True))


def _nothing_running(timeout: float = 10.0) -> list[psutil.Process]:
    """This module's child processes still alive once *timeout* has passed (none, if all is well)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in psutil.Process().children(recursive=True)
                if p.pid not in _CHILDREN_BEFORE and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"envs": tmp_path_factory.mktemp("bisect-envs"), "cache": tmp_path_factory.mktemp("bisect-cache")}


@pytest.fixture
def isolated(roots: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("WSLAB_ENVS_DIR", str(roots["envs"]))
    monkeypatch.setenv("WSLAB_BISECT_DIR", str(roots["cache"]))
    return roots


def _bisect(out: Path, *extra: str) -> tuple[int, dict, str]:
    code, stdout, stderr = _wslab(["bisect", PACKAGE, "--from", RANGE[0], "--to", RANGE[1], *PINS,
                                   "--users", str(USERS), "--out", str(out), "--json", "--no-progress",
                                   *extra])
    return code, (json.loads(stdout) if stdout.strip() else {}), stderr


@pytest.fixture(scope="module")
def first_run(roots: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The bisect over RANGE, run once for the module with nothing cached."""
    out = tmp_path_factory.mktemp("bisect-first")
    mp = pytest.MonkeyPatch()
    mp.setenv("WSLAB_ENVS_DIR", str(roots["envs"]))
    mp.setenv("WSLAB_BISECT_DIR", str(roots["cache"]))
    try:
        code, data, stderr = _bisect(out)
    finally:
        mp.undo()
    assert code == 0, stderr
    return out, data


def test_the_release_listing_is_what_pip_index_versions_prints() -> None:
    from wslab.study.versions import bisect

    low, high = "4.12.2", "4.13.5"
    listed = _pip_listing(PACKAGE)
    expected = sorted((v for v in listed if re.fullmatch(r"\d+(?:\.\d+)*", v)
                       and _key(low) <= _key(v) <= _key(high)), key=_key)
    assert len(expected) >= 3
    assert bisect.releases_in(bisect.list_releases(PACKAGE), low, high, PACKAGE) == expected


def test_each_release_counts_what_its_own_log_shows(first_run: tuple[Path, dict]) -> None:
    out, data = first_run
    assert (data["package"], data["pins"]) == (PACKAGE, {"werkzeug": "2.3.8"})
    releases = data["releases"]
    assert [r["version"] for r in releases] == list(RANGE)
    from_logs = []
    for release in releases:
        assert (release["error"], release["cached"]) == (None, False), release["version"]
        assert (release["versions"]["python_engineio"], release["versions"]["werkzeug"]) == \
            (release["version"], "2.3.8")
        expected = _expected_counts((out / "logs" / release["log"]).read_bytes(), USERS)
        assert release["direct"] == expected, release["version"]
        from_logs.append((release["version"], expected["status_500"]))
    assert data["first_release_without_500"] == _first_without_500(from_logs)
    assert json.loads((out / "bisect.json").read_text())["releases"] == releases


def test_a_second_run_is_served_from_the_cache(first_run: tuple[Path, dict], isolated: dict[str, Path],
                                               tmp_path: Path) -> None:
    out, first = first_run
    built = sorted(p.name for p in isolated["envs"].iterdir())
    code, again, stderr = _bisect(tmp_path)
    assert code == 0, stderr
    assert [r["cached"] for r in again["releases"]] == [True] * len(RANGE)
    assert [r["direct"] for r in again["releases"]] == [r["direct"] for r in first["releases"]]
    assert again["first_release_without_500"] == first["first_release_without_500"]
    for release in again["releases"]:
        assert (tmp_path / "logs" / release["log"]).read_bytes() == (out / "logs" / release["log"]).read_bytes()
    assert sorted(p.name for p in isolated["envs"].iterdir()) == built, "nothing was built again"


def test_an_unreachable_index_is_one_line_and_the_cached_releases_still_report(
        first_run: tuple[Path, dict], isolated: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, first = first_run
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no extra indexes from the machine's config
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_OFFLINE", "1")
    code, data, stderr = _bisect(tmp_path / "cached")
    lines = stderr.strip().splitlines()
    assert code != 0 and len(lines) == 1 and "package index is unreachable" in lines[0], stderr
    assert [(r["version"], r["cached"], r["direct"]) for r in data["releases"]] == \
        [(r["version"], True, r["direct"]) for r in first["releases"]]
    # other users: nothing of that is cached, so there is the one line and nothing else
    code, data, stderr = _bisect(tmp_path / "none", "--users", str(USERS + 1))
    lines = stderr.strip().splitlines()
    assert code != 0 and data == {} and len(lines) == 1 and "unreachable" in lines[0], stderr
    assert not (tmp_path / "none").exists()
    assert _nothing_running() == []


@pytest.mark.parametrize("args, says", [
    (["no-such-project-wslab-xyz", "--from", "1.0", "--to", "2.0"], "knows no project named 'no-such-project-wslab-xyz'"),
    ([PACKAGE, "--from", "4.13.99", "--to", "4.14.0"], "--from 4.13.99 is not a release of python-engineio"),
    ([PACKAGE, "--from", "4.14.0", "--to", "4.13.0"], "the range is empty"),
    ([PACKAGE, "--pin", "werkzeug=2.3.8"], "malformed pin 'werkzeug=2.3.8'"),
    ([PACKAGE, "--pin", "python-engineio==4.12.2"], "pins python-engineio, the package being bisected"),
], ids=["unknown-package", "not-a-release", "empty-range", "malformed-pin", "pins-itself"])
def test_bad_input_is_one_error_line_and_nothing_runs(args: list[str], says: str, isolated: dict[str, Path],
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSLAB_BISECT_DIR", str(tmp_path / "bisect"))
    code, stdout, stderr = _wslab(["bisect", *args, "--no-progress"])
    lines = stderr.strip().splitlines()
    assert code != 0 and stdout == ""
    assert len(lines) == 1 and lines[0].startswith("wslab: error: ") and says in lines[0], stderr
    assert not (tmp_path / "bisect").exists(), "nothing was written"
    assert _nothing_running() == []


def test_a_release_whose_env_cannot_be_built_fails_alone(isolated: dict[str, Path], tmp_path: Path) -> None:
    # python-socketio 5.13.0 needs python-engineio >= 4.11.0: 4.10.1 cannot be installed with it
    code, stdout, stderr = _wslab(["bisect", PACKAGE, "--from", "4.10.1", "--to", "4.11.0",
                                   "--pin", "python-socketio==5.13.0", *PINS, "--users", "1",
                                   "--out", str(tmp_path), "--json", "--no-progress"])
    assert code == 1, stderr
    broken, good = json.loads(stdout)["releases"]
    assert broken["version"] == "4.10.1" and broken["direct"] == {} and not broken["cached"]
    assert "python-engineio==4.10.1" in broken["error"] and "python-socketio==5.13.0" in broken["error"]
    assert good["version"] == "4.11.0" and good["error"] is None
    assert good["direct"] == _expected_counts((tmp_path / "logs" / good["log"]).read_bytes(), 1)
    assert json.loads(stdout)["first_release_without_500"] == \
        _first_without_500([(good["version"], good["direct"]["status_500"])])
    assert _nothing_running() == []
