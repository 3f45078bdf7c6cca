"""``wslab analyze``: outputs, exit codes and messages."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from wslab.cli import main
from wslab.logs import ERROR_RATE_DEFINITION
from wslab.logs.scanning import stream as stream_module

pytestmark = pytest.mark.pins_independent

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


def test_chained_tracebacks_in_json_and_text(capsys) -> None:
    # tests/logsamples/chained.log: 10 tracebacks really raised and logged, 7 of them chained
    sample = str(SAMPLES / "chained.log")
    code, out, _ = _run(capsys, sample, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["chained_tracebacks"] == 7 and data["incomplete_tracebacks"] == 0
    assert {"chain": ["KeyError", "RuntimeError"], "count": 2} in data["exception_chains"]
    assert {"chain": ["FileNotFoundError", "KeyError", "RuntimeError"], "count": 1} in data["exception_chains"]
    assert sum(data["exceptions"].values()) == 10
    code, out, _ = _run(capsys, sample)
    assert "chained tracebacks             7" in out
    assert "FileNotFoundError -> KeyError -> RuntimeError" in out


# Hand counts (grep on the raw files) of the samples the --jobs tests combine:
# request lines per status, Bad request syntax records, write() tracebacks, lines.
SERVER_SAMPLE_STATUSES = {"200": 8, "400": 2, "404": 1, "500": 4}
CHAINED_STATUSES = {"200": 11, "500": 10}
CHAINED_CUT_STATUSES = {"200": 10, "500": 9}


def _times(statuses: dict[str, int], n: int) -> Counter:
    return Counter({status: count * n for status, count in statuses.items()})


def _jobs_inputs(directory: Path, repeats: int) -> tuple[list[str], dict]:
    """A large log of iso.log, thread.log and chained.log *repeats* times, then bare.log and
    chained_cut.log as files of their own; and the counts they must give, from the hand counts."""
    unit = b"".join((SAMPLES / name).read_bytes() for name in ("iso.log", "thread.log", "chained.log"))
    big = directory / "big.log"
    big.write_bytes(unit * repeats)
    statuses = (
        _times(SERVER_SAMPLE_STATUSES, 2 * repeats)
        + _times(CHAINED_STATUSES, repeats)
        + _times(SERVER_SAMPLE_STATUSES, 1)
        + _times(CHAINED_CUT_STATUSES, 1)
    )
    expected = {
        "status_counts": dict(sorted(statuses.items())),
        "request_lines": sum(statuses.values()),
        "bad_request_syntax_lines": 2 * 2 * repeats + 2,
        "write_before_start_response": (2 * 2 + 1) * repeats + 2 + 1,
        "lines": (81 + 81 + 176) * repeats + 80 + 168,
        "incomplete_tracebacks": 1,
        "unparsed_lines": 0,
    }
    return [str(big), str(SAMPLES / "bare.log"), str(SAMPLES / "chained_cut.log")], expected


def _raw_statuses(paths: list[str]) -> Counter:
    """Request lines per status over the raw bytes, with a regex of this test's own."""
    line = re.compile(rb'\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] ".*" (\d{3}) (?:\d+|-)(?=\s|$)', re.M)
    return Counter(s.decode() for path in paths for s in line.findall(Path(path).read_bytes()))


def test_jobs_2_on_several_files_gives_the_hand_counts(capsys, tmp_path: Path, monkeypatch) -> None:
    logs, expected = _jobs_inputs(tmp_path, repeats=40)
    assert _raw_statuses(logs) == expected["status_counts"]
    monkeypatch.setattr(stream_module, "PARALLEL_MIN_BYTES", 1)  # split these small files too
    split_into: list[int] = []
    split = stream_module.split_offsets

    def recording_split(path: Path, parts: int) -> list[int]:
        offsets = split(path, parts)
        split_into.append(len(offsets) - 1)
        return offsets

    monkeypatch.setattr(stream_module, "split_offsets", recording_split)
    code, out, err = _run(capsys, *logs, "--jobs", "2", "--json")
    assert code == 0 and err == ""
    parallel = json.loads(out)
    assert {key: parallel[key] for key in expected} == expected
    assert parallel["files"] == logs
    assert split_into == [2, 2, 2]  # every file was scanned as two ranges by two workers
    code, out, _ = _run(capsys, *logs, "--jobs", "1", "--json")
    assert code == 0 and split_into == [2, 2, 2]
    assert json.loads(out) == parallel


