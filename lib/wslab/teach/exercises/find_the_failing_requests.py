"""Exercise 03, *find the failing requests*: how many requests of a log failed, and which.

The learner answers four questions about a log's 5xx request lines (how many,
on which path, over which transport, with or without a ``sid``);
:class:`FailingRequests` works the right answers out of the log with the kit's
parser when the check runs, and names the usual miscounts (text lines instead
of request records, tracebacks instead of requests) when an answer matches one.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.errors import WslabError
from wslab.logs import WRITE_BEFORE_START_RESPONSE, parse_log
from wslab.model.kinds import RequestKind
from wslab.teach.exercises.answers import as_count, normalise_flag, normalise_name, normalise_path
from wslab.teach.exercises.base import (PLACEHOLDER, Feedback, Hints, answers_summary, as_set, describe,
                                        is_placeholder, kit_or_given, listing, plural)


@dataclass(frozen=True)
class FailingTruth:
    """The failing requests of one log, as the kit's parser finds them."""

    count: int
    paths: tuple[str, ...]
    transports: tuple[str, ...]
    with_sid: tuple[bool, ...]
    requests: pd.DataFrame = field(compare=False)
    naive_counts: dict[str, int] = field(compare=False)


#: Miscounts learners make, each with why it is wrong.  Keys are computed by
#: :func:`naive_counts`; only those that differ from the right count are used.
MISCOUNTS: dict[str, str] = {
    "message_lines": ("that is the number of text lines mentioning `write() before start_response`; "
                      "each traceback mentions it twice (the `assert` source line and the "
                      "`AssertionError` line), so it counts lines, not records"),
    "traceback_lines": ("that is the number of lines inside traceback blocks; a traceback is one "
                        "record spread over several lines"),
    "error_records": ("that is the number of `ERROR` log records, which are the tracebacks, "
                      "not the failing requests; count the request lines with a 5xx status"),
    "lines_with_500": ("that is the number of lines containing `500` anywhere; timestamps and "
                       "query values contain it too; match the status field of request lines"),
    "websocket_requests": ("that counts every WebSocket request, including the upgrades of "
                           "polling connections (with a `sid`), which did not fail"),
    "socketio_requests": "that counts every Socket.IO request, polling included, not only the failing ones",
    "request_lines": "that is the number of all request lines, failing or not",
    "tracebacks": ("that is the number of traceback records; a request can fail without one and a "
                   "traceback need not belong to a request line, so count 5xx request lines"),
}


def naive_counts(text: str, requests: pd.DataFrame, errors: pd.DataFrame) -> dict[str, int]:
    """The counts the usual shortcuts give on a log (see :data:`MISCOUNTS`)."""
    lines = text.splitlines()
    traceback_lines, inside = 0, False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            inside = True
        if inside:
            traceback_lines += 1
            if line and not line.startswith((" ", "Traceback")):
                inside = False
    return {
        "message_lines": sum(WRITE_BEFORE_START_RESPONSE in line for line in lines),
        "traceback_lines": traceback_lines,
        "error_records": sum(" ERROR " in line for line in lines),
        "lines_with_500": sum("500" in line for line in lines),
        "websocket_requests": int((requests["transport"] == "websocket").sum()),
        "socketio_requests": int(requests["is_socketio"].sum()),
        "request_lines": int(len(requests)),
        "tracebacks": int(len(errors)),
    }


def failing_truth(log_path: str | Path) -> FailingTruth:
    """Parse *log_path* with the kit's parser and describe its failing (5xx) requests."""
    path = Path(log_path)
    if not path.is_file():
        raise WslabError(f"no log file at {path}")
    data = path.read_bytes()
    parsed = parse_log(io.BytesIO(data))
    requests = parsed.requests
    failing = requests[requests["server_error"]]
    has_sid = failing["sid"].notna() & (failing["sid"].astype(str) != "")
    return FailingTruth(
        count=int(len(failing)),
        paths=tuple(sorted(set(failing["path"]))),
        transports=tuple(sorted(set(failing["transport"]))),
        with_sid=tuple(sorted(set(bool(v) for v in has_sid))),
        requests=requests,
        naive_counts=naive_counts(data.decode("utf-8", "replace"), requests, parsed.errors),
    )


