"""The request corpus: server-side capture with real clients (``wslab.lab.capture``), and the JSONL format."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from wslab.lab.capture import CUSTOM_SOCKETIO_PATH, SOCKETIO_PATH, CaptureServer
from wslab.lab.capture_clients import (HTTP_VISITS, run_http_requests, run_socketio_client,
                                       run_socketio_path_requests, run_websocket_client, socketio_path_visits)
from wslab.study.detection.corpus import FIELDS, LABELS, NEGATIVE_LABELS, load_corpus, save_corpus
from wslab.errors import WslabError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "requests" / "corpus.jsonl"
CUSTOM_CORPUS = CORPUS.with_name("custom_path.jsonl")
FIREFOX_CONNECTION = "Connection: keep-alive, Upgrade"
ALL = set(LABELS)


@pytest.fixture(scope="module")
def captured() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """One small capture run: each Python client once, lines grouped by source."""
    with CaptureServer() as server:
        with server.client("sio websocket-only", ALL):
            run_socketio_client(server.url, ["websocket"])
        with server.client("sio polling-upgrade", ALL):
            run_socketio_client(server.url, ["polling", "websocket"])
        with server.client("sio polling-only", ALL):
            run_socketio_client(server.url, ["polling"])
        with server.client("websocket-client", ALL):
            run_websocket_client(server.url)
        with server.client("websocket-client firefox", ALL):
            run_websocket_client(server.url, FIREFOX_CONNECTION)
        with server.client("requests", ALL):
            run_http_requests(server.url)
        with server.client("requests near", ALL):
            run_socketio_path_requests(server.url)
        records = server.records()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["source"], []).append(record)
    yield grouped


def labels(records: list[dict[str, Any]]) -> list[str]:
    return [r["label"] for r in records]


def test_websocket_only_client_makes_one_socketio_websocket_request(captured: dict) -> None:
    [record] = captured["sio websocket-only"]
    assert record["label"] == "socketio-websocket"
    assert (record["method"], record["path"]) == ("GET", "/socket.io/")
    assert "transport=websocket" in record["query"]
    assert record["headers"]["Upgrade"].lower() == "websocket"


def test_polling_only_client_makes_only_polling_requests(captured: dict) -> None:
    records = captured["sio polling-only"]
    assert len(records) >= 2
    assert set(labels(records)) == {"socketio-polling"}
    assert {r["method"] for r in records} <= {"GET", "POST"}
    assert all("Upgrade" not in r["headers"] for r in records)


def test_polling_upgrade_client_polls_then_upgrades(captured: dict) -> None:
    records = captured["sio polling-upgrade"]
    assert records[0]["label"] == "socketio-polling"
    assert labels(records).count("socketio-websocket") == 1
    upgrade = next(r for r in records if r["label"] == "socketio-websocket")
    assert "sid=" in upgrade["query"]


def test_websocket_client_is_websocket_other(captured: dict) -> None:
    [plain] = captured["websocket-client"]
    [firefox] = captured["websocket-client firefox"]
    for record in (plain, firefox):
        assert record["label"] == "websocket-other"
        assert record["path"] == "/ws/echo"
    assert plain["headers"]["Connection"] == "Upgrade"
    assert firefox["headers"]["Connection"] == "keep-alive, Upgrade"


def test_requests_client_is_http_in_visit_order(captured: dict) -> None:
    records = captured["requests"]
    assert set(labels(records)) == {"http"}
    visited = [(m, p) for m, p, _ in HTTP_VISITS]
    seen = [(r["method"], r["path"] + (f"?{r['query']}" if r["query"] else "")) for r in records]
    assert seen == visited


def test_later_requests_carry_the_session_cookie(captured: dict) -> None:
    dashboard = next(r for r in captured["requests"] if r["path"] == "/dashboard")
    assert "session=" in dashboard["headers"].get("Cookie", "")


def test_labels_and_negatives() -> None:
    assert LABELS == ("socketio-websocket", "socketio-polling", "websocket-other", "http", "not-engineio")
    assert NEGATIVE_LABELS == ("http", "not-engineio")


def test_visits_near_the_socketio_path() -> None:
    assert socketio_path_visits() == (
        ("GET", "/socket.io/socket.io.js"), ("GET", "/socket.io/static/app.css"),
        ("GET", "/socket.iox/?EIO=4&transport=polling"), ("GET", "/custom.io/?EIO=4&transport=polling"))
    assert socketio_path_visits("/custom.io", "/socket.io")[3] == ("GET", "/socket.io/?EIO=4&transport=polling")


def test_files_under_the_socketio_path_are_not_engineio_and_the_rest_is_flask(captured: dict) -> None:
    """What the workload sent, in order; who answered each decides its label."""
    records = captured["requests near"]
    sent = [(m, p) for m, p in socketio_path_visits()]
    seen = [(r["method"], r["path"] + (f"?{r['query']}" if r["query"] else "")) for r in records]
    assert seen == sent
    assert labels(records) == ["not-engineio", "not-engineio", "http", "http"]


def test_the_static_layer_serves_the_client_before_engineio(tmp_path: Path) -> None:
    client_js = tmp_path / "socket.io.min.js"
    client_js.write_bytes(b"/* socket.io client */")
    with CaptureServer(client_js) as served, CaptureServer() as missing:
        with served.client("static", ALL), missing.client("static", ALL):
            found = requests.get(served.url + "/socket.io/socket.io.js", timeout=10)
            absent = requests.get(missing.url + "/socket.io/socket.io.js", timeout=10)
            css = requests.get(served.url + "/socket.io/static/app.css", timeout=10)
            engineio = requests.get(served.url + "/socket.io/other.js", timeout=10)
        records = served.records() + missing.records()
    assert (found.status_code, found.content) == (200, b"/* socket.io client */")
    assert found.headers["Content-Type"] == "text/javascript"
    assert absent.status_code == 404
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css"
    # any other path below /socket.io/ still reaches Engine.IO, which rejects a request without its query
    assert engineio.status_code == 400
    assert [(r["path"], r["label"]) for r in records if r["label"] == "not-engineio"] == [
        ("/socket.io/socket.io.js", "not-engineio"), ("/socket.io/static/app.css", "not-engineio"),
        ("/socket.io/socket.io.js", "not-engineio")]


@pytest.fixture(scope="module")
def custom_captured() -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    """A capture server with Socket.IO at /custom.io: python-socketio there, requests near it."""
    with CaptureServer(socketio_path=CUSTOM_SOCKETIO_PATH) as server:
        served = server.socketio_path
        with server.client("sio polling-upgrade", ALL):
            run_socketio_client(server.url, ["polling", "websocket"], socketio_path=served)
        with server.client("requests near", ALL):
            run_socketio_path_requests(server.url, served, SOCKETIO_PATH)
        records = server.records()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["source"], []).append(record)
    yield served, grouped


def test_custom_path_server_serves_socketio_there(custom_captured: tuple) -> None:
    served, grouped = custom_captured
    assert served == CUSTOM_SOCKETIO_PATH == "/custom.io"
    records = grouped["sio polling-upgrade"]
    assert {r["path"] for r in records} == {"/custom.io/"}
    assert labels(records)[0] == "socketio-polling" and labels(records).count("socketio-websocket") == 1


def test_custom_path_server_leaves_socketio_path_to_flask(custom_captured: tuple) -> None:
    _, grouped = custom_captured
    records = grouped["requests near"]
    assert [(r["path"], r["query"], r["label"]) for r in records] == [
        ("/custom.io/socket.io.js", "", "not-engineio"),
        ("/custom.io/static/app.css", "", "not-engineio"),
        ("/custom.iox/", "EIO=4&transport=polling", "http"),
        ("/socket.io/", "EIO=4&transport=polling", "http"),  # the right query, but no server mounted there
    ]


def test_captured_lines_have_the_corpus_shape(captured: dict) -> None:
    for records in captured.values():
        for record in records:
            assert tuple(record) == FIELDS
            assert record["label"] in LABELS
            assert all(isinstance(v, str) for v in record["headers"].values())


def test_captured_lines_round_trip_through_jsonl(captured: dict, tmp_path: Path) -> None:
    records = [r for group in captured.values() for r in group]
    path = tmp_path / "corpus.jsonl"
    assert save_corpus(records, path) == len(records)
    assert load_corpus(path) == records


def test_a_label_outside_the_client_expectation_fails_the_capture() -> None:
    with CaptureServer() as server:
        with server.client("mislabelled", {"socketio-websocket"}):
            requests.get(server.url + "/", timeout=10)
        with pytest.raises(RuntimeError, match="mislabelled is http"):
            server.records()


def test_a_request_outside_any_client_run_fails_the_capture() -> None:
    with CaptureServer() as server:
        requests.get(server.url + "/docs/x", timeout=10)
        server.recorder.wait_idle()
        with pytest.raises(RuntimeError, match="outside any client run"):
            server.records()


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def line(**overrides: Any) -> str:
    record = {"method": "GET", "path": "/", "query": "", "headers": {}, "label": "http",
              "source": "test"}
    record.update(overrides)
    return json.dumps(record)


def test_load_skips_blank_lines(tmp_path: Path) -> None:
    assert len(load_corpus(write_lines(tmp_path, line(), "", "  ", line()))) == 2


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WslabError, match="not found"):
        load_corpus(tmp_path / "nope.jsonl")


def test_load_bad_json_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(WslabError, match="line 3: invalid JSON"):
        load_corpus(write_lines(tmp_path, line(), line(), "{not json"))


def test_load_unknown_label_names_label_and_line(tmp_path: Path) -> None:
    with pytest.raises(WslabError, match=r"line 2: unknown label 'websocket'"):
        load_corpus(write_lines(tmp_path, line(), line(label="websocket")))


@pytest.mark.parametrize("bad, message", [
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"method": "GET"}), "missing field"),
    (line(headers=["Upgrade", "websocket"]), "'headers' must be an object"),
    (line(path=7), "'path' must be a string"),
])
def test_load_rejects_malformed_lines(tmp_path: Path, bad: str, message: str) -> None:
    with pytest.raises(WslabError, match=message):
        load_corpus(write_lines(tmp_path, bad))


def test_save_rejects_unknown_label(tmp_path: Path) -> None:
    with pytest.raises(WslabError, match="unknown label"):
        save_corpus([json.loads(line(label="maybe"))], tmp_path / "c.jsonl")


@pytest.fixture(scope="module")
def committed() -> list[dict[str, Any]]:
    return load_corpus(CORPUS)


def test_committed_corpus_has_every_label(committed: list) -> None:
    assert {r["label"] for r in committed} == set(LABELS)


@pytest.fixture(scope="module")
def committed_custom() -> list[dict[str, Any]]:
    return load_corpus(CUSTOM_CORPUS)


def test_committed_custom_path_corpus(committed_custom: list) -> None:
    assert 10 <= len(committed_custom) <= 100
    assert {r["label"] for r in committed_custom} == set(LABELS) - {"websocket-other"}
    engineio = [r for r in committed_custom if r["label"].startswith("socketio-")]
    assert {r["path"] for r in engineio} == {"/custom.io/"}
    assert all(r["source"].endswith("at /custom.io") for r in engineio)
    elsewhere = [r for r in committed_custom if r["path"] == "/socket.io/"]
    assert elsewhere and {(r["query"], r["label"]) for r in elsewhere} == {("EIO=4&transport=polling", "http")}
    for text in CUSTOM_CORPUS.read_text().splitlines():
        assert tuple(json.loads(text)) == FIELDS


def test_committed_corpus_is_modest(committed: list) -> None:
    assert 20 <= len(committed) <= 300


def test_committed_corpus_lines_have_exact_fields() -> None:
    for text in CORPUS.read_text().splitlines():
        assert tuple(json.loads(text)) == FIELDS


@pytest.mark.parametrize("source, allowed", [
    (r"python-socketio \S+ websocket-only", {"socketio-websocket"}),
    (r"python-socketio \S+ polling-upgrade", {"socketio-polling", "socketio-websocket"}),
    (r"python-socketio \S+ polling-only", {"socketio-polling"}),
    (r"websocket-client \S+( \(Connection: keep-alive, Upgrade\))?", {"websocket-other"}),
    (r"requests \S+", {"http"}),
    (r"requests \S+ near /socket\.io/", {"http", "not-engineio"}),
    (r"curl \S+", {"http"}),
    (r"curl \S+ --http2", {"http"}),
    (r"chromium \d+ \(socket\.io-client \S+\)", set(LABELS)),
])
def test_committed_corpus_has_each_client_kind(committed: list, source: str, allowed: set) -> None:
    records = [r for r in committed if re.fullmatch(source, r["source"])]
    assert records, f"no lines from {source}"
    assert {r["label"] for r in records} <= allowed


def test_committed_corpus_has_static_files_under_the_socketio_path(committed: list) -> None:
    static = [r for r in committed if r["label"] == "not-engineio"]
    assert {r["path"] for r in static} == {"/socket.io/socket.io.js", "/socket.io/static/app.css"}
    assert {r["source"].split()[0] for r in static} == {"requests", "chromium"}
    assert all(r["query"] == "" for r in static)


def test_committed_corpus_has_an_h2c_upgrade_request(committed: list) -> None:
    h2c = [r for r in committed if r["headers"].get("Upgrade", "").lower() == "h2c"]
    assert h2c and {r["label"] for r in h2c} == {"http"}


def test_committed_browser_lines_cover_the_socketio_handshake(committed: list) -> None:
    browser = {r["label"] for r in committed if r["source"].startswith("chromium")}
    assert {"socketio-polling", "socketio-websocket", "http", "not-engineio"} <= browser
