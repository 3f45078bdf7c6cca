"""Log formats beside Werkzeug's: gunicorn's access and error logs, nginx's ``combined``.

The samples in ``data/logs/servers/`` are real: ``scripts/record_server_logs.py``
ran the demo app (variant ``before``) under gunicorn 27.0.1 (one gthread worker)
and drove it with the kit's simulated users, once directly (gunicorn's two logs)
and once through a real nginx 1.22.1 reverse proxy (nginx's access log). The
expected numbers below were counted with ``grep`` on the raw files and written
here by hand; what the clients sent is copied by hand from the runs' own record
(the ``sent`` of ``data/logs/servers/manifest.json``). Each test also reads the
raw files with regexes of its own, which do not use :mod:`wslab.logs`.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from wslab.cli import main
from wslab.errors import WslabError
from wslab.logs import parse_log, parse_logs, scan_summary, scan_tally, summarize
from wslab.logs.formats import FORMATS, detect_format
from wslab.logs.scanning import stream as stream_module

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ROOT / "data" / "logs" / "servers"
#: Every committed Werkzeug log: the reference logs and the parser tests' samples.
WERKZEUG_LOGS = [
    *sorted((ROOT / "data" / "logs").glob("*.log")),
    *sorted((ROOT / "tests" / "logsamples").glob("*.log")),
]

#: file -> the format it is detected as
DETECTED = {
    "gunicorn-access.log": "gunicorn-access",
    "gunicorn-error.log": "gunicorn-error",
    "nginx-access.log": "nginx",
}

#: file -> (lines, request lines per status), counted with grep on the raw files
HAND_COUNTED = {
    "gunicorn-access.log": (226, {"200": 178, "302": 48}),
    "gunicorn-error.log": (7, {}),
    "nginx-access.log": (249, {"101": 25, "200": 175, "302": 48, "400": 1}),
}

#: What the clients recorded they sent, the same in both runs: 20 direct WebSocket users,
#: 5 that upgrade from polling, 3 polling-only and 10 HTTP-only users, and these HTTP
#: requests besides Socket.IO (sign-in, client config, /whoami, sign-out).
SENT_USERS = {"websocket": 20, "upgrade": 5, "polling": 3, "http": 10}
SENT_HTTP = {"200": 152, "302": 48}

#: The kit's own requests in each access log (grep): readiness and in-flight probes.
LAB_PATHS = ("/healthz", "/_wslab/inflight")
LAB_LINES = {
    "gunicorn-access.log": {"/healthz": 1, "/_wslab/inflight": 1},
    "nginx-access.log": {"/healthz": 1},
}

#: Engine.IO request lines per (transport, status), counted with grep. gunicorn's gthread
#: worker writes no line for a WebSocket; nginx writes one 101 line per WebSocket when it closes.
ENGINEIO_LINES = {
    "gunicorn-access.log": {("polling", "200"): 24},
    "nginx-access.log": {("polling", "200"): 22, ("polling", "400"): 1, ("websocket", "101"): 25},
}

#: An access line of gunicorn's default format / nginx's combined, written for these tests.
OWN_ACCESS = re.compile(
    rb'^(?P<client>\S+) - (?P<user>\S+) \[(?P<day>\d\d)/(?P<month>[A-Z][a-z]{2})/(?P<year>\d{4}):'
    rb'(?P<time>\d\d:\d\d:\d\d) (?P<offset>[+-]\d{4})\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" '
    rb'(?P<status>\d{3}) (?P<size>\d+|-) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"$'
)
#: A record of gunicorn's error log, written for these tests.
OWN_ERROR_RECORD = re.compile(rb"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] \S")

#: Recorded from gunicorn 27.0.1 (gthread worker) serving a two-line WSGI app whose /boom
#: raises KeyError, then curl asking for /ok and /boom?x=1; install paths replaced.
GUNICORN_ERROR_WITH_TRACEBACK = b"""\
[2026-12-02 02:43:12 +0000] [26014] [INFO] Starting gunicorn 27.0.1
[2026-12-02 02:43:12 +0000] [26014] [INFO] Listening at: http://127.0.0.1:40069 (26014)
[2026-12-02 02:43:12 +0000] [26014] [INFO] Using worker: gthread
[2026-12-02 02:43:12 +0000] [26016] [INFO] Booting worker with pid: 26016
[2026-12-02 02:43:14 +0000] [26016] [ERROR] Error handling request GET /boom?x=1
Traceback (most recent call last):
  File "<prefix>/site-packages/gunicorn/workers/gthread.py", line 553, in handle
    return self._keepalive_after(conn, self.handle_request(req, conn))
                                       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "<prefix>/site-packages/gunicorn/workers/gthread.py", line 771, in handle_request
    respiter = self.wsgi(environ, resp.start_response)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "<app>/boom.py", line 3, in app
    {}["missing"]
    ~~^^^^^^^^^^^