def test_jobs_2_on_a_file_above_the_split_size(tmp_path: Path) -> None:
    unit = b"".join((SAMPLES / name).read_bytes() for name in ("iso.log", "thread.log", "chained.log"))
    repeats = stream_module.PARALLEL_MIN_BYTES // len(unit) + 1
    big = tmp_path / "big.log"
    big.write_bytes(unit * repeats)
    assert big.stat().st_size >= stream_module.PARALLEL_MIN_BYTES
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "analyze", str(big), "--jobs", "2", "--json"],
        capture_output=True,
        check=True,
        timeout=240,
    )
    data = json.loads(result.stdout)
    statuses = _times(SERVER_SAMPLE_STATUSES, 2 * repeats) + _times(CHAINED_STATUSES, repeats)
    assert data["status_counts"] == dict(sorted(statuses.items()))
    assert data["lines"] == (81 + 81 + 176) * repeats
    assert data["bad_request_syntax_lines"] == 4 * repeats
    assert data["write_before_start_response"] == 5 * repeats
    assert data["chained_tracebacks"] == (1 + 1 + 7) * repeats and data["incomplete_tracebacks"] == 0
    assert data["unparsed_lines"] == 0 and data["warnings"] == []


@pytest.mark.parametrize("value", ["0", "-2", "x", "2.5", ""])
def test_bad_jobs_value_is_one_error_line(capsys, value: str) -> None:
    code, out, err = _run(capsys, str(ISO), "--jobs", value)
    assert code == 2
    assert out == ""
    assert err.startswith("wslab: error: --jobs must be ") and err.count("\n") == 1, err
    assert repr(value) in err or f"(got {value})" in err


# -- bad input: one line on stderr, the documented exit code ---------------------------------

#: Bytes of every value, as in a binary file: far more than a third are no text.
BINARY = bytes(range(256)) * 32
#: An Apache error log: text lines of a format the kit does not read.
APACHE_ERROR = (
    b"[Tue Sep 01 13:04:34.123456 2025] [core:error] [pid 1234] [client 10.0.0.7:5050] AH00126: Invalid URI\n"
) * 12


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (BINARY, 1, "binary data"),
        (b"\xfd7zXZ\x00" + BINARY, 1, "xz-compressed data, not a text log (only plain and gzip logs are read"),
        (APACHE_ERROR, 1, "unknown log format, no Werkzeug request lines among 12 lines (12 unparsed"),
        (b"", 1, "empty, no log lines to analyze"),
    ],
    ids=["binary", "xz", "unknown-format", "empty"],
)
@pytest.mark.parametrize("mode", [[], ["--by", "kind"]], ids=["streamed", "parsed"])
def test_files_with_nothing_to_analyze(tmp_path: Path, content: bytes, code: int, message: str, mode) -> None:
    log = tmp_path / "webapp.log"
    log.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "analyze", str(log), *mode], capture_output=True, timeout=120
    )
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert result.stdout == b""
    assert err.startswith(f"wslab: error: {log}: ") and message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("mode", [[], ["--by", "kind"]], ids=["streamed", "parsed"])
