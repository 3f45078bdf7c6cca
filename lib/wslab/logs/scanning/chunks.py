"""Per-chunk counting shared by the streaming tally and the DataFrame parser: lines, statuses,
Werkzeug's bad-request lines and unparsed lines.

Every function takes a :class:`~wslab.logs.reading.sources.Chunk` from
:func:`~wslab.logs.reading.sources.iter_chunks` (whole records, each line led by a
newline) and works over the whole chunk with compiled regexes, so no Python
code runs per ordinary line. Both analysis paths call these same functions,
which keeps their counts identical. The functions that depend on the log's
format take its :class:`~wslab.logs.formats.base.LogFormat` (default Werkzeug's).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache

from wslab.logs.formats import WERKZEUG, LogFormat
from wslab.logs.formats.base import ANSI
from wslab.logs.formats.werkzeug import BAD_REQUEST_SYNTAX
from wslab.logs.reading.sources import Chunk

MAX_TEXT = 300


def line_end(buf: bytes, pos: int) -> int:
    """Offset of the newline ending the line at *pos* (or the end of *buf*)."""
    end = buf.find(b"\n", pos)
    return len(buf) if end < 0 else end


def line_start(buf: bytes, pos: int) -> int:
    """Offset of the first byte of the line holding *pos*."""
    return buf.rfind(b"\n", 0, pos) + 1


@lru_cache(maxsize=4096)
def clean_text(line: bytes, suffix: bytes = b"") -> str:
    """Decode a log fragment: strip colour codes, the format suffix and trailing space."""
    line = line.rstrip()
    if suffix and line.endswith(suffix):
        line = line[: -len(suffix)].rstrip()
    return ANSI.sub(b"", line).decode("utf-8", "replace")[:MAX_TEXT]


def count_statuses(chunk: Chunk, fmt: LogFormat = WERKZEUG) -> Counter[bytes]:
    """Status codes of all request lines of format *fmt* in *chunk*."""
    if fmt.request_status is None:
        return Counter()
    return Counter(fmt.request_status.findall(*chunk))


def count_bad_request_syntax(chunk: Chunk, fmt: LogFormat = WERKZEUG) -> int:
    """Number of Werkzeug ``code 400, message Bad request syntax (...)`` records (0 in other formats)."""
    if not fmt.werkzeug_records:
        return 0
    return chunk.buf.count(BAD_REQUEST_SYNTAX, chunk.start, chunk.end)


def count_lines(chunk: Chunk) -> int:
    """Number of lines in *chunk*."""
    return chunk.buf.count(b"\n", chunk.start, chunk.end)


def _maybe_unknown(chunk: Chunk, fmt: LogFormat, candidates: Iterable[int] | None) -> Iterator[int]:
    """The first offset of each line that *fmt*'s cheap first pass does not skip; with
    *candidates* (newlines of lines that may be unknown), only those lines are tried."""
    if candidates is None:
        for match in fmt.maybe_unknown.finditer(*chunk):
            yield match.end()
        return
    first_pass, buf, end = fmt.maybe_unknown.match, chunk.buf, chunk.end
    for pos in candidates:
        if first_pass(buf, pos, end):
            yield pos + 1


def find_unparsed(
    chunk: Chunk,
    spans: list[tuple[int, int]],
    fmt: LogFormat = WERKZEUG,
    candidates: Iterable[int] | None = None,
) -> list[tuple[int, int]]:
    """``(start, end)`` of lines no known shape of format *fmt* accounts for.

    Exception lines and their continuation lines (*spans*) are accounted for; a
    line holding a request record anywhere counts as parsed whatever precedes it.
    *candidates*, when given, are the newlines before every line that may be
    unknown (:func:`wslab.logs.scanning.linestarts.line_starts`); the others are not read.
    """
    buf = chunk.buf
    starts = [start for start, _ in spans]
    found = []
    for start in _maybe_unknown(chunk, fmt, candidates):
        if fmt.known_start.match(buf, start, chunk.end):
            continue
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < spans[i][1]:
            continue
        end = min(chunk.end, line_end(buf, start))
        if fmt.request is not None and fmt.request.search(buf, start, end):
            continue
        found.append((start, end))
    return found
