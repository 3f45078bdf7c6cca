"""A pytest plugin that runs Flask's own tests with the kit's Redis sessions.

Loaded with ``-p flask_suite_plugin`` by ``test_sessions_flask_suite.py`` into
a pytest run over test files taken from Flask's source distribution.  Every
test gets a fresh :class:`~wslab.app.sessions.RedisSessionInterface` on its own
fakeredis server as ``flask.Flask.session_interface``, the default every app
inherits (a test that sets its own interface keeps it).  At the end it prints
one line, ``kit sessions: opened=N saved=M``, so the caller can see the kit's
interface really served the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import _pytest.monkeypatch
import fakeredis
import flask
import pytest
from flask import Flask, Request, Response

from wslab.app.sessions import RedisSession, RedisSessionInterface

# Flask's conftest (2.3 and 3.1) reads ``monkeypatch.notset``, which newer pytest
# spells ``NOTSET``; give it the old name so the conftest runs unchanged.
if not hasattr(_pytest.monkeypatch, "notset"):
    _pytest.monkeypatch.notset = _pytest.monkeypatch.NOTSET  # type: ignore[attr-defined]

_counts_lock = threading.Lock()
_counts = {"opened": 0, "saved": 0}


class SuiteSessionInterface(RedisSessionInterface):
    """The kit's interface, counting the sessions it opens and saves for the summary line."""

    def open_session(self, app: Flask, request: Request) -> RedisSession | None:
        """Open the session as the kit does and count it."""
        opened = super().open_session(app, request)
        if opened is not None:
            with _counts_lock:
                _counts["opened"] += 1
        return opened

    def save_session(self, app: Flask, session: RedisSession, response: Response | None) -> None:
        """Save the session as the kit does and count it."""
        super().save_session(app, session, response)
        with _counts_lock:
            _counts["saved"] += 1


@pytest.fixture(autouse=True)
def kit_session_interface(monkeypatch: pytest.MonkeyPatch) -> Iterator[SuiteSessionInterface]:
    """Make a fresh kit interface on a private fakeredis server every app's default."""
    interface = SuiteSessionInterface(fakeredis.FakeRedis(server=fakeredis.FakeServer()),
                                      key_prefix="flask-suite:session:")
    monkeypatch.setattr(flask.Flask, "session_interface", interface)
    yield interface
    interface.redis.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many sessions the kit's interface opened and saved."""
    with _counts_lock:
        terminalreporter.write_line(f"kit sessions: opened={_counts['opened']} saved={_counts['saved']}")
