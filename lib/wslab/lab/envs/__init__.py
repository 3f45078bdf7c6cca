"""Environments as data: pin sets built into cached virtualenvs.

A *pin set* is a named set of exact versions (``NAME==VERSION``).  The named
ones live in ``data/pinsets.toml``; ``incident`` and ``current`` there are the
repository's ``requirements/incident.txt`` and ``requirements/current.txt``
without the shared tools.  A pin set can also be made on the spot from pins
(:func:`adhoc`); packages it does not pin are left to the installer, which
picks the newest releases compatible with the pins.

:func:`build` turns a pin set into a virtualenv under the cache folder
(:func:`envs_dir`: ``$WSLAB_ENVS_DIR``, else ``.wslab/envs`` at the repository
root), in a folder named ``<name>-<key>``.  The key is a hash of what goes
into the environment: the sorted pins, the Python version and, when the kit is
installed too (the default), ``requirements/tools.txt`` and the kit's own
dependencies from ``pyproject.toml``.  Change any of them and the key changes;
change nothing and the next :func:`build` returns the environment already
there without touching the network.

A build creates the virtualenv, installs the pins (plus the tools and the kit,
editable, unless ``with_kit=False``), reads the versions actually installed
back from the new interpreter and writes them to a marker file
(:data:`MARKER`, JSON) as its very last step.  A folder without the marker is
not a built environment: :func:`list_envs` ignores it, the next build of the
same key starts it afresh, and a failed build removes it.  The installer is
``uv`` when it can be found (the ``uv`` package next to this interpreter) and
``python -m venv`` with pip otherwise.  A failure is one
:class:`~wslab.errors.WslabError` quoting the installer's last lines, or
saying which package could not be had when the package index is unreachable
or switched off (``UV_OFFLINE=1``, ``PIP_NO_INDEX=1``).

From Python::

    from wslab.lab import envs

    env = envs.build(envs.pinset("incident"))
    env.python                     # .../.wslab/envs/incident-<key>/bin/python
    env.resolved["werkzeug"]       # '2.3.8'

    quick = envs.build(envs.adhoc(["werkzeug==2.3.8", "python-engineio==4.15.1"]))
    quick.resolved["flask"]        # whatever the installer chose

From the shell::

    wslab envs build incident
    wslab envs build werkzeug==2.3.8 python-engineio==4.15.1 --json
    wslab envs list
    wslab envs remove incident

Modules: ``catalog`` (pin sets and the key of their environment),
``installer`` (uv or pip into a new virtualenv) and ``store`` (the cache
folder: build, list, remove); everything public is importable from here.
"""

from __future__ import annotations

from wslab.lab.envs.catalog import (
    ADHOC,
    CATALOG,
    FORMAT,
    PYPROJECT,
    TOOLS,
    PinSet,
    adhoc,
    env_key,
    kit_dependencies,
    parse_pin,
    pinset,
    pinsets,
    read_requirements,
    requested,
    tool_pins,
)
from wslab.lab.envs.installer import REQUESTED, choose_installer, explain_failure, find_uv, resolved_versions
from wslab.lab.envs.store import MARKER, STACK, Env, build, disk_usage, envs_dir, list_envs, remove
from wslab.model.packages import canonical

__all__ = [
    "ADHOC", "CATALOG", "FORMAT", "MARKER", "PYPROJECT", "REQUESTED", "STACK", "TOOLS", "Env", "PinSet",
    "adhoc", "build", "canonical", "choose_installer", "disk_usage", "env_key", "envs_dir", "explain_failure",
    "find_uv", "kit_dependencies", "list_envs", "parse_pin", "pinset", "pinsets", "read_requirements",
    "remove", "requested", "resolved_versions", "tool_pins",
]
