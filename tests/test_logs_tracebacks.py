"""Chained tracebacks, exception groups, blank lines and cut-off blocks, both parse paths.

The logs come from :func:`conftest_logs.write_traceback_log`, which really raises the
exceptions listed in :data:`conftest_logs.TRACEBACK_ROUTES` in a fresh interpreter and
logs them as Werkzeug and Flask do. The expected values below are written out by
hand from that list, never computed by the parser. The committed samples
``chained*.log`` are the same log (paths shortened), written by running this file.

    python tests/test_logs_tracebacks.py   # rewrite tests/logsamples/chained*.log
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest_logs import TRACEBACK_ROUTES, produce_traceback_log
from wslab.logs import parse_log, scan_summary, summarize
from wslab.logs.scanning import stream as stream_module

SAMPLES = Path(__file__).parent / "logsamples"
ROUTES = [route for route, _, _ in TRACEBACK_ROUTES]

# One row per logged traceback, in log order: (route, kind, final "error", chain, sub_exceptions).
ROWS = [
    ("/direct", "werkzeug", "RuntimeError: lookup failed", ["KeyError: 'user'"], []),
    (
        "/during",
        "flask",
        "KeyError: 'missing'",
        ["ValueError: invalid literal for int() with base 10: 'not a number'"],
        [],
    ),
    (
        "/three",
        "werkzeug",
        "RuntimeError: three deep",
        [
            "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/dir/file'",
            "KeyError: 'config'",
        ],
        [],
    ),
    (
        "/group",
        "werkzeug",
        "ExceptionGroup: several (2 sub-exceptions)",
        [],
        ["ValueError: a", "TypeError: b"],
    ),
    ("/nested-group", "flask", "LookupError: after group", ["ExceptionGroup: outer (2 sub-exceptions)"], []),
    (
        "/group-during",
        "werkzeug",
        "ExceptionGroup: while handling (1 sub-exception)",
        ["KeyError: 'session'"],
        ["ZeroDivisionError: division by zero"],
    ),
    ("/caret", "werkzeug", "ZeroDivisionError: division by zero", [], []),
    ("/bare-cause", "flask", "RuntimeError: no stack cause", ["KeyError: 'never raised'"], []),
    ("/write", "werkzeug", "AssertionError: write() before start_response", [], []),
    ("/multiline", "flask", "ValueError: bad input:", ["KeyError: 'field'"], []),
]

# The summary keys about tracebacks for the whole log: 10 tracebacks, 7 of them chained.
EXPECTED = {
    "request_lines": 21,
    "status_counts": {"200": 11, "500": 10},
    "exceptions": {
        "AssertionError: write() before start_response": 1,
        "ExceptionGroup: several (2 sub-exceptions)": 1,
        "ExceptionGroup: while handling (1 sub-exception)": 1,
        "KeyError: 'missing'": 1,
        "LookupError: after group": 1,
        "RuntimeError: lookup failed": 1,
        "RuntimeError: no stack cause": 1,
        "RuntimeError: three deep": 1,
        "ValueError: bad input:": 1,
        "ZeroDivisionError: division by zero": 1,
    },
    "write_before_start_response": 1,
    "incomplete_tracebacks": 0,
    "chained_tracebacks": 7,
    "exception_chains": [
        {"chain": ["KeyError", "RuntimeError"], "count": 2},
        {"chain": ["ExceptionGroup", "LookupError"], "count": 1},
        {"chain": ["FileNotFoundError", "KeyError", "RuntimeError"], "count": 1},
        {"chain": ["KeyError", "ExceptionGroup"], "count": 1},
        {"chain": ["KeyError", "ValueError"], "count": 1},
        {"chain": ["ValueError", "KeyError"], "count": 1},
    ],
    "unparsed_lines": 0,
    "bad_request_syntax_lines": 0,
}

# Cut inside the last traceback (/multiline), after its sentence and first frame line:
# its 500 and 200 request lines and its final exception are gone.
EXPECTED_CUT = {
    **EXPECTED,
    "request_lines": 19,
    "status_counts": {"200": 10, "500": 9},
    "exceptions": {k: v for k, v in EXPECTED["exceptions"].items() if k != "ValueError: bad input:"},
    "incomplete_tracebacks": 1,
    "chained_tracebacks": 6,
    "exception_chains": [c for c in EXPECTED["exception_chains"] if c["chain"] != ["KeyError", "ValueError"]],
}

# Cut inside the /group traceback, before the group's own exception line: three
# complete tracebacks before it (/direct, /during, /three), all chained.
EXPECTED_CUT_GROUP = {
    **EXPECTED,
    "request_lines": 8,
    "status_counts": {"200": 4, "500": 4},
    "exceptions": {"RuntimeError: lookup failed": 1, "KeyError: 'missing'": 1, "RuntimeError: three deep": 1},
    "write_before_start_response": 0,
    "incomplete_tracebacks": 1,
    "chained_tracebacks": 3,
    "exception_chains": [
        {"chain": ["FileNotFoundError", "KeyError", "RuntimeError"], "count": 1},
        {"chain": ["KeyError", "RuntimeError"], "count": 1},
        {"chain": ["ValueError", "KeyError"], "count": 1},
    ],
}


def splice_blank_lines(data: bytes, every: int) -> bytes:
    """*data* with a blank line (empty or spaces only, alternately) after every *every*-th line."""
    out = []
    for i, line in enumerate(data.split(b"\n")):
        out.append(line)
        if i % every == every - 1:
            out.append(b"" if (i // every) % 2 else b"   ")
    return b"\n".join(out)


def cut_in_last_traceback(data: bytes) -> bytes:
    """*data* up to the first frame line after the last chaining sentence."""
    sentence = data.rindex(b"During handling of the above exception")
    header = data.index(b"Traceback (most recent call last):\n", sentence)
    frame = data.index(b"\n", data.index(b"\n", header) + 1)
    return data[: frame + 1]


def cut_in_group(data: bytes) -> bytes:
    """*data* up to the ``raise ExceptionGroup("several", ...)`` source line of the /group traceback."""
    line = data.index(b'  |     raise ExceptionGroup("several"')
    return data[: data.index(b"\n", line) + 1]


def portable(data: bytes) -> bytes:
    """The log with the test directory in frame paths replaced by ``/srv/app``."""
    return data.replace(str(Path(__file__).parent).encode(), b"/srv/app")


@pytest.fixture(scope="module")
def fresh_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The traceback log written just now by a subprocess that raised the exceptions."""
    return produce_traceback_log(tmp_path_factory.mktemp("tracebacks")).read_bytes()


