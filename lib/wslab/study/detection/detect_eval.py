"""Score WebSocket/Engine.IO detectors against a labelled request corpus.

A *positive* is any request labelled other than ``http`` or ``not-engineio``
(see :data:`wslab.study.detection.corpus.NEGATIVE_LABELS`).  For each detector
:func:`evaluate` counts true/false positives/negatives and derives precision,
recall, the false-positive rate on the negatives and the recall for each
positive label; it also lists every misclassified request with the signals
that fired.  The precise detector is told the Socket.IO path the corpus' app
served (``/socket.io`` unless given, see :func:`default_detectors`).  Results
are plain dicts (JSON-ready); the ``*_frame`` helpers turn them into pandas
DataFrames for the notebook.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.app.detection import (
    DEFAULT_SOCKETIO_PATH,
    Decision,
    RequestHead,
    precise_decision,
    socketio_prefix,
    writeup_decision,
)
from wslab.errors import WslabError
from wslab.study.detection.corpus import LABELS, NEGATIVE_LABELS, load_corpus

Detector = Callable[[Any], Decision]


def default_detectors(socketio_path: str = DEFAULT_SOCKETIO_PATH) -> dict[str, Detector]:
    """The write-up's heuristic and the precise detector for an app serving Socket.IO at *socketio_path*.

    The write-up's heuristic has ``/socket.io/`` written into it and takes no
    path.  A path Flask-SocketIO could not serve raises :class:`WslabError`.
    """
    try:
        prefix = socketio_prefix(socketio_path)
    except ValueError as exc:
        raise WslabError(str(exc)) from None
    return {"writeup": writeup_decision,
            "precise": partial(precise_decision, socketio_path=prefix.rstrip("/"))}


#: The detectors compared by default, by the name used in reports.
DETECTORS: dict[str, Detector] = default_detectors()

#: Labels that count as positives (WebSocket or Engine.IO traffic).
POSITIVE_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label not in NEGATIVE_LABELS)


def is_positive(label: str) -> bool:
    """Whether a corpus label is a positive: anything but ``http`` and ``not-engineio``."""
    return label not in NEGATIVE_LABELS


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return numerator / denominator if denominator else None


def evaluate_detector(records: Iterable[Mapping[str, Any]], detector: Detector) -> dict[str, Any]:
    """Confusion matrix, precision, recall, recall per label and the misclassified requests.

    ``false_positive_rate`` is ``fp / (fp + tn)``: the share of the negatives
    (``http`` and ``not-engineio`` requests) the detector takes for positives.
    """
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


def evaluate(records: list[Mapping[str, Any]], detectors: Mapping[str, Detector] | None = None,
             socketio_path: str = DEFAULT_SOCKETIO_PATH) -> dict[str, Any]:
    """Evaluate every detector on *records*: ``{"requests", "labels", "detectors": {...}}``.

    Without *detectors*, :func:`default_detectors` for *socketio_path* are used;
    ``socketio_path`` in the result says which path that was (``None`` when
    *detectors* were given).
    """
    path = None
    if detectors is None:
        detectors = default_detectors(socketio_path)
        path = socketio_prefix(socketio_path).rstrip("/")
    labels = Counter(record["label"] for record in records)
    return {
        "socketio_path": path,
        "requests": len(records),
        "positives": sum(n for label, n in labels.items() if is_positive(label)),
        "labels": {label: labels[label] for label in LABELS},
        "detectors": {name: evaluate_detector(records, detector) for name, detector in detectors.items()},
    }


def evaluate_file(path: str | Path, detectors: Mapping[str, Detector] | None = None,
                  socketio_path: str = DEFAULT_SOCKETIO_PATH) -> dict[str, Any]:
    """Load a JSONL corpus and evaluate it (see :func:`evaluate`); an empty corpus raises :class:`WslabError`."""
    if detectors is None:
        default_detectors(socketio_path)  # a bad path is reported before the file is read
    records = load_corpus(path)
    if not records:
        raise WslabError(f"corpus {path} has no requests")
    return evaluate(records, detectors, socketio_path)


def summary_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per detector: precision, recall, false-positive rate (on the negatives) and the four counts."""
    rows = {name: {"precision": d["precision"], "recall": d["recall"],
                   "fp_rate": d["false_positive_rate"], **d["confusion"]}
            for name, d in result["detectors"].items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("detector")


def confusion_frame(result: Mapping[str, Any], detector: str) -> pd.DataFrame:
    """The 2x2 confusion matrix of one detector: rows actual, columns predicted."""
    c = result["detectors"][detector]["confusion"]
    return pd.DataFrame([[c["tp"], c["fn"]], [c["fp"], c["tn"]]],
                        index=pd.Index(["positive", "negative"], name="actual"),
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
