"""The servers the kit runs the app under, by the name records and ``--server`` use.

A name here is what a recorded row's ``server`` field holds and what every
``--server`` option accepts; :mod:`wslab.lab.servers` has one implementation per name.
"""

from __future__ import annotations

from wslab.errors import WslabError

#: Every server name, with what it is, in the order tables list them.
SERVER_LABELS: dict[str, str] = {
    "werkzeug": "Werkzeug's dev server",
    "werkzeug-debug": "Werkzeug's dev server with the debugger on",
    "gunicorn-gthread": "gunicorn's gthread worker",
}
#: The server names, in table order.
SERVERS: tuple[str, ...] = tuple(SERVER_LABELS)
#: Other names users write for a server, and the server they mean.
SERVER_ALIASES: dict[str, str] = {"gunicorn": "gunicorn-gthread"}


def server_name(name: str) -> str:
    """The server *name* means (an alias resolved); an unknown name is one clear :class:`WslabError`."""
    name = SERVER_ALIASES.get(name, name)
    if name not in SERVER_LABELS:
        choices = ", ".join(sorted({*SERVERS, *SERVER_ALIASES}))
        raise WslabError(f"unknown server {name!r} (choose from {choices})")
    return name
