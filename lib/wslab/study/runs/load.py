"""Load: N concurrent users for T seconds, with latencies and Redis round trips per request.

:func:`run_load` runs one *phase* per kind of traffic in *mix*, one after the
other, each with *users* concurrent users for *seconds*:

``pages``
    Each user has its own ``requests`` session.  Even-numbered users repeat
    :data:`PAGE_CYCLE` (sign in, which writes the session; ``/whoami`` and
    ``/``, which read it); odd-numbered ones are anonymous visitors repeating
    :data:`VISITOR_CYCLE`.  Redirects are not followed, so every HTTP request
    is one sample.
``websocket`` / ``polling``
    Each user signs in first (outside the measured window), then connects with
    the python-socketio client over that transport and calls the ``echo`` and
    ``remember`` events in turn until time is up.  Samples are the connect and
    every acknowledged call.

Given a running :class:`~wslab.lab.stack.LabStack`, each phase also records the
HTTP requests the server handled and the change in the session interface's
Redis counters (``interface.stats``), so Redis commands per request can be told
apart for page and Socket.IO traffic.  Given only a URL it measures latencies.

Every phase is bounded by time (*seconds*) and by count (*max_per_user*).
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import requests
import socketio

from wslab.errors import WslabError
from wslab.lab.traffic import TRANSPORTS

#: The kinds of traffic a phase can run.
PHASES: tuple[str, ...] = ("pages", "websocket", "polling")

#: What a page user requests, over and over: ``(method, path)``.
PAGE_CYCLE: tuple[tuple[str, str], ...] = (
    ("POST", "/login"),
    ("GET", "/whoami"),
    ("GET", "/"),
    ("GET", "/whoami"),
)

#: What an anonymous visitor requests, over and over.
VISITOR_CYCLE: tuple[tuple[str, str], ...] = (
    ("GET", "/"),
    ("GET", "/whoami"),
)

#: Redis counters that are commands sent to Redis.
REDIS_COMMANDS: tuple[str, ...] = ("redis_reads", "redis_writes", "redis_deletes", "redis_errors")


@dataclass(frozen=True)
class Sample:
    """One request: when it started (``time.monotonic()``), how long it took, its status.

    *status* is the HTTP status for pages, 200 for an answered Socket.IO
    connect or call, and 0 when the client failed (timeout, refused, ...).
    """

    phase: str
    user: int
    what: str
    started: float
    seconds: float
    status: int


@dataclass
class PhaseResult:
    """What one phase sent and measured.

    *seconds* runs from the phase's start to the end of its last sample
    (closing connections afterwards is not counted).
    """

    phase: str
    users: int
    started: float
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_requests: int | None = None
    redis: dict[str, int] | None = None

    @property
    def requests(self) -> int:
        """Requests made (page requests, or Socket.IO connects and calls)."""
        return len(self.samples)

    @property
    def throughput(self) -> float:
        """Requests per second of wall time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def statuses(self) -> Counter:
        """How many samples had each status."""
        return Counter(s.status for s in self.samples)

    def server_errors(self) -> int:
        """Samples answered with a 5xx status."""
        return sum(1 for s in self.samples if s.status >= 500)

    def latency_ms(self, percentile: float) -> float:
        """The *percentile* (0–100) of request latency in milliseconds; NaN without samples."""
        if not self.samples:
            return float("nan")
        return float(np.percentile([s.seconds * 1000 for s in self.samples], percentile))

    def redis_commands(self) -> int | None:
        """Redis commands the session interface sent during the phase (None without a stack)."""
        if self.redis is None:
            return None
        return sum(self.redis[name] for name in REDIS_COMMANDS)

    def per_request(self, counter: str) -> float | None:
        """A Redis counter (or ``"commands"`` for all of them) divided by the request count."""
        if self.redis is None or not self.requests:
            return None
        value = self.redis_commands() if counter == "commands" else self.redis[counter]
        return value / self.requests

    def summary(self) -> dict[str, Any]:
        """One row of figures for this phase."""
        return {
            "phase": self.phase, "users": self.users, "seconds": round(self.seconds, 2),
            "requests": self.requests, "req_per_s": round(self.throughput, 1),
            "p50_ms": round(self.latency_ms(50), 2), "p99_ms": round(self.latency_ms(99), 2),
            "5xx": self.server_errors(), "client_errors": len(self.errors),
            "server_requests": self.server_requests,
            "redis_commands": self.redis_commands(),
            "reads_per_req": self.per_request("redis_reads"),
            "writes_per_req": self.per_request("redis_writes"),
            "deletes_per_req": self.per_request("redis_deletes"),
            "commands_per_req": self.per_request("commands"),
        }