KeyError: 'missing'
[2026-12-02 02:43:15 +0000] [26014] [INFO] Handling signal: term
[2026-12-02 02:43:15 +0000] [26016] [INFO] Worker exiting (pid: 26016)
[2026-12-02 02:43:15 +0000] [26014] [INFO] Shutting down: Master
"""
#: The same run's access log.
GUNICORN_ACCESS_WITH_500 = b"""\
127.0.0.1 - - [02/Dec/2026:02:43:14 +0000] "GET /ok HTTP/1.1" 200 2 "-" "curl/7.88.1"
127.0.0.1 - - [02/Dec/2026:02:43:14 +0000] "GET /boom?x=1 HTTP/1.1" 500 0 "-" "-"
"""

WERKZEUG_LINE = (
    b'127.0.0.1 - - [01/Sep/2025 13:04:34] "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" 500 -'
)
BAD_SYNTAX_LINE = b"127.0.0.1 - - [01/Sep/2025 13:04:34] code 400, message Bad request syntax ('\\x16\\x03')"
ACCESS_LINE = b'127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET /login HTTP/1.1" 500 379 "-" "curl/8.0"'
ERROR_RECORD = b"[2026-12-02 02:36:43 +0000] [1234] [INFO] Booting worker with pid: 1234"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _summaries(source_bytes: bytes, **kw) -> tuple[dict, dict]:
    """Both analysis paths over the same bytes; they must agree before either is looked at."""
    parsed = summarize(parse_log(io.BytesIO(source_bytes), **kw))
    streamed = scan_summary([io.BytesIO(source_bytes)], jobs=1, **kw)
    assert parsed == streamed
    return parsed, streamed


def _own_access_rows(name: str) -> list[dict]:
    """Every line of an access sample, read with this test's regex; a line that does not match fails."""
    rows = []
    for line in (SERVERS / name).read_bytes().splitlines():
        match = OWN_ACCESS.match(line)
        assert match is not None, f"not an access line: {line!r}"
        target = urlsplit(match["target"].decode())
        query = parse_qs(target.query)
        rows.append({"path": target.path, "status": match["status"].decode(),
                     "transport": query.get("transport", [None])[0],
                     "user": query.get("wslab_conn", [None])[0]})
    return rows


# -- the committed samples ------------------------------------------------------------


def test_every_server_sample_is_counted_here() -> None:
    assert sorted(p.name for p in SERVERS.glob("*.log")) == sorted(HAND_COUNTED) == sorted(DETECTED)
    manifest = json.loads((SERVERS / "manifest.json").read_text())
    assert sorted(manifest) == sorted(HAND_COUNTED)
    for name, entry in manifest.items():
        assert entry["file"] == name and entry["format"] == DETECTED[name]
        assert entry["sent"]["users"] == SENT_USERS and entry["sent"]["http_statuses"] == SENT_HTTP
        assert entry["sent"]["client_errors"] == 0
        assert entry["command"].startswith("python scripts/record_server_logs.py --variant before ")


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_each_sample_is_detected_as_its_format(name: str) -> None:
    path = SERVERS / name
    assert detect_format(path.read_bytes()).name == DETECTED[name]
    assert parse_log(path).formats == [DETECTED[name]]
    assert scan_tally([path], jobs=1).formats == [DETECTED[name]]


def test_werkzeug_files_stay_werkzeug() -> None:
    assert len(WERKZEUG_LOGS) >= 13
    for path in WERKZEUG_LOGS:
        assert parse_log(path).formats == ["werkzeug"], path.name
        assert scan_tally([path], jobs=1).formats == ["werkzeug"], path.name


def test_several_files_are_detected_one_by_one() -> None:
    before = ROOT / "data" / "logs" / "before.log"
    paths = [SERVERS / "nginx-access.log", before, SERVERS / "gunicorn-error.log"]
    parsed = parse_logs(paths)
    assert parsed.formats == ["nginx", "werkzeug", "gunicorn-error"]
    assert scan_tally(paths, jobs=1).formats == parsed.formats
    summary = summarize(parsed)
    assert summary == scan_summary(paths, jobs=1)
    # 249 nginx lines and before.log's 250 Werkzeug request lines; the error log has none
    assert summary["request_lines"] == 249 + 250
    assert summary["status_counts"] == {"101": 25, "200": 175 + 182, "302": 48 + 48, "400": 1, "500": 20}
    assert summary["write_before_start_response"] == 20 and summary["unparsed_lines"] == 0


