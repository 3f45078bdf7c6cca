"""The fixed interface against Flask's own cookie sessions: same config, same requests, same answers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from flask import Flask, Response, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.http import parse_date

from session_apps import keys, make_app, only_key, parse_set_cookie, set_cookie_of
from wslab.app.sessions import RedisSessionInterface

BASE_URL = "http://www.example.test/app/"
LIFETIME = timedelta(days=31)
SECRET_KEY = "semantics-secret"
#: The ``Expires`` of a deleted cookie.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def observe(response: Response) -> dict[str, Any]:
    """What a browser or cache sees of one response, minus the cookie value itself.

    A cookie's ``expires`` is kept as the parsed date, to be compared with
    :func:`assert_same_as_flask`'s tolerance.
    """
    cookies = [parse_set_cookie(h) for h in response.headers.getlist("Set-Cookie")]
    for cookie in cookies:
        del cookie["value"]
        if "expires" in cookie:
            cookie["expires"] = parse_date(cookie["expires"])
    return {"status": response.status_code, "body": response.get_data(as_text=True),
            "vary": sorted(response.vary), "cookies": cookies}


def assert_same_as_flask(actual: dict[str, Any], expected: dict[str, Any], elapsed: timedelta,
                         step: str) -> None:
    """Assert two observations are equal, except that cookie expiry dates may differ
    by the time the two requests took (*elapsed*) plus the one second that HTTP
    dates round away; an expiry in the past (a deleted cookie) must match exactly."""
    actual_expires = [cookie.pop("expires", None) for cookie in actual["cookies"]]
    expected_expires = [cookie.pop("expires", None) for cookie in expected["cookies"]]
    assert actual == expected, step
    assert [e is None for e in actual_expires] == [e is None for e in expected_expires], step
    tolerance = elapsed + timedelta(seconds=1)
    for got, want in zip(actual_expires, expected_expires):
        if want is None:
            continue
        if want == EPOCH:
            assert got == want, step
        else:
            assert abs(got - want) <= tolerance, (step, got, want, elapsed)


STEPS = ["/", "/read", "/set/a/1", "/", "/read", "/set/b/2", "/permanent/on", "/",
         "/read", "/after", "/read", "/permanent/off", "/", "/read", "/pop/a", "/read",
         "/logout", "/", "/read", "/logout", "/set/c/3", "/pop/c", "/read"]

CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "named-scoped-strict": {"SESSION_COOKIE_NAME": "sid", "SESSION_COOKIE_DOMAIN": "example.test",
                            "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": False,
                            "SESSION_COOKIE_SAMESITE": "Strict"},
    "path-lax-short": {"SESSION_COOKIE_PATH": "/app", "SESSION_COOKIE_SAMESITE": "Lax",
                       "PERMANENT_SESSION_LIFETIME": timedelta(minutes=5)},
    "no-refresh": {"SESSION_REFRESH_EACH_REQUEST": False, "SESSION_COOKIE_SAMESITE": "None",
                   "SESSION_COOKIE_SECURE": True},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_same_requests_give_the_same_cookies_vary_and_data_as_flask(
        any_redis: redis.Redis, key_prefix: str, config: dict[str, Any]) -> None:
    cookie_app = make_app(SecureCookieSessionInterface(), SECRET_KEY, **config)
    redis_app = make_app(RedisSessionInterface(any_redis, key_prefix=key_prefix), SECRET_KEY, **config)
    cookie_client, redis_client = cookie_app.test_client(), redis_app.test_client()
    for step in STEPS:
        started = datetime.now(timezone.utc)
        expected = observe(cookie_client.get(step, base_url=BASE_URL))
        actual = observe(redis_client.get(step, base_url=BASE_URL))
        assert_same_as_flask(actual, expected, datetime.now(timezone.utc) - started, step)
    assert keys(any_redis, key_prefix) == []


@pytest.fixture
def app(any_redis: redis.Redis, key_prefix: str) -> Flask:
    return make_app(RedisSessionInterface(any_redis, key_prefix=key_prefix), SECRET_KEY,
                    PERMANENT_SESSION_LIFETIME=LIFETIME)


def test_permanent_session_ttl_and_cookie_expiry_agree(app: Flask, any_redis: redis.Redis,
                                                       key_prefix: str) -> None:
    web = app.test_client()
    web.get("/set/a/1")
    cookie = set_cookie_of(web.get("/permanent/on"))
    ttl = any_redis.ttl(only_key(any_redis, key_prefix))
    cookie_left = (parse_date(cookie["expires"]) - datetime.now(timezone.utc)).total_seconds()
    assert abs(ttl - cookie_left) <= 2
    assert abs(ttl - LIFETIME.total_seconds()) <= 2


def test_non_permanent_session_has_no_cookie_expiry_but_expires_in_redis(
        app: Flask, any_redis: redis.Redis, key_prefix: str) -> None:
    cookie = set_cookie_of(app.test_client().get("/set/a/1"))
    assert "expires" not in cookie and "max-age" not in cookie
    ttl = any_redis.ttl(only_key(any_redis, key_prefix))
    assert LIFETIME.total_seconds() - 2 <= ttl <= LIFETIME.total_seconds()


@pytest.mark.parametrize("refresh", [True, False])
def test_refresh_each_request_restarts_the_ttl_of_permanent_sessions(
        app: Flask, any_redis: redis.Redis, key_prefix: str, refresh: bool) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
    web = app.test_client()
    web.get("/set/a/1")
    web.get("/permanent/on")
    key = only_key(any_redis, key_prefix)
    any_redis.expire(key, 100)
    response = web.get("/")
    assert ("Set-Cookie" in response.headers) is refresh
    assert (any_redis.ttl(key) > 100) is refresh
    assert web.get("/read").json["a"] == "1"


def test_refresh_only_restarts_the_ttl_and_keeps_concurrent_changes(
        app: Flask, any_redis: redis.Redis, key_prefix: str) -> None:
    """An unchanged permanent session is refreshed with EXPIRE, so a change another
    request stored meanwhile is not overwritten by this request's stale copy."""
    interface = app.session_interface

    @app.get("/change-elsewhere")
    def change_elsewhere() -> str:
        sid = session._get_current_object().sid
        stored = interface.load(sid)
        stored["a"] = "changed elsewhere"
        any_redis.set(interface.redis_key(sid), interface.serializer.dumps(stored))
        return "noop"

    web = app.test_client()
    web.get("/permanent/on")
    web.get("/set/a/1")
    assert "Set-Cookie" in web.get("/change-elsewhere").headers
    assert web.get("/read").json["a"] == "changed elsewhere"


