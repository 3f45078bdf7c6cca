"""Notebook ``04_fixes_compared``'s conclusions: the factor matrix, the bisect and the hot-applied guard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from packaging.version import Version

from wslab.teach.claims.base import BEFORE, GUARD, WRITEUP_FIX, Claim, every, k_of_n


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
