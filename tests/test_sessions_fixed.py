"""The write-up's fixed interface: WebSocket skipping, Flask-SocketIO, stats and edge cases."""

from __future__ import annotations

import logging
import threading

import flask
import pytest
import redis
from flask import Flask, session
from flask.sessions import NullSession
from flask_socketio import SocketIO, emit

from session_apps import SECRET_KEY, keys
from session_apps import make_app as shared_app
from wslab.app.sessions import RedisSession, RedisSessionInterface, SessionStats, UnavailableSession

ENGINEIO_QUERY = "EIO=4&transport=websocket"


def make_app(client: redis.Redis, prefix: str, secret: str | None = SECRET_KEY) -> Flask:
    """The shared small app on the fixed interface."""
    return shared_app(RedisSessionInterface(client, key_prefix=prefix), secret)


def test_engineio_request_gets_an_empty_sidless_session_and_no_cookie(
        any_redis: redis.Redis, key_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(any_redis, key_prefix)
    web = app.test_client()
    web.get("/login/alice")
    stored = keys(any_redis, key_prefix)
    caplog.set_level(logging.INFO, logger="wslab.app.sessions")

    response = web.get("/socket.io/", query_string=ENGINEIO_QUERY)

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert keys(any_redis, key_prefix) == stored
    assert "touched" not in any_redis.get(stored[0]).decode()
    messages = [r.getMessage() for r in caplog.records if r.name == "wslab.app.sessions"]
    assert messages == ["Skipping session creation for WebSocket request: /socket.io/"]
    assert [r.levelno for r in caplog.records if r.name == "wslab.app.sessions"] == [logging.INFO]
    stats = app.session_interface.stats
    assert (stats.skipped_websocket, stats.skipped_websocket_saves) == (1, 1)


@pytest.mark.parametrize(("path", "query", "headers"), [
    ("/page", "", {"Upgrade": "websocket"}),
    ("/page", "", {"Connection": "Upgrade"}),
    ("/page", "transport=polling", {}),
    ("/page", "EIO=3", {}),
])
def test_every_writeup_signal_skips_the_session(fake_redis: redis.Redis, key_prefix: str,
                                                path: str, query: str, headers: dict) -> None:
    app = make_app(fake_redis, key_prefix)

    @app.get("/page")
    def page() -> dict:
        current = session._get_current_object()
        session["x"] = 1
        return {"sid": current.sid, "new": current.new}

    response = app.test_client().get(path, query_string=query, headers=headers)
    assert response.json == {"sid": None, "new": False}
    assert "Set-Cookie" not in response.headers
    assert keys(fake_redis, key_prefix) == []


def test_ordinary_request_gets_a_new_session_with_an_id(fake_redis: redis.Redis, key_prefix: str) -> None:
    info = make_app(fake_redis, key_prefix).test_client().get("/session-info").json
    assert info["type"] == "RedisSession" and info["new"] is True
    assert isinstance(info["sid"], str) and len(info["sid"]) >= 22


def test_save_with_response_none_is_skipped(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    iface = app.session_interface
    data = RedisSession({"a": 1}, sid="x" * 43, new=True)
    data.modified = True
    with app.test_request_context("/page"):
        iface.save_session(app, data, None)
    assert keys(fake_redis, key_prefix) == []
    assert iface.stats.skipped_websocket_saves == 1


def test_save_outside_a_request_context_uses_only_the_response(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    data = RedisSession({"a": 1}, sid="y" * 43, new=True)
    data.modified = True
    response = app.response_class()
    with app.app_context():
        app.session_interface.save_session(app, data, response)
    assert keys(fake_redis, key_prefix) == [(key_prefix + "y" * 43).encode()]
    assert response.headers["Set-Cookie"].startswith("session=")


def test_sidless_session_is_never_stored(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    data = RedisSession({"a": 1}, sid=None)
    response = app.response_class()
    with app.test_request_context("/page"):
        app.session_interface.save_session(app, data, response)
    assert keys(fake_redis, key_prefix) == [] and "Set-Cookie" not in response.headers


def test_without_secret_key_flask_gets_its_null_session(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix, secret=None)
    assert app.test_client().get("/session-info").json["type"] == NullSession.__name__
    assert app.test_client().get("/login/alice").status_code == 500
    with pytest.raises(RuntimeError):
        app.session_interface.sign_sid(app, "z" * 43)


def test_unreadable_stored_data_gives_a_fresh_session(fake_redis: redis.Redis, key_prefix: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(fake_redis, key_prefix)
    web = app.test_client()
    web.get("/login/alice")
    (key,) = keys(fake_redis, key_prefix)
    fake_redis.set(key, b"\x80 not json")
    with caplog.at_level(logging.WARNING, logger="wslab.app.sessions"):
        assert web.get("/whoami").data == b"anonymous"
    assert "unreadable session data" in caplog.text
    fake_redis.set(key, b"[1, 2]")
    assert web.get("/whoami").data == b"anonymous"


def test_stats_count_reads_writes_and_deletes(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    web = app.test_client()
    web.get("/login/alice")
    web.get("/whoami")
    web.get("/logout")
    assert dict(app.session_interface.stats) == {
        "redis_reads": 2, "redis_writes": 1, "redis_deletes": 1, "redis_errors": 0,
        "outages": 0, "skipped_websocket": 0, "skipped_websocket_saves": 0}


def test_stats_are_thread_safe() -> None:
    stats = SessionStats()

    def bump() -> None:
        for _ in range(5000):
            stats.incr("redis_reads")

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.redis_reads == stats["redis_reads"] == 40000
    with pytest.raises(KeyError):
        stats.incr("nonsense")
    with pytest.raises(AttributeError):
        stats.nonsense  # noqa: B018
    stats.reset()
    assert set(stats.snapshot().values()) == {0}


def test_unavailable_session_is_a_sidless_redis_session() -> None:
    current = UnavailableSession()
    current["x"] = 1
    assert isinstance(current, RedisSession) and current.sid is None and current["x"] == 1


# --- inside Flask-SocketIO event handlers -----------------------------------------------------


def socketio_app(client: redis.Redis, prefix: str, manage_session: bool) -> tuple[Flask, SocketIO]:
    """The app plus a Socket.IO server whose handler reads and writes the session."""
    app = make_app(client, prefix)
    socketio = SocketIO(app, async_mode="threading", manage_session=manage_session)

    @socketio.on("remember")
    def remember(value: str) -> None:
        current = session._get_current_object()
        user = session.get("user")
        session["remembered"] = value
        emit("seen", {"user": user, "sid": getattr(current, "sid", "copy")})

    return app, socketio


@pytest.mark.parametrize("manage_session", [False, True])
def test_socketio_handler_with_an_engineio_environ_sees_an_empty_session(
        any_redis: redis.Redis, key_prefix: str, manage_session: bool) -> None:
    """The real Engine.IO environ (``EIO=4&transport=websocket``) is detected: no session, no error."""
    app, socketio = socketio_app(any_redis, key_prefix, manage_session)
    web = app.test_client()
    web.get("/login/alice")
    (key,) = keys(any_redis, key_prefix)
    before = any_redis.get(key)
    sio = socketio.test_client(app, flask_test_client=web, query_string=ENGINEIO_QUERY)
    sio.emit("remember", "blue")
    received = sio.get_received()
    sio.disconnect()
    assert received[-1]["args"] == [{"user": None, "sid": "copy" if manage_session else None}]
    assert any_redis.get(key) == before
    assert web.get("/whoami").data == b"alice"


def test_socketio_handler_without_engineio_signals_shares_the_http_session(
        any_redis: redis.Redis, key_prefix: str) -> None:
    """Flask-SocketIO's test client builds ``/socket.io`` without a query, which the
    write-up's detection misses, so the handler gets the HTTP session and, with
    ``manage_session=False``, its change is saved through a throw-away response."""
    app, socketio = socketio_app(any_redis, key_prefix, manage_session=False)
    web = app.test_client()
    web.get("/login/alice")
    sio = socketio.test_client(app, flask_test_client=web)
    sio.emit("remember", "green")
    received = sio.get_received()
    sio.disconnect()
    (key,) = keys(any_redis, key_prefix)
    assert received[-1]["args"] == [{"user": "alice", "sid": key.decode()[len(key_prefix):]}]
    assert '"remembered":"green"' in any_redis.get(key).decode()


def test_flask_session_proxy_is_the_interface_session(fake_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(fake_redis, key_prefix)
    with app.test_request_context("/"):
        opened = app.session_interface.open_session(app, flask.request)
        assert isinstance(opened, RedisSession) and opened.new and not opened.modified
