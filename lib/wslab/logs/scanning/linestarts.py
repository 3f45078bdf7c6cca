"""A chunk's line starts, looked at all at once with numpy: the streaming summary's fast pre-filter.

One vectorised pass over a :class:`~wslab.logs.reading.sources.Chunk` finds its
newlines; the first bytes of every line then tell

* how many lines the chunk holds (:func:`~wslab.logs.scanning.chunks.count_lines`);
* where traceback records start (the lines that begin with
  ``Traceback (most recent call last):`` or ``  + Exception Group Traceback``),
  which :func:`~wslab.logs.scanning.tracebacks.find_tracebacks` then matches one by one (the
  former are known lines, so they are no candidates below);
* which lines may be unknown: every line but the blank and indented ones and, in
  the formats whose cheap first pass skips them (Werkzeug's, gunicorn's error
  log), the ones that open with a timestamp (``2025-09-01T``, ``[2025-09-01 ``).
  :func:`~wslab.logs.scanning.chunks.find_unparsed` checks the few left with the format's
  own first-pass regex, so the lines it reports are exactly the regex pass's.

Nothing here decides a count on its own: each test only rules out lines the
regexes would rule out too, and everything else goes through them. When too
many lines are left (a log whose lines open with something else, e.g. an access
log), or the chunk is a few bytes, :func:`line_starts` says so (``None``) and the
regex passes run instead.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from wslab.logs.formats.base import LogFormat
from wslab.logs.formats.tracebacks import GROUP_LEAD, TRACEBACK_WORDS
from wslab.logs.reading.sources import Chunk

#: Above this share of a chunk's lines left as maybe unknown, the regex pass is quicker.
MAX_CANDIDATE_SHARE = 0.2

_NEWLINE, _LEFT_BRACKET, _T, _SPACE, _PLUS = b"\n[T +"
#: Bytes that make a line known at once: ``[^\S\n]`` (an indented line) or a newline (a blank one).
_BLANK_OR_INDENT = np.zeros(256, dtype=bool)
_BLANK_OR_INDENT[list(b" \t\r\x0b\x0c\n")] = True
#: ``dddd-dd-dd[T ]``, the start of :data:`~wslab.logs.formats.base.TIMESTAMP`, is 11 bytes; it is read
#: as two little-endian 8-byte words: bytes 0-7 (``dddd-dd-``) and bytes 3-10 (``d-dd-ddX``).
_TS_BYTES = 11


def _word(pattern: bytes) -> int:
    return int.from_bytes(pattern, "little")


# Word 1, ``dddd-dd-``: xor with ``0000-00-`` leaves 0-9 in a digit's byte and 0 in a dash's.
_W1_XOR = np.uint64(_word(b"0000-00-"))
_W1_HIGH = np.uint64(_word(b"\xf0\xf0\xf0\xf0\xff\xf0\xf0\xff"))  # digits: high nibble 0; dashes: 0
_W1_ADD6 = np.uint64(_word(b"\x06\x06\x06\x06\x00\x06\x06\x00"))  # a low nibble above 9 carries into 0x10
_W1_CARRY = np.uint64(_word(b"\x10\x10\x10\x10\x00\x10\x10\x00"))
# Word 2, bytes 3-10: only bytes 8 and 9 (its bytes 5 and 6) are new digits; byte 10 is its top byte.
_W2_XOR = np.uint64(_word(b"\x00\x00\x00\x00\x0000\x00"))
_W2_HIGH = np.uint64(_word(b"\x00\x00\x00\x00\x00\xf0\xf0\x00"))
_W2_ADD6 = np.uint64(_word(b"\x00\x00\x00\x00\x00\x06\x06\x00"))
_W2_CARRY = np.uint64(_word(b"\x00\x00\x00\x00\x00\x10\x10\x00"))
_TOP = np.uint64(56)
_GROUP_WORDS = b"\n" + GROUP_LEAD + TRACEBACK_WORDS


class LineStarts(NamedTuple):
    """What :func:`line_starts` found; offsets are into ``chunk.buf``, at the newline before a line."""

    #: Newlines in the chunk: :func:`~wslab.logs.scanning.chunks.count_lines`.
    lines: int
    #: Newlines before lines that open a traceback record, in order; ``None``: not looked for.
    record_starts: list[int] | None
    #: Newlines before lines that may be unknown, in order; ``None`` when the regex pass should run.
    candidates: list[int] | None


def _digits_and_dashes(
    word: np.ndarray, xor: np.uint64, high: np.uint64, add6: np.uint64, carry: np.uint64
) -> np.ndarray:
    """Which 8-byte *word* values hold digits and dashes where the masks say (see the constants)."""
    x = word ^ xor
    return ((x & high) == 0) & (((x + add6) & carry) == 0)


def _valid_words(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Which word pairs (see :data:`_TS_BYTES`) spell ``dddd-dd-dd`` and then ``T`` or a space."""
    top = w2 >> _TOP
    ok = _digits_and_dashes(w1, _W1_XOR, _W1_HIGH, _W1_ADD6, _W1_CARRY)
    ok &= _digits_and_dashes(w2, _W2_XOR, _W2_HIGH, _W2_ADD6, _W2_CARRY)
    return ok & ((top == _T) | (top == _SPACE))


