"""The versions of the stack's packages in this interpreter."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

STACK_PACKAGES: tuple[str, ...] = (
    "werkzeug", "flask", "flask-socketio", "python-socketio", "python-engineio", "simple-websocket",
)


def stack_versions() -> dict[str, str]:
    """``{package: version}`` for the stack packages plus Python itself."""
    found = {"python": platform.python_version()}
    for name in STACK_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
