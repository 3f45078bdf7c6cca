"""``wslab analyze``: error rates, status counts and tracebacks from Werkzeug, gunicorn and nginx logs.

Each log's format is detected from its opening lines, or given with
``--format`` (see :mod:`wslab.logs.formats`). A relative LOG path is looked for
in the current folder, then in the kit's folder (:func:`wslab.logs.inputs.find_input`).
The logs are read by :func:`wslab.logs.analyze`, the pipeline notebooks use too.
Exit codes (see :mod:`wslab.logs.inputs` and :mod:`wslab.logs.analysis.pipeline`):
0 on success; 1 when the logs hold
nothing to analyze: an empty file, binary data (a compressed format other than
gzip included), or no request lines of a known format (gunicorn error logs,
which hold none, need only hold lines); 2 for usage errors: a missing file, a
directory, an unreadable file, a bad option.
Damaged input (invalid UTF-8, truncated gzip, foreign lines) is counted as
unparsed, never fatal. Without ``--by``, ``--phase-at`` or ``--plot`` the logs are
streamed with flat memory; with them, request rows are loaded into a DataFrame.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wslab.errors import WslabError
from wslab.logs.analysis.buckets import AUTO as AUTO_BUCKET
from wslab.logs.analysis.buckets import WIDTHS, bucket_label
from wslab.logs.analysis.pipeline import Analysis, analyze
from wslab.logs.formats import AUTO, DETECT_LINES, FORMATS, get_format
from wslab.logs.inputs import check_log_file
from wslab.logs.parsing.fields import KINDS
from wslab.logs.stats import ERROR_RATE_DEFINITION

NAME = "analyze"
HELP = "Count request lines, 5xx error rate and tracebacks in Werkzeug, gunicorn and nginx logs."
GROUPINGS = ("phase", "minute", "time", "kind", "transport", "route")
FORMAT_CHOICES = (AUTO, *FORMATS)
EPILOG = f"""\
{ERROR_RATE_DEFINITION}.
Groups (--by): phase; minute (1-minute buckets); time (buckets of --bucket); transport; route;
kind: {', '.join(KINDS)}. A direct WebSocket is an Engine.IO
request with transport=websocket and no sid; an upgraded one carries its sid.
Phases: --phase-at T1 T2 (or --deploy-at) splits at those instants into 'phase 0',
'phase 1', ...; named, --deploy-at fix=T1 guard=T2 gives 'before fix', 'after fix', 'after guard'.
Without it, records 'phase: <name>' of logger 'wslab' in the log start a phase.
Buckets: --bucket SECONDS, or 'auto' (the default): the width, of
{', '.join(map(bucket_label, WIDTHS))},
that gives about 60-120 buckets over the log's span (1 s for a short lab run).
Chart (--plot): the error rate per bucket as bars over the request and 5xx counts, each
--phase-at instant a labelled line; with --by phase, kind, transport or route, one bar per group.
Formats: {', '.join(FORMAT_CHOICES)}; 'auto' (the default) reads each
file in the format most of its first {DETECT_LINES} lines have. A line of another format is unparsed.
A relative LOG is looked for in the current folder, then in the kit's folder.
Exit codes: 0 ok; 1 nothing to analyze (an empty file, binary data, no request lines
of a known format); 2 usage error (a missing file, a directory, an unreadable file, a bad option)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab analyze``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log file (plain or gzip), or - for stdin")
    parser.add_argument("--by", choices=GROUPINGS, help="also give the error rate per group")
    parser.add_argument(
        "--phase-at",
        "--deploy-at",
        dest="phase_at",
        nargs="+",
        default=[],
        metavar="TIMESTAMP",
        help="split into phases at these instants (deploys), e.g. 2025-09-01T13:05:00 or, named, "
        "guard=2025-09-01T13:05:00",
    )
    parser.add_argument(
        "--bucket",
        default=AUTO_BUCKET,
        metavar="SECONDS",
        help="width of the time buckets of --by time and --plot, or 'auto' (the default)",
    )
    parser.add_argument("--plot", metavar="OUT.png", help="save a chart as PNG")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--format",
        default=AUTO,
        metavar="FORMAT",
        help=f"the logs' format: {', '.join(FORMAT_CHOICES)} (default: auto, detected per file)",
    )
    parser.add_argument(
        "--jobs",
        default=None,
        metavar="N",
        help="worker processes for large plain files (default: CPUs, at most 4)",
    )


def check_logs(logs: list[str]) -> list[str]:
    """The LOG arguments as the files to read: each found as given, else under the kit's
    folder; a usage error (exit code 2) for a missing, unreadable or directory LOG."""
    if logs.count("-") > 1:
        raise WslabError("stdin (-) can be given only once")
    return [log if log == "-" else str(check_log_file(log)) for log in logs]


