"""Benchmark: wall time of the whole nbval run (what ``make nbval`` runs).

Prints the time against the 90 s target; asserts nothing.

    python benchmarks/bench_nbval.py
"""

from __future__ import annotations

import glob
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90.0


def main() -> None:
    notebooks = sorted(glob.glob(str(ROOT / "notebooks" / "[0-9]*.ipynb")))
    notebooks += sorted(glob.glob(str(ROOT / "notebooks" / "exercises" / "*.ipynb")))
    notebooks += sorted(glob.glob(str(ROOT / "notebooks" / "exercises" / "solutions" / "*.ipynb")))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                           "--nbval-current-env", "--nbval-sanitize-with",
                           str(ROOT / "notebooks" / "nbval_sanitize.cfg"), *notebooks],
                          cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(no output)"
    print(f"notebooks      {len(notebooks)}")
    print(f"pytest says    {summary}")
    print(f"wall time      {elapsed:.1f} s (target ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if elapsed <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
