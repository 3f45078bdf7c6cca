"""Answers in one spelling, so a check compares what was meant and not how it was typed.

:func:`answer_key` puts an answer in the spelling chosen per kind of answer:
counts are whole numbers (``20``, ``np.int64(20)`` and ``"20"`` agree); names
such as a transport, a label or a signal ignore case and separators
(``"WebSocket"``, ``"web socket"`` and ``"websocket"`` agree;
``"polling→upgrade"`` is the kit's ``upgrade``); paths keep their case, because
a server routes ``/socket.io/`` and ``/Socket.IO/`` differently; free text such
as a log message ignores case, surrounding whitespace and trailing punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

#: How an answer is compared; see :func:`answer_key`.
AnswerKind = Literal["count", "name", "path", "flag", "text"]

_ARROW = re.compile(r"\s*(?:→|->|=>)\s*")
_NAME_SEPARATORS = re.compile(r"[\s_\-]+")
_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s.,;:!?]+$")
_INTEGER = re.compile(r"[+-]?\d+")

#: Names that prose spells one way and the kit's data another, as :func:`normalise_name` keys.
NAME_ALIASES: dict[str, str] = {"polling→upgrade": "upgrade"}


def as_count(value: Any) -> int | None:
    """*value* as a whole number, or None when it is not one.

    Python and NumPy integers, floats with no fractional part and strings of
    digits (``"20"``, ``" 20 "``) count; booleans and anything else do not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _INTEGER.fullmatch(text) else None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    try:
        return number if number == value else None
    except (TypeError, ValueError):
        return None


def normalise_name(value: str) -> str:
    """The comparison key of a name (a transport, a label, a signal, an exception name).

    Case, surrounding whitespace and the separators ``-``, ``_`` and spaces carry
    no meaning; an arrow may be written ``→``, ``->`` or ``=>``; a name listed in
    :data:`NAME_ALIASES` becomes the kit's own name.
    """
    key = _ARROW.sub("→", value.strip().casefold())
    key = _NAME_SEPARATORS.sub("", key)
    return NAME_ALIASES.get(key, key)


def normalise_path(value: str) -> str:
    """The comparison key of a URL path: only surrounding whitespace is dropped, case is kept."""
    return value.strip()


def normalise_text(value: str) -> str:
    """The comparison key of free text such as a log message.

    Case, surrounding whitespace and quotes, runs of inner whitespace and
    trailing punctuation (``.``, ``,``, ``;``, ``:``, ``!``, ``?``) carry no meaning.
    """
    text = _WHITESPACE.sub(" ", value.strip().strip("\"'`").casefold())
    return _TRAILING_PUNCTUATION.sub("", text)


def normalise_flag(value: Any) -> bool | str | None:
    """A yes/no answer as True or False, ``"mixed"`` for a mixed one, or None.

    Python and NumPy booleans count, and so do the strings ``"True"``, ``"false"``
    and ``"Mixed"`` in any case.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        return {"true": True, "false": False, "mixed": "mixed"}.get(word)
    return None


def answer_key(value: Any, kind: AnswerKind) -> Any:
    """*value* in the one spelling used to compare answers of *kind*; None when it is not one.

    ``count`` → :func:`as_count`; ``name`` → :func:`normalise_name`; ``path`` →
    :func:`normalise_path`; ``text`` → :func:`normalise_text`; ``flag`` →
    :func:`normalise_flag`.
    """
    if kind == "count":
        return as_count(value)
    if kind == "flag":
        return normalise_flag(value)
    if not isinstance(value, str):
        return None
    keys: dict[str, Callable[[str], str]] = {"name": normalise_name, "path": normalise_path,
                                            "text": normalise_text}
    return keys[kind](value)


def same_answer(given: Any, expected: Any, kind: AnswerKind) -> bool:
    """Whether *given* is *expected* in another spelling (see :func:`answer_key`)."""
    key = answer_key(given, kind)
    return key is not None and key == answer_key(expected, kind)
