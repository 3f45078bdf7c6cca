"""Where the demo page's Socket.IO client (the npm package ``socket.io-client``) lives.

The page loads ``static/vendor/socket.io.min.js``. That file is the browser
bundle of ``socket.io-client``, installed by ``scripts/install_socketio_client.sh``
(run by ``make test``); it is never committed. This module finds it and says how
to install it when it is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The bundle the page's ``<script>`` tag loads.
VENDOR_JS = Path(__file__).resolve().parent / "static" / "vendor" / "socket.io.min.js"

INSTALL_COMMAND = "scripts/install_socketio_client.sh"

_BANNER = re.compile(rb"Socket\.IO v(\d+\.\d+\.\d+)")


def client_js_path() -> Path | None:
    """The installed ``socket.io.min.js``, or None when it is missing or empty."""
    if VENDOR_JS.is_file() and VENDOR_JS.stat().st_size > 0:
        return VENDOR_JS
    return None


def client_js_version(path: Path | None = None) -> str | None:
    """The ``socket.io-client`` version named in the bundle's banner, if any."""
    path = path or client_js_path()
    if path is None:
        return None
    match = _BANNER.search(path.read_bytes()[:512])
    return match.group(1).decode() if match else None


def missing_client_message() -> str:
    """One line saying the browser client is missing and how to install it."""
    return (f"the page's Socket.IO client static/vendor/socket.io.min.js is missing, so the "
            f"notifications panel will not connect; install it with {INSTALL_COMMAND} (needs npm)")
