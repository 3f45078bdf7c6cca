"""One matrix cell in this interpreter: variants on one server, one outcome per connection.

A cell of the factor matrix (:mod:`wslab.study.versions.matrix`) is a set of package
versions (the interpreter this runs in) and a server.  For each variant this
module starts a fresh stack on that server, runs *users* direct-WebSocket and
*users* upgrading Socket.IO clients at once (``--kinds direct`` runs the direct
ones only), waits until the server has ended and logged every connection, and
joins the clients' record with the log (:mod:`wslab.study.runs.outcomes`).

Servers:

``werkzeug``
    Werkzeug's threaded dev server with the debugger off, as ``socketio.run(app)``
    serves in threading mode (:class:`wslab.lab.stack.LabStack`).
``werkzeug-debug``
    the same server with the debugger on, as ``socketio.run(app, debug=True)``
    serves it (``LabStack(debugger=True)``).
``gunicorn-gthread``
    gunicorn's gthread worker (``-w 1 --threads N``) as a child process
    (:class:`wslab.lab.gunicorn_server.GunicornServer`).

The matrix runs this module in each cell's environment and reads its rows,
one JSON list on stdout::

    python -m wslab.study.versions.cellrun --cell incident --server werkzeug \\
        --variants before,guard --users 4 --log-dir out/logs
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wslab.app.variants import get_variant
from wslab.errors import WslabError
from wslab.lab.stack import LabStack
from wslab.lab.traffic import TrafficReport, Workload, run_workload
from wslab.logs import parse_logs, summarize
from wslab.study.runs.envrun import emit_rows
from wslab.study.runs.outcomes import connection_outcomes, outcome_counts
from wslab.versions import stack_versions

SERVERS: tuple[str, ...] = ("werkzeug", "werkzeug-debug", "gunicorn-gthread")
#: The kinds of Socket.IO connection a row can run, as :mod:`wslab.study.runs.outcomes` names them.
KINDS: tuple[str, ...] = ("direct", "upgrade")

#: The version fields of a row, by the package they name.
VERSION_FIELDS = {"werkzeug": "werkzeug", "python-engineio": "python_engineio",
                  "python-socketio": "python_socketio", "flask-socketio": "flask_socketio",
                  "simple-websocket": "simple_websocket", "flask": "flask"}


def check_server(server: str) -> str:
    """*server* if it is one of :data:`SERVERS`; otherwise one clear :class:`WslabError`."""
    if server not in SERVERS:
        raise WslabError(f"unknown server {server!r} (choose from {', '.join(SERVERS)})")
    return server


def _drive_werkzeug(variant: str, log_path: Path, workload: Workload, debugger: bool,
                    redis_url: str | None) -> tuple[TrafficReport, list[Path], dict[str, int]]:
    with LabStack(variant, log_path=log_path, redis_url=redis_url, debugger=debugger) as stack:
        report = run_workload(stack, workload)
        seen = Counter(f"dropped: {d.error}" for d in stack.server.dropped)
        seen.update(f"reported: {e.exception}" for e in stack.server.reported)
    return report, [log_path], dict(sorted(seen.items()))


def _drive_gunicorn(variant: str, log_path: Path, workload: Workload,
                    redis_url: str | None) -> tuple[TrafficReport, list[Path], dict[str, int]]:
    from wslab.lab.gunicorn_server import GunicornServer

    with GunicornServer(variant, log_dir=log_path.parent, name=log_path.stem,
                        redis_url=redis_url or "fakeredis") as server:
        report = run_workload(server.url, workload)
        exits = server.wait_idle(60)["outcomes"]
        logs = [server.access_log, server.error_log]
    return report, logs, {f"raised: {k}": v for k, v in sorted(exits.items()) if k != "returned"}


def run_one(cell: str, variant: str, server: str, log_dir: Path, users: int,
            redis_url: str | None = None, kinds: Sequence[str] = KINDS) -> dict[str, Any]:
    """Run *variant* on *server* with *users* clients of each of *kinds*; one row.

    *kinds* is ``direct`` and ``upgrade`` by default; a kind left out runs no
    client, and its counts are all 0.  The row holds the cell's exact versions,
    the outcome counts of each kind of connection, the ``Bad request syntax``
    lines of the run's log, how many connect handlers saw the user signed in
    over HTTP, and ``server_side``: what the server saw that its log may not
    show, counted by kind and class name.  Under Werkzeug, ``dropped: <error>``
    for requests whose connection broke and ``reported: <exception>`` for
    tracebacks written to ``wsgi.errors`` (the debugger's); under gunicorn,
    ``raised: <exception>`` for the exceptions that left the app (e.g.
    ``StopIteration``).
    """
    get_variant(variant)
    check_server(server)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise WslabError(f"unknown connection kind {(unknown or [''])[0]!r} "
                         f"(choose from {', '.join(KINDS)})")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{cell}-{variant}.log"
    log_path.unlink(missing_ok=True)
    direct, upgrade = (users if "direct" in kinds else 0), (users if "upgrade" in kinds else 0)
    workload = Workload(ws_users=direct, upgrade_users=upgrade, concurrency=max(1, direct + upgrade))
    if server == "gunicorn-gthread":
        report, logs, server_side = _drive_gunicorn(variant, log_path, workload, redis_url)
    else:
        report, logs, server_side = _drive_werkzeug(variant, log_path, workload,
                                                    server == "werkzeug-debug", redis_url)
    parsed = parse_logs([str(path) for path in logs])  # each file in the format it is detected as
    outcomes = connection_outcomes(report, parsed)
    totals = report.totals()
    versions = stack_versions()
    return {
        "cell": cell,
        "variant": variant,
        "server": server,
        **{field: versions.get(package) for package, field in VERSION_FIELDS.items()},
        "direct": outcome_counts(outcomes, "direct"),
        "upgrade": outcome_counts(outcomes, "upgrade"),
        "bad_request_syntax_lines": summarize(parsed)["bad_request_syntax_lines"],
        "session_visible_in_handler": totals["session_seen_by_connect"],
        "socketio_users": direct + upgrade,
        "client_errors": totals["client_errors"],
        "server_side": server_side,
        "logs": [path.name for path in logs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one cell's variants on one server; print the rows as one JSON list."""
    parser = argparse.ArgumentParser(prog="python -m wslab.study.versions.cellrun", description=main.__doc__)
    parser.add_argument("--cell", required=True)
    parser.add_argument("--server", default="werkzeug")
    parser.add_argument("--variants", default="before")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--redis-url")
    parser.add_argument("--kinds", default=",".join(KINDS), help="direct, upgrade or both (default)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    return emit_rows(lambda: [run_one(args.cell, variant, args.server, args.log_dir, args.users,
                                      args.redis_url, kinds) for variant in args.variants.split(",")])


if __name__ == "__main__":
    sys.exit(main())
