"""Bad input: the detectors and cookie decoding fed arbitrary bytes, huge headers, odd encodings.

Each property states something that could be false: how the detectors' flags
relate to the signals in a request, that session ids and session data survive a
round trip, and what each interface writes for a request with any cookie.
"""

from __future__ import annotations

import base64

import fakeredis
import pytest
from flask import Flask, session
from flask.sessions import SessionInterface
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request

from wslab.app.detection import (
    PRECISE_SIGNALS,
    WRITEUP_SIGNALS,
    Decision,
    RequestHead,
    precise_decision,
    writeup_decision,
    writeup_save_decision,
)
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSessionInterface, new_sid
from wslab.app.sessions.base import SID_BYTES, RedisSession, is_valid_sid

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Arbitrary bytes as a WSGI server hands them over: decoded as latin-1.
wsgi_text = st.binary(max_size=300).map(lambda raw: raw.decode("latin-1"))
header_names = st.sampled_from(["Upgrade", "Connection", "Cookie", "Host", "X-Odd", "Sec-WebSocket-Key"])
any_text = st.text(max_size=300)


#: Header values, line breaks included (a folded header reaches some servers' apps as CR LF).
header_text = wsgi_text
any_header_text = any_text

#: A folded header as ``wsgiref`` passes it on (obsolete line folding keeps its CRLF).
FOLDED = "keep-alive,\r\n Upgrade"


def build_environ(path: str, query: str, headers: dict[str, str]) -> dict:
    """A GET environ whose path, query and headers are set verbatim."""
    environ = EnvironBuilder("/").get_environ()
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


# --- detectors -----------------------------------------------------------------------------


@FUZZ
@given(path=any_text, query=any_text, headers=st.dictionaries(header_names, any_header_text, max_size=4),
       response=st.sampled_from([None, object()]))
@example(path="/socket.io/", query="EIO=4&transport=polling", headers={}, response=None)
def test_detector_decisions_are_consistent_on_any_text(path: str, query: str, headers: dict[str, str],
                                                       response: object) -> None:
    head = RequestHead("GET", path, query, headers)
    decision = writeup_decision(head)
    assert decision.is_websocket == bool(decision.matched)
    assert set(decision.matched) <= set(WRITEUP_SIGNALS)
    saved = writeup_save_decision(head, response)
    assert saved.is_websocket == (decision.is_websocket or response is None)
    precise = precise_decision(head)
    assert precise.is_websocket == bool(precise.matched)
    assert set(precise.matched) <= set(PRECISE_SIGNALS)
    # an Engine.IO request for the precise detector fires the write-up's path and query signals too
    if "engineio-request" in precise.matched:
        assert {"socketio-path", "transport-param", "eio-param"} <= set(decision.matched)


@FUZZ
@given(path=any_text, query=any_text, headers=st.dictionaries(header_names, any_header_text, max_size=4))
def test_precise_never_flags_a_head_without_upgrade_outside_the_socketio_path(
        path: str, query: str, headers: dict[str, str]) -> None:
    """No ``Upgrade`` header and a path outside ``/socket.io/``: never flagged, whatever the query."""
    headers.pop("Upgrade", None)
    path = path if not path.startswith("/socket.io/") else "/page" + path
    for eio_query in (query, query + "&EIO=4&transport=websocket"):
        assert precise_decision(RequestHead("GET", path, eio_query, headers)) == Decision(False, ())


#: The write-up's signals read from the ``Upgrade`` and ``Connection`` headers.
HEADER_SIGNALS = {"upgrade-header", "connection-upgrade", "connection-websocket"}


