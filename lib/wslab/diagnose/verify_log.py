"""The server-log check of ``wslab verify``: what the checks' own requests left in the server's log.

Every request the checks make carries ``wslab-verify=<token>`` (:data:`TOKEN_PARAM`) in its
query string, and :class:`LogWatch` reads only the bytes a log gains after the checks start.
The log is read with :mod:`wslab.logs` in the format its opening lines have (Werkzeug, a
gunicorn access or error log, nginx), and the lines whose request carries the token are the
checks' own; other traffic in the same window is left out. :meth:`LogWatch.check` names
what they show (:data:`MEANINGS`):

``incident``      a WebSocket request logged ``500`` and an ``AssertionError: write() before
                  start_response`` traceback (python-engineio < 4.13.4 on Werkzeug)
``debugger``      a WebSocket request logged ``500`` without that traceback: Werkzeug's
                  debugger turned the end of the WebSocket into its error page
``unlogged``      a WebSocket request without a request line, and left-over-bytes ``400``
                  lines (python-engineio >= 4.13.4 on Werkzeug)
``gunicorn``      no line for a WebSocket: gunicorn's access log does not log them
``error-log``     gunicorn's error log, which holds no request lines and may hold nothing

The check fails on a 5xx answer to one of the checks' requests (or a gunicorn ``Error handling
request`` record naming one), and when the log shows none of the checks' requests at all; a
WebSocket without a line of its own is reported with its meaning, never failed.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.errors import WslabError
from wslab.logs.formats import GUNICORN_ACCESS, GUNICORN_ERROR, WERKZEUG, LogFormat, detect_format
from wslab.logs import WRITE_BEFORE_START_RESPONSE, ParsedLog, parse_log

#: The query parameter that marks the checks' requests in the server's log.
TOKEN_PARAM = "wslab-verify"
#: Seconds the log may take to show the checks' lines, WebSocket requests included.
LOG_SETTLE_TIMEOUT = 10.0
#: Seconds without growth after which the log counts as written out.
LOG_QUIET = 0.5
#: Seconds without growth after which a log that lacks some WebSocket line is read as it is.
LOG_GRACE = 3.0
#: How many bytes of a log's head its format is told from.
HEAD_BYTES = 256 << 10
#: The parts of a logged target left out of a detail line: the token and Engine.IO's ``t=``.
_NOISE = re.compile(rf"{TOKEN_PARAM}=[^&\s]*|&t=[\d.]+")

MEANINGS = {
    "incident": ("the incident: Werkzeug answered the WebSocket request with a 500 after it had closed and "
                 "logged 'AssertionError: write() before start_response' (python-engineio < 4.13.4 on "
                 "Werkzeug's server returns from a WebSocket without starting a response); the WebSocket "
                 "itself worked"),
    "debugger": ("a 500 without a 'write() before start_response' traceback: what Werkzeug's debugger "
                 "(debug=True) logs when python-engineio >= 4.13.4 ends a WebSocket by raising "
                 "ConnectionError and the debugger answers with its error page; the WebSocket itself worked"),
    "unlogged": ("no request line for a WebSocket, and left-over-bytes 400 lines ('Bad request syntax', "
                 "'None ... HTTP/0.9'): python-engineio >= 4.13.4 on Werkzeug's server ends a WebSocket by "
                 "raising, and Werkzeug reads the connection's last bytes as a request; harmless"),
    "gunicorn": "gunicorn's access log does not log WebSocket requests (by design)",
    "error-log": ("gunicorn's error log holds no request lines (by design) and may hold nothing; only an "
                  "'Error handling request' record would show a failed request"),
}


@dataclass
class Sent:
    """What the checks sent, for the log check: their token and the WebSockets they opened.

    ``websockets`` holds one entry per WebSocket request that reached the server: its
    Engine.IO ``sid`` for an upgrade, ``None`` for a direct WebSocket.
    """

    token: str
    websockets: list[str | None] = field(default_factory=list)


@dataclass
class LogVerdict:
    """The log check's outcome: passed or not, one line of detail, and what it means."""

    ok: bool
    detail: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Window:
    """The new bytes of a log, parsed, and the rows of the checks' own requests."""

    data: bytes
    fmt: LogFormat
    parsed: ParsedLog
    ours: pd.DataFrame

    def websocket_rows(self) -> pd.DataFrame:
        """The checks' rows naming a WebSocket request (a left-over-bytes line keeps its target)."""
        text = self.ours["request"].astype(str)
        return self.ours[(self.ours["transport"] == "websocket") | text.str.contains("transport=websocket")]

    def logged(self, sid: str | None) -> pd.DataFrame:
        """The checks' rows for the WebSocket with Engine.IO *sid* (``None``: the direct one)."""
        rows = self.websocket_rows()
        text = rows["request"].astype(str)
        if sid is None:
            return rows[~text.str.contains("sid=", regex=False)]
        return rows[text.str.contains(f"sid={sid}", regex=False)]

    def settled(self, sent: Sent) -> bool:
        """Whether the log shows all it will: the checks' lines, and a line (of any kind) for every
        WebSocket the checks opened where the format logs them (gunicorn's logs do not)."""
        if self.fmt is GUNICORN_ERROR:
            return True
        if not len(self.ours):
            return False
        return self.fmt is GUNICORN_ACCESS or all(len(self.logged(sid)) for sid in sent.websockets)


