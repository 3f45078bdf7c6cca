"""One outcome per Socket.IO connection: the traffic driver's record joined with the log.

Every Socket.IO client the traffic driver starts carries its user name in the
connection URL (``?wslab_conn=websocket-003``, see
:data:`wslab.lab.traffic.CONNECTION_PARAM`), and Werkzeug's access line
repeats the URL, so each WebSocket request line can be traced back to the
client that made it.  :func:`connection_outcomes` gives one row per
connection:

``outcome``
    ``status_500``, ``status_101``, ``status_200``, ``status_400`` or
    ``status_other`` from the status of the connection's own WebSocket request
    line, or ``not_logged`` when the log holds no such line (python-engineio
    4.13.4 and later under Werkzeug, a connection the client reset, gunicorn).
``write_before_start_response``
    the traceback matched to that request line says ``write() before
    start_response``.
``left_over_400``
    Werkzeug's ``"None /socket.io/?… HTTP/0.9" 400`` lines carrying the
    connection's URL: the bytes a client sent after its WebSocket handshake,
    read by Werkzeug as a new, malformed request.

:func:`outcome_counts` sums the rows of one kind of connection (``direct``:
WebSocket from the start; ``upgrade``: polling, then upgraded) into the
counts a designed experiment reports as k/n.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import pandas as pd

from wslab.lab.traffic import CONNECTION_PARAM, TrafficReport
from wslab.logs import WRITE_BEFORE_START_RESPONSE, ParsedLog
from wslab.model.kinds import ConnectionKind

#: Connection kinds as experiments report them, by the traffic driver's user kind.
CONNECTION_KINDS = {"websocket": ConnectionKind.DIRECT, "upgrade": ConnectionKind.UPGRADE}

#: What a connection's own WebSocket request line can show, in report order.
OUTCOMES = ("status_500", "status_101", "status_200", "status_400", "status_other", "not_logged")

#: The keys of :func:`outcome_counts`, in report order.
COUNT_KEYS = ("connections", "status_500", "status_101", "status_200", "status_400",
              "not_logged", "write_before_start_response")

_LEFT_OVER = re.compile(r"None /\S*\?(?P<query>\S*) HTTP/0\.9")

_COLUMNS = ["user", "kind", "connected", "status", "outcome", "write_before_start_response",
            "websocket_lines", "left_over_400"]


def connection_id(query: Any) -> str | None:
    """The connection id in one request line's query string, or None."""
    if not isinstance(query, str) or CONNECTION_PARAM not in query:
        return None
    values = parse_qs(query, keep_blank_values=True).get(CONNECTION_PARAM)
    return values[-1] if values else None


def _status_outcome(status: int) -> str:
    name = f"status_{status}"
    return name if name in OUTCOMES else "status_other"


def _left_over_query(request: Any) -> str | None:
    """The query of a ``None … HTTP/0.9`` request text, the parser leaves those unsplit."""
    match = _LEFT_OVER.fullmatch(request) if isinstance(request, str) else None
    return match["query"] if match else None


def _websocket_lines(parsed: ParsedLog) -> pd.DataFrame:
    """WebSocket request lines that carry a connection id, with that id and their traceback."""
    requests = parsed.requests
    if requests.empty:
        return pd.DataFrame(columns=["conn", "method", "status", "wbsr"])
    lines = requests.copy()
    left_over = lines["method"].isna()
    lines.loc[left_over, "method"] = "None"
    lines.loc[left_over, "query"] = lines.loc[left_over, "request"].map(_left_over_query)
    lines["conn"] = lines["query"].map(connection_id)
    websocket = lines["query"].map(lambda q: isinstance(q, str) and "transport=websocket" in q.split("&"))
    lines = lines[lines["conn"].notna() & websocket]
    errors = parsed.errors
    wbsr_requests: set[int] = set()
    if not errors.empty:
        hit = errors["message"].astype(str).str.contains(WRITE_BEFORE_START_RESPONSE, regex=False)
        wbsr_requests = set(errors.loc[hit, "request"].dropna().astype(int))
    lines["wbsr"] = [index in wbsr_requests for index in lines.index]
    return lines[["conn", "method", "status", "wbsr"]]


def connection_outcomes(report: TrafficReport, parsed: ParsedLog) -> pd.DataFrame:
    """One row per WebSocket connection the workload opened (direct and upgraded).

    *parsed* is the log of the run that *report* drove.  A connection's own line
    is its ``GET`` WebSocket request line; ``None`` lines (left-over bytes read
    as a request) are counted in ``left_over_400``, never as its outcome.
    """
    lines = _websocket_lines(parsed)
    own = lines[lines["method"] != "None"]
    left_over = lines[(lines["method"] == "None")].groupby("conn").size()
    rows = []
    for user in report.users:
        if user.kind not in CONNECTION_KINDS:
            continue
        mine = own[own["conn"] == user.user]
        status = int(mine["status"].iloc[-1]) if len(mine) else None
        rows.append({
            "user": user.user,
            "kind": CONNECTION_KINDS[user.kind],
            "connected": user.socketio_connected,
            "status": status,
            "outcome": "not_logged" if status is None else _status_outcome(status),
            "write_before_start_response": bool(mine["wbsr"].any()),
            "websocket_lines": int(len(mine)),
            "left_over_400": int(left_over.get(user.user, 0)),
        })
    return pd.DataFrame(rows, columns=_COLUMNS)


def outcome_counts(outcomes: pd.DataFrame, kind: str) -> dict[str, int]:
    """k of n for one kind of connection (``direct`` or ``upgrade``); see :data:`COUNT_KEYS`.

    ``status_400`` counts connections with a 400 line of their own or a left-over
    ``400`` line; the others count connections by the outcome of their own line.
    """
    rows = outcomes[outcomes["kind"] == kind]
    counts = {"connections": int(len(rows))}
    for outcome in ("status_500", "status_101", "status_200", "not_logged"):
        counts[outcome] = int((rows["outcome"] == outcome).sum())
    counts["status_400"] = int(((rows["outcome"] == "status_400") | (rows["left_over_400"] > 0)).sum())
    counts["write_before_start_response"] = int(rows["write_before_start_response"].sum())
    return {key: counts[key] for key in COUNT_KEYS}
