"""Check cells for the training notebooks in ``notebooks/exercises/``.

Each task has one checker object.  A learner writes an answer into a cell and
runs the check cell; the checker works out the right answer *from the data at
check time* (a log file, a run of the real stack, the request corpus) and
returns a :class:`Feedback`: correct, incorrect or not yet, with the reasons
and a hint.  Nothing here stores an expected number.

===============================  ==============================================
:class:`FailingRequests`         task 1: the failing requests of a log
:class:`PredictThenMeasure`      task 2: predict, then measure, the write-up's
                                 configuration change
:class:`BeatTheWriteup`          task 3: a request detector that beats the
                                 write-up's heuristic on the request corpus
===============================  ==============================================

An answer left as ``...`` (the placeholder in the task notebooks) always gives
the same "not yet" feedback, so a task notebook's stored outputs are stable.

Answers are compared after :func:`answer_key` puts them in one spelling, chosen
per kind of answer: counts are whole numbers (``20``, ``np.int64(20)`` and
``"20"`` agree); names such as a transport, a label or a signal ignore case and
separators (``"WebSocket"``, ``"web socket"`` and ``"websocket"`` agree;
``"polling→upgrade"`` is the kit's ``upgrade``); paths keep their case, because
a server routes ``/socket.io/`` and ``/Socket.IO/`` differently; free text such as
a log message ignores case, surrounding whitespace and trailing punctuation.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from wslab.app.detection import Decision, RequestHead, writeup_decision, writeup_signals
from wslab.errors import WslabError
from wslab.paths import KIT_ROOT
from wslab.study.detection.detect_eval import evaluate, is_positive

Status = Literal["correct", "incorrect", "not-yet"]

#: How an answer is compared; see :func:`answer_key`.
AnswerKind = Literal["count", "name", "path", "flag", "text"]

#: What a task notebook puts where the learner's answer goes.
PLACEHOLDER = ...


WRITE_BEFORE_START = "write() before start_response"
SKIPPING_SESSION = "Skipping session creation for WebSocket request"


# -- shared ------------------------------------------------------------------


def kit_file(relative: str | Path) -> Path:
    """The path of *relative* inside the kit (``data/logs/before.log``, ``logs/x.log``).

    Looks next to the installed package first, then in the working folder and
    its parents, so it works from any notebook folder.
    """
    relative = Path(relative)
    candidates = [KIT_ROOT, *[p for p in (Path.cwd(), *Path.cwd().parents)]]
    for root in candidates:
        if (root / "data").is_dir() and (root / relative).exists():
            return root / relative
    for root in candidates:
        if (root / "data").is_dir():
            return root / relative
    raise WslabError(f"cannot find the kit's folder holding {relative}")


def is_placeholder(value: Any) -> bool:
    """Whether *value* is still the task notebook's ``...`` placeholder."""
    return value is PLACEHOLDER


# -- answers in one spelling -------------------------------------------------------

_ARROW = re.compile(r"\s*(?:→|->|=>)\s*")
_NAME_SEPARATORS = re.compile(r"[\s_\-]+")
_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s.,;:!?]+$")
_INTEGER = re.compile(r"[+-]?\d+")

#: Names that prose spells one way and the kit's data another, as :func:`normalise_name` keys.
NAME_ALIASES: dict[str, str] = {"polling→upgrade": "upgrade"}


