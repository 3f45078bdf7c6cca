"""The experiment: one workload across every variant, crossed with every transport.

Each cell (variant × transport) is its own short stack run with its own log
file ``logs/<variant>-<transport>.log``, so every count in a row belongs to
that cell alone.  A cell's users all use one transport and run at once:

``websocket``  direct WebSocket (no ``sid`` in the URL, like the incident's clients)
``upgrade``    polling handshake, then upgrade to WebSocket
``polling``    long-polling only
``http``       plain HTTP pages only

The variants ``no-session``, ``before``, ``writeup-fix`` and ``guard`` run on
this interpreter's packages (the incident pins in ``.venv``); other versions
and servers are the factor matrix's job (:mod:`wslab.study.versions.matrix`).  By
default every variant runs in its own subprocess (:mod:`wslab.study.runs.envrun`)
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from wslab.progress import Bar

from wslab.app.variants import VARIANTS, get_variant
from wslab.errors import WslabError
from wslab.lab.redis_backend import FAKE, open_redis
from wslab.logs.stats import wilson_interval
from wslab.study.runs import envrun
from wslab.study.runs.cells import TRANSPORTS, run_cells

VARIANT_ORDER: tuple[str, ...] = tuple(VARIANTS)

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


def _shared_redis_url(redis_url: str | None) -> tuple[Any, str]:
    """Open one Redis for the whole experiment; return its handle and a URL every cell can use."""
    handle = open_redis(redis_url)
    return handle, handle.url if handle.url else FAKE


def _run_parallel(plan: Plan, redis_url: str, bar: Bar) -> list[dict[str, Any]]:

    jobs = [envrun.start(sys.executable, variant, plan.transports, plan.log_dir, plan.users, redis_url)
            for variant in plan.variants]
    rows: list[dict[str, Any]] = []
    try:
        for job in jobs:
            rows += envrun.collect(job)
            bar.update(len(plan.transports))
    finally:
        for job in jobs:
            envrun.stop(job)
    return rows


def _run_sequential(plan: Plan, redis_url: str, bar: Bar) -> list[dict[str, Any]]:

    rows: list[dict[str, Any]] = []
    for variant in plan.variants:
        rows += run_cells(variant, plan.transports, plan.log_dir, plan.users, redis_url,
                          on_row=lambda row: bar.update(1))
    return rows


def run_experiment(plan: Plan, progress: bool = False, parallel: bool = True) -> pd.DataFrame:
    """Run every cell of *plan* and return the results table (one row per cell).

    With *parallel* (the default) each variant runs in its own subprocess, all at
    once (one lab stack per process); otherwise the incident-pins variants run
    one after another in this process.  Either way each cell is one stack.
    """
    plan.log_dir.mkdir(parents=True, exist_ok=True)
    handle, redis_url = _shared_redis_url(plan.redis_url)
    bar = Bar(total=len(plan.variants) * len(plan.transports), desc="experiment cells",
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
    from wslab.logs import plot_rate_by_group

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