@pytest.mark.parametrize("path", ["parsed", "streamed"])
@pytest.mark.parametrize("name", sorted(HAND_COUNTED))
def test_sample_counts(name: str, path: str) -> None:
    lines, statuses = HAND_COUNTED[name]
    source = SERVERS / name
    summary = summarize(parse_log(source)) if path == "parsed" else scan_summary([source], jobs=1)
    assert summary["lines"] == lines
    assert summary["status_counts"] == statuses
    assert summary["request_lines"] == sum(statuses.values())
    assert summary["server_errors"] == 0
    assert summary["unparsed_lines"] == 0 and summary["unparsed_samples"] == []
    assert summary["exceptions"] == {} and summary["incomplete_tracebacks"] == 0
    assert summary["bad_request_syntax_lines"] == 0 and summary["warnings"] == []


@pytest.mark.parametrize("name", ["gunicorn-access.log", "nginx-access.log"])
def test_access_samples_with_a_regex_of_our_own(name: str) -> None:
    rows = _own_access_rows(name)
    lines, statuses = HAND_COUNTED[name]
    assert len(rows) == lines
    assert Counter(r["status"] for r in rows) == statuses


def test_error_sample_with_a_regex_of_our_own() -> None:
    raw = (SERVERS / "gunicorn-error.log").read_bytes()
    assert [bool(OWN_ERROR_RECORD.match(line)) for line in raw.splitlines()] == [True] * 7
    assert b"Traceback" not in raw and b'HTTP/1.1" ' not in raw


@pytest.mark.parametrize("name", ["gunicorn-access.log", "nginx-access.log"])
def test_access_samples_against_what_the_clients_sent(name: str) -> None:
    requests = parse_log(SERVERS / name).requests
    own = pd.DataFrame(_own_access_rows(name))
    lab = requests["path"].isin(LAB_PATHS)
    # every HTTP request the clients sent has one line, with the status they saw
    plain = requests[~requests["is_socketio"] & ~lab]
    assert Counter(plain["status"]) == SENT_HTTP
    own_plain = own[~own["path"].str.startswith("/socket.io/") & ~own["path"].isin(LAB_PATHS)]
    assert Counter(own_plain["status"]) == SENT_HTTP
    assert dict(Counter(requests[lab]["path"])) == LAB_LINES[name]
    engineio = requests[requests["is_socketio"]]
    assert dict(Counter(zip(engineio["transport"], engineio["status"]))) == ENGINEIO_LINES[name]
    own_engineio = own[own["path"].str.startswith("/socket.io/")]
    assert dict(Counter(zip(own_engineio["transport"], own_engineio["status"]))) == ENGINEIO_LINES[name]
    # each Socket.IO line names its client (wslab_conn=<user>)
    users = engineio["query"].map(lambda q: parse_qs(q).get("wslab_conn", [None])[0])
    assert users.notna().all()
    websocket = Counter(users[engineio["transport"] == "websocket"])
    polling = set(users[engineio["transport"] == "polling"])
    expected_polling = {f"{kind}-{i:03d}" for kind in ("upgrade", "polling") for i in range(SENT_USERS[kind])}
    assert polling == expected_polling
    if name == "nginx-access.log":
        # one 101 line per WebSocket: each direct user's and each upgraded user's
        kinds = ("websocket", "upgrade")
        expected = {f"{kind}-{i:03d}": 1 for kind in kinds for i in range(SENT_USERS[kind])}
        assert dict(websocket) == expected
    else:
        assert websocket == Counter()


def test_access_rows_have_werkzeugs_columns_and_utc_times() -> None:
    werkzeug = parse_log(ROOT / "data" / "logs" / "before.log").requests
    nginx = parse_log(SERVERS / "nginx-access.log").requests
    assert list(nginx.columns) == list(werkzeug.columns)
    assert nginx["ts"].dtype == werkzeug["ts"].dtype and nginx["ts"].notna().all()
    first = nginx.iloc[0]
    assert (first["line"], first["client"], first["method"]) == (1, "127.0.0.1", "GET")
    assert (first["path"], first["query"], first["route"]) == ("/healthz", "", "/healthz")
    assert (first["status"], first["size"], first["transport"]) == ("200", "35", "http")
    assert first["ts"] == pd.Timestamp("2026-12-02T02:48:37")  # [02/Dec/2026:02:48:37 +0000]
    ws = nginx[nginx["transport"] == "websocket"].iloc[0]
    assert ws["eio"] == "4" and ws["is_socketio"] and ws["status"] == "101" and pd.isna(ws["sid"])


