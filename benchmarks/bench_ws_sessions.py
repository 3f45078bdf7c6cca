"""Benchmark: wall time for N direct WebSocket Socket.IO sessions, end to end.

Starts the lab stack (variant ``before`` by default), runs N simulated users
that connect over direct WebSocket, and stops the clock when the server has
finished and logged the last close.  Prints the figures; asserts nothing.

    python benchmarks/bench_ws_sessions.py [--users 50] [--concurrency 50] [--variant before]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from wslab.logs import parse_log
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload

TARGET_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--variant", default="before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "bench.log"
        with LabStack(args.variant, log_path=log) as stack:
            started = time.perf_counter()
            report = run_workload(stack, Workload(ws_users=args.users, concurrency=args.concurrency))
            elapsed = time.perf_counter() - started
        parsed = parse_log(log)
        server_errors = int(parsed.requests["server_error"].sum())
        seconds = sorted(u.seconds for u in report.users)
    print(f"variant                {args.variant}")
    print(f"direct WebSocket users {args.users} (concurrency {args.concurrency})")
    print(f"client errors          {report.totals()['client_errors']}")
    print(f"5xx lines logged       {server_errors}")
    print(f"per-user seconds       median {seconds[len(seconds) // 2]:.2f}, max {seconds[-1]:.2f}")
    print(f"wall time to last close logged  {elapsed:.2f} s (target ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if elapsed <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
