"""Your own log in one call: are we affected, how much, since when, and did a deploy change it.

:func:`analyze_log` reads a Werkzeug, gunicorn or nginx log (found as given, else
under the kit's folder, see :func:`wslab.logs.inputs.locate_log`) with the
pipeline ``wslab analyze`` runs (:func:`wslab.logs.analysis.pipeline.analyze`) and
returns a :class:`LogOverview`: the ``wslab analyze --json`` summary, the error
rate per kind of request, per time bucket and before/after each deploy, the first
and last 5xx line, and :meth:`LogOverview.chart`, the chart ``wslab analyze --plot`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from wslab.errors import WslabError
from wslab.logs.analysis.buckets import AUTO
from wslab.logs.analysis.pipeline import Analysis, analyze
from wslab.logs.formats import AUTO as AUTO_FORMAT
from wslab.logs.inputs import check_log_file, shown_path
from wslab.logs.parsing.parser import ParsedLog
from wslab.logs.scanning.tally import WRITE_BEFORE_START_RESPONSE
from wslab.model.kinds import RequestKind


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

    @classmethod
    def of(cls, path: Path, analysis: Analysis) -> LogOverview:
        """The overview of the parsed *analysis* of the log at *path*."""
        return cls(
            path=path,
            parsed=analysis.parsed,  # type: ignore[arg-type]
            summary={**analysis.summary, "bucket_seconds": analysis.bucket.total_seconds()},
            bucket=analysis.bucket,
            by_kind=analysis.table("kind"),
            over_time=analysis.table("time"),
            deploy_at=analysis.deploy_at,
            deploy_names=analysis.deploy_names,
            before_after=analysis.table("phase") if analysis.deploy_at else None,
        )

    def chart(self, title: str | None = None) -> Figure:
        """The error rate per bucket over the request and 5xx counts, each deploy marked
        (:func:`wslab.logs.analysis.charts.plot_log_over_time`)."""
        from wslab.logs.analysis.charts import plot_log_over_time

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
    :func:`wslab.logs.analysis.metrics.parse_deploys`): the before/after table and the
    chart use them, each deploy under its name. *bucket* is the width of the time buckets (seconds,
    ``"5min"``, or ``"auto"``: chosen from the log's span, see
    :func:`wslab.logs.analysis.buckets.choose_bucket`); *format* is ``"auto"`` or a format
    name. A missing file, a directory, an empty or binary file, or a log without
    request lines raises :class:`~wslab.errors.WslabError` with the one line
    ``wslab analyze`` prints (see :mod:`wslab.logs.inputs` and
    :mod:`wslab.logs.analysis.pipeline`).
    """
    path = check_log_file(your_log)
    analysis = analyze([path], format=format, deploy_at=deploy_at, bucket=bucket)
    if not analysis.summary["request_lines"]:  # a gunicorn error log: nothing to rate
        raise WslabError(f"{path}: a gunicorn error log holds no request lines; give its access log", 1)
    return LogOverview.of(path, analysis)
