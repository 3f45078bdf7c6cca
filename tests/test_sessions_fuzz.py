"""Bad input: the detectors and cookie decoding fed arbitrary bytes, huge headers, odd encodings."""

from __future__ import annotations

import fakeredis
import pytest
from flask import Flask, session
from flask.sessions import SessionInterface
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request

from wslab.app.detection import (
    WRITEUP_SIGNALS,
    RequestHead,
    precise_decision,
    writeup_decision,
    writeup_save_decision,
)
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSessionInterface, new_sid
from wslab.app.sessions.base import is_valid_sid

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
def test_detectors_never_crash_on_any_text(path: str, query: str, headers: dict[str, str],
                                           response: object) -> None:
    head = RequestHead("GET", path, query, headers)
    decision = writeup_decision(head)
    assert decision.is_websocket == bool(decision.matched)
    assert set(decision.matched) <= set(WRITEUP_SIGNALS)
    saved = writeup_save_decision(head, response)
    assert saved.is_websocket == (decision.is_websocket or response is None)
    assert precise_decision(head).is_websocket in (True, False)


@FUZZ
@given(path=wsgi_text, query=wsgi_text, headers=st.dictionaries(header_names, header_text, max_size=4))
def test_environ_and_request_agree_unless_the_path_starts_with_two_slashes(
        path: str, query: str, headers: dict[str, str]) -> None:
    environ = build_environ(path, query, headers)
    from_environ = writeup_decision(environ)
    from_request = writeup_decision(Request(environ))
    if not path.startswith("//"):
        assert from_environ == from_request
    precise_decision(environ)
    precise_decision(Request(environ))


@pytest.mark.parametrize("name", ["Connection", "Cookie", "X-Odd"])
def test_detector_on_a_folded_header(name: str) -> None:
    """A header carrying a line break (a folded header, as wsgiref passes it on) is just text."""
    assert writeup_decision(build_environ("/", "", {name: FOLDED})).is_websocket in (True, False)


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
def test_huge_headers_and_queries(size: int) -> None:
    blob = "websocket," * (size // 10)
    environ = build_environ("/socket.io/" + "a" * size, "EIO=4&" + "x=" * (size // 2),
                            {"Upgrade": blob, "Connection": blob, "Cookie": "session=" + "z" * size})
    assert writeup_decision(environ).matched == ("connection-websocket", "socketio-path", "eio-param")
    assert precise_decision(environ).matched == ("socketio-path",)


# --- cookie decoding ------------------------------------------------------------------------------


def make_app(interface: SessionInterface) -> Flask:
    app = Flask(__name__)
    app.secret_key = "fuzz-secret"
    app.session_interface = interface

    @app.get("/", defaults={"rest": ""})
    @app.get("/<path:rest>")
    def page(rest: str) -> str:
        session.get("user")
        return "page"

    return app


FIXED_APP = make_app(RedisSessionInterface(fakeredis.FakeRedis(), key_prefix="fuzz:fixed:"))
LEGACY_APP = make_app(LegacyRedisSessionInterface(fakeredis.FakeRedis(), key_prefix="fuzz:legacy:"))


@FUZZ
@given(value=st.one_of(st.text(max_size=500), st.binary(max_size=500).map(lambda b: b.decode("latin-1")),
                       st.builds(lambda sid, tail: f"{sid}.{tail}", st.just(new_sid()), st.text(max_size=60))))
@example(value="\ud800")
@example(value="a" * 43 + "." + "b" * 43)
def test_unsign_sid_returns_none_or_a_valid_sid(value: str) -> None:
    result = FIXED_APP.session_interface.unsign_sid(FIXED_APP, value)
    assert result is None or is_valid_sid(result)


@pytest.mark.parametrize("app", [FIXED_APP, LEGACY_APP], ids=["fixed", "legacy"])
@FUZZ
@given(cookie=header_text, path=wsgi_text, query=wsgi_text)
@example(cookie="session=" + "\xff" * 5000, path="/socket.io/", query="EIO=4")
@example(cookie="session=\x00;session=\t", path="/\x00", query="%ff%fe&transport=\x80")
def test_any_cookie_header_gets_a_page_not_an_error(app: Flask, cookie: str, path: str, query: str) -> None:
    environ = build_environ("/" + path.lstrip("/"), query, {"Cookie": cookie})
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith(("200", "404")), status
    assert b"".join(body) in (b"page", b"") or status.startswith("404")


def folded_cookie_status(app: Flask) -> str:
    environ = build_environ("/", "", {"Cookie": "session=abc;\r\n other=1"})
    return run_wsgi_app(app, environ, buffered=True)[1]


def test_legacy_serves_a_request_with_a_folded_header() -> None:
    assert folded_cookie_status(LEGACY_APP).startswith("200")


def test_fixed_serves_a_request_with_a_folded_header() -> None:
    assert folded_cookie_status(FIXED_APP).startswith("200")
