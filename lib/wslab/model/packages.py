"""The stack's packages and the field each one has in a recorded row.

Package names are compared the way the package index compares them
(:func:`packaging.utils.canonicalize_name`); :func:`canonical` is that function
under the kit's name, so callers need not import :mod:`packaging` themselves.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

#: The packages whose versions decide how a WebSocket's end is logged, in table order.
STACK_PACKAGES: tuple[str, ...] = (
    "werkzeug", "flask", "flask-socketio", "python-socketio", "python-engineio", "simple-websocket",
)

#: A recorded row's version field, by package (a Python identifier: ``-`` becomes ``_``).
VERSION_FIELDS: dict[str, str] = {package: package.replace("-", "_") for package in STACK_PACKAGES}


def canonical(name: str) -> str:
    """*name* as the package index compares names: lower case, runs of ``-_.`` as one ``-``."""
    return str(canonicalize_name(name))


def field_of(package: str) -> str:
    """The recorded row's field for *package* (any spelling of the name)."""
    return VERSION_FIELDS[canonical(package)]
