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
from wslab.logs import parse_log, summarize
from wslab.versions import stack_versions

WRITE_BEFORE_START = "write() before start_response"

#: Request kinds, as the notebooks and ``wslab reproduce`` name them.
KIND_ORDER = ("socket.io websocket, no sid", "socket.io websocket, with sid",
              "socket.io polling", "page (plain HTTP)", "other")


def request_kind(row: pd.Series) -> str:
    """Name the kind of one parsed request line (see :data:`KIND_ORDER`)."""
    transport = row.get("transport")
    if transport == "websocket":
        has_sid = pd.notna(row.get("sid")) and bool(row.get("sid"))
        return "socket.io websocket, with sid" if has_sid else "socket.io websocket, no sid"
    if transport == "polling":
        return "socket.io polling"
    if transport == "http":
        return "page (plain HTTP)"
    return "other"


def with_kinds(requests: pd.DataFrame) -> pd.DataFrame:
    """A copy of parsed request rows with a ``kind`` column (see :data:`KIND_ORDER`)."""
    out = requests.copy()
    out["kind"] = out.apply(request_kind, axis=1) if len(out) else pd.Series(dtype="string")
    return out


def read_log_portion(path: Path, offset: int) -> bytes:
    """The bytes appended to *path* since *offset*."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read()


def count_log(data: bytes) -> dict[str, Any]:
    """Counts of one run's log lines: request lines, 5xx, tracebacks, per request kind."""
    parsed = parse_log(io.BytesIO(data))
    summary = summarize(parsed)
    requests = with_kinds(parsed.requests)
    errors = parsed.errors
    is_wbsr = errors["message"].astype(str).str.contains(WRITE_BEFORE_START, regex=False) \
        if len(errors) else pd.Series(dtype=bool)
    matched = errors.loc[is_wbsr, "request"].dropna().astype(int) if len(errors) else pd.Series(dtype=int)
    by_kind = []
    for kind in KIND_ORDER:
        rows = requests[requests["kind"] == kind]
        if rows.empty and kind == "other":
            continue
        by_kind.append({
            "kind": kind,
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
