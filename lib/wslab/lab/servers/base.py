"""The server protocol: what the kit needs from any server it runs the demo app under.

A server implementation is a subclass of :class:`Server` whose constructor (or
a class method) is a :class:`ServerFactory`: it is built from

*app*
    an :class:`AppSpec`, the demo app to serve.  A server that calls the app in
    this process builds it with :meth:`AppSpec.build`; one that runs it in a
    child process hands the child :meth:`AppSpec.environ`, from which
    :func:`wslab.lab.servers.child_app.make_application` builds the same app
    there.
*log_path*
    where its log goes.  A server with one log writes that file; one with
    several names them after it, in the same folder
    (:func:`named_after`: ``<stem>-access.log``, ``<stem>-error.log``).
*port*
    the 127.0.0.1 port, 0 for an ephemeral one.

and is then a context manager: started on enter (ready once the app answers
``/healthz``), fully stopped on exit, also after an exception::

    with factory(AppSpec("before"), Path("out/cell.log")) as server:
        run_workload(server.url, workload)
        idle = server.wait_idle(60)       # an IdleReport, once no request is inside the app
        print(server.logs, server.pids, idle.server_side)

The registry in :mod:`wslab.lab.servers` has one factory per server name.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from wslab.app.demo import DEFAULT_KEY_PREFIX, DemoApp, create_app
from wslab.app.variants import Variant, get_variant
from wslab.lab.redis_backend import FAKE, open_redis

#: The environment variables a child process builds the app from (see :meth:`AppSpec.environ`).
ENV_VARIANT = "WSLAB_VARIANT"
ENV_REDIS_URL = "WSLAB_REDIS_URL"
ENV_KEY_PREFIX = "WSLAB_KEY_PREFIX"
ENV_PAGE_TRANSPORTS = "WSLAB_PAGE_TRANSPORTS"


def fresh_key_prefix() -> str:
    """A session-key prefix no other run uses, e.g. ``wslab:1f2e3d4c:session:``."""
    return f"wslab:{secrets.token_hex(4)}:session:"


@dataclass(frozen=True)
class AppSpec:
    """The demo app a server serves, described so that this process or a child can build it.

    :param variant: the variant (or its name).
    :param redis_url: a ``redis://`` URL for the Redis-session variants;
        ``None`` (or ``"fakeredis"``) for an in-process fake in the process
        that builds the app.
    :param key_prefix: the session keys' prefix, default a fresh random one.
    :param page_transports: the transports the client config names, ``None``
        for the app's own.
    :param builder: how this process builds the app when the caller owns its
        Redis (:class:`wslab.lab.stack.LabStack` passes its own); default:
        connect to the URL (or fakeredis) and create the app.
    """

    variant: Variant | str
    redis_url: str | None = None
    key_prefix: str = field(default_factory=fresh_key_prefix)
    page_transports: tuple[str, ...] | None = None
    builder: Callable[[AppSpec], DemoApp] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.variant, str):
            object.__setattr__(self, "variant", get_variant(self.variant))
        if self.redis_url == FAKE:
            object.__setattr__(self, "redis_url", None)
        if self.page_transports is not None:
            object.__setattr__(self, "page_transports", tuple(self.page_transports))

    def build(self) -> DemoApp:
        """Build the app in this process (its Flask app is the WSGI callable to serve).

        A Redis URL that does not answer raises :class:`wslab.errors.WslabError`.
        """
        if self.builder is not None:
            return self.builder(self)
        redis = open_redis(self.redis_url or FAKE, allow_child=False, allow_fake=False)
        return create_app(self.variant, redis.client, key_prefix=self.key_prefix,
                          page_transports=list(self.page_transports) if self.page_transports else None)

    def environ(self) -> dict[str, str]:
        """The environment variables from which a child process builds this app."""
        return {ENV_VARIANT: self.variant.name, ENV_REDIS_URL: self.redis_url or FAKE,
                ENV_KEY_PREFIX: self.key_prefix, ENV_PAGE_TRANSPORTS: ",".join(self.page_transports or ())}

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> AppSpec:
        """The app :meth:`environ` describes; every variable has a default (``before``, fakeredis)."""
        transports = [t for t in env.get(ENV_PAGE_TRANSPORTS, "").split(",") if t]
        return cls(env.get(ENV_VARIANT) or "before", env.get(ENV_REDIS_URL) or None,
                   env.get(ENV_KEY_PREFIX) or DEFAULT_KEY_PREFIX, tuple(transports) or None)


@dataclass(frozen=True)
class IdleReport:
    """What a server counted when no request was inside the app any more.

    ``server_side`` is what the server saw that its log may not show, as
    ``"<kind>: <class name>"`` → count, sorted by key: under Werkzeug
    ``dropped: <error>`` for requests whose connection broke and
    ``reported: <exception>`` for tracebacks written to ``wsgi.errors`` (the
    debugger's); under gunicorn ``raised: <exception>`` for the exceptions that
    left the app (python-engineio ends a WebSocket with ``StopIteration``).
    """

    in_flight: int  #: requests inside the app (0 once idle)
    handled: int  #: requests the server finished since it started
    server_side: dict[str, int] = field(default_factory=dict)


class Server:
    """A server running the demo app: the protocol every implementation follows.

    Subclasses implement :meth:`start`, :meth:`stop`, :attr:`url`,
    :attr:`logs` and :meth:`wait_idle`; a server that starts processes also
    :attr:`pids`.  :meth:`stop` is safe to call twice and after a failed
    :meth:`start`.
    """

    def start(self) -> Server:
        """Start serving; return once the app answers.  A failure stops what was started."""
        raise NotImplementedError

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving and end every connection, waiting up to *timeout* seconds; safe to call twice."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:43121``; ``(stopped)`` when not running."""
        raise NotImplementedError

    @property
    def logs(self) -> list[Path]:
        """The server's log files, in the order they are parsed."""
        raise NotImplementedError

    @property
    def pids(self) -> list[int]:
        """The processes serving, recorded with :mod:`wslab.lab.pids`; empty in this process."""
        return []

    def wait_idle(self, timeout: float = 30.0) -> IdleReport:
        """Wait until no request, WebSocket sessions included, is inside the app and all are logged.

        :raises WslabError: requests are still open after *timeout* seconds.
        """
        raise NotImplementedError

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerFactory(Protocol):
    """Builds a (not yet started) server for *app*, logging to *log_path*, on *port*."""

    def __call__(self, app: AppSpec, log_path: Path, *, port: int = 0) -> Server: ...


def named_after(log_path: Path, *suffixes: str) -> list[Path]:
    """The log files of a server with several: ``<stem>-<suffix>.log`` next to *log_path*."""
    return [log_path.parent / f"{log_path.stem}-{suffix}.log" for suffix in suffixes]
