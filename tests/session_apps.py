"""The small Flask app the session tests drive, and helpers to look at cookies and keys.

:func:`make_app` builds one app whatever the session interface: pages that
ignore, read, write, empty, regenerate and make permanent the session, plus an
Engine.IO-looking path.  Each route has its own name, so every test file can
use the same app.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, Response, request, session
from flask.sessions import SessionInterface

#: The secret key of the apps :func:`make_app` builds unless told otherwise.
SECRET_KEY = "test-secret"


def make_app(interface: SessionInterface, secret_key: str | None = SECRET_KEY, **config: Any) -> Flask:
    """Return an app on *interface* with *secret_key* and extra Flask *config*.

    ``/``                  a public page that ignores the session ("public page")
    ``/whoami``            the session's ``user``, or "anonymous"
    ``/login/<user>``      stores ``user``
    ``/login-regenerated/<user>``  regenerates the session id, then stores ``user``
    ``/logout``            empties the session with ``clear()``
    ``/pop/<key>``         removes *key* with ``pop(key, None)``
    ``/count``             counts the visitor's requests in the session
    ``/read``              JSON: the session's ``a`` and all its items, sorted
    ``/set/<key>/<value>`` stores a string
    ``/permanent/<state>`` makes the session permanent ("on") or not
    ``/after``             stores ``late`` from an ``after_request`` hook
    ``/session-info``      JSON: the session object's type, ``sid`` and ``new``
    ``/socket.io/``        an Engine.IO-looking page that writes ``touched``
    """
    app = Flask(__name__)
    app.secret_key = secret_key
    app.config.update(config)
    app.session_interface = interface

    @app.get("/")
    def index() -> str:
        return "public page"

    @app.get("/whoami")
    def whoami() -> str:
        return session.get("user", "anonymous")

    @app.get("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/login-regenerated/<user>")
    def login_regenerated(user: str) -> str:
        session._get_current_object().regenerate()
        session["user"] = user
        return "logged in"

    @app.get("/logout")
    def logout() -> str:
        session.clear()
        return "bye"

    @app.get("/pop/<key>")
    def pop(key: str) -> str:
        return str(session.pop(key, None))

    @app.get("/count")
    def count() -> str:
        session["count"] = session.get("count", 0) + 1
        return str(session["count"])

    @app.get("/read")
    def read() -> dict:
        return {"a": session.get("a"), "items": sorted(session.items())}

    @app.get("/set/<key>/<value>")
    def set_value(key: str, value: str) -> str:
        session[key] = value
        return "set"

    @app.get("/permanent/<state>")
    def permanent(state: str) -> str:
        session.permanent = state == "on"
        return state

    @app.get("/after")
    def after() -> str:
        return "after"

    @app.after_request
    def change_late(response: Response) -> Response:
        if request.path == "/after":
            session["late"] = "saved"
        return response

    @app.get("/session-info")
    def session_info() -> dict:
        current = session._get_current_object()
        return {"type": type(current).__name__, "sid": getattr(current, "sid", "missing"),
                "new": current.new}

    @app.get("/socket.io/")
    def engineio_polling() -> str:
        session["touched"] = True
        return "0{}"

    return app


def keys(client: redis.Redis, prefix: str) -> list[bytes]:
    """Return the Redis keys under *prefix*, sorted."""
    return sorted(client.scan_iter(match=prefix + "*"))


def only_key(client: redis.Redis, prefix: str) -> bytes:
    """Return the one Redis key under *prefix* (fails if there are none or several)."""
    (key,) = client.scan_iter(match=prefix + "*")
    return key


def parse_set_cookie(header: str) -> dict[str, Any]:
    """Split one Set-Cookie header into name, value and lower-cased attributes."""
    first, *attributes = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    parsed: dict[str, Any] = {"name": name, "value": value}
    for attribute in attributes:
        key, sep, attr_value = attribute.partition("=")
        parsed[key.lower()] = attr_value if sep else True
    return parsed


def set_cookie_of(response: Response) -> dict[str, Any]:
    """Return the parsed Set-Cookie of a response that sets exactly one cookie."""
    (header,) = response.headers.getlist("Set-Cookie")
    return parse_set_cookie(header)


def cookie_value(response: Response) -> str:
    """Return the value of the (first) cookie a response sets."""
    return response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
