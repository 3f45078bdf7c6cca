"""Parse Werkzeug / Flask-SocketIO logs, and gunicorn's and nginx's, into pandas DataFrames.

:func:`parse_log` reads one source (see :mod:`wslab.logs.reading.sources`), opened
once (:func:`~wslab.logs.reading.opened.open_log`), in one log format
(``format="auto"``, the default, detects it per source from its opening lines;
see :mod:`wslab.logs.formats`) and returns a :class:`ParsedLog` with

``requests``
    one row per request line (Werkzeug's, or a gunicorn / nginx access line):
    ``file``, ``line``, ``ts`` (the line's logging timestamp, else the request
    date: Werkzeug's ``[01/Sep/2025 13:04:34]`` as written, an access line's
    ``[02/Dec/2026:02:36:43 +0100]`` in UTC),
    ``client``, ``method``, ``path``, ``query``, ``eio``, ``transport``
    (``websocket``/``polling`` for Socket.IO, ``http`` otherwise), ``sid``,
    ``status`` (text, e.g. ``"500"``), ``size``, ``server_error``, ``is_socketio``,
    ``kind`` (``direct websocket``, ``upgraded websocket``, ``polling`` or ``page``,
    see :data:`~wslab.logs.parsing.fields.KINDS`), ``route``, ``request`` (the quoted
    request text without colour codes);
``errors``
    one row per traceback record: ``file``, ``line``, ``ts``, ``header``
    (the line before the traceback, e.g. ``... Error on request:``), ``reporter``
    (who wrote the traceback's header: ``werkzeug``, ``flask``, ``gunicorn`` for ``Error handling request`` or
    ``other``), ``exception`` (type), ``message``,
    ``error`` (``"Type: first message line"``), ``frames`` (list of
    ``{file, line, function}`` of the final exception), ``chain`` (the earlier
    exceptions of a chained traceback, earliest first: a chained traceback is one
    row, named by its final exception), ``sub_exceptions`` (the members of a final
    exception group), ``complete`` (``False`` when the file cut the traceback off) and
    ``request`` (index of the matched row of ``requests``, see
    :mod:`wslab.logs.parsing.matching`);
``markers``
    ``wslab - phase: <name>`` lines: ``file``, ``line``, ``ts``, ``phase``;

plus the format each file was read in (``formats``, beside ``files``), counts
of lines, unparsed lines (with a few samples) and Werkzeug's ``Bad request
syntax`` lines. Damaged input is counted, never raised. :func:`summarize` gives
the ``wslab analyze --json`` dictionary of a :class:`ParsedLog`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from wslab.logs.formats import AUTO, LogFormat, get_format
from wslab.logs.formats.base import PHASE, PHASE_MARKER
from wslab.logs.parsing.fields import prefix_timestamp
from wslab.logs.parsing.matching import match_errors
from wslab.logs.parsing.records import error_row, request_row
from wslab.logs.reading.opened import open_log
from wslab.logs.reading.sources import Chunk, Source
from wslab.logs.scanning.chunks import count_bad_request_syntax, count_lines, find_unparsed, line_end, line_start
from wslab.logs.scanning.tally import MAX_SAMPLES, Tally, sample_text
from wslab.logs.scanning.tracebacks import (
    Traceback,
    exception_type,
    find_tracebacks,
    header_of,
    message_spans,
    traceback_counts,
)

REQUEST_COLUMNS = [
    "file",
    "line",
    "ts",
    "client",
    "method",
    "path",
    "query",
    "eio",
    "transport",
    "sid",
    "status",
    "size",
    "server_error",
    "is_socketio",
    "kind",
    "route",
    "request",
    "context",
]
ERROR_COLUMNS = [
    "file",
    "line",
    "ts",
    "header",
    "reporter",
    "exception",
    "message",
    "error",
    "frames",
    "chain",
    "sub_exceptions",
    "complete",
    "context",
    "flask_method",
    "flask_path",
]
MARKER_COLUMNS = ["file", "line", "ts", "phase"]


@dataclass
class ParsedLog:
    """Everything parsed from one or more logs; see the module docstring for the columns."""

    requests: pd.DataFrame
    errors: pd.DataFrame
    markers: pd.DataFrame
    files: list[str] = field(default_factory=list)
    #: The format each of :attr:`files` was read in, e.g. ``"werkzeug"`` or ``"nginx"``.
    formats: list[str] = field(default_factory=list)
    #: What the files that start with no text look like, by name (see
    #: :func:`~wslab.logs.reading.sniff.binary_kind`).
    binary: dict[str, str] = field(default_factory=dict)
    lines: int = 0
    unparsed_lines: int = 0
    unparsed_samples: list[str] = field(default_factory=list)
    bad_request_syntax_lines: int = 0
    incomplete_tracebacks: int = 0
    warnings: list[str] = field(default_factory=list)


class _LineNumbers:
    """Line numbers of increasing offsets in a chunk, counted incrementally."""

    def __init__(self, buf: bytes, base: int) -> None:
        self.buf, self.pos, self.line = buf, 0, base

    def at(self, pos: int) -> int:
        """Number of the line holding offset *pos* (lines before the chunk: *base*)."""
        self.line += self.buf.count(b"\n", self.pos, pos)
        self.pos = pos
        return self.line


@dataclass
class _Rows:
    requests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)


def _parse_errors(
    buf: bytes, records: list[Traceback], file: str, base: int, suffix: bytes, rows: _Rows
) -> None:
    lines = _LineNumbers(buf, base)
    floor = 0
    for record in records:
        header, start = header_of(buf, record, floor)
        row = error_row(record, header, suffix)
        rows.errors.append({"file": file, "line": lines.at(start), **row})
        floor = record.end


def _parse_markers(buf: bytes, file: str, base: int, rows: _Rows) -> None:
    lines = _LineNumbers(buf, base)
    pos = buf.find(PHASE)
    while pos >= 0:
        start, end = line_start(buf, pos), line_end(buf, pos)
        marker = PHASE_MARKER.search(buf, start, end)
        if marker:
            rows.markers.append(
                {
                    "file": file,
                    "line": lines.at(pos),
                    "ts": prefix_timestamp(buf[start:end]),
                    "phase": marker["name"].decode("utf-8", "replace"),
                }
            )
        pos = buf.find(PHASE, end)


def _parse_chunk(
    chunk: Chunk, file: str, base: int, suffix: bytes, rows: _Rows, fmt: LogFormat
) -> list[Traceback]:
    """Collect the rows of one chunk (copied to its own ``bytes``, so offsets start at 0)."""
    buf = chunk.buf
    lines = _LineNumbers(buf, base)
    if fmt.request is not None:
        for match in fmt.request.finditer(buf):
            rows.requests.append(request_row(buf, match, file, lines.at(match.start()), fmt))
    blocks = find_tracebacks(chunk)
    _parse_errors(buf, blocks, file, base, suffix, rows)
    _parse_markers(buf, file, base, rows)
    return blocks


def _parse_source(
    source: Source, parsed: ParsedLog, rows: _Rows, given: LogFormat | None, text_only: bool
) -> None:
    base = 0
    with open_log(source, given, text_only=text_only) as log:
        parsed.files.append(log.name)
        parsed.formats.append(log.format.name)
        if log.binary:
            parsed.binary[log.name] = log.binary
        for chunk in log.chunks():
            chunk = Chunk(chunk.buf[chunk.start : chunk.end], 0, chunk.end - chunk.start)
            blocks_found = _parse_chunk(chunk, log.name, base, log.suffix, rows, log.format)
            parsed.incomplete_tracebacks += traceback_counts(blocks_found, log.suffix).incomplete
            parsed.bad_request_syntax_lines += count_bad_request_syntax(chunk, log.format)
            spans = find_unparsed(chunk, message_spans(blocks_found), log.format)
            parsed.unparsed_lines += len(spans)
            room = max(0, MAX_SAMPLES - len(parsed.unparsed_samples))
            parsed.unparsed_samples.extend(sample_text(chunk.buf[s:e]) for s, e in spans[:room])
            lines = count_lines(chunk)
            base += lines
            parsed.lines += lines
    parsed.warnings.extend(log.state.warnings)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["ts"] = pd.to_datetime(frame["ts"], format="ISO8601", errors="coerce").astype("datetime64[us]")
    return frame


def parse_logs(
    sources: Iterable[Source],
    format: str | LogFormat = AUTO,  # noqa: A002
    text_only: bool = False,
) -> ParsedLog:
    """Parse several sources into one :class:`ParsedLog` (rows keep their ``file``).

    *format* is ``"auto"`` (detect each source's format from its opening lines) or
    one of :data:`~wslab.logs.formats.FORMATS` for every source; an unknown name
    raises :class:`~wslab.errors.WslabError`. With *text_only* a source that is no
    text fails as it is opened (see :meth:`~wslab.logs.reading.opened.OpenedLog.require_text`).
    """
    given = get_format(format)
    rows = _Rows()
    parsed = ParsedLog(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    for source in sources:
        _parse_source(source, parsed, rows, given, text_only)
    requests = _frame(rows.requests, REQUEST_COLUMNS)
    errors = _frame(rows.errors, ERROR_COLUMNS)
    errors["request"] = match_errors(requests, errors) if len(errors) else pd.Series(dtype="Int64")
    paired = errors["request"].dropna().astype(int)
    errors.loc[paired.index, "ts"] = errors.loc[paired.index, "ts"].fillna(
        pd.Series(requests.loc[paired.to_numpy(), "ts"].to_numpy(), index=paired.index)
    )
    parsed.requests, parsed.errors = requests, errors
    parsed.markers = _frame(rows.markers, MARKER_COLUMNS)
    return parsed


def parse_log(source: Source, format: str | LogFormat = AUTO) -> ParsedLog:  # noqa: A002
    """Parse one log: a path (plain or gzip), ``"-"`` for stdin, a file object or a list of lines.

    *format*: ``"auto"`` (the default) or a format name, as for :func:`parse_logs`.
    """
    return parse_logs([source], format)


def summarize(parsed: ParsedLog) -> dict[str, Any]:
    """The summary dictionary of a :class:`ParsedLog` (see :meth:`~wslab.logs.scanning.tally.Tally.as_dict`).

    Gives the same numbers as :func:`~wslab.logs.scanning.stream.scan_summary` on the same sources.
    """
    requests, errors = parsed.requests, parsed.errors
    final = errors[errors["complete"]] if len(errors) else errors
    tally = Tally(
        files=list(parsed.files),
        formats=list(parsed.formats),
        binary=dict(parsed.binary),
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
            chains[(*(exception_type(text) for text in chain), exception)] += 1
    return chains


def _as_counts(series: Any) -> Mapping[str, int]:
    return {str(key): int(value) for key, value in series.items()}