def test_both_paths_agree_on_chunks_and_parallel_ranges(tmp_path: Path, monkeypatch) -> None:
    for name in sorted(HAND_COUNTED):
        data = (SERVERS / name).read_bytes()
        whole = scan_summary([io.BytesIO(data)], jobs=1)
        assert scan_summary([io.BytesIO(data)], jobs=1, chunk_size=701) == whole
        big = tmp_path / name
        big.write_bytes(data * 30)
        monkeypatch.setattr(stream_module, "PARALLEL_MIN_BYTES", 1)
        parallel = scan_tally([big], jobs=3)
        assert parallel.formats == [DETECTED[name]]
        assert parallel.as_dict() == summarize(parse_log(big))
        assert parallel.as_dict()["lines"] == HAND_COUNTED[name][0] * 30
        assert parallel.as_dict()["status_counts"] == {s: n * 30 for s, n in HAND_COUNTED[name][1].items()}


# -- detection and --format -----------------------------------------------------------


def test_detection_rule() -> None:
    gunicorn = ACCESS_LINE + b"\n"
    assert detect_format(gunicorn * 3).name == "gunicorn-access"
    # what only nginx writes: a client-closed 499, a proxied WebSocket's 101, a request it could not read
    assert detect_format(gunicorn + ACCESS_LINE.replace(b" 500 ", b" 499 ")).name == "nginx"
    assert detect_format(gunicorn + ACCESS_LINE.replace(b" 500 ", b" 101 ")).name == "nginx"
    tls = ACCESS_LINE.replace(b'"GET /login HTTP/1.1"', b'"\\x16\\x03\\x01"')
    assert detect_format(gunicorn + tls).name == "nginx"
    # the most lines win; Werkzeug wins a tie and a file where nothing matches
    assert detect_format(gunicorn * 2 + WERKZEUG_LINE).name == "gunicorn-access"
    assert detect_format(gunicorn + WERKZEUG_LINE).name == "werkzeug"
    assert detect_format(b"nothing known\n" * 3).name == "werkzeug"
    assert detect_format(b"").name == "werkzeug"
    assert detect_format(ERROR_RECORD + b"\n" + ERROR_RECORD + b"\n" + gunicorn).name == "gunicorn-error"
    # only the first 200 lines count
    assert detect_format(b"x\n" * 200 + gunicorn * 5).name == "werkzeug"
    assert detect_format(b"x\n" * 199 + gunicorn * 5).name == "gunicorn-access"


def test_format_overrides_detection(capsys) -> None:
    sample = str(SERVERS / "gunicorn-access.log")
    code, out, _ = _run(capsys, sample, "--format", "nginx", "--json")
    data = json.loads(out)
    assert code == 0 and data["formats"] == ["nginx"] and data["status_counts"] == {"200": 178, "302": 48}
    assert parse_log(sample, format="nginx").formats == ["nginx"]
    assert scan_tally([sample], jobs=1, format="nginx").formats == ["nginx"]
    # read as Werkzeug's, not one line is a request
    code, out, err = _run(capsys, sample, "--format", "werkzeug")
    assert code == 1 and out == ""
    assert err.startswith(f"wslab: error: {sample}: no Werkzeug request lines among 226 lines (226 unparsed")
    assert err.count("\n") == 1
    # a Werkzeug log read as a gunicorn access log
    before = str(ROOT / "data" / "logs" / "before.log")
    code, _, err = _run(capsys, before, "--format", "gunicorn-access")
    assert code == 1 and "no gunicorn access request lines among 452 lines" in err
    # an access log read as an error log: every line unparsed, none a request
    summary = scan_summary([sample], jobs=1, format="gunicorn-error")
    assert summary["request_lines"] == 0 and summary["unparsed_lines"] == 226
    assert summary == summarize(parse_log(sample, format="gunicorn-error"))


