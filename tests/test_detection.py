"""Unit tests for the request detectors: the write-up's heuristic and the precise one."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from flask import Flask
from flask_socketio import SocketIO

from wslab.app.demo import create_app, served_socketio_path
from wslab.app.detection import (
    DEFAULT_SOCKETIO_PATH,
    PRECISE_SIGNALS,
    RESPONSE_NONE_SIGNAL,
    WRITEUP_SIGNALS,
    Decision,
    RequestHead,
    header_tokens,
    is_engineio_query,
    precise_decision,
    socketio_prefix,
    writeup_decision,
    writeup_save_decision,
    writeup_signals,
)

#: The query every Engine.IO client sends (python-socketio, socket.io-client).
EIO_POLLING = "EIO=4&transport=polling"


def environ(path: str = "/", query: str = "", headers: dict[str, str] | None = None) -> dict:
    """A WSGI environ for a GET request."""
    env = EnvironBuilder(path=path, query_string=query, headers=headers or {}).get_environ()
    return env


# --- Decision and RequestHead -------------------------------------------------------------


def test_decision_signal_is_first_match_or_none() -> None:
    assert Decision(True, ("socketio-path", "eio-param")).signal == "socketio-path"
    assert Decision(False).signal is None


def test_signal_names_are_in_writeup_order() -> None:
    assert tuple(writeup_signals(RequestHead())) == WRITEUP_SIGNALS
    assert RESPONSE_NONE_SIGNAL not in WRITEUP_SIGNALS
    assert PRECISE_SIGNALS == ("engineio-request", "websocket-upgrade")


def test_head_from_environ_request_head_and_mapping_agree() -> None:
    env = environ("/socket.io/", "EIO=4&transport=websocket", {"Upgrade": "websocket"})
    from_env = RequestHead.from_source(env)
    from_request = RequestHead.from_source(Request(env))
    from_mapping = RequestHead.from_source(
        {"method": "GET", "path": "/socket.io/", "query": "EIO=4&transport=websocket",
         "headers": {"Upgrade": "websocket"}})
    for head in (from_env, from_request, from_mapping):
        assert (head.method, head.path, head.query) == ("GET", "/socket.io/", "EIO=4&transport=websocket")
        assert head.header("upgrade") == "websocket"
    assert RequestHead.from_source(from_env) is from_env


def test_head_rejects_unknown_sources() -> None:
    with pytest.raises(TypeError, match="int"):
        RequestHead.from_source(42)


def test_head_header_is_case_insensitive_and_defaults_to_empty() -> None:
    head = RequestHead(headers={"CONNECTION": "Upgrade"})
    assert head.header("connection") == "Upgrade"
    assert head.header("Upgrade") == ""


def test_head_args_keep_first_value_and_blank_values() -> None:
    head = RequestHead(query="transport=polling&transport=websocket&EIO")
    assert head.args() == {"transport": "polling", "EIO": ""}


def test_empty_path_info_reads_as_root() -> None:
    env = environ()
    env["PATH_INFO"] = ""
    assert RequestHead.from_source(env).path == "/"


# --- the write-up's open_session detection ---------------------------------------------------


@pytest.mark.parametrize(("kwargs", "signal"), [
    ({"headers": {"Upgrade": "websocket"}}, "upgrade-header"),
    ({"headers": {"Upgrade": "WebSocket"}}, "upgrade-header"),
    ({"headers": {"Connection": "Upgrade"}}, "connection-upgrade"),
    ({"headers": {"Connection": "keep-alive, WebSocket"}}, "connection-websocket"),
    ({"path": "/socket.io/"}, "socketio-path"),
    ({"path": "/socket.io/anything/below"}, "socketio-path"),
    ({"query": "transport=websocket"}, "transport-param"),
    ({"query": "transport=polling"}, "transport-param"),
    ({"query": "EIO=4"}, "eio-param"),
    ({"query": "EIO="}, "eio-param"),
    ({"query": "EIO"}, "eio-param"),
])
def test_each_writeup_signal_fires_alone(kwargs: dict, signal: str) -> None:
    decision = writeup_decision(environ(**kwargs))
    assert decision == Decision(True, (signal,))


@pytest.mark.parametrize("kwargs", [
    {},
    {"path": "/socket.io"},
    {"path": "/api/socket.io/"},
    {"path": "/Socket.IO/"},
    {"query": "transport=xhr"},
    {"query": "transport=WEBSOCKET"},
    {"query": "eio=4"},
    {"headers": {"Upgrade": "h2c"}},
    {"headers": {"Upgrade": "websocket, h2c"}},
    {"headers": {"Connection": "keep-alive"}},
])
def test_writeup_detection_misses(kwargs: dict) -> None:
    assert writeup_decision(environ(**kwargs)) == Decision(False, ())


def test_connection_upgrade_is_compared_as_a_whole_string() -> None:
    """``Connection: keep-alive, Upgrade`` (what Firefox sends) does not match the equality test."""
    signals = writeup_signals(environ(headers={"Connection": "keep-alive, Upgrade"}))
    assert signals["connection-upgrade"] is False
    assert not any(signals.values())


def test_the_incident_request_fires_every_signal_but_connection_websocket() -> None:
    decision = writeup_decision(environ(
        "/socket.io/", "EIO=4&transport=websocket",
        {"Upgrade": "websocket", "Connection": "Upgrade"}))
    assert decision.matched == tuple(s for s in WRITEUP_SIGNALS if s != "connection-websocket")
    assert decision.signal == "upgrade-header"


def test_writeup_decision_accepts_a_request_object() -> None:
    request = Request(environ("/socket.io/", "EIO=4&transport=polling"))
    assert writeup_decision(request).matched == ("socketio-path", "transport-param", "eio-param")


def test_environ_and_request_read_a_double_slash_path_differently() -> None:
    """Werkzeug's ``request.path`` collapses leading slashes, the raw environ does not.

    So the same request is classified differently depending on the source:
    the write-up's code sees ``request.path`` (``/socket.io/``), a detector fed
    the environ sees ``//socket.io/``.
    """
    env = environ()
    env["PATH_INFO"] = "//socket.io/"
    assert Request(env).path == "/socket.io/"
    assert writeup_decision(Request(env)).is_websocket is True
    assert writeup_decision(env).is_websocket is False


# --- the write-up's save_session detection ---------------------------------------------------


def test_save_decision_adds_response_none() -> None:
    plain = environ("/page")
    assert writeup_save_decision(plain, object()) == Decision(False, ())
    assert writeup_save_decision(plain, None) == Decision(True, (RESPONSE_NONE_SIGNAL,))


def test_save_decision_keeps_open_signals_first() -> None:
    decision = writeup_save_decision(environ("/socket.io/"), None)
    assert decision.matched == ("socketio-path", RESPONSE_NONE_SIGNAL)


# --- the precise detector ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "fired"), [
    ("/socket.io", False),  # Engine.IO's middleware only takes /socket.io/...; Flask answers this
    ("/socket.io/", True),
    ("/socket.io/x", True),
    ("/socket.io-docs", False),
    ("/socket.iox/", False),  # the same letters, another segment
    ("/other/socket.io/", False),
    ("/Socket.IO/", False),
])
def test_precise_path_matches_by_segment(path: str, fired: bool) -> None:
    decision = precise_decision(environ(path, EIO_POLLING))
    assert decision.matched == (("engineio-request",) if fired else ())


@pytest.mark.parametrize(("path", "query"), [
    ("/socket.io/socket.io.js", ""),  # the browser client, served under the path
    ("/socket.io/static/app.css", ""),
    ("/socket.io/", ""),
    ("/socket.io/", "EIO=4"),  # no transport
    ("/socket.io/", "transport=polling"),  # no protocol version
    ("/socket.io/", "EIO=&transport=polling"),  # a blank value is no value
    ("/socket.io/", "EIO=4&transport="),
    ("/socket.io/", "EIO=4&transport=xhr"),  # not an Engine.IO transport
    ("/socket.io/", "eio=4&transport=polling"),  # parameter names are case-sensitive
])
def test_precise_needs_the_engineio_query_under_the_path(path: str, query: str) -> None:
    assert precise_decision(environ(path, query)) == Decision(False, ())


@pytest.mark.parametrize("query", [EIO_POLLING, "EIO=4&transport=websocket", "transport=polling&EIO=3",
                                   "EIO=4&transport=polling&t=oguszof0&sid=gS2LXIbuGS"])
def test_precise_engineio_query_in_any_order(query: str) -> None:
    assert precise_decision(environ("/socket.io/", query)).matched == ("engineio-request",)


def test_engineio_query_reads_first_values() -> None:
    assert is_engineio_query(RequestHead(query="EIO=4&transport=polling&transport=xhr"))
    assert not is_engineio_query(RequestHead(query="EIO=4&transport=xhr&transport=polling"))


def test_precise_default_path_is_socketio() -> None:
    assert DEFAULT_SOCKETIO_PATH == "/socket.io"
    assert precise_decision(environ("/socket.io/", EIO_POLLING)) == precise_decision(
        environ("/socket.io/", EIO_POLLING), socketio_path="/socket.io")


def test_precise_custom_path() -> None:
    custom = environ("/custom.io/", EIO_POLLING)
    default = environ("/socket.io/", EIO_POLLING)
    assert precise_decision(custom) == Decision(False, ())
    for spelling in ("/custom.io", "custom.io", "/custom.io/"):
        assert precise_decision(custom, socketio_path=spelling).matched == ("engineio-request",)
        assert precise_decision(default, socketio_path=spelling) == Decision(False, ())
    assert precise_decision(environ("/ws/x", EIO_POLLING), socketio_path="/ws/").matched == ("engineio-request",)
    assert precise_decision(environ("/custom.io/socket.io.js"), socketio_path="/custom.io").is_websocket is False


def test_precise_upgrade_fires_on_any_path() -> None:
    headers = {"Upgrade": "websocket", "Connection": "Upgrade"}
    decision = precise_decision(environ("/custom.io/", "EIO=4&transport=websocket", headers))
    assert decision == Decision(True, ("websocket-upgrade",))
    both = precise_decision(environ("/custom.io/", "EIO=4&transport=websocket", headers), "/custom.io")
    assert both.matched == ("engineio-request", "websocket-upgrade")


@pytest.mark.parametrize(("path", "prefix"), [
    ("socket.io", "/socket.io/"), ("/socket.io", "/socket.io/"), ("/socket.io/", "/socket.io/"),
    ("/a/b", "/a/b/"),
])
def test_socketio_prefix_adds_the_slashes_like_engineio(path: str, prefix: str) -> None:
    assert socketio_prefix(path) == prefix


@pytest.mark.parametrize("path", ["", "/", "//", " /socket.io", "/socket.io?EIO=4", "/a b", "/x#y"])
def test_socketio_prefix_rejects_paths_no_server_serves(path: str) -> None:
    with pytest.raises(ValueError, match="not a Socket.IO path"):
        socketio_prefix(path)
    with pytest.raises(ValueError, match="not a Socket.IO path"):
        precise_decision(environ("/socket.io/", EIO_POLLING), socketio_path=path)


# --- the path, read from the app's Socket.IO server ----------------------------------------------


@pytest.mark.parametrize(("configured", "served"), [
    (None, "/socket.io"), ("/custom.io", "/custom.io"), ("custom.io", "/custom.io"), ("/a/b/", "/a/b"),
])
def test_served_socketio_path_reads_the_flask_socketio_option(configured: str | None, served: str) -> None:
    app = Flask("path-test")
    options = {} if configured is None else {"path": configured}
    socketio = SocketIO(app, async_mode="threading", **options)
    assert served_socketio_path(socketio) == served
    engineio_request = environ(served + "/", EIO_POLLING)
    assert precise_decision(engineio_request, served_socketio_path(socketio)).matched == ("engineio-request",)


def test_served_socketio_path_needs_an_attached_server() -> None:
    with pytest.raises(ValueError, match="not attached"):
        served_socketio_path(SocketIO())


def test_demo_app_reports_its_socketio_path_to_clients() -> None:
    demo = create_app("no-session")
    assert demo.socketio_path == "/socket.io"
    config = demo.app.test_client().get("/api/websocket/client-config").get_json()
    assert config["path"] == "/socket.io"


@pytest.mark.parametrize(("upgrade", "connection", "fired"), [
    ("websocket", "Upgrade", True),
    ("WebSocket", "keep-alive, Upgrade", True),
    ("h2c, websocket", "upgrade", True),
    ("h2c", "Upgrade", False),
    ("websocket", "keep-alive", False),
    ("", "Upgrade", False),
    ("websocket", "", False),
])
def test_precise_upgrade_needs_both_tokens(upgrade: str, connection: str, fired: bool) -> None:
    headers = {k: v for k, v in (("Upgrade", upgrade), ("Connection", connection)) if v}
    decision = precise_decision(environ("/chat", headers=headers))
    assert decision.matched == (("websocket-upgrade",) if fired else ())


def test_precise_ignores_the_engineio_query_outside_the_path() -> None:
    assert precise_decision(environ("/page", "EIO=4&transport=websocket")).is_websocket is False
    assert precise_decision(environ("/socket.io", EIO_POLLING)).is_websocket is False


def test_header_tokens() -> None:
    assert header_tokens(" Keep-Alive ,  Upgrade,,") == {"keep-alive", "upgrade"}
    assert header_tokens("") == set()
