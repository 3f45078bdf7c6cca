"""Small Flask-SocketIO apps for the ``wslab verify`` tests, written as a user writes one.

Nothing here imports the kit: each app is plain Flask + Flask-SocketIO in threading mode,
the way the Flask-SocketIO docs show it. The tests start them in real servers:

Werkzeug, through ``socketio.run`` (its request lines and tracebacks go to stderr)::

    python verify_apps.py APP PORT

gunicorn's gthread worker, through the factory::

    python -m gunicorn -k gthread -w 1 --threads 8 -b 127.0.0.1:0 'verify_apps:create_app("echo")'

The apps (:data:`APPS`), each with ``/`` (200) and ``/boom`` (raises, so a 500):

``silent``       a Socket.IO server with no handlers at all (no connect handler, no events)
``echo``         a connect handler and an ``echo`` event that acknowledges with ``{"echo": data}``
``custom-path``  ``echo`` served at :data:`CUSTOM_PATH` instead of ``/socket.io``
``debug``        ``echo`` under Werkzeug's debugger (``socketio.run(app, debug=True, use_reloader=False)``)
"""

from __future__ import annotations

import sys

from flask import Flask
from flask_socketio import SocketIO

#: Where the ``custom-path`` app serves Socket.IO.
CUSTOM_PATH = "/ws/socket.io"
#: The apps by name; ``debug`` is ``echo`` under the debugger (see :func:`serve`).
APPS = ("silent", "echo", "custom-path", "debug")


def create(name: str) -> tuple[Flask, SocketIO]:
    """The Flask app and its SocketIO server for app *name* (one of :data:`APPS`)."""
    if name not in APPS:
        raise SystemExit(f"unknown app {name!r} (choose from {', '.join(APPS)})")
    app = Flask(f"verify-{name}")
    app.config["SECRET_KEY"] = "verify-apps"
    path = CUSTOM_PATH if name == "custom-path" else "socket.io"
    socketio = SocketIO(app, async_mode="threading", path=path)

    @app.get("/")
    def index() -> str:
        return f"{name} app"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")  # a route that answers 500, for traffic other than the checks'

    if name != "silent":
        @socketio.on("connect")
        def connect() -> None:
            pass

        @socketio.on("echo")
        def echo(data: object) -> dict:
            return {"echo": data}

    return app, socketio


def create_app(name: str) -> Flask:
    """The WSGI app for gunicorn (``'verify_apps:create_app("echo")'``)."""
    return create(name)[0]


def serve(name: str, port: int) -> None:
    """Serve app *name* with Werkzeug on ``127.0.0.1:port`` until stopped."""
    app, socketio = create(name)
    debug = name == "debug"
    socketio.run(app, host="127.0.0.1", port=port, debug=debug, use_reloader=False,
                 allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