def as_count(value: Any) -> int | None:
    """*value* as a whole number, or None when it is not one.

    Python and NumPy integers, floats with no fractional part and strings of
    digits (``"20"``, ``" 20 "``) count; booleans and anything else do not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _INTEGER.fullmatch(text) else None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    try:
        return number if number == value else None
    except (TypeError, ValueError):
        return None


def normalise_name(value: str) -> str:
    """The comparison key of a name (a transport, a label, a signal, an exception name).

    Case, surrounding whitespace and the separators ``-``, ``_`` and spaces carry
    no meaning; an arrow may be written ``→``, ``->`` or ``=>``; a name listed in
    :data:`NAME_ALIASES` becomes the kit's own name.
    """
    key = _ARROW.sub("→", value.strip().casefold())
    key = _NAME_SEPARATORS.sub("", key)
    return NAME_ALIASES.get(key, key)


def normalise_path(value: str) -> str:
    """The comparison key of a URL path: only surrounding whitespace is dropped, case is kept."""
    return value.strip()


def normalise_text(value: str) -> str:
    """The comparison key of free text such as a log message.

    Case, surrounding whitespace and quotes, runs of inner whitespace and
    trailing punctuation (``.``, ``,``, ``;``, ``:``, ``!``, ``?``) carry no meaning.
    """
    text = _WHITESPACE.sub(" ", value.strip().strip("\"'`").casefold())
    return _TRAILING_PUNCTUATION.sub("", text)


def normalise_flag(value: Any) -> bool | str | None:
    """A yes/no answer as True or False, ``"mixed"`` for a mixed one, or None.

    Python and NumPy booleans count, and so do the strings ``"True"``, ``"false"``
    and ``"Mixed"`` in any case.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        return {"true": True, "false": False, "mixed": "mixed"}.get(word)
    return None


def answer_key(value: Any, kind: AnswerKind) -> Any:
    """*value* in the one spelling used to compare answers of *kind*; None when it is not one.

    ``count`` → :func:`as_count`; ``name`` → :func:`normalise_name`; ``path`` →
    :func:`normalise_path`; ``text`` → :func:`normalise_text`; ``flag`` →
    :func:`normalise_flag`.
    """
    if kind == "count":
        return as_count(value)
    if kind == "flag":
        return normalise_flag(value)
    if not isinstance(value, str):
        return None
    keys: dict[str, Callable[[str], str]] = {"name": normalise_name, "path": normalise_path,
                                            "text": normalise_text}
    return keys[kind](value)


def same_answer(given: Any, expected: Any, kind: AnswerKind) -> bool:
    """Whether *given* is *expected* in another spelling (see :func:`answer_key`)."""
    key = answer_key(given, kind)
    return key is not None and key == answer_key(expected, kind)


# -- feedback wording ------------------------------------------------------------------


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and *word*, in the plural (*many*, or *word* + ``s``) unless *n* is 1."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def answers_summary(mismatched: int, total: int, noun: str = "answer") -> str:
    """One sentence saying how many of *total* answers do not match, without a full stop.

    ``1 of your answers does not match``, ``2 of your answers do not match``,
    ``All 3 answers match``; ``Both answers match`` and ``Your answer matches``
    (or ``does not match``) for two and one answers.
    """
    nouns = noun + "s"
    if total == 1:
        return f"Your {noun} {'does not match' if mismatched else 'matches'}"
    if not mismatched:
        return f"Both {nouns} match" if total == 2 else f"All {total} {nouns} match"
    return f"{mismatched} of your {nouns} {'does' if mismatched == 1 else 'do'} not match"


