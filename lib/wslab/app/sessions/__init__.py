"""Flask sessions stored in Redis: the legacy interface and the write-up's fix.

``LegacyRedisSessionInterface``
    The "old" interface: no WebSocket awareness, a session and a cookie for
    every request, Redis errors propagate.
``RedisSessionInterface``
    The write-up's fixed interface: its WebSocket/Engine.IO detection in
    ``open_session`` and ``save_session``, Flask's session semantics for every
    other request, signed session ids, and pages keep working when Redis is down.

Both take a Redis client and a key prefix and count their Redis traffic in
``stats``::

    app.session_interface = RedisSessionInterface(redis_client, key_prefix="wslab:session:")
"""

from wslab.app.sessions.base import (
    RedisSession,
    RedisSessionStore,
    SessionStats,
    UnavailableSession,
    new_sid,
)
from wslab.app.sessions.fixed import RedisSessionInterface
from wslab.app.sessions.legacy import LegacyRedisSessionInterface

__all__ = [
    "LegacyRedisSessionInterface",
    "RedisSession",
    "RedisSessionInterface",
    "RedisSessionStore",
    "SessionStats",
    "UnavailableSession",
    "new_sid",
]
