"""The walkthrough notebooks' conclusions, each worked out from what the notebook measured.

A :class:`Claim` is one sentence a notebook concludes, where its number comes
from (``evidence``: which run, log or committed file), the number itself as
short text (``measured``: ``"6/6"``, ``"0 of 8"``) and whether it ``holds``.
``holds`` compares the measured values with the expectation the sentence
states (every direct WebSocket, none of the pages, at least one per user),
never a value with itself.  :func:`conclusions` turns claims into the table a
notebook's closing cell shows, one row per claim, columns :data:`COLUMNS`.

One function per notebook takes the objects that notebook already computed
and returns its claims:

===============================  ====================================
``reproduce_claims(...)``        ``01_reproduce``
``writeup_fix_claims(...)``      ``02_writeup_fix``
``root_cause_claims(...)``       ``03_root_cause``
``fixes_compared_claims(...)``   ``04_fixes_compared``
``your_logs_claims(...)``        ``05_your_logs``
===============================  ====================================

Notebook 05's last rows are about *your* log and requirements file: their
sentence is fixed ("this log shows the incident"), and ``holds`` says whether
it does, so a run on an unaffected deployment ends with ``False`` there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.version import Version

from wslab.model.kinds import RequestKind
from wslab.logs.inputs import shown_path
from wslab.logs.overview import LogOverview
from wslab.logs.parser import ParsedLog
from wslab.paths import KIT_ROOT
from wslab.diagnose.doctor import SERVER_LABELS, Diagnosis
from wslab.study.incident.writeup import frame_key
from wslab.versions import required_versions

#: The columns of a conclusions table, in order.
COLUMNS = ("claim", "evidence", "measured", "holds")

DIRECT, UPGRADE = "socket.io websocket, no sid", "socket.io websocket, with sid"
SOCKETIO_LABELS = ("socketio-websocket", "socketio-polling")
BEFORE, WRITEUP_FIX, GUARD, NO_SESSION = "before", "writeup-fix", "guard", "no-session"
EXCERPT = "data/logs/writeup_excerpt.log"


@dataclass(frozen=True)
class Claim:
    """One conclusion: the sentence, where its number comes from, the number, and whether it holds."""

    claim: str
    evidence: str
    measured: str
    holds: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", bool(self.holds))


def conclusions(claims: Iterable[Claim]) -> pd.DataFrame:
    """The claims as a table with the columns :data:`COLUMNS`, one row per claim, in order."""
    return pd.DataFrame([asdict(c) for c in claims], columns=list(COLUMNS))


def k_of_n(k: int, n: int) -> str:
    """``"k/n"``."""
    return f"{int(k)}/{int(n)}"


def every(k: int, n: int) -> bool:
    """All *n* of something did it: there were some (``n > 0``) and ``k == n``."""
    return n > 0 and k == n


def _name(path: str | Path) -> str:
    return Path(path).name


def _shown(path: str | Path) -> str:
    """*path* relative to the kit's root when it lies inside it, else as given."""
    resolved = Path(path).resolve()
    return resolved.relative_to(KIT_ROOT).as_posix() if resolved.is_relative_to(KIT_ROOT) else str(path)


def _by_kind(by_kind: Sequence[Mapping[str, Any]] | pd.DataFrame) -> dict[str, Mapping[str, Any]]:
    """``count_log``'s ``by_kind`` (a list of dicts, or that list as a table indexed by kind) by kind."""
    if isinstance(by_kind, pd.DataFrame):
        return {kind: row.to_dict() for kind, row in by_kind.iterrows()}
    return {row["kind"]: row for row in by_kind}


def _block_parts(comparison: pd.DataFrame) -> tuple[int, int]:
    """``(parts of the write-up's block this block matches, parts the write-up's block has)``."""
    theirs = comparison["write-up"].astype(str) != ""
    return int((comparison["same"] & theirs).sum()), int(theirs.sum())


# -- 01_reproduce ---------------------------------------------------------------------------


