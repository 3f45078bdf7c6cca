"""Run a variant's cells in another interpreter, above all the current pins for ``upgraded``.

One interpreter holds one version of each package, so the current pins
(``requirements/current.txt``) live in ``.venv-current`` at the repository root.
:func:`ensure_current_venv` creates it on first use (as ``make test-current``
does) and reuses it afterwards.

:func:`start` runs this module as a subprocess of a given interpreter; the
subprocess runs one variant once per transport (one stack per cell, see
:func:`wslab.study.cells.run_cell`) and prints the rows as one JSON list on
stdout; :func:`collect` reads them back.  ``upgraded`` is the ``before`` stack
run this way under ``.venv-current`` with its rows labelled ``upgraded``
(:data:`UPGRADED`).  The experiment also starts the incident-pins variants this
way, one subprocess each, so that they run side by side (one lab stack per
process).

By hand::

    .venv-current/bin/python -m wslab.study.envrun --variant before --label upgraded \\
        --log-dir out/logs --users 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import wslab
from wslab.errors import WslabError
from wslab.lab import pids

VENV_NAME = ".venv-current"
REQUIREMENTS = Path("requirements") / "current.txt"
MARKER = ".installed"
#: The variant the current-pins run starts, and the label its rows get.
UPGRADED = ("before", "upgraded")


@dataclass
class Job:
    """A running subprocess and the file collecting its stderr."""

    label: str
    process: subprocess.Popen
    stderr: IO[str]


def repo_root() -> Path:
    """The repository the package is installed from (two levels above ``lib/wslab``).

    Raises :class:`WslabError` if ``requirements/current.txt`` is not there
    (e.g. the package was installed from a wheel, not from a clone).
    """
    root = Path(wslab.__file__).resolve().parent.parent.parent
    if not (root / REQUIREMENTS).is_file():
        raise WslabError(f"{REQUIREMENTS} not found under {root}: the 'upgraded' variant "
                         "needs a clone of the repository")
    return root


def venv_python(root: Path) -> Path:
    """The interpreter of the current-pins venv under *root*."""
    return root / VENV_NAME / "bin" / "python"


def _base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


def _run_step(command: list[str], root: Path) -> None:
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        raise WslabError(f"building {VENV_NAME} failed ({' '.join(command[:4])} ...): {lines[-1]}")


def ensure_current_venv(root: Path | None = None) -> Path:
    """Return the current-pins interpreter, creating ``.venv-current`` first if needed."""
    root = root or repo_root()
    venv = root / VENV_NAME
    python = venv_python(root)
    if python.exists() and (venv / MARKER).exists():
        return python
    print(f"wslab: creating {VENV_NAME} with the current pins ({REQUIREMENTS}); this takes "
          "a few minutes once and is reused afterwards", file=sys.stderr, flush=True)
    if not python.exists():
        _run_step([_base_python(), "-m", "venv", str(venv)], root)
    _run_step([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS), "-e", "."], root)
    (venv / MARKER).touch()
    print(f"wslab: {VENV_NAME} is ready", file=sys.stderr, flush=True)
    return python


def start(python: str | Path, variant: str, transports: Sequence[str], log_dir: Path, users: int,
          redis_url: str | None = None, label: str | None = None) -> Job:
    """Start *variant*'s cells under *python* in the background; read them with :func:`collect`."""
    label = label or variant
    command = [str(python), "-m", "wslab.study.envrun", "--variant", variant, "--label", label,
               "--log-dir", str(log_dir), "--users", str(users), "--transports", ",".join(transports)]
    if redis_url:
        command += ["--redis-url", redis_url]
    stderr = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
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


def run_upgraded(transports: Sequence[str], log_dir: Path, users: int,
                 redis_url: str | None = None) -> list[dict[str, Any]]:
    """Create or reuse ``.venv-current`` and run the ``upgraded`` cells there (blocking)."""
    variant, label = UPGRADED
    return collect(start(ensure_current_venv(), variant, transports, log_dir, users, redis_url, label))


def main(argv: Sequence[str] | None = None) -> int:
    """Subprocess entry point: run one variant per transport and print the rows as JSON."""
    from wslab.study.cells import TRANSPORTS, run_cells

    parser = argparse.ArgumentParser(prog="python -m wslab.study.envrun", description=main.__doc__)
    parser.add_argument("--variant", default=UPGRADED[0])
    parser.add_argument("--label", default=UPGRADED[1])
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--redis-url")
    args = parser.parse_args(argv)
    try:
        rows = run_cells(args.variant, args.transports.split(","), args.log_dir, args.users,
                         args.redis_url, label=args.label)
    except WslabError as exc:
        print(f"wslab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    json.dump(rows, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
