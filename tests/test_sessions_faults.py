"""Redis stopped mid-run and restarted on the same port: what each interface does.

Each test runs its own ``redis-server`` child with an append-only file
(``--appendonly yes --appendfsync always``) in a temporary directory, serves a
Flask app through a real Werkzeug server thread and drives it with ``requests``.
Redis is stopped twice: once with SIGTERM (an orderly stop, as a service
manager does) and once with SIGKILL (a crash).  Because every acknowledged
write is fsynced to the append-only file, the restarted server holds exactly
what was written while it was up; so any session lost afterwards would be lost
by the interface (for example by replacing the visitor's cookie during the
outage), not by Redis.

The Redis client is built without retries (``Retry(NoBackoff(), 0)``) so a
request during an outage fails fast instead of sleeping through redis-py's
default back-off.
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask
import pytest
import redis
import requests
from flask import Flask
from werkzeug.serving import make_server

from restartable_redis import RestartableRedis
from session_apps import make_app, set_cookie_of
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSessionInterface

pytestmark = [
    pytest.mark.realredis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]

PREFIX = "faults:session:"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    handle = RestartableRedis(tmp_path)
    handle.start()
    yield handle
    handle.close()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve *app* from a threaded Werkzeug server on a loopback port; yield its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def visit(browser: requests.Session | None, url: str) -> tuple[int, str, bool]:
    """GET *url* as *browser* (None: a new visitor without cookies); return status,
    body and whether the response set a cookie."""
    response = (browser or requests).get(url, timeout=10)
    return response.status_code, response.text, "Set-Cookie" in response.headers


def session_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "wslab.app.sessions" and r.levelno == logging.WARNING]


def test_fixed_interface_serves_through_outages_and_recovers(
        no_leaks: None, server: RestartableRedis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wslab.app.sessions")
    client = server.client()
    interface = RedisSessionInterface(client, key_prefix=PREFIX)
    with requests.Session() as alice, requests.Session() as carol, serve(make_app(interface)) as base:
        assert visit(alice, base + "/login/alice")[0] == 200
        assert [visit(alice, base + "/count")[1] for _ in range(3)] == ["1", "2", "3"]
        alice_cookie = alice.cookies.get("session")

        for outage, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=1):
            server.stop(sig)
            during = [visit(alice, base + path) for path in ("/whoami", "/count", "/", "/whoami")]
            during.append(visit(carol, base + "/login/carol"))
            during.append(visit(None, base + "/count"))
            assert during == [(200, "anonymous", False), (200, "1", False), (200, "public page", False),
                              (200, "anonymous", False), (200, "ok", False), (200, "1", False)]
            assert alice.cookies.get("session") == alice_cookie
            assert len(session_warnings(caplog)) == outage
            assert interface.stats.outages == outage

            server.start()
            assert visit(alice, base + "/whoami") == (200, "alice", False)
            assert visit(alice, base + "/count")[:2] == (200, str(3 + outage))
            assert visit(carol, base + "/login/carol") == (200, "ok", True)
            assert len(session_warnings(caplog)) == outage

    assert interface.stats.redis_errors >= 4
    assert sum("reachable again" in r.getMessage() for r in caplog.records) == 2
    assert "Redis is unavailable" in session_warnings(caplog)[0]
    assert client.get(PREFIX + alice_cookie.partition(".")[0]) is not None


def test_legacy_interface_answers_500_during_outages_and_recovers(
        no_leaks: None, server: RestartableRedis, caplog: pytest.LogCaptureFixture) -> None:
    """Measured: every request fails with 500 while Redis is down, even the public
    page (the legacy interface writes a session for it).  Flask logs the
    ConnectionError, then a second error while finalizing the 500 response: it
    calls ``save_session`` again, with no session at all when ``open_session``
    was what failed (AttributeError) or with the unsaved new session
    (ConnectionError again).  redis-py reconnects by itself, so once Redis is
    back the legacy interface works again and, thanks to the append-only file,
    Alice's session is still there."""
    caplog.set_level(logging.ERROR)
    client = server.client()
    interface = LegacyRedisSessionInterface(client, key_prefix=PREFIX)
    with requests.Session() as alice, serve(make_app(interface)) as base:
        assert visit(alice, base + "/login/alice")[::2] == (200, True)
        assert visit(alice, base + "/count")[:2] == (200, "1")

        for outage, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=1):
            server.stop(sig)
            during = [visit(alice, base + path)[0] for path in ("/whoami", "/count", "/")]
            during.append(visit(None, base + "/")[0])
            assert during == [500, 500, 500, 500]
            assert interface.stats.outages == outage

            server.start()
            assert visit(alice, base + "/whoami") == (200, "alice", True)
            assert visit(alice, base + "/count")[:2] == (200, str(1 + outage))

    assert interface.stats.redis_errors >= 8
    failures = [r.exc_info[0] for r in caplog.records if r.getMessage().startswith("Exception on /")]
    assert len(failures) == 8 and all(issubclass(exc, redis.ConnectionError) for exc in failures)
    second = [r.exc_info[0] for r in caplog.records if r.getMessage().startswith("Request finalizing failed")]
    assert (second.count(AttributeError), second.count(redis.ConnectionError)) == (6, 2)