def reproduce_claims(*, versions: Mapping[str, str], pins_file: str | Path, comparison: pd.DataFrame,
                     sent: Mapping[str, Any], counts: Mapping[str, Any], ws_users: int,
                     log: str | Path) -> list[Claim]:
    """Notebook 01's conclusions.

    *versions* are the installed ones (:func:`wslab.versions.stack_versions`),
    checked against the pins of the requirements file *pins_file*
    (:func:`wslab.versions.required_versions`); *comparison* is this run's first
    error block against the write-up's (:func:`wslab.study.incident.writeup.compare_blocks`),
    *sent* the clients' totals (``TrafficReport.totals()``), *counts* the counts
    of this run's *log* (:func:`wslab.study.runs.variant_run.count_log`) and *ws_users* how
    many direct WebSocket users the workload ran.
    """
    pins = required_versions(pins_file, [name for name in versions if name != "python"])
    pins_file = _shown(pins_file)
    log = _name(log)
    same_pins = [name for name, wanted in pins.items() if wanted.version and versions.get(name) == wanted.version]
    matched, parts = _block_parts(comparison)
    frames = comparison[comparison.index.str.startswith("frame")]
    theirs = [frame_key(line) for line in frames["write-up"]]
    frames_same = sum(1 for a, b in zip(theirs, frames["this run"].map(frame_key)) if a is not None and a == b)
    lines = ", ".join(key[1] for key in theirs if key)
    kinds = _by_kind(counts["by_kind"])
    direct = kinds.get(DIRECT, {"requests": 0, "server_errors": 0, "write_before_start_response": 0})
    others = [row for kind, row in kinds.items() if kind != DIRECT]
    other_requests = sum(row["requests"] for row in others)
    other_errors = sum(row["server_errors"] for row in others)
    users = sum(sent["users"].values())
    return [
        Claim(f"The installed stack is the incident's: every package at its pin in {pins_file}",
              f"stack_versions() against {pins_file}", f"{k_of_n(len(same_pins), len(pins))} packages",
              every(len(same_pins), len(pins))),
        Claim("This run's first error block matches the write-up's, part by part",
              f"{log} against {EXCERPT}", f"{k_of_n(matched, parts)} parts", every(matched, parts)),
        Claim(f"On Werkzeug {versions.get('werkzeug', '?')} its traceback frames are the write-up's "
              f"(werkzeug/serving.py lines {lines})",
              f"{log} against {EXCERPT}", f"{k_of_n(frames_same, len(theirs))} frames",
              every(frames_same, len(theirs))),
        Claim("No client saw an error", "the clients' record of this run",
              f"{sent['client_errors']} errors among {users} users", sent["client_errors"] == 0 and users > 0),
        Claim(f"Each of the {ws_users} direct WebSocket users logged one 500 line", log,
              f"{k_of_n(direct['server_errors'], ws_users)} (request lines: {direct['requests']})",
              every(direct["server_errors"], ws_users) and direct["requests"] == ws_users),
        Claim("... and one write() before start_response traceback", log,
              k_of_n(direct["write_before_start_response"], ws_users),
              every(direct["write_before_start_response"], ws_users)),
        Claim("No other request logged a 5xx: not the upgraded WebSockets, long-polling or pages", log,
              f"{other_errors} of {other_requests}", other_errors == 0 and other_requests > 0),
    ]


# -- 02_writeup_fix -------------------------------------------------------------------------


