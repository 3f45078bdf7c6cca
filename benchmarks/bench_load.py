"""Benchmark: throughput, latency and Redis round trips per request, legacy vs fixed sessions.

For each variant (``before``: legacy interface, ``writeup-fix``: fixed
interface) starts the lab stack and runs N concurrent users for T seconds of
page traffic, then T seconds each of direct-WebSocket and long-polling
Socket.IO traffic (see :mod:`wslab.study.runs.load`).  Redis is ``REDIS_URL`` if set,
else a ``redis-server`` child process, else fakeredis; the script says which.
Prints the figures; asserts nothing.

    python benchmarks/bench_load.py [--users 8] [--seconds 5] [--variants before writeup-fix]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from wslab.study.runs.load import PHASES, LoadResult, run_load
from wslab.lab.stack import LabStack

INTERFACES = {"before": "legacy", "writeup-fix": "fixed"}

COLUMNS = (
    ("interface", "{:<9}"), ("requests", "{:>8}"), ("req/s", "{:>7.0f}"), ("p50 ms", "{:>7.2f}"),
    ("p99 ms", "{:>7.2f}"), ("5xx", "{:>4}"), ("reads/req", "{:>9.2f}"), ("writes/req", "{:>10.2f}"),
    ("dels/req", "{:>8.2f}"), ("sio requests", "{:>12}"), ("cmds/sio req", "{:>12.2f}"),
)


def table_row(interface: str, result: LoadResult) -> list[str]:
    """Format one variant's figures: the page phase, plus Redis commands per Socket.IO request."""
    pages = result.phases["pages"]
    socketio = [p for name, p in result.phases.items() if name != "pages"]
    sio_requests = sum(p.requests for p in socketio)
    sio_commands = sum(p.redis_commands() or 0 for p in socketio)
    values = (interface, pages.requests, pages.throughput, pages.latency_ms(50), pages.latency_ms(99),
              pages.server_errors(), pages.per_request("redis_reads"), pages.per_request("redis_writes"),
              pages.per_request("redis_deletes"), sio_requests,
              sio_commands / sio_requests if sio_requests else float("nan"))
    return [fmt.format(value) for (_, fmt), value in zip(COLUMNS, values)]


def print_table(rows: list[list[str]]) -> None:
    """Print the header and the rows, columns as wide as their header."""
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, (name, _) in enumerate(COLUMNS)]
    print("  ".join(name.rjust(w) if i else name.ljust(w)
                    for i, ((name, _), w) in enumerate(zip(COLUMNS, widths))))
    for row in rows:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))


def print_phases(interface: str, result: LoadResult) -> None:
    """Print every phase of one variant: latency and Redis commands per request."""
    for name, phase in result.phases.items():
        per = phase.per_request("commands")
        print(f"  {interface:<6} {name:<9} {phase.requests:>6} requests  {phase.throughput:>7.0f}/s  "
              f"p50 {phase.latency_ms(50):6.2f} ms  p99 {phase.latency_ms(99):6.2f} ms  "
              f"Redis commands/request {per:.2f}  server HTTP requests {phase.server_requests}  "
              f"client errors {len(phase.errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--variants", nargs="+", default=list(INTERFACES), choices=list(INTERFACES))
    args = parser.parse_args()
    results: dict[str, LoadResult] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            with LabStack(variant, log_path=Path(tmp) / f"{variant}.log") as stack:
                print(f"{variant}: {stack.redis.description}")
                results[INTERFACES[variant]] = run_load(stack, args.users, args.seconds, mix=PHASES)
    print(f"\n{args.users} concurrent users, {args.seconds:g} s per phase "
          f"(pages: half signed in, half anonymous; Socket.IO: direct WebSocket, then polling)\n")
    print_table([table_row(name, result) for name, result in results.items()])
    print("\nper phase:")
    for name, result in results.items():
        print_phases(name, result)


if __name__ == "__main__":
    main()
