"""The exercise checks: right answers pass, wrong ones fail with the right reason, solutions pass.

Expected answers are worked out here from the data with plain Python, independently
of the checker, and never typed in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from wslab.app.detection import RequestHead, precise_decision, writeup_decision, writeup_signals
from wslab.teach.exercises import (PLACEHOLDER, BeatTheWriteup, FailingRequests, Feedback, PredictThenMeasure,
                             f1, kit_file, writeup_false_positive_signals)

ROOT = Path(__file__).resolve().parents[1]
BEFORE_LOG = ROOT / "data" / "logs" / "before.log"
CORPUS = ROOT / "data" / "requests" / "corpus.jsonl"
SOLUTIONS = ROOT / "notebooks" / "exercises" / "solutions"
TASKS = ROOT / "notebooks" / "exercises"

REQUEST_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+'
                          r'(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')


def hand_count(path: Path) -> list[dict[str, str]]:
    """Request lines of a log with status 5xx, found with a plain regular expression."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = REQUEST_LINE.search(line)
        if match and match["status"].startswith("5"):
            target = match["target"]
            path_part, _, query = target.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            rows.append({"path": path_part, "transport": params.get("transport", "http"),
                         "sid": params.get("sid", "")})
    return rows


@pytest.fixture(scope="module")
def before_truth() -> dict[str, Any]:
    rows = hand_count(BEFORE_LOG)
    assert rows, "the reference log has failing requests"
    return {
        "count": len(rows),
        "path": sorted({r["path"] for r in rows}),
        "transport": sorted({r["transport"] for r in rows}),
        "with_sid": any(r["sid"] for r in rows),
    }


# -- feedback object ---------------------------------------------------------------


def test_feedback_renders_text_and_markdown() -> None:
    feedback = Feedback("incorrect", "title", ("a reason",), "a hint")
    assert not feedback.correct
    assert "Not quite: title" in repr(feedback) and "Hint: a hint" in repr(feedback)
    markdown = feedback._repr_markdown_()
    assert "**Not quite**" in markdown and "* a reason" in markdown and "*Hint:* a hint" in markdown


def test_kit_file_finds_the_data() -> None:
    assert kit_file("data/logs/before.log").resolve() == BEFORE_LOG.resolve()


def test_hints_are_numbered_and_clamped() -> None:
    q1 = FailingRequests(BEFORE_LOG)
    assert q1.hint(1).reasons == (q1.hints[0],)
    assert q1.hint(99).reasons == (q1.hints[-1],)
    assert "hint(2)" in q1.hint(1).title


# -- task 1 -------------------------------------------------------------------------


def test_task1_placeholders_say_not_yet() -> None:
    feedback = FailingRequests(BEFORE_LOG).check()
    assert feedback.status == "not-yet"
    assert "count, path, transport, with_sid" in feedback.reasons[0]
    assert feedback == FailingRequests(BEFORE_LOG).check(), "placeholder feedback is deterministic"


def test_task1_right_answer_passes(before_truth: dict[str, Any]) -> None:
    feedback = FailingRequests(BEFORE_LOG).check(
        count=before_truth["count"], path=before_truth["path"][0],
        transport=before_truth["transport"][0], with_sid=before_truth["with_sid"])
    assert feedback.correct, feedback.text()
    assert any("per kind of request" in reason for reason in feedback.reasons)


def test_task1_accepts_numpy_and_lists(before_truth: dict[str, Any]) -> None:
    import numpy as np

    feedback = FailingRequests(BEFORE_LOG).check(
        count=np.int64(before_truth["count"]), path=list(before_truth["path"]),
        transport=before_truth["transport"], with_sid=np.bool_(before_truth["with_sid"]).item())
    assert feedback.correct, feedback.text()


def test_task1_message_lines_miscount_is_explained(before_truth: dict[str, Any]) -> None:
    text = BEFORE_LOG.read_text(encoding="utf-8")
    message_lines = sum("write() before start_response" in line for line in text.splitlines())
    assert message_lines != before_truth["count"]
    feedback = FailingRequests(BEFORE_LOG).check(message_lines, before_truth["path"][0],
                                                 before_truth["transport"][0], before_truth["with_sid"])
    assert feedback.status == "incorrect"
    assert "counts lines, not records" in feedback.reasons[0]


