"""Time buckets for rates over time: reading a bucket width, and choosing one from a log's span.

A width is given as a number of seconds (``5``, ``"30"``), as pandas offset text
(``"1s"``, ``"5min"``, ``"1h"``) or as ``"auto"``: then :func:`choose_bucket` picks
one of :data:`WIDTHS` from the time the requests span, aiming at
:data:`TARGET_BUCKETS` buckets: a few seconds of a lab run keep 1 s buckets, a
day of production traffic gets 15 min ones. pandas is imported on first use, so
the command line can name the widths without loading it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from wslab.errors import WslabError

if TYPE_CHECKING:
    import pandas as pd

AUTO = "auto"
#: The widths :func:`choose_bucket` chooses from, in seconds.
WIDTHS = (1, 5, 10, 30, 60, 5 * 60, 15 * 60, 3600, 6 * 3600, 86400)
#: The number of buckets a chosen width aims at (both ends included).
TARGET_BUCKETS = (60, 120)


def parse_bucket(value: Any) -> pd.Timedelta | None:
    """The width *value* names, or ``None`` for ``"auto"`` (and ``None``).

    Numbers (and number text) are seconds; other text is read by
    :class:`pandas.Timedelta` (``"1s"``, ``"5min"``). A width that is not a
    positive duration raises :class:`~wslab.errors.WslabError`.
    """
    import pandas as pd

    if value is None or (isinstance(value, str) and value.strip().lower() == AUTO):
        return None
    if isinstance(value, pd.Timedelta):
        width = value
    else:
        try:
            width = pd.Timedelta(seconds=float(value))
        except (TypeError, ValueError):
            try:
                width = pd.Timedelta(str(value))
            except ValueError:
                width = None
    if width is None or pd.isna(width) or width <= pd.Timedelta(0):
        raise WslabError(f"bucket must be a number of seconds above 0 or 'auto' (got {value!r})")
    return width


def _distance(buckets: float) -> float:
    """How far a bucket count is from :data:`TARGET_BUCKETS`, as a ratio on a log scale."""
    low, high = TARGET_BUCKETS
    if buckets < low:
        return math.log(low / buckets)
    if buckets > high:
        return math.log(buckets / high)
    return 0.0


def choose_bucket(span: pd.Timedelta) -> pd.Timedelta:
    """The width of :data:`WIDTHS` that cuts *span* into a number of buckets nearest
    :data:`TARGET_BUCKETS` (the finest width on a tie); 1 s for a span of a few seconds."""
    import pandas as pd

    seconds = max(0.0, span.total_seconds()) if not pd.isna(span) else 0.0
    counts = [(math.floor(seconds / width) + 1, width) for width in WIDTHS]
    best = min(counts, key=lambda pair: (_distance(pair[0]), pair[1]))
    return pd.Timedelta(seconds=best[1])


def bucket_for(times: pd.Series, bucket: Any = AUTO) -> pd.Timedelta:
    """The bucket width for request times *times*: *bucket* if given, else :func:`choose_bucket`
    of the span from the first to the last known time."""
    import pandas as pd

    width = parse_bucket(bucket)
    if width is not None:
        return width
    known = times.dropna()
    return choose_bucket(known.max() - known.min() if len(known) else pd.Timedelta(0))


def bucket_label(width: pd.Timedelta | float) -> str:
    """A width (a :class:`pandas.Timedelta` or seconds) as people write it: ``1 s``, ``30 s``,
    ``5 min``, ``1 h``, ``1 day``."""
    seconds = float(width) if isinstance(width, (int, float)) else width.total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''}"
    return f"{seconds:g} s"
