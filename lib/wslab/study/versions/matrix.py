"""The factor matrix: which change removes the 500, and on which server.

The incident's stack differs from today's in two packages that both touch the
failing request, Werkzeug (which asserts) and python-engineio (which ends the
WebSocket without a response).  Upgrading both at once cannot say which one
mattered, so the matrix changes one thing at a time.  Each cell is a pair of
versions and a server (:data:`~wslab.study.versions.cellrun.SERVERS`); every other
package is left to the installer, which takes the newest release compatible
with the two pins, and the versions it chose are recorded in the cell's rows.

==============================  ==========  ===============  =================
cell                            Werkzeug    python-engineio  server
==============================  ==========  ===============  =================
``incident``                    incident    incident         ``werkzeug``
``engineio-current``            incident    current          ``werkzeug``
``werkzeug-current``            current     incident         ``werkzeug``
``both-current``                current     current          ``werkzeug``
``incident-debugger``           incident    incident         ``werkzeug-debug``
``engineio-current-debugger``   incident    current          ``werkzeug-debug``
``incident-gunicorn``           incident    incident         ``gunicorn-gthread``
``engineio-current-gunicorn``   incident    current          ``gunicorn-gthread``
==============================  ==========  ===============  =================

"incident" and "current" are the versions in ``requirements/incident.txt`` and
``requirements/current.txt``.  Every cell runs the ``before`` stack; every
Werkzeug cell also runs ``guard``; the incident cell also runs
``writeup-fix``.  Each cell runs in its own cached environment
(:mod:`wslab.lab.envs`) as a subprocess (:mod:`wslab.study.versions.cellrun`), at most
*jobs* at a time; a cell whose environment cannot be built or whose run fails
is reported as failed and the others still run.

:func:`run_matrix` writes ``matrix.json`` (rows, failures and how they were
made; a :class:`wslab.model.records.MatrixRecord`) and one log per row under
``logs/`` in the output folder;
:func:`conclusions` reads the rows and says what they show.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from wslab.progress import Bar

import wslab
from wslab.errors import WslabError
from wslab.lab import envs
from wslab.model.records import MatrixCell, MatrixRecord, MatrixRow, load_matrix, save
from wslab.study.runs import envrun
from wslab.study.versions.cellrun import check_server

#: What ``matrix.json`` is called in the output folder.
RESULT_FILE = "matrix.json"
#: How long one cell may run before it is reported failed.
CELL_TIMEOUT = 300.0


@dataclass(frozen=True)
class Cell:
    """One cell: two pinned versions, a server, and the variants run in it."""

    name: str
    werkzeug: str
    python_engineio: str
    server: str
    variants: tuple[str, ...]
    changed: str  #: what differs from the incident, in words

    def pins(self) -> envs.PinSet:
        """The cell's pin set: Werkzeug and python-engineio; the rest resolved."""
        return envs.adhoc([f"werkzeug=={self.werkzeug}", f"python-engineio=={self.python_engineio}"],
                          name=f"werkzeug{self.werkzeug}_engineio{self.python_engineio}")


@dataclass
class CellResult:
    """What one cell produced: rows, or the reason it failed."""

    cell: Cell
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    env: str | None = None
    seconds: float = 0.0


def _versions(name: str) -> tuple[str, str]:
    pins = envs.pinset(name).pins
    try:
        return pins["werkzeug"], pins["python-engineio"]
    except KeyError as missing:
        raise WslabError(f"pin set {name!r} does not pin {missing.args[0]}") from None


def design() -> list[Cell]:
    """The matrix's cells, with versions read from the incident and current pin sets."""
    (w_old, e_old), (w_new, e_new) = _versions("incident"), _versions("current")
    dev = ("before", "guard")
    engineio = f"python-engineio {e_old} -> {e_new}"
    return [
        Cell("incident", w_old, e_old, "werkzeug", ("before", "writeup-fix", "guard"),
             "nothing (the incident's versions)"),
        Cell("engineio-current", w_old, e_new, "werkzeug", dev, engineio),
        Cell("werkzeug-current", w_new, e_old, "werkzeug", dev, f"werkzeug {w_old} -> {w_new}"),
        Cell("both-current", w_new, e_new, "werkzeug", dev, "both packages"),
        Cell("incident-debugger", w_old, e_old, "werkzeug-debug", dev, "Werkzeug's debugger on"),
        Cell("engineio-current-debugger", w_old, e_new, "werkzeug-debug", dev,
             f"{engineio}, debugger on"),
        Cell("incident-gunicorn", w_old, e_old, "gunicorn-gthread", ("before",),
             "gunicorn gthread instead of Werkzeug"),
        Cell("engineio-current-gunicorn", w_old, e_new, "gunicorn-gthread", ("before",),
             f"{engineio}, gunicorn gthread"),
    ]