def writeup_fix_claims(*, detection: pd.DataFrame, corpus: str | Path, config: pd.DataFrame,
                       results: Mapping[str, Mapping[str, Any]], skipped: pd.DataFrame,
                       sessions: pd.DataFrame, ws_users: int) -> list[Claim]:
    """Notebook 02's conclusions.

    *detection* is :func:`wslab.study.incident.writeup_fix.detection_by_label` of the
    corpus at *corpus*, *config* :func:`~wslab.study.incident.writeup_fix.config_effect`,
    *results* the ``before`` and ``writeup-fix`` runs of
    :func:`wslab.study.runs.variant_run.run_variant`, *skipped* and *sessions*
    :func:`~wslab.study.incident.writeup_fix.skipped_lines` and
    :func:`~wslab.study.incident.writeup_fix.handler_sessions` of those runs, and
    *ws_users* the direct WebSocket users each run had.
    """
    corpus = f"data/requests/{_name(corpus)}"
    socketio = detection.loc[[label for label in SOCKETIO_LABELS if label in detection.index]]
    flagged, requests = int(socketio["flagged"].sum()), int(socketio["requests"].sum())
    fewest = int(socketio["fewest_signals"].min()) if len(socketio) else 0

    def label(name: str) -> tuple[int, int]:
        if name not in detection.index:
            return 0, 0
        return int(detection.loc[name, "flagged"]), int(detection.loc[name, "requests"])

    pages, static = label("http"), label("not-engineio")
    changed = sorted(config.index[config["changed"]])
    before, fix = results[BEFORE], results[WRITEUP_FIX]
    logs = f"{_name(before['log_path'])}, {_name(fix['log_path'])}"
    d_before = _by_kind(before["log"]["by_kind"]).get(DIRECT, {"server_errors": 0, "write_before_start_response": 0})
    d_fix = _by_kind(fix["log"]["by_kind"]).get(DIRECT, {"server_errors": 0, "write_before_start_response": 0})
    errors = {v: r["sent"]["client_errors"] for v, r in results.items()}
    users = int(sessions.loc[WRITEUP_FIX, "socketio_users"])
    skip_fix, skip_before = int(skipped.loc[WRITEUP_FIX, "skipping_session_lines"]), \
        int(skipped.loc[BEFORE, "skipping_session_lines"])
    seen_before = int(sessions.loc[BEFORE, "connect_handler_saw_user"])
    seen_fix = int(sessions.loc[WRITEUP_FIX, "connect_handler_saw_user"])
    users_before = int(sessions.loc[BEFORE, "socketio_users"])
    return [
        Claim("The write-up's detection flags every Socket.IO request of the corpus", corpus,
              k_of_n(flagged, requests), every(flagged, requests)),
        Claim("... each one by at least two of its signals at once", corpus,
              f"fewest signals on one: {fewest}", flagged > 0 and fewest >= 2),
        Claim("It flags ordinary pages and static files under /socket.io/ too", corpus,
              f"pages {k_of_n(*pages)}, static files {k_of_n(*static)}", pages[0] > 0 and static[0] > 0),
        Claim("Of the fix's three keys, only manage_session changes what the installed stack does",
              "SocketIO servers built from build_config(fixed=False) and (fixed=True)",
              f"changed: {', '.join(changed) or 'none'} (of {len(config)})", changed == ["manage_session"]),
        Claim("No client saw an error in either run", "the clients' record of both runs",
              ", ".join(f"{v} {n}" for v, n in errors.items()), all(n == 0 for n in errors.values())),
        Claim(f"Each of the {ws_users} direct WebSocket users logged a 500 and a write() before "
              "start_response traceback, before the fix and with it", logs,
              f"500s {k_of_n(d_before['server_errors'], ws_users)} -> {k_of_n(d_fix['server_errors'], ws_users)}; "
              f"tracebacks {k_of_n(d_before['write_before_start_response'], ws_users)} -> "
              f"{k_of_n(d_fix['write_before_start_response'], ws_users)}",
              all(every(n, ws_users) for n in (d_before["server_errors"], d_fix["server_errors"],
                                                d_before["write_before_start_response"],
                                                d_fix["write_before_start_response"]))),
        Claim("Only the fixed interface skipped session creation, at least once per Socket.IO user, "
              "and its 500s stayed", logs,
              f"'Skipping session creation' lines {skip_fix} for {users} Socket.IO users (before: {skip_before}); "
              f"500s {fix['log']['server_errors']}",
              users > 0 and skip_fix >= users and skip_before == 0 and fix["log"]["server_errors"] > 0),
        Claim("With the fix, no connect handler sees the signed-in user; before it, every one did",
              "the clients' record of both runs",
              f"{k_of_n(seen_fix, users)} (before: {k_of_n(seen_before, users_before)})",
              seen_fix == 0 and users > 0 and every(seen_before, users_before)),
    ]


# -- 03_root_cause --------------------------------------------------------------------------


