"""Whole-file counts: request statuses, server errors, exceptions, unparsed lines.

:func:`scan_summary` streams sources chunk by chunk without building any
DataFrame, so its memory use does not grow with the file; it is what
``wslab analyze --json`` runs. :func:`summarize` gives the same dictionary for an
already parsed :class:`~wslab.logs.parser.ParsedLog`. Each source is read in one
log format, detected from its opening lines unless ``format=`` names one (see
:mod:`wslab.logs.formats`); :func:`scan_tally` also says which.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wslab.logs import scan
from wslab.logs.formats import AUTO, FORMATS, LogFormat, detect_format, get_format
from wslab.logs.inputs import binary_kind
from wslab.logs.sources import (
    CHUNK_SIZE,
    GZIP_MAGIC,
    HEAD_WINDOW,
    Chunk,
    ReadState,
    Source,
    head_window,
    iter_chunks,
    open_source,
    read_blocks,
    source_name,
    split_offsets,
)
from wslab.logs.stats import ERROR_RATE_DEFINITION, is_server_error, wilson_interval

if TYPE_CHECKING:
    from wslab.logs.linestarts import LineStarts

WRITE_BEFORE_START_RESPONSE = "write() before start_response"
MAX_SAMPLES = 5
PARALLEL_MIN_BYTES = 64 << 20
#: Chunks this large are pre-filtered with numpy (:mod:`wslab.logs.linestarts`).
VECTOR_MIN_BYTES = 1 << 20
SAMPLE_WIDTH = 200


def sample_text(line: bytes) -> str:
    """A printable excerpt of an unparsed line, with undecodable bytes shown escaped."""
    return line.rstrip(b"\r").decode("utf-8", "backslashreplace")[:SAMPLE_WIDTH]


@dataclass
class Tally:
    """Counts gathered over one or more sources; :meth:`as_dict` is the ``--json`` output."""

    files: list[str] = field(default_factory=list)
    #: The format each of :attr:`files` was read in (not part of :meth:`as_dict`).
    formats: list[str] = field(default_factory=list)
    #: What the files that start with no text look like, by name (see
    #: :func:`~wslab.logs.inputs.binary_kind`; not part of :meth:`as_dict`).
    binary: dict[str, str] = field(default_factory=dict)
    lines: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    chains: Counter[tuple[str, ...]] = field(default_factory=Counter)
    incomplete_tracebacks: int = 0
    bad_request_syntax_lines: int = 0
    unparsed_lines: int = 0
    unparsed_samples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_unparsed(self, buf: bytes, spans: list[tuple[int, int]]) -> None:
        """Count unparsed line spans of *buf* and keep the first few as samples."""
        self.unparsed_lines += len(spans)
        for start, end in spans[: max(0, MAX_SAMPLES - len(self.unparsed_samples))]:
            self.unparsed_samples.append(sample_text(buf[start:end]))

    def merge(self, other: Tally) -> Tally:
        """Add *other*'s counts (from later in the same input) to this tally; return it."""
        self.files.extend(other.files)
        self.formats.extend(other.formats)
        self.binary.update(other.binary)
        self.lines += other.lines
        self.statuses.update(other.statuses)
        self.exceptions.update(other.exceptions)
        self.chains.update(other.chains)
        self.incomplete_tracebacks += other.incomplete_tracebacks
        self.bad_request_syntax_lines += other.bad_request_syntax_lines
        self.unparsed_lines += other.unparsed_lines
        room = max(0, MAX_SAMPLES - len(self.unparsed_samples))
        self.unparsed_samples.extend(other.unparsed_samples[:room])
        self.warnings.extend(other.warnings)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values, with the error-rate definition.

        ``exceptions`` counts the final exception of each complete traceback (a
        chained traceback counts once, by its final exception);
        ``chained_tracebacks`` is how many of those were chained, and
        ``exception_chains`` lists each distinct chain of exception types
        (earliest first, final last) with its count, most frequent first.
        """
        requests = sum(self.statuses.values())
        errors = sum(n for status, n in self.statuses.items() if is_server_error(status))
        rate = errors / requests if requests else None
        low, high = wilson_interval(errors, requests) if requests else (None, None)
        return {
            "files": list(self.files),
            "lines": self.lines,
            "request_lines": requests,
            "status_counts": {status: self.statuses[status] for status in sorted(self.statuses)},
            "server_errors": errors,
            "error_rate": rate,
            "error_rate_ci95": None if low is None else [max(0.0, low), min(1.0, high)],
            "error_rate_definition": ERROR_RATE_DEFINITION,
            "exceptions": dict(sorted(self.exceptions.items(), key=lambda kv: (-kv[1], kv[0]))),
            "write_before_start_response": sum(
                n for text, n in self.exceptions.items() if WRITE_BEFORE_START_RESPONSE in text
            ),
            "incomplete_tracebacks": self.incomplete_tracebacks,
            "chained_tracebacks": sum(self.chains.values()),
            "exception_chains": [
                {"chain": list(chain), "count": n}
                for chain, n in sorted(self.chains.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "bad_request_syntax_lines": self.bad_request_syntax_lines,
            "unparsed_lines": self.unparsed_lines,
            "unparsed_samples": list(self.unparsed_samples),
            "warnings": list(self.warnings),
        }


def scan_chunks(
    chunks: Iterable[Chunk], suffix: bytes, tally: Tally, fmt: LogFormat = FORMATS["werkzeug"]
) -> None:
    """Add the counts of *chunks* to *tally*; *suffix* is the source's learned format suffix
    and *fmt* its log format.

    A chunk of :data:`VECTOR_MIN_BYTES` or more has its line starts read first, all at
    once (:func:`~wslab.logs.linestarts.line_starts`, numpy): they give the line count
    and the few lines the traceback and unparsed-line scans need to look at. Smaller
    chunks (small logs) are read with the regexes alone, which spares importing numpy.
    """
    for chunk in chunks:
        starts = _line_starts(chunk, fmt) if chunk.end - chunk.start >= VECTOR_MIN_BYTES else None
        blocks = scan.find_tracebacks(chunk, starts.record_starts if starts else None)
        counts = scan.traceback_counts(blocks, suffix)
        tally.lines += starts.lines if starts else scan.count_lines(chunk)
        tally.statuses.update({k.decode(): v for k, v in scan.count_statuses(chunk, fmt).items()})
        tally.exceptions.update(counts.exceptions)
        tally.chains.update(counts.chains)
        tally.incomplete_tracebacks += counts.incomplete
        tally.bad_request_syntax_lines += scan.count_bad_request_syntax(chunk, fmt)
        candidates = starts.candidates if starts else None
        tally.add_unparsed(chunk.buf, scan.find_unparsed(chunk, scan.message_spans(blocks), fmt, candidates))


def _line_starts(chunk: Chunk, fmt: LogFormat) -> LineStarts:
    """:func:`~wslab.logs.linestarts.line_starts`, imported on first use (it loads numpy)."""
    from wslab.logs.linestarts import line_starts

    return line_starts(chunk, fmt)


def _scan_range(path: str, start: int, end: int, suffix: bytes, fmt_name: str) -> Tally:
    """Counts of bytes ``start:end`` of a plain file in format *fmt_name* (run in a worker process)."""
    tally = Tally()
    state = ReadState(path)
    fmt = FORMATS[fmt_name]
    with open(path, "rb") as stream:
        stream.seek(start)
        blocks = read_blocks(stream, state, limit=end - start)
        chunks = iter_chunks(blocks, lead=b"\n" if start == 0 else b"", record_start=fmt.record_start)
        scan_chunks(chunks, suffix, tally, fmt)
    tally.warnings.extend(state.warnings)
    return tally


def _file_head(path: str, given: LogFormat | None) -> tuple[bytes, LogFormat, str | None]:
    """The format suffix, the log format and :func:`~wslab.logs.inputs.binary_kind` of a plain
    file, from its first bytes."""
    with open(path, "rb") as stream:
        head = head_window(read_blocks(stream, ReadState(path), HEAD_WINDOW))[0]
    fmt = given or detect_format(head)
    return scan.learn_suffix(head, fmt), fmt, binary_kind(head)


def _can_split(source: Source, jobs: int) -> bool:
    if jobs < 2 or not isinstance(source, (str, os.PathLike)) or str(source) == "-":
        return False
    path = Path(source)
    if not path.is_file() or path.stat().st_size < PARALLEL_MIN_BYTES:
        return False
    with open(path, "rb") as stream:
        return stream.read(2) != GZIP_MAGIC


def _start_method() -> multiprocessing.context.BaseContext:
    """Fork (fast) from a single-threaded process such as the CLI; spawn otherwise (notebooks)."""
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return multiprocessing.get_context("fork" if forkable else "spawn")


def _scan_parallel(path: str, jobs: int, given: LogFormat | None) -> tuple[Tally, LogFormat, str | None]:
    offsets = split_offsets(path, jobs)
    suffix, fmt, binary = _file_head(path, given)
    import wslab.logs.linestarts  # noqa: F401  (imports numpy once, here; forked workers share it)
    with ProcessPoolExecutor(max_workers=len(offsets) - 1, mp_context=_start_method()) as pool:
        parts = pool.map(
            _scan_range, repeat(path), offsets[:-1], offsets[1:], repeat(suffix), repeat(fmt.name)
        )
        return reduce(Tally.merge, parts, Tally()), fmt, binary


def scan_source(
    source: Source,
    tally: Tally,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
    format: str | LogFormat = AUTO,  # noqa: A002
) -> None:
    """Add the counts of one source to *tally*, streaming it chunk by chunk.

    A large plain file is cut into *jobs* ranges of whole records, scanned by
    that many worker processes; the counts are the same either way. *format* is
    ``"auto"`` (detect it from the source's opening lines) or a format name.
    """
    given = get_format(format)
    name = source_name(source)
    if _can_split(source, jobs):
        part, fmt, binary = _scan_parallel(str(source), jobs, given)
        part.warnings = [w.replace(str(source), name, 1) for w in part.warnings]
    else:
        part, state = Tally(), ReadState(name)
        with open_source(source) as stream:
            head, blocks = head_window(read_blocks(stream, state, chunk_size))
            fmt, binary = given or detect_format(head), binary_kind(head)
            chunks = iter_chunks(blocks, record_start=fmt.record_start)
            scan_chunks(chunks, scan.learn_suffix(head, fmt), part, fmt)
        part.warnings.extend(state.warnings)
    part.files, part.formats = [name], [fmt.name]
    part.binary = {name: binary} if binary else {}
    tally.merge(part)


def default_jobs() -> int:
    """Worker processes for large files: the CPUs this process may use, at most 4."""
    return max(
        1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )


def scan_tally(
    sources: Iterable[Source],
    jobs: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    format: str | LogFormat = AUTO,  # noqa: A002
) -> Tally:
    """Stream every source once into a :class:`Tally` (its ``formats`` say how each was read)."""
    given = get_format(format)
    tally = Tally()
    for source in sources:
        scan_source(source, tally, default_jobs() if jobs is None else jobs, chunk_size, given or AUTO)
    return tally


def scan_summary(
    sources: Iterable[Source],
    jobs: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    format: str | LogFormat = AUTO,  # noqa: A002
) -> dict[str, Any]:
    """Stream every source once and return the summary dictionary (see :meth:`Tally.as_dict`).

    *jobs* worker processes share each large plain file (default: :func:`default_jobs`).
    *format* is ``"auto"`` (detect each source's format from its opening lines) or one
    of :data:`~wslab.logs.formats.FORMATS` for every source.
    """
    return scan_tally(sources, jobs, chunk_size, format).as_dict()


def summarize(parsed: Any) -> dict[str, Any]:
    """The summary dictionary of a :class:`~wslab.logs.parser.ParsedLog`.

    Gives the same numbers as :func:`scan_summary` on the same sources.
    """
    requests, errors = parsed.requests, parsed.errors
    final = errors[errors["complete"]] if len(errors) else errors
    tally = Tally(
        files=list(parsed.files),
        formats=list(getattr(parsed, "formats", [])),
        binary=dict(getattr(parsed, "binary", {})),
        lines=parsed.lines,
        statuses=Counter(_as_counts(requests["status"].value_counts()) if len(requests) else {}),
        exceptions=Counter(_as_counts(final["error"].value_counts()) if len(final) else {}),
        chains=_chains(final),
        incomplete_tracebacks=parsed.incomplete_tracebacks,
        bad_request_syntax_lines=parsed.bad_request_syntax_lines,
        unparsed_lines=parsed.unparsed_lines,
        unparsed_samples=list(parsed.unparsed_samples),
        warnings=list(parsed.warnings),
    )
    return tally.as_dict()


def _chains(final: Any) -> Counter[tuple[str, ...]]:
    """Exception types of each complete chained traceback row, earliest first."""
    chains: Counter[tuple[str, ...]] = Counter()
    if not len(final):
        return chains
    for chain, exception in zip(final["chain"], final["exception"]):
        if chain:
            chains[(*(scan.exception_type(text) for text in chain), exception)] += 1
    return chains


def _as_counts(series: Any) -> Mapping[str, int]:
    return {str(key): int(value) for key, value in series.items()}
