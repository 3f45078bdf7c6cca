"""Error-rate charts (matplotlib): over time with phases and fixes, per group, and one log's story.

The functions build a :class:`matplotlib.figure.Figure` without pyplot, so they
work with no display (Agg) and show inline when a notebook cell returns them;
save one with ``fig.savefig("rate.png", dpi=150)``. Every chart states the
error-rate definition in its subtitle. :func:`plot_log_over_time` is the chart of
a production log: the rate per time bucket as bars over the request and 5xx
counts, with each deploy marked.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from wslab.logs.analysis.buckets import AUTO, bucket_for, bucket_label
from wslab.logs.analysis.metrics import assign_phases, error_rate_table, parse_deploys, phase_labels
from wslab.logs.stats import ERROR_RATE_DEFINITION

#: The colour of a server error or any other failure, in every chart of the kit.
FAILED_COLOUR = "#c0392b"
#: Bars of groups without any failure.
OK_COLOUR = "#7f8c9a"
#: The colour of all request lines, beside the failed ones.
REQUEST_COLOUR = "#9aa5b1"
DEPLOY_COLOUR = "#222222"
#: The share of its bucket a bar is wide, so neighbouring buckets stay apart.
BAR_FILL = 0.9


def _titles(fig: Figure, title: str) -> None:
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.905, ERROR_RATE_DEFINITION, fontsize=9, color="#555555", ha="left")


def plot_rate_by_group(
    requests_or_table: pd.DataFrame,
    by: str = "phase",
    phases: Any = None,
    title: str | None = None,
) -> Figure:
    """One bar per group (phase, variant, transport...) with its 95 % interval and ``k/n`` label.

    Takes request rows (grouped with :func:`~wslab.logs.analysis.metrics.error_rate_table`)
    or a table that function returned.
    """
    table = requests_or_table
    if "server_error" in table:
        table = error_rate_table(table, by=by, phases=phases)
    fig = Figure(figsize=(max(6, 1.5 * len(table) + 3), 4.8), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.88))
    ax = fig.add_subplot()
    labels = [textwrap.fill(str(label), 16) for label in table[by]]
    rates = table["error_rate"]
    errors = [(rates - table["ci_low"]).clip(lower=0), (table["ci_high"] - rates).clip(lower=0)]
    failed = table["server_errors"] > 0
    colours = [FAILED_COLOUR if bad else OK_COLOUR for bad in failed]
    ax.bar(labels, rates, yerr=errors, capsize=6, color=colours, ecolor="#333333")
    top = min(1.0, max(0.05, float(table["ci_high"].max() if len(table) else 0) * 1.25))
    for x, (rate, high, k, n) in enumerate(
        zip(rates, table["ci_high"], table["server_errors"], table["requests"], strict=True)
    ):
        inside = high > 0.8 * top  # no room above the interval: write the label inside the bar
        ax.annotate(
            f"{rate:.1%}\n{k}/{n}",
            (x, rate if inside else high),
            xytext=(0, -4 if inside else 4),
            textcoords="offset points",
            ha="center",
            va="top" if inside else "bottom",
            fontsize=9,
            color="white" if inside and rate > 0.15 else "black",
            fontweight="bold" if inside else "normal",
        )
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(by)
    ax.set_ylabel("error rate (% of request lines)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=[Patch(color=FAILED_COLOUR, label="has 5xx lines"), Patch(color=OK_COLOUR, label="no 5xx lines"),
                       Line2D([], [], color="#333333", label="95 % interval")],
              loc="upper left", bbox_to_anchor=(0, 1.02, 1, 0.1), ncol=3, frameon=False, fontsize=8,
              borderaxespad=0)
    _titles(fig, title or f"Which {by} gets the server errors (5xx)?")
    return fig


def _percent_text(errors: int, total: int) -> str:
    return f"{errors / total:.2%} ({errors}/{total})" if total else "no requests"


def _instant_text(instant: pd.Timestamp) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S")


def log_chart_title(deploys: Sequence[pd.Timestamp], names: Sequence[str] | None = None) -> str:
    """The question :func:`plot_log_over_time` answers, naming the deploys it was given
    (by *names* when given, else by their instants)."""
    if not deploys:
        return "When did the server errors (5xx) happen?"
    if names:
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"Did the 5xx error rate change after {listed}?"
    if len(deploys) == 1:
        return f"Did the 5xx error rate change after the deploy at {_instant_text(deploys[0])}?"
    return f"Did the 5xx error rate change after the deploys at {', '.join(map(_instant_text, deploys))}?"


def _phase_summary(requests: pd.DataFrame, deploys: Sequence[pd.Timestamp],
                   names: Sequence[str] | None = None) -> str:
    """``before: 4.00% (20/500) · after: 0.00% (0/300)`` for the requests around the deploys
    (``before guard: ... · after guard: ...`` for named ones)."""
    labels = phase_labels(deploys, names or None)
    table = error_rate_table(requests, by="phase", phases=assign_phases(requests, deploys, names=names or None))
    table = table.set_index("phase")
    shown = labels if names else (["before", "after"] if len(deploys) == 1 else labels)
    parts = []
    for label, name in zip(labels, shown):
        row = table.loc[label] if label in table.index else None
        total = 0 if row is None else int(row["requests"])
        errors = 0 if row is None else int(row["server_errors"])
        parts.append(f"{name}: {_percent_text(errors, total)}")
    return " \u00b7 ".join(parts)


def _mark_deploys(rate_ax: Axes, count_ax: Axes, deploys: Sequence[pd.Timestamp],
                  names: Sequence[str] | None = None) -> None:
    """One labelled vertical line per deploy on the rate panel, and the same line on the counts panel."""
    for i, instant in enumerate(deploys):
        x = mdates.date2num(instant)
        if names:
            label = names[i]
        else:
            label = "deploy" if len(deploys) == 1 else f"deploy {i + 1}"
        for ax in (rate_ax, count_ax):
            ax.axvline(x, color=DEPLOY_COLOUR, linestyle="--", linewidth=1.2)
        rate_ax.annotate(
            f" {label}: {_instant_text(instant)}",
            (x, 0.97 - 0.09 * (i % 4)),
            xycoords=("data", "axes fraction"),
            va="top",
            ha="left",
            fontsize=9,
            color=DEPLOY_COLOUR,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )


#: Legends sit above their panel's right corner, off the bars.
_LEGEND: dict[str, Any] = {
    "loc": "lower right", "bbox_to_anchor": (1.0, 1.0), "ncol": 2, "fontsize": 9, "frameon": False,
    "borderaxespad": 0.2,
}
#: Steps, in seconds, of the ticks of a chart that spans a minute or less.
_SECOND_STEPS = (1, 2, 5, 10, 15, 30)
_MAX_TICKS = 8


def _time_locator(limits: tuple[float, float]) -> mdates.DateLocator:
    """Ticks on whole seconds for a span of up to a minute (never fractions of the 1 s buckets),
    else matplotlib's automatic choice of minutes, hours, days or months."""
    seconds = (limits[1] - limits[0]) * 86400
    if seconds <= 60:
        step = next((s for s in _SECOND_STEPS if seconds / s <= _MAX_TICKS), 30)
        return mdates.SecondLocator(bysecond=range(0, 60, step))
    return mdates.AutoDateLocator(maxticks=_MAX_TICKS + 2)


