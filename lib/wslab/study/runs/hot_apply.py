"""The hot-apply run: one long-running stack, fixes applied while traffic flows.

One ``before`` stack serves a steady stream of simulated users (direct
WebSocket, polling→upgrade and plain HTTP, in turn).  While they run:

1. phase ``before``       legacy Redis sessions, pre-fix Socket.IO config;
2. phase ``writeup-fix``  ``stack.apply(session="fixed", config="fixed")``;
3. phase ``guard``        ``stack.apply(guard=True)``.

Each change is marked in the log with ``stack.mark_phase(name)``; the per-phase
counts and the time-series chart come from parsing that log
(:mod:`wslab.logs`).  A line belongs to the phase in which Werkzeug logged it,
and Werkzeug logs a direct WebSocket only when it closes, so a WebSocket opened
before the guard was added and closed after it is still unguarded and its 500
lands in the ``guard`` phase; :func:`run_hot_apply` counts those
(``open_across_change``) from the clients' own start and end times.
:func:`guard_check` joins each direct WebSocket's own request line with the
client that made it (its ``wslab_conn`` id) to say, without counting by phase,
what the connections opened after the guard went in got, and where the
guard phase's 5xx lines came from.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from wslab.progress import Bar

from wslab.lab.stack import LabStack
from wslab.lab.traffic import run_user
from wslab.logs import assign_phases, error_rate_table, parse_log, plot_log_over_time
from wslab.study.runs.outcomes import connection_id

PHASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("before", {}),
    ("writeup-fix", {"session": "fixed", "config": "fixed"}),
    ("guard", {"guard": True}),
)
KINDS = ("websocket", "upgrade", "http")


def _timed_user(url: str, name: str, kind: str) -> dict[str, Any]:
    start = datetime.now()
    result = run_user(url, name, kind)
    return {"user": name, "kind": kind, "start": start, "end": datetime.now(), "error": result.error}


def _traffic(url: str, stop: threading.Event, pool: ThreadPoolExecutor, futures: list[Future],
             interval: float, max_users: int) -> None:
    """Start one user every *interval* seconds, cycling through :data:`KINDS`, until told to stop."""
    index = 0
    while not stop.is_set() and index < max_users:
        kind = KINDS[index % len(KINDS)]
        futures.append(pool.submit(_timed_user, url, f"{kind}-{index:04d}", kind))
        index += 1
        stop.wait(interval)


def _drive(stack: LabStack, phase_seconds: float, interval: float, max_users: int,
           progress: bool) -> tuple[list[dict[str, Any]], list[tuple[str, datetime]]]:
    """Run the traffic loop across the phases; return the users and the change instants."""
    stop, futures = threading.Event(), []
    changes: list[tuple[str, datetime]] = []
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="wslab-hot") as pool:
        loop = threading.Thread(target=_traffic, args=(stack.url, stop, pool, futures, interval, max_users),
                                name="wslab-hot-traffic", daemon=True)
        loop.start()
        try:
            for name, change in Bar(PHASES, desc="hot-apply phases", unit="phase", file=sys.stderr,
                                     disable=not progress):
                if change:
                    stack.apply(**change)
                stack.mark_phase(name)
                changes.append((name, datetime.now()))
                time.sleep(phase_seconds)
        finally:
            stop.set()
            loop.join()
        users = [f.result() for f in futures]
    stack.wait_idle(60)
    return users, changes


def open_across(users: list[dict[str, Any]], instant: datetime, kind: str = "websocket") -> int:
    """How many *kind* users were connected across *instant* (started before, ended after)."""
    return sum(1 for u in users if u["kind"] == kind and u["start"] < instant < u["end"])


def phase_table(log_path: Path, users: list[dict[str, Any]],
                changes: list[tuple[str, datetime]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Per-phase counts from the log, plus the parsed request rows and their phases."""
    parsed = parse_log(log_path)
    requests = parsed.requests
    phases = assign_phases(requests, markers=parsed.markers)
    table = error_rate_table(requests, by="phase", phases=phases)
    table = table[table["phase"].isin([name for name, _ in changes])].reset_index(drop=True)
    keep = phases.isin([name for name, _ in changes])  # drop the readiness probe before the first marker
    requests, phases = requests[keep], phases[keep]
    started = {name: at for name, at in changes}
    table["open_across_change"] = [open_across(users, started[p]) if i else 0
                                   for i, p in enumerate(table["phase"])]
    return table, requests, phases


def guard_check(log_path: Path, users: list[dict[str, Any]],
                changes: list[tuple[str, datetime]]) -> dict[str, int]:
    """What the guard did under traffic, per connection rather than per phase.

    ``websockets_opened_after``: direct WebSocket users whose client started
    after the guard was in place; ``of_them_with_101``: those whose own
    WebSocket request line was logged with status 101.  ``guard_phase_5xx``:
    5xx lines logged after the guard's phase marker;
    ``from_websockets_opened_before``: those whose connection id names a direct
    WebSocket user that started before the guard went in.
    """
    parsed = parse_log(log_path)
    requests = parsed.requests
    phases = assign_phases(requests, markers=parsed.markers)
    guard_at = dict(changes)["guard"]
    conn = requests["query"].map(connection_id)
    own = requests["method"].notna() & (requests["transport"] == "websocket")
    status = requests["status"].astype(str)
    websockets = {u["user"]: u for u in users if u["kind"] == "websocket"}
    after = [name for name, u in websockets.items() if u["start"] > guard_at]
    with_101 = sum(1 for name in after if (own & (conn == name) & (status == "101")).any())
    errors = conn[(phases == "guard") & requests["server_error"]]
    before = sum(1 for name in errors if name in websockets and websockets[name]["start"] < guard_at)
    return {"websockets_opened_after": len(after), "of_them_with_101": with_101,
            "guard_phase_5xx": int(len(errors)), "from_websockets_opened_before": before}


def run_hot_apply(out: str | Path, phase_seconds: float = 8.0, interval: float = 0.3,
                  max_users: int = 400, redis_url: str | None = None, freq: str = "2s",
                  progress: bool = False) -> dict[str, Any]:
    """Run the hot-apply run; write ``logs/hot-apply.log``, ``hot_apply.csv`` and ``hot_apply.png``.

    Returns ``{"table": per-phase DataFrame, "users": client records, "changes": phase
    instants, "guard": guard_check(...), "paths": {...}}``.
    Traffic is bounded by *max_users* and by ``3 * phase_seconds``.
    """
    out = Path(out)
    log_path = out / "logs" / "hot-apply.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    with LabStack("before", log_path=log_path, redis_url=redis_url) as stack:
        users, changes = _drive(stack, phase_seconds, interval, max_users, progress)
    table, requests, phases = phase_table(log_path, users, changes)
    paths = {"hot_apply_csv": out / "hot_apply.csv", "hot_apply_chart": out / "hot_apply.png"}
    table.to_csv(paths["hot_apply_csv"], index=False)
    fig = plot_log_over_time(requests, bucket=freq, deploy_at=[at for _, at in changes[1:]],
                             deploy_names=[f"{name} applied" for name, _ in changes[1:]],
                             title="Did the 5xx rate drop when each fix went in, under traffic?")
    fig.savefig(paths["hot_apply_chart"], dpi=120)
    return {"table": table, "users": users, "changes": changes,
            "guard": guard_check(log_path, users, changes), "paths": paths}