def test_cli_shows_the_formats_and_accepts_an_error_log(capsys) -> None:
    access, errors = str(SERVERS / "gunicorn-access.log"), str(SERVERS / "gunicorn-error.log")
    code, out, _ = _run(capsys, access, errors)
    assert code == 0 and "formats                        gunicorn-access, gunicorn-error" in out
    assert "request lines                  226" in out
    # an error log holds no request lines, which is no error
    code, out, _ = _run(capsys, errors, "--json")
    data = json.loads(out)
    assert code == 0 and data["formats"] == ["gunicorn-error"]
    assert (data["lines"], data["request_lines"], data["error_rate"]) == (7, 0, None)
    code, out, _ = _run(capsys, access, "--by", "transport", "--json")
    data = json.loads(out)
    assert code == 0 and data["formats"] == ["gunicorn-access"]
    assert {row["transport"]: row["requests"] for row in data["table"]} == {"http": 202, "polling": 24}


@pytest.mark.parametrize("value", ["apache", "", "Werkzeug", "auto "])
def test_bad_format_value_is_one_error_line(capsys, value: str) -> None:
    code, out, err = _run(capsys, str(SERVERS / "nginx-access.log"), "--format", value)
    assert code == 2 and out == ""
    assert err == (
        f"wslab: error: --format must be one of auto, werkzeug, gunicorn-access, gunicorn-error, nginx "
        f"(got {value!r})\n"
    )


def test_bad_format_value_in_the_library() -> None:
    for call in (lambda: parse_log([ACCESS_LINE], format="apache"),
                 lambda: scan_summary([[ACCESS_LINE]], format="apache")):
        with pytest.raises(WslabError, match="unknown log format 'apache'"):
            call()
    assert set(FORMATS) == {"werkzeug", "gunicorn-access", "gunicorn-error", "nginx"}


def test_every_format_module_is_in_the_registry() -> None:
    # A format is one module under wslab/logs/formats/ that lists its formats in FORMATS;
    # the registry holds exactly those, in --format order.
    import importlib
    import pkgutil

    import wslab.logs.formats as package

    provided = [
        fmt.name
        for info in pkgutil.iter_modules(package.__path__)
        for fmt in getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "FORMATS", ())
    ]
    assert sorted(provided) == sorted(FORMATS) and len(provided) == len(FORMATS)
    assert list(FORMATS) == ["werkzeug", "gunicorn-access", "gunicorn-error", "nginx"]


# -- foreign lines --------------------------------------------------------------------


def test_foreign_lines_in_an_access_log_are_unparsed() -> None:
    lines = (SERVERS / "gunicorn-access.log").read_bytes().splitlines()
    foreign = [WERKZEUG_LINE, ERROR_RECORD, BAD_SYNTAX_LINE, b"garbage"]
    mixed = b"\n".join(lines[:100] + foreign + lines[100:]) + b"\n"
    summary, _ = _summaries(mixed)
    assert parse_log(io.BytesIO(mixed)).formats == ["gunicorn-access"]
    assert summary["request_lines"] == 226 and summary["status_counts"] == {"200": 178, "302": 48}
    assert summary["unparsed_lines"] == 4 and summary["bad_request_syntax_lines"] == 0
    assert summary["unparsed_samples"] == [line.decode() for line in foreign]
    assert summary["lines"] == 230


def test_foreign_lines_in_an_error_log_are_unparsed() -> None:
    lines = (SERVERS / "gunicorn-error.log").read_bytes().splitlines()
    foreign = [ACCESS_LINE, WERKZEUG_LINE, BAD_SYNTAX_LINE]
    mixed = b"\n".join(lines[:4] + foreign + lines[4:]) + b"\n"
    summary, _ = _summaries(mixed)
    assert parse_log(io.BytesIO(mixed)).formats == ["gunicorn-error"]
    assert summary["request_lines"] == 0 and summary["status_counts"] == {}
    assert summary["unparsed_lines"] == 3 and summary["bad_request_syntax_lines"] == 0
    assert summary["unparsed_samples"] == [line.decode() for line in foreign]


def test_access_lines_in_a_werkzeug_log_are_unparsed() -> None:
    lines = (ROOT / "data" / "logs" / "before.log").read_bytes().splitlines()
    mixed = b"\n".join(lines[:50] + [ACCESS_LINE, ACCESS_LINE] + lines[50:]) + b"\n"
    summary, _ = _summaries(mixed)
    assert parse_log(io.BytesIO(mixed)).formats == ["werkzeug"]
    assert summary["request_lines"] == 250 and summary["status_counts"] == {"200": 182, "302": 48, "500": 20}
    assert summary["unparsed_lines"] == 2 and summary["unparsed_samples"] == [ACCESS_LINE.decode()] * 2


