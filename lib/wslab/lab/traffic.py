"""Simulated users on real clients: ``requests`` sessions and the python-socketio client.

Each simulated user has its own cookie jar and does a fixed sequence, so the
counts of what is sent are deterministic:

* every user signs in (``GET /login``, ``POST /login`` → ``302`` → ``GET /``);
* a Socket.IO user then fetches ``/api/websocket/client-config``, connects with
  its transport, waits for the server's ``welcome`` notification, calls
  ``remember`` (a session write from inside a Socket.IO handler), disconnects
  and asks ``/whoami`` whether that write reached the HTTP session;
* a plain HTTP user loads ``/whoami`` and signs out (``POST /logout`` → ``302`` →
  ``GET /login``).

Each Socket.IO client connects with its user name in the URL's query
(``?wslab_conn=websocket-003``, see :data:`CONNECTION_PARAM`); the server's
access lines repeat it, so each WebSocket line can be joined with the client
that made it (:mod:`wslab.study.runs.outcomes`).

Transports: ``websocket`` (direct WebSocket, no ``sid`` in the URL, like the
incident's browser client), ``upgrade`` (polling handshake, then upgrade to
WebSocket) and ``polling`` (long-polling only).

:func:`run_workload` runs the users on a thread pool and, when given a
:class:`~wslab.lab.stack.LabStack`, returns only after the server has finished
and logged every connection.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import requests
import socketio
from wslab.progress import Bar

from wslab.errors import WslabError

Kind = Literal["websocket", "upgrade", "polling", "http"]

#: The query parameter that names a Socket.IO connection in its request lines.
CONNECTION_PARAM = "wslab_conn"

TRANSPORTS: dict[str, list[str]] = {
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
    "polling": ["polling"],
}


@dataclass(frozen=True)
class Workload:
    """How many users of each kind, and how many run at once."""

    ws_users: int = 0
    upgrade_users: int = 0
    polling_users: int = 0
    http_users: int = 0
    concurrency: int = 16
    timeout: float = 10.0

    def __post_init__(self) -> None:
        counts = (self.ws_users, self.upgrade_users, self.polling_users, self.http_users)
        if any(n < 0 for n in counts):
            raise WslabError("user counts must be zero or more")
        if self.concurrency < 1:
            raise WslabError("concurrency must be at least 1")

    def users(self) -> list[tuple[str, Kind]]:
        """Every simulated user as ``(name, kind)``, in a fixed order."""
        plan: list[tuple[str, Kind]] = []
        for kind, count in (("websocket", self.ws_users), ("upgrade", self.upgrade_users),
                            ("polling", self.polling_users), ("http", self.http_users)):
            plan += [(f"{kind}-{i:03d}", kind) for i in range(count)]
        return plan


@dataclass
class UserResult:
    """What one simulated user sent and saw."""

    user: str
    kind: Kind
    http_statuses: Counter = field(default_factory=Counter)
    socketio_connected: bool = False
    transport_used: str | None = None
    seen_by_connect_handler: str | None = None
    remember_acked: bool = False
    remembered_over_http: bool | None = None
    notifications: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def http_requests(self) -> int:
        """HTTP requests this user's ``requests`` session made (redirects included)."""
        return sum(self.http_statuses.values())


@dataclass
class TrafficReport:
    """What a workload sent, per user and in total."""

    workload: Workload
    users: list[UserResult]
    seconds: float

    def totals(self) -> dict[str, Any]:
        """Aggregate counts: users and connections per kind, HTTP statuses, client errors."""
        statuses: Counter = Counter()
        for u in self.users:
            statuses.update(u.http_statuses)
        connections = Counter(u.kind for u in self.users if u.socketio_connected)
        return {
            "users": dict(Counter(u.kind for u in self.users)),
            "socketio_connections": {k: connections.get(k, 0) for k in TRANSPORTS},
            "http_requests": sum(statuses.values()),
            "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
            "notifications": sum(u.notifications for u in self.users),
            "session_seen_by_connect": sum(1 for u in self.users
                                           if u.kind != "http" and u.seen_by_connect_handler == u.user),
            "socketio_write_seen_over_http": sum(1 for u in self.users if u.remembered_over_http),
            "client_errors": sum(1 for u in self.users if u.error),
            "seconds": round(self.seconds, 2),
        }

    def errors(self) -> list[str]:
        """One line per user whose client reported an error."""
        return [f"{u.user}: {u.error}" for u in self.users if u.error]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {"workload": asdict(self.workload), "totals": self.totals(),
                "users": [dict(asdict(u), http_statuses=dict(u.http_statuses)) for u in self.users]}


