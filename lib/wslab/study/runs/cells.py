"""One cell of an experiment: one variant, one transport, one fresh stack.

A cell's users all use one transport and run at once; its log file is its own,
so every count in its row belongs to that cell alone.  Both the experiment
(:mod:`wslab.study.runs.experiment`) and the subprocess that runs cells in another
interpreter (:mod:`wslab.study.runs.envrun`) build on this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wslab.logs.stats import wilson_interval
from wslab.study.runs.variant_run import run_variant

TRANSPORTS: tuple[str, ...] = ("websocket", "upgrade", "polling", "http")
USER_OPTION = {"websocket": "ws_users", "upgrade": "upgrade_users",
               "polling": "polling_users", "http": "http_users"}


def _fraction(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def cell_row(result: dict[str, Any], variant: str, transport: str, users: int,
             log_root: Path | None = None) -> dict[str, Any]:
    """One results row from a :func:`wslab.study.runs.variant_run.run_variant` result of a one-transport run."""
    sent, log = result["sent"], result["log"]
    socketio_users = 0 if transport == "http" else users
    requests, errors = log["request_lines"], log["server_errors"]
    low, high = wilson_interval(errors, requests) if requests else (None, None)
    log_path = Path(result["log_path"])
    return {
        "variant": variant,
        "transport": transport,
        "sessions": users,
        "request_lines": requests,
        "server_errors": errors,
        "write_before_start_response": log["write_before_start_response"],
        "bad_request_syntax_lines": log["bad_request_syntax_lines"],
        "session_visible_in_handler": _fraction(sent["session_seen_by_connect"], socketio_users),
        "socketio_write_in_http_session": _fraction(sent["socketio_write_seen_over_http"], socketio_users),
        "status_400_lines": int(log["status_counts"].get("400", 0)),
        "socketio_connected": sum(sent["socketio_connections"].values()),
        "client_errors": sent["client_errors"],
        "error_rate": round(errors / requests, 4) if requests else None,
        "error_rate_ci_low": None if low is None else round(max(0.0, low), 4),
        "error_rate_ci_high": None if high is None else round(min(1.0, high), 4),
        "status_counts": log["status_counts"],
        "python_engineio": result["versions"].get("python-engineio"),
        "werkzeug": result["versions"].get("werkzeug"),
        "log": str(log_path.relative_to(log_root)) if log_root else str(log_path),
    }


def run_cell(variant: str, transport: str, log_dir: Path, users: int,
             redis_url: str | None = None, label: str | None = None) -> dict[str, Any]:
    """Run one variant with *users* users of one transport; return its results row.

    *label* names the row's variant (default: the variant's name); its log is
    ``log_dir/<label>-<transport>.log``, started afresh.
    """
    label = label or variant
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{label}-{transport}.log"
    log_path.unlink(missing_ok=True)
    result = run_variant(variant, log_path, **{USER_OPTION[transport]: users},
                         concurrency=users, redis_url=redis_url)
    return cell_row(result, label, transport, users, log_root=log_dir.parent)


def run_cells(variant: str, transports: Sequence[str], log_dir: Path, users: int,
              redis_url: str | None = None, label: str | None = None,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run :func:`run_cell` for each transport in turn (one stack per cell)."""
    rows = []
    for transport in transports:
        rows.append(run_cell(variant, transport, log_dir, users, redis_url, label))
        if on_row is not None:
            on_row(rows[-1])
    return rows
