"""Error-rate charts (matplotlib): over time with phases and fixes, and per group.

The functions build a :class:`matplotlib.figure.Figure` without pyplot, so they
work with no display (Agg) and show inline when a notebook cell returns them;
save one with ``fig.savefig("rate.png", dpi=150)``. Every chart states the
error-rate definition in its subtitle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from wslab.logs.metrics import error_rate_table
from wslab.logs.stats import ERROR_RATE_DEFINITION

PHASE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
#: The colour of a server error or any other failure, in every chart of the kit.
FAILED_COLOUR = "#c0392b"
RATE_COLOUR = FAILED_COLOUR


def _titles(fig: Figure, title: str) -> None:
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.905, ERROR_RATE_DEFINITION, fontsize=9, color="#555555", ha="left")


def _phase_spans(requests: pd.DataFrame, phases: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"ts": requests["ts"], "phase": phases}).dropna()
    runs = (frame["phase"] != frame["phase"].shift()).cumsum()
    return frame.groupby(runs).agg(phase=("phase", "first"), start=("ts", "min"), end=("ts", "max"))


def plot_rate_over_time(
    requests: pd.DataFrame,
    freq: str = "1min",
    phases: pd.Series | None = None,
    fixes: Sequence[tuple[Any, str]] = (),
    title: str = "Server error rate over time",
) -> Figure:
    """Error rate per *freq* bucket with its 95 % band, shaded *phases* and *fixes* lines.

    *phases* gives each request's phase label (see
    :func:`wslab.logs.metrics.assign_phases`); *fixes* are ``(instant, label)``
    pairs drawn as dashed vertical lines.
    """
    table = error_rate_table(requests.dropna(subset=["ts"]), by="minute", freq=freq)
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.88))
    ax = fig.add_subplot()
    x = table["minute"]
    ax.fill_between(
        x, table["ci_low"], table["ci_high"], color=RATE_COLOUR, alpha=0.18, label="95 % interval"
    )
    ax.plot(x, table["error_rate"], color=RATE_COLOUR, marker="o", markersize=3, label="error rate")
    if phases is not None:
        for i, span in enumerate(_phase_spans(requests, phases).itertuples()):
            colour = PHASE_COLOURS[i % len(PHASE_COLOURS)]
            ax.axvspan(span.start, span.end, color=colour, alpha=0.10)
            ax.text(
                span.start,
                1.0,
                f" {span.phase}",
                transform=ax.get_xaxis_transform(),
                va="top",
                fontsize=9,
                color=colour,
            )
    for instant, label in fixes:
        ax.axvline(pd.Timestamp(instant), color="#333333", linestyle="--", linewidth=1)
        ax.text(
            pd.Timestamp(instant),
            0.92,
            f" {label}",
            transform=ax.get_xaxis_transform(),
            fontsize=9,
            rotation=0,
        )
    ax.set_ylim(0, max(0.05, float(table["ci_high"].max() if len(table) else 0) * 1.1))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"time (buckets of {freq})")
    ax.set_ylabel("error rate (% of request lines)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    _titles(fig, title)
    return fig


def plot_rate_by_group(
    requests_or_table: pd.DataFrame,
    by: str = "phase",
    phases: Any = None,
    title: str | None = None,
) -> Figure:
    """One bar per group (phase, variant, transport...) with its 95 % interval and ``k/n`` label.

    Takes request rows (grouped with :func:`~wslab.logs.metrics.error_rate_table`)
    or a table that function returned.
    """
    table = requests_or_table
    if "server_error" in table:
        table = error_rate_table(table, by=by, phases=phases)
    fig = Figure(figsize=(max(6, 1.3 * len(table) + 3), 4.8), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.88))
    ax = fig.add_subplot()
    labels = table[by].astype(str)
    rates = table["error_rate"]
    errors = [(rates - table["ci_low"]).clip(lower=0), (table["ci_high"] - rates).clip(lower=0)]
    colours = [PHASE_COLOURS[i % len(PHASE_COLOURS)] for i in range(len(table))]
    ax.bar(labels, rates, yerr=errors, capsize=6, color=colours, alpha=0.85)
    for x, (rate, high, k, n) in enumerate(
        zip(rates, table["ci_high"], table["server_errors"], table["requests"], strict=True)
    ):
        ax.annotate(
            f"{rate:.1%}\n{k}/{n}",
            (x, high),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    ax.set_ylim(0, max(0.05, float(table["ci_high"].max() if len(table) else 0) * 1.25))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(by)
    ax.set_ylabel("error rate (% of request lines)")
    ax.grid(axis="y", alpha=0.3)
    _titles(fig, title or f"Server error rate by {by} (bars: 95 % Wilson interval)")
    return fig