def test_refresh_rewrites_a_session_whose_key_vanished(app: Flask, any_redis: redis.Redis,
                                                       key_prefix: str) -> None:
    interface = app.session_interface

    @app.get("/drop-key")
    def drop_key() -> str:
        any_redis.delete(interface.redis_key(session._get_current_object().sid))
        return "dropped"

    web = app.test_client()
    web.get("/permanent/on")
    web.get("/set/a/1")
    key = only_key(any_redis, key_prefix)
    web.get("/drop-key")
    assert any_redis.exists(key) and web.get("/read").json["a"] == "1"
    assert 0 < any_redis.ttl(key) <= LIFETIME.total_seconds()


def test_vary_cookie_only_when_the_session_is_accessed(app: Flask) -> None:
    web = app.test_client()
    assert "Vary" not in web.get("/").headers
    assert web.get("/read").headers["Vary"] == "Cookie"


def test_emptied_session_deletes_cookie_and_key(app: Flask, any_redis: redis.Redis, key_prefix: str) -> None:
    web = app.test_client()
    web.get("/set/a/1")
    only_key(any_redis, key_prefix)
    cookie = set_cookie_of(web.get("/logout"))
    assert cookie["value"] == "" and cookie["max-age"] == "0"
    assert parse_date(cookie["expires"]) == EPOCH
    assert keys(any_redis, key_prefix) == []
    assert web.get("/read").json["items"] == []


def test_tagged_types_round_trip(app: Flask) -> None:
    value = {
        "markup": Markup("<b>bold</b>"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "when": datetime(2025, 9, 1, 13, 4, 34, tzinfo=timezone.utc),
        "bytes": b"\x00\xffraw",
        "tuple": (1, "two", (3.0,)),
        "nested": {" t": ["looks", "like", "a", "tag"], "list": [b"x", ("y",)]},
    }

    @app.get("/store-types")
    def store_types() -> str:
        session["value"] = value
        return "ok"

    @app.get("/check-types")
    def check_types() -> dict:
        got = session["value"]
        return {"equal": got == value,
                "types": {k: type(v).__name__ for k, v in got.items()}}

    web = app.test_client()
    web.get("/store-types")
    result = web.get("/check-types").json
    assert result["equal"] is True
    assert result["types"] == {"markup": "Markup", "uuid": "UUID", "when": "datetime",
                               "bytes": "bytes", "tuple": "tuple", "nested": "dict"}


def test_changes_in_after_request_are_saved(app: Flask) -> None:
    web = app.test_client()
    assert "Set-Cookie" in web.get("/after").headers
    assert web.get("/read").json["items"] == [["late", "saved"]]


def test_cookie_attributes_come_from_flask_helpers(any_redis: redis.Redis, key_prefix: str) -> None:
    """Overriding Flask's ``get_cookie_*`` helpers in a subclass changes the cookie."""

    class Custom(RedisSessionInterface):
        def get_cookie_name(self, app: Flask) -> str:
            return "custom"

        def get_cookie_samesite(self, app: Flask) -> str:
            return "Strict"

    web = make_app(Custom(any_redis, key_prefix=key_prefix), SECRET_KEY).test_client()
    cookie = set_cookie_of(web.get("/set/a/1"))
    assert (cookie["name"], cookie["samesite"]) == ("custom", "Strict")
    assert web.get("/read").json["a"] == "1"
