"""Your own log: ``analyze_log`` and ``wslab analyze`` on a path, kinds of request, deploys, buckets.

Expected values come from outside the code under test: the users each committed
recording sent (``data/logs/manifest.json``, read with :mod:`wslab.study.incident.recorded`),
a kind-of-request regex of these tests' own over the raw lines, and times read
off the raw lines.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from wslab.cli import main
from wslab.errors import WslabError
from wslab.logs import analyze, analyze_log, find_input, locate_log
from wslab.paths import DATA_DIR, KIT_ROOT
from wslab.study.incident.recorded import load_manifest, users_sent

pytestmark = pytest.mark.pins_independent

LOGS = DATA_DIR / "logs"
WERKZEUG_LOGS = ["before.log", "guard.log", "no-session.log", "writeup-fix.log"]
SERVER_LOGS = ["servers/gunicorn-access.log", "servers/nginx-access.log"]

# -- an independent reading of the raw lines -----------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;]*m")
#: A Werkzeug request line's quoted text and status, or an access line's.
WERKZEUG_LINE = re.compile(rb'\[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] "(?P<text>.*)" (?P<status>\d{3}) ')
ACCESS_LINE = re.compile(rb'^\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:[\d:]+ [+-]\d{4}\] "(?P<text>.*?)" (?P<status>\d{3}) ')
HTTP = re.compile(rb"[A-Z]+ (?P<target>\S+) HTTP/[\d.]+")
#: The time at the start of a Werkzeug line of the write-up's format.
ISO_TIME = re.compile(rb"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+\]")


def _kind(text: bytes) -> str:
    """The kind of one request text, by the definition: direct / upgraded WebSocket, polling, page."""
    request = HTTP.fullmatch(ANSI.sub(b"", text))
    if not request:
        return "page"
    path, _, query = request["target"].partition(b"?")
    params = dict(p.partition(b"=")[::2] for p in query.split(b"&"))
    if b"/socket.io/" not in path and b"EIO" not in params:
        return "page"
    if params.get(b"transport") == b"websocket":
        return "upgraded websocket" if params.get(b"sid") else "direct websocket"
    return "polling" if params.get(b"transport") == b"polling" else "page"


def raw_kinds(path: Path) -> dict[str, tuple[int, int]]:
    """(request lines, 5xx lines) per kind, from the raw file."""
    counts: Counter = Counter()
    for line in path.read_bytes().splitlines():
        found = WERKZEUG_LINE.search(line) or ACCESS_LINE.search(line)
        if found:
            kind = _kind(found["text"])
            counts[kind, "requests"] += 1
            counts[kind, "server_errors"] += found["status"].startswith(b"5")
    kinds = {kind for kind, _ in counts}
    return {kind: (counts[kind, "requests"], counts[kind, "server_errors"]) for kind in kinds}


def _table(rows: list[dict]) -> dict[str, tuple[int, int]]:
    return {row["kind"]: (row["requests"], row["server_errors"]) for row in rows}


# -- kinds of request -----------------------------------------------------------------


@pytest.mark.parametrize("name", WERKZEUG_LOGS + SERVER_LOGS)
def test_by_kind_is_the_raw_count_per_kind(capsys, name: str) -> None:
    path = LOGS / name
    code = main(["analyze", str(path), "--by", "kind", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["by"] == "kind"
    assert _table(data["table"]) == raw_kinds(path)
    order = ["direct websocket", "upgraded websocket", "polling", "page"]
    assert [row["kind"] for row in data["table"]] == [k for k in order if k in raw_kinds(path)]


@pytest.mark.parametrize("name", WERKZEUG_LOGS)
def test_direct_and_upgraded_websockets_are_the_users_the_recording_sent(name: str) -> None:
    sent = users_sent(load_manifest()[name]["command"])
    overview = analyze_log(LOGS / name)
    table = overview.by_kind.set_index("kind")
    assert table.loc["direct websocket", "requests"] == sent["ws"] == 20
    assert table.loc["upgraded websocket", "requests"] == sent["upgrade"] == 5
    # every direct WebSocket fails on the incident's pins, except under the guard
    failed = 0 if name == "guard.log" else sent["ws"]
    assert table.loc["direct websocket", "server_errors"] == failed
    assert table.loc["upgraded websocket", "server_errors"] == 0
    assert overview.affected is (name != "guard.log")


def test_nginx_logs_each_websocket_once_and_gunicorn_none() -> None:
    manifest = load_manifest(LOGS / "servers" / "manifest.json")
    sent = manifest["nginx-access.log"]["sent"]["socketio_connections"]
    nginx = analyze_log(LOGS / "servers" / "nginx-access.log").by_kind.set_index("kind")
    assert nginx.loc["direct websocket", "requests"] == sent["websocket"] == 20
    assert nginx.loc["upgraded websocket", "requests"] == sent["upgrade"] == 5
    # gunicorn's gthread worker writes no access line for a WebSocket
    gunicorn = analyze_log(LOGS / "servers" / "gunicorn-access.log").by_kind["kind"].tolist()
    assert "direct websocket" not in gunicorn and "upgraded websocket" not in gunicorn


def test_text_output_shows_the_kind_table(capsys) -> None:
    code = main(["analyze", str(LOGS / "before.log"), "--by", "kind"])
    out = capsys.readouterr().out
    assert code == 0
    direct = next(line for line in out.splitlines() if line.strip().startswith("direct websocket"))
    assert direct.split()[2:4] == ["20", "20"] and "100.00 %" in direct


# -- paths ----------------------------------------------------------------------------


def test_a_path_under_the_kit_is_found_from_another_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert not (tmp_path / "data").exists()
    assert locate_log("data/logs/before.log") == KIT_ROOT / "data" / "logs" / "before.log"
    overview = analyze_log("data/logs/before.log")
    assert overview.path == KIT_ROOT / "data" / "logs" / "before.log"
    assert overview.summary["request_lines"] == load_manifest()["before.log"]["counts"]["request_lines"] == 250
    code = main(["analyze", "data/logs/before.log", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["request_lines"] == 250


def test_a_path_as_given_comes_first(tmp_path: Path, monkeypatch) -> None:
    own = tmp_path / "data" / "logs" / "before.log"
    own.parent.mkdir(parents=True)
    own.write_bytes((LOGS / "guard.log").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert locate_log("data/logs/before.log") == Path("data/logs/before.log")
    assert analyze_log("data/logs/before.log").summary["server_errors"] == 0  # guard.log's
    assert analyze_log(str(LOGS / "before.log")).summary["server_errors"] == 20  # absolute


def test_find_input_looks_as_given_then_under_the_kit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_input("data/logs/before.log") == KIT_ROOT / "data" / "logs" / "before.log"
    assert find_input("data/logs/none.log") is None
    assert find_input(tmp_path / "none.log") is None
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert find_input("requirements.txt") == Path("requirements.txt")
    assert find_input("data", root=tmp_path / "elsewhere") is None


def test_a_missing_path_names_both_places(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WslabError) as raised:
        analyze_log("logs/none.log")
    message = str(raised.value)
    assert str(tmp_path / "logs" / "none.log") in message and str(KIT_ROOT / "logs" / "none.log") in message
    assert raised.value.exit_code == 2
    code = main(["analyze", "logs/none.log"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert str(tmp_path / "logs" / "none.log") in err and str(KIT_ROOT / "logs" / "none.log") in err


def test_the_cli_and_analyze_log_share_one_pipeline(capsys) -> None:
    log = LOGS / "guard.log"
    code = main(["analyze", str(log), "--by", "kind", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    overview = analyze_log(log)
    analysis = analyze([str(log)])
    for key in ("formats", "by", "table"):
        printed.pop(key)
    assert analysis.summary == printed == {k: v for k, v in overview.summary.items() if k != "bucket_seconds"}
    assert analysis.table("kind").equals(overview.by_kind)
    assert analyze([str(log)], rows=False).summary == analysis.summary


# -- deploys and buckets ----------------------------------------------------------------


def _request_times(path: Path) -> list[pd.Timestamp]:
    lines = path.read_bytes().splitlines()
    return [pd.Timestamp(ISO_TIME.match(line)[1].decode()) for line in lines if WERKZEUG_LINE.search(line)]


def test_deploy_at_splits_before_and_after(capsys) -> None:
    path = LOGS / "before.log"
    times, lines = _request_times(path), path.read_bytes().splitlines()
    statuses = [WERKZEUG_LINE.search(line)["status"] for line in lines if WERKZEUG_LINE.search(line)]
    deploy = "2026-11-25T19:09:01"
    before = [s for t, s in zip(times, statuses, strict=True) if t < pd.Timestamp(deploy)]
    after = [s for t, s in zip(times, statuses, strict=True) if t >= pd.Timestamp(deploy)]
    assert before and after
    overview = analyze_log(path, deploy_at=deploy)
    table = overview.before_after.set_index("phase")
    assert table.loc["phase 0", "requests"] == len(before)
    assert table.loc["phase 1", "requests"] == len(after)
    assert table.loc["phase 1", "server_errors"] == sum(s.startswith(b"5") for s in after)
    assert overview.deploy_at == [pd.Timestamp(deploy)]
    # the command line's --phase-at (and --deploy-at) give the same table
    for option in ("--phase-at", "--deploy-at"):
        main(["analyze", str(path), option, deploy, "--json"])
        rows = json.loads(capsys.readouterr().out)["table"]
        assert [(r["phase"], r["requests"]) for r in rows] == [("phase 0", len(before)), ("phase 1", len(after))]


def test_a_deploy_with_an_offset_is_taken_in_utc() -> None:
    overview = analyze_log(LOGS / "servers" / "nginx-access.log", deploy_at="2026-12-02T03:48:37+01:00")
    assert overview.deploy_at == [pd.Timestamp("2026-12-02T02:48:37")]


def test_bad_deploy_instant_is_one_error() -> None:
    with pytest.raises(WslabError, match="not a timestamp"):
        analyze_log(LOGS / "before.log", deploy_at="after lunch")


def test_the_lab_runs_keep_one_second_buckets() -> None:
    path = LOGS / "before.log"
    overview = analyze_log(path)
    assert overview.bucket == pd.Timedelta(seconds=1)
    seconds = Counter(t.floor("1s") for t in _request_times(path))
    table = overview.over_time.set_index("time")
    assert dict(table["requests"]) == dict(seconds)


def test_a_day_of_traffic_gets_quarter_hours(tmp_path: Path) -> None:
    # one request line every 10 minutes for 24 hours: 145 lines over 86 400 s
    start = pd.Timestamp("2025-09-01T00:00:00")
    lines = []
    for k in range(145):
        t = start + pd.Timedelta(minutes=10 * k)
        lines.append(
            f"[{t.isoformat(timespec='microseconds')}] INFO werkzeug - 10.0.0.7 - - "
            f'[{t:%d/%b/%Y %H:%M:%S}] "GET /items/{k} HTTP/1.1" {500 if k % 10 == 0 else 200} -'
        )
    log = tmp_path / "day.log"
    log.write_text("\n".join(lines) + "\n")
    overview = analyze_log(log)
    assert overview.bucket == pd.Timedelta(minutes=15)
    # 96 quarter hours hold the lines of the day, a 97th the line at midnight after it
    assert len(overview.over_time) == len({t.floor("15min") for t in _request_times(log)}) == 97
    assert overview.over_time["requests"].sum() == 145
    assert overview.first_server_error == start
    assert overview.last_server_error == start + pd.Timedelta(minutes=10 * 140)
    assert "15 min" in overview.over_time.attrs["bucket"]


def test_headline_answers_the_questions() -> None:
    text = analyze_log(LOGS / "before.log", deploy_at="2026-11-25T19:09:01").headline()
    assert "Affected: 20 of 20 direct WebSocket requests ended in a 5xx line" in text
    assert "5xx lines from 2026-11-25 19:09:01" in text and "phase 0:" in text
    assert analyze_log(LOGS / "guard.log").headline().count("Not affected") == 1


def test_named_deploys_on_the_command_line(capsys) -> None:
    path = LOGS / "before.log"
    times = _request_times(path)
    deploy = "2026-11-25T19:09:01"
    before = sum(t < pd.Timestamp(deploy) for t in times)
    main(["analyze", str(path), "--deploy-at", f"guard={deploy}", "--json"])
    rows = json.loads(capsys.readouterr().out)["table"]
    assert [(r["phase"], r["requests"]) for r in rows] == [("before guard", before),
                                                           ("after guard", len(times) - before)]


def test_unnamed_deploys_among_named_ones_are_numbered_in_time_order() -> None:
    from wslab.logs import parse_deploys

    instants, names = parse_deploys(["2025-09-01T13:00:00", "fix=2025-09-01T12:00:00"])
    assert instants == [pd.Timestamp("2025-09-01T12:00:00"), pd.Timestamp("2025-09-01T13:00:00")]
    assert names == ["fix", "deploy 2"]
    assert parse_deploys(["2025-09-01T13:00:00"]) == ([pd.Timestamp("2025-09-01T13:00:00")], None)
    with pytest.raises(WslabError, match="not a timestamp"):
        parse_deploys({"fix": "after lunch"})
