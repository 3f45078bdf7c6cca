"""The demo page in headless Chromium: live notifications, a clean console, and the log on close.

Needs Chromium on the machine and the page's Socket.IO client
(``scripts/install_socketio_client.sh``); without them the module is skipped
with one reason line, or fails when ``WSLAB_REQUIRE_BROWSER=1``.

The screenshot in the README comes from :func:`test_live_notifications_and_clean_console`.
It is written to the test's temporary folder on every run and copied to
``docs/images/demo-page.png`` only when that file is missing or when
``WSLAB_UPDATE_SCREENSHOT=1``, so an ordinary run leaves the tree unchanged.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from logcheck import read
from logcheck import requests as request_lines
from wslab.app.browser_client import client_js_path, missing_client_message
from wslab.lab.stack import LabStack
from wslab.waiting import wait_until

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "demo-page.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if _chromium() is None:
        return "no Chromium on this machine (install the 'chromium' package)"
    if client_js_path() is None:
        return missing_client_message()
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


_REASON = _missing()
_REQUIRED = os.environ.get("WSLAB_REQUIRE_BROWSER") == "1"
if _REASON is not None and not _REQUIRED:
    pytest.skip(_REASON, allow_module_level=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless system Chromium driven by Playwright, with a fresh profile."""
    if _REASON is not None:
        pytest.fail(f"browser test required (WSLAB_REQUIRE_BROWSER=1): {_REASON}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=_chromium(),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 800, "height": 360})
        yield context
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new tab whose console errors and page errors are collected in ``page.wslab_errors``."""
    tab = browser.new_page()
    tab.wslab_errors = []
    tab.on("console", lambda msg: tab.wslab_errors.append(f"{msg.text} ({msg.location.get('url')})")
           if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: tab.wslab_errors.append(str(exc)))
    yield tab
    if not tab.is_closed():
        tab.close()


def _open(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#notifications li[data-kind=welcome]", timeout=10_000)
    page.wait_for_selector("#status.live", timeout=10_000)


def _websocket_statuses(log: Path) -> list[int]:
    return [r["status"] for r in request_lines(read(log)) if "transport=websocket" in r["target"]]


def _dropped_websockets(stack: LabStack) -> list[str]:
    """The error names of WebSocket requests Werkzeug dropped without a log line."""
    return [d.error for d in stack.server.dropped if "transport=websocket" in d.target]


def _wait_for_websocket_end(stack: LabStack, log: Path, timeout: float = 30.0) -> None:
    """Wait until a WebSocket request is logged or dropped; fail after *timeout* seconds."""
    wait_until(lambda: _websocket_statuses(log) or _dropped_websockets(stack), timeout,
               what="the WebSocket request logged or dropped")


def test_live_notifications_and_clean_console(page: Any, tmp_path: Path) -> None:
    with LabStack("guard", log_path=tmp_path / "web.log", redis_url="fakeredis") as stack:
        page.goto(stack.url + "/login")
        page.fill("input[name=user]", "ada")
        page.click("button[type=submit], input[type=submit], form button")
        _open(page, stack.url)
        assert page.inner_text("#notifications li[data-kind=welcome]") == "welcome ada"
        requests.post(stack.url + "/api/notify", json={"message": "deploy finished"}, timeout=5)
        page.wait_for_selector("#notifications li[data-kind=broadcast]", timeout=10_000)
        assert page.inner_text("#notifications li[data-kind=broadcast]") == "deploy finished"
        shot = tmp_path / "demo-page.png"
        page.screenshot(path=str(shot))
        page.close()
    assert page.wslab_errors == []
    if os.environ.get("WSLAB_UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


@pytest.mark.parametrize("variant, logged_status", [pytest.param("before", 500, marks=pytest.mark.incident),
                                                    ("guard", 101)])
def test_closing_the_page(variant: str, logged_status: int, page: Any, tmp_path: Path) -> None:
    """Closing the tab ends the page's WebSocket; the log shows how it ended.

    Chromium sometimes resets the TCP connection as the tab closes. Werkzeug then
    drops the request without any log line, even though the app failed the same
    way (its read of the closed socket raises ``ConnectionResetError`` while it
    handles the ``AssertionError``). The guard answers 101 before that read, so its
    line is always written.
    """
    log = tmp_path / "web.log"
    with LabStack(variant, log_path=log, redis_url="fakeredis") as stack:
        _open(page, stack.url)
        before_close = _websocket_statuses(log)
        page.close()
        _wait_for_websocket_end(stack, log)
        stack.wait_idle(15)
        statuses = _websocket_statuses(log)  # and no second line once everything has ended
        dropped = _dropped_websockets(stack)
    assert page.wslab_errors == [], "the browser console stays clean either way"
    assert before_close == [], "the WebSocket request is logged only once it has closed"
    if variant == "guard":
        assert statuses == [logged_status]
    else:
        assert (statuses, dropped) in (([logged_status], []), ([], ["ConnectionResetError"])), (statuses, dropped)