@pytest.fixture(params=["fresh", "committed"])
def log_bytes(request: pytest.FixtureRequest, fresh_log: bytes) -> bytes:
    """The freshly generated log, or the committed sample made the same way."""
    return fresh_log if request.param == "fresh" else (SAMPLES / "chained.log").read_bytes()


def _picked(summary: dict, expected: dict) -> dict:
    return {key: summary[key] for key in expected}


def _both_paths(data: bytes) -> tuple[dict, dict, object]:
    """The streaming summary and the DataFrame summary (plus the parsed log) of *data*."""
    parsed = parse_log(io.BytesIO(data))
    return scan_summary([io.BytesIO(data)], jobs=1), summarize(parsed), parsed


def test_generator_wrote_the_shapes(fresh_log: bytes) -> None:
    """The input really holds what the tests are about (checked on the raw text)."""
    # five "During handling" sentences, one of them inside a group member; four "direct cause"
    assert fresh_log.count(b"During handling of the above exception, another exception occurred:") == 5
    assert fresh_log.count(b"The above exception was the direct cause of the following exception:") == 4
    assert fresh_log.count(b"  + Exception Group Traceback (most recent call last):") == 3
    assert len(re.findall(rb"^  \+-\+-+ 1 -+$", fresh_log, re.M)) == 3  # top-level groups
    assert len(re.findall(rb"^    \+-\+-+ 1 -+$", fresh_log, re.M)) == 1  # the nested group
    assert fresh_log.count(b'"GET /') == 21 and len(ROUTES) == len(ROWS) == 10
    assert re.search(rb"^ +~*\^+~*$", fresh_log, re.M), "no caret line"
    assert b"\n\n" in fresh_log


@pytest.mark.parametrize(
    "splice",
    [None, 1, 3, 7],
    ids=["as-written", "blank-after-every-line", "blank-every-3rd", "blank-every-7th"],
)
def test_chained_tracebacks_both_paths(log_bytes: bytes, splice: int | None) -> None:
    data = log_bytes if splice is None else splice_blank_lines(log_bytes, splice)
    streamed, summarized, parsed = _both_paths(data)
    assert _picked(streamed, EXPECTED) == EXPECTED
    assert _picked(summarized, EXPECTED) == EXPECTED
    errors = parsed.errors
    paths = parsed.requests.loc[errors["request"].astype(int), "path"].tolist()
    got = list(
        zip(paths, errors["reporter"], errors["error"], errors["chain"], errors["sub_exceptions"], strict=True)
    )
    assert got == ROWS
    assert errors["complete"].all()