def test_a_binary_file_fails_as_it_is_opened_before_any_scan(capsys, tmp_path: Path, monkeypatch, mode) -> None:
    # Beside a good log, a binary file is still one error, raised before any of its chunks is read.
    from wslab.logs.reading.opened import OpenedLog

    binary = tmp_path / "core.bin"
    binary.write_bytes(BINARY)
    scanned: list[str] = []
    chunks = OpenedLog.chunks

    def recording(log: OpenedLog):
        scanned.append(log.name)
        return chunks(log)

    monkeypatch.setattr(OpenedLog, "chunks", recording)
    code, out, err = _run(capsys, str(ISO), str(binary), *mode)
    assert code == 1 and out == "" and scanned == [str(ISO)]
    assert re.fullmatch(
        rf"wslab: error: {re.escape(str(binary))}: binary data \(\d+% of its first bytes are no text\), "
        r"not a text log \(only plain and gzip logs are read\)\n",
        err,
    ), err


@pytest.mark.parametrize("mode", [[], ["--by", "kind"]], ids=["streamed", "parsed"])
def test_each_log_is_opened_once(capsys, monkeypatch, mode) -> None:
    from wslab.logs.reading import opened

    opens: list[object] = []
    real = opened.open_source

    def counting(source):
        opens.append(source)
        return real(source)

    monkeypatch.setattr(opened, "open_source", counting)
    code, _, _ = _run(capsys, str(ISO), *mode)
    assert code == 0 and opens == [str(ISO)]


def test_unknown_format_lists_the_formats_read(capsys, tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_bytes(b'{"level": "info", "msg": "GET / 200"}\n' * 3)
    code, out, err = _run(capsys, str(log))
    assert code == 1 and out == ""
    assert "formats read: werkzeug, gunicorn-access, gunicorn-error, nginx" in err and err.count("\n") == 1


def test_a_format_given_names_itself(capsys, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(APACHE_ERROR)
    code, _, err = _run(capsys, str(log), "--format", "nginx")
    assert code == 1 and "no nginx request lines among 12 lines" in err and "(read as --format nginx)" in err


def test_a_damaged_log_with_requests_is_still_read(capsys, tmp_path: Path) -> None:
    # a few NUL bytes and stray binary in a real log are damage, not a binary file
    log = tmp_path / "damaged.log"
    log.write_bytes(ISO.read_bytes() + b"\x00\x00\xff\xfe garbage\n")
    code, out, _ = _run(capsys, str(log), "--json")
    assert code == 0 and json.loads(out)["request_lines"] == 15


@pytest.mark.parametrize("value", ["0", "-1", "x", "inf", ""])
def test_bad_bucket_is_one_error_line(capsys, value: str) -> None:
    code, out, err = _run(capsys, str(ISO), "--by", "time", "--bucket", value)
    assert code == 2 and out == ""
    assert err.startswith("wslab: error: --bucket must be") and err.count("\n") == 1


def test_help_documents_the_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit codes: 0 ok; 1 nothing to analyze (an empty file, binary data, no request lines" in text
    assert "2 usage error (a missing file, a directory, an unreadable file, a bad option)" in text


def test_by_time_uses_the_bucket(capsys) -> None:
    # iso.log's request lines, read off the raw file: seconds 19:03:34 to 19:03:36
    seconds = Counter(
        m.decode() for m in re.findall(rb"^\[\d{4}-\d\d-\d\dT(\d\d:\d\d:\d\d)\.\d+\] INFO werkzeug - [^\n]*\] \"",
                                       ISO.read_bytes(), re.M)
    )
    code, out, _ = _run(capsys, str(ISO), "--by", "time", "--json")
    data = json.loads(out)
    assert code == 0 and data["bucket_seconds"] == 1.0
    assert {row["time"][11:19]: row["requests"] for row in data["table"]} == dict(seconds)
    code, out, _ = _run(capsys, str(ISO), "--by", "time", "--bucket", "3600", "--json")
    data = json.loads(out)
    assert data["bucket_seconds"] == 3600.0 and [row["requests"] for row in data["table"]] == [15]