@FUZZ
@given(path=any_text, query=any_text, headers=st.dictionaries(header_names, any_header_text, max_size=4))
def test_adding_a_signal_never_unflags_a_request(path: str, query: str, headers: dict[str, str]) -> None:
    """Flags are monotonic: adding one signal flags the head and keeps the signals read elsewhere."""
    head = RequestHead("GET", path, query, headers)
    writeup, precise = set(writeup_decision(head).matched), set(precise_decision(head).matched)

    with_eio = RequestHead("GET", path, query + "&EIO=4", headers)
    assert set(writeup_decision(with_eio).matched) == writeup | {"eio-param"}
    if not path.startswith("/socket.io/"):  # the precise detector reads the query only under its path
        assert set(precise_decision(with_eio).matched) == precise

    upgrade = RequestHead("GET", path, query, {**headers, "Upgrade": "websocket", "Connection": "Upgrade"})
    assert set(writeup_decision(upgrade).matched) == (writeup - HEADER_SIGNALS) | {"upgrade-header",
                                                                                  "connection-upgrade"}
    assert set(precise_decision(upgrade).matched) == precise | {"websocket-upgrade"}

    socketio = RequestHead("GET", "/socket.io/" + path.lstrip("/"), query, headers)
    assert set(writeup_decision(socketio).matched) == writeup | {"socketio-path"}
    engineio = RequestHead("GET", "/socket.io/" + path.lstrip("/"), "EIO=4&transport=polling&" + query, headers)
    assert set(precise_decision(engineio).matched) == precise | {"engineio-request"}


@FUZZ
@given(path=any_text, query=any_text, headers=st.dictionaries(header_names, any_header_text, max_size=4))
def test_header_names_are_case_insensitive(path: str, query: str, headers: dict[str, str]) -> None:
    head = RequestHead("GET", path, query, headers)
    for rename in (str.lower, str.upper):
        renamed = RequestHead("GET", path, query, {rename(k): v for k, v in headers.items()})
        assert writeup_decision(renamed) == writeup_decision(head)
        assert precise_decision(renamed) == precise_decision(head)


@FUZZ
@given(path=wsgi_text, query=wsgi_text, headers=st.dictionaries(header_names, header_text, max_size=4))
def test_environ_and_request_agree_unless_the_path_starts_with_two_slashes(
        path: str, query: str, headers: dict[str, str]) -> None:
    environ = build_environ(path, query, headers)
    if not path.startswith("//"):
        assert writeup_decision(environ) == writeup_decision(Request(environ))
        assert precise_decision(environ) == precise_decision(Request(environ))


@pytest.mark.parametrize("name", ["Connection", "Cookie", "X-Odd"])
def test_detector_on_a_folded_header(name: str) -> None:
    """A header carrying a line break (a folded header, as wsgiref passes it on) is just text."""
    environ = build_environ("/", "", {name: FOLDED})
    assert writeup_decision(environ) == Decision(False, ())
    assert precise_decision(environ) == Decision(False, ())