def root_cause_claims(*, demo: Mapping[str, Any], comparison: pd.DataFrame, frames: pd.DataFrame,
                      runs: Mapping[str, Any], timing: Mapping[str, Any], visibility: pd.DataFrame,
                      endings: pd.DataFrame, first_release_without_500: str | None,
                      ws_users: int, upgrade_users: int) -> list[Claim]:
    """Notebook 03's conclusions.

    *demo* is :func:`wslab.study.incident.rootcause.minimal_app_demo`'s result and
    *comparison* its error block against the write-up's; *frames* is
    :func:`~wslab.study.incident.rootcause.frames_shown`; *runs*
    :func:`~wslab.study.incident.rootcause.direct_vs_upgrade` with *ws_users* direct and
    *upgrade_users* upgrading users; *timing*
    :func:`~wslab.study.incident.rootcause.when_is_500_logged`; *visibility*
    :func:`~wslab.study.incident.rootcause.session_visibility`; *endings*
    :func:`~wslab.study.incident.rootcause.recorded_endings` of the recorded matrix, and
    *first_release_without_500* the recorded bisect's.
    """
    matched, parts = _block_parts(comparison)
    shown = int(frames["shown above"].sum())
    calls = runs["calls"]
    direct_calls, upgrade_calls = calls[calls["kind"] == DIRECT], calls[calls["kind"] == UPGRADE]
    direct_started = int(direct_calls["status"].notna().sum())
    upgrade_ok = int((upgrade_calls["status"] == "200 OK").sum())
    log = runs["log"]
    direct, upgrade = log.loc[DIRECT], log.loc[UPGRADE]
    connected = runs["sent"]["socketio_connections"]["websocket"]
    client_errors = runs["sent"]["client_errors"]
    v = visibility
    users = {name: int(v.loc[name, "users"]) for name in v.index}

    def fails(name: str) -> tuple[int, int]:
        return int(v.loc[name, "server_errors"]), users[name]

    writes = {name: int(v.loc[name, "socketio_write_seen_over_http"]) for name in v.index}
    seen = {name: int(v.loc[name, "user_seen_by_connect_handler"]) for name in v.index}
    guard_101 = int(v.loc[GUARD, "direct_101_lines"])
    claims = [
        Claim("A bare WSGI app that never calls start_response gives the write-up's whole error block under "
              "Werkzeug, and the client gets the 500", f"minimal_app_demo's log against {EXCERPT}",
              f"{k_of_n(matched, parts)} parts; client got {demo['status']}",
              every(matched, parts) and demo["status"] == 500),
        Claim("Every frame of that traceback lies in the installed lines shown in step 2",
              "code_path() and the minimal app's traceback", f"{k_of_n(shown, len(frames))} frames",
              every(shown, len(frames))),
        Claim("Engine.IO never calls start_response for a direct WebSocket; for an upgrade it does, with 200 OK",
              "direct_vs_upgrade: the start_response recorder",
              f"direct: called in {k_of_n(direct_started, len(direct_calls))}; upgrade: 200 OK in "
              f"{k_of_n(upgrade_ok, len(upgrade_calls))}",
              direct_started == 0 and len(direct_calls) == ws_users > 0
              and every(upgrade_ok, len(upgrade_calls)) and len(upgrade_calls) == upgrade_users),
        Claim("Every direct WebSocket logs a 500 and the traceback; no upgrade does", "direct_vs_upgrade: its log",
              f"direct {k_of_n(direct.server_errors, ws_users)}, tracebacks "
              f"{k_of_n(direct.write_before_start_response, ws_users)}; upgrade {k_of_n(upgrade.server_errors, upgrade_users)}",
              every(direct.server_errors, ws_users) and every(direct.write_before_start_response, ws_users)
              and upgrade.server_errors == 0 and upgrade.requests == upgrade_users > 0),
        Claim("The direct WebSocket clients connected and saw no error", "direct_vs_upgrade: the clients' record",
              f"connected {k_of_n(connected, ws_users)}; client errors {client_errors}",
              every(connected, ws_users) and client_errors == 0),
        Claim("The 500 is logged when the connection closes, not at the handshake", "when_is_500_logged: its log",
              f"500 lines while open {timing['lines_500_while_open']}, after the close "
              f"{timing['lines_500_after_close']}",
              timing["lines_500_while_open"] == 0 and timing["lines_500_after_close"] == 1
              and bool(timing["logged_after_close"])),
        Claim("Without any server-side session, every direct WebSocket still logs the 500",
              "session_visibility: the no-session run's log", k_of_n(*fails(NO_SESSION)), every(*fails(NO_SESSION))),
        Claim("The write-up's fix leaves every direct WebSocket's 500", "session_visibility: the writeup-fix run's log",
              k_of_n(*fails(WRITEUP_FIX)), every(*fails(WRITEUP_FIX))),
        Claim("... and hides the signed-in user from the connect handler, which saw it before",
              "session_visibility: the clients' record",
              f"{k_of_n(seen[WRITEUP_FIX], users[WRITEUP_FIX])} (before: {k_of_n(seen[BEFORE], users[BEFORE])})",
              seen[WRITEUP_FIX] == 0 and users[WRITEUP_FIX] > 0 and every(seen[BEFORE], users[BEFORE])),
        Claim("The guard leaves no 500, logs a 101 line for each direct WebSocket, and its connect handlers see "
              "the user as before's did", "session_visibility: the guard run's log and clients",
              f"500s {fails(GUARD)[0]}; 101 lines {k_of_n(guard_101, users[GUARD])}; "
              f"user seen {k_of_n(seen[GUARD], users[GUARD])}",
              fails(GUARD)[0] == 0 and every(guard_101, users[GUARD]) and seen[GUARD] == seen[BEFORE]),
        Claim("A session write in a Socket.IO handler reaches /whoami alike in every variant",
              "session_visibility: the clients' record", ", ".join(f"{name} {n}" for name, n in writes.items()),
              len(writes) > 1 and len(set(writes.values())) == 1),
    ]
    claims += _endings_claims(endings, first_release_without_500)
    return claims


