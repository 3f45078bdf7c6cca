"""The log formats the kit reads, one module per format family, and how a source's format is told.

==============================  ================================================
``werkzeug``                    :mod:`wslab.logs.formats.werkzeug`: Werkzeug's request lines in any
                                logging setup, tracebacks, phase markers, ``Bad request syntax`` lines
``gunicorn-access``             :mod:`wslab.logs.formats.gunicorn`: gunicorn's default access format
``gunicorn-error``              :mod:`wslab.logs.formats.gunicorn`: gunicorn's error log (no request lines)
``nginx``                       :mod:`wslab.logs.formats.nginx`: nginx's ``combined`` format
==============================  ================================================

Each format module provides :class:`~wslab.logs.formats.base.LogFormat` records
(:mod:`wslab.logs.formats.base` holds the record and the line shapes every format
builds on; :mod:`wslab.logs.formats.access` the access line gunicorn and nginx
share). Adding a format is one module plus its tests, and its name in
``_FAMILIES`` here (each format module lists its formats in ``FORMATS``).

Each source is read in one format, given by name or detected from its opening
lines (:func:`detect_format`): each format scores the lines of its own shape
among the first :data:`DETECT_LINES`, the highest score wins, and Werkzeug wins
ties and a source where nothing matches.

In every format tracebacks are looked for (their shapes: :mod:`wslab.logs.formats.tracebacks`),
and blank and indented lines are continuation lines. A line of another format
inside a file (a Werkzeug line in a gunicorn access or error log, an access line
in a Werkzeug or gunicorn error log, a gunicorn record in an access log) is an
unparsed line, never a request.
"""

from __future__ import annotations

from wslab.errors import WslabError
from wslab.logs.formats import gunicorn, nginx, werkzeug
from wslab.logs.formats.base import LogFormat
from wslab.logs.formats.gunicorn import GUNICORN_ACCESS, GUNICORN_ERROR
from wslab.logs.formats.nginx import NGINX
from wslab.logs.formats.werkzeug import WERKZEUG

__all__ = [
    "AUTO", "DETECT_LINES", "FORMATS", "GUNICORN_ACCESS", "GUNICORN_ERROR", "NGINX", "WERKZEUG",
    "LogFormat", "detect_format", "get_format",
]

#: The format modules; each lists its formats in ``FORMATS``.
_FAMILIES = (werkzeug, gunicorn, nginx)

#: Every format by name, in ``--format`` order.
FORMATS: dict[str, LogFormat] = {fmt.name: fmt for family in _FAMILIES for fmt in family.FORMATS}
#: The value that asks for :func:`detect_format`.
AUTO = "auto"
#: How many opening lines of a source :func:`detect_format` looks at.
DETECT_LINES = 200


def get_format(name: str | LogFormat) -> LogFormat | None:
    """The format called *name*, ``None`` for ``"auto"``; one clear error for any other name."""
    if isinstance(name, LogFormat):
        return name
    if name == AUTO:
        return None
    if name not in FORMATS:
        raise WslabError(f"unknown log format {name!r} (choose from {AUTO}, {', '.join(FORMATS)})")
    return FORMATS[name]


def detect_format(head: bytes, lines: int = DETECT_LINES) -> LogFormat:
    """The format of a source whose first bytes are *head*, from its first *lines* lines.

    Each format scores the lines of its own shape (:attr:`LogFormat.score`):
    Werkzeug request lines, access lines, gunicorn error records. The highest
    score wins, and on a tie the format of lowest :attr:`LogFormat.precedence`:
    Werkzeug wins ties and a source where nothing matches, as before formats were
    detected, and access lines win over gunicorn error records. gunicorn's and
    nginx's access lines have the same shape: each scores them only when they
    are (nginx) or are not (gunicorn) showing what only nginx writes.
    """
    cut = -1
    for _ in range(lines):
        cut = head.find(b"\n", cut + 1)
        if cut < 0:
            break
    window = head if cut < 0 else head[:cut]
    return max(FORMATS.values(), key=lambda fmt: (fmt.score(window), -fmt.precedence))
