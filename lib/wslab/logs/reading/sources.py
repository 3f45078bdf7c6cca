"""Where log bytes come from, and how they are cut into chunks of whole records.

A *source* is a path (``str`` or :class:`~pathlib.Path`; gzip is recognised by
its magic bytes, whatever the file is called), ``"-"`` for standard input, an
open binary or text file object, or a list of lines (``str`` or ``bytes``).

A :class:`Chunk` is a range of a ``bytes`` block holding whole lines, every line
preceded by a newline. Chunks are cut just before a line that opens a new
record, so a traceback stays with its record; input with no record start for
:data:`MAX_LINE` bytes is cut at a newline anyway, which keeps memory flat on
damaged input. Large plain files can be split into byte ranges of whole records
(:func:`split_offsets`) for parallel scanning.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any, NamedTuple, Union

from wslab.logs.formats.base import RECORD_START

Source = Union[str, os.PathLike, IO[bytes], IO[str], list]

CHUNK_SIZE = 8 << 20
MAX_LINE = 1 << 20
#: The start of a source that :func:`~wslab.logs.reading.opened.learn_suffix` looks at.
HEAD_WINDOW = 1 << 20
_CUT_SEARCH_LINES = 4096
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class ReadState:
    """What happened while reading one source: its display name and any damage."""

    name: str
    warnings: list[str] = field(default_factory=list)
    #: Set once damage ended the read: later reads return nothing.
    stopped: bool = False


def source_name(source: Any) -> str:
    """A short display name for *source* (the path, ``<stdin>``, ``<lines>``...)."""
    if isinstance(source, (str, os.PathLike)):
        return "<stdin>" if str(source) == "-" else str(source)
    if isinstance(source, list):
        return "<lines>"
    return str(getattr(source, "name", "<stream>"))


def _lines_as_bytes(lines: Iterable[str | bytes]) -> bytes:
    parts = []
    for line in lines:
        if isinstance(line, str):
            line = line.encode("utf-8", "surrogateescape")
        parts.append(line[:-1] if line.endswith(b"\n") else line)
    return b"\n".join(parts)


class _TextAsBinary(io.RawIOBase):
    """Read a text stream as UTF-8 bytes."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        text = self._stream.read(size if size and size > 0 else -1)
        return text.encode("utf-8", "surrogateescape")


@contextmanager
def open_source(source: Source) -> Iterator[IO[bytes]]:
    """Open *source* for binary reading, decompressing gzip when the magic bytes say so.

    Closes only what it opened: standard input and caller-owned file objects stay
    open. Raises ``FileNotFoundError``, ``IsADirectoryError`` or ``PermissionError``
    for paths that cannot be read; callers turn those into user errors.
    """
    if isinstance(source, list):
        yield io.BytesIO(_lines_as_bytes(source))
    elif isinstance(source, (str, os.PathLike)) and str(source) == "-":
        yield _maybe_gunzip(sys.stdin.buffer)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a directory")
        with open(path, "rb") as raw:
            yield _maybe_gunzip(raw)
    elif isinstance(source, io.TextIOBase):
        yield _TextAsBinary(source)  # type: ignore[misc]
    else:
        yield _maybe_gunzip(source)  # type: ignore[arg-type]


def _maybe_gunzip(stream: IO[bytes]) -> IO[bytes]:
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


def _safe_read(stream: IO[bytes], size: int, state: ReadState) -> bytes:
    """Read up to *size* bytes; a damaged or truncated compressed stream ends the read.

    The bytes decoded before the damage are returned (``read1`` pieces are
    gathered, since one ``read`` that fails part-way drops everything it had
    decoded); the read after that returns nothing.
    """
    if state.stopped:
        return b""
    read = getattr(stream, "read1", None) or stream.read
    pieces: list[bytes] = []
    got = 0
    try:
        while got < size:
            data = read(size - got)
            if not data:
                break
            pieces.append(data)
            got += len(data)
    except (EOFError, zlib.error, OSError, UnicodeDecodeError) as exc:
        state.stopped = True
        state.warnings.append(f"{state.name}: stopped reading damaged input ({exc})")
    return b"".join(pieces)


class Chunk(NamedTuple):
    """Lines ``buf[start:end]``: ``buf[start]`` is a newline and so is every line's end but the last."""

    buf: bytes
    start: int
    end: int


