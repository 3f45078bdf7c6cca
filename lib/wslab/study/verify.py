"""Check a running Flask-SocketIO app the way a user reaches it, WebSockets included.

:func:`run_verify` runs these checks against a base URL, each one a :class:`Check`:

``app``                the base URL answers with a status below 500;
``polling handshake``  ``GET <path>/?EIO=4&transport=polling`` returns an Engine.IO
                       open packet with a ``sid`` (the session is then closed);
``client config``      the client-config endpoint answers 200 with valid JSON;
``websocket``          a direct WebSocket connection (no ``sid`` in the URL, as the
                       incident's browsers connected) opens, exchanges an event and closes;
``polling→upgrade``    a polling connection upgrades to WebSocket, exchanges an event
                       and closes;
``server log``         with a log file: no new 5xx request line and no
                       ``write() before start_response`` record appeared during the checks.

"Exchanges an event" means: the server answered the client's Socket.IO CONNECT
over the WebSocket (direct connection) or answered the Engine.IO probe ping over
it (upgrade), and, when the app has an ``echo`` event that acknowledges (the
demo app does), ``echo`` returned what was sent. An app without ``echo`` passes
on the first part alone; the check's line says which happened.

The failure the incident logged is invisible to the client: the WebSocket works
and Werkzeug logs the 500 only after it has closed. Hence the log check, which
waits (bounded) until the server has logged both WebSocket requests.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import socketio

from wslab.errors import WslabError

DEFAULT_SOCKETIO_PATH = "/socket.io"
DEFAULT_CLIENT_CONFIG = "/api/websocket/client-config"
ECHO_EVENT = "echo"
ECHO_TIMEOUT = 2.0
LOG_SETTLE_TIMEOUT = 10.0
LOG_QUIET = 0.5

#: A request line for a WebSocket transport request, whatever the logging prefix.
_WEBSOCKET_REQUEST = re.compile(rb'transport=websocket[^"\n]* HTTP/[\d.]+(?:\x1b\[[0-9;]*m)*" \d{3} ')


@dataclass
class Check:
    """The outcome of one check: passed, failed or skipped, with one line of detail."""

    name: str
    ok: bool
    detail: str
    skipped: bool = False

    def line(self) -> str:
        """The check as one printable line."""
        mark = "SKIP" if self.skipped else "PASS" if self.ok else "FAIL"
        return f"{mark}  {self.name:<18} {self.detail}"


@dataclass
class VerifyReport:
    """Every check run against one URL."""

    url: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not count)."""
        return all(c.ok or c.skipped for c in self.checks)

    def render(self) -> str:
        """One line per check, then a one-line verdict."""
        ran = [c for c in self.checks if not c.skipped]
        passed = sum(c.ok for c in ran)
        verdict = "OK" if self.ok else "FAILED"
        return "\n".join([c.line() for c in self.checks]
                         + [f"{verdict}: {passed} of {len(ran)} checks passed for {self.url}"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: URL, verdict and every check."""
        return {"url": self.url, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def normalize_url(url: str) -> str:
    """The base URL without a trailing slash; anything but http(s)://host raises WslabError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WslabError(f"not an http(s) URL: {url!r} (e.g. http://127.0.0.1:5000)")
    return url.strip().rstrip("/")


def normalize_path(path: str) -> str:
    """``socket.io/`` → ``/socket.io``: one leading slash, no trailing one."""
    return "/" + path.strip().strip("/")


def check_app(url: str, timeout: float) -> Check:
    """The base URL answers below 500; an unreachable app raises WslabError (exit 1)."""
    try:
        response = requests.get(url + "/", timeout=timeout)
    except requests.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
        raise WslabError(f"cannot reach {url} ({reason}); is the app running?", exit_code=1) from None
    except requests.RequestException as exc:
        raise WslabError(f"cannot reach {url} ({type(exc).__name__})", exit_code=1) from None
    return Check("app", response.status_code < 500, f"GET {response.url} → {response.status_code}")


def check_polling_handshake(url: str, path: str, timeout: float) -> Check:
    """Engine.IO's polling handshake returns an open packet with a sid; the session is closed after."""
    name, endpoint = "polling handshake", f"{url}{path}/"
    try:
        response = requests.get(endpoint, params={"EIO": "4", "transport": "polling"}, timeout=timeout)
        body = response.text
        if response.status_code != 200 or not body.startswith("0{"):
            return Check(name, False, f"GET {path}/?EIO=4&transport=polling → {response.status_code}, "
                         f"no open packet (body {body[:60]!r})")
        handshake = json.loads(body[1:].split("\x1e", 1)[0])
        sid = handshake.get("sid")
        if not sid:
            return Check(name, False, "open packet without a sid")
        requests.post(endpoint, params={"EIO": "4", "transport": "polling", "sid": sid},
                      data="1", timeout=timeout)  # Engine.IO close packet
    except (requests.RequestException, ValueError) as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    return Check(name, True, f"open packet, sid {sid[:8]}…, upgrades {handshake.get('upgrades')}")


def check_client_config(url: str, config_path: str, timeout: float) -> Check:
    """The client-config endpoint answers 200 with valid JSON."""
    name = "client config"
    try:
        response = requests.get(url + config_path, timeout=timeout)
    except requests.RequestException as exc:
        return Check(name, False, f"GET {config_path}: {type(exc).__name__}")
    if response.status_code == 404:
        return Check(name, False, f"GET {config_path} → 404: the app has no client-config endpoint "
                     "there (give its path with --client-config)")
    if response.status_code != 200:
        return Check(name, False, f"GET {config_path} → {response.status_code}")
    try:
        config = response.json()
    except ValueError:
        return Check(name, False, f"GET {config_path} → 200 but not JSON "
                     f"({response.headers.get('Content-Type', 'no content type')})")
    shown = f", transports {config['transports']}" if isinstance(config, dict) and "transports" in config else ""
    return Check(name, True, f"GET {config_path} → 200, valid JSON{shown}")


def _echo(client: socketio.Client) -> str:
    """Call ``echo`` and compare; say so when nothing acknowledges it."""
    payload = {"wslab": uuid.uuid4().hex[:8]}
    try:
        reply = client.call(ECHO_EVENT, payload, timeout=ECHO_TIMEOUT)
    except socketio.exceptions.TimeoutError:
        return f"no '{ECHO_EVENT}' acknowledgement (the app has no such event)"
    if reply != payload:
        raise ValueError(f"'{ECHO_EVENT}' returned {reply!r}, sent {payload!r}")
    return f"'{ECHO_EVENT}' acknowledged"


def _wait_websocket(client: socketio.Client, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while client.transport() != "websocket":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def check_socketio(url: str, path: str, upgrade: bool, timeout: float) -> tuple[Check, bool]:
    """Open a Socket.IO connection (direct WebSocket or polling→upgrade), exchange, close.

    Returns the check and whether a WebSocket request reached the server.
    """
    name = "polling→upgrade" if upgrade else "websocket"
    transports = ["polling", "websocket"] if upgrade else ["websocket"]
    client = socketio.Client(reconnection=False)
    received: list[str] = []
    client.on("*", lambda event, *args: received.append(event))
    opened = False
    try:
        client.connect(url, transports=transports, socketio_path=path, wait_timeout=timeout)
        opened = not upgrade
        if upgrade and not _wait_websocket(client, timeout):
            return Check(name, False, f"connected over polling but no upgrade within {timeout:.0f} s"), False
        opened = True
        how = "CONNECT answered" if not upgrade else "upgraded, probe ping/pong answered"
        exchange = _echo(client)
        client.disconnect()
        if client.connected or client.eio.state != "disconnected":
            return Check(name, False, f"{how}, {exchange}, but it did not close"), opened
    except (socketio.exceptions.SocketIOError, ValueError, OSError) as exc:
        client.disconnect()
        return Check(name, False, f"{type(exc).__name__}: {exc or 'no detail'}"), opened
    events = f", {len(received)} server event(s) ({', '.join(sorted(set(received)))})" if received else ""
    return Check(name, True, f"opened, {how}, {exchange}{events}, closed"), opened


class LogWatch:
    """Remember a log file's size, then read and judge only what was appended after."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise WslabError(f"--log {self.path} is a directory")
        if not self.path.is_file():
            raise WslabError(f"--log {self.path}: no such file (give the log the server writes)")
        self.offset = self.path.stat().st_size

    def new_bytes(self) -> bytes:
        """What was appended since the watch began (all of it if the file was replaced)."""
        with open(self.path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(self.offset if size >= self.offset else 0)
            return handle.read()

    def settle(self, websocket_requests: int, timeout: float = LOG_SETTLE_TIMEOUT) -> tuple[bytes, int]:
        """Wait until *websocket_requests* WebSocket request lines are logged and the file is quiet.

        Werkzeug logs a WebSocket request only once it has closed, then the
        traceback, so this waits for the lines and for :data:`LOG_QUIET` seconds
        without growth, at most *timeout* seconds. Returns the new bytes and the
        number of WebSocket request lines among them.
        """
        deadline = time.monotonic() + timeout
        data, last_change = self.new_bytes(), time.monotonic()
        while True:
            seen = len(_WEBSOCKET_REQUEST.findall(data))
            quiet = time.monotonic() - last_change >= LOG_QUIET
            if (seen >= websocket_requests and quiet) or time.monotonic() > deadline:
                return data, seen
            time.sleep(0.1)
            current = self.new_bytes()
            if current != data:
                data, last_change = current, time.monotonic()

    def check(self, websocket_requests: int, timeout: float = LOG_SETTLE_TIMEOUT) -> Check:
        """No new 5xx request line and no ``write() before start_response`` record."""
        from wslab.logs import scan_summary

        data, seen = self.settle(websocket_requests, timeout)
        summary = scan_summary([data.split(b"\n")], jobs=1)
        errors, asserts = summary["server_errors"], summary["write_before_start_response"]
        where = f"in {self.path} during the checks"
        if errors or asserts:
            statuses = ", ".join(f"{s} ×{n}" for s, n in summary["status_counts"].items() if s[:1] == "5")
            return Check("server log", False, f"{errors} new 5xx request line(s) ({statuses or 'none'}), "
                         f"{asserts} 'write() before start_response' record(s) {where}")
        if seen < websocket_requests:
            return Check("server log", False, f"only {seen} of {websocket_requests} WebSocket request "
                         f"line(s) logged within {timeout:.0f} s; is {self.path} this server's log?")
        return Check("server log", True, f"no 5xx, no 'write() before start_response' among "
                     f"{summary['request_lines']} new request line(s) {where}")


def run_verify(url: str, log: str | Path | None = None, socketio_path: str = DEFAULT_SOCKETIO_PATH,
               client_config: str = DEFAULT_CLIENT_CONFIG, timeout: float = 10.0) -> VerifyReport:
    """Run every check against *url*; bad input raises WslabError before any traffic."""
    url, path, config_path = normalize_url(url), normalize_path(socketio_path), normalize_path(client_config)
    watch = LogWatch(log) if log is not None else None
    report = VerifyReport(url)
    report.checks.append(check_app(url, timeout))
    report.checks.append(check_polling_handshake(url, path, timeout))
    report.checks.append(check_client_config(url, config_path, timeout))
    websocket_requests = 0
    for upgrade in (False, True):
        check, opened = check_socketio(url, path, upgrade, timeout)
        report.checks.append(check)
        websocket_requests += opened
    if watch is None:
        report.checks.append(Check("server log", True, "not checked: give --log FILE (the 500 is "
                                   "only visible in the server's log)", skipped=True))
    else:
        report.checks.append(watch.check(websocket_requests))
    return report