def select(cells: Sequence[Cell], names: Sequence[str] | None,
           servers: Sequence[str] | None = None) -> list[Cell]:
    """The cells named in *names* and on *servers* (each: all when empty), in design order.

    Unknown cell or server names are one :class:`WslabError` naming the known ones.
    """
    for server in servers or ():
        check_server(server)
    known = {c.name for c in cells}
    unknown = [n for n in names or () if n not in known]
    if unknown:
        raise WslabError(f"unknown cell {unknown[0]!r} (choose from {', '.join(c.name for c in cells)})")
    return [c for c in cells if (not names or c.name in names) and (not servers or c.server in servers)]


def _run_cell(cell: Cell, out: Path, users: int, redis_url: str | None,
              build: Callable[[envs.PinSet], envs.Env]) -> CellResult:
    started = time.monotonic()
    result = CellResult(cell)
    try:
        env = build(cell.pins())
        result.env = env.folder
        arguments = ["--cell", cell.name, "--server", cell.server, "--variants", ",".join(cell.variants),
                     "--users", str(users), "--log-dir", str(out / "logs")]
        if redis_url:
            arguments += ["--redis-url", redis_url]
        job = envrun.launch(env.python, "wslab.study.versions.cellrun", arguments, cell.name)
        result.rows = envrun.collect(job, timeout=CELL_TIMEOUT)
    except WslabError as exc:
        result.error = str(exc)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def run_matrix(out: Path, cells: Sequence[Cell] | None = None, users: int = 4, jobs: int = 2,
               redis_url: str | None = None, progress: bool = True,
               build: Callable[[envs.PinSet], envs.Env] | None = None,
               command: str | None = None) -> list[CellResult]:
    """Build (or reuse) each cell's environment, run the cells, write ``matrix.json``.

    *users* direct and *users* upgrading clients run per variant; *jobs* cells
    run at once.  Environments are built one at a time before the runs start.
    *command* is recorded in ``matrix.json`` as the way to make it again.
    """
    if users < 1 or jobs < 1:
        raise WslabError("--users and --jobs must be at least 1")
    cells = list(cells if cells is not None else design())
    out.mkdir(parents=True, exist_ok=True)
    build = build or (lambda pins: envs.build(pins, progress=progress))
    built: dict[tuple[str, ...], envs.Env | WslabError] = {}
    for cell in cells:  # one at a time: builds share the installer's cache
        key = tuple(cell.pins().lines())
        if key not in built:
            try:
                built[key] = build(cell.pins())
            except WslabError as exc:
                built[key] = exc

    def cached(pins: envs.PinSet) -> envs.Env:
        found = built[tuple(pins.lines())]
        if isinstance(found, WslabError):
            raise found
        return found

    started = time.monotonic()
    results: dict[str, CellResult] = {}
    bar = Bar(total=len(cells), desc="matrix cells", unit="cell", file=sys.stderr,
               leave=False, disable=not progress)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="wslab-cell") as pool:
        futures = [pool.submit(_run_cell, cell, out, users, redis_url, cached) for cell in cells]
        for future in as_completed(futures):
            done = future.result()
            results[done.cell.name] = done
            bar.update(1)
    bar.close()
    ordered = [results[c.name] for c in cells]
    how = command or f"wslab matrix --out DIR --users {users} --cells {','.join(c.name for c in cells)}"
    write_result(out / RESULT_FILE, ordered, users, round(time.monotonic() - started, 1), how)
    return ordered


def rows_of(results: Sequence[CellResult]) -> list[dict[str, Any]]:
    """Every row of the cells that ran, in design order."""
    return [row for result in results for row in result.rows]


def write_result(path: Path, results: Sequence[CellResult], users: int, seconds: float,
                 command: str) -> None:
    """``matrix.json``: the rows, the failed cells, the design and how it was made."""
    cells = [MatrixCell.from_dict(dict(asdict(r.cell), env=r.env, seconds=r.seconds, error=r.error))
             for r in results]
    save(path, MatrixRecord(command, wslab.__version__, platform.python_version(),
                            time.strftime("%Y-%m-%dT%H:%M:%S%z"), users, seconds, cells,
                            [MatrixRow.from_dict(row) for row in rows_of(results)]))


def read_result(path: Path) -> dict[str, Any]:
    """A ``matrix.json`` written by :func:`write_result` (read by :func:`wslab.model.records.load_matrix`)."""
    return load_matrix(path).to_dict()