class LogWatch:
    """Remember a log file's size, then read and judge only what was appended after."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise WslabError(f"--log {self.path} is a directory")
        if not self.path.is_file():
            raise WslabError(f"--log {self.path}: no such file (give the log the server writes)")
        try:
            self.offset = self.path.stat().st_size
            with open(self.path, "rb"):
                pass
        except OSError as exc:
            raise WslabError(f"--log {self.path}: cannot read it ({exc.strerror})") from None

    def new_bytes(self) -> bytes:
        """What was appended since the watch began (all of it if the file was replaced)."""
        with open(self.path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(self.offset if size >= self.offset else 0)
            return handle.read()

    def log_format(self, data: bytes) -> LogFormat:
        """The file's format, told from its opening lines (from *data* if it was empty before)."""
        with open(self.path, "rb") as handle:
            head = handle.read(HEAD_BYTES) if self.offset else b""
        return detect_format(head or data)

    def window(self, token: str, data: bytes | None = None) -> _Window:
        """The new bytes parsed, with the rows of the requests that carry *token*."""
        data = self.new_bytes() if data is None else data
        fmt = self.log_format(data)
        parsed = parse_log(io.BytesIO(data), format=fmt)
        requests = parsed.requests
        ours = requests[requests["request"].astype(str).str.contains(f"{TOKEN_PARAM}={token}", regex=False)]
        return _Window(data, fmt, parsed, ours)

    def settle(self, sent: Sent, timeout: float = LOG_SETTLE_TIMEOUT) -> _Window:
        """Wait until the log shows every WebSocket the checks opened and is quiet, at most *timeout* s.

        Werkzeug logs a WebSocket request only once it has closed, and its traceback
        after; some servers never log one. So this returns when each WebSocket has a
        line and the file has not grown for :data:`LOG_QUIET` seconds; when the
        format logs no WebSocket lines (a gunicorn log) and it is quiet; when it has
        been quiet for :data:`LOG_GRACE` seconds with lines still missing; or at
        *timeout*.
        """
        started = time.monotonic()
        deadline = started + timeout
        data, last_change = self.new_bytes(), started
        window = self.window(sent.token, data)
        while True:
            now = time.monotonic()
            quiet = now - last_change
            if quiet >= LOG_QUIET and window.settled(sent):
                return window
            if quiet >= LOG_GRACE or now > deadline:
                return window
            time.sleep(0.1)
            current = self.new_bytes()
            if current != data:
                data, last_change = current, time.monotonic()
                window = self.window(sent.token, data)

    def check(self, sent: Sent, timeout: float = LOG_SETTLE_TIMEOUT) -> LogVerdict:
        """Judge the lines the checks' requests produced (see the module docstring)."""
        return judge(self.settle(sent, timeout), sent, self.path)


