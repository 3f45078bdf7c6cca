"""Benchmark: wall time of ``make test``, phase by phase, with the virtualenvs already built.

Runs each phase of ``make test`` (``test-lib``, ``nbval``, ``test-current``) as
``make`` runs it, prints each phase's time and pytest's closing line, and the
total against the 6-minute target; asserts nothing.  Each phase's whole output
(stdout and stderr) is kept in ``reports/bench/make-test-<time>/<phase>.log``;
for a phase that fails, the failed tests' ids (pytest's ``FAILED``/``ERROR``
summary lines) are printed below its figures, with the path of its log.  Build
the virtualenvs first (``make install .venv-current/.installed``), or the first
phase pays for them.  The phases run in this process's environment, unchanged:
a ``PIP_*`` variable set here would reach every ``pip`` the tests run.

    python benchmarks/bench_make_test.py
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("test-lib", "nbval", "test-current")
TARGET_SECONDS = 6 * 60.0
LOGS_ROOT = ROOT / "reports" / "bench"

#: pytest's short test summary lines (``-rf``/``-rE``, on by default): ``FAILED id - reason``.
SUMMARY_LINE = re.compile(r"^(?:FAILED|ERROR) \S")
#: The heading of each failure's traceback section: ``____ test_name[param] ____``,
#: ``____ ERROR at setup of test_name ____``.
SECTION_HEADING = re.compile(r"^_{3,} (.+?) _{3,}$")


def closing_line(output: str) -> str:
    """pytest's last summary line in *output* (``N passed ... in S s``)."""
    lines = [line for line in output.splitlines() if " in " in line and ("passed" in line or "failed" in line)]
    return lines[-1].strip("= ") if lines else "(no pytest summary)"


def failed_ids(output: str) -> list[str]:
    """pytest's ``FAILED ...`` and ``ERROR ...`` short-summary lines in *output*, in order.

    A run whose ``-r`` option leaves out ``f`` and ``E`` (``-rs`` alone) prints no such
    line; the failures' section headings (test name, no file) are given instead.
    """
    lines = output.splitlines()
    summary = [line.strip() for line in lines if SUMMARY_LINE.match(line)]
    return summary or [f"failure section: {m[1]}" for m in map(SECTION_HEADING.match, lines) if m]


def main() -> None:
    total = 0.0
    logs = LOGS_ROOT / f"make-test-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    print(f"full output of each phase in {logs.relative_to(ROOT)}/")
    for phase in PHASES:
        log = logs / f"{phase}.log"
        started = time.perf_counter()
        with log.open("w") as out:
            done = subprocess.run(["make", "--no-print-directory", phase], cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT, text=True)
        elapsed = time.perf_counter() - started
        total += elapsed
        output = log.read_text(errors="replace")
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        print(f"{phase:<13} {elapsed:7.1f} s  {status:<10} {closing_line(output)}")
        if done.returncode != 0:
            for line in failed_ids(output) or ["(no FAILED/ERROR summary line; see the log)"]:
                print(f"{'':<15}{line}")
            print(f"{'':<15}full log: {log.relative_to(ROOT)}")
    print(f"{'make test':<13} {total:7.1f} s  (target ≤ {TARGET_SECONDS:.0f} s: "
          f"{'met' if total <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
