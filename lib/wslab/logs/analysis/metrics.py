"""Error rates per phase, time bucket, kind of request, transport or route, with Wilson 95 % intervals.

Error rate = 5xx request lines / all request lines; every table carries that
definition in ``table.attrs["definition"]``.

Phases split a run in time. They come from explicit instants (``--phase-at``:
requests before the first instant are ``phase 0``, then ``phase 1``...; named
deploys give ``before <first>``, ``after <first>``, ``after <second>``...) or from
marker records in the log: a record of logger ``wslab`` whose message is
``phase: <name>`` starts phase ``<name>`` for the lines after it in that file
(lines before the first marker are phase ``start``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from wslab.errors import WslabError
from wslab.logs.parsing.fields import KINDS, request_kind
from wslab.logs.stats import ERROR_RATE_DEFINITION, wilson_interval

START_PHASE = "start"
#: Groupings that cut time into buckets: ``minute`` (of *freq*, 1 min by default) and ``time``.
TIME_GROUPINGS = ("minute", "time")


def parse_instants(values: Any, what: str = "deploy_at") -> list[pd.Timestamp]:
    """Instants (deploys, phase starts) as naive timestamps, in time order.

    *values* is one instant or a sequence of them: text such as
    ``2025-09-01T13:05:00``, :class:`datetime.datetime` or :class:`pandas.Timestamp`.
    An instant with a UTC offset is moved to UTC (access logs' times are UTC); one
    without is taken as written, like Werkzeug's own times. *what* names the
    parameter in the error raised for a value that is no instant.
    """
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        values = [values]
    instants = []
    for value in values:
        try:
            instant = pd.Timestamp(value)
        except (TypeError, ValueError):
            instant = pd.NaT
        if pd.isna(instant):
            raise WslabError(f"{what}: not a timestamp: {value!r} (e.g. 2025-09-01T13:05:00)")
        if instant.tzinfo is not None:
            instant = instant.tz_convert("UTC").tz_localize(None)
        instants.append(instant)
    return sorted(instants)


def parse_deploys(values: Any, what: str = "deploy_at") -> tuple[list[pd.Timestamp], list[str] | None]:
    """Deploy instants in time order, and their names when any was given (else ``None``).

    *values* is what :func:`parse_instants` takes, or a mapping ``{name: instant}``,
    or text ``NAME=INSTANT`` (``guard=2025-09-01T13:05:00``) among the instants.
    Unnamed deploys among named ones are called ``deploy 1``, ``deploy 2``... by
    their place in time.
    """
    if values is None:
        return [], None
    if isinstance(values, Mapping):
        pairs = [(str(name), value) for name, value in values.items()]
    else:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            values = [values]
        pairs = [_named(value) for value in values]
    instants = [parse_instants(value, what)[0] for _, value in pairs]
    order = sorted(range(len(pairs)), key=lambda i: instants[i])
    if all(pairs[i][0] is None for i in order):
        return [instants[i] for i in order], None
    names = [pairs[i][0] or f"deploy {place + 1}" for place, i in enumerate(order)]
    return [instants[i] for i in order], names


def _named(value: Any) -> tuple[str | None, Any]:
    """``("guard", "2025-...")`` for text ``guard=2025-...``; ``(None, value)`` otherwise."""
    if isinstance(value, str) and "=" in value:
        name, _, instant = value.partition("=")
        if name.strip():
            return name.strip(), instant.strip()
    return None, value


def marker_deploys(markers: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """The phase markers of a log (``ParsedLog.markers``) after its first, as ``{phase name: time}``:
    the instants at which the recorded run changed something, named by what it changed to."""
    later = markers.dropna(subset=["ts"]).iloc[1:]
    return dict(zip(later["phase"], later["ts"]))


def phase_labels(phase_at: Sequence[Any], names: Sequence[str] | None = None) -> list[str]:
    """Labels of the phases that *phase_at* instants create: ``phase 0`` ... ``phase N``, or, with
    deploy *names*, ``before <first name>``, ``after <first name>`` ... ``after <last name>``."""
    if names:
        if len(names) != len(phase_at):
            raise ValueError(f"{len(names)} deploy names for {len(phase_at)} deploys")
        return [f"before {names[0]}", *(f"after {name}" for name in names)]
    return [f"phase {i}" for i in range(len(phase_at) + 1)]


def _phases_from_instants(requests: pd.DataFrame, phase_at: Sequence[Any],
                          names: Sequence[str] | None = None) -> pd.Series:
    instants = np.sort(pd.to_datetime(pd.Series(list(phase_at))).to_numpy())
    labels = np.array(phase_labels(phase_at, names), dtype=object)
    positions = np.searchsorted(instants, requests["ts"].to_numpy(), side="right")
    phases = pd.Series(labels[positions], index=requests.index, dtype=object)
    return phases.where(requests["ts"].notna(), "unknown time")


def _phases_from_markers(requests: pd.DataFrame, markers: pd.DataFrame) -> pd.Series:
    if markers.empty or requests.empty:
        return pd.Series(START_PHASE, index=requests.index, dtype=object)
    left = requests[["file", "line"]].reset_index().sort_values("line")
    right = markers[["file", "line", "phase"]].sort_values("line")
    merged = pd.merge_asof(left, right, on="line", by="file", direction="backward")
    return merged.set_index("index")["phase"].reindex(requests.index).fillna(START_PHASE)


def assign_phases(
    requests: pd.DataFrame,
    phase_at: Sequence[Any] | None = None,
    markers: pd.DataFrame | None = None,
    names: Sequence[str] | None = None,
) -> pd.Series:
    """The phase of every request: from *phase_at* instants if given (labelled with the
    deploys' *names* when given, see :func:`phase_labels`), else from *markers*."""
    if phase_at:
        return _phases_from_instants(requests, phase_at, names)
    if markers is not None:
        return _phases_from_markers(requests, markers)
    return pd.Series(START_PHASE, index=requests.index, dtype=object)


def request_kinds(requests: pd.DataFrame) -> pd.Series:
    """The ``kind`` of every request row (see :data:`~wslab.logs.parsing.fields.KINDS`): the parser's
    column, or computed from ``transport`` and ``sid`` for rows that lack it."""
    if "kind" in requests:
        return requests["kind"]
    kinds = [request_kind(t, s) for t, s in zip(requests["transport"], requests["sid"])]
    return pd.Series(kinds, index=requests.index, dtype=object)


def _group_key(requests: pd.DataFrame, by: str, phases: Any, freq: Any) -> pd.Series:
    if by == "phase":
        if isinstance(phases, pd.Series):
            return phases
        if isinstance(phases, pd.DataFrame):
            return assign_phases(requests, markers=phases)
        if phases is not None:
            return assign_phases(requests, phase_at=phases)
        return requests["phase"] if "phase" in requests else assign_phases(requests)
    if by in TIME_GROUPINGS:
        return requests["ts"].dt.floor(freq)
    if by == "kind":
        return request_kinds(requests)
    return requests[by].fillna("(not HTTP)")


def _in_kind_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a ``kind`` table in :data:`~wslab.logs.parsing.fields.KINDS` order (other labels after)."""
    rank = {kind: i for i, kind in enumerate(KINDS)}
    order = sorted(range(len(table)), key=lambda i: rank.get(table["kind"].iloc[i], len(rank)))
    return table.iloc[order].reset_index(drop=True)


def error_rate_table(
    requests: pd.DataFrame,
    by: str = "phase",
    phases: Sequence[Any] | pd.Series | pd.DataFrame | None = None,
    freq: Any = "1min",
) -> pd.DataFrame:
    """Requests, 5xx count, error rate and its Wilson 95 % interval per group.

    *by* is ``phase``, ``minute`` or ``time`` (buckets of *freq*: pandas offset
    text or a :class:`pandas.Timedelta`; the column holds each bucket's start),
    ``kind`` (see :func:`request_kinds`), ``transport``, ``route`` or any column
    of *requests*. For ``phase``, *phases* is a list of instants, a markers
    DataFrame (``ParsedLog.markers``) or ready labels (a Series); without it a
    ``phase`` column is used if present. Groups keep their first-seen order
    (time order for buckets, :data:`~wslab.logs.parsing.fields.KINDS` order for kinds);
    only groups that hold requests are listed.
    """
    key = _group_key(requests, by, phases, freq).rename(by)
    grouped = requests["server_error"].astype(bool).groupby(key, sort=by in TIME_GROUPINGS, dropna=True)
    table = pd.DataFrame({"requests": grouped.size(), "server_errors": grouped.sum().astype(int)})
    table["error_rate"] = table["server_errors"] / table["requests"]
    low, high = wilson_interval(table["server_errors"], table["requests"])
    table["ci_low"], table["ci_high"] = low.clip(0, 1), high.clip(0, 1)
    # The bounds are exact at the ends (0 for 0/n, 1 for n/n); floating point leaves ~1e-17.
    table.loc[table["server_errors"] == 0, "ci_low"] = 0.0
    table.loc[table["server_errors"] == table["requests"], "ci_high"] = 1.0
    table = table.reset_index()
    if by == "kind":
        table = _in_kind_order(table)
    table.attrs["definition"] = ERROR_RATE_DEFINITION
    return table
