"""The write-up's Socket.IO configuration manager, as data plus validation.

The write-up's ``websocket_config_manager.py`` built one main and one fallback
configuration and, as its fix, added ``manage_session=False``, ``cookie=None``
and ``json=None`` to both.  :func:`build_config` returns either set, before or
after that fix, and :func:`validate_config` checks every key against the
keyword arguments the installed Flask-SocketIO, python-socketio and
python-engineio actually accept, so a typo fails loudly instead of being
passed through ``**kwargs`` and ignored.  :func:`effective_settings` builds a
real ``SocketIO`` server from a configuration and reads back what the fix's
three keys became on the installed libraries.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import engineio.base_server
import socketio.base_server

from wslab.errors import WslabError

#: Keys Flask-SocketIO consumes itself before building the python-socketio server.
FLASK_SOCKETIO_KEYS = frozenset({"manage_session", "message_queue", "channel", "path", "resource"})

#: The three keys the write-up's fix adds.
WRITEUP_FIX_KEYS: dict[str, Any] = {"manage_session": False, "cookie": None, "json": None}

Profile = Literal["main", "fallback"]

#: Seconds between Engine.IO pings. python-engineio's default is 25; the lab uses 5
#: because a long-poll request that races a client's disconnect is only answered
#: at the next ping, and 25 s stalls would dominate every short lab run.
PING_INTERVAL = 5


def accepted_keys() -> frozenset[str]:
    """Every keyword the installed Flask-SocketIO stack accepts for ``SocketIO(app, **kw)``."""
    keys = set(FLASK_SOCKETIO_KEYS) | {"engineio_logger"}
    for cls in (socketio.base_server.BaseServer, engineio.base_server.BaseServer):
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name != "self" and param.kind is not inspect.Parameter.VAR_KEYWORD:
                keys.add(name)
    return frozenset(keys)


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return *config* unchanged, or raise :class:`WslabError` naming unknown keys."""
    unknown = sorted(set(config) - accepted_keys())
    if unknown:
        raise WslabError(f"unknown Socket.IO option(s): {', '.join(unknown)}")
    return config


def build_config(profile: Profile = "main", fixed: bool = True) -> dict[str, Any]:
    """Return the main or fallback Socket.IO configuration, with or without the fix.

    *main* is the production profile: threading mode, WebSocket and polling
    transports, a short ping interval (see :data:`PING_INTERVAL`) and
    permissive CORS for the kit's own page.  *fallback* is what the write-up's app dropped to when WebSocket was
    unavailable: polling only, no upgrades.
    """
    if profile not in ("main", "fallback"):
        raise WslabError(f"unknown Socket.IO profile {profile!r} (choose main or fallback)")
    config: dict[str, Any] = {
        "async_mode": "threading",
        "cors_allowed_origins": "*",
        "ping_interval": PING_INTERVAL,
        "ping_timeout": 20,
        "max_http_buffer_size": 1_000_000,
        "logger": False,
        "engineio_logger": False,
    }
    if profile == "fallback":
        config.update({"transports": ["polling"], "allow_upgrades": False})
    else:
        config.update({"transports": ["polling", "websocket"], "allow_upgrades": True})
    if fixed:
        config.update(WRITEUP_FIX_KEYS)
    return validate_config(config)


def effective_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What the fix's three keys became in a ``SocketIO`` server built from *config*.

    Builds ``SocketIO(Flask(...), **config)`` on the installed Flask-SocketIO and
    reads back, from the server objects it made: ``manage_session`` (Flask-SocketIO),
    ``cookie`` (the Engine.IO server) and ``json``, the name of the module the
    Socket.IO packets serialise with.  Unknown keys raise :class:`WslabError`.
    """
    from flask import Flask
    from flask_socketio import SocketIO

    server = SocketIO(Flask("wslab-config-probe"), **validate_config(config))
    return {"manage_session": server.manage_session, "cookie": server.server.eio.cookie,
            "json": server.server.packet_class.json.__name__}