def test_row_details(fresh_log: bytes) -> None:
    errors = parse_log(io.BytesIO(fresh_log)).errors.set_index("error")
    multiline = errors.loc["ValueError: bad input:"]
    assert multiline["message"] == "ValueError: bad input:\nline two"
    assert multiline["exception"] == "ValueError"
    assert [f["function"] for f in multiline["frames"]] == ["write_traceback_log", "_multiline"]
    group = errors.loc["ExceptionGroup: several (2 sub-exceptions)"]
    assert group["exception"] == "ExceptionGroup"
    assert [f["function"] for f in group["frames"]] == ["write_traceback_log", "_group"]
    assert errors.loc["ZeroDivisionError: division by zero", "frames"][-1]["function"] == "_caret"
    assert errors.loc["RuntimeError: no stack cause", "header"].endswith(
        "] ERROR logsample - Exception on /bare-cause [GET]"
    )


@pytest.mark.parametrize(
    ("cut", "expected"),
    [(cut_in_last_traceback, EXPECTED_CUT), (cut_in_group, EXPECTED_CUT_GROUP)],
    ids=["in-last-chain", "in-group"],
)
@pytest.mark.parametrize("splice", [None, 2], ids=["as-written", "blank-every-2nd"])
def test_cut_off_at_end_of_file(fresh_log: bytes, cut, expected: dict, splice: int | None) -> None:
    data = cut(fresh_log)
    data = data if splice is None else splice_blank_lines(data, splice)
    streamed, summarized, parsed = _both_paths(data)
    assert _picked(streamed, expected) == expected
    assert _picked(summarized, expected) == expected
    assert not parsed.errors["complete"].iloc[-1]
    assert parsed.errors["complete"].sum() == len(expected["exceptions"])


def test_cut_last_chain_keeps_its_earlier_exception(fresh_log: bytes) -> None:
    last = parse_log(io.BytesIO(cut_in_last_traceback(fresh_log))).errors.iloc[-1]
    assert last["chain"] == ["KeyError: 'field'"] and pd.isna(last["error"]) and not last["complete"]


def test_committed_cut_and_blank_line_samples() -> None:
    for name, expected in [("chained_blank_lines.log", EXPECTED), ("chained_cut.log", EXPECTED_CUT)]:
        path = SAMPLES / name
        assert _picked(scan_summary([path]), expected) == expected, name
        assert _picked(summarize(parse_log(path)), expected) == expected, name


def test_small_chunks_and_parallel_ranges(tmp_path: Path, monkeypatch) -> None:
    data = (SAMPLES / "chained_blank_lines.log").read_bytes()
    small = scan_summary([io.BytesIO(data)], jobs=1, chunk_size=97)
    assert _picked(small, EXPECTED) == EXPECTED
    big = tmp_path / "big.log"
    big.write_bytes((data.rstrip(b"\n") + b"\n") * 40)
    monkeypatch.setattr(stream_module, "PARALLEL_MIN_BYTES", 1)
    parallel = scan_summary([big], jobs=3)
    assert parallel["chained_tracebacks"] == 7 * 40
    assert parallel["exception_chains"][0] == {"chain": ["KeyError", "RuntimeError"], "count": 2 * 40}
    assert sum(parallel["exceptions"].values()) == 10 * 40 and parallel["incomplete_tracebacks"] == 0


def test_existing_keys_stay() -> None:
    summary = scan_summary([SAMPLES / "iso.log"])
    old = {
        "files", "lines", "request_lines", "status_counts", "server_errors", "error_rate", "error_rate_ci95",
        "error_rate_definition", "exceptions", "write_before_start_response", "incomplete_tracebacks",
        "bad_request_syntax_lines", "unparsed_lines", "unparsed_samples", "warnings",
    }  # fmt: skip
    assert old <= set(summary) and set(summary) - old == {"chained_tracebacks", "exception_chains"}
    # iso.log: the server's /chain route raises KeyError, then RuntimeError while handling it
    assert summary["chained_tracebacks"] == 1
    assert summary["exception_chains"] == [{"chain": ["KeyError", "RuntimeError"], "count": 1}]


def write_committed_samples(directory: Path) -> None:
    """Write ``chained.log``, ``chained_blank_lines.log`` and ``chained_cut.log`` to *directory*."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = portable(produce_traceback_log(Path(tmp)).read_bytes())
    (directory / "chained.log").write_bytes(data)
    (directory / "chained_blank_lines.log").write_bytes(splice_blank_lines(data, 3))
    (directory / "chained_cut.log").write_bytes(cut_in_last_traceback(data))


if __name__ == "__main__":
    write_committed_samples(SAMPLES)
