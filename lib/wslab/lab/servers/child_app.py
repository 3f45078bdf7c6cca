"""The demo app as a WSGI application built in a child process from its environment.

A server that runs the app in a child process (gunicorn, and any other that
loads a WSGI entry point) loads it through the factory :func:`make_application`::

    python -m gunicorn -k gthread -w 1 --threads 16 'wslab.lab.servers.child_app:make_application()'

The app is described by the environment variables of
:meth:`wslab.lab.servers.base.AppSpec.environ`; each has a default, so the
line above works on its own:

``WSLAB_VARIANT``          the variant's name (see :mod:`wslab.app.variants`), default ``before``
``WSLAB_REDIS_URL``        a ``redis://`` URL, or ``fakeredis`` (the default) for an
                           in-process fake inside the child
``WSLAB_KEY_PREFIX``       the prefix of the session keys, default ``wslab:session:``
``WSLAB_PAGE_TRANSPORTS``  comma-separated transports the client config names, default
                           the app's own (``websocket``)

The app is wrapped in :class:`InFlightCounter`, which answers
:data:`INFLIGHT_PATH` with JSON saying how many requests are still inside the
app, so the process that started the child can wait until every connection,
WebSocket sessions included, has ended (the in-process Werkzeug server counts
the same thing in :class:`wslab.lab.servers.werkzeug.LabServer`).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from wslab.lab.servers.base import AppSpec

#: The one lab-only path the wrapper answers itself; every other path goes to the app.
INFLIGHT_PATH = "/_wslab/inflight"
#: What a child-process server loads: the factory that builds the app from the environment.
ENTRY_POINT = "wslab.lab.servers.child_app:make_application()"

#: How a request left the app when it returned normally (otherwise: the exception's class name).
RETURNED = "returned"

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class InFlightCounter:
    """WSGI middleware counting the requests that are inside the wrapped app.

    A request counts from the moment the app is called until its response
    iterable is closed, or until the call raises.  A WebSocket served by
    python-engineio runs its whole session inside that call, so it counts for
    as long as the session lasts.  How each request left is tallied in
    ``outcomes``: ``"returned"``, or the class name of the exception that
    escaped (python-engineio ends a WebSocket under gunicorn by raising
    ``StopIteration``).  :data:`INFLIGHT_PATH` is answered here with
    ``{"in_flight": n, "handled": n, "outcomes": {...}}`` and is not counted.
    """

    def __init__(self, app: WSGIApp, path: str = INFLIGHT_PATH) -> None:
        self.app = app
        self.path = path
        self.in_flight = 0
        self.handled = 0
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request, counting it while the app holds it."""
        if environ.get("PATH_INFO") == self.path:
            return self._report(start_response)
        with self._lock:
            self.in_flight += 1
        try:
            result = self.app(environ, start_response)
        except BaseException as exc:
            self._leave(type(exc).__name__)
            raise
        return _ClosingIterable(result, lambda: self._leave(RETURNED))

    def snapshot(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        with self._lock:
            return {"in_flight": self.in_flight, "handled": self.handled,
                    "outcomes": dict(sorted(self.outcomes.items()))}

    def _leave(self, outcome: str) -> None:
        with self._lock:
            self.in_flight -= 1
            self.handled += 1
            self.outcomes[outcome] += 1

    def _report(self, start_response: Callable[..., Any]) -> list[bytes]:
        body = json.dumps(self.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
        return [body]


class _ClosingIterable:
    """The app's response iterable, calling *on_close* once when the server closes it."""

    def __init__(self, result: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._result = result
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        """Close the app's iterable (as WSGI requires), then report the request as ended."""
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def make_application(env: Mapping[str, str] | None = None) -> InFlightCounter:
    """Build the demo app described by *env* (default :data:`os.environ`), wrapped for the lab.

    The server calls it once in its worker.  A Redis URL that does not answer
    raises :class:`wslab.errors.WslabError`, which stops the worker from booting.
    """
    return InFlightCounter(AppSpec.from_environ(os.environ if env is None else env).build().app)
