"""Benchmark: wall time of ``make test``, phase by phase, with the virtualenvs already built.

Runs each phase of ``make test`` (``test-lib``, ``nbval``, ``test-current``) as
``make`` runs it, prints each phase's time and pytest's closing line, and the
total against the 6-minute target; asserts nothing.  Build the virtualenvs
first (``make install .venv-current/.installed``), or the first phase pays for
them.

    python benchmarks/bench_make_test.py
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("test-lib", "nbval", "test-current")
TARGET_SECONDS = 6 * 60.0


def closing_line(output: str) -> str:
    """pytest's last summary line in *output* (``N passed ... in S s``)."""
    lines = [line for line in output.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
    return lines[-1].strip("= ") if lines else "(no pytest summary)"


def main() -> None:
    total = 0.0
    env = {**os.environ, "PIP_QUIET": "-q"}
    for phase in PHASES:
        started = time.perf_counter()
        done = subprocess.run(["make", "--no-print-directory", phase], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        total += elapsed
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"{phase:<13} {elapsed:7.1f} s  {status:<10} {closing_line(done.stdout)}")
    print(f"{'make test':<13} {total:7.1f} s  (target ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if total <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
