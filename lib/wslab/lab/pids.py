"""A record of the processes the kit started, so that ``make reset`` stops those and no others.

Each long-lived process the kit starts (``wslab serve``, a ``redis-server``
child, an experiment's subprocess) is registered as one small JSON file in
:func:`wslab.paths.run_dir`, holding its pid and its start time as the kernel
reports it (``/proc/PID/stat``, field 22).  A pid is only ever stopped if a
process with that pid is alive *and* started at the recorded moment, so a pid
the system has since given to another program is left alone.  Nothing here
looks at command lines or process names.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from wslab.paths import run_dir


@dataclass(frozen=True)
class Started:
    """One process the kit started: its pid, kernel start time and what it is."""

    pid: int
    start_ticks: int
    what: str


def start_ticks(pid: int) -> int | None:
    """When *pid* started, in clock ticks since boot (``None`` if no such process, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # exited, waiting to be reaped: nothing left to stop
        return None
    return int(fields[19])


def is_running(record: Started) -> bool:
    """Whether the process *record* describes is still the one alive under its pid."""
    return start_ticks(record.pid) == record.start_ticks


def _path(pid: int, folder: Path | None = None) -> Path:
    return (folder or run_dir()) / f"{pid}.json"


def register(pid: int, what: str, folder: Path | None = None) -> Started | None:
    """Record that the kit started *pid*; return the record (``None`` if it already exited)."""
    ticks = start_ticks(pid)
    if ticks is None:
        return None
    record = Started(pid, ticks, what)
    path = _path(pid, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record)) + "\n")
    return record


def unregister(pid: int, folder: Path | None = None) -> None:
    """Forget *pid* (it has exited, or is about to)."""
    _path(pid, folder).unlink(missing_ok=True)


@contextmanager
def registered(pid: int, what: str, folder: Path | None = None) -> Iterator[Started | None]:
    """Keep *pid* registered for the duration of the ``with`` block."""
    record = register(pid, what, folder)
    try:
        yield record
    finally:
        unregister(pid, folder)


def records(folder: Path | None = None) -> list[Started]:
    """Every registered process, alive or not; damaged files are removed."""
    found = []
    for path in sorted((folder or run_dir()).glob("*.json")):
        try:
            found.append(Started(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
    return found


def stop_all(folder: Path | None = None, timeout: float = 5.0) -> list[Started]:
    """Stop every registered process that is still the one the kit started; return those stopped.

    SIGTERM first; a process still alive after *timeout* seconds gets SIGKILL.
    Records of processes that have gone (or whose pid now belongs to another
    program) are removed without touching anything.
    """
    alive = [r for r in records(folder) if is_running(r)]
    for record in records(folder):
        if record not in alive:
            unregister(record.pid, folder)
    for record in alive:
        _signal(record, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(is_running(r) for r in alive) and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in alive:
        if is_running(record):
            _signal(record, signal.SIGKILL)
        unregister(record.pid, folder)
    return alive


def _signal(record: Started, sig: signal.Signals) -> None:
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        pass
