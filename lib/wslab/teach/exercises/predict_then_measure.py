"""Exercise 01, *predict then measure*: the 5xx lines with and without the write-up's change.

The learner records a prediction first (:meth:`PredictThenMeasure.predict`),
then runs both variants' real stacks with the same workload
(:meth:`PredictThenMeasure.measure`); the check compares the two and says what
the measured numbers mean, per kind of request (:class:`~wslab.model.kinds.RequestKind`).
A prediction recorded after the measurement does not count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.model.kinds import RequestKind
from wslab.teach.exercises.answers import as_count
from wslab.teach.exercises.base import PLACEHOLDER, Feedback, Hints, answers_summary, is_placeholder, kit_file, plural


@dataclass
class Measurement:
    """One variant's run as task 1 tabulates it."""

    variant: str
    users: dict[str, int]
    server_errors: int
    write_before_start_response: int
    errors_by_kind: dict[str, int]
    session_skipped: bool


Runner = Callable[..., dict[str, Any]]


class PredictThenMeasure(Hints):
    """Task 1: predict the 5xx lines with and without the write-up's change, then measure both."""

    variants: tuple[str, str] = ("before", "writeup-fix")

    hints = (
        "Notebook 01 showed which kind of request gets the 500. Count how many of those this "
        "workload sends.",
        "The write-up's change touches the session interface and three Socket.IO options. Does any "
        "of them run in the code that answers a direct WebSocket request after it closes?",
    )

    def __init__(self, ws_users: int = 3, upgrade_users: int = 2) -> None:
        """The workload each variant gets: *ws_users* direct WebSocket users, *upgrade_users* upgrading ones."""
        self.ws_users = ws_users
        self.upgrade_users = upgrade_users
        self.predictions: dict[str, Any] | None = None
        self.measurements: dict[str, Measurement] = {}
        self._events: list[str] = []

    def predict(self, before: Any = PLACEHOLDER, writeup_fix: Any = PLACEHOLDER) -> Feedback:
        """Record the predicted number of 5xx request lines for each variant."""
        given = {"before": before, "writeup-fix": writeup_fix}
        missing = [name for name, value in given.items() if is_placeholder(value)]
        if missing:
            self.predictions = None
            return Feedback("not-yet", "write both predictions, then run this cell again.",
                            (f"still a placeholder: {', '.join(missing)}",))
        bad = [name for name, value in given.items() if as_count(value) is None or as_count(value) < 0]
        if bad:
            self.predictions = None
            return Feedback("incorrect", "a prediction must be a whole number of 5xx lines (0 or more).",
                            tuple(f"{name}: {given[name]!r}" for name in bad))
        self.predictions = {name: as_count(value) for name, value in given.items()}
        self._events.append("predict")
        late = (" after a measurement: it counts as a prediction only for a new measurement"
                if "measure" in self._events[:-1] else "")
        return Feedback("not-yet", f"prediction recorded{late}; now run the measurement.",
                        tuple(f"{name}: {plural(value, '5xx line')}" for name, value in self.predictions.items()))

    def measure(self, redis_url: str | None = "fakeredis", log_dir: str | Path | None = None,
                runner: Runner | None = None) -> pd.DataFrame:
        """Run each variant's stack with this workload and count what its log recorded.

        *runner* defaults to :func:`wslab.study.runs.variant_run.run_variant`; each run appends to
        ``logs/exercise_01_<variant>.log`` in the kit (or *log_dir*).
        """
        from wslab.study.incident.writeup_fix import SKIPPING_SESSION
        from wslab.study.runs.variant_run import run_variant

        runner = runner or run_variant
        folder = Path(log_dir) if log_dir else kit_file("logs")
        folder.mkdir(parents=True, exist_ok=True)
        for variant in self.variants:
            log_path = folder / f"exercise_01_{variant}.log"
            offset = log_path.stat().st_size if log_path.exists() else 0
            result = runner(variant, log_path, ws_users=self.ws_users, upgrade_users=self.upgrade_users,
                            redis_url=redis_url)
            appended = log_path.read_bytes()[offset:] if log_path.exists() else b""
            self.record(result, session_skipped=SKIPPING_SESSION.encode() in appended)
        return self.table()

    def record(self, result: Mapping[str, Any], session_skipped: bool = False) -> Measurement:
        """Keep one :func:`~wslab.study.runs.variant_run.run_variant` result as a :class:`Measurement`."""
        log = result["log"]
        measurement = Measurement(
            variant=result["variant"],
            users=dict(result["sent"]["users"]),
            server_errors=int(log["server_errors"]),
            write_before_start_response=int(log["write_before_start_response"]),
            errors_by_kind={row["kind"]: int(row["server_errors"]) for row in log["by_kind"]},
            session_skipped=session_skipped,
        )
        self.measurements[measurement.variant] = measurement
        self._events.append("measure")
        return measurement

    def table(self) -> pd.DataFrame:
        """One row per measured variant: users sent, 5xx lines, tracebacks, 5xx per kind."""
        rows = []
        for variant in self.variants:
            m = self.measurements.get(variant)
            if m is None:
                continue
            rows.append({
                "variant": variant,
                "direct WebSocket users": m.users.get("websocket", 0),
                "upgrade users": m.users.get("upgrade", 0),
                "5xx lines": m.server_errors,
                "write() before start_response": m.write_before_start_response,
                **{f"5xx on {kind}": n for kind, n in m.errors_by_kind.items()},
                "session creation skipped": m.session_skipped,
            })
        return pd.DataFrame(rows).set_index("variant") if rows else pd.DataFrame()

    def check(self) -> Feedback:
        """Compare the recorded prediction with the measurement and say what the numbers mean."""
        if self.predictions is None:
            return Feedback("not-yet", "no prediction recorded: fill in the prediction cell and run it "
                            "*before* the measurement.", (), self.hints[0])
        if any(v not in self.measurements for v in self.variants):
            return Feedback("not-yet", "no measurement yet: run the measurement cell.")
        last = {event: i for i, event in enumerate(self._events)}
        late = last["predict"] > last["measure"]
        measured = {v: self.measurements[v].server_errors for v in self.variants}
        reasons = []
        for variant in self.variants:
            p, m = self.predictions[variant], measured[variant]
            verdict = "right" if p == m else "off by " + str(abs(p - m))
            reasons.append(f"{variant}: you predicted {p}, the server logged {plural(m, '5xx line')} ({verdict})")
        reasons += self._meaning(measured)
        if late:
            reasons.insert(0, "this prediction was recorded after the measurement, so it is not a "
                              "prediction: run the measurement cell again to test it")
        wrong = sum(self.predictions[v] != measured[v] for v in self.variants)
        title = f"{answers_summary(wrong, len(self.variants), 'prediction')} the measurement"
        if late:
            title += ", but a prediction recorded after the measurement does not count"
        if not wrong and not late:
            return Feedback("correct", title + ".", tuple(reasons))
        claimed = self.predictions["writeup-fix"] == 0 and measured["writeup-fix"] > 0
        hint = self.hints[1] if claimed else self.hints[0]
        if claimed:
            reasons.append("a prediction of 0 with the change is what the write-up claimed; the "
                           "measurement tests that claim")
        return Feedback("incorrect", title + ".", tuple(reasons), hint)

    def _meaning(self, measured: Mapping[str, int]) -> list[str]:
        before, fixed = (self.measurements[v] for v in self.variants)
        lines = []
        if measured["writeup-fix"] == measured["before"]:
            lines.append("the write-up's change left the number of 5xx lines unchanged")
        elif measured["writeup-fix"] == 0:
            removed = measured["before"]
            lines.append("the write-up's change removed the only 5xx line" if removed == 1 else
                         f"the write-up's change removed all {removed} 5xx lines")
        else:
            change = measured["before"] - measured["writeup-fix"]
            lines.append(f"the write-up's change moved the 5xx lines by {-change:+d}")
        for m in (before, fixed):
            kinds = [f"{kind} ({n})" for kind, n in m.errors_by_kind.items() if n]
            if kinds:
                ws = m.users.get("websocket", 0)
                per_user = (f"; that is one per direct WebSocket user ({ws})"
                            if m.errors_by_kind.get(RequestKind.DIRECT_WEBSOCKET, -1) == ws == m.server_errors
                            else "")
                lines.append(f"{m.variant}: the 5xx lines fall on {', '.join(kinds)}{per_user}")
        if fixed.session_skipped and measured["writeup-fix"]:
            lines.append("with the change, the session interface did skip the Socket.IO requests (it "
                         "logged \"Skipping session creation\"), yet the 5xx lines remain: the session "
                         "is not what produces them")
        return lines
