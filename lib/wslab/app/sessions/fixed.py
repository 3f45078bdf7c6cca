"""The write-up's fixed Redis session interface.

``open_session`` runs the write-up's WebSocket/Engine.IO detection
(:func:`wslab.app.detection.writeup_decision`) and, when it fires, logs
``Skipping session creation for WebSocket request: <path>`` and returns an
empty session without an id.  ``save_session`` runs the write-up's save-time
detection (:func:`wslab.app.detection.writeup_save_decision`, which adds
``response is None``) and skips saving and cookies when it fires.

Every other request gets Flask's session semantics, kept server-side:

* the cookie holds only the session id, signed with the app's secret key;
  a missing, forged or unreadable cookie starts a fresh session;
* cookie name and attributes come from the ``SESSION_COOKIE_*`` config,
  ``Expires`` and ``SESSION_REFRESH_EACH_REQUEST`` follow Flask's helpers,
  ``Vary: Cookie`` is added whenever the session was accessed;
* nothing is written for a session that holds nothing, and a session emptied
  by the request deletes both its Redis key and the cookie;
* the signature accepts the current secret key and, as Flask 3.1 does, any key
  in ``SECRET_KEY_FALLBACKS``; a cookie signed with a fallback key is set
  again, signed with the current key, when the session is saved;
* ``SESSION_COOKIE_PARTITIONED`` applies where Flask has it (3.1 and newer);
* ``session.accessed`` records what the application did: the interface's own
  reads while saving (``session.permanent`` for the expiry) do not set it;
* when Redis fails the page is still served with an
  :class:`~wslab.app.sessions.base.UnavailableSession`, one warning is logged per
  outage, and the cookie is left alone so the stored session survives.  A
  session the request emptied, such as a log-out, still loses its cookie, and
  the stored keys it could not delete are deleted as soon as Redis answers again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import Flask, Request, Response, has_request_context
from flask import request as current_request
from itsdangerous import BadSignature, Signer

from wslab.app.detection import RequestHead, writeup_decision, writeup_save_decision
from wslab.app.sessions.base import (
    DEFAULT_KEY_PREFIX,
    RedisSession,
    RedisSessionStore,
    UnavailableSession,
    is_valid_sid,
    new_sid,
)

logger = logging.getLogger("wslab.app.sessions")

#: The itsdangerous salt that separates session-id signatures from other uses of the key.
SIGNER_SALT = "wslab.app.sessions.sid"

#: How many session ids, at most, wait for their keys to be deleted after an outage.
MAX_PENDING_DELETES = 10_000


class RedisSessionInterface(RedisSessionStore):
    """Redis-backed Flask sessions with the write-up's WebSocket detection."""

    def __init__(self, redis_client: redis.Redis, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        super().__init__(redis_client, key_prefix=key_prefix)
        self._pending_lock = threading.Lock()
        self._pending_deletes: dict[str, None] = {}

    def signing_keys(self, app: Flask) -> list[str | bytes]:
        """Return the keys that may have signed a cookie, the current secret key last.

        The keys of ``SECRET_KEY_FALLBACKS`` come first, in their order, as
        Flask 3.1 hands them to itsdangerous (which signs with the last one).
        """
        keys: list[str | bytes] = list(app.config.get("SECRET_KEY_FALLBACKS") or ())
        keys.append(app.secret_key)
        return keys

    def signer(self, app: Flask, current_only: bool = False) -> Signer | None:
        """Return the signer for session-id cookies, or None if the app has no secret key.

        It signs with the current secret key and accepts a signature by that key
        or, unless *current_only*, by any key of ``SECRET_KEY_FALLBACKS``.
        """
        if not app.secret_key:
            return None
        keys = [app.secret_key] if current_only else self.signing_keys(app)
        return Signer(keys, salt=SIGNER_SALT, key_derivation="hmac",
                      digest_method=hashlib.sha256)

    def sign_sid(self, app: Flask, sid: str) -> str:
        """Return the cookie value for *sid*: the id and its signature."""
        signer = self.signer(app)
        if signer is None:
            raise RuntimeError("the session is unavailable because no secret key was set")
        return signer.sign(sid).decode("ascii")

    def unsign_sid(self, app: Flask, value: Any) -> str | None:
        """Return the session id in cookie *value*, or None if it is missing, forged or malformed."""
        return self.read_cookie(app, value)[0]

    def read_cookie(self, app: Flask, value: Any) -> tuple[str | None, bool]:
        """Return the session id in cookie *value* (or None) and whether a fallback key signed it."""
        current = self.signer(app, current_only=True)
        if current is None or not isinstance(value, str) or not value:
            return None, False
        by_fallback = False
        try:
            try:
                raw = current.unsign(value)
            except BadSignature:
                if not app.config.get("SECRET_KEY_FALLBACKS"):
                    return None, False
                raw = self.signer(app).unsign(value)  # type: ignore[union-attr]
                by_fallback = True
            sid = raw.decode("ascii")
        except (BadSignature, UnicodeError):
            return None, False
        return (sid, by_fallback) if is_valid_sid(sid) else (None, False)

    def open_session(self, app: Flask, request: Request) -> RedisSession | None:
        """Return the visitor's session, an id-less one for WebSocket requests, or a fresh one."""
        if writeup_decision(request).is_websocket:
            self.stats.incr("skipped_websocket")
            logger.info("Skipping session creation for WebSocket request: %s", request.path)
            return self.session_class(sid=None, new=False)
        if not app.secret_key:
            return None
        sid, by_fallback = self.read_cookie(app, request.cookies.get(self.get_cookie_name(app)))
        if sid is None:
            return self.session_class(sid=new_sid(), new=True)
        if self.waiting_for_delete(sid):
            if not self.redis_down:
                self.flush_pending_deletes()
            return self.session_class(sid=new_sid(), new=True)
        try:
            data = self.load(sid)
        except redis.RedisError:
            return UnavailableSession(stored_sid=sid)
        except (ValueError, TypeError) as exc:
            logger.warning("Discarding unreadable session data: %s", exc)
            data = None
        if data is None:
            return self.session_class(sid=new_sid(), new=True)
        opened = self.session_class(data, sid=sid)
        opened.resign_cookie = by_fallback
        return opened

    def save_session(self, app: Flask, session: RedisSession, response: Response | None) -> None:
        """Store the session and set its cookie as Flask would, unless the request is WebSocket.

        ``session.accessed`` is left as the request left it: what this method
        reads to decide on the cookie does not count as an access.
        """
        source = current_request if has_request_context() else RequestHead()
        if writeup_save_decision(source, response).is_websocket:
            self.stats.incr("skipped_websocket_saves")
            return
        accessed = session.accessed
        try:
            if isinstance(session, UnavailableSession):
                self.save_unavailable(app, session, response)
            elif getattr(session, "sid", None) is not None:
                self.save_stored(app, session, response)
        finally:
            session.accessed = accessed

    def save_stored(self, app: Flask, session: RedisSession, response: Response) -> None:
        """Write, refresh or delete a session that has an id, and set or delete its cookie."""
        name = self.get_cookie_name(app)
        options = self.cookie_options(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                if not self.write(self.discard_unless_new, session):
                    self.delete_later(self.stale_sids(session))
                response.delete_cookie(name, **options)
                response.vary.add("Cookie")
            return
        if not (self.should_set_cookie(app, session) or session.resign_cookie):
            return
        persist = self.store if session.modified else self.touch
        if not self.write(persist, app, session):
            return
        response.set_cookie(name, self.sign_sid(app, session.sid),
                            expires=self.get_expiration_time(app, session), **options)
        response.vary.add("Cookie")

    def save_unavailable(self, app: Flask, session: UnavailableSession, response: Response) -> None:
        """Leave the cookie alone during an outage, unless the request emptied the session.

        An emptied session (a log-out) deletes the cookie, and the session its
        cookie named is deleted from Redis now or, if Redis is still down, as
        soon as it answers again.
        """
        if session or not session.modified:
            return
        if session.stored_sid is not None:
            self.delete_later([session.stored_sid])
        response.delete_cookie(self.get_cookie_name(app), **self.cookie_options(app))
        response.vary.add("Cookie")

    def stale_sids(self, session: RedisSession) -> list[str]:
        """Return the ids whose keys an emptied *session* should have deleted."""
        sids = [] if session.new or session.sid is None else [session.sid]
        if session.previous_sid is not None:
            sids.append(session.previous_sid)
        return sids

    def delete_later(self, sids: Iterable[str]) -> None:
        """Delete the keys of *sids* now if Redis answers, else as soon as it does again.

        While Redis is known to be down nothing is tried; the ids wait (at most
        :data:`MAX_PENDING_DELETES`, the oldest dropped first: their keys still
        expire with their TTL) until :meth:`outage_ended`, and a cookie naming
        a waiting id opens a fresh session instead of loading the old one.
        """
        with self._pending_lock:
            for sid in sids:
                self._pending_deletes[sid] = None
            while len(self._pending_deletes) > MAX_PENDING_DELETES:
                del self._pending_deletes[next(iter(self._pending_deletes))]
        if not self.redis_down:
            self.flush_pending_deletes()

    def flush_pending_deletes(self) -> None:
        """Try to delete every key waiting since an outage; keep them waiting if Redis fails."""
        with self._pending_lock:
            sids = list(self._pending_deletes)
        if not sids:
            return
        try:
            self.call("redis_deletes", self.redis.delete, *(self.redis_key(sid) for sid in sids))
        except redis.RedisError:
            return
        with self._pending_lock:
            for sid in sids:
                self._pending_deletes.pop(sid, None)

    def waiting_for_delete(self, sid: str) -> bool:
        """True if *sid* was emptied (logged out) during an outage and its key is not yet deleted."""
        with self._pending_lock:
            return sid in self._pending_deletes

    @property
    def pending_deletes(self) -> list[str]:
        """The session ids whose keys wait to be deleted once Redis answers."""
        with self._pending_lock:
            return list(self._pending_deletes)

    def discard_unless_new(self, session: RedisSession) -> None:
        """Delete a stored session's key; a new one only drops a regenerated id's old key."""
        if session.new:
            self.forget_previous(session)
        else:
            self.discard(session)

    def write(self, operation: Callable[..., None], *args: Any) -> bool:
        """Run a Redis write; return False instead of raising when Redis fails."""
        try:
            operation(*args)
        except redis.RedisError:
            return False
        return True

    def outage_started(self, exc: redis.RedisError) -> None:
        """Log the one warning of this outage."""
        logger.warning("Redis is unavailable, serving pages without sessions: %s", exc)

    def outage_ended(self) -> None:
        """Log that sessions work again, then delete the keys that waited for it."""
        logger.info("Redis is reachable again, sessions restored")
        self.flush_pending_deletes()