def _describe(value: Any) -> str:
    """How a wrong-typed answer is named in feedback (``the text 'x'``, ``a list with 2 items``)."""
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (Collection, pd.Series)):
        return f"a {type(value).__name__} with {plural(len(value), 'item')}"
    return repr(value)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A small DataFrame as a Markdown table (index dropped)."""
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = [str(v).replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Feedback:
    """What a check cell shows: a verdict, the reasons, a hint and an optional table."""

    status: Status
    title: str
    reasons: tuple[str, ...] = ()
    hint: str | None = None
    table: pd.DataFrame | None = field(default=None, compare=False)

    @property
    def correct(self) -> bool:
        """True only for a right answer."""
        return self.status == "correct"

    @property
    def label(self) -> str:
        """The verdict as a word: ``Correct``, ``Not quite`` or ``Not yet``."""
        return {"correct": "Correct", "incorrect": "Not quite", "not-yet": "Not yet"}[self.status]

    def text(self) -> str:
        """The feedback as plain text."""
        lines = [f"{self.label}: {self.title}"]
        lines += [f"  - {reason}" for reason in self.reasons]
        if self.table is not None and len(self.table):
            lines.append(self.table.to_string(index=False))
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        colour = {"correct": "#1a7f37", "incorrect": "#cf222e", "not-yet": "#9a6700"}[self.status]
        parts = [f'<span style="color:{colour}">**{self.label}**</span>: {self.title}']
        if self.reasons:
            parts.append("\n".join(f"* {reason}" for reason in self.reasons))
        if self.table is not None and len(self.table):
            parts.append(_markdown_table(self.table))
        if self.hint:
            parts.append(f"*Hint:* {self.hint}")
        return "\n\n".join(parts)


class Hints:
    """Numbered hints, shown one at a time by ``checker.hint(n)``."""

    hints: tuple[str, ...] = ()

    def hint(self, n: int = 1) -> Feedback:
        """Hint number *n* (1-based); the last one when *n* is too large."""
        if not self.hints:
            return Feedback("not-yet", "no hints for this task")
        n = min(max(n, 1), len(self.hints))
        more = f" (`hint({n + 1})` for the next one)" if n < len(self.hints) else ""
        return Feedback("not-yet", f"hint {n} of {len(self.hints)}{more}", (self.hints[n - 1],))


# -- task 1: the failing requests of a log --------------------------------------


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
        "message_lines": sum(WRITE_BEFORE_START in line for line in lines),
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
    from wslab.logs import parse_log
    from wslab.study.runs.variant_run import with_kinds

    path = Path(log_path)
    if not path.is_file():
        raise WslabError(f"no log file at {path}")
    data = path.read_bytes()
    parsed = parse_log(io.BytesIO(data))
    requests = with_kinds(parsed.requests)
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


def _as_set(value: Any) -> set[str] | None:
    """A string or a collection of strings as a set of strings; None for anything else."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, (pd.Series, pd.Index)):
        value = value.tolist()
    if isinstance(value, Collection) and all(isinstance(v, str) for v in value):
        return set(value)
    return None


def _listing(values: Sequence[Any]) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "none"


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
        if not log_path:
            self.log_path = kit_file("data/logs/before.log")
        elif Path(log_path).exists() or Path(log_path).is_absolute():
            self.log_path = Path(log_path)
        else:
            self.log_path = kit_file(log_path)

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
            bad.append(f"count should be a whole number; you gave {_describe(count)}"
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
        raw = _as_set(path)
        given = None if raw is None else {normalise_path(p) for p in raw}
        if given is None:
            bad.append(f"path should be a string such as `/login`; you gave {_describe(path)}")
        elif given == set(truth.paths):
            good.append(f"path: {_listing(truth.paths)}")
        elif any("?" in p for p in given):
            bad.append("path: that includes the query string; the path is the part before `?`")
        elif {p.casefold() for p in given} == {p.casefold() for p in truth.paths}:
            bad.append(f"path: the log says {_listing(truth.paths)}; paths are case-sensitive, and "
                       "Engine.IO routes only its own path, spelled exactly")
        elif {p.rstrip("/") for p in given} == {p.rstrip("/") for p in truth.paths}:
            bad.append(f"path: the log says {_listing(truth.paths)}; the slash matters, because "
                       "Engine.IO only routes paths *below* its path, and a path without the "
                       "slash goes to Flask")
        else:
            bad.append(f"path: you said {_listing(sorted(given))}, the failing requests are on "
                       f"{_listing(truth.paths)}")

    @staticmethod
    def _check_transport(transport: Any, truth: FailingTruth, good: list[str], bad: list[str]) -> None:
        given = _as_set(transport)
        keys = None if given is None else {normalise_name(t) for t in given}
        if keys is not None and keys == {normalise_name(t) for t in truth.transports}:
            good.append(f"transport: {_listing(truth.transports)}")
            return
        shown = _listing(sorted(given)) if given else repr(transport)
        reason = (f"transport: you said {shown}, the failing requests used "
                  f"{_listing(truth.transports)} (the `transport` query parameter)")
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
        from wslab.study.runs.variant_run import KIND_ORDER

        requests = truth.requests
        lines = []
        for kind in KIND_ORDER:
            rows = requests[requests["kind"] == kind]
            if len(rows):
                lines.append(f"{kind}: {int(rows['server_error'].sum())} of {len(rows)} failed")
        return ["per kind of request — " + "; ".join(lines)] if lines else []


# -- task 2: predict, then measure ----------------------------------------------


@dataclass
class Measurement:
    """One variant's run as task 2 tabulates it."""

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
                            if m.errors_by_kind.get("socket.io websocket, no sid", -1) == ws == m.server_errors
                            else "")
                lines.append(f"{m.variant}: the 5xx lines fall on {', '.join(kinds)}{per_user}")
        if fixed.session_skipped and measured["writeup-fix"]:
            lines.append("with the change, the session interface did skip the Socket.IO requests (it "
                         "logged \"Skipping session creation\"), yet the 5xx lines remain: the session "
                         "is not what produces them")
        return lines


