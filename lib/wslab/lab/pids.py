"""A record of the processes the kit started, so that ``make reset`` stops those and no others.

Each long-lived process the kit starts (``wslab serve``, a ``redis-server``
child, an experiment's subprocess) is registered as one small JSON file in
:func:`wslab.paths.run_dir`, holding its pid and its start time
(:meth:`psutil.Process.create_time`).  A pid is only ever stopped if a process
with that pid is alive (not a zombie) *and* started at the recorded moment, so
a pid the system has since given to another program is left alone.  Nothing
here looks at command lines or process names.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from wslab.paths import run_dir
from wslab.waiting import WaitTimeout, wait_until


@dataclass(frozen=True)
class Started:
    """One process the kit started: its pid, start time and what it is."""

    pid: int
    started: float  #: :meth:`psutil.Process.create_time`, seconds since the epoch
    what: str


def start_time(pid: int) -> float | None:
    """When *pid* started (``None`` if no such process, or a zombie: exited, waiting to be reaped)."""
    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return None
        return process.create_time()
    except psutil.Error:
        return None


def is_running(record: Started) -> bool:
    """Whether the process *record* describes is still the one alive under its pid."""
    return start_time(record.pid) == record.started


def _path(pid: int, folder: Path | None = None) -> Path:
    return (folder or run_dir()) / f"{pid}.json"


def register(pid: int, what: str, folder: Path | None = None) -> Started | None:
    """Record that the kit started *pid*; return the record (``None`` if it already exited)."""
    started = start_time(pid)
    if started is None:
        return None
    record = Started(pid, started, what)
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
    try:
        wait_until(lambda: not any(is_running(r) for r in alive), timeout)
    except WaitTimeout:
        pass  # the ones still running get SIGKILL
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