# -- gunicorn's tracebacks and time zones -----------------------------------------------


def test_gunicorn_traceback_is_found_and_matched_to_nothing() -> None:
    parsed = parse_log(io.BytesIO(GUNICORN_ERROR_WITH_TRACEBACK))
    assert parsed.formats == ["gunicorn-error"]
    summary, _ = _summaries(GUNICORN_ERROR_WITH_TRACEBACK)
    assert summary["exceptions"] == {"KeyError: 'missing'": 1}
    assert summary["unparsed_lines"] == 0 and summary["request_lines"] == 0 and summary["lines"] == 19
    error = parsed.errors.iloc[0]
    assert len(parsed.errors) == 1 and error["line"] == 5
    assert error["reporter"] == "gunicorn" and error["exception"] == "KeyError" and bool(error["complete"])
    assert error["header"].endswith("[ERROR] Error handling request GET /boom?x=1")
    assert [f["function"] for f in error["frames"]] == ["handle", "handle_request", "app"]
    assert error["ts"] == pd.Timestamp("2026-12-02T02:43:14") and pd.isna(error["request"])


def test_gunicorn_traceback_beside_its_access_log_is_matched_to_nothing() -> None:
    both = parse_logs([io.BytesIO(GUNICORN_ACCESS_WITH_500), io.BytesIO(GUNICORN_ERROR_WITH_TRACEBACK)])
    assert both.formats == ["gunicorn-access", "gunicorn-error"]
    assert list(both.requests["status"]) == ["200", "500"]
    assert len(both.errors) == 1 and pd.isna(both.errors.iloc[0]["request"])
    # one stream holding both logs, detected by its 8 gunicorn records against 2 access lines
    stream = GUNICORN_ACCESS_WITH_500 + GUNICORN_ERROR_WITH_TRACEBACK
    assert parse_log(io.BytesIO(stream)).formats == ["gunicorn-error"]
    # read as an access log, the 500 line comes before the traceback, which still pairs with nothing
    mixed = parse_log(io.BytesIO(stream), format="gunicorn-access")
    assert list(mixed.requests["status"]) == ["200", "500"]
    assert len(mixed.errors) == 1 and pd.isna(mixed.errors.iloc[0]["request"])
    summary, _ = _summaries(stream, format="gunicorn-access")
    # gunicorn's 8 own records are lines of another format there; the traceback's are known
    assert summary["request_lines"] == 2 and summary["unparsed_lines"] == 8
    assert summary["exceptions"] == {"KeyError: 'missing'": 1}


def test_utc_offsets_are_applied() -> None:
    access = [
        ACCESS_LINE.replace(b"02:36:43 +0000", b"02:36:43 +0100"),
        ACCESS_LINE.replace(b"02/Dec/2026:02:36:43 +0000", b"01/Dec/2026:23:36:43 -0230"),
        ACCESS_LINE,
    ]
    requests = parse_log(access).requests
    assert list(requests["ts"]) == [pd.Timestamp("2026-12-02T01:36:43"), pd.Timestamp("2026-12-02T02:06:43"),
                                    pd.Timestamp("2026-12-02T02:36:43")]
    error_log = GUNICORN_ERROR_WITH_TRACEBACK.replace(b"02:43:14 +0000", b"02:43:14 +0100")
    assert parse_log(io.BytesIO(error_log)).errors.iloc[0]["ts"] == pd.Timestamp("2026-12-02T01:43:14")
    # Werkzeug's times have no offset and stay as written
    werkzeug = parse_log([WERKZEUG_LINE]).requests
    assert werkzeug.iloc[0]["ts"] == pd.Timestamp("2025-09-01T13:04:34")


def test_prefixed_and_crlf_access_lines() -> None:
    lines = [b"2026-12-02T02:36:43.5Z stdout F " + ACCESS_LINE + b"\r", b"nginx: " + ACCESS_LINE + b"   "]
    summary, _ = _summaries(b"\n".join(lines), format="nginx")
    assert summary["request_lines"] == 2 and summary["unparsed_lines"] == 0
    requests = parse_log(lines, format="nginx").requests
    assert list(requests["client"]) == ["127.0.0.1", "127.0.0.1"]
    # a prefix's own timestamp comes first, as for Werkzeug's lines; else the access date
    stamps = [pd.Timestamp("2026-12-02T02:36:43.5"), pd.Timestamp("2026-12-02T02:36:43")]
    assert list(requests["ts"]) == stamps