def test_task1_upgrade_requests_included_is_explained(before_truth: dict[str, Any]) -> None:
    text = BEFORE_LOG.read_text(encoding="utf-8")
    websocket_lines = sum(1 for m in map(REQUEST_LINE.search, text.splitlines())
                          if m and "transport=websocket" in m["target"])
    assert websocket_lines > before_truth["count"]
    feedback = FailingRequests(BEFORE_LOG).check(websocket_lines, before_truth["path"][0],
                                                 before_truth["transport"][0], before_truth["with_sid"])
    assert feedback.status == "incorrect"
    assert "upgrades of polling connections" in feedback.reasons[0]


def test_task1_wrong_details_are_named(before_truth: dict[str, Any]) -> None:
    feedback = FailingRequests(BEFORE_LOG).check(
        count=before_truth["count"], path=before_truth["path"][0].rstrip("/"),
        transport="polling", with_sid=not before_truth["with_sid"])
    assert feedback.status == "incorrect"
    text = feedback.text()
    assert "the slash matters" in text
    assert "transport: you said `polling`" in text
    assert "with sid: you said" in text
    assert f"count: {before_truth['count']} request lines" in text


def test_task1_query_in_path_and_wrong_types(before_truth: dict[str, Any]) -> None:
    feedback = FailingRequests(BEFORE_LOG).check(
        count=["a", "b"], path=before_truth["path"][0] + "?EIO=4",
        transport=before_truth["transport"][0], with_sid=before_truth["with_sid"])
    text = feedback.text()
    assert "did you mean `len(...)`" in text and "includes the query string" in text


def test_task1_own_log_is_checked_from_its_own_content(tmp_path: Path) -> None:
    lines = BEFORE_LOG.read_text(encoding="utf-8").splitlines(keepends=True)
    first_failure = next(i for i, line in enumerate(lines) if '" 500 ' in line)
    own = tmp_path / "mine.log"
    own.write_text("".join(lines[:first_failure + 1]), encoding="utf-8")
    rows = hand_count(own)
    feedback = FailingRequests(own).check(len(rows), rows[0]["path"], rows[0]["transport"],
                                          bool(rows[0]["sid"]))
    assert feedback.correct, feedback.text()
    assert "in mine.log" in feedback.title


def test_task1_log_without_failures() -> None:
    guard = ROOT / "data" / "logs" / "guard.log"
    assert not hand_count(guard)
    assert FailingRequests(guard).check(0, None, None, None).correct
    assert FailingRequests("data/logs/guard.log").log_path.resolve() == guard.resolve()


# -- task 2 -------------------------------------------------------------------------


def fake_run(errors: dict[str, int]) -> Any:
    """A stand-in for run_variant returning the shape it returns, with chosen 5xx counts."""
    def run(variant: str, log_path: Path, *, ws_users: int, upgrade_users: int, **_: Any) -> dict[str, Any]:
        Path(log_path).write_text("Skipping session creation for WebSocket request: /socket.io/\n"
                                  if variant == "writeup-fix" else "", encoding="utf-8")
        n = errors[variant]
        return {"variant": variant, "sent": {"users": {"websocket": ws_users, "upgrade": upgrade_users}},
                "log": {"server_errors": n, "write_before_start_response": n,
                        "by_kind": [{"kind": "socket.io websocket, no sid", "server_errors": n},
                                    {"kind": "socket.io websocket, with sid", "server_errors": 0}]}}
    return run


def test_task2_needs_prediction_then_measurement() -> None:
    q2 = PredictThenMeasure(3, 2)
    assert q2.check().status == "not-yet"
    assert q2.predict().status == "not-yet"
    assert q2.predict(before=1, writeup_fix=PLACEHOLDER).reasons == ("still a placeholder: writeup-fix",)
    assert q2.predict(before=-1, writeup_fix=1.5).status == "incorrect"
    q2.predict(before=3, writeup_fix=0)
    assert "no measurement" in q2.check().title


def test_task2_right_prediction_passes_and_explains(tmp_path: Path) -> None:
    q2 = PredictThenMeasure(3, 2)
    q2.predict(before=3, writeup_fix=3)
    table = q2.measure(log_dir=tmp_path, runner=fake_run({"before": 3, "writeup-fix": 3}))
    assert list(table.index) == ["before", "writeup-fix"]
    assert table.loc["writeup-fix", "session creation skipped"] and not table.loc["before", "session creation skipped"]
    feedback = q2.check()
    assert feedback.correct, feedback.text()
    text = feedback.text()
    assert "left the number of 5xx lines unchanged" in text
    assert "one per direct WebSocket user" in text
    assert "the session is not what produces them" in text


