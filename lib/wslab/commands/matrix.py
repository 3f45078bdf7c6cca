"""``wslab matrix``: the factor matrix, one outcome per connection, conclusions from the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wslab.commands.options import whole_number
from wslab.model.records import MatrixRow
from wslab.study.versions.matrix import RESULT_FILE, conclusions, design, rows_of, run_matrix, select
from wslab.teach.matrix_charts import plot_outcomes, plot_session_visibility

#: The charts written next to the result, by file name.
CHARTS = ("outcomes_direct.png", "outcomes_upgrade.png", "sessions.png")

NAME = "matrix"
HELP = ("Change one thing at a time (Werkzeug, python-engineio, the debugger, gunicorn) and count "
        "what each direct and upgraded WebSocket ends as; each cell in its own cached env. Writes "
        f"{RESULT_FILE}, per-row logs and charts to --out.")

_COLUMNS = (("cell", 26), ("server", 16), ("variant", 11), ("werkzeug", 8), ("engineio", 8),
            ("direct 500", 10), ("101", 5), ("not logged", 10), ("400", 5), ("upgrade 500", 11),
            ("session", 7))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab matrix``."""
    parser.add_argument("--out", required=True, metavar="DIR", type=Path, help="output directory")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    parser.add_argument("--users", type=whole_number(1), default=4, metavar="N",
                        help="direct and upgrading clients per row, N of each (default: 4)")
    parser.add_argument("--jobs", type=whole_number(1), default=2, metavar="N",
                        help="cells run at once (default: 2)")
    parser.add_argument("--cells", metavar="A,B", help="comma-separated subset of: "
                        + ", ".join(c.name for c in design()))
    parser.add_argument("--servers", metavar="A,B",
                        help="only the cells on these servers: werkzeug, werkzeug-debug, gunicorn-gthread")
    parser.add_argument("--redis-url", metavar="URL", default="fakeredis",
                        help="Redis for the sessions: a redis:// URL or 'fakeredis' (default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


def _k(row: MatrixRow, kind: str, key: str) -> str:
    counts = row.counts[kind]
    return f"{counts[key]}/{counts['connections']}"


def text_table(rows: list[dict[str, Any]]) -> str:
    """The rows (as ``matrix.json`` holds them) as a fixed-width table, counts as k/n."""
    lines = ["  ".join(name.ljust(width) for name, width in _COLUMNS).rstrip()]
    for r in map(MatrixRow.from_dict, rows):
        cells = [r.cell, r.server, r.variant, r.werkzeug, r.python_engineio,
                 _k(r, "direct", "status_500"), _k(r, "direct", "status_101"),
                 _k(r, "direct", "not_logged"), _k(r, "direct", "status_400"),
                 _k(r, "upgrade", "status_500"),
                 f"{r.session_visible_in_handler}/{r.socketio_users}"]
        lines.append("  ".join(str(c).ljust(w) for c, (_, w) in zip(cells, _COLUMNS)).rstrip())
    return "\n".join(lines)


def _save_charts(rows: list[dict[str, Any]], out: Path) -> None:
    figures = (plot_outcomes(rows),
               plot_outcomes(rows, "upgrade", "How does each upgraded WebSocket end, cell by cell?"),
               plot_session_visibility(rows))
    for name, figure in zip(CHARTS, figures):
        figure.savefig(out / name, dpi=120)


def run(args: argparse.Namespace) -> int:
    """Run the matrix and print its table and conclusions (or JSON rows)."""
    names = [n.strip() for n in args.cells.split(",") if n.strip()] if args.cells else None
    servers = [s.strip() for s in args.servers.split(",") if s.strip()] if args.servers else None
    cells = select(design(), names, servers)
    how = f"wslab matrix --out {args.out.name} --users {args.users}"
    how += f" --cells {args.cells}" if args.cells else ""
    how += f" --servers {args.servers}" if args.servers else ""
    results = run_matrix(args.out, cells, users=args.users, jobs=args.jobs,
                         redis_url=args.redis_url, progress=not args.no_progress, command=how)
    rows = rows_of(results)
    failed = [r for r in results if r.error]
    if rows:
        _save_charts(rows, args.out)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(text_table(rows))
        for r in failed:
            print(f"cell {r.cell.name} failed: {r.error}")
        print()
        for c in conclusions(rows):
            print(f"{c['question']}\n  {c['answer']}: {c['measured']}")
        print(f"\nrows and how they were made: {args.out / RESULT_FILE}; charts: {', '.join(CHARTS)}")
    return 1 if failed else 0