def _endings_claims(endings: pd.DataFrame, first: str | None) -> list[Claim]:
    evidence = "data/matrix/matrix.json, data/bisect/python-engineio/bisect.json"
    claims = []
    if "incident" in endings.index:
        row = endings.loc["incident"]
        claims.append(Claim(
            "On the incident's python-engineio no request reaches connection_dropped with a ConnectionError: "
            "every direct WebSocket logs the 500", evidence,
            f"{row['python-engineio']}: ConnectionError {k_of_n(row.dropped_with_ConnectionError, row.connections)}; "
            f"500s {k_of_n(row.direct_500, row.direct)}",
            row.dropped_with_ConnectionError == 0 and every(row.direct_500, row.direct)))
    later = [cell for cell in endings.index if first and Version(endings.loc[cell, "python-engineio"]) >= Version(first)]
    for cell in later:
        row = endings.loc[cell]
        claims.append(Claim(
            "From the first release without the 500 on, Werkzeug gets a ConnectionError for every connection "
            "and logs no direct WebSocket", evidence,
            f"first release without the 500: {first}; {cell} ({row['python-engineio']}): ConnectionError "
            f"{k_of_n(row.dropped_with_ConnectionError, row.connections)}, no line "
            f"{k_of_n(row.direct_not_logged, row.direct)}",
            every(row.dropped_with_ConnectionError, row.connections) and every(row.direct_not_logged, row.direct)
            and row.direct_500 == 0))
    if not later:
        claims.append(Claim("From the first python-engineio release without the 500 on, Werkzeug gets a "
                            "ConnectionError for every connection", evidence,
                            f"first release without the 500: {first}; no recorded cell at or after it", False))
    return claims


# -- 04_fixes_compared ----------------------------------------------------------------------


def _row(rows: Sequence[Mapping[str, Any]], cell: str, variant: str = BEFORE) -> Mapping[str, Any] | None:
    return next((r for r in rows if r["cell"] == cell and r["variant"] == variant), None)


def _direct(row: Mapping[str, Any], key: str = "status_500") -> str:
    return k_of_n(row["direct"][key], row["direct"]["connections"])


def _all_direct(row: Mapping[str, Any], key: str = "status_500") -> bool:
    return every(row["direct"][key], row["direct"]["connections"])