def test_precise_reads_a_folded_connection_header_as_tokens() -> None:
    """Folded ``Connection`` still lists ``upgrade``: with ``Upgrade: websocket`` it is an upgrade."""
    environ = build_environ("/", "", {"Connection": FOLDED, "Upgrade": "websocket"})
    assert precise_decision(environ) == Decision(True, ("websocket-upgrade",))
    assert writeup_decision(environ) == Decision(True, ("upgrade-header",))


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
def test_huge_headers_and_queries(size: int) -> None:
    blob = "websocket," * (size // 10)
    environ = build_environ("/socket.io/" + "a" * size, "EIO=4&" + "x=" * (size // 2),
                            {"Upgrade": blob, "Connection": blob, "Cookie": "session=" + "z" * size})
    assert writeup_decision(environ).matched == ("connection-websocket", "socketio-path", "eio-param")
    assert precise_decision(environ).matched == ()  # under /socket.io/, but no transport= in the query


# --- cookie decoding ------------------------------------------------------------------------------


def make_app(interface: SessionInterface) -> Flask:
    """An app on *interface* whose every page reads the session and never writes it."""
    app = Flask(__name__)
    app.secret_key = "fuzz-secret"
    app.session_interface = interface

    @app.get("/", defaults={"rest": ""})
    @app.get("/<path:rest>")
    def page(rest: str) -> str:
        session.get("user")
        return "page"

    return app


FIXED_REDIS, LEGACY_REDIS = fakeredis.FakeRedis(), fakeredis.FakeRedis()
FIXED_APP = make_app(RedisSessionInterface(FIXED_REDIS, key_prefix="fuzz:fixed:"))
LEGACY_APP = make_app(LegacyRedisSessionInterface(LEGACY_REDIS, key_prefix="fuzz:legacy:"))


@FUZZ
@given(value=st.one_of(st.text(max_size=500), st.binary(max_size=500).map(lambda b: b.decode("latin-1")),
                       st.builds(lambda sid, tail: f"{sid}.{tail}", st.just(new_sid()), st.text(max_size=60))))
@example(value="\ud800")
@example(value="a" * 43 + "." + "b" * 43)
def test_unsign_sid_returns_none_or_a_valid_sid(value: str) -> None:
    result = FIXED_APP.session_interface.unsign_sid(FIXED_APP, value)
    assert result is None or is_valid_sid(result)


#: Session ids shaped as :func:`new_sid` makes them, drawn by Hypothesis so failures replay.
sids = st.binary(min_size=SID_BYTES, max_size=SID_BYTES).map(
    lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"))


@FUZZ
@given(sid=sids, other=sids)
def test_signed_sid_round_trips_and_a_swapped_id_does_not(sid: str, other: str) -> None:
    interface = FIXED_APP.session_interface
    signed = interface.sign_sid(FIXED_APP, sid)
    assert interface.unsign_sid(FIXED_APP, signed) == sid
    signature = signed.rpartition(".")[2]
    assert interface.unsign_sid(FIXED_APP, f"{other}.{signature}") == (sid if other == sid else None)
    stranger = make_app(RedisSessionInterface(fakeredis.FakeRedis()))
    stranger.secret_key = "another-secret"
    assert stranger.session_interface.unsign_sid(stranger, signed) is None


#: What Flask's tagged JSON serializer stores: JSON values plus tuples, bytes and odd dict keys.
session_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@pytest.mark.parametrize("app", [FIXED_APP, LEGACY_APP], ids=["fixed", "legacy"])
@FUZZ
@given(data=st.dictionaries(st.text(max_size=20), session_values, min_size=1, max_size=5))
def test_stored_session_round_trips(app: Flask, data: dict) -> None:
    """What a session holds is what the next request loads, tagged types included."""
    interface = app.session_interface
    stored = RedisSession(data, sid=new_sid(), new=True)
    interface.store(app, stored)
    assert interface.load(stored.sid) == data
    assert 0 < interface.redis.ttl(interface.redis_key(stored.sid)) <= interface.redis_ttl(app)


@pytest.mark.parametrize("app", [FIXED_APP, LEGACY_APP], ids=["fixed", "legacy"])
@FUZZ
@given(cookie=header_text, path=wsgi_text, query=wsgi_text)
@example(cookie="session=" + "\xff" * 5000, path="/socket.io/", query="EIO=4")
@example(cookie="session=\x00;session=\t", path="/\x00", query="%ff%fe&transport=\x80")
def test_any_cookie_header_gets_a_page_not_an_error(app: Flask, cookie: str, path: str, query: str) -> None:
    """Any cookie gets a page.  The fixed interface stores nothing for a session the page only
    read; the legacy one stores a fresh session and hands out its id, every time."""
    interface = app.session_interface
    keys_before = set(interface.redis.keys(interface.key_prefix + "*"))
    environ = build_environ("/" + path.lstrip("/"), query, {"Cookie": cookie})
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith(("200", "404")), status
    assert b"".join(body) in (b"page", b"") or status.startswith("404")
    written = set(interface.redis.keys(interface.key_prefix + "*")) - keys_before
    cookies = [h for h in Headers(headers).getlist("Set-Cookie") if h.startswith("session=")]
    if app is FIXED_APP:
        assert written == set() and cookies == []
    else:
        (set_cookie,) = cookies
        sid = set_cookie.split(";", 1)[0].partition("=")[2]
        assert is_valid_sid(sid) and written == {interface.redis_key(sid).encode()}


def folded_cookie_status(app: Flask) -> str:
    environ = build_environ("/", "", {"Cookie": "session=abc;\r\n other=1"})
    return run_wsgi_app(app, environ, buffered=True)[1]


def test_legacy_serves_a_request_with_a_folded_header() -> None:
    assert folded_cookie_status(LEGACY_APP).startswith("200")


def test_fixed_serves_a_request_with_a_folded_header() -> None:
    assert folded_cookie_status(FIXED_APP).startswith("200")
