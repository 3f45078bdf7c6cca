"""The demo web application: a small Flask + Flask-SocketIO app like the incident's.

It has what the incident's app had and what the kit needs to measure it:

``/``                             a page with a live notifications panel (Socket.IO)
``/login`` ``/logout``            a login form that stores the user in the session
``/whoami``                       the session's user, as JSON
``/api/websocket/client-config``  JSON settings for Socket.IO clients (transports, path)
``/api/notify``                   POST: push a ``notification`` event to every client
``/healthz``                      liveness probe

Socket.IO handlers: ``connect`` answers with a ``notification`` saying whether
the handler saw the logged-in user, ``remember`` writes a value into the
session from inside a Socket.IO handler, ``echo`` acknowledges, ``disconnect``.
Every connect is recorded in :attr:`DemoApp.observations` so experiments can
tell what a handler saw.  :attr:`DemoApp.socketio_path` is the path the
Socket.IO server is really mounted at, read back from Flask-SocketIO: pass it
to :func:`wslab.app.detection.precise_decision` and to clients.

:func:`create_app` builds one :class:`Variant` (see :mod:`wslab.app.variants`).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_socketio import SocketIO, emit

from wslab.app.detection import DEFAULT_SOCKETIO_PATH, socketio_prefix
from wslab.app.guard import WebSocketGuard
from wslab.app.sessions import LegacyRedisSessionInterface, RedisSessionInterface
from wslab.app.socketio_config import build_config
from wslab.app.variants import Variant, get_variant

logger = logging.getLogger("wslab.app.demo")

DEFAULT_KEY_PREFIX = "wslab:session:"


@dataclass
class DemoApp:
    """The Flask app, its SocketIO server and what the handlers observed."""

    app: Flask
    socketio: SocketIO
    variant: Variant
    guard: WebSocketGuard | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def socketio_path(self) -> str:
        """The path this app's Socket.IO server is mounted at, e.g. ``/socket.io``."""
        return served_socketio_path(self.socketio)

    def observe(self, **event: Any) -> None:
        """Record one thing a Socket.IO handler saw (thread-safe)."""
        with self.lock:
            self.observations.append(event)


def served_socketio_path(socketio: SocketIO) -> str:
    """The path a Flask-SocketIO server is mounted at (``/socket.io``), read from its middleware.

    Flask-SocketIO takes the ``path`` (alias ``resource``) option, defaulting to
    ``socket.io``, and hands it to python-engineio's WSGI middleware, which
    routes every request below it; this reads it back from that middleware.
    """
    middleware = getattr(socketio, "sockio_mw", None)
    if middleware is None:
        raise ValueError("the Socket.IO server is not attached to a Flask app yet")
    return socketio_prefix(middleware.engineio_path).rstrip("/")


def client_config(variant: Variant, transports: list[str] | None = None,
                  path: str = DEFAULT_SOCKETIO_PATH) -> dict[str, Any]:
    """The JSON the page and the kit's clients fetch before connecting; *path* is the Socket.IO path."""
    return {
        "path": path,
        "transports": transports or ["websocket"],
        "reconnection": True,
        "reconnectionAttempts": 5,
        "timeout": 10000,
        "variant": variant.name,
    }


def session_interface(kind: str, redis_client: redis.Redis | None, key_prefix: str = DEFAULT_KEY_PREFIX):
    """The session interface for *kind*: ``"none"`` (Flask's cookie sessions), ``"legacy"``, ``"fixed"``."""
    if kind == "none":
        return None
    if kind not in ("legacy", "fixed"):
        raise ValueError(f"unknown session interface {kind!r}")
    if redis_client is None:
        raise ValueError(f"the {kind} session interface needs a Redis client")
    cls = LegacyRedisSessionInterface if kind == "legacy" else RedisSessionInterface
    return cls(redis_client, key_prefix=key_prefix)


def create_app(variant: Variant | str = "before", redis_client: redis.Redis | None = None,
               key_prefix: str = DEFAULT_KEY_PREFIX, secret_key: str | None = None,
               page_transports: list[str] | None = None) -> DemoApp:
    """Build the demo app for *variant* (a :class:`Variant` or its name).

    *redis_client* is required for the Redis-session variants; *page_transports*
    is what ``/api/websocket/client-config`` tells clients (websocket-only by
    default, like the incident's app).
    """
    variant = get_variant(variant) if isinstance(variant, str) else variant
    app = Flask("wslab.app.demo")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=1),
        SESSION_COOKIE_SAMESITE="Lax",
    )
    interface = session_interface(variant.session, redis_client, key_prefix)
    if interface is not None:
        app.session_interface = interface
    socketio = SocketIO(app, **build_config("main", fixed=variant.config == "fixed"))
    demo = DemoApp(app, socketio, variant)
    _add_routes(demo, page_transports)
    _add_socketio_handlers(demo)
    if variant.guard:
        demo.guard = WebSocketGuard(app.wsgi_app)
        app.wsgi_app = demo.guard
    return demo


def _add_routes(demo: DemoApp, page_transports: list[str] | None) -> None:
    app, socketio = demo.app, demo.socketio

    @app.get("/")
    def index():
        return render_template("index.html", user=session.get("user"), variant=demo.variant.name)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            user = (request.form.get("user") or "").strip()
            if not user:
                return render_template("login.html", error="enter a user name"), 400
            regenerate = getattr(session, "regenerate", None)
            if regenerate is not None:
                regenerate()
            session["user"] = user
            session.permanent = True
            return redirect(url_for("index"))
        return render_template("login.html", error=None)

    @app.post("/logout")
    def logout():
        session.clear()
        return redirect(url_for("login"))

    @app.get("/whoami")
    def whoami():
        return jsonify(user=session.get("user"), remembered=session.get("remembered"))

    @app.get("/api/websocket/client-config")
    def websocket_client_config():
        return jsonify(client_config(demo.variant, page_transports, demo.socketio_path))

    @app.post("/api/notify")
    def notify():
        message = (request.get_json(silent=True) or {}).get("message", "hello")
        socketio.emit("notification", {"message": str(message), "kind": "broadcast"})
        return jsonify(sent=True)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", variant=demo.variant.name)


def _add_socketio_handlers(demo: DemoApp) -> None:
    socketio = demo.socketio

    @socketio.on("connect")
    def on_connect(auth=None):
        user = session.get("user")
        transport = request.args.get("transport", "")
        demo.observe(event="connect", sid=request.sid, user=user, transport=transport,
                     has_sid_param="sid" in request.args)
        emit("notification", {"message": f"welcome {user or 'guest'}", "kind": "welcome",
                              "user": user})

    @socketio.on("remember")
    def on_remember(value):
        session["remembered"] = str(value)
        demo.observe(event="remember", sid=request.sid, user=session.get("user"))
        return {"stored": str(value)}

    @socketio.on("echo")
    def on_echo(data):
        return data

    @socketio.on("disconnect")
    def on_disconnect(*args):
        demo.observe(event="disconnect", sid=request.sid)