def _row(rows: Sequence[dict[str, Any]], cell: str, variant: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["cell"] == cell and r["variant"] == variant), None)


def _k_of_n(row: dict[str, Any], kind: str, key: str) -> str:
    return f"{row[kind][key]}/{row[kind]['connections']}"


def _effect(before: int, after: int) -> str:
    if before and not after:
        return "removes the 500"
    if not before and after:
        return "brings the 500"
    return "keeps the 500" if before else "no 500 either way"


def conclusions(rows: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """What the rows show, one entry per question: ``question``, ``measured``, ``answer``.

    Each answer is worked out from the counts in *rows*; a question whose cells
    did not run is left out.
    """
    found: list[dict[str, str]] = []

    def compare(question: str, base_cell: str, cell: str, variant: str = "before") -> None:
        base, other = _row(rows, base_cell, variant), _row(rows, cell, variant)
        if base is None or other is None:
            return
        measured = (f"direct WebSockets logged as 500: {_k_of_n(base, 'direct', 'status_500')} in "
                    f"{base_cell}, {_k_of_n(other, 'direct', 'status_500')} in {cell}")
        found.append({"question": question, "measured": measured,
                      "answer": _effect(base["direct"]["status_500"], other["direct"]["status_500"])})

    compare("Does upgrading python-engineio alone change the 500?", "incident", "engineio-current")
    compare("Does upgrading Werkzeug alone change the 500?", "incident", "werkzeug-current")
    compare("Does upgrading both change the 500?", "incident", "both-current")
    compare("With the debugger on, does the upgraded python-engineio still avoid the 500?",
            "engineio-current", "engineio-current-debugger")
    compare("Does the debugger change the 500 on the incident's versions?",
            "incident", "incident-debugger")
    for cell in ("incident-gunicorn", "engineio-current-gunicorn"):
        row = _row(rows, cell, "before")
        if row is not None:
            direct = row["direct"]
            shown = ", ".join(f"{k} {v}/{direct['connections']}" for k, v in direct.items()
                              if k != "connections" and v)
            inside = ", ".join(f"{k} {v}" for k, v in row.get("server_side", {}).items())
            shown = f"{shown or 'nothing counted'}; in the app, all connections: {inside or 'nothing raised'}"
            found.append({"question": f"What does gunicorn log for direct WebSockets ({cell})?",
                          "measured": shown,
                          "answer": "a 500" if direct["status_500"] else "no 500"})
    guards = [r for r in rows if r["variant"] == "guard"]
    if guards:
        bad = sum(r[k]["status_500"] + r[k]["status_400"] for r in guards for k in ("direct", "upgrade"))
        total = sum(r[k]["connections"] for r in guards for k in ("direct", "upgrade"))
        found.append({"question": "Does the guard leave any 500 or 400 for WebSockets?",
                      "measured": f"{bad} of {total} connections in {len(guards)} guard rows",
                      "answer": "none" if bad == 0 else f"{bad} left"})
    before, fix = _row(rows, "incident", "before"), _row(rows, "incident", "writeup-fix")
    if before and fix:
        found.append({
            "question": "Does the write-up's fix change the 500, and what does it do to sessions?",
            "measured": (f"direct 500s {_k_of_n(before, 'direct', 'status_500')} -> "
                         f"{_k_of_n(fix, 'direct', 'status_500')}; connect handlers seeing the "
                         f"signed-in user {before['session_visible_in_handler']}/{before['socketio_users']}"
                         f" -> {fix['session_visible_in_handler']}/{fix['socketio_users']}"),
            "answer": (_effect(before["direct"]["status_500"], fix["direct"]["status_500"]) + "; "
                       + ("hides the user from connect handlers"
                          if fix["session_visible_in_handler"] < before["session_visible_in_handler"]
                          else "leaves sessions as they were")),
        })
    return found



def outcome_table(rows: Sequence[dict[str, Any]], kind: str = "direct",
                  keys: Sequence[str] = ("status_500", "write_before_start_response", "status_101",
                                         "not_logged", "status_400")) -> pd.DataFrame:
    """The rows as a table of ``k/n`` strings for one kind of connection, with each row's versions."""
    records = []
    for r in rows:
        n = r[kind]["connections"]
        records.append({"cell": r["cell"], "server": r["server"], "variant": r["variant"],
                        "werkzeug": r["werkzeug"], "python-engineio": r["python_engineio"],
                        **{key: f"{r[kind][key]}/{n}" for key in keys}})
    return pd.DataFrame.from_records(records).set_index(["cell", "variant"])


def conclusions_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """:func:`conclusions` as a table: question, answer, measured."""
    return pd.DataFrame(conclusions(rows), columns=["question", "answer", "measured"])
