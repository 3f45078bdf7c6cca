"""Traceback records in a chunk: chained sections, exception groups, the line before each,
and the counts of their final exceptions.

The shapes are described in :mod:`wslab.logs.formats.tracebacks`; tracebacks are
found the same way in every log format.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import partial
from typing import NamedTuple

from wslab.logs.formats.base import KNOWN_LINE_START, TIMESTAMP_START
from wslab.logs.formats.tracebacks import (
    BARE_EXCEPTION,
    BLANK_LINES,
    CHAIN_SENTENCE,
    EXCEPTION_NAME,
    GROUP_EXCEPTION,
    GROUP_LEAD,
    GROUP_MEMBER_EDGE,
    GROUP_MEMBER_HEADS,
    GROUP_MEMBER_LINE,
    GROUP_MORE,
    GROUP_SECTION,
    TRACEBACK,
    TRACEBACK_WORDS,
)
from wslab.logs.reading.sources import Chunk
from wslab.logs.scanning.chunks import clean_text


class Section(NamedTuple):
    """One exception of a traceback record, as Python printed it.

    ``exception`` is the exception line (``None`` when the log cut the section off
    before it), ``message`` that line with its continuation lines, ``span`` their
    ``(start, end)`` offsets (unindented text the line counters must skip),
    ``frames`` the frame lines (margins of a group removed), ``members`` the final
    exception line of each sub-exception of an exception group, and ``end`` the
    offset where the section ends.
    """

    exception: bytes | None
    message: bytes
    span: tuple[int, int] | None
    frames: bytes
    members: tuple[bytes, ...]
    end: int


class Traceback(NamedTuple):
    """One traceback record: its sections in printed order, the final one last.

    ``start`` is the offset of the newline before the record's first line. A
    chained traceback has several sections; :attr:`final` names the record.
    """

    start: int
    sections: tuple[Section, ...]

    @property
    def final(self) -> Section:
        """The last (outermost) exception, the one the record is named by."""
        return self.sections[-1]

    @property
    def complete(self) -> bool:
        """Whether the final exception line is in the log."""
        return self.sections[-1].exception is not None

    @property
    def chain(self) -> tuple[bytes, ...]:
        """The exception lines of the earlier exceptions of a chained traceback."""
        return tuple(s.exception for s in self.sections[:-1] if s.exception is not None)

    @property
    def end(self) -> int:
        """Offset where the record's last line ends."""
        return self.sections[-1].end


_PLAIN_START = b"\n" + TRACEBACK_WORDS
_GROUP_WORDS = b"\n" + GROUP_LEAD + TRACEBACK_WORDS
_GROUP_STARTS = (b"\n" + GROUP_LEAD, b"\n  | ")
_SENTENCES = (b"During handling of the above exception", b"The above exception was the direct cause")
#: First bytes of a line that may be (or lead through blank lines to) a chaining sentence.
_SENTENCE_LEADS = frozenset([b"", b"\n", b" ", b"\t", b"\r", b"\x0b", b"\x0c", b"D", b"T"])
# Tuple construction without the Python-level ``__new__`` of a NamedTuple: one
# record per traceback of a large log goes through these.
_new_section = partial(tuple.__new__, Section)
_new_traceback = partial(tuple.__new__, Traceback)


def _section(match: re.Match[bytes], frames: bytes = b"") -> Section:
    """The section of a :data:`TRACEBACK` or :data:`BARE_EXCEPTION` match."""
    start, stop = match.span("exception")
    if start < 0:
        return _new_section((None, b"", None, frames, (), match.end()))
    more, text = match.end("more"), match.string
    return _new_section((text[start:stop], text[start:more], (start, more), frames, (), match.end()))


def _members(buf: bytes, start: int, end: int) -> tuple[bytes, ...]:
    """The final exception line of each direct sub-exception of a group section."""
    edges = [m.start() for m in GROUP_MEMBER_EDGE.finditer(buf, start, end)] + [end]
    members = []
    for low, high in zip(edges, edges[1:]):
        found, expect = None, True
        for line in GROUP_MEMBER_LINE.finditer(buf, low, high):
            text = line[1]
            if text.startswith(GROUP_MEMBER_HEADS):
                expect = True
            elif expect and not GROUP_MORE.match(text):
                found, expect = text, False
        if found is not None:
            members.append(found)
    return tuple(members)


def _group_section(buf: bytes, pos: int, end: int) -> Section:
    """The exception group whose first framed line follows the newline at *pos*."""
    stop = GROUP_SECTION.match(buf, pos, end).end()  # type: ignore[union-attr]
    own = GROUP_EXCEPTION.search(buf, pos, stop)
    if own is None:
        return Section(None, b"", None, buf[pos:stop].replace(b"\n  | ", b"\n"), (), stop)
    frames = buf[pos : own.start()].replace(b"\n  | ", b"\n")
    message = (own["exception"] + own["more"].replace(b"\n  | ", b"\n")).rstrip()
    return Section(own["exception"], message, None, frames, _members(buf, own.end(), stop), stop)


