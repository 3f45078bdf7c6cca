"""Benchmark: wall time of the whole factor matrix with its environments already built.

Builds (or reuses) every cell's environment first, untimed, then runs the whole
matrix as ``wslab matrix`` does (4 direct and 4 upgrading clients per row, 2
cells at a time) and prints the time of each cell, the total and the target of
90 s; asserts nothing.

    python benchmarks/bench_matrix.py [--users N] [--jobs N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from wslab.lab import envs
from wslab.study.versions import matrix

TARGET_SECONDS = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    cells = matrix.design()
    for pins in {tuple(c.pins().lines()): c.pins() for c in cells}.values():
        envs.build(pins, progress=False)
    with tempfile.TemporaryDirectory(prefix="wslab-bench-matrix-") as out:
        started = time.perf_counter()
        results = matrix.run_matrix(Path(out), cells, users=args.users, jobs=args.jobs, progress=False)
        total = time.perf_counter() - started
    for result in results:
        status = "ok" if result.error is None else f"FAILED: {result.error}"
        print(f"{result.cell.name:<28} {result.seconds:6.1f} s  {status}")
    verdict = "within" if total <= TARGET_SECONDS else "over"
    print(f"{'whole matrix':<28} {total:6.1f} s  ({verdict} the {TARGET_SECONDS:.0f} s target, "
          f"{len(cells)} cells, {args.jobs} at a time, {args.users}+{args.users} clients per row)")


if __name__ == "__main__":
    main()
