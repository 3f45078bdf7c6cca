"""``wslab experiment``: every variant crossed with every transport, as tables and charts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from wslab.commands.options import add_redis_url, whole_number
from wslab.errors import WslabError
from wslab.study.runs.experiment import (
    TRANSPORTS,
    VARIANT_ORDER,
    Plan,
    json_rows,
    run_experiment,
    text_table,
    write_outputs,
)

NAME = "experiment"
HELP = ("Run one workload across the variants (no-session, before, writeup-fix, guard) "
        "and transports (websocket, upgrade, polling, http); write results.csv, results.json, "
        "per-cell logs and charts to --out.")


def _names(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return names
    return parse


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0.5 <= seconds <= 600:
        raise argparse.ArgumentTypeError("must be between 0.5 and 600 seconds")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab experiment``."""
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--json", action="store_true",
                        help="print the rows as one JSON list instead of a text table")
    parser.add_argument("--users", type=whole_number(1), default=4, metavar="N",
                        help="simulated users per cell, all at once (default: 4)")
    parser.add_argument("--variants", type=_names(VARIANT_ORDER), default=VARIANT_ORDER,
                        metavar="A,B", help=f"comma-separated subset of {', '.join(VARIANT_ORDER)}")
    parser.add_argument("--transports", type=_names(TRANSPORTS), default=TRANSPORTS,
                        metavar="A,B", help=f"comma-separated subset of {', '.join(TRANSPORTS)}")
    add_redis_url(parser)
    parser.add_argument("--hot-apply", action="store_true",
                        help="also run the hot-apply run (fixes applied while traffic flows): "
                             "hot_apply.png, hot_apply.csv, logs/hot-apply.log")
    parser.add_argument("--phase-seconds", type=_seconds, default=8.0, metavar="S",
                        help="length of each phase of the hot-apply run (default: 8)")
    parser.add_argument("--sequential", action="store_true",
                        help="run the incident-pins variants one after another in this process "
                             "(default: one subprocess per variant, side by side)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the experiment and print its table (or JSON rows)."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise WslabError(f"--out {out} exists and is not a directory")
    progress = not args.no_progress and sys.stderr.isatty()
    plan = Plan(out, variants=args.variants, transports=args.transports, users=args.users,
                redis_url=args.redis_url)
    table = run_experiment(plan, progress=progress, parallel=not args.sequential)
    paths = write_outputs(table, out)
    if args.hot_apply:
        from wslab.study.runs.hot_apply import run_hot_apply

        hot = run_hot_apply(out, phase_seconds=args.phase_seconds, redis_url=args.redis_url,
                            progress=progress)
        paths.update(hot["paths"])
    if args.json:
        print(json.dumps(json_rows(table), indent=2))
        return 0
    print(text_table(table))
    print()
    print("seen@connect: fraction of Socket.IO users whose connect handler saw the logged-in user")
    print("sio write→http: fraction whose Socket.IO session write was visible over HTTP afterwards")
    for name, path in paths.items():
        print(f"{name:<17}{path}")
    return 0
