"""Shared machinery for the Redis session interfaces.

* :class:`RedisSession` is the session object both interfaces hand to Flask:
  a :class:`~werkzeug.datastructures.CallbackDict` with Flask's
  :class:`~flask.sessions.SessionMixin`, a session id and change tracking.
* :class:`SessionStats` counts what the interfaces did to Redis, thread-safely.
* :class:`RedisSessionStore` is the common base of both interfaces: key naming,
  Flask's tagged JSON serializer, the Redis TTL and counted Redis calls that
  notice when Redis stops (and starts again) answering.

The interfaces themselves differ only in ``open_session`` and ``save_session``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import redis
from flask import Flask
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

#: Random bytes in a session id (256 bits; at least 128 are needed).
SID_BYTES = 32

#: What :func:`new_sid` produces: URL-safe base64 of :data:`SID_BYTES` bytes.
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")

#: The key prefix used when none is given.
DEFAULT_KEY_PREFIX = "wslab:session:"

T = TypeVar("T")


def new_sid() -> str:
    """Return a fresh session id from :mod:`secrets` (:data:`SID_BYTES` random bytes)."""
    return secrets.token_urlsafe(SID_BYTES)


def is_valid_sid(value: object) -> bool:
    """Return True if *value* has the shape of a session id made by :func:`new_sid`."""
    return isinstance(value, str) and SID_PATTERN.fullmatch(value) is not None


class RedisSession(CallbackDict, SessionMixin):
    """A server-side session: a dict plus its id and what happened to it.

    ``sid`` is the Redis key suffix, or None for a session that is never
    stored (the empty session given to WebSocket requests).  ``new`` is True
    when nothing was loaded from Redis.  ``modified`` and ``accessed`` track
    writes and reads of the top-level dict as Flask's cookie session does;
    changes inside nested mutable values need ``session.modified = True``.
    """

    modified = False
    accessed = False
    #: True when the cookie that named this session was signed with a key from
    #: ``SECRET_KEY_FALLBACKS``: saving it sets the cookie again, signed with the
    #: current key, even when Flask would not otherwise refresh the cookie.
    resign_cookie = False

    def __init__(self, initial: Mapping[str, Any] | None = None, sid: str | None = None,
                 new: bool = False) -> None:
        def on_update(session: RedisSession) -> None:
            session.modified = True
            session.accessed = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = new
        self.previous_sid: str | None = None

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``session[key]`` or *default*, and mark the session accessed."""
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Like :meth:`dict.setdefault`; marks the session accessed (and modified if set)."""
        self.accessed = True
        return super().setdefault(key, default)

    def regenerate(self) -> None:
        """Give the session a new id; the old Redis key is removed when it is saved.

        Call it when privileges change (log-in, log-out) so an id an attacker
        planted or observed before never leads to the new session.
        """
        if self.sid is not None and not self.new and self.previous_sid is None:
            self.previous_sid = self.sid
        self.sid = new_sid()
        self.modified = True
        self.accessed = True


class UnavailableSession(RedisSession):
    """The empty session served while Redis cannot be reached.

    Pages can read it and even write to it, but it is never saved, so the
    visitor's stored session is waiting for them when Redis is back.  The one
    exception is a request that empties it (``clear()``, or ``pop()`` of a key,
    as a log-out does): that counts as a change even though nothing was there
    to remove, so the interface can delete the cookie and forget the stored
    session ``stored_sid``, the id the visitor's cookie named.
    """

    def __init__(self, stored_sid: str | None = None) -> None:
        super().__init__(sid=None, new=False)
        self.stored_sid = stored_sid

    def pop(self, key: str, *default: Any) -> Any:
        """Like :meth:`dict.pop`; always marks the session modified, as a removal request."""
        self.modified = True
        self.accessed = True
        return super().pop(key, *default)


class SessionStats(Mapping[str, int]):
    """Thread-safe counters of what a session interface did.

    ``redis_reads``, ``redis_writes`` and ``redis_deletes`` count Redis commands
    that succeeded, ``redis_errors`` those that raised, ``outages`` the times
    Redis went from answering to failing, ``skipped_websocket`` the sessions
    not opened and ``skipped_websocket_saves`` the saves skipped because a
    request looked like WebSocket traffic.  Read them as ``stats.redis_reads``
    or ``stats["redis_reads"]``.
    """

    FIELDS: tuple[str, ...] = ("redis_reads", "redis_writes", "redis_deletes", "redis_errors",
                               "outages", "skipped_websocket", "skipped_websocket_saves")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)

    def incr(self, name: str, amount: int = 1) -> None:
        """Add *amount* to counter *name*."""
        if name not in self._counts:
            raise KeyError(name)
        with self._lock:
            self._counts[name] += amount

    def snapshot(self) -> dict[str, int]:
        """Return a consistent copy of all counters."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._counts = dict.fromkeys(self.FIELDS, 0)

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.FIELDS)

    def __len__(self) -> int:
        return len(self.FIELDS)

    def __getattr__(self, name: str) -> int:
        if name in SessionStats.FIELDS:
            return self[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"SessionStats({self.snapshot()!r})"


class RedisSessionStore(SessionInterface):
    """What both Redis session interfaces share: keys, serialization, TTL, counted calls.

    Session data is stored under ``key_prefix + sid`` as Flask's tagged JSON,
    with a TTL of ``PERMANENT_SESSION_LIFETIME`` whether or not the session is
    permanent, so server-side data always expires.
    """

    serializer = TaggedJSONSerializer()
    session_class = RedisSession

    def __init__(self, redis_client: redis.Redis, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.stats = SessionStats()
        self._state_lock = threading.Lock()
        self._redis_down = False
        self._tickets = itertools.count()
        self._state_ticket = -1

    def redis_key(self, sid: str) -> str:
        """Return the Redis key that holds session *sid*."""
        return self.key_prefix + sid

    def redis_ttl(self, app: Flask) -> int:
        """Return the TTL in whole seconds (at least 1) for stored sessions."""
        return max(1, int(app.permanent_session_lifetime.total_seconds()))

    def cookie_options(self, app: Flask) -> dict[str, Any]:
        """Return the session cookie's attributes from the Flask config, as Flask computes them.

        ``partitioned`` (``SESSION_COOKIE_PARTITIONED``) is included only where
        Flask has :meth:`get_cookie_partitioned` (Flask 3.1 and newer, whose
        Werkzeug knows the attribute).
        """
        options = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": self.get_cookie_httponly(app),
            "samesite": self.get_cookie_samesite(app),
        }
        get_partitioned = getattr(self, "get_cookie_partitioned", None)
        if get_partitioned is not None:
            options["partitioned"] = get_partitioned(app)
        return options

    def load(self, sid: str) -> dict[str, Any] | None:
        """Return the stored data of *sid*, or None if there is none.

        Raises :class:`redis.RedisError` if Redis fails and :class:`ValueError`
        if the stored value is not a session.
        """
        raw = self.call("redis_reads", self.redis.get, self.redis_key(sid))
        if raw is None:
            return None
        data = self.serializer.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"stored session is a {type(data).__name__}, not an object")
        return data

    def store(self, app: Flask, session: RedisSession) -> None:
        """Write the session under its id with the TTL, then drop a regenerated id's old key."""
        payload = self.serializer.dumps(dict(session))
        self.call("redis_writes", self.redis.set, self.redis_key(session.sid), payload,
                  ex=self.redis_ttl(app))
        self.forget_previous(session)

    def touch(self, app: Flask, session: RedisSession) -> None:
        """Restart the TTL of an unchanged session, rewriting it if the key has gone."""
        if not self.call("redis_writes", self.redis.expire, self.redis_key(session.sid),
                         self.redis_ttl(app)):
            self.store(app, session)

    def discard(self, session: RedisSession) -> None:
        """Delete the session's key (and a regenerated id's old key)."""
        self.call("redis_deletes", self.redis.delete, self.redis_key(session.sid))
        self.forget_previous(session)

    def forget_previous(self, session: RedisSession) -> None:
        """Delete the key of the id the session had before :meth:`RedisSession.regenerate`."""
        if session.previous_sid is not None:
            self.call("redis_deletes", self.redis.delete, self.redis_key(session.previous_sid))
            session.previous_sid = None

    def call(self, counter: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one Redis command, count it, and track whether Redis is answering.

        Errors are counted and re-raised; the first failure after a success
        starts an outage (:meth:`outage_started`), the first success after a
        failure ends it (:meth:`outage_ended`).
        """
        ticket = next(self._tickets)
        try:
            result = func(*args, **kwargs)
        except redis.RedisError as exc:
            self.stats.incr("redis_errors")
            if self._observe(ticket, down=True):
                self.stats.incr("outages")
                self.outage_started(exc)
            raise
        self.stats.incr(counter)
        if self._observe(ticket, down=False):
            self.outage_ended()
        return result

    def _observe(self, ticket: int, down: bool) -> bool:
        """Record what command *ticket* saw; True if it changed Redis's up/down state.

        Results are ordered by when their commands were *sent*: a command sent
        before a newer one whose result already moved the state is stale and
        cannot flip it back (a reply that was in flight when Redis died must not
        end the outage that a later command already saw).
        """
        with self._state_lock:
            if ticket < self._state_ticket:
                return False
            self._state_ticket = ticket
            changed = self._redis_down != down
            self._redis_down = down
            return changed

    @property
    def redis_down(self) -> bool:
        """True between a failed Redis command and the next successful one."""
        return self._redis_down

    def outage_started(self, exc: redis.RedisError) -> None:
        """Called once when Redis stops answering; does nothing here."""

    def outage_ended(self) -> None:
        """Called once when Redis answers again after an outage; does nothing here."""