def _date_formatter(locator: mdates.DateLocator) -> mdates.ConciseDateFormatter:
    """Dates as short as the span allows (year, month, day, time), with the rest in the offset;
    ticks seconds apart read as full ``hh:mm:ss`` times."""
    return mdates.ConciseDateFormatter(
        locator,
        formats=["%Y", "%b", "%d", "%H:%M", "%H:%M", "%H:%M:%S"],
        zero_formats=["", "%Y", "%b", "%b-%d", "%H:%M", "%H:%M:%S"],
        offset_formats=["", "%Y", "%Y-%b", "%Y-%b-%d", "%Y-%b-%d", "%Y-%b-%d"],
    )


def plot_log_over_time(
    requests: pd.DataFrame,
    bucket: Any = AUTO,
    deploy_at: Any = None,
    title: str | None = None,
    deploy_names: Sequence[str] | None = None,
) -> Figure:
    """Error rate per time bucket as bars, over a panel of request and 5xx counts; deploys marked.

    *requests* are parsed request rows (``ParsedLog.requests``); rows without a
    time are left out. *bucket* is a width (seconds, ``"5min"``...) or ``"auto"``
    (see :func:`wslab.logs.analysis.buckets.bucket_for`). Each bucket that holds request
    lines gets one bar centred on it (its Wilson 95 % interval as a thin line);
    a bucket with no request lines gets none, so a gap in the log is a gap in
    the chart. *deploy_at* (one instant or several, or named deploys, see
    :func:`wslab.logs.analysis.metrics.parse_deploys`) draws one labelled dashed line per
    deploy on both panels (labelled with *deploy_names*, in time order, when given),
    and the subtitle gives the error rate before and after.
    The title asks the question the chart answers (:func:`log_chart_title`).
    """
    timed = requests.dropna(subset=["ts"])
    width = bucket_for(timed["ts"], bucket)
    deploys, named = parse_deploys(deploy_at)
    deploy_names = named if deploy_names is None else deploy_names
    table = error_rate_table(timed, by="time", freq=width)
    fig = Figure(figsize=(11, 6.6), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.89))
    rate_ax, count_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    days = width.total_seconds() / 86400
    centres = mdates.date2num((table["time"] + width / 2).to_numpy()) if len(table) else []
    bar_width = days * BAR_FILL
    rate_ax.bar(centres, table["error_rate"], width=bar_width, color=FAILED_COLOUR, label="error rate")
    rate_ax.vlines(
        centres, table["ci_low"], table["ci_high"], color="#555555", linewidth=0.8, label="95 % interval"
    )
    count_ax.bar(centres, table["requests"], width=bar_width, color=REQUEST_COLOUR, label="request lines")
    count_ax.bar(centres, table["server_errors"], width=bar_width, color=FAILED_COLOUR, label="5xx lines")
    if deploy_names is not None and len(deploy_names) != len(deploys):
        raise ValueError(f"{len(deploy_names)} deploy names for {len(deploys)} deploys")
    _mark_deploys(rate_ax, count_ax, deploys, deploy_names)
    top = float(table["ci_high"].max()) if len(table) else 0.0
    rate_ax.set_ylim(0, max(0.05, top * 1.15))
    rate_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    rate_ax.set_ylabel("error rate\n(% of request lines)")
    rate_ax.legend(**_LEGEND)
    count_ax.set_ylabel(f"lines per {bucket_label(width)}")
    count_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    count_ax.legend(**_LEGEND)
    if len(table):
        start = mdates.date2num(table["time"].iloc[0])
        end = mdates.date2num(table["time"].iloc[-1] + width)
        marks = [mdates.date2num(d) for d in deploys]
        low, high = min([start, *marks]), max([end, *marks])
        pad = max(days, (high - low) * 0.01)
        count_ax.set_xlim(low - pad, high + pad)
    locator = _time_locator(count_ax.get_xlim())
    count_ax.xaxis.set_major_locator(locator)
    count_ax.xaxis.set_major_formatter(_date_formatter(locator))
    count_ax.set_xlabel(f"time (buckets of {bucket_label(width)}; a gap: no request lines logged)")
    for ax in (rate_ax, count_ax):
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or log_chart_title(deploys, deploy_names), fontsize=13, fontweight="bold", x=0.01, ha="left")
    subtitle = ERROR_RATE_DEFINITION
    if deploys:
        subtitle += "; " + _phase_summary(timed, deploys, deploy_names)
    fig.text(0.01, 0.915, subtitle, fontsize=9, color="#555555", ha="left")
    return fig