def test_task2_writeup_claim_is_called_out(tmp_path: Path) -> None:
    q2 = PredictThenMeasure(3, 2)
    q2.predict(before=3, writeup_fix=0)
    q2.measure(log_dir=tmp_path, runner=fake_run({"before": 3, "writeup-fix": 3}))
    feedback = q2.check()
    assert feedback.status == "incorrect"
    assert "writeup-fix: you predicted 0, the server logged 3 5xx lines (off by 3)" in feedback.reasons
    assert any("what the write-up claimed" in r for r in feedback.reasons)
    assert feedback.hint == q2.hints[1]


def test_task2_a_fix_that_works_is_described(tmp_path: Path) -> None:
    q2 = PredictThenMeasure(2, 1)
    q2.predict(before=2, writeup_fix=0)
    q2.measure(log_dir=tmp_path, runner=fake_run({"before": 2, "writeup-fix": 0}))
    feedback = q2.check()
    assert feedback.correct
    assert "removed all 2 5xx lines" in feedback.text()


def test_task2_prediction_after_measurement_does_not_count(tmp_path: Path) -> None:
    q2 = PredictThenMeasure(3, 2)
    q2.predict(before=0, writeup_fix=0)
    q2.measure(log_dir=tmp_path, runner=fake_run({"before": 3, "writeup-fix": 3}))
    assert "after a measurement" in q2.predict(before=3, writeup_fix=3).title
    feedback = q2.check()
    assert not feedback.correct
    assert "recorded after the measurement" in feedback.reasons[0]


def test_task2_measures_the_real_stack(tmp_path: Path) -> None:
    """One real run of both variants on fakeredis: the table counts what the log holds."""
    from wslab.study.runs import count_log

    q2 = PredictThenMeasure(ws_users=2, upgrade_users=1)
    q2.predict(before=0, writeup_fix=0)
    table = q2.measure(redis_url="fakeredis", log_dir=tmp_path)
    for variant in q2.variants:
        counted = count_log((tmp_path / f"exercise_02_{variant}.log").read_bytes())
        assert table.loc[variant, "5xx lines"] == counted["server_errors"]
        assert table.loc[variant, "direct WebSocket users"] == 2
    feedback = q2.check()
    expected = all(table.loc[v, "5xx lines"] == 0 for v in q2.variants)
    assert feedback.correct == expected


# -- task 3 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def q3() -> BeatTheWriteup:
    return BeatTheWriteup(CORPUS)


def records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_task3_signals(q3: BeatTheWriteup) -> None:
    expected = set()
    for record in records():
        if record["label"] == "http":
            head = RequestHead.from_source(record)
            if writeup_decision(head).is_websocket:
                expected |= {name for name, hit in writeup_signals(head).items() if hit}
    assert expected and writeup_false_positive_signals(q3.records) == expected
    assert q3.check_signals().status == "not-yet"
    assert q3.check_signals(expected).correct
    assert q3.check_signals(sorted(expected)).correct
    wrong = q3.check_signals(expected | {"upgrade-header"})
    assert wrong.status == "incorrect" and "fires on no `http` request" in wrong.text()
    partial = q3.check_signals(set(sorted(expected)[:1]))
    if len(expected) > 1:
        assert partial.status == "incorrect" and "missing" in partial.text()
    assert "unknown signal" in q3.check_signals({"nope"}).title
    assert q3.check_signals(42).status == "incorrect"


def test_task3_placeholder_detector_says_not_yet(q3: BeatTheWriteup) -> None:
    def my_detector(head: RequestHead) -> bool:
        ...

    assert q3.check(my_detector).status == "not-yet"


def test_task3_writeup_itself_does_not_beat_itself(q3: BeatTheWriteup) -> None:
    feedback = q3.check(lambda head: writeup_decision(head).is_websocket)
    assert feedback.status == "incorrect"
    assert "precision is not higher" in feedback.text()


