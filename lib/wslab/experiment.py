"""The experiment: one workload across every variant, crossed with every transport.

Each cell (variant × transport) is its own short stack run with its own log
file ``logs/<variant>-<transport>.log``, so every count in a row belongs to
that cell alone.  A cell's users all use one transport and run at once:

``websocket``  direct WebSocket (no ``sid`` in the URL, like the incident's clients)
``upgrade``    polling handshake, then upgrade to WebSocket
``polling``    long-polling only
``http``       plain HTTP pages only

The variants ``no-session``, ``before``, ``writeup-fix`` and ``guard`` run on
this interpreter's packages (the incident pins); ``upgraded`` runs the
``before`` stack on the current pins in ``.venv-current`` (see
:mod:`wslab.upgraded`).  By default every variant runs in its own subprocess
and the variants run side by side, which keeps the whole grid well under a
minute even when a cell waits out a slow close.

A row (see :data:`ROW_FIELDS`) holds what the cell's log says after the
analysis of :mod:`wslab.logs` (request lines, 5xx lines, ``write() before
start_response`` tracebacks, ``Bad request syntax`` lines) and what the
clients saw:

``session_visible_in_handler``
    fraction (0 to 1) of the cell's Socket.IO users whose ``connect`` handler
    saw the user they had just logged in as over HTTP; ``None`` for ``http``;
``status_400_lines``
    request lines with status 400 (Werkzeug logs one for left-over WebSocket
    frame bytes it read as a request, whether its message says ``Bad request
    syntax`` or ``Bad HTTP/0.9 request type``);
``socketio_write_in_http_session``
    fraction of Socket.IO users for whom a session write made inside a
    Socket.IO handler was then visible to an HTTP request; ``None`` for ``http``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from wslab.errors import WslabError
from wslab.logs.stats import wilson_interval
from wslab.redis_backend import FAKE, open_redis
from wslab.runs import run_variant
from wslab.variants import VARIANTS, get_variant

TRANSPORTS: tuple[str, ...] = ("websocket", "upgrade", "polling", "http")
VARIANT_ORDER: tuple[str, ...] = tuple(VARIANTS)
USER_OPTION = {"websocket": "ws_users", "upgrade": "upgrade_users",
               "polling": "polling_users", "http": "http_users"}

#: The fields ``wslab experiment --json`` prints, in this order.
ROW_FIELDS: tuple[str, ...] = (
    "variant", "transport", "sessions", "request_lines", "server_errors",
    "write_before_start_response", "bad_request_syntax_lines", "session_visible_in_handler",
)
#: Further fields kept in ``results.csv`` and ``results.json``.
EXTRA_FIELDS: tuple[str, ...] = (
    "socketio_write_in_http_session", "status_400_lines", "socketio_connected", "client_errors", "error_rate",
    "error_rate_ci_low", "error_rate_ci_high", "status_counts", "python_engineio", "werkzeug",
    "log",
)


@dataclass(frozen=True)
class Plan:
    """What to run: variants, transports, users per cell and where the output goes."""

    out: Path
    variants: tuple[str, ...] = VARIANT_ORDER
    transports: tuple[str, ...] = TRANSPORTS
    users: int = 4
    redis_url: str | None = None

    def __post_init__(self) -> None:
        for name in self.variants:
            get_variant(name)
        unknown = [t for t in self.transports if t not in TRANSPORTS]
        if unknown:
            raise WslabError(f"unknown transport {unknown[0]!r} (choose from {', '.join(TRANSPORTS)})")
        if self.users < 1:
            raise WslabError("users per cell must be at least 1")

    @property
    def log_dir(self) -> Path:
        """Where the per-cell logs go."""
        return self.out / "logs"


def _fraction(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def cell_row(result: dict[str, Any], variant: str, transport: str, users: int,
             log_root: Path | None = None) -> dict[str, Any]:
    """One results row from a :func:`wslab.runs.run_variant` result of a one-transport run."""
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

    *label* names the row's variant (the current-pins run labels ``before`` as
    ``upgraded``); its log is ``log_dir/<label>-<transport>.log``, started afresh.
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


def _shared_redis_url(redis_url: str | None) -> tuple[Any, str]:
    """Open one Redis for the whole experiment; return its handle and a URL every cell can use."""
    handle = open_redis(redis_url)
    return handle, handle.url if handle.url else FAKE


def _worker(variant: str) -> tuple[str, str, str]:
    """``(interpreter, variant to start, row label)`` for one variant's subprocess."""
    from wslab import upgraded

    if get_variant(variant).pins == "incident":
        return sys.executable, variant, variant
    base, label = upgraded.UPGRADED
    return str(upgraded.ensure_current_venv()), base, label


def _run_parallel(plan: Plan, redis_url: str, bar: tqdm) -> list[dict[str, Any]]:
    from wslab import upgraded

    workers = [_worker(v) for v in plan.variants]
    jobs = [upgraded.start(python, variant, plan.transports, plan.log_dir, plan.users, redis_url, label)
            for python, variant, label in workers]
    rows: list[dict[str, Any]] = []
    try:
        for job in jobs:
            rows += upgraded.collect(job)
            bar.update(len(plan.transports))
    finally:
        for job in jobs:
            upgraded.stop(job)
    return rows