def _timestamped(a: np.ndarray, starts: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Which of the lines starting at *starts* (offsets into *a*; *first* their first bytes)
    open with ``\\[?dddd-dd-dd[T ]``.

    Lines of one chunk mostly share their date: those whose words equal the first
    line's (when it is valid) are valid at once, and only the others are checked
    byte class by byte class.
    """
    at = starts + (first == _LEFT_BRACKET)
    room = at <= len(a) - _TS_BYTES
    if not room.all():
        at = np.where(room, at, 0)
    words = np.ndarray(shape=(len(a) - 7,), dtype="<u8", buffer=a, strides=(1,))
    w1, w2 = words[at], words[at + 3]
    if _valid_words(w1[:1], w2[:1])[0]:
        ok = (w1 == w1[0]) & (w2 == w2[0])
        other = np.flatnonzero(~ok)
        ok[other] = _valid_words(w1[other], w2[other])
    else:
        ok = _valid_words(w1, w2)
    return ok & room


def line_starts(chunk: Chunk, fmt: LogFormat) -> LineStarts:
    """The line count, the traceback record starts and the maybe-unknown lines of *chunk*
    in format *fmt* (see the module docstring)."""
    buf, start, end = chunk
    a = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    newlines = np.flatnonzero(a == _NEWLINE)
    lines = len(newlines)
    if lines and newlines[-1] == len(a) - 1:
        newlines = newlines[:-1]  # the empty line after a final newline is known (blank)
    if len(a) < _TS_BYTES + 8 or not len(newlines):
        return LineStarts(lines, None, None)
    firsts = newlines + 1
    first = a[firsts]
    opens_t = np.flatnonzero(first == _T)
    records, others = [], []
    for pos in (newlines[opens_t] + start).tolist():
        (records if buf.startswith(TRACEBACK_WORDS, pos + 1, end) else others).append(pos)
    indented = np.flatnonzero(first == _SPACE)
    plus = indented[a[np.minimum(firsts[indented] + 2, len(a) - 1)] == _PLUS]
    groups = [p for p in (newlines[plus] + start).tolist() if buf.startswith(_GROUP_WORDS, p, end)]
    left = ~_BLANK_OR_INDENT[first]
    if fmt.timestamps_known:
        left &= ~_timestamped(a, firsts, first)
    left[opens_t] = False  # the Traceback lines among them are known; the others go back below
    candidates = None
    if np.count_nonzero(left) + len(others) <= MAX_CANDIDATE_SHARE * len(newlines):
        candidates = (newlines[left] + start).tolist()
        if others:
            candidates = sorted(candidates + others)
    return LineStarts(lines, sorted(records + groups) if groups else records, candidates)
