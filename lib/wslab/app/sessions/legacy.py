"""The "old" Redis session interface, as such interfaces were commonly written.

It knows nothing about WebSocket or Engine.IO requests.  Every request gets a
session id (a new one when the cookie is missing or names no stored session),
every response writes the session to Redis and sets the cookie, even when the
session holds nothing.  The cookie carries the bare, unsigned session id; a
cookie not shaped like a session id is ignored rather than looked up.  Redis
errors are not handled: they propagate to Flask.

It is kept deliberately naive so its behaviour can be measured next to
:class:`wslab.app.sessions.fixed.RedisSessionInterface`.
"""

from __future__ import annotations

from flask import Flask, Request, Response

from wslab.app.sessions.base import (
    RedisSession,
    RedisSessionStore,
    is_valid_sid,
    new_sid,
)


class LegacyRedisSessionInterface(RedisSessionStore):
    """Open or create a session for every request and always store it and set the cookie."""

    def open_session(self, app: Flask, request: Request) -> RedisSession:
        """Load the session named by the cookie, or start a new one."""
        sid = request.cookies.get(self.get_cookie_name(app))
        if is_valid_sid(sid):
            data = self.load(sid)
            if data is not None:
                return self.session_class(data, sid=sid)
        return self.session_class(sid=new_sid(), new=True)

    def save_session(self, app: Flask, session: RedisSession, response: Response) -> None:
        """Store the session and set the cookie; a session emptied by the request is deleted."""
        name = self.get_cookie_name(app)
        options = self.cookie_options(app)
        if not session and session.modified:
            self.discard(session)
            response.delete_cookie(name, **options)
            return
        self.store(app, session)
        response.set_cookie(name, session.sid, expires=self.get_expiration_time(app, session),
                            **options)
