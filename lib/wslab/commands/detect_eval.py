"""``wslab detect-eval``: score the write-up's and the precise detector on a request corpus."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from wslab.app.detection import DEFAULT_SOCKETIO_PATH
from wslab.study.detection.detect_eval import POSITIVE_LABELS, evaluate_file

NAME = "detect-eval"
HELP = ("Score the write-up's WebSocket heuristic and the precise detector on a labelled "
        "request corpus (JSONL): precision, recall, confusion matrix, recall per label.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab detect-eval``."""
    parser.add_argument("corpus", metavar="CORPUS.jsonl",
                        help="request corpus, one JSON object per line")
    parser.add_argument("--socketio-path", default=DEFAULT_SOCKETIO_PATH, metavar="PATH",
                        help="the Socket.IO path the corpus' app served, for the precise detector "
                             f"(default: {DEFAULT_SOCKETIO_PATH})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def _num(value: float | None) -> str:
    """A ratio with three decimals, or ``-`` when undefined."""
    return "-" if value is None else f"{value:.3f}"


def format_report(result: Mapping[str, Any], corpus: str) -> str:
    """The human-readable report: detector table, per-label table, misclassified requests."""
    detectors = result["detectors"]
    n, positives = result["requests"], result["positives"]
    lines = [f"{corpus}: {n} requests, {positives} positive, {n - positives} negative"
             + (f"; precise detector at {result['socketio_path']}/" if result.get("socketio_path") else ""),
             ""]
    lines.append(f"{'detector':<10}{'precision':>10}{'recall':>8}{'FP rate':>9}"
                 f"{'TP':>6}{'FP':>5}{'FN':>5}{'TN':>5}")
    for name, d in detectors.items():
        c = d["confusion"]
        lines.append(f"{name:<10}{_num(d['precision']):>10}{_num(d['recall']):>8}"
                     f"{_num(d['false_positive_rate']):>9}"
                     f"{c['tp']:>6}{c['fp']:>5}{c['fn']:>5}{c['tn']:>5}")
    lines += ["", f"{'recall per label':<20}{'requests':>9}" + "".join(f"{name:>10}" for name in detectors)]
    for label in POSITIVE_LABELS:
        lines.append(f"{label:<20}{result['labels'][label]:>9}"
                     + "".join(f"{_num(d['recall_by_label'][label]):>10}" for d in detectors.values()))
    wrong = [(name, row) for name, d in detectors.items() for row in d["misclassified"]]
    lines += ["", f"misclassified: {len(wrong)}" if wrong else "misclassified: none"]
    for name, row in wrong:
        target = row["path"] + (f"?{row['query']}" if row["query"] else "")
        signals = ", ".join(row["matched"]) or "no signal"
        lines.append(f"  {name:<8} {row['error']}  {row['method']} {target}  "
                     f"[{row['label']}; {row['source']}; {signals}]")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Evaluate both detectors on the corpus and print the report."""
    result = evaluate_file(args.corpus, socketio_path=args.socketio_path)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result, args.corpus))
    return 0
