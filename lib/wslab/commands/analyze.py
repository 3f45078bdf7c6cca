"""``wslab analyze``: error rates, status counts and tracebacks from Werkzeug, gunicorn and nginx logs.

Each log's format is detected from its opening lines, or given with
``--format`` (see :mod:`wslab.logs.formats`).
Exit codes: 0 on success; 1 when the logs hold no request lines (an empty file
included; gunicorn error logs, which hold none, need only hold lines); 2 for
usage errors (a missing file, a directory, a bad option).
Damaged input (invalid UTF-8, truncated gzip, foreign lines) is counted as
unparsed, never fatal. Without ``--by``, ``--phase-at`` or ``--plot`` the logs are
streamed with flat memory; with them, request rows are loaded into a DataFrame.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.logs.formats import AUTO, DETECT_LINES, FORMATS, get_format
from wslab.logs.stats import ERROR_RATE_DEFINITION

NAME = "analyze"
HELP = "Count request lines, 5xx error rate and tracebacks in Werkzeug, gunicorn and nginx logs."
GROUPINGS = ("phase", "minute", "transport", "route")
FORMAT_CHOICES = (AUTO, *FORMATS)
EPILOG = f"""\
{ERROR_RATE_DEFINITION}.
Phases: --phase-at T1 T2 splits at those instants into 'phase 0', 'phase 1', ...;
without it, records 'phase: <name>' of logger 'wslab' in the log start a phase.
Formats: {', '.join(FORMAT_CHOICES)}; 'auto' (the default) reads each
file in the format most of its first {DETECT_LINES} lines have. A line of another format is unparsed.
Exit codes: 0 ok, 1 no request lines found (e.g. an empty file), 2 usage error."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab analyze``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log file (plain or gzip), or - for stdin")
    parser.add_argument("--by", choices=GROUPINGS, help="also give the error rate per group")
    parser.add_argument(
        "--phase-at",
        nargs="+",
        default=[],
        metavar="TIMESTAMP",
        help="split into phases at these instants, e.g. 2025-09-01T13:05:00",
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


def check_logs(logs: list[str]) -> None:
    """Fail with a usage error for a missing, unreadable or directory LOG argument."""
    if logs.count("-") > 1:
        raise WslabError("stdin (-) can be given only once")
    for log in logs:
        if log == "-":
            continue
        path = Path(log)
        if path.is_dir():
            raise WslabError(f"{log} is a directory, not a log file (try {path / 'webapp.log'})")
        if not path.exists():
            raise WslabError(f"no such log file: {log}")
        if not os.access(path, os.R_OK):
            raise WslabError(f"cannot read log file: {log} (permission denied)")


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


def _phase_instants(values: list[str]) -> list[Any]:
    import pandas as pd

    instants = []
    for value in values:
        try:
            instants.append(pd.Timestamp(value))
        except ValueError:
            raise WslabError(f"--phase-at: not a timestamp: {value!r} (e.g. 2025-09-01T13:05:00)") from None
    return instants


def _require_requests(summary: dict[str, Any], formats: list[str]) -> None:
    """Fail (exit 1) for logs without request lines; a gunicorn error log needs only lines."""
    files = ", ".join(summary["files"])
    if summary["lines"] == 0:
        raise WslabError(f"{files}: empty, no log lines to analyze", exit_code=1)
    if summary["request_lines"] or (formats and all(FORMATS[f].request is None for f in formats)):
        return
    sample = (
        f"; first unparsed line: {summary['unparsed_samples'][0]!r}" if summary["unparsed_samples"] else ""
    )
    labels = " or ".join(dict.fromkeys(FORMATS[f].label for f in formats if FORMATS[f].request is not None))
    raise WslabError(
        f"{files}: no {labels or 'Werkzeug'} request lines among {summary['lines']} lines "
        f"({summary['unparsed_lines']} unparsed{sample})",
        exit_code=1,
    )


def _detailed(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], Any]:
    """Parse into DataFrames; return the summary, the files' formats and the per-group table (or ``None``)."""
    from wslab.logs import charts, metrics
    from wslab.logs.parser import parse_logs
    from wslab.logs.summary import summarize

    instants = _phase_instants(args.phase_at)
    parsed = parse_logs(args.logs, format=args.format)
    summary = summarize(parsed)
    _require_requests(summary, parsed.formats)
    requests = parsed.requests
    phases = metrics.assign_phases(requests, phase_at=instants, markers=parsed.markers)
    by = args.by or ("phase" if instants or not parsed.markers.empty else None)
    table = metrics.error_rate_table(requests, by=by, phases=phases) if by else None
    if args.plot:
        if args.by in (None, "minute"):
            fixes = [(t, f"phase {i + 1}") for i, t in enumerate(instants)]
            fig = charts.plot_rate_over_time(requests, phases=phases, fixes=fixes)
        else:
            fig = charts.plot_rate_by_group(table, by=by)
        fig.savefig(args.plot, dpi=150)
    return summary, parsed.formats, table


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
    check_logs(args.logs)
    jobs = _jobs(args.jobs)
    _format(args.format)
    if args.by or args.phase_at or args.plot:
        summary, formats, table = _detailed(args)
    else:
        from wslab.logs.summary import scan_tally

        tally = scan_tally(args.logs, jobs=jobs, format=args.format)
        summary, formats, table = tally.as_dict(), tally.formats, None
        _require_requests(summary, formats)
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
