"""One pipeline from log files to measurements: what ``wslab analyze`` and :func:`wslab.logs.analyze_log` run.

:func:`analyze` reads each source once (:func:`~wslab.logs.reading.opened.open_log`:
one open, one format detection, one look at whether it is text), either streamed
into counts with flat memory or parsed into request rows, and checks that the
logs hold something to analyze. The :class:`Analysis` it returns gives the
``--json`` summary, the error rate per group and the chart.

Errors, each one :class:`~wslab.errors.WslabError` line with exit code 1: a
source that starts with binary data (a compressed format other than gzip
included) and no request line fails as it is opened, before anything is scanned;
logs without any line, or without request lines of the format they were read in,
fail once read (a gunicorn error log, which holds no request lines, needs only
hold lines).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from wslab.errors import WslabError
from wslab.logs.analysis.buckets import AUTO as AUTO_BUCKET
from wslab.logs.analysis.buckets import bucket_for, bucket_label
from wslab.logs.formats import AUTO, FORMATS
from wslab.logs.reading.sniff import NOTHING_EXIT
from wslab.logs.reading.sources import Source
from wslab.logs.scanning.stream import scan_tally

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from wslab.logs.parsing.parser import ParsedLog

#: Groupings drawn as the rate over time (``None``: no grouping); the others as one bar per group.
TIME_CHARTS = (None, "minute", "time")


def require_requests(summary: Mapping[str, Any], formats: Sequence[str], format: str = AUTO) -> None:  # noqa: A002
    """Fail (exit code 1) for logs with nothing to analyze: no lines, or no request lines
    in the format they were read in. A gunicorn error log, which holds no request lines,
    needs only hold lines.

    *summary* is the ``--json`` dictionary, *formats* the format each file was read
    in and *format* the format asked for (``"auto"``: detected).
    """
    files = ", ".join(summary["files"])
    if summary["lines"] == 0:
        raise WslabError(f"{files}: empty, no log lines to analyze", exit_code=NOTHING_EXIT)
    if summary["request_lines"] or (formats and all(FORMATS[f].request is None for f in formats)):
        return
    sample = (
        f"; first unparsed line: {summary['unparsed_samples'][0]!r}" if summary["unparsed_samples"] else ""
    )
    labels = " or ".join(dict.fromkeys(FORMATS[f].label for f in formats if FORMATS[f].request is not None))
    found = (
        f"no {labels or 'Werkzeug'} request lines among {summary['lines']} lines "
        f"({summary['unparsed_lines']} unparsed{sample})"
    )
    if format == AUTO:
        known = ", ".join(FORMATS)
        raise WslabError(f"{files}: unknown log format, {found}; formats read: {known}", exit_code=NOTHING_EXIT)
    raise WslabError(f"{files}: {found} (read as --format {format})", exit_code=NOTHING_EXIT)


@dataclass
class Analysis:
    """What :func:`analyze` found in one or more logs."""

    #: The ``wslab analyze --json`` dictionary (:meth:`~wslab.logs.scanning.tally.Tally.as_dict`).
    summary: dict[str, Any]
    #: The format each of ``summary["files"]`` was read in.
    formats: list[str]
    #: The parsed rows; ``None`` when the logs were streamed (``rows=False``).
    parsed: ParsedLog | None = None
    #: The deploy instants, in time order.
    deploy_at: list[pd.Timestamp] = field(default_factory=list)
    #: The deploys' names, in the same order, when they were given names; else ``None``.
    deploy_names: list[str] | None = None
    #: The time-bucket width asked for: seconds, pandas offset text or ``"auto"``.
    bucket_option: Any = AUTO_BUCKET

    @property
    def requests(self) -> pd.DataFrame:
        """The request rows (``parsed.requests``); the logs must have been parsed."""
        if self.parsed is None:
            raise ValueError("the logs were streamed, not parsed: analyze them with rows=True")
        return self.parsed.requests

    @cached_property
    def bucket(self) -> pd.Timedelta:
        """The width of the time buckets: :attr:`bucket_option`, or chosen from the requests' span."""
        return bucket_for(self.requests["ts"], self.bucket_option)

    @property
    def grouping(self) -> str | None:
        """The grouping shown when none is asked for: ``phase`` when there are deploys or
        phase markers, else none."""
        return "phase" if self.deploy_at or not self.parsed.markers.empty else None  # type: ignore[union-attr]

    def phases(self) -> pd.Series:
        """The phase of every request: around the deploys when there are any, else from the
        phase markers (see :func:`~wslab.logs.analysis.metrics.assign_phases`)."""
        from wslab.logs.analysis.metrics import assign_phases

        markers = self.parsed.markers  # type: ignore[union-attr]
        return assign_phases(self.requests, phase_at=self.deploy_at, markers=markers, names=self.deploy_names)

    def table(self, by: str) -> pd.DataFrame:
        """Requests, 5xx, error rate and 95 % interval per group *by*
        (:func:`~wslab.logs.analysis.metrics.error_rate_table`): ``phase``, ``minute``,
        ``time`` (buckets of :attr:`bucket`; buckets without requests are left out, and
        ``attrs["bucket"]`` names the width), ``kind``, ``transport`` or ``route``."""
        from wslab.logs.analysis.metrics import error_rate_table

        requests = self.requests
        if by == "time":
            table = error_rate_table(requests.dropna(subset=["ts"]), by="time", freq=self.bucket)
            table.attrs["bucket"] = bucket_label(self.bucket)
            return table
        phases = self.phases() if by == "phase" else None
        return error_rate_table(requests, by=by, phases=phases)

    def chart(self, by: str | None = None, title: str | None = None) -> Figure:
        """The chart of grouping *by*: for ``None``, ``minute`` and ``time`` the error rate per
        bucket over the request and 5xx counts with each deploy marked
        (:func:`~wslab.logs.analysis.charts.plot_log_over_time`); for the others one bar
        per group (:func:`~wslab.logs.analysis.charts.plot_rate_by_group`)."""
        from wslab.logs.analysis.charts import plot_log_over_time, plot_rate_by_group

        if by in TIME_CHARTS:
            return plot_log_over_time(self.requests, bucket=self.bucket, deploy_at=self.deploy_at, title=title,
                                      deploy_names=self.deploy_names)
        return plot_rate_by_group(self.table(by), by=by, title=title)  # type: ignore[arg-type]


