"""Notebook ``03_root_cause``'s conclusions: where the 500 comes from, when it is logged, and what the
session has to do with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from packaging.version import Version

from wslab.teach.claims.base import (BEFORE, DIRECT, EXCERPT, GUARD, NO_SESSION, UPGRADE, WRITEUP_FIX, Claim,
                                     block_parts, every, k_of_n)


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
    matched, parts = block_parts(comparison)
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