def _next_section(buf: bytes, pos: int, end: int) -> Section | None:
    """The section starting after the newline at *pos*, if a traceback section starts there."""
    if buf.startswith(_PLAIN_START, pos, end):
        match = TRACEBACK.match(buf, pos, end)
        return _section(match, match["frames"]) if match else None  # type: ignore[index]
    if buf.startswith(_GROUP_STARTS, pos, end):
        return _group_section(buf, pos, end)
    match = BARE_EXCEPTION.match(buf, pos, end)
    return _section(match) if match else None


def _bare_sections_before(buf: bytes, pos: int, floor: int) -> list[Section]:
    """Sections without frames that precede the section at *pos* in the same chain.

    An exception that was never raised (``raise B from A()``) is printed as its
    exception line alone; walk back over such ``line, sentence`` pairs.
    """
    found: list[Section] = []
    while True:
        sentence = _previous_line(buf, pos, floor)
        if sentence is None or not buf.startswith(_SENTENCES, sentence + 1):
            return found
        first = last = _previous_line(buf, sentence, floor)
        if last is None or KNOWN_LINE_START.match(buf, last + 1):
            return found
        while True:
            above = buf.rfind(b"\n", floor, first)
            if above < floor or KNOWN_LINE_START.match(buf, above + 1) or not buf[above + 1 : first].strip():
                break
            first = above
        match = BARE_EXCEPTION.match(buf, first, sentence)
        if match is None:
            return found
        found.insert(0, _section(match)._replace(end=sentence))
        pos = first


def _previous_line(buf: bytes, pos: int, floor: int) -> int | None:
    """The newline before the last non-blank line ending before the newline at *pos*."""
    while pos > floor:
        start = buf.rfind(b"\n", floor, pos)
        if start < floor:
            return None
        if buf[start + 1 : pos].strip():
            return start
        pos = start
    return None


def find_tracebacks(chunk: Chunk, starts: Iterable[int] | None = None) -> list[Traceback]:
    """All traceback records in *chunk*, in order.

    A record runs from its first ``Traceback (most recent call last):`` (or
    exception group) section through every section chained to it; blank lines
    between its lines do not end it. A record whose final exception line is
    missing (the log ends, or another record starts) is not
    :attr:`~Traceback.complete`.

    One ``bytes.find`` pass over the chunk finds the words both kinds of record
    start with; only the lines they are found on are matched with a regex, and a
    traceback that repeats the last one's text is not matched again (see
    :class:`_Repeat`). *starts*, when given, are those lines' newlines, found
    already (:func:`wslab.logs.scanning.linestarts.line_starts`).
    """
    buf, start, end = chunk.buf, chunk.start, chunk.end
    records: list[Traceback] = []
    done = start
    last: _Repeat | None = None
    for pos in _record_starts(buf, start, end) if starts is None else starts:
        if pos < done:
            continue
        if buf[pos + 1] != 84:  # not b"T": the first line of an exception group
            done = _record(buf, pos, done, end, _group_section(buf, pos, end), records)
            continue
        section = last.at(buf, pos, end) if last else None
        if section is None:
            match = TRACEBACK.match(buf, pos, end)
            section = _section(match, match["frames"])  # type: ignore[index]
            last = _Repeat.after(buf, pos, section, end) or last
        above = buf.rfind(b"\n", done, pos)
        if (section.exception is None or buf[section.end + 1 : section.end + 2] not in _SENTENCE_LEADS) and (
            above < done or buf[above + 1 : above + 2] not in _SENTENCE_LEADS
        ):
            records.append(_new_traceback((pos, (section,))))  # the common case: one section
            done = section.end
        else:
            done = _record(buf, pos, done, end, section, records)
    return records