def test_fixed_interface_logout_when_redis_fails_before_the_save(
        no_leaks: None, server: RestartableRedis) -> None:
    """Redis dies between ``open_session`` and ``save_session`` of a log-out: no error,
    the cookie is still deleted, and the stored key, still there when Redis is back,
    is deleted by the interface's first successful Redis command after the outage;
    until then the old cookie opens a fresh session, not Alice's."""
    interface = RedisSessionInterface(server.client(), key_prefix=PREFIX)
    app = make_app(interface)
    web = app.test_client()
    web.get("/login/alice")
    cookie = web.get_cookie("session").value
    with app.test_request_context("/logout", headers={"Cookie": f"session={cookie}"}):
        opened = interface.open_session(app, flask.request)
        assert opened["user"] == "alice"
        server.stop()
        opened.clear()
        response = app.response_class()
        interface.save_session(app, opened, response)
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert interface.stats.outages == 1
    server.start()
    key = PREFIX + cookie.partition(".")[0]
    assert server.client().exists(key) == 1
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/whoami").data == b"anonymous"
    assert web.get("/login/bob").status_code == 200
    assert server.client().exists(key) == 0
    assert replay.get("/whoami").data == b"anonymous"


@pytest.mark.parametrize("logout", ["/logout", "/pop/user"])
def test_fixed_interface_logout_during_an_outage_deletes_the_cookie_and_later_the_key(
        no_leaks: None, server: RestartableRedis, logout: str) -> None:
    """Redis is down for the whole log-out request (``open_session`` already fails):
    the log-out still deletes the cookie, the old cookie does not sign anyone back
    in once Redis is back, and the stored key goes at the interface's first
    successful Redis command after the outage."""
    client = server.client()
    interface = RedisSessionInterface(client, key_prefix=PREFIX)
    web = make_app(interface).test_client()
    web.get("/login/alice")
    cookie = web.get_cookie("session").value
    key = PREFIX + cookie.partition(".")[0]

    server.stop()
    response = web.get(logout)
    assert response.status_code == 200
    assert "Set-Cookie" in response.headers, "the log-out left the session cookie in place"
    deleted = set_cookie_of(response)
    assert (deleted["name"], deleted["value"], deleted["max-age"]) == ("session", "", "0")
    assert "Cookie" in response.vary
    assert web.get_cookie("session") is None
    assert interface.stats.outages == 1

    server.start()
    assert client.exists(key) == 1
    assert web.get("/whoami").data == b"anonymous"
    thief = make_app(interface).test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/whoami").data == b"anonymous"
    assert client.exists(key) == 1
    assert web.get("/login/bob").headers["Set-Cookie"].startswith("session=")
    assert client.exists(key) == 0
    assert interface.pending_deletes == []
    assert thief.get("/whoami").data == b"anonymous"
    assert web.get("/whoami").data == b"bob"