def test_task3_precise_detector_beats_it(q3: BeatTheWriteup) -> None:
    feedback = q3.check(lambda head: precise_decision(head).is_websocket)
    assert feedback.correct, feedback.text()
    assert feedback.table is not None and feedback.table.empty


def test_task3_missed_positives_are_listed(q3: BeatTheWriteup) -> None:
    def path_only(head: RequestHead) -> bool:
        return head.path.startswith("/socket.io/")

    missed = [i for i, r in enumerate(records()) if r["label"] != "http" and not path_only(RequestHead.from_source(r))]
    assert missed
    feedback = q3.check(path_only)
    assert feedback.status == "incorrect"
    assert f"misses {len(missed)} WebSocket/Engine.IO request(s)" in feedback.text()
    assert feedback.table is not None and list(feedback.table["index"]) == missed
    assert set(feedback.table["error"]) == {"FN"}


def test_task3_errors_and_non_bools_are_reported(q3: BeatTheWriteup) -> None:
    def broken(head: RequestHead) -> bool:
        raise KeyError("Upgrade")

    assert "raised KeyError" in q3.check(broken).title
    assert "must return True or False" in q3.check(lambda head: head.header("Upgrade")).title


def test_f1() -> None:
    assert f1(None, 1.0) is None and f1(0.0, 0.0) == 0.0 and f1(1.0, 1.0) == 1.0
    assert f1(0.5, 1.0) == pytest.approx(2 / 3)


# -- the notebooks: solutions pass, tasks hold placeholders ----------------------------------


def answer_cells(path: Path) -> list[str]:
    notebook = nbformat.read(str(path), as_version=4)
    return [c.source for c in notebook.cells if "answer" in c.metadata.get("tags", [])]


def test_every_exercise_has_a_solution_and_answer_cells() -> None:
    tasks = sorted(p.name for p in TASKS.glob("*.ipynb"))
    assert tasks and tasks == sorted(p.name for p in SOLUTIONS.glob("*.ipynb"))
    for name in tasks:
        assert answer_cells(TASKS / name), name
        assert len(answer_cells(TASKS / name)) == len(answer_cells(SOLUTIONS / name)), name
        assert all("..." in source for source in answer_cells(TASKS / name)), name


def run_answers(name: str, setup: str) -> dict[str, Any]:
    """Run the solution notebook's answer cells after *setup*; return the namespace."""
    namespace: dict[str, Any] = {}
    exec(setup, namespace)  # noqa: S102 - test code running the kit's own notebook cells
    for source in answer_cells(SOLUTIONS / name):
        exec(source, namespace)  # noqa: S102
    return namespace


def test_solution_1_passes() -> None:
    ns = run_answers("01_find_the_failing_requests.ipynb",
                     "from wslab.teach.exercises import FailingRequests\nfrom wslab.logs import parse_log\n"
                     f"q1 = FailingRequests({str(BEFORE_LOG)!r})\nparsed = parse_log(q1.log_path)\n")
    feedback = ns["q1"].check(ns["n_failing"], ns["failing_path"], ns["failing_transport"], ns["failing_with_sid"])
    assert feedback.correct, feedback.text()


def test_solution_3_passes() -> None:
    ns = run_answers("03_beat_the_writeup_detector.ipynb",
                     "from wslab.teach.exercises import BeatTheWriteup\n"
                     "from wslab.app.detection import RequestHead, writeup_signals\n"
                     f"q3 = BeatTheWriteup({str(CORPUS)!r})\n")
    assert ns["q3"].check_signals(ns["fp_signals"]).correct
    feedback = ns["q3"].check(ns["my_detector"])
    assert feedback.correct, feedback.text()
    for record in records():
        head = RequestHead.from_source(record)
        assert ns["my_detector"](head) == precise_decision(head).is_websocket


def test_solution_2_prediction_passes(tmp_path: Path) -> None:
    ns = run_answers("02_predict_then_measure.ipynb",
                     "from wslab.teach.exercises import PredictThenMeasure\nws_users, upgrade_users = 3, 2\n"
                     "q2 = PredictThenMeasure(ws_users, upgrade_users)\n")
    q2 = ns["q2"]
    assert q2.predictions == {"before": 3, "writeup-fix": 3}
    q2.measure(log_dir=tmp_path, runner=fake_run({"before": 3, "writeup-fix": 3}))
    assert q2.check().correct
