"""The chart of notebook 02: what the write-up's fix changed, in two counts per variant.

Both counts are one-to-one and deterministic for a given workload (each direct
WebSocket logs a 500 or not; each connect handler saw the signed-in user or
not), so they are drawn as ``k/n`` bars without intervals.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from wslab.logs import FAILED_COLOUR, OK_COLOUR
from wslab.model.kinds import RequestKind

#: The row of the per-kind table that holds the direct WebSocket requests.
DIRECT_KIND = RequestKind.DIRECT_WEBSOCKET


def plot_writeup_fix(by_kind: pd.DataFrame, sessions: pd.DataFrame,
                     title: str = "What did the write-up's fix change?") -> Figure:
    """Left: direct WebSockets that logged a 500, per variant. Right: Socket.IO users whose
    connect handler saw the signed-in user.

    *by_kind* is indexed by (variant, kind) with ``requests`` and ``server_errors``
    (:func:`wslab.study.incident.writeup_fix.log_counts_by_kind`); *sessions* by variant
    with ``socketio_users`` and ``connect_handler_saw_user``
    (:func:`wslab.study.incident.writeup_fix.handler_sessions`).
    """
    variants = list(sessions.index)
    direct = by_kind.xs(DIRECT_KIND, level="kind").reindex(variants)
    panels = (
        ("direct WebSockets that logged a 500", direct["server_errors"], direct["requests"], FAILED_COLOUR),
        ("Socket.IO users whose connect handler\nsaw the signed-in user",
         sessions["connect_handler_saw_user"], sessions["socketio_users"], OK_COLOUR),
    )
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.9))
    for ax, (label, hits, totals, colour) in zip(fig.subplots(1, 2), panels, strict=True):
        shares = [int(k) / int(n) if int(n) else 0.0 for k, n in zip(hits, totals, strict=True)]
        ax.bar(variants, shares, color=colour, width=0.6)
        for x, (k, n, share) in enumerate(zip(hits, totals, shares, strict=True)):
            ax.annotate(f"{int(k)}/{int(n)}", (x, share), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=11, fontweight="bold")
        ax.set_ylim(0, 1.15)
        ax.set_yticks([0, 0.5, 1.0], ["0", "half", "all"])
        ax.set_title(label, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    return fig
