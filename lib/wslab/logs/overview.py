"""Your own log in one call: are we affected, how much, since when, and did a deploy change it.

:func:`analyze_log` reads a Werkzeug, gunicorn or nginx log (found as given, else
under the kit's folder, see :func:`wslab.logs.inputs.locate_log`) and returns a
:class:`LogOverview`: the ``wslab analyze --json`` summary, the error rate per
kind of request, per time bucket and before/after each deploy, the first and last
5xx line, and :meth:`LogOverview.chart`, the chart ``wslab analyze --plot`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from wslab.errors import WslabError
from wslab.logs.buckets import AUTO, bucket_for, bucket_label
from wslab.model.kinds import RequestKind
from wslab.logs.formats import AUTO as AUTO_FORMAT
from wslab.logs.inputs import check_log_file, require_requests, shown_path
from wslab.logs.metrics import assign_phases, error_rate_table, parse_deploys
from wslab.logs.parser import ParsedLog, parse_log
from wslab.logs.summary import WRITE_BEFORE_START_RESPONSE, summarize


@dataclass
class LogOverview:
    """What :func:`analyze_log` found in one log; every table carries ``attrs["definition"]``."""

    #: The file that was read (as given, or under the kit's folder).
    path: Path
    parsed: ParsedLog
    #: The ``wslab analyze --json`` dictionary.
    summary: dict[str, Any]
    #: The width of :attr:`over_time`'s buckets.
    bucket: pd.Timedelta
    #: Requests, 5xx, error rate and 95 % interval per kind of request.
    by_kind: pd.DataFrame
    #: The same per time bucket (``time`` is the bucket's start); buckets without requests are left out.
    over_time: pd.DataFrame
    #: The deploy instants, in time order.
    deploy_at: list[pd.Timestamp] = field(default_factory=list)
    #: The deploys' names, in the same order, when they were given names; else ``None``.
    deploy_names: list[str] | None = None
    #: The same per phase around the deploys (``phase 0`` before the first..., or
    #: ``before <name>``, ``after <name>`` for named deploys), else ``None``.
    before_after: pd.DataFrame | None = None

    @property
    def affected(self) -> bool:
        """Whether the log shows the incident: a ``write() before start_response`` traceback,
        or a 5xx line on a direct WebSocket request."""
        direct = self.by_kind[self.by_kind["kind"] == RequestKind.DIRECT_WEBSOCKET]
        return bool(self.summary["write_before_start_response"]) or bool(direct["server_errors"].sum())

    @property
    def first_server_error(self) -> pd.Timestamp | None:
        """The time of the first 5xx request line (``None`` when there is none)."""
        times = self._server_error_times()
        return times.min() if len(times) else None

    @property
    def last_server_error(self) -> pd.Timestamp | None:
        """The time of the last 5xx request line (``None`` when there is none)."""
        times = self._server_error_times()
        return times.max() if len(times) else None

    def _server_error_times(self) -> pd.Series:
        requests = self.parsed.requests
        return requests.loc[requests["server_error"].astype(bool), "ts"].dropna()

    def headline(self) -> str:
        """One paragraph: affected or not, how much, since when, and around each deploy."""
        s = self.summary
        rate = "n/a" if s["error_rate"] is None else f"{s['error_rate']:.2%}"
        lines = [
            f"{shown_path(self.path)}: {s['request_lines']} request lines, {s['server_errors']} 5xx ({rate}); "
            f"{s['write_before_start_response']} '{WRITE_BEFORE_START_RESPONSE}' tracebacks.",
            ("Affected: " if self.affected else "Not affected: ")
            + _direct_text(self.by_kind)
            + ".",
        ]
        if self.first_server_error is not None:
            lines.append(f"5xx lines from {self.first_server_error} to {self.last_server_error}.")
        if self.before_after is not None:
            parts = [
                f"{row.phase}: {row.server_errors}/{row.requests} ({row.error_rate:.2%})"
                for row in self.before_after.itertuples()
            ]
            lines.append("Around the deploys: " + "; ".join(parts) + ".")
        return "\n".join(lines)

    def chart(self, title: str | None = None) -> Figure:
        """The error rate per bucket over the request and 5xx counts, each deploy marked
        (:func:`wslab.logs.charts.plot_log_over_time`)."""
        from wslab.logs.charts import plot_log_over_time

        requests = self.parsed.requests
        return plot_log_over_time(requests, bucket=self.bucket, deploy_at=self.deploy_at, title=title,
                                  deploy_names=self.deploy_names)


def _direct_text(by_kind: pd.DataFrame) -> str:
    direct = by_kind[by_kind["kind"] == RequestKind.DIRECT_WEBSOCKET]
    if direct.empty:
        return "no direct WebSocket requests in the log"
    errors, total = int(direct["server_errors"].iloc[0]), int(direct["requests"].iloc[0])
    return f"{errors} of {total} direct WebSocket requests ended in a 5xx line"


def analyze_log(
    your_log: str | Path,
    deploy_at: Any = None,
    bucket: Any = AUTO,
    format: str = AUTO_FORMAT,  # noqa: A002
) -> LogOverview:
    """Read *your_log* and measure it the way ``wslab analyze`` does.

    *your_log* is a path, absolute or relative to the current folder, else
    relative to the kit's folder (so ``data/logs/before.log`` works from
    ``notebooks/``). *deploy_at* is one instant or several (the CLI's
    ``--phase-at``; text such as ``2025-09-01T13:05:00``), or named deploys
    (``{"guard": "2025-09-01T13:05:00"}`` or text ``guard=2025-...``, see
    :func:`wslab.logs.metrics.parse_deploys`): the before/after table and the
    chart use them, each deploy under its name. *bucket* is the width of the time buckets (seconds,
    ``"5min"``, or ``"auto"``: chosen from the log's span, see
    :func:`wslab.logs.buckets.choose_bucket`); *format* is ``"auto"`` or a format
    name. A missing file, a directory, an empty or binary file, or a log without
    request lines raises :class:`~wslab.errors.WslabError` with the one line
    ``wslab analyze`` prints (see :mod:`wslab.logs.inputs`).
    """
    path = check_log_file(your_log)
    instants, names = parse_deploys(deploy_at)
    parsed = parse_log(path, format=format)
    summary = summarize(parsed)
    require_requests(summary, parsed.formats, parsed.binary, format)
    if not summary["request_lines"]:  # a gunicorn error log: nothing to rate
        raise WslabError(f"{path}: a gunicorn error log holds no request lines; give its access log", 1)
    requests = parsed.requests
    width = bucket_for(requests["ts"], bucket)
    summary["bucket_seconds"] = width.total_seconds()
    over_time = error_rate_table(requests.dropna(subset=["ts"]), by="time", freq=width)
    over_time.attrs["bucket"] = bucket_label(width)
    before_after = None
    if instants:
        phases = assign_phases(requests, phase_at=instants, names=names)
        before_after = error_rate_table(requests, by="phase", phases=phases)
    return LogOverview(
        path=path,
        parsed=parsed,
        summary=summary,
        bucket=width,
        by_kind=error_rate_table(requests, by="kind"),
        over_time=over_time,
        deploy_at=instants,
        deploy_names=names,
        before_after=before_after,
    )
