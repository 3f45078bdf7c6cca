"""Property tests: random bytes, truncations, interleavings and tiny chunks never break the parser."""

from __future__ import annotations

import gzip
import io
import re

import pytest
from pathlib import Path

from conftest_logs import BAD_SYNTAX, raw_statuses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wslab.logs import parse_log, scan_summary, summarize
from wslab.logs.scanning import stream as stream_module

pytestmark = pytest.mark.pins_independent

SAMPLES = Path(__file__).parent / "logsamples"
ISO = (SAMPLES / "iso.log").read_bytes()
THREAD = (SAMPLES / "thread.log").read_bytes()
BARE = (SAMPLES / "bare.log").read_bytes()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REQUEST_LINE = b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET / HTTP/1.1" 500 -'

#: The three server samples, counted by hand (grep on the raw files): request lines per
#: status, lines, Bad request syntax records, final exceptions of complete tracebacks.
HAND_COUNTED = {
    "iso": (ISO, {"200": 8, "400": 2, "404": 1, "500": 4}, 81, 2, 4),
    "thread": (THREAD, {"200": 8, "400": 2, "404": 1, "500": 4}, 81, 2, 4),
    "bare": (BARE, {"200": 8, "400": 2, "404": 1, "500": 4}, 80, 2, 4),
}
ISO_REQUESTS = 15
#: The final exception line of each of iso.log's four complete tracebacks, and every
#: exception line (the chained traceback's first exception too: a cut may end there).
ISO_FINAL = re.compile(rb"^(?:ValueError: boom|RuntimeError: chained|AssertionError: write\(\))", re.M)
ISO_EXCEPTION_LINE = re.compile(rb"^[A-Za-z]+(?:Error|Exception)\b", re.M)
DAMAGED = "<stream>: stopped reading damaged input ("


def raw_line_count(data: bytes) -> int:
    """Lines in *data*: its newlines, plus one for a last line that has none."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _same_counts(a: dict, b: dict) -> None:
    assert {k: v for k, v in a.items() if k != "files"} == {k: v for k, v in b.items() if k != "files"}


def _check(data: bytes) -> dict:
    """Parse *data* both ways: both must give the counts taken from the raw bytes by the
    tests' own regexes, agree with each other on the rest, and be self-consistent."""
    fast = scan_summary([io.BytesIO(data)], jobs=1)
    parsed = parse_log(io.BytesIO(data))
    slow = summarize(parsed)
    statuses = dict(raw_statuses(data))
    for summary in (fast, slow):
        assert summary["status_counts"] == statuses
        assert summary["lines"] == raw_line_count(data)
        assert summary["bad_request_syntax_lines"] == data.count(BAD_SYNTAX)
    _same_counts(fast, slow)
    assert fast["request_lines"] + fast["unparsed_lines"] <= fast["lines"]
    assert fast["server_errors"] <= fast["request_lines"]
    assert (
        sum(fast["exceptions"].values()) == int(parsed.errors["complete"].sum())
        if len(parsed.errors)
        else True
    )
    assert len(fast["unparsed_samples"]) == min(5, fast["unparsed_lines"])
    assert fast["chained_tracebacks"] == sum(c["count"] for c in fast["exception_chains"])
    assert fast["chained_tracebacks"] <= sum(fast["exceptions"].values())
    assert all(len(c["chain"]) >= 2 for c in fast["exception_chains"])
    return fast


@FUZZ
@given(st.binary(max_size=3000).filter(lambda data: not data.startswith(b"\x1f\x8b")))
def test_random_bytes(data: bytes) -> None:
    """Any bytes that are not gzip (those start with its magic; see the gzip tests) read as a log."""
    _check(data)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                b"Traceback (most recent call last):",
                b'  File "x.py", line 1, in f',
                b"ValueError: x",
                b"",
                b"During handling of the above exception, another exception occurred:",
                b"The above exception was the direct cause of the following exception:",
                b"  + Exception Group Traceback (most recent call last):",
                b"  | ExceptionGroup: eg (1 sub-exception)",
                b"  +-+---------------- 1 ----------------",
                b"    | Traceback (most recent call last):",
                b"    | ValueError: v",
                b"    +------------------------------------",
                b"   ",
                b"\xff\xfe",
                b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET / HTTP/1.1" 500 -',
                b"    ^^^^",
                b"Error on request:",
                b"[2025-09-01T13:04:34.1] INFO werkzeug - x",
                b'"x" 200 -',
                b"\x1b[35m",
                b"\r",
            ]
        ),
        max_size=60,
    )
)
def test_random_arrangements_of_real_line_shapes(lines: list[bytes]) -> None:
    result = _check(b"\n".join(lines))
    # the only request line among the shapes is a 500; all the others are not request lines
    sent = lines.count(REQUEST_LINE)
    assert result["status_counts"] == ({"500": sent} if sent else {})
    assert result["server_errors"] == sent


@FUZZ
@given(st.integers(min_value=0, max_value=len(ISO)))
def test_truncation_anywhere(offset: int) -> None:
    data = ISO[:offset]
    cut = _check(data)  # request lines: exactly the regex count of what is left
    whole = data[: data.rfind(b"\n") + 1]
    assert sum(raw_statuses(whole).values()) <= cut["request_lines"] <= ISO_REQUESTS
    # a traceback whose final exception line is whole is counted; at most every exception
    # line that has begun can name one
    finals = sum(m.end() <= len(whole) for m in ISO_FINAL.finditer(ISO))
    begun = sum(m.start() < offset for m in ISO_EXCEPTION_LINE.finditer(ISO))
    assert finals <= sum(cut["exceptions"].values()) <= begun