def analyze(
    sources: Sequence[Source],
    format: str = AUTO,  # noqa: A002
    deploy_at: Any = None,
    bucket: Any = AUTO_BUCKET,
    rows: bool = True,
    jobs: int | None = None,
    deploy_option: str = "deploy_at",
) -> Analysis:
    """Read *sources* once and measure them.

    *sources* are files found already (see :mod:`wslab.logs.inputs`), ``"-"`` for
    standard input, file objects or lists of lines. *format* is ``"auto"`` (each
    source's format detected from its opening lines) or a format name. With *rows*
    the logs are parsed into request rows, and *deploy_at* (one instant, several,
    or named deploys; see :func:`~wslab.logs.analysis.metrics.parse_deploys`, whose
    errors name the parameter *deploy_option*) and *bucket* (the time-bucket width,
    ``"auto"`` by default) shape the tables and the chart; without, they are
    streamed with flat memory, *jobs* worker processes sharing each large plain
    file, and the :class:`Analysis` holds the summary only. Raises
    :class:`~wslab.errors.WslabError` for logs with nothing to analyze (see the
    module docstring).
    """
    if not rows:
        tally = scan_tally(sources, jobs=jobs, format=format, text_only=True)
        summary = tally.as_dict()
        require_requests(summary, tally.formats, format)
        return Analysis(summary, tally.formats)
    from wslab.logs.analysis.metrics import parse_deploys
    from wslab.logs.parsing.parser import parse_logs, summarize

    instants, names = parse_deploys(deploy_at, what=deploy_option)
    parsed = parse_logs(sources, format=format, text_only=True)
    summary = summarize(parsed)
    require_requests(summary, parsed.formats, format)
    return Analysis(summary, parsed.formats, parsed, instants, names, bucket)
