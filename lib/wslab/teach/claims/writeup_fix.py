"""Notebook ``02_writeup_fix``'s conclusions: what the write-up's fix detects, changes and leaves."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.teach.claims.base import BEFORE, DIRECT, WRITEUP_FIX, Claim, by_kind_rows, every, file_name, k_of_n

#: The corpus labels of Socket.IO requests: what the write-up's detection should flag.
SOCKETIO_LABELS = ("socketio-websocket", "socketio-polling")


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
    corpus = f"data/requests/{file_name(corpus)}"
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
    logs = f"{file_name(before['log_path'])}, {file_name(fix['log_path'])}"
    none = {"server_errors": 0, "write_before_start_response": 0}
    d_before = by_kind_rows(before["log"]["by_kind"]).get(DIRECT, none)
    d_fix = by_kind_rows(fix["log"]["by_kind"]).get(DIRECT, none)
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