def _target(row: Any) -> str:
    """A request's method and target without the checks' token and cache-buster, for a detail line."""
    text = _NOISE.sub("", str(row["request"])).replace("?&", "?")
    return text.rsplit(" ", 1)[0] if " HTTP/" in text else text


def _statuses(rows: pd.DataFrame) -> str:
    counts = rows["status"].value_counts().sort_index()
    return ", ".join(f"{status} ×{n}" for status, n in counts.items()) or "none"


def _judge_error_log(window: _Window, token: str, path: Path) -> LogVerdict:
    errors = window.parsed.errors
    ours = errors[errors["header"].astype(str).str.contains(f"{TOKEN_PARAM}={token}", regex=False)] \
        if len(errors) else errors
    notes = [MEANINGS["error-log"]]
    if len(ours):
        first = ours.iloc[0]
        return LogVerdict(False, f"{len(ours)} 'Error handling request' record(s) for the checks' requests "
                          f"in {path} ({first['error']})", notes)
    others = f"; {len(errors)} traceback record(s) of other requests" if len(errors) else ""
    return LogVerdict(True, f"no error record for the checks' requests in {path} "
                      f"({window.parsed.lines} new line(s), gunicorn error log{others})", notes)


def judge(window: _Window, sent: Sent, path: Path) -> LogVerdict:
    """The verdict on a settled window of the log at *path*."""
    if window.fmt is GUNICORN_ERROR:
        return _judge_error_log(window, sent.token, path)
    ours, label = window.ours, window.fmt.label
    if not len(ours):
        return LogVerdict(False, f"none of the checks' requests appear in {path} ({window.parsed.lines} new "
                          f"line(s), read as a {label} log): is it this server's log?")
    failed = ours[ours["server_error"].astype(bool)]
    if len(failed):
        return _judge_failed(window, failed, path)
    missing = [sid for sid in sent.websockets if not len(_real_requests(window.logged(sid)))]
    leftover = int((ours["method"].isna() & (ours["status"] == "400")).sum())
    notes: list[str] = []
    if missing:
        key = "gunicorn" if window.fmt is GUNICORN_ACCESS else "unlogged" if window.fmt is WERKZEUG else None
        notes.append(MEANINGS[key] if key else f"this {label} log does not show every WebSocket request")
    elif leftover:
        notes.append(MEANINGS["unlogged"])
    websockets = (f"{len(sent.websockets) - len(missing)} of {len(sent.websockets)} WebSocket request(s) logged"
                  + (f", {leftover} left-over-bytes 400 line(s)" if leftover else ""))
    return LogVerdict(True, f"no 5xx among the checks' {len(ours)} request line(s) ({_statuses(ours)}); "
                      f"{websockets}; {label} log {path}", notes)


def _judge_failed(window: _Window, failed: pd.DataFrame, path: Path) -> LogVerdict:
    """The verdict when some of the checks' requests were answered with a 5xx."""
    errors = window.parsed.errors
    if len(errors):
        writes = errors[errors["error"].astype(str).str.contains(WRITE_BEFORE_START_RESPONSE, regex=False)]
        # a traceback paired with one of the failed lines, else one the log left unpaired
        writes = writes[writes["request"].isin(failed.index) | writes["request"].isna()]
    else:
        writes = errors
    on_websocket = failed.index.isin(window.websocket_rows().index)
    notes = []
    if len(writes):
        notes.append(MEANINGS["incident"])
    elif on_websocket.any() and window.fmt is WERKZEUG:
        notes.append(MEANINGS["debugger"])
    if not on_websocket.all():
        notes.append("a 5xx answer to a plain HTTP request of the checks: the app failed on it")
    shown = "; ".join(f"{_target(row)} → {row['status']}" for _, row in failed.iterrows())
    return LogVerdict(False, f"{len(failed)} 5xx line(s) for the checks' requests ({shown}), "
                      f"{len(writes)} 'write() before start_response' record(s) in {path}", notes)


def _real_requests(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows that are real request lines (not Werkzeug's left-over-bytes lines)."""
    return rows[rows["method"].notna()]
