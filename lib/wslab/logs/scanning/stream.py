"""Stream logs chunk by chunk into a :class:`~wslab.logs.scanning.tally.Tally`, with flat memory.

:func:`scan_summary` builds no DataFrame, so its memory use does not grow with
the file; it is what ``wslab analyze --json`` runs. Each source is opened once
(:func:`~wslab.logs.reading.opened.open_log`) and read in one log format,
detected from its opening lines unless ``format=`` names one (see
:mod:`wslab.logs.formats`); :func:`scan_tally` also says which. A large plain
file is cut into byte ranges of whole records, scanned by worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import reduce
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wslab.logs.formats import AUTO, FORMATS, LogFormat, get_format
from wslab.logs.reading.opened import OpenedLog, open_log
from wslab.logs.reading.sources import (
    CHUNK_SIZE,
    GZIP_MAGIC,
    HEAD_WINDOW,
    Chunk,
    ReadState,
    Source,
    iter_chunks,
    read_blocks,
    source_name,
    split_offsets,
)
from wslab.logs.scanning.chunks import count_bad_request_syntax, count_lines, count_statuses, find_unparsed
from wslab.logs.scanning.tally import Tally
from wslab.logs.scanning.tracebacks import find_tracebacks, message_spans, traceback_counts

if TYPE_CHECKING:
    from wslab.logs.scanning.linestarts import LineStarts

PARALLEL_MIN_BYTES = 64 << 20
#: Chunks this large are pre-filtered with numpy (:mod:`wslab.logs.scanning.linestarts`).
VECTOR_MIN_BYTES = 1 << 20


def scan_chunks(
    chunks: Iterable[Chunk], suffix: bytes, tally: Tally, fmt: LogFormat = FORMATS["werkzeug"]
) -> None:
    """Add the counts of *chunks* to *tally*; *suffix* is the source's learned format suffix
    and *fmt* its log format.

    A chunk of :data:`VECTOR_MIN_BYTES` or more has its line starts read first, all at
    once (:func:`~wslab.logs.scanning.linestarts.line_starts`, numpy): they give the line
    count and the few lines the traceback and unparsed-line scans need to look at. Smaller
    chunks (small logs) are read with the regexes alone, which spares importing numpy.
    """
    for chunk in chunks:
        starts = _line_starts(chunk, fmt) if chunk.end - chunk.start >= VECTOR_MIN_BYTES else None
        blocks = find_tracebacks(chunk, starts.record_starts if starts else None)
        counts = traceback_counts(blocks, suffix)
        tally.lines += starts.lines if starts else count_lines(chunk)
        tally.statuses.update({k.decode(): v for k, v in count_statuses(chunk, fmt).items()})
        tally.exceptions.update(counts.exceptions)
        tally.chains.update(counts.chains)
        tally.incomplete_tracebacks += counts.incomplete
        tally.bad_request_syntax_lines += count_bad_request_syntax(chunk, fmt)
        candidates = starts.candidates if starts else None
        tally.add_unparsed(chunk.buf, find_unparsed(chunk, message_spans(blocks), fmt, candidates))


def _line_starts(chunk: Chunk, fmt: LogFormat) -> LineStarts:
    """:func:`~wslab.logs.scanning.linestarts.line_starts`, imported on first use (it loads numpy)."""
    from wslab.logs.scanning.linestarts import line_starts

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


def _scan_parallel(path: str, jobs: int, log: OpenedLog) -> Tally:
    """The counts of the plain file *path*, whose start *log* read, from *jobs* worker processes."""
    offsets = split_offsets(path, jobs)
    import wslab.logs.scanning.linestarts  # noqa: F401  (imports numpy once, here; forked workers share it)

    with ProcessPoolExecutor(max_workers=len(offsets) - 1, mp_context=_start_method()) as pool:
        parts = pool.map(
            _scan_range, repeat(path), offsets[:-1], offsets[1:], repeat(log.suffix), repeat(log.format.name)
        )
        return reduce(Tally.merge, parts, Tally())


def scan_source(
    source: Source,
    tally: Tally,
    jobs: int = 1,
    chunk_size: int = CHUNK_SIZE,
    format: str | LogFormat = AUTO,  # noqa: A002
    text_only: bool = False,
) -> None:
    """Add the counts of one source to *tally*, streaming it chunk by chunk.

    A large plain file is cut into *jobs* ranges of whole records, scanned by
    that many worker processes; the counts are the same either way. *format* is
    ``"auto"`` (detect it from the source's opening lines) or a format name.
    *text_only*: fail at once for a source that is no text (see
    :meth:`~wslab.logs.reading.opened.OpenedLog.require_text`).
    """
    given = get_format(format)
    name = source_name(source)
    if _can_split(source, jobs):
        with open_log(source, given, HEAD_WINDOW, text_only) as log:
            pass  # the start only: the workers read the rest
        part = _scan_parallel(str(source), jobs, log)
        part.warnings = [w.replace(str(source), name, 1) for w in part.warnings]
    else:
        part = Tally()
        with open_log(source, given, chunk_size, text_only) as log:
            scan_chunks(log.chunks(), log.suffix, part, log.format)
        part.warnings.extend(log.state.warnings)
    part.files, part.formats = [name], [log.format.name]
    part.binary = {name: log.binary} if log.binary else {}
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
    text_only: bool = False,
) -> Tally:
    """Stream every source once into a :class:`~wslab.logs.scanning.tally.Tally` (its ``formats``
    say how each was read); *text_only* as for :func:`scan_source`."""
    given = get_format(format)
    tally = Tally()
    for source in sources:
        scan_source(source, tally, default_jobs() if jobs is None else jobs, chunk_size, given or AUTO, text_only)
    return tally


def scan_summary(
    sources: Iterable[Source],
    jobs: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    format: str | LogFormat = AUTO,  # noqa: A002
) -> dict[str, Any]:
    """Stream every source once and return the summary dictionary (see
    :meth:`~wslab.logs.scanning.tally.Tally.as_dict`).

    *jobs* worker processes share each large plain file (default: :func:`default_jobs`).
    *format* is ``"auto"`` (detect each source's format from its opening lines) or one
    of :data:`~wslab.logs.formats.FORMATS` for every source.
    """
    return scan_tally(sources, jobs, chunk_size, format).as_dict()