def _run_sequential(plan: Plan, redis_url: str, bar: tqdm) -> list[dict[str, Any]]:
    from wslab import upgraded

    rows: list[dict[str, Any]] = []
    for variant in plan.variants:
        if get_variant(variant).pins == "incident":
            rows += run_cells(variant, plan.transports, plan.log_dir, plan.users, redis_url,
                              on_row=lambda row: bar.update(1))
        else:
            rows += upgraded.run_upgraded(plan.transports, plan.log_dir, plan.users, redis_url)
            bar.update(len(plan.transports))
    return rows


def run_experiment(plan: Plan, progress: bool = False, parallel: bool = True) -> pd.DataFrame:
    """Run every cell of *plan* and return the results table (one row per cell).

    With *parallel* (the default) each variant runs in its own subprocess, all at
    once (one lab stack per process); otherwise the incident-pins variants run
    one after another in this process.  ``upgraded`` always runs in
    ``.venv-current`` (created on first use).  Either way each cell is one stack.
    """
    plan.log_dir.mkdir(parents=True, exist_ok=True)
    handle, redis_url = _shared_redis_url(plan.redis_url)
    bar = tqdm(total=len(plan.variants) * len(plan.transports), desc="experiment cells",
               unit="cell", file=sys.stderr, disable=not progress)
    try:
        rows = (_run_parallel if parallel else _run_sequential)(plan, redis_url, bar)
    finally:
        bar.close()
        handle.close()
    return results_table(rows, plan.variants)


def results_table(rows: list[dict[str, Any]], variants: Sequence[str] = VARIANT_ORDER) -> pd.DataFrame:
    """Rows as a DataFrame in variant and transport order."""
    table = pd.DataFrame(rows, columns=[*ROW_FIELDS, *EXTRA_FIELDS])
    table["variant"] = pd.Categorical(table["variant"], categories=list(variants), ordered=True)
    table["transport"] = pd.Categorical(table["transport"], categories=list(TRANSPORTS), ordered=True)
    table = table.sort_values(["variant", "transport"]).reset_index(drop=True)
    table["variant"] = table["variant"].astype(str)
    table["transport"] = table["transport"].astype(str)
    return table


def json_rows(table: pd.DataFrame, fields: Sequence[str] = ROW_FIELDS) -> list[dict[str, Any]]:
    """The table's rows as JSON-ready dicts with *fields* (missing values become ``None``)."""
    frame = table[list(fields)].astype(object)
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    return not isinstance(value, dict) and pd.isna(value)


def rate_by_variant(table: pd.DataFrame) -> pd.DataFrame:
    """Request lines, 5xx lines and error rate with Wilson 95 % interval per variant."""
    grouped = table.groupby("variant", sort=False)[["request_lines", "server_errors"]].sum()
    grouped = grouped.rename(columns={"request_lines": "requests"}).reset_index()
    grouped["error_rate"] = grouped["server_errors"] / grouped["requests"]
    low, high = wilson_interval(grouped["server_errors"], grouped["requests"])
    grouped["ci_low"], grouped["ci_high"] = low.clip(0, 1), high.clip(0, 1)
    return grouped


def write_outputs(table: pd.DataFrame, out: Path) -> dict[str, Path]:
    """Write ``results.csv``, ``results.json`` and ``error_rate_by_variant.png`` into *out*."""
    from wslab.logs.charts import plot_rate_by_group

    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "results.csv", "json": out / "results.json",
             "chart": out / "error_rate_by_variant.png"}
    csv = table.copy()
    csv["status_counts"] = csv["status_counts"].map(lambda c: json.dumps(c, sort_keys=True))
    csv.to_csv(paths["csv"], index=False)
    rows = json_rows(table, [*ROW_FIELDS, *EXTRA_FIELDS])
    paths["json"].write_text(json.dumps(rows, indent=2) + "\n")
    users = "/".join(sorted({str(n) for n in table["sessions"]}))
    fig = plot_rate_by_group(rate_by_variant(table), by="variant",
                             title=f"Error rate by variant, all transports, {users} users each")
    fig.savefig(paths["chart"], dpi=120)
    return paths


def text_table(table: pd.DataFrame) -> str:
    """The results as an aligned text table for the terminal."""
    shown = table[[*ROW_FIELDS, "status_400_lines", "socketio_write_in_http_session"]].rename(columns={
        "status_400_lines": "400 lines",
        "sessions": "users", "request_lines": "lines", "server_errors": "5xx",
        "write_before_start_response": "wbsr", "bad_request_syntax_lines": "400 syntax",
        "session_visible_in_handler": "seen@connect",
        "socketio_write_in_http_session": "sio write→http",
    })
    return shown.to_string(index=False, na_rep="-")
