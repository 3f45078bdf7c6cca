"""The server protocol: a server added in one place runs a matrix cell with nothing in study/ touched.

The second implementation lives in this file: the standard library's ``wsgiref``
server, threaded, registered under a test name for one test.  ``wsgiref`` speaks
plain HTTP only: it gives the app no socket, so python-engineio cannot turn a
request into a WebSocket and fails it (a ``RuntimeError`` and a ``500``).  A
direct WebSocket client therefore never connects, and an upgrading client stays
on long-polling after its upgrade request failed.  The expected counts come from
what the workload sent and from this file's own regular expressions over the
raw log, never from the kit's log parser.
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import pytest
import requests

from wslab.errors import WslabError
from wslab.lab import servers
from wslab.lab.servers import AppSpec, IdleReport, Server
from wslab.lab.stack import LabStack
from wslab.model.servers import SERVERS
from wslab.study.versions.cellrun import check_server, run_one
from wslab.waiting import wait_until

TEST_SERVER = "wsgiref-threaded"

#: One access line as this file's server writes it (Werkzeug's shape: ``host - - [date] "request" status size``).
ACCESS = re.compile(r'^\S+ - - \[[^\]]+\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ',
                    re.M)
#: The last line of python-engineio's traceback when the server gives it no socket to upgrade.
NO_SOCKET = re.compile(r"^RuntimeError: Cannot obtain socket from WSGI environment\.$", re.M)


# -- the second implementation --------------------------------------------------------------------

class _HTTPServer(socketserver.ThreadingMixIn, WSGIServer):
    """``wsgiref``'s server, one thread per request, counting requests and the exceptions that left the app."""

    daemon_threads = True

    def __init__(self, port: int, log: Any) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.log, self.log_lock = log, threading.Lock()
        self.in_flight = self.handled = 0
        self.raised: Counter[str] = Counter()
        self.idle = threading.Condition()

    def write(self, text: str) -> None:
        with self.log_lock:
            self.log.write(text)
            self.log.flush()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.idle:
            self.in_flight += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.idle:
                self.in_flight, self.handled = self.in_flight - 1, self.handled + 1
                self.idle.notify_all()

    def counting(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def counted(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
            try:
                return app(environ, start_response)
            except Exception as exc:
                with self.idle:
                    self.raised[type(exc).__name__] += 1
                raise
        return counted


class _Traceback(StringIO):
    """One request's ``wsgi.errors``: written to the log in one piece when flushed."""

    def __init__(self, server: _HTTPServer) -> None:
        super().__init__()
        self.server = server

    def flush(self) -> None:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        if text:
            self.server.write(text)


class _Handler(WSGIRequestHandler):
    """Access lines and tracebacks go to the server's log instead of stderr."""

    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        self.server.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}\n")

    def get_stderr(self) -> _Traceback:
        return _Traceback(self.server)


class WsgirefServer(Server):
    """A :class:`~wslab.lab.servers.base.Server` on ``wsgiref``: the app built in this process."""

    def __init__(self, app: AppSpec, log_path: Path, *, port: int = 0) -> None:
        self.app, self.log_path, self.port = app, Path(log_path), port
        self.http: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log: Any = None

    def start(self) -> WsgirefServer:
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a", encoding="utf-8")
            self.http = _HTTPServer(self.port, self._log)
            self.http.set_app(self.http.counting(self.app.build().app))
            self._thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()
            wait_until(lambda: requests.get(self.url + "/healthz", timeout=2).ok, 10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.http is not None:
            if self._thread is not None:
                self.http.shutdown()
                self._thread.join(timeout)
            with self.http.idle:
                self.http.idle.wait_for(lambda: self.http.in_flight == 0, timeout)
            self.http.server_close()
        if self._log is not None:
            self._log.close()
        self.http, self._thread, self._log = None, None, None

    @property
    def url(self) -> str:
        return "(stopped)" if self.http is None else f"http://127.0.0.1:{self.http.server_port}"

    @property
    def logs(self) -> list[Path]:
        return [self.log_path]

    def wait_idle(self, timeout: float = 30.0) -> IdleReport:
        with self.http.idle:
            if not self.http.idle.wait_for(lambda: self.http.in_flight == 0, timeout):
                raise WslabError(f"{self.http.in_flight} request(s) still open after {timeout:.0f} s")
            raised = {f"raised: {name}": n for name, n in sorted(self.http.raised.items())}
            return IdleReport(self.http.in_flight, self.http.handled, raised)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test server in the registry, for this test only."""
    monkeypatch.setitem(servers.REGISTRY, TEST_SERVER, WsgirefServer)
    return TEST_SERVER


# -- the tests ------------------------------------------------------------------------------------

def test_the_registry_has_every_server_name_of_the_model():
    assert tuple(servers.REGISTRY) == SERVERS == ("werkzeug", "werkzeug-debug", "gunicorn-gthread")
    assert servers.server_names() == SERVERS


def test_an_unknown_server_is_one_clear_error():
    message = "unknown server 'apache' (choose from werkzeug, werkzeug-debug, gunicorn-gthread)"
    with pytest.raises(WslabError) as caught:
        check_server("apache")
    assert str(caught.value) == message
    with pytest.raises(WslabError) as caught:
        LabStack("before", server="apache")
    assert str(caught.value) == message


def test_the_app_spec_travels_to_a_child_and_back():
    spec = AppSpec("guard", "redis://127.0.0.1:6379/0", "wslab:test:session:", ("polling", "websocket"))
    assert AppSpec.from_environ(spec.environ()) == spec
    assert spec.environ() == {"WSLAB_VARIANT": "guard", "WSLAB_REDIS_URL": "redis://127.0.0.1:6379/0",
                              "WSLAB_KEY_PREFIX": "wslab:test:session:",
                              "WSLAB_PAGE_TRANSPORTS": "polling,websocket"}
    assert AppSpec("before", "fakeredis").redis_url is None
    assert AppSpec.from_environ({}).variant.name == "before"


def test_a_registered_server_runs_a_matrix_cell(registered, tmp_path, no_leaks):
    users = 2
    row = run_one("protocol", "before", registered, tmp_path / "logs", users, redis_url="fakeredis")

    log = (tmp_path / "logs" / "protocol-before.log").read_text(encoding="utf-8")
    lines = [m.groupdict() for m in ACCESS.finditer(log)]
    def websocket_lines(kind: str) -> list[dict[str, str]]:
        return [r for r in lines if "transport=websocket" in r["target"] and f"wslab_conn={kind}-" in r["target"]]
    direct, upgrade = websocket_lines("websocket"), websocket_lines("upgrade")
    # what the workload sent: each client asked once for a WebSocket, the upgraders after polling (with a sid)
    assert len(direct) == len(upgrade) == users
    assert not any("sid=" in r["target"] for r in direct) and all("sid=" in r["target"] for r in upgrade)
    # wsgiref gave the app no socket: every WebSocket request failed with one 500 and one RuntimeError
    assert {r["status"] for r in direct + upgrade} == {"500"}
    assert len(NO_SOCKET.findall(log)) == 2 * users
    # the upgraders carried on polling: each one's messages were posted and answered
    posted = [r for r in lines if r["method"] == "POST" and "wslab_conn=upgrade-" in r["target"]]
    assert {re.search(r"wslab_conn=([\w-]+)", r["target"])[1] for r in posted} == {
        f"upgrade-{i:03d}" for i in range(users)}
    assert {r["status"] for r in posted} == {"200"}

    assert row["server"] == registered
    assert row["direct"] == {"connections": users, "status_500": users, "status_101": 0, "status_200": 0,
                             "status_400": 0, "not_logged": 0, "write_before_start_response": 0}
    assert row["upgrade"] == {"connections": users, "status_500": users, "status_101": 0, "status_200": 0,
                              "status_400": 0, "not_logged": 0, "write_before_start_response": 0}
    assert row["socketio_users"] == 2 * users
    assert row["client_errors"] == users  # the direct clients, which never connected
    assert row["session_visible_in_handler"] == users  # the upgraders', over polling
    assert row["bad_request_syntax_lines"] == 0
    assert row["server_side"] == {"raised: RuntimeError": 2 * users}
    assert row["logs"] == ["protocol-before.log"]
    assert set(row) == {"cell", "variant", "server", "werkzeug", "flask", "flask_socketio", "python_socketio",
                        "python_engineio", "simple_websocket", "direct", "upgrade", "bad_request_syntax_lines",
                        "session_visible_in_handler", "socketio_users", "client_errors", "server_side", "logs"}
    assert servers.REGISTRY[registered] is WsgirefServer  # registered here, nowhere in study/


def test_the_stack_composes_the_registered_server(registered, tmp_path, no_leaks):
    with LabStack("no-session", log_path=tmp_path / "stack.log", server=registered) as stack:
        assert isinstance(stack.server, WsgirefServer) and stack.server.pids == []
        assert requests.get(stack.url + "/whoami", timeout=5).json() == {"user": None, "remembered": None}
        idle = stack.wait_idle(10)
        url = stack.url
    assert idle.in_flight == 0
    # the readiness probe and the request above, as the raw log shows them
    assert [(m["target"], m["status"]) for m in ACCESS.finditer((tmp_path / "stack.log").read_text())] == [
        ("/healthz", "200"), ("/whoami", "200")]
    assert idle.handled == 2 and idle.server_side == {}
    assert stack.url == "(stopped)" and url.startswith("http://127.0.0.1:")
