"""The cause isolated step by step: the experiments behind the root-cause notebook.

=====================================  ==========================================================
``minimal_app_demo(log_path)``         a bare WSGI app under Werkzeug gives the same assertion
``code_path()``                        the installed Engine.IO and Werkzeug lines on the failing path
``frames_shown(snippets, block)``      which traceback frames those lines cover
``direct_vs_upgrade(...)``             direct WebSocket vs polling→upgrade users on one stack
``start_response_by_kind(calls)``      what ``start_response`` received, per WebSocket kind
``websocket_statuses(calls, log)``     per WebSocket kind: ``start_response`` calls beside the logged statuses
``recorded_endings(rows)``             how the recorded matrix's cells ended their connections
``when_is_500_logged(...)``            is the 500 logged at the handshake or at the close?
``session_visibility(...)``            per variant: did Socket.IO handlers see the HTTP session?
=====================================  ==========================================================

Everything is measured on the real libraries: a real Werkzeug server on
127.0.0.1, real HTTP and Socket.IO clients, and the log lines the server wrote.
The source excerpts are read from the installed packages with :mod:`inspect`,
found by their content, so they show whichever versions are installed.
"""

from __future__ import annotations

import inspect
import io
import logging
import textwrap
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import requests
import socketio

from wslab.lab.logformat import file_handler
from wslab.lab.servers.werkzeug import LabServer
from wslab.lab.stack import LabStack
from wslab.lab.traffic import Workload, run_workload
from wslab.logs import parse_log
from wslab.model.kinds import RequestKind
from wslab.study.runs.variant_run import count_log, read_log_portion, run_variant
from wslab.study.incident.writeup import first_error_block, frame_key

#: The incident's request, sent to the minimal app as a plain GET.
INCIDENT_PATH = "/socket.io/?EIO=4&transport=websocket"
#: The two kinds of WebSocket request line, as the log parser labels them.
DIRECT, UPGRADE = RequestKind.DIRECT_WEBSOCKET, RequestKind.UPGRADED_WEBSOCKET

# -- the minimal app ------------------------------------------------------------------


def empty_app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    """A WSGI app that returns an empty body and never calls ``start_response``."""
    return []


def minimal_app_demo(log_path: str | Path, app: Callable[..., Iterable[bytes]] = empty_app,
                     timeout: float = 10.0) -> dict[str, Any]:
    """Serve *app* with Werkzeug's threaded server, send it the incident's request, read the log.

    No Flask, no Socket.IO, no session: a bare WSGI callable.  The ``werkzeug``
    logger writes to *log_path* in the incident's format while the server runs;
    its level, propagation and handlers are restored afterwards, and the server
    and its request threads are stopped before returning.  Returns the status
    the client received, the log's first error block (its lines; empty when
    nothing failed) and the log's counts (see :func:`wslab.study.runs.variant_run.count_log`).
    """
    log_path = Path(log_path)
    offset = log_path.stat().st_size if log_path.exists() else 0
    log = logging.getLogger("werkzeug")
    saved = (log.level, log.propagate)
    handler = file_handler(log_path)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    server = LabServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="wslab-minimal-server", daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        response = requests.get(f"http://127.0.0.1:{port}{INCIDENT_PATH}", timeout=timeout)
        server.wait_idle(timeout)
    finally:
        server.shutdown()
        thread.join(timeout)
        for request_thread in list(server.threads):
            request_thread.join(timeout)
        server.server_close()
        log.removeHandler(handler)
        handler.close()
        log.setLevel(saved[0])
        log.propagate = saved[1]
    counts = count_log(read_log_portion(log_path, offset))
    return {
        "status": response.status_code,
        "error_block": first_error_block(log_path) if counts["server_errors"] else [],
        "log": counts,
    }


# -- the code path ---------------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    """A few lines of an installed function: where they are and what they say."""

    label: str
    file: str
    line: int
    text: str

    def __str__(self) -> str:
        lines = self.text.splitlines()
        width = len(str(self.line + len(lines)))
        body = "\n".join(f"{self.line + i:>{width}}  {t}" for i, t in enumerate(lines))
        return f"# {self.label} ({self.file})\n{body}"


