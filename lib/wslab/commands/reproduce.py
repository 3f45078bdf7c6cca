"""``wslab reproduce``: run the lab stack with one variant, drive users, count what was logged."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wslab.app.variants import VARIANTS
from wslab.commands.options import add_redis_url, add_variant, port, whole_number
from wslab.errors import WslabError
from wslab.study.runs.variant_run import run_variant

NAME = "reproduce"
HELP = ("Start the in-process stack with one variant, drive simulated users over real "
        "clients, and report what the log now holds.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab reproduce``."""
    add_variant(parser)
    parser.add_argument("--ws-users", type=whole_number(), default=10, metavar="N",
                        help="users connecting over direct WebSocket (default: 10)")
    parser.add_argument("--upgrade-users", type=whole_number(), default=5, metavar="M",
                        help="users connecting with polling, then upgrading (default: 5)")
    parser.add_argument("--polling-users", type=whole_number(), default=0, metavar="P",
                        help="users staying on long-polling (default: 0)")
    parser.add_argument("--http-users", type=whole_number(), default=10, metavar="K",
                        help="users using plain HTTP pages only (default: 10)")
    parser.add_argument("--concurrency", type=whole_number(), default=16, metavar="C",
                        help="users running at once (default: 16)")
    parser.add_argument("--log", required=True, metavar="PATH",
                        help="log file to append to; only this run's lines are counted")
    add_redis_url(parser)
    parser.add_argument("--port", type=port, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the reproduction and print what was sent and what was logged."""
    if args.variant not in VARIANTS:
        raise WslabError(f"unknown variant {args.variant!r} (choose from {', '.join(VARIANTS)})")
    if args.concurrency < 1:
        raise WslabError("--concurrency must be at least 1")
    if Path(args.log).is_dir():
        raise WslabError(f"--log {args.log} is a directory")
    result = run_variant(args.variant, args.log, ws_users=args.ws_users,
                         upgrade_users=args.upgrade_users, polling_users=args.polling_users,
                         http_users=args.http_users, concurrency=args.concurrency,
                         redis_url=args.redis_url, port=args.port,
                         progress=not args.no_progress and sys.stderr.isatty())
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(render_text(result))
    return 0


def render_text(result: dict[str, Any]) -> str:
    """The human-readable report of one run."""
    sent, log = result["sent"], result["log"]
    lines = [
        f"variant   {result['variant']} — {result['variant_summary']}",
        f"redis     {result['redis']}",
        f"versions  {', '.join(f'{k} {v}' for k, v in result['versions'].items())}",
        "",
        "sent      " + ", ".join(f"{n} {k} user(s)" for k, n in sent["users"].items()),
        f"          {sent['http_requests']} page requests (+1 readiness probe by the lab); "
        "Socket.IO connections "
        + ", ".join(f"{k} {n}" for k, n in sent["socketio_connections"].items())
        + f"; client errors {sent['client_errors']}",
        "",
        f"log       {result['log_path']} (this run: {log['request_lines']} request lines)",
        f"          5xx lines: {log['server_errors']}   "
        f"'write() before start_response' tracebacks: {log['write_before_start_response']}   "
        f"'Bad request syntax' lines: {log['bad_request_syntax_lines']}",
        f"          {log['error_rate_definition']}: {log['error_rate']:.3f}",
        "",
        f"{'request kind':<32}{'requests':>9}{'5xx':>6}{'tracebacks':>12}",
    ]
    for row in log["by_kind"]:
        lines.append(f"{row['kind']:<32}{row['requests']:>9}{row['server_errors']:>6}"
                     f"{row['write_before_start_response']:>12}")
    return "\n".join(lines)