def _no_direct(row: Mapping[str, Any], key: str = "status_500") -> bool:
    return row["direct"]["connections"] > 0 and row["direct"][key] == 0


def matrix_claims(rows: Sequence[Mapping[str, Any]], evidence: str) -> list[Claim]:
    """What the factor matrix's *rows* show, one claim per question whose cells are in *rows*."""
    claims = []
    incident = _row(rows, "incident")

    def change(cell: str, text: str, removes: bool, base: Mapping[str, Any] | None = incident) -> None:
        other = _row(rows, cell)
        if base is None or other is None:
            return
        ends = _no_direct(other) if removes else _all_direct(other)
        claims.append(Claim(text, evidence, f"{base['cell']} {_direct(base)} -> {cell} {_direct(other)}",
                            _all_direct(base) and ends))

    change("engineio-current", "Upgrading python-engineio alone removes the 500", removes=True)
    change("werkzeug-current", "Upgrading Werkzeug alone keeps the 500", removes=False)
    change("both-current", "Upgrading both removes the 500", removes=True)
    change("incident-debugger", "Werkzeug's debugger keeps the 500 on the incident's versions", removes=False)
    upgraded, debugger = _row(rows, "engineio-current"), _row(rows, "engineio-current-debugger")
    if upgraded is not None and debugger is not None:
        claims.append(Claim(
            "With Werkzeug's debugger on, the upgraded python-engineio logs the 500 again, without the "
            "write() before start_response traceback", evidence,
            f"engineio-current {_direct(upgraded)} -> engineio-current-debugger {_direct(debugger)}; "
            f"tracebacks {_direct(debugger, 'write_before_start_response')}",
            _no_direct(upgraded) and _all_direct(debugger) and _no_direct(debugger, "write_before_start_response")))
    gunicorn = [r for r in (_row(rows, "incident-gunicorn"), _row(rows, "engineio-current-gunicorn")) if r]
    if gunicorn:
        raised = [r.get("server_side", {}).get("raised: StopIteration", 0) for r in gunicorn]
        claims.append(Claim(
            "Under gunicorn gthread no direct WebSocket logs a 500 or a line of its own, on either "
            "python-engineio (StopIteration in the app)", evidence,
            "; ".join(f"{r['cell']} 500s {_direct(r)}, no line {_direct(r, 'not_logged')}, StopIteration {n}"
                      for r, n in zip(gunicorn, raised)),
            all(_no_direct(r) and _all_direct(r, "not_logged") for r in gunicorn) and all(n > 0 for n in raised)))
    guards = [r for r in rows if r["variant"] == GUARD]
    if guards:
        bad = sum(r[k]["status_500"] + r[k]["status_400"] for r in guards for k in ("direct", "upgrade"))
        total = sum(r[k]["connections"] for r in guards for k in ("direct", "upgrade"))
        lines_101 = sum(r["direct"]["status_101"] for r in guards)
        direct = sum(r["direct"]["connections"] for r in guards)
        claims.append(Claim(
            "The guard leaves no 500 and no 400 for WebSockets and logs a 101 line for every direct one", evidence,
            f"{bad} of {total} connections with a 500 or 400; 101 lines {k_of_n(lines_101, direct)} "
            f"({len(guards)} guard rows)", total > 0 and bad == 0 and every(lines_101, direct)))
    fix = _row(rows, "incident", WRITEUP_FIX)
    if incident is not None and fix is not None:
        claims.append(Claim(
            "The write-up's fix keeps the 500 and hides the signed-in user from every connect handler", evidence,
            f"500s {_direct(incident)} -> {_direct(fix)}; user seen "
            f"{k_of_n(incident['session_visible_in_handler'], incident['socketio_users'])} -> "
            f"{k_of_n(fix['session_visible_in_handler'], fix['socketio_users'])}",
            _all_direct(incident) and _all_direct(fix) and fix["session_visible_in_handler"] == 0
            and every(incident["session_visible_in_handler"], incident["socketio_users"])))
    return claims