def _get(http: requests.Session, result: UserResult, method: str, url: str, **kw: Any) -> requests.Response:
    response = http.request(method, url, timeout=10, **kw)
    for step in (*response.history, response):
        result.http_statuses[step.status_code] += 1
    return response


def _sign_in(http: requests.Session, base: str, result: UserResult) -> None:
    _get(http, result, "GET", base + "/login")
    _get(http, result, "POST", base + "/login", data={"user": result.user})


def _socketio_user(http: requests.Session, base: str, result: UserResult, timeout: float) -> None:
    _get(http, result, "GET", base + "/api/websocket/client-config")
    welcome = threading.Event()
    client = socketio.Client(http_session=http, reconnection=False)

    @client.on("notification")
    def on_notification(data: dict) -> None:
        result.notifications += 1
        if data.get("kind") == "welcome":
            result.seen_by_connect_handler = data.get("user")
            welcome.set()

    try:
        client.connect(f"{base}?{CONNECTION_PARAM}={result.user}", transports=TRANSPORTS[result.kind],
                       wait_timeout=timeout)
        result.socketio_connected = True
        if not welcome.wait(timeout):
            raise TimeoutError("no welcome notification")
        ack = client.call("remember", f"note-from-{result.user}", timeout=timeout)
        result.remember_acked = bool(ack and ack.get("stored"))
        result.transport_used = client.transport()
    finally:
        client.disconnect()
    whoami = _get(http, result, "GET", base + "/whoami").json()
    result.remembered_over_http = whoami.get("remembered") == f"note-from-{result.user}"


def _http_user(http: requests.Session, base: str, result: UserResult) -> None:
    _get(http, result, "GET", base + "/whoami")
    _get(http, result, "POST", base + "/logout")


def run_user(base_url: str, user: str, kind: Kind, timeout: float = 10.0) -> UserResult:
    """Run one simulated user against *base_url*; client errors are recorded, not raised."""
    result = UserResult(user, kind)
    started = time.monotonic()
    with requests.Session() as http:
        try:
            _sign_in(http, base_url, result)
            if kind == "http":
                _http_user(http, base_url, result)
            else:
                _socketio_user(http, base_url, result, timeout)
        except Exception as exc:  # noqa: BLE001 - a failing client is a measurement
            result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result


def run_workload(target: Any, workload: Workload, progress: bool = False,
                 idle_timeout: float = 60.0) -> TrafficReport:
    """Run every user of *workload* against *target* (a base URL or a running LabStack).

    With a stack, waits until the server has finished and logged every
    connection before returning (the 500 for a direct WebSocket is logged only
    after the connection has closed).
    """
    base_url = target if isinstance(target, str) else target.url
    plan = workload.users()
    results: list[UserResult] = []
    started = time.monotonic()
    bar = Bar(total=len(plan), desc="simulated users", unit="user", file=sys.stderr,
               leave=False) if progress else None
    with ThreadPoolExecutor(max_workers=workload.concurrency, thread_name_prefix="wslab-user") as pool:
        futures = [pool.submit(run_user, base_url, name, kind, workload.timeout) for name, kind in plan]
        for future in as_completed(futures):
            results.append(future.result())
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if not isinstance(target, str):
        target.wait_idle(idle_timeout)
    order = {name: i for i, (name, _) in enumerate(plan)}
    results.sort(key=lambda r: order[r.user])
    return TrafficReport(workload, results, time.monotonic() - started)
