"""What kind of request a log line is, and what kind of Socket.IO connection a client opened.

:class:`RequestKind` is the one vocabulary for request lines: the log parser assigns it,
and the notebooks, exercises, claims and commands show its labels.  Its members are
``str`` subclasses whose value is the label, so a pandas column of kinds compares equal
to the plain labels and prints them.

:class:`ConnectionKind` names what a simulated Socket.IO client opened: a WebSocket
straight away (``direct``), or long-polling that upgrades (``upgrade``).
"""

from __future__ import annotations

from enum import StrEnum


class RequestKind(StrEnum):
    """The kind of one request line, told from its target alone."""

    #: An Engine.IO WebSocket opened directly: ``transport=websocket`` without a ``sid``.
    DIRECT_WEBSOCKET = "direct websocket"
    #: The WebSocket a polling connection upgrades to: ``transport=websocket`` with its ``sid``.
    UPGRADED_WEBSOCKET = "upgraded websocket"
    #: Engine.IO long-polling: ``transport=polling``, with or without a ``sid``.
    POLLING = "polling"
    #: Anything else: pages, assets, APIs, and request texts that are no HTTP request line.
    PAGE = "page"

    @property
    def label(self) -> str:
        """The label tables and charts show (the member's value)."""
        return self.value

    @classmethod
    def ordered(cls) -> tuple[RequestKind, ...]:
        """Every kind, in the order tables list them."""
        return tuple(cls)


class ConnectionKind(StrEnum):
    """How a simulated Socket.IO client connected."""

    #: A WebSocket opened directly (``transports=["websocket"]``).
    DIRECT = "direct"
    #: Long-polling first, then the upgrade to a WebSocket (the clients' default).
    UPGRADE = "upgrade"

    @property
    def request_kind(self) -> RequestKind:
        """The kind of the WebSocket request line this connection's WebSocket logs."""
        return RequestKind.DIRECT_WEBSOCKET if self is ConnectionKind.DIRECT else RequestKind.UPGRADED_WEBSOCKET
