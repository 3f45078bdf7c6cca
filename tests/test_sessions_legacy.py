"""The legacy interface, measured: what it writes, what cookies it sets, where it is naive."""

from __future__ import annotations

import pytest
import redis
from flask import Flask, request, session
from flask_socketio import SocketIO, emit

from session_apps import cookie_value, keys
from session_apps import make_app as shared_app
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSession

ENGINEIO_QUERY = "EIO=4&transport=websocket"


def make_app(client: redis.Redis, prefix: str) -> Flask:
    """The shared small app on the legacy interface."""
    return shared_app(LegacyRedisSessionInterface(client, key_prefix=prefix))


def test_anonymous_request_writes_an_empty_session_and_sets_a_cookie(
        any_redis: redis.Redis, key_prefix: str) -> None:
    response = make_app(any_redis, key_prefix).test_client().get("/")
    sid = cookie_value(response)
    assert keys(any_redis, key_prefix) == [(key_prefix + sid).encode()]
    assert any_redis.get(key_prefix + sid) == b"{}"
    assert 0 < any_redis.ttl(key_prefix + sid) <= 31 * 24 * 3600
    assert "Vary" not in response.headers


def test_every_response_sets_the_cookie_and_rewrites_the_key(any_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(any_redis, key_prefix)
    web = app.test_client()
    web.get("/login/alice")
    responses = [web.get("/whoami") for _ in range(3)]
    assert [r.data for r in responses] == [b"alice"] * 3
    assert all("Set-Cookie" in r.headers for r in responses)
    assert app.session_interface.stats.redis_writes == 4
    assert len(keys(any_redis, key_prefix)) == 1


def test_the_cookie_carries_the_bare_session_id(any_redis: redis.Redis, key_prefix: str) -> None:
    """Measured: the id is not signed, so whoever holds an id holds the session."""
    app = make_app(any_redis, key_prefix)
    victim = app.test_client()
    sid = cookie_value(victim.get("/login/alice"))
    attacker = app.test_client()
    attacker.set_cookie("session", sid)
    assert attacker.get("/whoami").data == b"alice"


def test_engineio_requests_get_a_session_a_cookie_and_a_key(any_redis: redis.Redis, key_prefix: str) -> None:
    """Measured: no WebSocket awareness, Engine.IO requests are treated as pages.

    With the upgrade headers Flask's own router answers 400 (a WebSocket request
    for an HTTP route), and the legacy interface still stores a session and sets
    the cookie on that error response.
    """
    app = make_app(any_redis, key_prefix)
    polling = app.test_client().get("/socket.io/", query_string=ENGINEIO_QUERY)
    upgrade = app.test_client().get("/socket.io/", query_string=ENGINEIO_QUERY,
                                    headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert (polling.status_code, upgrade.status_code) == (200, 400)
    assert "Set-Cookie" in polling.headers and "Set-Cookie" in upgrade.headers
    assert len(keys(any_redis, key_prefix)) == 2
    assert app.session_interface.stats.skipped_websocket == 0


def test_bad_cookies_start_a_new_session(any_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(any_redis, key_prefix)
    for bad in ["", "nonsense", "x" * 43, "a" * 4000, "ünïcödé", "../../etc", "*"]:
        web = app.test_client()
        web.set_cookie("session", bad)
        response = web.get("/whoami")
        assert response.status_code == 200 and response.data == b"anonymous"
        assert cookie_value(response) != bad


def test_logout_deletes_key_and_cookie(any_redis: redis.Redis, key_prefix: str) -> None:
    web = make_app(any_redis, key_prefix).test_client()
    web.get("/login/alice")
    response = web.get("/logout")
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert keys(any_redis, key_prefix) == []


def test_regenerate_moves_the_session(any_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(any_redis, key_prefix)

    @app.get("/elevate")
    def elevate() -> str:
        session._get_current_object().regenerate()
        return "ok"

    web = app.test_client()
    old = cookie_value(web.get("/login/alice"))
    new = cookie_value(web.get("/elevate"))
    assert new != old
    assert keys(any_redis, key_prefix) == [(key_prefix + new).encode()]
    assert web.get("/whoami").data == b"alice"


def test_legacy_opens_regular_sessions_for_every_request(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    with app.test_request_context("/socket.io/", query_string=ENGINEIO_QUERY):
        opened = app.session_interface.open_session(app, request)
    assert isinstance(opened, RedisSession) and opened.sid is not None and opened.new


@pytest.mark.parametrize("manage_session", [False, True])
def test_socketio_handlers_see_the_http_session(any_redis: redis.Redis, key_prefix: str,
                                                manage_session: bool) -> None:
    """Measured: inside a Socket.IO handler the legacy interface loads the HTTP session
    from the connection's cookie.  With ``manage_session=False`` the handler's change
    is saved through the throw-away response Flask-SocketIO passes; with
    ``manage_session=True`` it stays in Flask-SocketIO's private copy.  No errors."""
    app = make_app(any_redis, key_prefix)
    socketio = SocketIO(app, async_mode="threading", manage_session=manage_session)

    @socketio.on("remember")
    def remember(value: str) -> None:
        session["remembered"] = value
        emit("seen", session.get("user"))

    web = app.test_client()
    web.get("/login/alice")
    sio = socketio.test_client(app, flask_test_client=web, query_string=ENGINEIO_QUERY)
    sio.emit("remember", "blue")
    received = sio.get_received()
    sio.disconnect()
    assert received[-1]["args"] == ["alice"]
    (key,) = keys(any_redis, key_prefix)
    assert ('"remembered":"blue"' in any_redis.get(key).decode()) is not manage_session
