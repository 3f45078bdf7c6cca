"""Run cells in a subprocess of some interpreter, and read their rows back.

One interpreter holds one version of each package and runs one lab stack at a
time, so the kit runs cells in subprocesses: :func:`launch` starts ``python -m
MODULE ...`` with a given interpreter, its pid registered (so ``make reset``
can stop it); the module prints its rows as one JSON list on stdout, and
:func:`collect` reads them back.  The experiment runs this module that way, one
subprocess per variant, side by side (:func:`start`); the factor matrix runs
:mod:`wslab.study.versions.cellrun` in each cell's environment.

This module's own entry point runs one variant once per transport (one stack
per cell, see :func:`wslab.study.runs.cells.run_cell`)::

    .venv/bin/python -m wslab.study.runs.envrun --variant before --log-dir out/logs --users 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wslab.errors import WslabError
from wslab.lab import pids


@dataclass
class Job:
    """A running subprocess and the file collecting its stderr."""

    label: str
    process: subprocess.Popen
    stderr: IO[str]


def start(python: str | Path, variant: str, transports: Sequence[str], log_dir: Path, users: int,
          redis_url: str | None = None, label: str | None = None) -> Job:
    """Start *variant*'s cells under *python* in the background; read them with :func:`collect`."""
    label = label or variant
    arguments = ["--variant", variant, "--label", label, "--log-dir", str(log_dir),
                 "--users", str(users), "--transports", ",".join(transports)]
    if redis_url:
        arguments += ["--redis-url", redis_url]
    return launch(python, "wslab.study.runs.envrun", arguments, label)


def launch(python: str | Path, module: str, arguments: Sequence[str], label: str) -> Job:
    """Start ``python -m module arguments`` in the background, its pid registered.

    The module prints its rows as one JSON list on stdout; :func:`collect` reads them.
    """
    stderr = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([str(python), "-m", module, *arguments], stdout=subprocess.PIPE,
                               stderr=stderr, text=True)
    pids.register(process.pid, f"{label} cells")
    return Job(label, process, stderr)


def collect(job: Job, timeout: float = 300.0) -> list[dict[str, Any]]:
    """Wait for *job* and return its rows; any failure is one :class:`WslabError`."""
    try:
        stdout, _ = job.process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        job.process.kill()
        job.process.communicate()
        raise WslabError(f"the {job.label} run did not finish within {timeout:.0f} s") from None
    finally:
        pids.unregister(job.process.pid)
        job.stderr.seek(0)
        errors = [line for line in job.stderr.read().splitlines() if line.strip()]
        job.stderr.close()
    if job.process.returncode != 0:
        last = errors[-1] if errors else "(no output)"
        raise WslabError(f"the {job.label} run failed (exit {job.process.returncode}): {last}")
    return json.loads(stdout)


def stop(job: Job) -> None:
    """Stop *job* if it is still running (used when the experiment is interrupted)."""
    if job.process.poll() is None:
        job.process.terminate()
        try:
            job.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            job.process.kill()
            job.process.wait()
    pids.unregister(job.process.pid)
    if job.process.stdout is not None:
        job.process.stdout.close()
    job.stderr.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Subprocess entry point: run one variant per transport and print the rows as JSON."""
    from wslab.study.runs.cells import TRANSPORTS, run_cells

    parser = argparse.ArgumentParser(prog="python -m wslab.study.runs.envrun", description=main.__doc__)
    parser.add_argument("--variant", default="before")
    parser.add_argument("--label")
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)
    return emit_rows(lambda: run_cells(args.variant, args.transports.split(","), args.log_dir,
                                       args.users, args.redis_url, label=args.label))


def emit_rows(produce: Callable[[], list[dict[str, Any]]]) -> int:
    """A subprocess's end: print *produce*'s rows as one JSON list, or its error as one line.

    Returns the exit code (0, or the :class:`WslabError`'s) for ``sys.exit``.
    """
    try:
        rows = produce()
    except WslabError as exc:
        print(f"wslab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    json.dump(rows, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
