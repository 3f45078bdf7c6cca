"""Check a running Flask-SocketIO app the way a user reaches it, WebSockets included.

:func:`run_verify` runs these checks against a base URL, each one a :class:`Check`.
By default only what every Flask-SocketIO app has is judged:

``polling handshake``  ``GET <path>/?EIO=4&transport=polling`` returns an Engine.IO
                       open packet with a ``sid`` (the session is then closed);
``websocket``          a direct WebSocket connection (no ``sid`` in the URL, as the
                       incident's browsers connected) opens, its Socket.IO CONNECT
                       is answered, and it closes cleanly;
``polling→upgrade``    a polling connection is connected, upgrades to WebSocket and
                       closes cleanly;
``server log``         with a log file: what the checks' own requests left in it
                       (:mod:`wslab.diagnose.verify_log`).

Only when asked:

``event``              ``event=NAME``: the event is emitted (with ``payload``) over both
                       connections and passes when an acknowledgement arrives on each,
                       whatever it holds (the line shows what arrived);
``client config``      ``client_config=PATH``: the app's client-config route answers
                       200 with valid JSON (the kit's demo app has one).

The app being unreachable is no check but an error (:class:`~wslab.errors.WslabError`).
The failure the incident logged is invisible to the client: the WebSocket works and
Werkzeug logs the 500 only after it has closed. Hence the log check.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import socketio

from wslab.diagnose.verify_log import LOG_SETTLE_TIMEOUT, TOKEN_PARAM, LogWatch, Sent
from wslab.errors import WslabError
from wslab.waiting import WaitTimeout, wait_until

DEFAULT_SOCKETIO_PATH = "/socket.io"
#: The kit's demo app's client-config route, for ``--client-config`` without a path.
DEMO_CLIENT_CONFIG = "/api/websocket/client-config"
#: What ``--event`` sends when no ``--payload`` is given.
DEFAULT_PAYLOAD: Any = {"wslab": "verify"}
SHOWN_WIDTH = 80

LogPaths = str | Path | list[str | Path] | tuple[str | Path, ...]


@dataclass
class Check:
    """The outcome of one check: passed, failed or skipped, one line of detail, and notes."""

    name: str
    ok: bool
    detail: str
    skipped: bool = False
    #: What the outcome means, printed under the check's line.
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The check as one printable line, its notes indented below it."""
        mark = "SKIP" if self.skipped else "PASS" if self.ok else "FAIL"
        return "\n".join([f"{mark}  {self.name:<18} {self.detail}", *(f"      → {n}" for n in self.notes)])


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
        """One line per check (and its notes), then a one-line verdict."""
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


def parse_payload(text: str) -> Any:
    """The ``--payload`` value as JSON; one clear error when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WslabError(f"--payload is not JSON ({exc.msg} at character {exc.pos}): {text!r}") from None


def _shown(value: Any) -> str:
    """*value* as JSON, cut to :data:`SHOWN_WIDTH` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_WIDTH else text[:SHOWN_WIDTH - 1] + "…"


def _unreachable(url: str, exc: requests.RequestException) -> WslabError:
    """The one-line error for an app that does not answer at all."""
    if isinstance(exc, requests.ConnectionError) and "refused" in str(exc).lower():
        return WslabError(f"cannot reach {url} (connection refused); is the app running?", exit_code=1)
    return WslabError(f"cannot reach {url} ({type(exc).__name__})", exit_code=1)