def bisect_claims(record: Mapping[str, Any], evidence: str) -> list[Claim]:
    """The bisect's verdict against its own per-release counts: 500s before the first fixed release, none after."""
    first = record.get("first_release_without_500")
    measured = [r for r in record["releases"] if not r.get("error")]
    if not first or not measured:
        return [Claim("A python-engineio release removes the 500 for good", evidence,
                      f"first release without the 500: {first}", False)]
    earlier = [r for r in measured if Version(r["version"]) < Version(first)]
    later = [r for r in measured if Version(r["version"]) >= Version(first)]
    return [Claim(
        f"Every measured python-engineio release before {first} logs the 500 for every direct WebSocket; "
        f"{first} and every later one for none", evidence,
        f"{sum(_all_direct(r) for r in earlier)} of {len(earlier)} earlier releases with n/n, "
        f"{sum(_no_direct(r) for r in later)} of {len(later)} from {first} on with 0/n",
        bool(earlier) and all(_all_direct(r) for r in earlier) and bool(later) and all(_no_direct(r) for r in later))]


def hot_apply_claims(guard: Mapping[str, int], evidence: str) -> list[Claim]:
    """What :func:`wslab.study.runs.hot_apply.guard_check` found: no WebSocket opened under the guard without a 101."""
    opened, with_101 = guard["websockets_opened_after"], guard["of_them_with_101"]
    total, carried = guard["guard_phase_5xx"], guard["from_websockets_opened_before"]
    return [
        Claim("Under traffic, every direct WebSocket opened after the guard went in got a 101 line", evidence,
              f"opened after it without a 101 line: {opened - with_101}", every(with_101, opened)),
        Claim("Every 5xx line of the guard phase comes from a WebSocket opened before the guard went in", evidence,
              f"5xx lines from anything else: {total - carried}", total == carried),
    ]


def fixes_compared_claims(*, rows: Sequence[Mapping[str, Any]], recorded: Mapping[str, Any],
                          bisect: Mapping[str, Any], guard: Mapping[str, int]) -> list[Claim]:
    """Notebook 04's conclusions.

    *rows* are the small matrix this notebook ran, *recorded* the committed
    ``data/matrix/matrix.json``, *bisect* the committed
    ``data/bisect/python-engineio/bisect.json`` and *guard* the hot-apply run's
    :func:`~wslab.study.runs.hot_apply.guard_check`.
    """
    return [*matrix_claims(rows, "this notebook's matrix run"),
            *matrix_claims(recorded["rows"], "data/matrix/matrix.json"),
            *bisect_claims(bisect, "data/bisect/python-engineio/bisect.json"),
            *hot_apply_claims(guard, "the hot-apply run: its log and its clients' start times")]


# -- 05_your_logs ---------------------------------------------------------------------------


def _phase(table: pd.DataFrame, label: str) -> tuple[int, int] | None:
    """``(5xx lines, request lines)`` of the phase *label* of a before/after table, if it has one."""
    rows = table[table["phase"] == label]
    return (int(rows["server_errors"].iloc[0]), int(rows["requests"].iloc[0])) if len(rows) else None


def recorded_logs_claims(*, recorded: pd.DataFrame, before: ParsedLog, by_kind: pd.DataFrame,
                         before_log: str | Path) -> list[Claim]:
    """What the committed recordings show: *recorded* is
    :func:`wslab.study.incident.recorded.against_what_was_sent`, *before* the parsed log
    at *before_log* and *by_kind* its error rate per kind of request."""
    before_name = _shown(before_log)
    holding = int(recorded["holds"].sum())
    kinds = by_kind.set_index("kind")
    direct = kinds.loc[RequestKind.DIRECT_WEBSOCKET] if RequestKind.DIRECT_WEBSOCKET in kinds.index else None
    others = kinds.drop(index=RequestKind.DIRECT_WEBSOCKET, errors="ignore")
    other_errors, other_requests = int(others["server_errors"].sum()), int(others["requests"].sum())
    errors = before.errors
    rows = errors["request"].dropna().astype(int)
    matched = int(before.requests.loc[rows, "server_error"].astype(bool).sum()) if len(rows) else 0
    d_errors, d_total = (0, 0) if direct is None else (int(direct["server_errors"]), int(direct["requests"]))
    return [
        Claim("Every committed recording logged what its manifest says it sent: one 500 and one traceback "
              "per direct WebSocket (one 101 under the guard)", "data/logs/manifest.json and the logs",
              f"{k_of_n(holding, len(recorded))} logs", every(holding, len(recorded))),
        Claim(f"In {before_name} the 5xx lines are the direct WebSockets, all of them, and nothing else",
              before_name, f"direct {k_of_n(d_errors, d_total)}; other requests {other_errors} of {other_requests}",
              every(d_errors, d_total) and other_errors == 0 and other_requests > 0),
        Claim("Every traceback in it is matched to a 5xx request line", before_name,
              k_of_n(matched, len(errors)), every(matched, len(errors))),
    ]


