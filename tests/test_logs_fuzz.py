"""Property tests: random bytes, truncations, interleavings and tiny chunks never break the parser."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wslab.logs import parse_log, scan_summary, summarize
from wslab.logs import summary as summary_module

SAMPLES = Path(__file__).parent / "logsamples"
ISO = (SAMPLES / "iso.log").read_bytes()
THREAD = (SAMPLES / "thread.log").read_bytes()
BARE = (SAMPLES / "bare.log").read_bytes()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same_counts(a: dict, b: dict) -> None:
    assert {k: v for k, v in a.items() if k != "files"} == {k: v for k, v in b.items() if k != "files"}


def _check(data: bytes) -> dict:
    """Parse *data* both ways; both must agree and be self-consistent."""
    fast = scan_summary([io.BytesIO(data)], jobs=1)
    parsed = parse_log(io.BytesIO(data))
    _same_counts(fast, summarize(parsed))
    assert fast["request_lines"] + fast["unparsed_lines"] <= fast["lines"]
    assert fast["server_errors"] <= fast["request_lines"]
    assert (
        sum(fast["exceptions"].values()) == int(parsed.errors["complete"].sum())
        if len(parsed.errors)
        else True
    )
    assert len(fast["unparsed_samples"]) == min(5, fast["unparsed_lines"])
    return fast


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
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
    _check(b"\n".join(lines))


@FUZZ
@given(st.integers(min_value=0, max_value=len(ISO)))
def test_truncation_anywhere(offset: int) -> None:
    full = _check(ISO)
    cut = _check(ISO[:offset])
    assert cut["request_lines"] <= full["request_lines"]
    assert sum(cut["exceptions"].values()) <= sum(full["exceptions"].values()) + 0


@FUZZ
@given(st.integers(min_value=0, max_value=len(ISO)))
def test_truncated_gzip_is_a_warning_not_an_error(offset: int) -> None:
    packed = gzip.compress(ISO)[: offset % 2000]
    result = scan_summary([io.BytesIO(packed)], jobs=1)
    assert result["request_lines"] <= 15


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
@given(st.integers(min_value=1, max_value=700), st.sampled_from([ISO, THREAD, BARE]))
def test_chunk_size_does_not_change_counts(chunk_size: int, data: bytes) -> None:
    small = scan_summary([io.BytesIO(data)], jobs=1, chunk_size=chunk_size)
    _same_counts(small, scan_summary([io.BytesIO(data)], jobs=1))


def test_parallel_ranges_give_the_same_counts(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "big.log"
    log.write_bytes((ISO + b"garbage line\n" + THREAD) * 50)
    monkeypatch.setattr(summary_module, "PARALLEL_MIN_BYTES", 1)
    sequential = scan_summary([log], jobs=1)
    for jobs in (2, 3, 7):
        assert scan_summary([log], jobs=jobs) == sequential
    assert sequential["unparsed_lines"] == 50
