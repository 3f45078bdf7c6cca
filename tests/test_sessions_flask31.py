"""Session behaviour that Flask 3.1 added or changed, on the fixed interface.

* ``SECRET_KEY_FALLBACKS``: a cookie signed with a rotated-out key still opens
  the session and is signed again with the current key.  The interface reads
  the setting under Flask 2.3 too (Flask itself ignores it there), so these
  tests run on both pin sets.
* ``SESSION_COOKIE_PARTITIONED``: the cookie carries ``Partitioned`` exactly
  when Flask's own cookie session does, which is on Flask 3.1 and newer; on
  older Flask (whose Werkzeug has no such attribute) neither sets it.
* ``session.accessed`` reflects what the request did, not the interface's own
  reads while saving.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from flask.testing import FlaskClient

from session_apps import make_app, only_key, parse_set_cookie, set_cookie_of
from wslab.app.sessions import RedisSessionInterface

#: Flask 3.1 and newer: ``get_cookie_partitioned`` and ``SESSION_COOKIE_PARTITIONED``.
FLASK_HAS_PARTITIONED = hasattr(SessionInterface, "get_cookie_partitioned")


@pytest.fixture
def interface(any_redis: redis.Redis, key_prefix: str) -> RedisSessionInterface:
    """The fixed interface on fakeredis and on the real server, under this test's prefix."""
    return RedisSessionInterface(any_redis, key_prefix=key_prefix)


# --- SECRET_KEY_FALLBACKS ---------------------------------------------------------------------


def test_cookie_signed_with_a_fallback_key_loads_and_is_signed_again_with_the_current_key(
        interface: RedisSessionInterface, any_redis: redis.Redis, key_prefix: str) -> None:
    app = make_app(interface, "old key")
    web = app.test_client()
    old_cookie = set_cookie_of(web.get("/login/alice"))["value"]
    sid = only_key(any_redis, key_prefix).decode()[len(key_prefix):]

    app.secret_key = "new key"
    assert web.get("/whoami").data == b"anonymous"
    web.set_cookie("session", old_cookie)
    app.config["SECRET_KEY_FALLBACKS"] = ["older key", "old key"]
    response = web.get("/whoami")
    assert response.data == b"alice"
    resigned = set_cookie_of(response)["value"]
    assert resigned != old_cookie and resigned.partition(".")[0] == sid
    assert interface.signer(app, current_only=True).validate(resigned)
    assert "Set-Cookie" not in web.get("/whoami").headers

    app.config["SECRET_KEY_FALLBACKS"] = []
    assert web.get("/whoami").data == b"alice"
    stale = app.test_client()
    stale.set_cookie("session", old_cookie)
    assert stale.get("/whoami").data == b"anonymous"
    assert only_key(any_redis, key_prefix).decode() == key_prefix + sid


def test_a_key_outside_the_fallbacks_opens_nothing(interface: RedisSessionInterface) -> None:
    app = make_app(interface, "key one")
    web = app.test_client()
    web.get("/login/alice")
    app.secret_key = "key three"
    app.config["SECRET_KEY_FALLBACKS"] = ["key two"]
    assert web.get("/whoami").data == b"anonymous"
    app.config["SECRET_KEY_FALLBACKS"] = ["key two", "key one"]
    assert web.get("/whoami").data == b"alice"


# --- SESSION_COOKIE_PARTITIONED -----------------------------------------------------------------


def cookie_attributes(client: FlaskClient, path: str) -> dict[str, Any]:
    """The Set-Cookie attributes of one response, without value and expiry date."""
    (header,) = client.get(path).headers.getlist("Set-Cookie")
    cookie = parse_set_cookie(header)
    del cookie["value"]
    cookie.pop("expires", None)
    return cookie


def test_partitioned_cookie_as_flask_sets_it(interface: RedisSessionInterface) -> None:
    config = {"SESSION_COOKIE_PARTITIONED": True, "SESSION_COOKIE_SECURE": True,
              "SESSION_COOKIE_SAMESITE": "None"}
    flask_web = make_app(SecureCookieSessionInterface(), **config).test_client()
    kit_web = make_app(interface, **config).test_client()
    for path in ("/login/alice", "/logout"):
        kit = cookie_attributes(kit_web, path)
        assert kit == cookie_attributes(flask_web, path), path
        assert kit.get("partitioned", False) is FLASK_HAS_PARTITIONED, path
        assert kit["secure"] is True and kit["samesite"] == "None", path


def test_cookie_is_not_partitioned_by_default(interface: RedisSessionInterface) -> None:
    web = make_app(interface).test_client()
    assert "partitioned" not in set_cookie_of(web.get("/login/alice"))
    assert "partitioned" not in set_cookie_of(web.get("/logout"))


# --- session.accessed ------------------------------------------------------------------------


def request_session() -> SessionMixin:
    """The session of the request context a ``with client:`` block kept, without touching it.

    (Flask 3.1 sets ``accessed`` whenever its ``session`` property is read.)
    """
    ctx = request_ctx._get_current_object()
    return ctx.__dict__["_session"] if "_session" in ctx.__dict__ else ctx.__dict__["session"]


@pytest.mark.parametrize("permanent", [False, True], ids=["browser-session", "permanent"])
def test_accessed_only_when_the_request_touches_the_session(interface: RedisSessionInterface,
                                                            permanent: bool) -> None:
    app = make_app(interface)
    web = app.test_client()
    web.get("/login/alice")
    web.get(f"/permanent/{'on' if permanent else 'off'}")
    with web:
        response = web.get("/")
        current = request_session()
        assert not current.accessed and not current.modified
        # a refreshed permanent cookie adds Vary: Cookie, as Flask's own session does
        assert ("Set-Cookie" in response.headers) is permanent
        assert ("Cookie" in response.vary) is permanent
    with web:
        response = web.get("/whoami")
        current = request_session()
        assert response.data == b"alice"
        assert current.accessed and not current.modified
        assert "Cookie" in response.vary
    with web:
        response = web.get("/login/bob")
        current = request_session()
        assert current.accessed and current.modified
        assert "Cookie" in response.vary and "Set-Cookie" in response.headers


def test_new_visitor_on_a_page_that_ignores_the_session_is_not_accessed(
        interface: RedisSessionInterface) -> None:
    web = make_app(interface).test_client()
    with web:
        response = web.get("/")
        current = request_session()
        assert not current.accessed and not current.modified
        assert "Vary" not in response.headers and "Set-Cookie" not in response.headers