def deploy_log_claims(deploys: LogOverview, fix: str = WRITEUP_FIX, guard: str = GUARD) -> list[Claim]:
    """What the recorded deploy log shows around its named deploys *fix* and *guard*."""
    log = shown_path(deploys.path)
    table = deploys.before_after if deploys.before_after is not None else pd.DataFrame(columns=["phase"])
    start = _phase(table, f"before {fix}")
    after_fix, after_guard = _phase(table, f"after {fix}"), _phase(table, f"after {guard}")

    def text(counts: tuple[int, int] | None) -> str:
        return "not in the log" if counts is None else f"{counts[0]} of {counts[1]}"

    return [
        Claim(f"The phase after {fix} still logs 5xx lines, as the phase before it did", log,
              f"before: {text(start)}; after {fix}: {text(after_fix)}",
              start is not None and after_fix is not None and start[0] > 0 and after_fix[0] > 0),
        Claim(f"After {guard}, the log has no 5xx line", log, f"after {guard}: {text(after_guard)}",
              after_guard is not None and after_guard[1] > 0 and after_guard[0] == 0),
    ]


def your_deployment_claims(yours: LogOverview, diagnosis: Diagnosis) -> list[Claim]:
    """Whether the analysed log and requirements show the incident, and what the records say removes it."""
    log = shown_path(yours.path)
    kinds = yours.by_kind.set_index("kind")
    if RequestKind.DIRECT_WEBSOCKET in kinds.index:
        direct = f"direct WebSockets with a 5xx {k_of_n(kinds.loc[RequestKind.DIRECT_WEBSOCKET, 'server_errors'], kinds.loc[RequestKind.DIRECT_WEBSOCKET, 'requests'])}"
    else:
        direct = "no direct WebSocket requests"
    claims = [
        Claim("This log shows the incident: direct WebSocket 5xx lines or write() before start_response "
              "tracebacks", log,
              f"{direct}; tracebacks {yours.summary['write_before_start_response']}", yours.affected),
        Claim(f"These versions log the 500 on {SERVER_LABELS.get(diagnosis.server, diagnosis.server)}, by the recorded runs",
              diagnosis.source,
              f"{diagnosis.verdict}: " + "; ".join(f"{f.pair}: {f.said()}" for f in diagnosis.findings),
              diagnosis.verdict == "affected"),
    ]
    removing = sorted({c.what for f in diagnosis.findings if f.outcome == "500" for c in f.changes if c.removes})
    if diagnosis.verdict == "affected":
        claims.append(Claim("At least one recorded change removes the 500 at these versions",
                            "data/matrix/matrix.json, data/bisect/python-engineio/bisect.json",
                            "; ".join(removing) or "none recorded", bool(removing)))
    return claims


def your_logs_claims(*, recorded: pd.DataFrame, before: ParsedLog, by_kind: pd.DataFrame, before_log: str | Path,
                     deploys: LogOverview, yours: LogOverview, diagnosis: Diagnosis) -> list[Claim]:
    """Notebook 05's conclusions: the recorded logs (:func:`recorded_logs_claims`), the deploy log
    (:func:`deploy_log_claims`), then the analysed log and requirements (:func:`your_deployment_claims`)."""
    return [*recorded_logs_claims(recorded=recorded, before=before, by_kind=by_kind, before_log=before_log),
            *deploy_log_claims(deploys), *your_deployment_claims(yours, diagnosis)]