# -- task 3: beat the write-up's detector ------------------------------------------


BoolDetector = Callable[[RequestHead], Any]


def as_decision(detector: BoolDetector) -> Callable[[Any], Decision]:
    """Wrap a ``head -> bool`` function as a detector :func:`wslab.study.detection.detect_eval.evaluate` scores."""
    def decide(source: Any) -> Decision:
        hit = detector(RequestHead.from_source(source))
        if not isinstance(hit, bool):
            raise TypeError(f"returned {hit!r} ({type(hit).__name__}), not True or False")
        return Decision(hit, ("yours",) if hit else ())
    return decide


def f1(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean of precision and recall; None when undefined."""
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


#: The write-up's signals that read the query string.
QUERY_SIGNALS = frozenset({"transport-param", "eio-param"})


def writeup_false_positive_signals(records: Sequence[Mapping[str, Any]]) -> set[str]:
    """The write-up's signals that fire on at least one negative (``http``, ``not-engineio``) of *records*."""
    fired: set[str] = set()
    for record in records:
        if not is_positive(record["label"]):
            fired |= {name for name, hit in writeup_signals(RequestHead.from_source(record)).items() if hit}
    return fired


class BeatTheWriteup(Hints):
    """Task 2: a detector that beats the write-up's heuristic on the request corpus.

    *Beats* means: recall at least the write-up's (it misses no more WebSocket
    or Engine.IO requests) **and** strictly higher precision (fewer ordinary
    pages taken for Socket.IO).  A missed positive is worse than a false alarm
    here, so recall comes first; F1 is shown too.
    """

    hints = (
        "Look at the write-up's false positives (`q2.writeup_mistakes()`): what do those requests "
        "have in common, and which signals fired on them?",
        "Query parameters are chosen by whoever writes the URL; a page can carry `transport=polling`. "
        "What does Engine.IO itself look at to route a request?",
        "An Engine.IO request is *below* `/socket.io/` (with the slash) and carries `EIO` and a "
        "`transport` of `polling` or `websocket`: a static file under that path carries neither. A "
        "WebSocket handshake has `Upgrade: websocket` and a `Connection` header whose comma-separated "
        "tokens include `upgrade`.",
    )

    def __init__(self, corpus_path: str | Path | None = None) -> None:
        """*corpus_path*: a request corpus (JSON lines); None for the kit's ``data/requests/corpus.jsonl``."""
        from wslab.study.detection.corpus import load_corpus

        if not corpus_path:
            self.corpus_path = kit_file("data/requests/corpus.jsonl")
        elif Path(corpus_path).exists() or Path(corpus_path).is_absolute():
            self.corpus_path = Path(corpus_path)
        else:
            self.corpus_path = kit_file(corpus_path)
        self.records = load_corpus(self.corpus_path)
        if not self.records:
            raise WslabError(f"corpus {self.corpus_path.name} has no requests")

    def scores(self, detectors: Mapping[str, Callable[[Any], Decision]]) -> dict[str, Any]:
        """:func:`wslab.study.detection.detect_eval.evaluate` on this corpus."""
        return evaluate(self.records, detectors)

    def writeup_summary(self) -> pd.DataFrame:
        """Precision, recall and confusion counts of the write-up's heuristic on the corpus."""
        return self._summary(self.scores({"writeup": writeup_decision}))

    def writeup_mistakes(self) -> pd.DataFrame:
        """The requests the write-up's heuristic gets wrong, with the signals that fired."""
        return self._mistakes(self.scores({"writeup": writeup_decision})["detectors"]["writeup"])

    @staticmethod
    def _summary(result: Mapping[str, Any]) -> pd.DataFrame:
        rows = []
        for name, d in result["detectors"].items():
            rows.append({"detector": name, "precision": d["precision"], "recall": d["recall"],
                         "F1": f1(d["precision"], d["recall"]), **d["confusion"]})
        return pd.DataFrame(rows).set_index("detector")

    @staticmethod
    def _mistakes(scored: Mapping[str, Any]) -> pd.DataFrame:
        columns = ["index", "error", "label", "method", "path", "query", "matched"]
        rows = [{k: (", ".join(v) if k == "matched" else v) for k, v in row.items() if k in columns}
                for row in scored["misclassified"]]
        return pd.DataFrame(rows, columns=columns)

    def check_signals(self, signals: Any = PLACEHOLDER) -> Feedback:
        """Part a: the write-up signals that fire on at least one of its false positives."""
        if is_placeholder(signals):
            return Feedback("not-yet", "replace the `...` with a set of signal names.",
                            (f"the signal names: {_listing(list(writeup_signals(RequestHead())))}",),
                            self.hints[0])
        raw = _as_set(signals)
        truth = writeup_false_positive_signals(self.records)
        if raw is None:
            return Feedback("incorrect", f"give a set of signal names, not {_describe(signals)}.")
        names = {normalise_name(name): name for name in writeup_signals(RequestHead())}
        unknown = sorted(g for g in raw if normalise_name(g) not in names)
        if unknown:
            return Feedback("incorrect", f"unknown signal {'name' if len(unknown) == 1 else 'names'}: "
                            f"{_listing(unknown)}.",
                            (f"the signal names: {_listing(list(names.values()))}",))
        given = {names[normalise_name(g)] for g in raw}
        if given == truth:
            fps = sum(1 for r in self.records if not is_positive(r["label"])
                      and writeup_decision(RequestHead.from_source(r)).is_websocket)
            why = ("each reads the query string, which any page's URL can carry; none says how the "
                   "server will route the request" if truth <= QUERY_SIGNALS else
                   "compare them with what makes a request Engine.IO's: a path below `/socket.io/` and the "
                   "`EIO` and `transport` query together, not any one of them alone")
            verb = "fires" if len(truth) == 1 else "fire"
            return Feedback("correct", f"{_listing(sorted(truth))} {verb} on the write-up's "
                            f"{plural(fps, 'false positive')}.", (why,))
        reasons = []
        if given - truth:
            extra = sorted(given - truth)
            verb = "fires" if len(extra) == 1 else "fire"
            reasons.append(f"{_listing(extra)} {verb} on no negative (`http`, `not-engineio`) request of the corpus")
        if truth - given:
            missing = sorted(truth - given)
            verb = "fires" if len(missing) == 1 else "fire"
            reasons.append(f"missing: {_listing(missing)} also {verb} on negative (`http`, `not-engineio`) requests")
        return Feedback("incorrect", "that is not the set of signals behind the false positives.",
                        tuple(reasons), self.hints[0])

    def check(self, detector: BoolDetector) -> Feedback:
        """Part b: score *detector* beside the write-up's and say whether it beats it, and where it errs."""
        outputs = []
        for index, record in enumerate(self.records):
            head = RequestHead.from_source(record)
            try:
                outputs.append(detector(head))
            except Exception as exc:  # noqa: BLE001 - report the learner's error, do not raise it
                return Feedback("incorrect", f"`{getattr(detector, '__name__', 'detector')}` raised "
                                f"{type(exc).__name__}: {exc} on request {index} "
                                f"({record['method']} {record['path']}"
                                f"{'?' + record['query'] if record['query'] else ''}).", (), self.hints[2])
        if all(out is None for out in outputs):
            return Feedback("not-yet", "your detector returns nothing yet: make it return True or False.",
                            (), self.hints[0])
        wrong = [i for i, out in enumerate(outputs) if not isinstance(out, bool)]
        if wrong:
            i = wrong[0]
            return Feedback("incorrect", f"a detector must return True or False; it returned "
                            f"{outputs[i]!r} for request {i} ({plural(len(wrong), 'such request')}).",
                            ("wrap the expression in `bool(...)`",))
        result = self.scores({"writeup": writeup_decision, "yours": as_decision(detector)})
        w, y = result["detectors"]["writeup"], result["detectors"]["yours"]
        reasons = [f"{name}: precision {_fmt(d['precision'])}, recall {_fmt(d['recall'])}, "
                   f"F1 {_fmt(f1(d['precision'], d['recall']))}"
                   for name, d in (("write-up", w), ("yours", y))]
        mistakes = self._mistakes(y)
        recall_ok = (y["recall"] or 0) >= (w["recall"] or 0)
        precision_up = (y["precision"] or 0) > (w["precision"] or 0)
        if not recall_ok:
            missed = y["confusion"]["fn"]
            them = "it" if missed == 1 else "them"
            reasons.append(f"it misses {plural(missed, 'WebSocket/Engine.IO request')} (listed below): "
                           f"the session interface would run on {them}, the very thing the write-up "
                           "wanted to avoid")
        if not precision_up:
            fp = y["confusion"]["fp"]
            lose = "it would lose its session" if fp == 1 else "each would lose its session"
            reasons.append(f"its precision is not higher: it takes {plural(fp, 'ordinary request')} "
                           f"for Socket.IO ({lose})")
        if mistakes.empty:
            reasons.append("it gets every request of the corpus right")
        else:
            reasons.append(f"it gets {plural(len(mistakes), 'request')} wrong (FP: an ordinary request "
                           "taken for Socket.IO; FN: a WebSocket/Engine.IO request missed):")
        if recall_ok and precision_up:
            return Feedback("correct", "your detector beats the write-up's: recall at least as high, "
                            "precision higher.", tuple(reasons), None, mistakes)
        hint = self.hints[2] if not recall_ok else self.hints[1]
        return Feedback("incorrect", "your detector does not beat the write-up's yet.",
                        tuple(reasons), hint, mistakes)

    def compare(self, detector: BoolDetector) -> pd.DataFrame:
        """Precision, recall, F1 and confusion counts of the write-up's heuristic and *detector*."""
        return self._summary(self.scores({"writeup": writeup_decision, "yours": as_decision(detector)}))


__all__ = [
    "NAME_ALIASES", "BeatTheWriteup", "FailingRequests", "Feedback", "PLACEHOLDER", "PredictThenMeasure",
    "answer_key", "answers_summary", "as_count", "as_decision", "f1", "failing_truth", "is_placeholder",
    "kit_file", "naive_counts", "normalise_flag", "normalise_name", "normalise_path", "normalise_text",
    "plural", "same_answer", "writeup_false_positive_signals",
]