def cut_point(buf: bytes, floor: int = 1, record_start: re.Pattern[bytes] = RECORD_START) -> int:
    """Index of the newline before the last line of *buf* that opens a record.

    Looks at the last few thousand lines, at or after *floor*; ``-1`` if none opens a record.
    *record_start* is the log format's pattern of a line opening a record.
    """
    pos = buf.rfind(b"\n", floor)
    for _ in range(_CUT_SEARCH_LINES):
        if pos < floor:
            break
        if record_start.match(buf, pos + 1):
            return pos
        pos = buf.rfind(b"\n", floor, pos)
    return -1


def first_record_newline(buf: bytes, record_start: re.Pattern[bytes] = RECORD_START) -> int:
    """Offset of the first newline in *buf* followed by a record start, else ``-1``."""
    pos = buf.find(b"\n")
    for _ in range(_CUT_SEARCH_LINES):
        if pos < 0 or record_start.match(buf, pos + 1):
            return pos
        pos = buf.find(b"\n", pos + 1)
    return -1


def read_blocks(
    stream: IO[bytes], state: ReadState, chunk_size: int = CHUNK_SIZE, limit: int | None = None
) -> Iterator[bytes]:
    """Raw blocks of at most *chunk_size* bytes from *stream*, stopping after *limit* bytes."""
    remaining = limit
    while remaining is None or remaining > 0:
        data = _safe_read(stream, chunk_size if remaining is None else min(chunk_size, remaining), state)
        if not data:
            return
        if remaining is not None:
            remaining -= len(data)
        yield data


def head_window(blocks: Iterator[bytes], size: int = HEAD_WINDOW) -> tuple[bytes, Iterator[bytes]]:
    """The first *size* bytes of *blocks* (whole lines only), and an iterator over all blocks."""
    taken: list[bytes] = []
    total = 0
    for data in blocks:
        taken.append(data)
        total += len(data)
        if total >= size:
            break
    head = b"".join(taken)[:size]
    if total > size:
        head = head[: head.rfind(b"\n") + 1]
    return head, chain(taken, blocks)


def iter_chunks(
    blocks: Iterable[bytes], lead: bytes = b"\n", record_start: re.Pattern[bytes] = RECORD_START
) -> Iterator[Chunk]:
    """Turn raw *blocks* into chunks of whole records, copying as little as possible.

    *lead* is put before the first byte (``b""`` when the data starts at a
    newline, as a range from :func:`split_offsets` does); *record_start* is the
    log format's pattern of a line opening a record.
    """
    carry = lead
    for data in blocks:
        head, cut = first_record_newline(data, record_start), cut_point(data, 0, record_start)
        if 0 <= head < cut:
            if carry or head:
                piece = carry + data[:head]
                yield Chunk(piece, 0, len(piece))
            yield Chunk(data, head, cut)
            carry = data[cut:]
            continue
        buf = carry + data
        cut = cut_point(buf, 1, record_start)
        if cut < 0 and len(buf) >= MAX_LINE:
            cut = buf.rfind(b"\n", 1)  # no record start nearby: cut a line, or a huge line
            cut = cut if cut > 0 else len(buf)
        if cut > 0:
            yield Chunk(buf, 0, cut)
            carry = buf[cut:] or b"\n"
        else:
            carry = buf
    if carry.endswith(b"\n"):
        carry = carry[:-1]
    if carry:
        yield Chunk(carry, 0, len(carry))


def _first_record_newline(window: bytes) -> int:
    """Offset of the first newline in *window* followed by a record start (else any newline)."""
    pos = first_record_newline(window)
    return pos if pos >= 0 else window.find(b"\n")


def split_offsets(path: str | os.PathLike, parts: int) -> list[int]:
    """Offsets cutting a plain file into about *parts* byte ranges of whole records.

    The first offset is 0 and the last is the file size; every other one is the
    offset of a newline that precedes a line opening a record.
    """
    size = os.path.getsize(path)
    offsets = [0]
    with open(path, "rb") as stream:
        for k in range(1, parts):
            guess = size * k // parts
            stream.seek(guess)
            pos = _first_record_newline(stream.read(MAX_LINE))
            if pos >= 0 and guess + pos > offsets[-1]:
                offsets.append(guess + pos)
    return [*offsets, size]
