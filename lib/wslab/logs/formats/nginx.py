"""``nginx``: nginx's ``combined`` access format.

The access-line shape of :mod:`wslab.logs.formats.access`, the same as gunicorn's::

    127.0.0.1 - - [02/Dec/2026:02:36:43 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.0"

nginx also logs ``101`` for a proxied WebSocket when it closes, ``499`` when the
client closed first, and request texts that are no HTTP request line (``""``, TLS
bytes) for requests it could not read. An access log is nginx's when one of its
opening lines shows such a thing, else gunicorn's; both are read the same way.
"""

from __future__ import annotations

from wslab.logs.formats.access import access_lines, access_log_format


def nginx_access_lines(window: bytes) -> int:
    """How many access lines *window* holds, when one of them shows what only nginx writes."""
    count, nginx = access_lines(window)
    return count if nginx else 0


NGINX = access_log_format("nginx", "nginx", nginx_access_lines)

#: The formats this module provides.
FORMATS = (NGINX,)