def check_polling_handshake(url: str, path: str, timeout: float, token: str = "") -> Check:
    """Engine.IO's polling handshake returns an open packet with a sid; the session is closed after.

    An app that does not answer at all (refused, timed out) raises WslabError (exit 1).
    """
    name, endpoint = "polling handshake", f"{url}{path}/"
    marked = {TOKEN_PARAM: token} if token else {}
    try:
        response = requests.get(endpoint, params={**marked, "EIO": "4", "transport": "polling"}, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _unreachable(url, exc) from None
    except requests.RequestException as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    body = response.text
    if response.status_code != 200 or not body.startswith("0{"):
        hint = f" (no Engine.IO at {path}; give its path with --socketio-path)" if response.status_code == 404 else ""
        return Check(name, False, f"GET {path}/?EIO=4&transport=polling → {response.status_code}, "
                     f"no open packet (body {body[:60]!r}){hint}")
    try:
        handshake = json.loads(body[1:].split("\x1e", 1)[0])
        sid = handshake.get("sid")
        if not sid:
            return Check(name, False, "open packet without a sid")
        requests.post(endpoint, params={**marked, "EIO": "4", "transport": "polling", "sid": sid},
                      data="1", timeout=timeout)  # Engine.IO close packet
    except (requests.RequestException, ValueError, AttributeError) as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    return Check(name, True, f"open packet, sid {sid[:8]}…, upgrades {handshake.get('upgrades')}")


def check_client_config(url: str, config_path: str, timeout: float, token: str = "") -> Check:
    """The client-config route answers 200 with valid JSON."""
    name = "client config"
    try:
        response = requests.get(url + config_path, params={TOKEN_PARAM: token} if token else None,
                                timeout=timeout)
    except requests.RequestException as exc:
        return Check(name, False, f"GET {config_path}: {type(exc).__name__}")
    if response.status_code == 404:
        return Check(name, False, f"GET {config_path} → 404: the app has no client-config route there")
    if response.status_code != 200:
        return Check(name, False, f"GET {config_path} → {response.status_code}")
    try:
        config = response.json()
    except ValueError:
        return Check(name, False, f"GET {config_path} → 200 but not JSON "
                     f"({response.headers.get('Content-Type', 'no content type')})")
    shown = f", transports {config['transports']}" if isinstance(config, dict) and "transports" in config else ""
    return Check(name, True, f"GET {config_path} → 200, valid JSON{shown}")


@dataclass
class EventCall:
    """An event round trip asked for: its name, what it sends, and what arrived on each connection."""

    name: str
    payload: Any = field(default_factory=lambda: DEFAULT_PAYLOAD)
    #: Connection check name → ``(acknowledged, what arrived or why not)``.
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)

    def call(self, client: socketio.Client, connection: str, timeout: float) -> None:
        """Emit the event over *client* and record whether an acknowledgement arrived."""
        try:
            reply = client.call(self.name, self.payload, timeout=timeout)
        except socketio.exceptions.TimeoutError:
            self.results[connection] = (False, f"no acknowledgement within {timeout:g} s")
        except socketio.exceptions.SocketIOError as exc:
            self.results[connection] = (False, f"{type(exc).__name__}: {exc or 'no detail'}")
        else:
            self.results[connection] = (True, "no data" if reply is None else _shown(reply))

    def check(self, connections: list[str]) -> Check:
        """The ``event`` check over *connections* (those not reached say so)."""
        parts, ok = [], True
        for connection in connections:
            acked, what = self.results.get(connection, (False, "not sent (the connection failed)"))
            ok = ok and acked
            parts.append(f"over {connection}: {'acknowledged with ' if acked else ''}{what}")
        return Check("event", ok, f"'{self.name}' sent {_shown(self.payload)}; " + "; ".join(parts))


def _wait_websocket(client: socketio.Client, timeout: float) -> bool:
    """Whether *client* is on the WebSocket transport within *timeout* seconds."""
    try:
        return wait_until(lambda: client.transport() == "websocket", timeout)
    except WaitTimeout:
        return False


