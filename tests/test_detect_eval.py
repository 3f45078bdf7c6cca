"""Detector scoring: metric arithmetic, real detectors on hand-made heads, the CLI, the committed corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from wslab.cli import main
from wslab.app.detection import Decision
from wslab.errors import WslabError
from wslab.study.detection.detect_eval import (POSITIVE_LABELS, confusion_frame, default_detectors, evaluate,
                                     evaluate_detector, evaluate_file, is_positive, label_frame,
                                     misclassified_frame, summary_frame)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "requests" / "corpus.jsonl"
CUSTOM_CORPUS = CORPUS.with_name("custom_path.jsonl")


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
        actual, predicted = r["label"] not in ("http", "not-engineio"), r["path"].startswith("/yes")
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


def test_not_engineio_is_a_negative() -> None:
    assert POSITIVE_LABELS == ("socketio-websocket", "socketio-polling", "websocket-other")
    assert not is_positive("not-engineio") and not is_positive("http") and is_positive("socketio-polling")
    result = evaluate_detector([rec("not-engineio", "/yes/1"), rec("not-engineio", "/no/2")], says_yes)
    assert result["confusion"] == {"tp": 0, "fp": 1, "fn": 0, "tn": 1}
    assert result["false_positive_rate"] == 0.5
    assert result["detected_by_label"]["not-engineio"] == {"requests": 2, "detected": 1}


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
    rec("not-engineio", "/socket.io/socket.io.js"),
]


def test_real_detectors_on_hand_made_heads() -> None:
    result = evaluate(HAND)
    writeup, precise = result["detectors"]["writeup"], result["detectors"]["precise"]
    assert writeup["confusion"] == {"tp": 3, "fp": 2, "fn": 0, "tn": 2}
    assert [(w["path"], w["error"], w["matched"]) for w in writeup["misclassified"]] == [
        ("/search", "FP", ["transport-param"]), ("/socket.io/socket.io.js", "FP", ["socketio-path"])]
    assert precise["confusion"] == {"tp": 3, "fp": 0, "fn": 0, "tn": 4}
    assert result["requests"] == 7 and result["positives"] == 3
    assert result["labels"] == {"socketio-websocket": 1, "socketio-polling": 1,
                                "websocket-other": 1, "http": 3, "not-engineio": 1}
    assert result["socketio_path"] == "/socket.io"


def test_precise_detector_takes_the_socketio_path() -> None:
    """The hand-made polling head sits at /socket.io/; told the app serves /custom.io, it is missed."""
    custom = evaluate(HAND, socketio_path="/custom.io")
    assert custom["socketio_path"] == "/custom.io"
    precise = custom["detectors"]["precise"]
    assert precise["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 4}
    assert [(w["path"], w["label"]) for w in precise["misclassified"]] == [("/socket.io/", "socketio-polling")]
    assert custom["detectors"]["writeup"] == evaluate(HAND)["detectors"]["writeup"]
    assert set(default_detectors("custom.io")) == {"writeup", "precise"}


@pytest.mark.parametrize("path", ["", "/", "/socket.io?EIO=4"])
def test_a_bad_socketio_path_is_a_user_error(path: str, tmp_path: Path) -> None:
    with pytest.raises(WslabError, match="not a Socket.IO path"):
        default_detectors(path)
    with pytest.raises(WslabError, match="not a Socket.IO path"):
        evaluate_file(tmp_path / "never-read.jsonl", socketio_path=path)


def test_frames_have_one_row_per_detector_and_label() -> None:
    result = evaluate(STUB, {"stub": says_yes, "always": always})
    summary = summary_frame(result)
    assert list(summary.index) == ["stub", "always"]
    assert summary.loc["stub", "tp"] == 4 and summary.loc["always", "fp"] == 4
    assert summary.loc["stub", "fp_rate"] == pytest.approx(1 / 4)
    matrix = confusion_frame(result, "stub")
    assert matrix.loc["positive", "detected"] == 4 and matrix.loc["negative", "detected"] == 1
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
    assert out["socketio_path"] == "/socket.io"
    assert set(out["detectors"]) == {"writeup", "precise"}
    for detector in out["detectors"].values():
        assert {"precision", "recall", "confusion", "recall_by_label", "misclassified"} <= set(detector)
        assert set(detector["confusion"]) == {"tp", "fp", "fn", "tn"}


def test_cli_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND))]) == 0
    out = capsys.readouterr().out
    assert "writeup" in out and "precise" in out and "socketio-polling" in out
    assert "GET /search?transport=polling" in out
    assert out.splitlines()[0].endswith("7 requests, 3 positive, 4 negative; precise detector at /socket.io/")


def test_cli_socketio_path_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND)), "--socketio-path", "custom.io", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["socketio_path"] == "/custom.io"
    assert out["detectors"]["precise"]["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 4}


def test_cli_bad_socketio_path_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(write(tmp_path, HAND)), "--socketio-path", "/"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wslab: error: not a Socket.IO path: '/'") and len(err.splitlines()) == 1


@pytest.mark.parametrize("extra, message", [
    ("{oops", "line 8: invalid JSON"),
    (json.dumps(rec("maybe-websocket")), "line 8: unknown label 'maybe-websocket'"),
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
    positives = sum(n for label, n in committed["labels"].items() if label not in ("http", "not-engineio"))
    assert committed["positives"] == positives


@pytest.mark.parametrize("name", ["writeup", "precise"])
def test_committed_corpus_metrics_match_confusion(committed: dict, name: str) -> None:
    d = committed["detectors"][name]
    tp, fp, fn, tn = (d["confusion"][k] for k in ("tp", "fp", "fn", "tn"))
    assert tp + fp + fn + tn == committed["requests"]
    assert tp + fn == committed["positives"]
    assert fp + tn == committed["labels"]["http"] + committed["labels"]["not-engineio"]
    assert d["precision"] == pytest.approx(tp / (tp + fp))
    assert d["recall"] == pytest.approx(tp / (tp + fn))
    assert d["false_positive_rate"] == pytest.approx(fp / (fp + tn))
    assert len(d["misclassified"]) == fp + fn
    detected = sum(d["detected_by_label"][label]["detected"] for label in POSITIVE_LABELS)
    assert detected == tp
    for label in POSITIVE_LABELS:
        counts = d["detected_by_label"][label]
        assert d["recall_by_label"][label] == pytest.approx(counts["detected"] / counts["requests"])


#: Counted by hand from the lines of data/requests/corpus.jsonl (84 heads; `jq -r .label | sort | uniq -c`
#: for the labels), each read against the detectors' documented rules, not computed with them.
#: Negatives are 42 ``http`` + 8 ``not-engineio``.  The write-up's rules flag exactly 20 of them:
#: 4 x /search?transport=polling, 2 x /search?transport=websocket, 2 x /socket.io?EIO=4&transport=polling
#: (no trailing slash), 2 x /socket.iox/?EIO=4&transport=polling, 2 x /custom.io/?EIO=4&transport=polling
#: (query signals), and the 8 ``not-engineio`` heads, /socket.io/socket.io.js and /socket.io/static/app.css
#: from requests and Chromium, twice each (socketio-path).  Every positive carries EIO= and transport= or
#: Upgrade: websocket, so the write-up misses none.  The precise rules at /socket.io: the 28 socketio-*
#: heads are at /socket.io/ with EIO and transport=polling|websocket, the 6 websocket-other heads list
#: websocket in Upgrade and upgrade in Connection; no negative is both under /socket.io/ and carries the
#: query, and none upgrades to WebSocket (h2c is not websocket).  The precise rules at /custom.io: only the
#: 12 WebSocket upgrades (6 socketio-websocket, 6 websocket-other) are found, the 22 polling heads are
#: missed, and the 2 /custom.io/?EIO=4&transport=polling heads (Flask's 404s) are taken for Engine.IO.
CORPUS_LABELS = {"socketio-websocket": 6, "socketio-polling": 22, "websocket-other": 6, "http": 42,
                 "not-engineio": 8}
CORPUS_CONFUSION = {"writeup": {"tp": 34, "fp": 20, "fn": 0, "tn": 30},
                    "precise": {"tp": 34, "fp": 0, "fn": 0, "tn": 50}}
CORPUS_CONFUSION_AT_CUSTOM = {"writeup": {"tp": 34, "fp": 20, "fn": 0, "tn": 30},
                              "precise": {"tp": 12, "fp": 2, "fn": 22, "tn": 48}}
CORPUS_WRITEUP_FP = sorted([("/search", "transport=polling")] * 4 + [("/search", "transport=websocket")] * 2
                           + [("/socket.io", "EIO=4&transport=polling")] * 2
                           + [("/socket.iox/", "EIO=4&transport=polling")] * 2
                           + [("/custom.io/", "EIO=4&transport=polling")] * 2
                           + [("/socket.io/socket.io.js", "")] * 4 + [("/socket.io/static/app.css", "")] * 4)

#: Counted by hand from the 27 lines of data/requests/custom_path.jsonl (the app with Socket.IO at
#: /custom.io): 4 socketio-websocket, 15 socketio-polling, all at /custom.io/ with EIO and transport;
#: 4 not-engineio (/custom.io/socket.io.js, /custom.io/static/app.css, twice) and 4 http
#: (/custom.iox/?EIO=4&transport=polling and /socket.io/?EIO=4&transport=polling, twice, both Flask 404s).
#: The write-up flags all 19 positives by their query and the 4 http heads by theirs (its path signal
#: does not fire on /custom.io/).  The precise rules at /custom.io get every head right; at the default
#: /socket.io they find only the 4 WebSocket upgrades, miss the 15 polling heads and take the
#: 2 /socket.io/?EIO=4&transport=polling heads for Engine.IO.
CUSTOM_LABELS = {"socketio-websocket": 4, "socketio-polling": 15, "websocket-other": 0, "http": 4,
                 "not-engineio": 4}
CUSTOM_CONFUSION = {"/custom.io": {"writeup": {"tp": 19, "fp": 4, "fn": 0, "tn": 4},
                                   "precise": {"tp": 19, "fp": 0, "fn": 0, "tn": 8}},
                    "/socket.io": {"writeup": {"tp": 19, "fp": 4, "fn": 0, "tn": 4},
                                   "precise": {"tp": 4, "fp": 2, "fn": 15, "tn": 6}}}


def confusions(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {name: d["confusion"] for name, d in result["detectors"].items()}


def test_committed_corpus_counts_are_the_hand_counted_ones(committed: dict) -> None:
    assert committed["labels"] == CORPUS_LABELS
    assert confusions(committed) == CORPUS_CONFUSION
    wrong = committed["detectors"]["writeup"]["misclassified"]
    assert sorted((w["path"], w["query"]) for w in wrong) == CORPUS_WRITEUP_FP
    assert {w["error"] for w in wrong} == {"FP"}


def test_committed_corpus_at_another_path_is_the_hand_counted_one() -> None:
    result = evaluate_file(CORPUS, socketio_path="/custom.io")
    assert confusions(result) == CORPUS_CONFUSION_AT_CUSTOM
    wrong = result["detectors"]["precise"]["misclassified"]
    assert {(w["error"], w["label"]) for w in wrong} == {("FN", "socketio-polling"), ("FP", "http")}
    assert sorted(w["path"] for w in wrong if w["error"] == "FP") == ["/custom.io/"] * 2


def test_committed_corpus_cli_prints_the_hand_counted_confusion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect-eval", str(CORPUS), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert confusions(out) == CORPUS_CONFUSION
    assert out["labels"] == CORPUS_LABELS
    assert out["detectors"]["writeup"]["precision"] == pytest.approx(34 / 54)
    assert out["detectors"]["precise"]["precision"] == 1.0 and out["detectors"]["precise"]["recall"] == 1.0
    assert main(["detect-eval", str(CORPUS), "--socketio-path", "/custom.io", "--json"]) == 0
    assert confusions(json.loads(capsys.readouterr().out)) == CORPUS_CONFUSION_AT_CUSTOM


@pytest.mark.parametrize("path", ["/custom.io", "/socket.io"])
def test_committed_custom_path_corpus_is_the_hand_counted_one(path: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    result = evaluate_file(CUSTOM_CORPUS, socketio_path=path)
    assert result["labels"] == CUSTOM_LABELS
    assert confusions(result) == CUSTOM_CONFUSION[path]
    assert main(["detect-eval", str(CUSTOM_CORPUS), "--socketio-path", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert confusions(out) == CUSTOM_CONFUSION[path] and out["socketio_path"] == path
