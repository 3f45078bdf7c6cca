"""``wslab analyze``: outputs, exit codes and messages."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wslab.cli import main
from wslab.logs import ERROR_RATE_DEFINITION

SAMPLES = Path(__file__).parent / "logsamples"
ISO = SAMPLES / "iso.log"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_summary(capsys) -> None:
    code, out, _ = _run(capsys, str(ISO), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["files"] == [str(ISO)]
    assert data["request_lines"] == 15
    assert data["status_counts"] == {"200": 8, "400": 2, "404": 1, "500": 4}
    assert data["server_errors"] == 4 and data["error_rate"] == pytest.approx(4 / 15)
    assert data["exceptions"]["AssertionError: write() before start_response"] == 2
    assert data["bad_request_syntax_lines"] == 2 and data["unparsed_lines"] == 0
    assert data["error_rate_definition"] == ERROR_RATE_DEFINITION


def test_text_output_states_the_definition(capsys) -> None:
    code, out, _ = _run(capsys, str(ISO), str(SAMPLES / "bare.log"))
    assert code == 0
    assert ERROR_RATE_DEFINITION in out
    assert "request lines                  30" in out


@pytest.mark.parametrize("by", ["phase", "minute", "transport", "route"])
def test_by_groups(capsys, by: str) -> None:
    code, out, _ = _run(capsys, str(ISO), "--by", by, "--json")
    data = json.loads(out)
    assert code == 0 and data["by"] == by
    assert sum(row["requests"] for row in data["table"]) == 15
    assert all({"server_errors", "error_rate", "ci_low", "ci_high"} <= set(row) for row in data["table"])


def test_phase_at_and_plot(capsys, tmp_path: Path) -> None:
    png = tmp_path / "rate.png"
    code, out, err = _run(capsys, str(ISO), "--phase-at", "2026-11-25T19:03:35", "--plot", str(png))
    assert code == 0
    assert "phase 0" in out and "phase 1" in out and ERROR_RATE_DEFINITION in out
    assert png.read_bytes()[:4] == b"\x89PNG" and "chart written" in err


def test_gzip_and_stdin(tmp_path: Path) -> None:
    packed = tmp_path / "webapp.log.1"
    packed.write_bytes(gzip.compress(ISO.read_bytes()))
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "analyze", "-", "--json"],
        input=packed.read_bytes(),
        capture_output=True,
        check=True,
    )
    assert json.loads(result.stdout)["request_lines"] == 15


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (lambda d: d / "missing.log", 2, "no such log file"),
        (lambda d: d, 2, "is a directory"),
        (lambda d: (d / "empty.log").write_bytes(b"") and d / "empty.log" or d / "empty.log", 1, "empty"),
        (
            lambda d: (d / "junk.log").write_bytes(b"\xff\x00junk\nmore\n") and d / "junk.log",
            1,
            "no Werkzeug request lines",
        ),
    ],
    ids=["missing", "directory", "empty", "no-requests"],
)
def test_user_errors(capsys, tmp_path: Path, make, code: int, message: str) -> None:
    path = make(tmp_path)
    got, out, err = _run(capsys, str(path))
    assert got == code
    assert out == ""
    assert err.startswith("wslab: error: ") and message in err and err.count("\n") == 1


def test_bad_phase_at(capsys) -> None:
    code, _, err = _run(capsys, str(ISO), "--phase-at", "yesterday-ish")
    assert code == 2 and "not a timestamp" in err
