"""The servers the demo app runs under: one protocol, one module per server, a registry by name.

``base``       the protocol: :class:`~base.Server` (a context manager with ``url``,
               ``logs``, ``pids`` and ``wait_idle`` → :class:`~base.IdleReport`),
               the :class:`~base.AppSpec` a server builds the app from, and the
               :class:`~base.ServerFactory` signature
``werkzeug``   Werkzeug's threaded dev server in this process, debugger on or off
``gunicorn``   gunicorn's gthread worker, a child process
``child_app``  the app built in a child process from its environment (gunicorn's entry point)

:data:`REGISTRY` holds one factory per name of :data:`wslab.model.servers.SERVERS`::

    from wslab.lab.servers import AppSpec, factory

    with factory("gunicorn-gthread")(AppSpec("before"), Path("out/cell.log")) as server:
        ...

A new server is one module here (a :class:`~base.Server` whose constructor, or
a class method, is a :class:`~base.ServerFactory`), one entry in
:data:`REGISTRY` and its name in :mod:`wslab.model.servers`.  A server whose
package changes the process it is imported into (eventlet, gevent) imports it
in its child process only, never at the top of its module.
"""

from __future__ import annotations

from functools import partial

from wslab.errors import WslabError
from wslab.lab.servers.base import AppSpec, IdleReport, Server, ServerFactory
from wslab.lab.servers.gunicorn import GunicornServer
from wslab.lab.servers.werkzeug import WerkzeugServer

__all__ = ["REGISTRY", "AppSpec", "IdleReport", "Server", "ServerFactory", "factory", "server_names"]

#: Every server by name, in the order of :data:`wslab.model.servers.SERVERS`.
REGISTRY: dict[str, ServerFactory] = {
    "werkzeug": WerkzeugServer,
    "werkzeug-debug": partial(WerkzeugServer, debugger=True),
    "gunicorn-gthread": GunicornServer.serving,
}


def server_names() -> tuple[str, ...]:
    """The names a server can be asked for, in registry order."""
    return tuple(REGISTRY)


def factory(name: str) -> ServerFactory:
    """The factory of the server called *name*; an unknown name is one clear :class:`WslabError`."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise WslabError(f"unknown server {name!r} (choose from {', '.join(REGISTRY)})") from None
