"""Time ``wslab experiment --out <tmp>`` end to end against its 60 s target.

Run with the incident venv's interpreter after ``make test-current`` has built
``.venv-current`` (otherwise the first run also builds it, which is not what
this measures)::

    .venv/bin/python benchmarks/bench_experiment.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0
ROOT = Path(__file__).resolve().parent.parent


def time_once(out: Path) -> tuple[float, list[dict]]:
    """Run the experiment once into *out*; return wall seconds and its rows."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "wslab", "experiment", "--out", str(out), "--json",
                           "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"wslab experiment failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds, json.loads(done.stdout)


def main() -> int:
    """Time the experiment *--repeat* times and print each figure and the worst against the target."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not (ROOT / ".venv-current" / ".installed").exists():
        print("note: .venv-current is not built yet; this run includes building it", file=sys.stderr)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    times = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="wslab-bench-") as tmp:
            seconds, rows = time_once(Path(tmp) / "out")
        times.append(seconds)
        print(f"run {i + 1}: {seconds:.1f} s for {len(rows)} cells")
    worst = max(times)
    verdict = "within" if worst <= TARGET_SECONDS else "OVER"
    print(f"wslab experiment: worst {worst:.1f} s, best {min(times):.1f} s on {cpus} CPU(s); "
          f"target {TARGET_SECONDS:.0f} s: {verdict}")
    return 0 if worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