def excerpt(func: Callable[..., Any], start: str, end: str | None = None, label: str | None = None,
            last: bool = False) -> Snippet:
    """The lines of *func* from the one containing *start* to the next one containing *end*.

    Without *end*, the whole rest of the function; with *last*, *start* is
    searched from the end.  The file is named from its package folder on
    (``engineio/server.py``) and the line is the file's line number.
    """
    lines, first = inspect.getsourcelines(func)
    found = [i for i, text in enumerate(lines) if start in text]
    if not found:
        raise LookupError(f"{start!r} is not in {func.__qualname__}")
    i = found[-1] if last else found[0]
    j = len(lines) - 1
    if end is not None:
        j = next(k for k in range(i, len(lines)) if end in lines[k])
    path = Path(inspect.getsourcefile(func))
    package = func.__module__.split(".")[0]
    file = "/".join(path.parts[path.parts.index(package):]) if package in path.parts else path.name
    return Snippet(label or func.__qualname__, file, first + i,
                   textwrap.dedent("".join(lines[i:j + 1])).rstrip())


def code_path() -> list[Snippet]:
    """The installed lines a direct WebSocket request runs through, in order.

    Engine.IO's WSGI WebSocket wrapper, the end of its WebSocket handler, the
    direct-connect branch that hands that result back, the ``sid`` branch that
    wraps it in ``_ok`` instead, the check in ``handle_request`` that returns
    anything but a response dictionary without ``start_response`` (and the
    ``start_response`` call a dictionary gets), then Werkzeug's ``execute`` and
    ``write``, and where Werkzeug sends a ``ConnectionError``.
    """
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
    from engineio.server import Server
    from engineio.socket import Socket
    from werkzeug.serving import WSGIRequestHandler

    run_wsgi = WSGIRequestHandler.run_wsgi
    return [
        excerpt(SimpleWebSocketWSGI.__call__, "def __call__"),
        excerpt(Socket._websocket_handler, "self.queue.put(None)", label="Socket._websocket_handler (its end)"),
        excerpt(Server._handle_connect, "if transport == 'websocket'", "return ret",
                label="Server._handle_connect (direct WebSocket: no sid)"),
        excerpt(Server.handle_request, "packets = socket.handle_get_request(", "r = packets",
                label="Server.handle_request (upgrade: a sid in the URL)"),
        excerpt(Server.handle_request, "if not isinstance(r, dict)", "return r",
                label="Server.handle_request (after either branch)"),
        excerpt(Server.handle_request, "start_response(r['status']", "return [r['response']]", last=True,
                label="Server.handle_request (a response dictionary)"),
        excerpt(run_wsgi, "def execute(", 'write(b"")', label="WSGIRequestHandler.run_wsgi: execute"),
        excerpt(run_wsgi, "def write(", 'assert headers_set is not None',
                label="WSGIRequestHandler.run_wsgi: write"),
        excerpt(run_wsgi, "execute(self.server.app)", "self.connection_dropped(",
                label="WSGIRequestHandler.run_wsgi: a ConnectionError"),
    ]


def frames_shown(snippets: list[Snippet], block: list[str]) -> pd.DataFrame:
    """For each traceback frame of an error *block*: is its line inside one of the *snippets*?"""
    rows = []
    for text in block:
        key = frame_key(text)
        if key is None:
            continue
        file, line, function = key[0], int(key[1]), key[2]
        shown = any(s.file == file and s.line <= line < s.line + len(s.text.splitlines()) for s in snippets)
        rows.append({"file": file, "line": line, "function": function, "shown above": shown})
    return pd.DataFrame(rows, columns=["file", "line", "function", "shown above"])


# -- direct WebSocket vs polling→upgrade ------------------------------------------------


