"""The streaming summary's fast paths give the counts of the plain regex passes, line for line.

:mod:`wslab.logs.scanning.linestarts` (numpy) pre-filters a chunk's lines and
:func:`wslab.logs.scanning.tracebacks.find_tracebacks` reuses the match of a traceback that
repeats. Each is checked here against what it replaces, and the whole summary
against per-line regexes of these tests' own on a generated incident log.
"""

from __future__ import annotations

import importlib.util
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest_logs import BAD_SYNTAX, WRITE_ERROR_LINE, raw_statuses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wslab.logs import parse_log, scan_summary
from wslab.logs.formats import FORMATS
from wslab.logs.reading.sources import Chunk
from wslab.logs.scanning import stream as stream_module
from wslab.logs.scanning import tracebacks
from wslab.logs.scanning.chunks import find_unparsed
from wslab.logs.scanning.linestarts import line_starts

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Line shapes around the edges of the pre-filter's tests: timestamps and near misses,
#: traceback and group openers and near misses, blank, indented, coloured and foreign lines.
SHAPES = [
    b"[2025-09-01T13:04:34.761399] INFO werkzeug - x (taskName=None)",
    b"[2025-09-02T00:00:00] INFO wslab - phase: after",
    b"2025-09-01 13:04:34,123 INFO     [Thread-1] werkzeug: x",
    b"[2026-12-02 02:36:43 +0000] [1234] [INFO] Booting worker with pid: 1234",
    b"[2025-09-0x13:04:34] almost",
    b"[2025-9-01T13:04:34] almost",
    b"2025-09-01X13:04:34 almost",
    b"[[2025-09-01T13:04:34] almost",
    b"[2025-09-01",
    b"2025-09-01T",
    b"[2025-09-01T",
    b"20250901 13:04:34",
    b"\x1b[32m[2025-09-01T13:04:34] coloured",
    b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET / HTTP/1.1" 500 -',
    b'127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET /login HTTP/1.1" 200 379 "-" "curl/8.0"',
    b"INFO:werkzeug:127.0.0.1 - - x",
    b"ERROR werkzeug x",
    b"Traceback (most recent call last):",
    b"Traceback (most recent call",
    b"TracebackX",
    b"T",
    b'  File "x.py", line 1, in f',
    b"    ^^^^",
    b"\tindented",
    b"\r",
    b"",
    b"   ",
    b"ValueError: x",
    b"AssertionError: write() before start_response (taskName=None)",
    b"  + Exception Group Traceback (most recent call last):",
    b"  + Exception Group Traceback (most",
    b"  | ExceptionGroup: eg (1 sub-exception)",
    b"  +-+---------------- 1 ----------------",
    b"    | ValueError: v",
    b"During handling of the above exception, another exception occurred:",
    b"garbage line",
    b"\xff\xfe\x00",
]
LINES = st.lists(st.one_of(st.sampled_from(SHAPES), st.binary(max_size=30)), max_size=80)
#: Every line that opens a traceback record, found line by line.
RECORD_OPENER = re.compile(
    rb"\n(?=Traceback \(most recent call last\):|  \+ Exception Group Traceback \(most recent call last\):)"
)


def _chunk(lines: list[bytes]) -> Chunk:
    data = b"\n" + b"\n".join(line.replace(b"\n", b"") for line in lines)
    return Chunk(data, 0, len(data))


@FUZZ
@given(LINES, st.sampled_from(sorted(FORMATS)))
def test_line_starts_agree_with_the_regex_passes(lines: list[bytes], name: str) -> None:
    fmt, chunk = FORMATS[name], _chunk(lines)
    starts = line_starts(chunk, fmt)
    assert starts.lines == chunk.buf.count(b"\n")
    if starts.record_starts is not None:
        assert starts.record_starts == [m.start() for m in RECORD_OPENER.finditer(chunk.buf)]
    blocks = tracebacks.find_tracebacks(chunk, starts.record_starts)
    assert blocks == tracebacks.find_tracebacks(chunk)
    spans = tracebacks.message_spans(blocks)
    assert find_unparsed(chunk, spans, fmt, starts.candidates) == find_unparsed(chunk, spans, fmt)


@FUZZ
@given(LINES, st.sampled_from(sorted(FORMATS)))
def test_candidates_hold_every_line_the_first_pass_keeps(lines: list[bytes], name: str) -> None:
    fmt, chunk = FORMATS[name], _chunk(lines)
    candidates = line_starts(chunk, fmt).candidates
    if candidates is not None:
        # Traceback lines are known lines in every format; the pre-filter leaves them out
        kept = [m.start() for m in fmt.maybe_unknown.finditer(*chunk)]
        opener = [p for p in kept if chunk.buf.startswith(b"Traceback (most recent call last):", p + 1)]
        assert set(kept) - set(opener) <= set(candidates)


def test_timestamped_lines_are_no_candidates_and_foreign_ones_are() -> None:
    lines = [SHAPES[0]] * 50 + [b"garbage line", SHAPES[2], b"[2025-09-0x13:04:34] almost"] + [SHAPES[0]] * 50
    chunk = _chunk(lines)
    starts = line_starts(chunk, FORMATS["werkzeug"])
    # the newline before line k (k from 0) is at the sum of the lengths of the lines before it
    offsets = [sum(len(line) + 1 for line in lines[:k]) for k in range(len(lines))]
    assert starts.candidates == [offsets[50], offsets[52]]
    assert starts.lines == len(lines)