class FailingRequests(Hints):
    """Task 3: how many requests failed in a log, on which path and transport, with or without sid."""

    hints = (
        "`parse_log(path).requests` has one row per request line; its `server_error` column is "
        "True for a 5xx status.",
        "Filter the failing rows, then look at their `path`, `transport` and `sid` columns "
        "(`value_counts()` is handy). A `sid` is present only when a polling connection upgrades.",
        "Count request records, not text lines: a traceback spans several lines and belongs to the "
        "request line logged just before it.",
    )

    def __init__(self, log_path: str | Path | None = None) -> None:
        """*log_path*: a log file, absolute, relative to the working folder or to the kit's
        folder (``data/logs/guard.log``); None for the kit's ``data/logs/before.log``."""
        self.log_path = kit_or_given(log_path, "data/logs/before.log")

    def describe(self) -> str:
        """One line naming the log being checked."""
        return f"log: {self.log_path.name} ({len(self.log_path.read_bytes().splitlines())} lines)"

    def truth(self) -> FailingTruth:
        """The right answer, computed now from the log."""
        return failing_truth(self.log_path)

    def check(self, count: Any = PLACEHOLDER, path: Any = PLACEHOLDER, transport: Any = PLACEHOLDER,
              with_sid: Any = PLACEHOLDER) -> Feedback:
        """Compare the learner's four answers with what the log holds."""
        answers = {"count": count, "path": path, "transport": transport, "with_sid": with_sid}
        missing = [name for name, value in answers.items() if is_placeholder(value)]
        if missing:
            return Feedback("not-yet", "replace the `...` in the answer cell with your answers.",
                            (f"still a placeholder: {', '.join(missing)}",), self.hints[0])
        truth = self.truth()
        good: list[str] = []
        bad: list[str] = []
        self._check_count(count, truth, good, bad)
        if truth.count == 0:
            checked = 1
            good.append("this log has no failing request, so path, transport and sid were not checked")
        else:
            checked = 4
            self._check_path(path, truth, good, bad)
            self._check_transport(transport, truth, good, bad)
            self._check_sid(with_sid, truth, good, bad)
        title = f"{answers_summary(len(bad), checked)} the failing requests in {self.log_path.name}."
        if bad:
            return Feedback("incorrect", title, tuple(bad + good),
                            self.hints[1] if len(bad) > 1 else self.hints[2])
        return Feedback("correct", title, tuple(good + self._explain(truth)))

    @staticmethod
    def _check_count(count: Any, truth: FailingTruth, good: list[str], bad: list[str]) -> None:
        number = as_count(count)
        if number is None:
            collection = isinstance(count, (Collection, pd.Series)) and not isinstance(count, str)
            bad.append(f"count should be a whole number; you gave {describe(count)}"
                       + (" (did you mean `len(...)`?)" if collection else ""))
            return
        if number == truth.count:
            good.append(f"count: {plural(number, 'request line')} with a 5xx status")
            return
        why = [MISCOUNTS[key] for key, value in truth.naive_counts.items()
               if value == number and value != truth.count]
        reason = why[0] if why else "count the request lines whose status is 5xx"
        bad.append(f"count: you said {number}, the log has {plural(truth.count, 'failing request line')}; "
                   f"{reason}")

    @staticmethod
    def _check_path(path: Any, truth: FailingTruth, good: list[str], bad: list[str]) -> None:
        raw = as_set(path)
        given = None if raw is None else {normalise_path(p) for p in raw}
        if given is None:
            bad.append(f"path should be a string such as `/login`; you gave {describe(path)}")
        elif given == set(truth.paths):
            good.append(f"path: {listing(truth.paths)}")
        elif any("?" in p for p in given):
            bad.append("path: that includes the query string; the path is the part before `?`")
        elif {p.casefold() for p in given} == {p.casefold() for p in truth.paths}:
            bad.append(f"path: the log says {listing(truth.paths)}; paths are case-sensitive, and "
                       "Engine.IO routes only its own path, spelled exactly")
        elif {p.rstrip("/") for p in given} == {p.rstrip("/") for p in truth.paths}:
            bad.append(f"path: the log says {listing(truth.paths)}; the slash matters, because "
                       "Engine.IO only routes paths *below* its path, and a path without the "
                       "slash goes to Flask")
        else:
            bad.append(f"path: you said {listing(sorted(given))}, the failing requests are on "
                       f"{listing(truth.paths)}")

    @staticmethod
    def _check_transport(transport: Any, truth: FailingTruth, good: list[str], bad: list[str]) -> None:
        given = as_set(transport)
        keys = None if given is None else {normalise_name(t) for t in given}
        if keys is not None and keys == {normalise_name(t) for t in truth.transports}:
            good.append(f"transport: {listing(truth.transports)}")
            return
        shown = listing(sorted(given)) if given else repr(transport)
        reason = (f"transport: you said {shown}, the failing requests used "
                  f"{listing(truth.transports)} (the `transport` query parameter)")
        if keys and "upgrade" in keys:
            reason += ("; an upgrade is a polling connection switching to WebSocket, not a transport "
                       "of its own, and its WebSocket requests carry a `sid`")
        bad.append(reason)

    @staticmethod
    def _check_sid(with_sid: Any, truth: FailingTruth, good: list[str], bad: list[str]) -> None:
        expected: Any = truth.with_sid[0] if len(truth.with_sid) == 1 else "mixed"
        if normalise_flag(with_sid) == expected:
            good.append(f"with sid: {expected}")
            return
        word = {True: "all carry a `sid`", False: "none carries a `sid`", "mixed": "some carry a `sid`"}
        bad.append(f"with sid: you said {with_sid!r}; of the failing requests {word[expected]}"
                   + (" (answer True, False or \"mixed\")" if expected == "mixed" else ""))

    @staticmethod
    def _explain(truth: FailingTruth) -> list[str]:
        requests = truth.requests
        lines = []
        for kind in RequestKind.ordered():
            rows = requests[requests["kind"] == kind]
            if len(rows):
                lines.append(f"{kind.label}: {int(rows['server_error'].sum())} of {len(rows)} failed")
        return ["per kind of request — " + "; ".join(lines)] if lines else []