class StartResponseRecorder:
    """WSGI middleware noting, per Engine.IO WebSocket request, what ``start_response`` got."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if "transport=websocket" not in query:
            return self.app(environ, start_response)
        record: dict[str, Any] = {"kind": UPGRADE if "sid=" in query else DIRECT,
                                  "status": None, "outcome": "returned"}

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            record["status"] = status
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        except BaseException as exc:
            record["outcome"] = f"raised {type(exc).__name__}"
            raise
        finally:
            with self.lock:
                self.records.append(record)


def direct_vs_upgrade(log_path: str | Path, ws_users: int = 3, upgrade_users: int = 3,
                      variant: str = "before", redis_url: str | None = None) -> dict[str, Any]:
    """Run direct WebSocket and polling→upgrade users on one stack; count what each kind got.

    Returns ``calls``: one row per WebSocket request with its kind, the status
    Engine.IO passed to ``start_response`` (``None`` if it never called it) and
    whether the app returned or raised; and ``log``: per kind of request line,
    requests, 5xx lines and ``write() before start_response`` tracebacks.
    """
    log_path = Path(log_path)
    offset = log_path.stat().st_size if log_path.exists() else 0
    workload = Workload(ws_users=ws_users, upgrade_users=upgrade_users, concurrency=ws_users + upgrade_users)
    with LabStack(variant, log_path=log_path, redis_url=redis_url) as stack:
        recorder = StartResponseRecorder(stack.demo.app.wsgi_app)
        stack.demo.app.wsgi_app = recorder
        report = run_workload(stack, workload)
    by_kind = pd.DataFrame(count_log(read_log_portion(log_path, offset))["by_kind"]).set_index("kind")
    return {"sent": report.totals(), "calls": pd.DataFrame(recorder.records, columns=["kind", "status", "outcome"]),
            "log": by_kind.loc[[DIRECT, UPGRADE]]}


def start_response_by_kind(calls: pd.DataFrame) -> pd.DataFrame:
    """Per WebSocket kind: how many requests, and how many called ``start_response`` with which status."""
    calls = calls.assign(status=calls["status"].fillna("never called"))
    table = calls.groupby(["kind", "status", "outcome"]).size().rename("requests").reset_index()
    return table.sort_values(["kind", "status"], ignore_index=True)


def websocket_statuses(calls: pd.DataFrame, log_path: str | Path) -> pd.DataFrame:
    """Per WebSocket kind: requests seen by the recorder, how many called ``start_response``,
    and the statuses the server logged for that kind (``{"500": 3}``), read from *log_path*."""
    requests = parse_log(log_path).requests
    rows = []
    for kind in (DIRECT, UPGRADE):
        mine = calls[calls["kind"] == kind]
        logged = requests.loc[requests["kind"] == kind, "status"].astype(str).value_counts()
        rows.append({"kind": kind, "requests": int(len(mine)),
                     "start_response_called": int(mine["status"].notna().sum()),
                     "statuses_logged": {status: int(n) for status, n in sorted(logged.items())}})
    return pd.DataFrame(rows).set_index("kind")


def recorded_endings(rows: Iterable[dict[str, Any]], cells: Iterable[str] = ("incident", "engineio-current"),
                     variant: str = "before") -> pd.DataFrame:
    """How the *variant* row of each recorded matrix cell ended its connections, under Werkzeug.

    From the rows of ``data/matrix/matrix.json``, one row per cell: its
    python-engineio, its Socket.IO ``connections`` (direct and upgraded), how
    many requests Werkzeug handed to ``connection_dropped`` with a
    ``ConnectionError`` (the server-side record; the log never shows it), its
    ``direct`` WebSockets, and how many of those logged a 500 and how many got
    no line of their own.
    """
    by_name = {(r["cell"], r["variant"]): r for r in rows}
    table = []
    for cell in cells:
        row = by_name.get((cell, variant))
        if row is None:
            continue
        direct, upgrade = row["direct"], row["upgrade"]
        table.append({"cell": cell, "python-engineio": row["python_engineio"],
                      "connections": direct["connections"] + upgrade["connections"],
                      "dropped_with_ConnectionError": row.get("server_side", {}).get("dropped: ConnectionError", 0),
                      "direct": direct["connections"], "direct_500": direct["status_500"],
                      "direct_not_logged": direct["not_logged"]})
    columns = ["cell", "python-engineio", "connections", "dropped_with_ConnectionError", "direct", "direct_500",
               "direct_not_logged"]
    return pd.DataFrame(table, columns=columns).set_index("cell")


# -- when the 500 is logged -------------------------------------------------------------


def _websocket_500s(log_path: Path, offset: int) -> pd.DataFrame:
    rows = parse_log(io.BytesIO(read_log_portion(log_path, offset))).requests
    return rows[(rows["transport"] == "websocket") & rows["server_error"]]


def when_is_500_logged(log_path: str | Path, hold_seconds: float = 1.0, redis_url: str | None = None,
                       variant: str = "before", timeout: float = 10.0) -> dict[str, Any]:
    """Hold one direct WebSocket Socket.IO connection open, close it, and time the 500 line.

    Client-side instants (wall clock, like the log's timestamps):
    ``connected_at`` when ``connect`` returned, ``close_started_at`` when the
    client called ``disconnect`` and ``closed_at`` when that call returned.
    ``lines_500_while_open`` counts the WebSocket 5xx lines in the log just
    before the close, ``lines_500_after_close`` once the server is idle;
    ``logged_at`` is the timestamp of the first such line (``None`` if none).
    Deltas are in seconds from each instant to ``logged_at``;
    ``logged_at_handshake`` is whether the line was written before the hold
    ended, ``logged_after_close`` whether it was written after the close began.
    """
    log_path = Path(log_path)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with LabStack(variant, log_path=log_path, redis_url=redis_url) as stack:
        client = socketio.Client(reconnection=False)
        try:
            client.connect(stack.url, transports=["websocket"], wait_timeout=timeout)
            connected_at = time.time()
            time.sleep(hold_seconds)
            while_open = len(_websocket_500s(log_path, offset))
            close_started_at = time.time()
        finally:
            client.disconnect()
        closed_at = time.time()
        stack.wait_idle(timeout)
    lines = _websocket_500s(log_path, offset)
    instants = {"connected_at": connected_at, "close_started_at": close_started_at, "closed_at": closed_at}
    result: dict[str, Any] = {name: datetime.fromtimestamp(t) for name, t in instants.items()}
    result.update(hold_seconds=hold_seconds, logged_at=None, lines_500_while_open=while_open,
                  lines_500_after_close=int(len(lines)), logged_at_handshake=None, logged_after_close=None)
    if len(lines):
        logged_at = pd.Timestamp(lines["ts"].min()).to_pydatetime()
        result["logged_at"] = logged_at
        for name in instants:
            result[f"logged_after_{name.removesuffix('_at')}_s"] = (logged_at - result[name]).total_seconds()
        result["logged_at_handshake"] = logged_at < result["close_started_at"]
        result["logged_after_close"] = logged_at >= result["close_started_at"]
    return result


# -- sessions seen by Socket.IO handlers -------------------------------------------------


def session_visibility(log_dir: str | Path, variants: Iterable[str] = ("no-session", "before", "writeup-fix", "guard"),
                       ws_users: int = 3, redis_url: str | None = None) -> pd.DataFrame:
    """Per variant: did the ``connect`` handler see the signed-in user, did a Socket.IO write reach HTTP?

    Each variant runs *ws_users* direct WebSocket users on its own stack (log
    ``log_dir/<variant>.log``, started afresh).  Columns: users, how many
    ``connect`` handlers saw the user the client had signed in as over HTTP,
    how many ``remember`` writes made in a Socket.IO handler were then visible
    to ``/whoami`` over HTTP, the run's 5xx lines and tracebacks, and how many
    direct WebSocket request lines the server logged with status 101.
    """
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant in variants:
        path = log_dir / f"{variant}.log"
        path.unlink(missing_ok=True)
        result = run_variant(variant, path, ws_users=ws_users, concurrency=ws_users, redis_url=redis_url)
        sent, log = result["sent"], result["log"]
        rows.append({
            "variant": variant,
            "users": ws_users,
            "connected": sent["socketio_connections"]["websocket"],
            "user_seen_by_connect_handler": sent["session_seen_by_connect"],
            "socketio_write_seen_over_http": sent["socketio_write_seen_over_http"],
            "server_errors": log["server_errors"],
            "write_before_start_response": log["write_before_start_response"],
            "direct_101_lines": _status_lines(path, DIRECT, "101"),
        })
    return pd.DataFrame(rows).set_index("variant")


def _status_lines(log_path: Path, kind: RequestKind, status: str) -> int:
    """How many request lines of *kind* in *log_path* carry *status*."""
    requests = parse_log(log_path).requests
    return int(((requests["kind"] == kind) & (requests["status"].astype(str) == status)).sum())
