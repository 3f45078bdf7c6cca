"""Security of the fixed interface: session ids, signed cookies, fixation, no keys for nobody.

The last tests measure the legacy interface on the same anonymous traffic.
"""

from __future__ import annotations

import base64
import time

import pytest
import redis
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Signer

from session_apps import cookie_value, keys, make_app
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSessionInterface, new_sid
from wslab.app.sessions import base as session_base

ANONYMOUS_REQUESTS = 10_000


@pytest.fixture
def app(any_redis: redis.Redis, key_prefix: str) -> Flask:
    return make_app(RedisSessionInterface(any_redis, key_prefix=key_prefix))


# --- session ids ------------------------------------------------------------------------------


def test_session_ids_come_from_secrets_with_at_least_128_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def token_urlsafe(nbytes: int) -> str:
        calls.append(nbytes)
        return "s" * 43

    monkeypatch.setattr(session_base.secrets, "token_urlsafe", token_urlsafe)
    assert new_sid() == "s" * 43
    assert calls and calls[0] * 8 >= 128


def test_session_ids_are_long_unique_and_url_safe() -> None:
    sids = {new_sid() for _ in range(10_000)}
    assert len(sids) == 10_000
    for sid in list(sids)[:100]:
        raw = base64.urlsafe_b64decode(sid + "=")
        assert len(raw) * 8 >= 128


def test_cookie_holds_the_sid_signed_with_the_secret_key(app: Flask, any_redis: redis.Redis,
                                                         key_prefix: str) -> None:
    value = cookie_value(app.test_client().get("/login/alice"))
    (key,) = keys(any_redis, key_prefix)
    sid = key.decode()[len(key_prefix):]
    assert value.startswith(sid + ".") and value != sid
    assert app.session_interface.unsign_sid(app, value) == sid
    app.secret_key = "another-secret"
    assert app.session_interface.unsign_sid(app, value) is None


# --- forged and garbage cookies ------------------------------------------------------------------


def forged_cookies(app: Flask, valid: str) -> dict[str, str]:
    """Ways to point at the victim's session without the secret key, plus plain garbage."""
    sid, _, signature = valid.partition(".")
    # change the first character: the last one of unpadded base64 also carries unused
    # bits, so changing it can leave the decoded signature bytes as they were
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_key = Signer("guessed-secret", salt="wslab.app.sessions.sid").sign(sid).decode()
    flask_cookie = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"user": "x"})
    return {
        "bare sid": sid,
        "flipped signature": f"{sid}.{flipped}",
        "other secret key": other_key,
        "signature only": signature,
        "flask cookie session": flask_cookie,
        "empty": "",
        "dots": "...",
        "garbage": "%00\\x00\"';--",
        "long": "A" * 4000,
        "unicode": "ségür.ité",
    }


def test_forged_or_garbage_cookies_give_a_fresh_session(app: Flask, any_redis: redis.Redis,
                                                        key_prefix: str) -> None:
    valid = cookie_value(app.test_client().get("/login/victim"))
    for label, value in forged_cookies(app, valid).items():
        web = app.test_client()
        web.set_cookie("session", value)
        response = web.get("/whoami")
        assert (response.status_code, response.data) == (200, b"anonymous"), label
        fresh = cookie_value(web.get("/login/attacker"))
        assert fresh.partition(".")[0] != valid.partition(".")[0], label
    victim = app.test_client()
    victim.set_cookie("session", valid)
    assert victim.get("/whoami").data == b"victim"


def test_cookie_for_an_expired_session_gives_a_fresh_one(app: Flask, any_redis: redis.Redis,
                                                         key_prefix: str) -> None:
    web = app.test_client()
    old = cookie_value(web.get("/login/alice"))
    for key in keys(any_redis, key_prefix):
        any_redis.delete(key)
    assert web.get("/whoami").data == b"anonymous"
    assert cookie_value(web.get("/login/bob")).partition(".")[0] != old.partition(".")[0]


# --- session fixation ---------------------------------------------------------------------------


