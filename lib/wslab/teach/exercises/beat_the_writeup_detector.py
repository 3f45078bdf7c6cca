"""Exercise 02, *beat the write-up's detector*: a request detector scored on the request corpus.

Part a asks which of the write-up's signals fire on its false positives
(:meth:`BeatTheWriteup.check_signals`); part b scores the learner's ``head ->
bool`` detector beside the write-up's on ``data/requests/corpus.jsonl``
(:meth:`BeatTheWriteup.check`) and lists where it errs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.app.detection import Decision, RequestHead, writeup_decision, writeup_signals
from wslab.errors import WslabError
from wslab.study.detection.detect_eval import evaluate, is_positive
from wslab.teach.exercises.answers import normalise_name
from wslab.teach.exercises.base import (PLACEHOLDER, Feedback, Hints, as_set, describe, is_placeholder, kit_or_given,
                                        listing, plural)


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

        self.corpus_path = kit_or_given(corpus_path, "data/requests/corpus.jsonl")
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
                            (f"the signal names: {listing(list(writeup_signals(RequestHead())))}",),
                            self.hints[0])
        raw = as_set(signals)
        truth = writeup_false_positive_signals(self.records)
        if raw is None:
            return Feedback("incorrect", f"give a set of signal names, not {describe(signals)}.")
        names = {normalise_name(name): name for name in writeup_signals(RequestHead())}
        unknown = sorted(g for g in raw if normalise_name(g) not in names)
        if unknown:
            return Feedback("incorrect", f"unknown signal {'name' if len(unknown) == 1 else 'names'}: "
                            f"{listing(unknown)}.",
                            (f"the signal names: {listing(list(names.values()))}",))
        given = {names[normalise_name(g)] for g in raw}
        if given == truth:
            fps = sum(1 for r in self.records if not is_positive(r["label"])
                      and writeup_decision(RequestHead.from_source(r)).is_websocket)
            why = ("each reads the query string, which any page's URL can carry; none says how the "
                   "server will route the request" if truth <= QUERY_SIGNALS else
                   "compare them with what makes a request Engine.IO's: a path below `/socket.io/` and the "
                   "`EIO` and `transport` query together, not any one of them alone")
            verb = "fires" if len(truth) == 1 else "fire"
            return Feedback("correct", f"{listing(sorted(truth))} {verb} on the write-up's "
                            f"{plural(fps, 'false positive')}.", (why,))
        reasons = []
        if given - truth:
            extra = sorted(given - truth)
            verb = "fires" if len(extra) == 1 else "fire"
            reasons.append(f"{listing(extra)} {verb} on no negative (`http`, `not-engineio`) request of the corpus")
        if truth - given:
            missing = sorted(truth - given)
            verb = "fires" if len(missing) == 1 else "fire"
            reasons.append(f"missing: {listing(missing)} also {verb} on negative (`http`, `not-engineio`) requests")
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