@dataclass
class LoadResult:
    """The phases of one :func:`run_load` call."""

    url: str
    phases: dict[str, PhaseResult]
    variant: str | None = None
    redis: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per phase: requests, req/s, p50/p99 ms, 5xx, Redis commands per request."""
        return pd.DataFrame([p.summary() for p in self.phases.values()]).set_index("phase")

    def samples(self) -> pd.DataFrame:
        """Every sample, with ``at`` = seconds since the first phase started."""
        rows = [vars(s) for p in self.phases.values() for s in p.samples]
        frame = pd.DataFrame(rows, columns=list(Sample.__dataclass_fields__))
        if rows:
            frame["at"] = frame["started"] - min(p.started for p in self.phases.values())
        return frame


def _page_user(base: str, index: int, deadline: float, max_requests: int,
               timeout: float, phase: PhaseResult) -> list[Sample]:
    samples: list[Sample] = []
    cycle = PAGE_CYCLE if index % 2 == 0 else VISITOR_CYCLE
    with requests.Session() as http:
        for n in range(max_requests):
            if time.monotonic() >= deadline:
                break
            method, path = cycle[n % len(cycle)]
            data = {"user": f"load-{index:03d}"} if method == "POST" else None
            started = time.monotonic()
            try:
                status = http.request(method, base + path, data=data, timeout=timeout,
                                      allow_redirects=False).status_code
            except requests.RequestException as exc:
                status = 0
                phase.errors.append(f"user {index}: {type(exc).__name__}: {exc}")
            samples.append(Sample("pages", index, f"{method} {path}", started,
                                  time.monotonic() - started, status))
    return samples


def _sign_in(base: str, index: int, timeout: float) -> requests.Session:
    http = requests.Session()
    http.post(base + "/login", data={"user": f"load-{index:03d}"}, timeout=timeout,
              allow_redirects=False)
    return http


def _socketio_user(base: str, index: int, http: requests.Session, transport: str, deadline: float,
                   max_requests: int, timeout: float, phase: PhaseResult) -> list[Sample]:
    samples: list[Sample] = []
    client = socketio.Client(http_session=http, reconnection=False)
    started = time.monotonic()
    try:
        client.connect(base, transports=TRANSPORTS[transport], wait_timeout=timeout)
        samples.append(Sample(transport, index, "connect", started, time.monotonic() - started, 200))
        for n in range(max_requests - 1):
            if time.monotonic() >= deadline:
                break
            event = "echo" if n % 2 == 0 else "remember"
            started = time.monotonic()
            client.call(event, f"{index}-{n}", timeout=timeout)
            samples.append(Sample(transport, index, event, started, time.monotonic() - started, 200))
    except Exception as exc:  # noqa: BLE001 - a failing client is a measurement
        samples.append(Sample(transport, index, "error", started, time.monotonic() - started, 0))
        phase.errors.append(f"user {index}: {type(exc).__name__}: {exc}")
    finally:
        client.disconnect()
    return samples


def _counters(stack: Any) -> tuple[int, dict[str, int] | None]:
    """The server's handled-request count and the session interface's counters."""
    stats = getattr(stack.demo.app.session_interface, "stats", None)
    return stack.server.handled, (stats.snapshot() if stats is not None else None)


def _run_phase(target: Any, kind: str, users: int, seconds: float, max_per_user: int,
               timeout: float, idle_timeout: float) -> PhaseResult:
    base = target if isinstance(target, str) else target.url
    stack = None if isinstance(target, str) else target
    sessions: list[requests.Session] = []
    try:
        if kind != "pages":
            with ThreadPoolExecutor(max_workers=users, thread_name_prefix="wslab-load") as pool:
                sessions = list(pool.map(lambda i: _sign_in(base, i, timeout), range(users)))
        if stack is not None:
            stack.wait_idle(idle_timeout)
            handled_before, redis_before = _counters(stack)
        phase = PhaseResult(kind, users, time.monotonic(), 0.0)
        deadline = phase.started + seconds
        with ThreadPoolExecutor(max_workers=users, thread_name_prefix="wslab-load") as pool:
            if kind == "pages":
                futures = [pool.submit(_page_user, base, i, deadline, max_per_user, timeout, phase)
                           for i in range(users)]
            else:
                futures = [pool.submit(_socketio_user, base, i, sessions[i], kind, deadline,
                                       max_per_user, timeout, phase) for i in range(users)]
            for future in futures:
                phase.samples.extend(future.result())
        ends = [s.started + s.seconds for s in phase.samples]
        phase.seconds = (max(ends) if ends else time.monotonic()) - phase.started
    finally:
        for http in sessions:
            http.close()
    if stack is not None:
        stack.wait_idle(idle_timeout)
        handled_after, redis_after = _counters(stack)
        phase.server_requests = handled_after - handled_before
        if redis_before is not None:
            phase.redis = {k: redis_after[k] - redis_before[k] for k in redis_after}
    return phase


def run_load(target: Any, users: int, seconds: float, mix: tuple[str, ...] = ("pages",),
             max_per_user: int = 10_000, timeout: float = 10.0,
             idle_timeout: float = 30.0) -> LoadResult:
    """Run *users* concurrent users for *seconds* per phase in *mix* against *target*.

    *target* is a running :class:`~wslab.lab.stack.LabStack` (adds server request
    counts and Redis counter deltas per phase) or a base URL.  Phases run in
    the order given; each user stops at the phase's deadline or after
    *max_per_user* requests, whichever comes first.
    """
    unknown = [kind for kind in mix if kind not in PHASES]
    if unknown or not mix:
        raise WslabError(f"unknown load phase(s) {unknown} (choose from {', '.join(PHASES)})")
    if users < 1 or seconds <= 0 or max_per_user < 1:
        raise WslabError("users, seconds and max_per_user must be positive")
    if not isinstance(target, str) and getattr(target, "server", None) is None:
        raise WslabError("the lab stack is not running")
    phases = {kind: _run_phase(target, kind, users, seconds, max_per_user, timeout, idle_timeout)
              for kind in mix}
    url = target if isinstance(target, str) else target.url
    if isinstance(target, str):
        return LoadResult(url, phases)
    redis = target.redis.description if target.redis is not None else None
    return LoadResult(url, phases, target.variant.name, redis)

