"""The parser on real logs: servers run here under several logging setups, counted client-side."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from conftest_logs import BAD_SYNTAX, FORMATS, WRITE_ERROR_LINE, produce_log, raw_statuses
from wslab.logs import parse_log, parse_logs, scan_summary, summarize

SAMPLES = Path(__file__).parent / "logsamples"
EXCERPT = Path(__file__).parents[1] / "data" / "logs" / "writeup_excerpt.log"
WRITE_ERROR = "AssertionError: write() before start_response"

_SERVER_SAMPLE = {
    "status_counts": {"200": 8, "400": 2, "404": 1, "500": 4},
    "write_before_start_response": 2,
    "bad_request_syntax_lines": 2,
    "exceptions": {WRITE_ERROR: 2, "RuntimeError: chained": 1, "ValueError: boom": 1},
    "complete_tracebacks": 4,
    "chained_tracebacks": 1,
    "incomplete_tracebacks": 0,
    "unparsed_lines": 0,
}
_CHAINED_SAMPLE = {
    "status_counts": {"200": 11, "500": 10},
    "write_before_start_response": 1,
    "bad_request_syntax_lines": 0,
    "complete_tracebacks": 10,
    "chained_tracebacks": 7,
    "incomplete_tracebacks": 0,
    "unparsed_lines": 0,
}
#: The committed samples counted by hand (grep on the raw files; ``lines`` is the number
#: of newlines, plus one for a last line without its newline). ``complete_tracebacks``
#: is the number of final exceptions, the sum of the ``exceptions`` counts.
HAND_COUNTED = {
    "iso.log": {"lines": 81, **_SERVER_SAMPLE},
    "basic.log": {"lines": 81, **_SERVER_SAMPLE},
    "thread.log": {"lines": 81, **_SERVER_SAMPLE},
    "bare.log": {"lines": 80, **_SERVER_SAMPLE},
    "chained.log": {"lines": 176, **_CHAINED_SAMPLE},
    "chained_blank_lines.log": {"lines": 236, **_CHAINED_SAMPLE},
    "chained_cut.log": {
        **_CHAINED_SAMPLE,
        "lines": 168,
        "status_counts": {"200": 10, "500": 9},
        "complete_tracebacks": 9,
        "chained_tracebacks": 6,
        "incomplete_tracebacks": 1,
    },
    "cut_traceback.log": {
        "lines": 2,
        "status_counts": {},
        "write_before_start_response": 0,
        "bad_request_syntax_lines": 0,
        "complete_tracebacks": 0,
        "chained_tracebacks": 0,
        "incomplete_tracebacks": 1,
        "unparsed_lines": 0,
    },
}


def raw_line_count(data: bytes) -> int:
    """Lines in *data*: its newlines, plus one for a last line that has none."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@pytest.fixture(scope="module", params=FORMATS)
