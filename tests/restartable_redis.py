"""A private redis-server for fault tests: stop it, restart it on the same port, keep its data."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from wslab.lab.redis_backend import free_port
from wslab.waiting import wait_until


class RestartableRedis:
    """A private redis-server with an fsynced append-only file, restartable on one port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.clients: list[redis.Redis] = []

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (again) on the same port and directory and wait for PING."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.workdir), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process = self.process
        probe = redis.Redis(port=self.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))

        def answers() -> bool:
            try:
                return probe.ping()
            except redis.ConnectionError:
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited at start "
                                       f"(exit {process.returncode}; see {self.workdir / 'redis.log'})") from None
                return False

        with probe:
            wait_until(answers, timeout, what=f"redis-server on port {self.port} answering PING")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server with *sig* and wait for the process to exit."""
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        """A client that fails fast while the server is down; closed by :meth:`close`."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=1,
                             retry=Retry(NoBackoff(), 0))
        self.clients.append(client)
        return client

    def close(self) -> None:
        """Close every client handed out and kill the server if it is running."""
        for client in self.clients:
            client.close()
        if self.process is not None:
            self.stop(signal.SIGKILL)
