"""Where the lab's Redis comes from, in order of preference.

1. ``REDIS_URL`` (or an explicit URL): a server you run; it must answer PING.
2. A ``redis-server`` child process on a free 127.0.0.1 port, if the binary is
   on ``PATH``; it keeps nothing on disk and is stopped on :meth:`RedisHandle.close`.
3. fakeredis in-process, so a laptop needs nothing installed.

:func:`open_redis` says which one it picked in :attr:`RedisHandle.kind` and
:attr:`RedisHandle.description`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Literal

import redis

from wslab.errors import WslabError
from wslab.lab import pids
from wslab.waiting import WaitTimeout, wait_until

Kind = Literal["url", "redis-server", "fakeredis"]

#: Pass this as the URL to ask for in-process fakeredis.
FAKE = "fakeredis"


@dataclass
class RedisHandle:
    """A Redis client plus what it talks to; close it to stop a child server."""

    client: redis.Redis
    kind: Kind
    url: str | None
    process: subprocess.Popen | None = field(default=None, repr=False)
    workdir: str | None = field(default=None, repr=False)

    @property
    def description(self) -> str:
        """One line saying which Redis is in use."""
        if self.kind == "url":
            return f"Redis at {self.url} (REDIS_URL)"
        if self.kind == "redis-server":
            return f"redis-server child process at {self.url}"
        return "fakeredis (in-process; set REDIS_URL to use a real server)"

    def close(self) -> None:
        """Close the client and stop the child server, if any. Safe to call twice."""
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing must never raise
            pass
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None:
            pids.unregister(self.process.pid)
        self.process = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> RedisHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connect_url(url: str, timeout: float = 2.0) -> redis.Redis:
    """Connect to *url* and PING it; raise :class:`WslabError` with one clear line if it fails."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise WslabError(f"Redis at {url} is unreachable: {exc}") from None
    return client


def start_redis_server(binary: str = "redis-server", timeout: float = 10.0) -> RedisHandle:
    """Start a throw-away ``redis-server`` on a free loopback port and wait until it answers."""
    path = shutil.which(binary)
    if path is None:
        raise WslabError(f"{binary} not found on PATH")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wslab-redis-")
    process = subprocess.Popen(
        [path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--logfile", os.path.join(workdir, "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    pids.register(process.pid, "redis-server child")
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    handle = RedisHandle(client, "redis-server", url, process, workdir)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            if process.poll() is not None:
                raise WaitTimeout("redis-server exited") from None
            return False

    try:
        wait_until(answers, timeout, what="redis-server answering")
    except WaitTimeout:
        handle.close()
        raise WslabError(f"redis-server on port {port} did not start") from None
    return handle


def open_redis(url: str | None = None, allow_child: bool = True, allow_fake: bool = True) -> RedisHandle:
    """Open the best Redis available: *url* or ``REDIS_URL``, a child server, then fakeredis.

    The special *url* ``"fakeredis"`` asks for the in-process fake directly.
    """
    url = url or os.environ.get("REDIS_URL") or None
    if url == FAKE:
        return _fake()
    if url:
        return RedisHandle(connect_url(url), "url", url)
    if allow_child and shutil.which("redis-server"):
        return start_redis_server()
    if allow_fake:
        return _fake()
    raise WslabError("no Redis: set REDIS_URL or install redis-server")


def _fake() -> RedisHandle:
    import fakeredis

    return RedisHandle(fakeredis.FakeRedis(), "fakeredis", None)