def real_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A log written by a real Werkzeug server in one logging format, and what the clients saw."""
    return produce_log(request.param, tmp_path_factory.mktemp(request.param))


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_counts_equal_what_clients_did(real_log) -> None:
    log, seen = real_log
    parsed = parse_log(log)
    statuses = {code: n for code, n in seen.items() if code.isdigit()}
    assert parsed.requests["status"].value_counts().to_dict() == statuses
    assert parsed.bad_request_syntax_lines == seen["garbage"]
    assert parsed.unparsed_lines == 0, parsed.unparsed_samples
    complete = parsed.errors[parsed.errors["complete"]]
    assert (complete["error"] == WRITE_ERROR).sum() == seen["websocket"]
    assert set(complete["error"]) == {WRITE_ERROR, "ValueError: boom", "RuntimeError: chained"}


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_tracebacks_are_matched_to_their_request(real_log) -> None:
    parsed = parse_log(real_log[0])
    requests = parsed.requests
    assert parsed.errors["request"].notna().all()
    matched = requests.loc[parsed.errors["request"].astype(int)].reset_index(drop=True)
    errors = parsed.errors.reset_index(drop=True)
    assert (matched["status"] == "500").all()
    assert (matched.loc[errors["error"] == WRITE_ERROR, "transport"] == "websocket").all()
    assert set(matched.loc[errors["reporter"] == "flask", "path"]) == {"/boom", "/chain"}
    assert parsed.errors["request"].is_unique


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_traceback_details(real_log) -> None:
    errors = parse_log(real_log[0]).errors.set_index("error")
    frames = errors.loc[WRITE_ERROR, "frames"].iloc[0]
    assert [f["function"] for f in frames] == ["run_wsgi", "execute", "write"]
    assert all(f["file"].endswith("werkzeug/serving.py") and f["line"] > 0 for f in frames)
    assert errors.loc["RuntimeError: chained", "chain"] == ["KeyError: 'missing'"]
    assert errors.loc["ValueError: boom", "exception"] == "ValueError"


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_request_fields(real_log) -> None:
    requests = parse_log(real_log[0]).requests
    ws = requests[requests["transport"] == "websocket"]
    assert (ws["eio"] == "4").all() and ws["is_socketio"].all() and (ws["path"] == "/socket.io/").all()
    polling = requests[requests["transport"] == "polling"]
    assert len(polling) > 0 and polling["sid"].notna().any()
    assert requests["ts"].notna().all()
    assert requests["client"].eq("127.0.0.1").all()
    assert requests["method"].isna().sum() == 2  # the raw garbage request lines


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_both_paths_count_what_clients_sent_and_the_raw_log_holds(real_log) -> None:
    log, seen = real_log
    data = log.read_bytes()
    statuses = {code: n for code, n in seen.items() if code.isdigit()}
    assert raw_statuses(data) == statuses  # the log itself, counted without the parser
    for path, summary in {"streamed": scan_summary([log]), "parsed": summarize(parse_log(log))}.items():
        assert summary["status_counts"] == statuses, path
        assert summary["request_lines"] == sum(statuses.values()), path
        assert summary["server_errors"] == sum(n for s, n in statuses.items() if s[0] == "5"), path
        assert summary["bad_request_syntax_lines"] == seen["garbage"] == data.count(BAD_SYNTAX), path
        assert summary["write_before_start_response"] == seen["websocket"], path
        assert summary["write_before_start_response"] == len(WRITE_ERROR_LINE.findall(data)), path
        assert summary["lines"] == raw_line_count(data), path
        assert summary["unparsed_lines"] == 0, (path, summary["unparsed_samples"])
    # the keys not pinned above (exception texts, chains, samples): the two paths agree
    assert scan_summary([log]) == summarize(parse_log(log))


@pytest.mark.incident  # the live servers' WebSocket closes log tracebacks only on the incident pins
def test_gzip_stdin_and_file_objects_give_the_same_counts(real_log, tmp_path: Path, monkeypatch) -> None:
    log, seen = real_log
    data = log.read_bytes()
    packed = tmp_path / "rotated.1"  # gzip found by magic bytes, not by name
    packed.write_bytes(gzip.compress(data))
    statuses = {code: n for code, n in seen.items() if code.isdigit()}
    assert raw_statuses(data) == statuses
    sources = {
        "gzip file": lambda: packed,
        "binary stream": lambda: io.BytesIO(data),
        "text stream": lambda: io.StringIO(data.decode("utf-8")),
        "list of lines": lambda: data.decode().splitlines(),
    }
    for name, source in sources.items():
        for path, summary in {
            "parsed": summarize(parse_log(source())),
            "streamed": scan_summary([source()], jobs=1),
        }.items():
            assert summary["status_counts"] == statuses, (name, path)
            assert summary["bad_request_syntax_lines"] == seen["garbage"], (name, path)
            assert summary["write_before_start_response"] == seen["websocket"], (name, path)
            assert summary["lines"] == raw_line_count(data), (name, path)
            assert summary["unparsed_lines"] == 0 and summary["warnings"] == [], (name, path)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(data))))
    assert scan_summary(["-"])["status_counts"] == statuses


def test_writeup_excerpt() -> None:
    parsed = parse_log(EXCERPT)
    assert parsed.requests[["method", "path", "eio", "transport", "status"]].to_dict("records") == [
        {"method": "GET", "path": "/socket.io/", "eio": "4", "transport": "websocket", "status": "500"}
    ]
    (error,) = parsed.errors.to_dict("records")
    assert error["error"] == WRITE_ERROR  # the format's " (taskName=None)" suffix is stripped
    assert error["request"] == 0 and error["reporter"] == "werkzeug"
    assert str(error["ts"]) == "2025-09-01 13:04:34.763942"
    assert parsed.unparsed_lines == 0 and parsed.lines == 10


def test_every_committed_sample_is_counted_here() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.log")) == sorted(HAND_COUNTED)


@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_committed_samples_both_paths_give_the_hand_counts(name: str) -> None:
    expected = HAND_COUNTED[name]
    data = (SAMPLES / name).read_bytes()
    assert raw_statuses(data) == expected["status_counts"]  # the pinned numbers, re-counted by regex
    for path, summary in {
        "streamed": scan_summary([SAMPLES / name], jobs=1),
        "parsed": summarize(parse_log(SAMPLES / name)),
    }.items():
        got = {key: summary[key] for key in expected if key != "complete_tracebacks"}
        got["complete_tracebacks"] = sum(summary["exceptions"].values())
        assert got == expected, path
        assert summary["request_lines"] == sum(expected["status_counts"].values()), path
        assert summary["files"] == [str(SAMPLES / name)], path


def test_cut_off_traceback_is_counted_not_raised() -> None:
    parsed = parse_log(SAMPLES / "cut_traceback.log")
    assert parsed.incomplete_tracebacks == 1
    assert parsed.errors["complete"].tolist() == [False]


def test_foreign_and_undecodable_lines_are_sampled() -> None:
    lines = [
        b"garbage \xff\xfe line",
        b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET / HTTP/1.1" 200 -',
        b"more junk",
    ]
    parsed = parse_log(lines)
    assert len(parsed.requests) == 1
    assert parsed.unparsed_lines == 2
    assert parsed.unparsed_samples[0] == "garbage \\xff\\xfe line"


def test_prefixes_from_other_setups() -> None:
    request = '127.0.0.1 - - [01/Sep/2025 13:04:34] "GET /a?x=1 HTTP/1.1" 503 12'
    lines = [
        f"Sep  1 13:04:34 host web[42]: {request}",
        f"2025-09-01T13:04:35Z stdout F {request}",
        f"\x1b[32mINFO\x1b[0m {request}",
    ]
    parsed = parse_log(lines)
    assert parsed.requests["status"].tolist() == ["503"] * 3
    assert parsed.requests["size"].tolist() == ["12"] * 3
    assert parsed.unparsed_lines == 0
    assert str(parsed.requests["ts"][1]) == "2025-09-01 13:04:35"


def test_several_files_keep_their_names() -> None:
    parsed = parse_logs([SAMPLES / "iso.log", SAMPLES / "bare.log"])
    assert parsed.requests.groupby("file").size().to_dict() == {
        str(SAMPLES / "iso.log"): 15,
        str(SAMPLES / "bare.log"): 15,
    }


def test_crlf_line_endings_and_ipv6_clients() -> None:
    data = (SAMPLES / "iso.log").read_bytes().replace(b"127.0.0.1 - -", b"::1 - -").replace(b"\n", b"\r\n")
    parsed = parse_log(io.BytesIO(data))
    assert len(parsed.requests) == 15 and parsed.unparsed_lines == 0
    assert set(parsed.requests["client"]) == {"::1"}
    assert (parsed.errors["error"] == WRITE_ERROR).sum() == 2
    assert parsed.errors["frames"].map(len).min() > 0
