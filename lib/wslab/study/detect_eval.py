"""Score WebSocket/Engine.IO detectors against a labelled request corpus.

A *positive* is any request labelled other than ``http``.  For each detector
:func:`evaluate` counts true/false positives/negatives and derives precision,
recall, the false-positive rate on ``http`` requests and the recall for each
positive label; it also lists every misclassified request with the signals
that fired.  Results are plain dicts (JSON-ready); the ``*_frame`` helpers turn
them into pandas DataFrames for the notebook.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.app.detection import (
    Decision,
    RequestHead,
    precise_decision,
    writeup_decision,
)
from wslab.errors import WslabError
from wslab.study.corpus import LABELS, SOCKETIO_PATH, load_corpus

Detector = Callable[[Any], Decision]

#: The detectors compared by default, by the name used in reports.
DETECTORS: dict[str, Detector] = {
    "writeup": writeup_decision,
    "precise": partial(precise_decision, socketio_path=SOCKETIO_PATH),
}

#: Labels that count as positives (WebSocket or Engine.IO traffic).
POSITIVE_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label != "http")


def is_positive(label: str) -> bool:
    """Whether a corpus label is a positive: anything but ``http``."""
    return label != "http"


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return numerator / denominator if denominator else None


def evaluate_detector(records: Iterable[Mapping[str, Any]], detector: Detector) -> dict[str, Any]:
    """Confusion matrix, precision, recall, recall per label and the misclassified requests."""
    confusion = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    totals: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    misclassified = []
    for index, record in enumerate(records):
        decision = detector(RequestHead.from_source(record))
        actual, label = is_positive(record["label"]), record["label"]
        totals[label] += 1
        detected[label] += decision.is_websocket
        outcome = ("t" if decision.is_websocket == actual else "f") + ("p" if decision.is_websocket else "n")
        confusion[outcome] += 1
        if outcome in ("fp", "fn"):
            misclassified.append({
                "index": index, "error": outcome.upper(), "label": label, "source": record["source"],
                "method": record["method"], "path": record["path"], "query": record["query"],
                "matched": list(decision.matched),
            })
    tp, fp, fn, tn = (confusion[key] for key in ("tp", "fp", "fn", "tn"))
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "false_positive_rate": ratio(fp, fp + tn),
        "confusion": confusion,
        "recall_by_label": {label: ratio(detected[label], totals[label]) for label in POSITIVE_LABELS},
        "detected_by_label": {label: {"requests": totals[label], "detected": detected[label]}
                              for label in LABELS},
        "misclassified": misclassified,
    }


def evaluate(records: list[Mapping[str, Any]],
             detectors: Mapping[str, Detector] | None = None) -> dict[str, Any]:
    """Evaluate every detector on *records*: ``{"requests", "labels", "detectors": {...}}``."""
    detectors = DETECTORS if detectors is None else detectors
    labels = Counter(record["label"] for record in records)
    return {
        "requests": len(records),
        "positives": sum(n for label, n in labels.items() if is_positive(label)),
        "labels": {label: labels[label] for label in LABELS},
        "detectors": {name: evaluate_detector(records, detector) for name, detector in detectors.items()},
    }


def evaluate_file(path: str | Path, detectors: Mapping[str, Detector] | None = None) -> dict[str, Any]:
    """Load a JSONL corpus and evaluate it; an empty corpus raises :class:`WslabError`."""
    records = load_corpus(path)
    if not records:
        raise WslabError(f"corpus {path} has no requests")
    return evaluate(records, detectors)


def summary_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per detector: precision, recall, false-positive rate and the four counts."""
    rows = {name: {"precision": d["precision"], "recall": d["recall"],
                   "fp_rate_http": d["false_positive_rate"], **d["confusion"]}
            for name, d in result["detectors"].items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("detector")


def confusion_frame(result: Mapping[str, Any], detector: str) -> pd.DataFrame:
    """The 2x2 confusion matrix of one detector: rows actual, columns predicted."""
    c = result["detectors"][detector]["confusion"]
    return pd.DataFrame([[c["tp"], c["fn"]], [c["fp"], c["tn"]]],
                        index=pd.Index(["positive", "http"], name="actual"),
                        columns=pd.Index(["detected", "not detected"], name="predicted"))


def label_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Requests per label and, per detector, the share of them detected as WebSocket."""
    frame = pd.DataFrame({"requests": pd.Series(result["labels"])})
    for name, d in result["detectors"].items():
        frame[name] = pd.Series({label: ratio(v["detected"], v["requests"])
                                 for label, v in d["detected_by_label"].items()})
    return frame.rename_axis("label")


def misclassified_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """Every misclassified request, one row per (detector, request)."""
    rows = [{"detector": name, **row} for name, d in result["detectors"].items()
            for row in d["misclassified"]]
    columns = ["detector", "index", "error", "label", "source", "method", "path", "query", "matched"]
    return pd.DataFrame(rows, columns=columns)
