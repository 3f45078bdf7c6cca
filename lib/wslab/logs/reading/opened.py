"""A log, opened once: its name, its format, whether it is text, and its chunks.

:func:`open_log` is the one place a source is opened, its first bytes read
(:data:`~wslab.logs.reading.sources.HEAD_WINDOW`), its format detected or
taken as given, and its start sniffed for binary data. The DataFrame parser and
the streaming tally both read an :class:`OpenedLog`'s chunks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from wslab.logs.formats import LogFormat, detect_format
from wslab.logs.reading.sniff import binary_kind, not_text
from wslab.logs.reading.sources import (
    CHUNK_SIZE,
    Chunk,
    ReadState,
    Source,
    head_window,
    iter_chunks,
    open_source,
    read_blocks,
    source_name,
)

#: How many request lines of a source's start :func:`learn_suffix` looks at.
_SUFFIX_SAMPLE = 200


def learn_suffix(head: bytes, fmt: LogFormat) -> bytes:
    """The text most request lines in *head* carry after the size field, e.g. ``(taskName=None)``.

    A logging format that puts text after ``%(message)s`` puts it on the last line
    of every record, so it is stripped from exception lines too. *head* is the
    start of a source (:func:`~wslab.logs.reading.sources.head_window`). Returns ``b""``
    when request lines do not agree on one suffix, and for formats other than Werkzeug's.
    """
    counts: Counter[bytes] = Counter()
    if not fmt.werkzeug_records:
        return b""
    for match in islice(fmt.request.finditer(head), _SUFFIX_SAMPLE):  # type: ignore[union-attr]
        end = head.find(b"\n", match.end())
        counts[head[match.end() : len(head) if end < 0 else end].strip()] += 1
    if not counts:
        return b""
    suffix, seen = counts.most_common(1)[0]
    return suffix if seen * 2 > sum(counts.values()) else b""


@dataclass
class OpenedLog:
    """One source, opened: what its first bytes said, and the rest of its bytes still to read."""

    #: The display name (the path, ``<stdin>``, ``<lines>``...).
    name: str
    #: The format it is read in: given, or detected from :attr:`head`.
    format: LogFormat
    #: What :attr:`head` looks like when it is not text (:func:`~wslab.logs.reading.sniff.binary_kind`).
    binary: str | None
    #: Its first bytes, whole lines only.
    head: bytes
    #: The format suffix its request lines carry (:func:`learn_suffix`).
    suffix: bytes
    #: Its raw blocks, :attr:`head`'s among them; read once.
    blocks: Iterator[bytes] = field(repr=False)
    #: What happened while reading it (damage warnings).
    state: ReadState = field(repr=False)

    def chunks(self) -> Iterator[Chunk]:
        """Its bytes as chunks of whole records (:func:`~wslab.logs.reading.sources.iter_chunks`)."""
        return iter_chunks(self.blocks, record_start=self.format.record_start)

    def require_text(self) -> None:
        """Fail (exit code 1) for a source that starts with binary data and whose start holds
        no request line of its format: nothing of it could be read as a log."""
        pattern = self.format.request_status
        if self.binary and pattern is not None and not pattern.search(self.head):
            raise not_text(self.name, self.binary)


@contextmanager
def open_log(
    source: Source,
    given: LogFormat | None = None,
    chunk_size: int = CHUNK_SIZE,
    text_only: bool = False,
) -> Iterator[OpenedLog]:
    """Open *source* once and read its start: the :class:`OpenedLog` to read it from.

    *given* is the format to read it in (``None``: detect it from the start).
    With *text_only*, a source :meth:`OpenedLog.require_text` rejects raises its
    one error here, before any of it is scanned. Closes only what it opened (see
    :func:`~wslab.logs.reading.sources.open_source`).
    """
    state = ReadState(source_name(source))
    with open_source(source) as stream:
        head, blocks = head_window(read_blocks(stream, state, chunk_size))
        fmt = given or detect_format(head)
        log = OpenedLog(state.name, fmt, binary_kind(head), head, learn_suffix(head, fmt), blocks, state)
        if text_only:
            log.require_text()
        yield log
