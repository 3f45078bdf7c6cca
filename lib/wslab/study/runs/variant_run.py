"""One measured run: a variant's stack, a workload, and what its log holds afterwards.

:func:`run_variant` is what ``wslab reproduce`` prints and what the notebooks
and experiments tabulate.  Every number in its result comes from the clients
(what was sent) or from parsing the log lines this run appended (what the
server logged); nothing is inferred.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.app.variants import get_variant
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload
from wslab.logs import WRITE_BEFORE_START_RESPONSE, parse_log, summarize
from wslab.model.kinds import RequestKind
from wslab.versions import stack_versions


def read_log_portion(path: Path, offset: int) -> bytes:
    """The bytes appended to *path* since *offset*."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read()


def count_log(data: bytes) -> dict[str, Any]:
    """Counts of one run's log lines: request lines, 5xx, tracebacks, per request kind.

    ``by_kind`` has one row per :class:`~wslab.model.kinds.RequestKind`, in its
    order, labelled by the kind the log parser gave each request line.
    """
    parsed = parse_log(io.BytesIO(data))
    summary = summarize(parsed)
    requests = parsed.requests
    errors = parsed.errors
    is_wbsr = errors["message"].astype(str).str.contains(WRITE_BEFORE_START_RESPONSE, regex=False) \
        if len(errors) else pd.Series(dtype=bool)
    matched = errors.loc[is_wbsr, "request"].dropna().astype(int) if len(errors) else pd.Series(dtype=int)
    by_kind = []
    for kind in RequestKind.ordered():
        rows = requests[requests["kind"] == kind]
        by_kind.append({
            "kind": kind.label,
            "requests": int(len(rows)),
            "server_errors": int(rows["server_error"].sum()),
            "write_before_start_response": int(matched.isin(rows.index).sum()),
        })
    return {
        "request_lines": summary["request_lines"],
        "status_counts": summary["status_counts"],
        "server_errors": summary["server_errors"],
        "error_rate": summary["error_rate"],
        "error_rate_definition": summary["error_rate_definition"],
        "write_before_start_response": int(is_wbsr.sum()),
        "bad_request_syntax_lines": summary["bad_request_syntax_lines"],
        "unparsed_lines": summary["unparsed_lines"],
        "by_kind": by_kind,
    }


def run_variant(variant: str, log_path: str | Path, *, ws_users: int = 0, upgrade_users: int = 0,
                polling_users: int = 0, http_users: int = 0, concurrency: int = 16,
                redis_url: str | None = None, port: int = 0, progress: bool = False) -> dict[str, Any]:
    """Start *variant*'s stack, run the workload, stop, and count this run's log lines."""
    spec = get_variant(variant)
    log_path = Path(log_path)
    offset = log_path.stat().st_size if log_path.exists() else 0
    workload = Workload(ws_users=ws_users, upgrade_users=upgrade_users, polling_users=polling_users,
                        http_users=http_users, concurrency=concurrency)
    with LabStack(spec, log_path=log_path, redis_url=redis_url, port=port) as stack:
        redis = stack.redis.description if stack.redis else "none (cookie sessions)"
        stack.mark_phase(spec.name)
        report = run_workload(stack, workload, progress=progress)
    return {
        "variant": spec.name,
        "variant_summary": spec.summary,
        "redis": redis,
        "versions": stack_versions(),
        "log_path": str(log_path),
        "sent": report.totals(),
        "client_errors": report.errors(),
        "log": count_log(read_log_portion(log_path, offset)),
    }