def check_socketio(url: str, path: str, upgrade: bool, timeout: float, token: str = "",
                   event: EventCall | None = None) -> tuple[Check, list[str | None]]:
    """Open a Socket.IO connection (direct WebSocket or polling→upgrade), connect, close.

    With *event*, the event is emitted once connected over the WebSocket. Returns the
    check and the WebSocket requests that reached the server: the Engine.IO sid of an
    upgrade, ``None`` for a direct WebSocket.
    """
    name = "polling→upgrade" if upgrade else "websocket"
    transports = ["polling", "websocket"] if upgrade else ["websocket"]
    client = socketio.Client(reconnection=False)
    received: list[str] = []
    client.on("*", lambda event_name, *args: received.append(event_name))
    opened: list[str | None] = []
    target = f"{url}/?{TOKEN_PARAM}={token}" if token else url
    try:
        client.connect(target, transports=transports, socketio_path=path, wait_timeout=timeout)
        if not upgrade:
            opened.append(None)
        elif _wait_websocket(client, timeout):
            opened.append(client.eio.sid)
        else:
            client.disconnect()
            return Check(name, False, f"connected over polling but no upgrade within {timeout:g} s"), opened
        how = "Socket.IO CONNECT answered" if not upgrade else "connected over polling, upgraded"
        if event is not None:
            event.call(client, name, timeout)
        closing = time.monotonic()
        client.disconnect()
        closed_in = time.monotonic() - closing
        if client.connected or client.eio.state != "disconnected":
            return Check(name, False, f"opened, {how}, but it did not close"), opened
    except (socketio.exceptions.SocketIOError, ValueError, OSError) as exc:
        client.disconnect()
        return Check(name, False, f"{type(exc).__name__}: {exc or 'no detail'}"), opened
    events = f", {len(received)} server event(s) ({', '.join(sorted(set(received)))})" if received else ""
    return Check(name, True, f"opened, {how}{events}, closed cleanly in {closed_in:.1f} s"), opened


def _log_paths(log: LogPaths | None) -> list[Path]:
    if log is None:
        return []
    return [Path(p) for p in log] if isinstance(log, (list, tuple)) else [Path(log)]


def run_verify(url: str, log: LogPaths | None = None, socketio_path: str = DEFAULT_SOCKETIO_PATH,
               client_config: str | None = None, timeout: float = 10.0, event: str | None = None,
               payload: Any = DEFAULT_PAYLOAD, log_timeout: float = LOG_SETTLE_TIMEOUT) -> VerifyReport:
    """Run the checks against *url* and return them; bad input raises WslabError before any traffic.

    :param log: the server's log file (or several: gunicorn's access and error logs),
        each judged on the lines the checks' requests add to it.
    :param socketio_path: where the app serves Socket.IO.
    :param client_config: a client-config route to check (default: none).
    :param timeout: seconds per request, per connection and per acknowledgement.
    :param event: an event to emit over both connections (default: none), with *payload*.
    :param log_timeout: at most this many seconds to wait for the log's lines.
    """
    url, path = normalize_url(url), normalize_path(socketio_path)
    config_path = normalize_path(client_config) if client_config is not None else None
    if event is not None and not event.strip():
        raise WslabError("--event needs an event name")
    watches = [LogWatch(p) for p in _log_paths(log)]
    token = uuid.uuid4().hex[:12]
    call = EventCall(event, payload) if event is not None else None
    report = VerifyReport(url)
    report.checks.append(check_polling_handshake(url, path, timeout, token))
    if config_path is not None:
        report.checks.append(check_client_config(url, config_path, timeout, token))
    sent = Sent(token)
    connections = []
    for upgrade in (False, True):
        check, opened = check_socketio(url, path, upgrade, timeout, token, call)
        report.checks.append(check)
        connections.append(check.name)
        sent.websockets.extend(opened)
    if call is not None:
        report.checks.append(call.check(connections))
    if not watches:
        report.checks.append(Check("server log", True, "not checked: give --log FILE (the incident's 500 "
                                   "is only visible in the server's log)", skipped=True))
    for watch in watches:
        verdict = watch.check(sent, log_timeout)
        report.checks.append(Check("server log", verdict.ok, verdict.detail, notes=verdict.notes))
    return report