def _jobs(value: str | None) -> int | None:
    """The ``--jobs`` value as a number of worker processes, ``None`` for the default.

    Checked here rather than by argparse, so a bad value is one ``wslab: error:``
    line like every other usage error, not a usage dump.
    """
    if value is None:
        return None
    try:
        jobs = int(value)
    except ValueError:
        raise WslabError(f"--jobs must be a whole number, 1 or more (got {value!r})") from None
    if jobs < 1:
        raise WslabError(f"--jobs must be 1 or more (got {jobs})")
    return jobs


def _format(value: str) -> str:
    """The ``--format`` value, checked here (not by argparse) so a bad one is one error line."""
    try:
        get_format(value)
    except WslabError:
        raise WslabError(f"--format must be one of {', '.join(FORMAT_CHOICES)} (got {value!r})") from None
    return value


def _bucket(value: str) -> str:
    """The ``--bucket`` value: ``auto`` or a number of seconds above 0, checked before any reading."""
    if value.strip().lower() == AUTO_BUCKET:
        return AUTO_BUCKET
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise WslabError(f"--bucket must be a number of seconds above 0, or 'auto' (got {value!r})")
    return value


def _shown(analysis: Analysis, args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """The summary to print (with the bucket width and deploys when they shape the output) and
    the per-group table (or ``None``); saves the chart when ``--plot`` asks for one."""
    summary = dict(analysis.summary)
    if analysis.parsed is None:
        return summary, None
    by = args.by or analysis.grouping
    if by == "time" or args.plot:
        summary["bucket_seconds"] = analysis.bucket.total_seconds()
    if analysis.deploy_at:
        summary["phase_at"] = [instant.isoformat() for instant in analysis.deploy_at]
    table = analysis.table(by) if by else None
    if args.plot:
        analysis.chart(args.by).savefig(args.plot, dpi=150)
    return summary, table


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def format_text(summary: dict[str, Any], formats: list[str] | None = None) -> str:
    """The summary as aligned text lines (with the format each file was read in, if given)."""
    ci = summary["error_rate_ci95"]
    interval = f" (95 % CI {_percent(ci[0])} to {_percent(ci[1])})" if ci else ""
    statuses = ", ".join(f"{code}: {n}" for code, n in summary["status_counts"].items()) or "none"
    rows = [
        ("files", ", ".join(summary["files"])),
        *([("formats", ", ".join(formats))] if formats else []),
        ("lines", summary["lines"]),
        ("request lines", summary["request_lines"]),
        ("status counts", statuses),
        ("server errors", f"{summary['server_errors']} (5xx)"),
        ("error rate", f"{_percent(summary['error_rate'])}{interval}"),
        ("", f"[{summary['error_rate_definition']}]"),
        ("write() before start_response", summary["write_before_start_response"]),
        ("bad request syntax lines", summary["bad_request_syntax_lines"]),
        ("unparsed lines", summary["unparsed_lines"]),
        ("cut-off tracebacks", summary["incomplete_tracebacks"]),
        ("chained tracebacks", summary["chained_tracebacks"]),
        *([("phase at", ", ".join(summary["phase_at"]))] if summary.get("phase_at") else []),
        *([("time buckets", bucket_label(summary["bucket_seconds"]))] if "bucket_seconds" in summary else []),
    ]
    lines = [f"{label:<30} {value}" for label, value in rows]
    lines.append("exceptions (final exception of each traceback):")
    lines += [f"  {n:>8}  {text}" for text, n in summary["exceptions"].items()] or ["         none"]
    if summary["exception_chains"]:
        lines.append("exception chains (earliest first):")
        lines += [f"  {c['count']:>8}  {' -> '.join(c['chain'])}" for c in summary["exception_chains"]]
    lines += [f"unparsed sample: {sample}" for sample in summary["unparsed_samples"]]
    lines += [f"warning: {warning}" for warning in summary["warnings"]]
    return "\n".join(lines)


def _table_text(table: Any) -> str:
    shown = table.copy()
    for column in ("error_rate", "ci_low", "ci_high"):
        shown[column] = shown[column].map(_percent)
    return f"{table.columns[0]} table ({ERROR_RATE_DEFINITION}):\n{shown.to_string(index=False)}"


def run(args: argparse.Namespace) -> int:
    """Analyze the logs and print the summary (and the per-group table)."""
    args.logs = check_logs(args.logs)
    jobs = _jobs(args.jobs)
    _format(args.format)
    args.bucket = _bucket(args.bucket)
    analysis = analyze(
        args.logs,
        format=args.format,
        deploy_at=args.phase_at,
        bucket=args.bucket,
        rows=bool(args.by or args.phase_at or args.plot),
        jobs=jobs,
        deploy_option="--phase-at",
    )
    summary, table = _shown(analysis, args)
    formats = analysis.formats
    if args.json:
        summary["formats"] = formats
        if table is not None:
            summary["by"] = table.columns[0]
            summary["table"] = json.loads(table.to_json(orient="records", date_format="iso"))
        print(json.dumps(summary, indent=2))
    else:
        print(format_text(summary, formats))
        if table is not None:
            print(_table_text(table))
    if args.plot:
        print(f"chart written to {args.plot}", file=sys.stderr)
    return 0