def test_a_log_of_other_line_starts_goes_to_the_regex_pass() -> None:
    access = SHAPES[14]
    chunk = _chunk([access] * 100)
    assert line_starts(chunk, FORMATS["nginx"]).candidates is None
    assert line_starts(chunk, FORMATS["werkzeug"]).candidates is None


REPEATED = [
    b"[2025-09-01T13:04:34.1] ERROR werkzeug - Error on request:",
    b"Traceback (most recent call last):",
    b'  File "serving.py", line 255, in write',
    b'    assert status_set is not None, "write() before start_response"',
    b"AssertionError: write() before start_response",
]
#: What may follow a traceback: a timestamped line ends it; the others may carry on its
#: message (a foreign line), be a frame, or be blank; or the log ends.
FOLLOWERS = [
    [b"[2025-09-01T13:04:35.2] INFO werkzeug - next"],
    [b"message goes on"],
    [b"", b"message goes on after a blank"],
    [b"  indented"],
    [b"2025-09-01 13:04:35,123 INFO x"],
    [b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET / HTTP/1.1" 500 -'],
    [],
]


@FUZZ
@given(st.lists(st.integers(min_value=0, max_value=len(FOLLOWERS) - 1), min_size=1, max_size=12))
def test_a_repeated_traceback_gives_what_the_regex_gives(followers: list[int]) -> None:
    lines = [line for k in followers for line in REPEATED + FOLLOWERS[k]]
    chunk = _chunk(lines)
    reused = tracebacks.find_tracebacks(chunk)
    fresh = _without_reuse(chunk)
    assert reused == fresh
    assert len(reused) == len(followers)
    # a foreign line after the exception line (blank lines between or not) carries on its message
    goes_on = {1: b"\nmessage goes on", 2: b"\n\nmessage goes on after a blank"}
    for record, k in zip(reused, followers, strict=True):
        expected = b"AssertionError: write() before start_response" + goes_on.get(k, b"")
        assert record.final.message.rstrip() == expected


def _without_reuse(chunk: Chunk) -> list[tracebacks.Traceback]:
    """find_tracebacks with every section matched by the regex (no reuse of earlier matches)."""
    original = tracebacks._Repeat.after
    try:
        tracebacks._Repeat.after = staticmethod(lambda *args: None)  # type: ignore[method-assign]
        return tracebacks.find_tracebacks(chunk)
    finally:
        tracebacks._Repeat.after = original  # type: ignore[method-assign]


def _bench_generate():
    spec = importlib.util.spec_from_file_location("bench_analyze", ROOT / "benchmarks" / "bench_analyze.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.generate


@pytest.fixture(scope="module")
def incident_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's incident-format log, 40 000 lines (about 5 MB: chunks above the
    size that takes the numpy path)."""
    path = tmp_path_factory.mktemp("bench") / "webapp.log"
    _bench_generate()(path, 40_000)
    assert path.stat().st_size > 2 * stream_module.VECTOR_MIN_BYTES
    return path


def _per_line_counts(data: bytes) -> dict:
    """The counts, from these tests' own regexes, line by line."""
    lines = data.split(b"\n")
    return {
        "status_counts": dict(sorted(raw_statuses(data).items())),
        "lines": data.count(b"\n"),
        "bad_request_syntax_lines": sum(BAD_SYNTAX in line for line in lines),
        "write_before_start_response": sum(bool(WRITE_ERROR_LINE.match(line)) for line in lines),
        "unparsed_lines": 0,
    }


@pytest.mark.parametrize("jobs", [1, 2])
def test_fast_path_counts_are_the_per_line_counts(incident_log: Path, monkeypatch, jobs: int) -> None:
    expected = _per_line_counts(incident_log.read_bytes())
    assert expected["write_before_start_response"] > 500 and expected["bad_request_syntax_lines"] > 100
    monkeypatch.setattr(stream_module, "PARALLEL_MIN_BYTES", 1)  # two ranges of over 2 MB each
    fast = scan_summary([incident_log], jobs=jobs)
    assert {key: fast[key] for key in expected} == expected


def test_fast_and_plain_paths_give_the_same_summary(incident_log: Path, monkeypatch) -> None:
    fast = scan_summary([incident_log], jobs=1)
    monkeypatch.setattr(stream_module, "VECTOR_MIN_BYTES", 1 << 62)  # regexes alone
    plain = scan_summary([incident_log], jobs=1)
    assert fast == plain
    assert Counter(plain["status_counts"]) == raw_statuses(incident_log.read_bytes())


@FUZZ
@given(LINES)
def test_small_chunks_on_the_fast_path_give_the_plain_summary(lines: list[bytes]) -> None:
    data = b"\n".join(line.replace(b"\n", b"") for line in lines)
    plain = scan_summary([io.BytesIO(data)], jobs=1)
    saved = stream_module.VECTOR_MIN_BYTES
    try:
        stream_module.VECTOR_MIN_BYTES = 0
        fast = scan_summary([io.BytesIO(data)], jobs=1)
    finally:
        stream_module.VECTOR_MIN_BYTES = saved
    assert fast == plain
    parsed = parse_log(io.BytesIO(data))
    assert fast["lines"] == parsed.lines and fast["unparsed_lines"] == parsed.unparsed_lines
