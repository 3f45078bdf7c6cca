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
* when Redis fails the page is still served with an
  :class:`~wslab.app.sessions.base.UnavailableSession`, one warning is logged per
  outage, and the cookie is left alone so the stored session survives (a
  session the request emptied, such as a log-out, still loses its cookie).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, Request, Response, has_request_context
from flask import request as current_request
from itsdangerous import BadSignature, Signer

from wslab.app.detection import RequestHead, writeup_decision, writeup_save_decision
from wslab.app.sessions.base import (
    RedisSession,
    RedisSessionStore,
    UnavailableSession,
    is_valid_sid,
    new_sid,
)

logger = logging.getLogger("wslab.app.sessions")

#: The itsdangerous salt that separates session-id signatures from other uses of the key.
SIGNER_SALT = "wslab.app.sessions.sid"


class RedisSessionInterface(RedisSessionStore):
    """Redis-backed Flask sessions with the write-up's WebSocket detection."""

    def signer(self, app: Flask) -> Signer | None:
        """Return the signer for session-id cookies, or None if the app has no secret key."""
        if not app.secret_key:
            return None
        return Signer(app.secret_key, salt=SIGNER_SALT, key_derivation="hmac",
                      digest_method=hashlib.sha256)

    def sign_sid(self, app: Flask, sid: str) -> str:
        """Return the cookie value for *sid*: the id and its signature."""
        signer = self.signer(app)
        if signer is None:
            raise RuntimeError("the session is unavailable because no secret key was set")
        return signer.sign(sid).decode("ascii")

    def unsign_sid(self, app: Flask, value: Any) -> str | None:
        """Return the session id in cookie *value*, or None if it is missing, forged or malformed."""
        signer = self.signer(app)
        if signer is None or not isinstance(value, str) or not value:
            return None
        try:
            sid = signer.unsign(value).decode("ascii")
        except (BadSignature, UnicodeError):
            return None
        return sid if is_valid_sid(sid) else None

    def open_session(self, app: Flask, request: Request) -> RedisSession | None:
        """Return the visitor's session, an id-less one for WebSocket requests, or a fresh one."""
        if writeup_decision(request).is_websocket:
            self.stats.incr("skipped_websocket")
            logger.info("Skipping session creation for WebSocket request: %s", request.path)
            return self.session_class(sid=None, new=False)
        if not app.secret_key:
            return None
        sid = self.unsign_sid(app, request.cookies.get(self.get_cookie_name(app)))
        if sid is None:
            return self.session_class(sid=new_sid(), new=True)
        try:
            data = self.load(sid)
        except redis.RedisError:
            return UnavailableSession()
        except (ValueError, TypeError) as exc:
            logger.warning("Discarding unreadable session data: %s", exc)
            data = None
        if data is None:
            return self.session_class(sid=new_sid(), new=True)
        return self.session_class(data, sid=sid)

    def save_session(self, app: Flask, session: RedisSession, response: Response | None) -> None:
        """Store the session and set its cookie as Flask would, unless the request is WebSocket."""
        source = current_request if has_request_context() else RequestHead()
        if writeup_save_decision(source, response).is_websocket:
            self.stats.incr("skipped_websocket_saves")
            return
        if isinstance(session, UnavailableSession) or getattr(session, "sid", None) is None:
            return
        name = self.get_cookie_name(app)
        options = self.cookie_options(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                self.write(self.discard_unless_new, session)
                response.delete_cookie(name, **options)
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        persist = self.store if session.modified else self.touch
        if not self.write(persist, app, session):
            return
        response.set_cookie(name, self.sign_sid(app, session.sid),
                            expires=self.get_expiration_time(app, session), **options)
        response.vary.add("Cookie")

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
        """Log that sessions work again."""
        logger.info("Redis is reachable again, sessions restored")
