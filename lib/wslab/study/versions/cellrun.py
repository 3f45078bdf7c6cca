"""One matrix cell in this interpreter: variants on one server, one outcome per connection.

A cell of the factor matrix (:mod:`wslab.study.versions.matrix`) is a set of package
versions (the interpreter this runs in) and a server.  For each variant this
module starts a fresh stack on that server, runs *users* direct-WebSocket and
*users* upgrading Socket.IO clients at once (``--kinds direct`` runs the direct
ones only), waits until the server has ended and logged every connection, and
joins the clients' record with the log (:mod:`wslab.study.runs.outcomes`).

Servers are named as :data:`wslab.model.servers.SERVERS` names them, and each
is run through the registry of :mod:`wslab.lab.servers` inside a
:class:`wslab.lab.stack.LabStack`: ``werkzeug`` (Werkzeug's threaded dev
server, as ``socketio.run(app)`` serves in threading mode), ``werkzeug-debug``
(the same with the debugger on, as ``socketio.run(app, debug=True)``) and
``gunicorn-gthread`` (gunicorn's gthread worker, ``-w 1 --threads N``, as a
child process).  A server added to the registry runs here unchanged.

The matrix runs this module in each cell's environment and reads its rows,
one JSON list on stdout::

    python -m wslab.study.versions.cellrun --cell incident --server werkzeug \\
        --variants before,guard --users 4 --log-dir out/logs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wslab.app.variants import get_variant
from wslab.errors import WslabError
from wslab.lab import servers
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload
from wslab.logs import parse_logs, summarize
from wslab.model.kinds import ConnectionKind
from wslab.model.packages import VERSION_FIELDS
from wslab.model.servers import SERVERS
from wslab.study.runs.envrun import emit_rows
from wslab.study.runs.outcomes import connection_outcomes, outcome_counts
from wslab.versions import stack_versions

#: The kinds of Socket.IO connection a row can run (:class:`wslab.model.kinds.ConnectionKind`).
KINDS: tuple[str, ...] = tuple(kind.value for kind in ConnectionKind)

#: How long the server may take to end and log every connection after the clients are done.
IDLE_TIMEOUT = 60.0


def check_server(server: str) -> str:
    """*server* if the registry of :mod:`wslab.lab.servers` has it; otherwise one clear :class:`WslabError`."""
    servers.factory(server)
    return server


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
    direct = users if ConnectionKind.DIRECT in kinds else 0
    upgrade = users if ConnectionKind.UPGRADE in kinds else 0
    workload = Workload(ws_users=direct, upgrade_users=upgrade, concurrency=max(1, direct + upgrade))
    with LabStack(variant, log_path=log_path, redis_url=redis_url, server=server) as stack:
        report = run_workload(stack.url, workload)
        idle = stack.wait_idle(IDLE_TIMEOUT)
        logs = stack.server.logs
    parsed = parse_logs([str(path) for path in logs])  # each file in the format it is detected as
    outcomes = connection_outcomes(report, parsed)
    totals = report.totals()
    versions = stack_versions()
    return {
        "cell": cell,
        "variant": variant,
        "server": server,
        **{field: versions.get(package) for package, field in VERSION_FIELDS.items()},
        **{kind.value: outcome_counts(outcomes, kind) for kind in ConnectionKind},
        "bad_request_syntax_lines": summarize(parsed)["bad_request_syntax_lines"],
        "session_visible_in_handler": totals["session_seen_by_connect"],
        "socketio_users": direct + upgrade,
        "client_errors": totals["client_errors"],
        "server_side": idle.server_side,
        "logs": [path.name for path in logs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one cell's variants on one server; print the rows as one JSON list."""
    parser = argparse.ArgumentParser(prog="python -m wslab.study.versions.cellrun", description=main.__doc__)
    parser.add_argument("--cell", required=True)
    parser.add_argument("--server", default=SERVERS[0], help=f"{', '.join(SERVERS)} (default: {SERVERS[0]})")
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
