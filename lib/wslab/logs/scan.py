"""Per-chunk scanning shared by the streaming summary and the DataFrame parser.

Every function takes a :class:`~wslab.logs.sources.Chunk` from
:func:`~wslab.logs.sources.iter_chunks` (whole records, each line led by a
newline) and works over the whole chunk with compiled regexes, so no Python
code runs per ordinary line. Both analysis paths call these same functions,
which keeps their counts identical.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from functools import lru_cache
from itertools import islice

from wslab.logs.formats import (
    ANSI,
    BAD_REQUEST_SYNTAX,
    KNOWN_LINE_START,
    MAYBE_UNKNOWN_LINE,
    REQUEST,
    REQUEST_STATUS,
    TRACEBACK,
)
from wslab.logs.sources import Chunk

MAX_TEXT = 300
_SUFFIX_SAMPLE = 200


def line_end(buf: bytes, pos: int) -> int:
    """Offset of the newline ending the line at *pos* (or the end of *buf*)."""
    end = buf.find(b"\n", pos)
    return len(buf) if end < 0 else end


def line_start(buf: bytes, pos: int) -> int:
    """Offset of the first byte of the line holding *pos*."""
    return buf.rfind(b"\n", 0, pos) + 1


def learn_suffix(head: bytes) -> bytes:
    """The text most request lines in *head* carry after the size field, e.g. ``(taskName=None)``.

    A logging format that puts text after ``%(message)s`` puts it on the last line
    of every record, so it is stripped from exception lines too. *head* is the
    start of a source (:func:`~wslab.logs.sources.head_window`). Returns ``b""``
    when request lines do not agree on one suffix.
    """
    counts: Counter[bytes] = Counter()
    for match in islice(REQUEST.finditer(head), _SUFFIX_SAMPLE):
        counts[head[match.end() : line_end(head, match.end())].strip()] += 1
    if not counts:
        return b""
    suffix, seen = counts.most_common(1)[0]
    return suffix if seen * 2 > sum(counts.values()) else b""


@lru_cache(maxsize=4096)
def clean_text(line: bytes, suffix: bytes = b"") -> str:
    """Decode a log fragment: strip colour codes, the format suffix and trailing space."""
    line = line.rstrip()
    if suffix and line.endswith(suffix):
        line = line[: -len(suffix)].rstrip()
    return ANSI.sub(b"", line).decode("utf-8", "replace")[:MAX_TEXT]


def count_statuses(chunk: Chunk) -> Counter[bytes]:
    """Status codes of all request lines in *chunk*."""
    return Counter(REQUEST_STATUS.findall(*chunk))


def count_bad_request_syntax(chunk: Chunk) -> int:
    """Number of Werkzeug ``code 400, message Bad request syntax (...)`` records."""
    return chunk.buf.count(BAD_REQUEST_SYNTAX, chunk.start, chunk.end)


def count_lines(chunk: Chunk) -> int:
    """Number of lines in *chunk*."""
    return chunk.buf.count(b"\n", chunk.start, chunk.end)


def find_tracebacks(chunk: Chunk) -> list[re.Match[bytes]]:
    """All :data:`~wslab.logs.formats.TRACEBACK` blocks in *buf*, in order.

    A block's ``exception`` group is ``None`` when the log cut it off; its
    ``chained`` group is set when a chained traceback of the same record follows.
    """
    return list(TRACEBACK.finditer(*chunk))


def header_of(buf: bytes, block: re.Match[bytes]) -> bytes | None:
    """The line before a traceback block (``... ERROR werkzeug - Error on request:``), if any."""
    end = block.start()
    line = buf[line_start(buf, end) : end]
    if not line.strip() or line[:1].isspace():
        return None
    return line


def message_spans(blocks: list[re.Match[bytes]]) -> list[tuple[int, int]]:
    """``(start, end)`` of each exception line with its continuation lines."""
    return [(b.start("exception"), b.end("more")) for b in blocks if b["exception"] is not None]


def find_unparsed(chunk: Chunk, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(start, end)`` of lines no known shape accounts for.

    Exception lines and their continuation lines (*spans*) are accounted for; a
    line holding a request record anywhere counts as parsed whatever precedes it.
    """
    buf = chunk.buf
    starts = [start for start, _ in spans]
    found = []
    for match in MAYBE_UNKNOWN_LINE.finditer(*chunk):
        start = match.end()
        if KNOWN_LINE_START.match(buf, start, chunk.end):
            continue
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < spans[i][1]:
            continue
        end = min(chunk.end, line_end(buf, start))
        if REQUEST.search(buf, start, end):
            continue
        found.append((start, end))
    return found


def exception_counts(blocks: list[re.Match[bytes]], suffix: bytes) -> tuple[Counter[str], int]:
    """Final exception of each traceback record, and the number of cut-off tracebacks."""
    raw: Counter[bytes] = Counter()
    incomplete = 0
    for block in blocks:
        if block["exception"] is None:
            incomplete += 1
        elif block["chained"] is None:
            raw[block["exception"]] += 1
    counts: Counter[str] = Counter()
    for line, n in raw.items():
        counts[clean_text(line, suffix)] += n
    return counts, incomplete