def _gzip_line_by_line(lines: list[bytes]) -> tuple[bytes, list[int]]:
    """*lines* gzipped with a sync flush after each one; also the compressed size after
    each line, from which on that line and all before it can be decompressed."""
    out = io.BytesIO()
    ends = []
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packer:
        for line in lines:
            packer.write(line)
            packer.flush()  # zlib.Z_SYNC_FLUSH: everything written so far is decodable
            ends.append(out.tell())
    return out.getvalue(), ends


ISO_LINES = ISO.splitlines(keepends=True)
ISO_PACKED, ISO_LINE_ENDS = _gzip_line_by_line(ISO_LINES)


def test_line_by_line_gzip_round_trips() -> None:
    assert gzip.decompress(ISO_PACKED) == ISO and len(ISO_LINE_ENDS) == 81
    assert ISO_LINE_ENDS == sorted(ISO_LINE_ENDS) and ISO_LINE_ENDS[-1] < len(ISO_PACKED)


@FUZZ
@given(st.integers(min_value=2, max_value=len(ISO_PACKED) - 1))
def test_truncated_gzip_is_a_warning_not_an_error(cut: int) -> None:
    # the first *decodable* lines were wholly compressed before the cut; the line after
    # them may have been partly written out too, so it may (or may not) be counted
    decodable = sum(end <= cut for end in ISO_LINE_ENDS)
    at_least = sum(raw_statuses(b"".join(ISO_LINES[:decodable])).values())
    at_most = sum(raw_statuses(b"".join(ISO_LINES[: decodable + 1])).values())
    packed = ISO_PACKED[:cut]
    streamed = scan_summary([io.BytesIO(packed)], jobs=1)
    parsed = parse_log(io.BytesIO(packed))
    for summary in (streamed, summarize(parsed)):
        assert at_least <= summary["request_lines"] <= at_most
        assert decodable <= summary["lines"] <= decodable + 1
        (warning,) = summary["warnings"]
        assert warning.startswith(DAMAGED), warning


@FUZZ
@given(st.sampled_from([b"", b"\x1f", ISO_PACKED]))
def test_whole_or_not_gzip_gives_no_warning(packed: bytes) -> None:
    result = scan_summary([io.BytesIO(packed)], jobs=1)
    assert result["warnings"] == []
    assert result["request_lines"] == (ISO_REQUESTS if packed == ISO_PACKED else 0)


@FUZZ
@given(st.lists(st.booleans(), min_size=200, max_size=200), st.binary(max_size=8))
def test_interleaved_logs_add_up(picks: list[bool], junk: bytes) -> None:
    a, b = ISO.split(b"\n"), BARE.split(b"\n")
    merged, i, j = [], 0, 0
    for take_a in picks + [True] * len(a) + [False] * len(b):
        if take_a and i < len(a):
            merged.append(a[i])
            i += 1
        elif not take_a and j < len(b):
            merged.append(b[j])
            j += 1
    junk = junk.replace(b"\n", b"")
    with_junk = [piece for k, line in enumerate(merged) for piece in ([line, junk] if k % 7 == 3 else [line])]
    result = _check(b"\n".join(with_junk))
    # request lines are line-local, so an interleaving keeps every one of them
    assert result["request_lines"] == 30
    assert result["bad_request_syntax_lines"] == 4


@FUZZ
@given(st.integers(min_value=1, max_value=700), st.sampled_from(sorted(HAND_COUNTED)))
def test_chunk_size_does_not_change_counts(chunk_size: int, name: str) -> None:
    data, statuses, lines, bad_syntax, tracebacks = HAND_COUNTED[name]
    small = scan_summary([io.BytesIO(data)], jobs=1, chunk_size=chunk_size)
    assert small["status_counts"] == statuses and small["lines"] == lines
    assert small["bad_request_syntax_lines"] == bad_syntax
    assert sum(small["exceptions"].values()) == tracebacks and small["unparsed_lines"] == 0
    _same_counts(small, scan_summary([io.BytesIO(data)], jobs=1))


def test_parallel_ranges_give_the_hand_counted_numbers(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "big.log"
    log.write_bytes((ISO + b"garbage line\n" + THREAD) * 50)
    monkeypatch.setattr(stream_module, "PARALLEL_MIN_BYTES", 1)
    ranges: list[int] = []
    split = stream_module.split_offsets

    def recording_split(path: Path, parts: int) -> list[int]:
        offsets = split(path, parts)
        ranges.append(len(offsets) - 1)
        return offsets

    monkeypatch.setattr(stream_module, "split_offsets", recording_split)
    # per repetition: iso.log and thread.log (8 x 200, 2 x 400, 1 x 404, 4 x 500 each), one foreign line
    expected = {"200": 16 * 50, "400": 4 * 50, "404": 2 * 50, "500": 8 * 50}
    sequential = scan_summary([log], jobs=1)
    assert ranges == []
    for jobs in (1, 2, 3, 7):
        result = scan_summary([log], jobs=jobs)
        assert result["status_counts"] == expected, jobs
        assert result["lines"] == (81 + 1 + 81) * 50, jobs
        assert result["unparsed_lines"] == 50 and result["unparsed_samples"] == ["garbage line"] * 5, jobs
        assert result["bad_request_syntax_lines"] == 4 * 50, jobs
        assert result["write_before_start_response"] == 4 * 50, jobs
        assert sum(result["exceptions"].values()) == 8 * 50 and result["chained_tracebacks"] == 2 * 50, jobs
        assert result == sequential, jobs
    assert ranges == [2, 3, 7]  # the file really was cut into that many ranges
