"""Detector scoring: metric arithmetic, real detectors on hand-made heads, the CLI, the committed corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wslab.cli import main
from wslab.study.detect_eval import (POSITIVE_LABELS, confusion_frame, evaluate, evaluate_detector,
                               label_frame, misclassified_frame, summary_frame)
from wslab.app.detection import Decision

CORPUS = Path(__file__).resolve().parents[1] / "data" / "requests" / "corpus.jsonl"


def rec(label: str, path: str = "/", query: str = "", headers: dict | None = None,
        method: str = "GET") -> dict[str, Any]:
    return {"method": method, "path": path, "query": query, "headers": headers or {},
            "label": label, "source": "hand-made"}


#: Paths starting with /yes are what the stub detector says yes to.
STUB = [
    rec("socketio-websocket", "/yes/1"), rec("socketio-websocket", "/no/2"),
    rec("socketio-polling", "/yes/3"), rec("socketio-polling", "/yes/4"),
    rec("socketio-polling", "/no/5"), rec("websocket-other", "/yes/6"),
    rec("http", "/yes/7"), rec("http", "/no/8"), rec("http", "/no/9"), rec("http", "/no/10"),
]


def says_yes(head: Any) -> Decision:
    return Decision(head.path.startswith("/yes"), ("stub",) if head.path.startswith("/yes") else ())


def always(head: Any) -> Decision:
    return Decision(True, ("always",))


def never(head: Any) -> Decision:
    return Decision(False)


def expected_counts(records: list[dict]) -> dict[str, int]:
    """The confusion counts worked out from labels and paths alone."""
    counts = Counter()
    for r in records:
        actual, predicted = r["label"] != "http", r["path"].startswith("/yes")
        counts[{(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[
            (actual, predicted)]] += 1
    return {key: counts[key] for key in ("tp", "fp", "fn", "tn")}


def test_confusion_matches_hand_count() -> None:
    result = evaluate_detector(STUB, says_yes)
    assert result["confusion"] == expected_counts(STUB) == {"tp": 4, "fp": 1, "fn": 2, "tn": 3}


def test_precision_recall_fp_rate_from_hand_count() -> None:
    result = evaluate_detector(STUB, says_yes)
    assert result["precision"] == pytest.approx(4 / 5)
    assert result["recall"] == pytest.approx(4 / 6)
    assert result["false_positive_rate"] == pytest.approx(1 / 4)


def test_recall_per_label_from_hand_count() -> None:
    result = evaluate_detector(STUB, says_yes)
    assert result["recall_by_label"] == pytest.approx(
        {"socketio-websocket": 1 / 2, "socketio-polling": 2 / 3, "websocket-other": 1.0})
    assert result["detected_by_label"]["http"] == {"requests": 4, "detected": 1}


def test_misclassified_lists_fp_and_fn_with_positions() -> None:
    wrong = evaluate_detector(STUB, says_yes)["misclassified"]
    assert [(w["index"], w["error"]) for w in wrong] == [(1, "FN"), (4, "FN"), (6, "FP")]
    assert wrong[2]["matched"] == ["stub"] and wrong[0]["matched"] == []


def test_always_and_never_edge_cases() -> None:
    yes = evaluate_detector(STUB, always)
    assert yes["recall"] == 1.0 and yes["precision"] == pytest.approx(6 / 10)
    assert yes["false_positive_rate"] == 1.0
    no = evaluate_detector(STUB, never)
    assert no["precision"] is None and no["recall"] == 0.0 and no["false_positive_rate"] == 0.0


def test_undefined_ratios_are_none() -> None:
    only_http = evaluate_detector([rec("http")], never)
    assert only_http["recall"] is None and only_http["precision"] is None
    assert only_http["recall_by_label"] == {label: None for label in POSITIVE_LABELS}


#: Real heads whose right answer is plain from the write-up's and the precise rules.
HAND = [
    rec("socketio-websocket", "/socket.io/", "EIO=4&transport=websocket",
        {"Upgrade": "websocket", "Connection": "Upgrade"}),
    rec("socketio-polling", "/socket.io/", "EIO=4&transport=polling", {"Connection": "keep-alive"}),
    rec("websocket-other", "/ws/echo", "", {"Upgrade": "websocket", "Connection": "keep-alive, Upgrade"}),
    rec("http", "/search", "transport=polling"),
    rec("http", "/docs/socket.io-guide"),
    rec("http", "/", "", {"Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings"}),
]


def test_real_detectors_on_hand_made_heads() -> None:
    result = evaluate(HAND)
    writeup, precise = result["detectors"]["writeup"], result["detectors"]["precise"]
    assert writeup["confusion"] == {"tp": 3, "fp": 1, "fn": 0, "tn": 2}
    assert [(w["path"], w["error"], w["matched"]) for w in writeup["misclassified"]] == [
        ("/search", "FP", ["transport-param"])]
    assert precise["confusion"] == {"tp": 3, "fp": 0, "fn": 0, "tn": 3}
    assert result["requests"] == 6 and result["positives"] == 3
    assert result["labels"] == {"socketio-websocket": 1, "socketio-polling": 1,
                                "websocket-other": 1, "http": 3}


def test_frames_have_one_row_per_detector_and_label() -> None:
    result = evaluate(STUB, {"stub": says_yes, "always": always})
    summary = summary_frame(result)
    assert list(summary.index) == ["stub", "always"]
    assert summary.loc["stub", "tp"] == 4 and summary.loc["always", "fp"] == 4
    matrix = confusion_frame(result, "stub")
    assert matrix.loc["positive", "detected"] == 4 and matrix.loc["http", "detected"] == 1
    assert int(matrix.to_numpy().sum()) == len(STUB)
    labels = label_frame(result)
    assert labels.loc["socketio-polling", "requests"] == 3
    assert labels.loc["socketio-polling", "stub"] == pytest.approx(2 / 3)
    wrong = misclassified_frame(result)
    assert len(wrong) == 3 + 4 and set(wrong["detector"]) == {"stub", "always"}


def test_misclassified_frame_is_empty_but_shaped_when_nothing_is_wrong() -> None:
    frame = misclassified_frame(evaluate(HAND[:3], {"always": always}))
    assert isinstance(frame, pd.DataFrame) and frame.empty and "path" in frame.columns


def write(tmp_path: Path, records: list[dict], extra: str | None = None) -> Path:
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps(r) for r in records] + ([extra] if extra is not None else [])
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["requests"] == len(HAND)
    assert set(out["detectors"]) == {"writeup", "precise"}
    for detector in out["detectors"].values():
        assert {"precision", "recall", "confusion", "recall_by_label", "misclassified"} <= set(detector)
        assert set(detector["confusion"]) == {"tp", "fp", "fn", "tn"}


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND))]) == 0
    out = capsys.readouterr().out
    assert "writeup" in out and "precise" in out and "socketio-polling" in out
    assert "GET /search?transport=polling" in out


@pytest.mark.parametrize("extra, message", [
    ("{oops", "line 7: invalid JSON"),
    (json.dumps(rec("maybe-websocket")), "line 7: unknown label 'maybe-websocket'"),
])
def test_cli_bad_line_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      extra: str, message: str) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND, extra))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wslab: error: ") and message in err and len(err.splitlines()) == 1


def test_cli_missing_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(tmp_path / "none.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_empty_corpus_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, []))]) == 2
    assert "no requests" in capsys.readouterr().err


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return evaluate([json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()])


def test_committed_corpus_counts_add_up(committed: dict) -> None:
    assert sum(committed["labels"].values()) == committed["requests"]
    positives = sum(n for label, n in committed["labels"].items() if label != "http")
    assert committed["positives"] == positives


@pytest.mark.parametrize("name", ["writeup", "precise"])
def test_committed_corpus_metrics_match_confusion(committed: dict, name: str) -> None:
    d = committed["detectors"][name]
    tp, fp, fn, tn = (d["confusion"][k] for k in ("tp", "fp", "fn", "tn"))
    assert tp + fp + fn + tn == committed["requests"]
    assert tp + fn == committed["positives"]
    assert fp + tn == committed["labels"]["http"]
    assert d["precision"] == pytest.approx(tp / (tp + fp))
    assert d["recall"] == pytest.approx(tp / (tp + fn))
    assert d["false_positive_rate"] == pytest.approx(fp / (fp + tn))
    assert len(d["misclassified"]) == fp + fn
    detected = sum(d["detected_by_label"][label]["detected"] for label in POSITIVE_LABELS)
    assert detected == tp
    for label in POSITIVE_LABELS:
        counts = d["detected_by_label"][label]
        assert d["recall_by_label"][label] == pytest.approx(counts["detected"] / counts["requests"])


#: Counted by hand from data/requests/corpus.jsonl (labels) and its 40 ``http`` heads: the write-up's
#: rules flag exactly the eight whose query carries ``transport=`` (four ``/search?transport=polling``,
#: two ``/search?transport=websocket``, two ``/socket.io?EIO=4&transport=polling``, a path that is
#: not Engine.IO's ``/socket.io/``); no ``http`` head passes the precise rules and no positive is missed.
CORPUS_LABELS = {"socketio-websocket": 6, "socketio-polling": 22, "websocket-other": 6, "http": 40}
CORPUS_CONFUSION = {"writeup": {"tp": 34, "fp": 8, "fn": 0, "tn": 32},
                    "precise": {"tp": 34, "fp": 0, "fn": 0, "tn": 40}}
CORPUS_WRITEUP_FP = sorted([("/search", "transport=polling")] * 4 + [("/search", "transport=websocket")] * 2
                           + [("/socket.io", "EIO=4&transport=polling")] * 2)


def test_committed_corpus_counts_are_the_hand_counted_ones(committed: dict) -> None:
    assert committed["labels"] == CORPUS_LABELS
    assert {name: d["confusion"] for name, d in committed["detectors"].items()} == CORPUS_CONFUSION
    wrong = committed["detectors"]["writeup"]["misclassified"]
    assert sorted((w["path"], w["query"]) for w in wrong) == CORPUS_WRITEUP_FP
    assert {w["error"] for w in wrong} == {"FP"}


def test_committed_corpus_cli_prints_the_hand_counted_confusion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(CORPUS), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {name: d["confusion"] for name, d in out["detectors"].items()} == CORPUS_CONFUSION
    assert out["detectors"]["writeup"]["precision"] == pytest.approx(34 / 42)