def test_regenerate_on_login_defeats_session_fixation(app: Flask, any_redis: redis.Redis,
                                                      key_prefix: str) -> None:
    attacker = app.test_client()
    planted = cookie_value(attacker.get("/login/nobody"))
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert victim.get("/whoami").data == b"nobody"

    after_login = cookie_value(victim.get("/login-regenerated/alice"))

    assert after_login != planted
    assert victim.get("/whoami").data == b"alice"
    assert attacker.get("/whoami").data == b"anonymous"
    sid = after_login.partition(".")[0]
    assert keys(any_redis, key_prefix) == [(key_prefix + sid).encode()]


def test_regenerating_twice_removes_the_original_key(app: Flask, any_redis: redis.Redis,
                                                     key_prefix: str) -> None:
    @app.get("/twice")
    def twice() -> str:
        current = session._get_current_object()
        current.regenerate()
        current.regenerate()
        return "ok"

    web = app.test_client()
    web.get("/login/alice")
    new = cookie_value(web.get("/twice")).partition(".")[0]
    assert keys(any_redis, key_prefix) == [(key_prefix + new).encode()]
    assert web.get("/whoami").data == b"alice"


def test_regenerate_then_clear_removes_everything(app: Flask, any_redis: redis.Redis,
                                                  key_prefix: str) -> None:
    @app.get("/regenerate-and-logout")
    def regenerate_and_logout() -> str:
        session._get_current_object().regenerate()
        session.clear()
        return "bye"

    web = app.test_client()
    web.get("/login/alice")
    assert "Max-Age=0" in web.get("/regenerate-and-logout").headers["Set-Cookie"]
    assert keys(any_redis, key_prefix) == []


# --- no keys for requests that store nothing ------------------------------------------------------


def anonymous_traffic(app: Flask, requests: int = ANONYMOUS_REQUESTS) -> float:
    """Send *requests* cookie-less GETs, alternating a page that ignores and one that reads the session."""
    web = app.test_client(use_cookies=False)
    started = time.perf_counter()
    for i in range(requests):
        response = web.get("/whoami" if i % 2 else "/")
        assert response.status_code == 200
    return time.perf_counter() - started


def test_fixed_interface_writes_no_key_for_10000_anonymous_requests(
        app: Flask, any_redis: redis.Redis, key_prefix: str) -> None:
    anonymous_traffic(app)
    assert keys(any_redis, key_prefix) == []
    stats = app.session_interface.stats
    assert (stats.redis_reads, stats.redis_writes) == (0, 0)


def test_legacy_interface_writes_one_key_per_anonymous_request(any_redis: redis.Redis,
                                                               key_prefix: str) -> None:
    """Measured: every cookie-less request (crawler, health check, first visit) leaves a key
    holding an empty session, with the full session lifetime as TTL."""
    app = make_app(LegacyRedisSessionInterface(any_redis, key_prefix=key_prefix))
    anonymous_traffic(app)
    written = keys(any_redis, key_prefix)
    assert len(written) == ANONYMOUS_REQUESTS
    assert app.session_interface.stats.redis_writes == ANONYMOUS_REQUESTS
    assert {any_redis.get(key) for key in written[:50]} == {b"{}"}
    assert all(0 < any_redis.ttl(key) <= 31 * 24 * 3600 for key in written[:50])


def test_a_browser_keeping_its_cookie_costs_legacy_one_key_and_fixed_none(
        any_redis: redis.Redis, key_prefix: str) -> None:
    legacy = make_app(LegacyRedisSessionInterface(any_redis, key_prefix=key_prefix + "legacy:"))
    fixed = make_app(RedisSessionInterface(any_redis, key_prefix=key_prefix + "fixed:"))
    for app in (legacy, fixed):
        web = app.test_client()
        for i in range(200):
            web.get("/whoami" if i % 2 else "/")
    assert len(keys(any_redis, key_prefix + "legacy:")) == 1
    assert keys(any_redis, key_prefix + "fixed:") == []