class _Repeat:
    """The last traceback section :data:`TRACEBACK` matched, to reuse where its text comes again.

    An incident logs one traceback thousands of times, byte for byte. The
    regex's match depends on the bytes it matched and on the line after them,
    which it reads to see whether the section goes on; a line that opens with a
    timestamp ends every section, whatever it holds. So a match followed by such
    a line is the match of the same bytes anywhere else they are followed by
    such a line, shifted.
    """

    __slots__ = ("key", "section", "origin")

    def __init__(self, key: bytes, section: Section, origin: int) -> None:
        self.key, self.section, self.origin = key, section, origin

    @staticmethod
    def _ends(buf: bytes, stop: int, end: int) -> bool:
        """Whether the line after offset *stop* (a line end) opens with a timestamp."""
        return buf[stop : stop + 1] == b"\n" and TIMESTAMP_START.match(buf, stop + 1, end) is not None

    @classmethod
    def after(cls, buf: bytes, pos: int, section: Section, end: int) -> _Repeat | None:
        """The section matched at *pos*, kept if a timestamped line follows it."""
        return cls(buf[pos : section.end], section, pos) if cls._ends(buf, section.end, end) else None

    def at(self, buf: bytes, pos: int, end: int) -> Section | None:
        """The section at *pos* when :attr:`key` comes again there, followed by a timestamped
        line; else ``None``."""
        if not (buf.startswith(self.key, pos, end) and self._ends(buf, pos + len(self.key), end)):
            return None
        shift, old = pos - self.origin, self.section
        span = None if old.span is None else (old.span[0] + shift, old.span[1] + shift)
        return _new_section((old.exception, old.message, span, old.frames, old.members, old.end + shift))


def _record_starts(buf: bytes, start: int, end: int) -> Iterator[int]:
    """Offsets of the newlines before the first lines of traceback sections and exception
    groups in ``buf[start:end]``, in order: the newline before ``Traceback (most recent call
    last):`` at the start of a line, or before ``  + Exception Group Traceback ...``."""
    lead = len(_GROUP_WORDS) - len(TRACEBACK_WORDS)
    pos = buf.find(TRACEBACK_WORDS, start + 1, end)
    while pos >= 0:
        if buf[pos - 1] == 10:  # b"\n"
            yield pos - 1
        elif pos - lead >= start and buf.startswith(_GROUP_WORDS, pos - lead):
            yield pos - lead
        pos = buf.find(TRACEBACK_WORDS, pos + len(TRACEBACK_WORDS), end)


def _record(buf: bytes, start: int, floor: int, end: int, section: Section, records: list[Traceback]) -> int:
    """Add the record whose first traceback section is *section* (at *start*); return its end."""
    above = buf.rfind(b"\n", floor, start)
    earlier = (
        _bare_sections_before(buf, start, floor)
        if above >= floor and buf[above + 1 : above + 2] in _SENTENCE_LEADS
        else []
    )
    begin = earlier[0].span[0] - 1 if earlier else start  # type: ignore[index]
    sections = [*earlier, section]
    while section.exception is not None and buf[section.end + 1 : section.end + 2] in _SENTENCE_LEADS:
        sentence = CHAIN_SENTENCE.match(buf, section.end, end)
        if sentence is None:
            break
        after = BLANK_LINES.match(buf, sentence.end(), end).end()  # type: ignore[union-attr]
        section = _next_section(buf, after, end) or Section(None, b"", None, b"", (), sentence.end())
        sections.append(section)
    records.append(Traceback(begin, tuple(sections)))
    return section.end


def header_of(buf: bytes, record: Traceback, floor: int = 0) -> tuple[bytes | None, int]:
    """The line before a traceback record (``... ERROR werkzeug - Error on request:``), if any,
    and the offset of the record's first line: the header's, else the traceback's.

    Blank lines between the header and the traceback are skipped; *floor* is the
    offset before which the header may not start (the end of the previous record).
    """
    first = record.start + 1
    start = _previous_line(buf, record.start, floor)
    if start is None:
        return None, first
    line = buf[start + 1 : buf.find(b"\n", start + 1)]
    if line[:1].isspace():
        return None, first
    return line, start + 1


def message_spans(records: list[Traceback]) -> list[tuple[int, int]]:
    """``(start, end)`` of each exception line with its continuation lines."""
    return [s.span for record in records for s in record.sections if s.span is not None]


def exception_type(text: str) -> str:
    """The type name of an exception line's text (``KeyError`` of ``KeyError: 'x'``)."""
    match = EXCEPTION_NAME.match(text)
    return match["type"] if match else text


class TracebackCounts(NamedTuple):
    """Counts of traceback records: see :func:`traceback_counts`."""

    exceptions: Counter[str]
    incomplete: int
    chains: Counter[tuple[str, ...]]


def traceback_counts(records: list[Traceback], suffix: bytes) -> TracebackCounts:
    """Final exception of each complete record, the number of cut-off records, and the
    exception types of each complete chained record (earliest first, final last)."""
    raw: Counter[bytes] = Counter()
    incomplete = 0
    chains: Counter[tuple[str, ...]] = Counter()
    for record in records:
        final = record.final.exception
        if final is None:
            incomplete += 1
            continue
        raw[final] += 1
        if len(record.sections) > 1:
            lines = [*record.chain, final]
            chains[tuple(exception_type(clean_text(line, suffix)) for line in lines)] += 1
    counts: Counter[str] = Counter()
    for line, n in raw.items():
        counts[clean_text(line, suffix)] += n
    return TracebackCounts(counts, incomplete, chains)
