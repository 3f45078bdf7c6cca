"""Charts of the factor matrix's rows (:mod:`wslab.study.versions.matrix`): outcomes and sessions.

Rows are :class:`wslab.model.records.MatrixRow` s, or the dicts ``matrix.json``
holds (read as such rows).  Each function answers one question, in its title, and returns a
:class:`matplotlib.figure.Figure` built without pyplot.  Counts are drawn as
they were measured, ``k/n`` on the bars; a server error is always drawn in
:data:`wslab.logs.FAILED_COLOUR`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from wslab.logs import FAILED_COLOUR
from wslab.model.records import MatrixRow

#: A matrix row, typed or as ``matrix.json`` holds it.
Row = MatrixRow | Mapping[str, Any]

#: Segments of an outcome bar, in drawing order: (count key, label, colour).
SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("status_500", "500 (server error)", FAILED_COLOUR),
    ("status_101", "101 (handshake logged)", "#2e7d32"),
    ("status_200", "200", "#81c784"),
    ("not_logged", "no line of its own", "#b0b0b0"),
)


def _typed(rows: Sequence[Row]) -> list[MatrixRow]:
    return [r if isinstance(r, MatrixRow) else MatrixRow.from_dict(r) for r in rows]


def _label(row: MatrixRow) -> str:
    return f"{row.cell} · {row.variant}"


def plot_outcomes(rows: Sequence[Row], kind: str = "direct",
                  title: str = "How does each direct WebSocket end, cell by cell?") -> Figure:
    """One horizontal bar per row, split by how its *kind* connections ended.

    *kind* is ``direct`` or ``upgrade``.  Statuses other than those in
    :data:`SEGMENTS` are left white; the ``400`` lines left-over bytes produced
    are written at the end of each bar, since they come on top of a connection's
    own outcome.
    """
    rows = _typed(rows)
    fig = Figure(figsize=(9.5, 0.42 * len(rows) + 1.9), layout="constrained")
    ax = fig.add_subplot()
    labels = [_label(r) for r in rows]
    positions = list(range(len(rows)))[::-1]
    shown: set[str] = set()
    for row, y in zip(rows, positions):
        counts = row.counts[kind]
        total, left = counts["connections"], 0
        for key, name, colour in SEGMENTS:
            k = counts.get(key, 0)
            if not k:
                continue
            ax.barh(y, k, left=left, color=colour, edgecolor="white",
                    label=None if name in shown else name)
            shown.add(name)
            ax.text(left + k / 2, y, f"{k}/{total}", ha="center", va="center", fontsize=8,
                    color="white" if key in ("status_500", "status_101") else "black")
            left += k
        extra = counts.get("status_400", 0)
        if extra:
            ax.text(total + 0.1, y, f"+ 400 lines: {extra}/{total}", va="center", fontsize=8)
    ax.set_yticks(positions, labels, fontsize=8)
    widest = max((r.counts[kind]["connections"] for r in rows), default=1)
    ax.set_xlim(0, widest * 1.45)
    ax.set_xlabel(f"{kind} WebSocket connections")
    handles, names = ax.get_legend_handles_labels()
    order = [name for _, name, _ in SEGMENTS if name in names]  # the same order in every chart
    ax.legend([handles[names.index(n)] for n in order], order, loc="lower right", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title, fontsize=11)
    return fig


def plot_session_visibility(rows: Sequence[Row],
                            title: str = "Do Socket.IO connect handlers see the signed-in user?") -> Figure:
    """One bar per row: how many connect handlers saw the user signed in over HTTP (k/n)."""
    rows = _typed(rows)
    fig = Figure(figsize=(7.5, 0.42 * len(rows) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(rows)))[::-1]
    for row, y in zip(rows, positions):
        seen, total = row.session_visible_in_handler, row.socketio_users
        ax.barh(y, total, color="#eeeeee", edgecolor="#999999")
        ax.barh(y, seen, color="#2e7d32" if seen == total else FAILED_COLOUR)
        ax.text(total + 0.1, y, f"{seen}/{total}", va="center", fontsize=8)
    ax.set_yticks(positions, [_label(r) for r in rows], fontsize=8)
    widest = max((r.socketio_users for r in rows), default=1)
    ax.set_xlim(0, widest * 1.2)
    ax.set_xlabel("Socket.IO connections whose connect handler saw the signed-in user")
    ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title, fontsize=11)
    return fig
