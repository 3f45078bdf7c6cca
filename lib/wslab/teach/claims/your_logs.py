"""Notebook ``05_your_logs``'s conclusions: the committed recordings, the deploy log, then *your* log
and requirements file.

The last rows are about *your* log and requirements file: their sentence is
fixed ("this log shows the incident"), and ``holds`` says whether it does, so a
run on an unaffected deployment ends with ``False`` there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wslab.diagnose.doctor import Diagnosis
from wslab.logs import LogOverview, ParsedLog, shown_path
from wslab.model.servers import SERVER_LABELS
from wslab.teach.claims.base import DIRECT, GUARD, WRITEUP_FIX, Claim, every, k_of_n, kit_relative


def _phase(table: pd.DataFrame, label: str) -> tuple[int, int] | None:
    """``(5xx lines, request lines)`` of the phase *label* of a before/after table, if it has one."""
    rows = table[table["phase"] == label]
    return (int(rows["server_errors"].iloc[0]), int(rows["requests"].iloc[0])) if len(rows) else None


def recorded_logs_claims(*, recorded: pd.DataFrame, before: ParsedLog, by_kind: pd.DataFrame,
                         before_log: str | Path) -> list[Claim]:
    """What the committed recordings show: *recorded* is
    :func:`wslab.study.incident.recorded.against_what_was_sent`, *before* the parsed log
    at *before_log* and *by_kind* its error rate per kind of request."""
    before_name = kit_relative(before_log)
    holding = int(recorded["holds"].sum())
    kinds = by_kind.set_index("kind")
    direct = kinds.loc[DIRECT] if DIRECT in kinds.index else None
    others = kinds.drop(index=DIRECT, errors="ignore")
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
    if DIRECT in kinds.index:
        row = kinds.loc[DIRECT]
        direct = f"direct WebSockets with a 5xx {k_of_n(row['server_errors'], row['requests'])}"
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
