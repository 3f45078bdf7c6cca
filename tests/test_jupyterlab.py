"""JupyterLab in headless Chromium: notebook 01 run from a participant's workspace.

JupyterLab is started with the command line ``make lab`` runs
(``python -m wslab.teach.lab``), on 127.0.0.1 with a token, on a workspace
made by :func:`wslab.teach.workspace.make_workspace` in the test's own folder.
Playwright opens notebook 01, runs all its cells from the Run menu and waits
until every code cell has an execution count and the kernel is idle.  The
expected 500 count comes from the notebook's own log file, read with an
independent regex, and from the number of direct WebSocket users its
parameter cell sets.  Afterwards JupyterLab is stopped by its pid and every
process it started (its kernel) must be gone.

Needs Chromium and Playwright, like ``test_browser.py``: without them the module
is skipped with one line, or fails when ``WSLAB_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from wslab.lab.redis_backend import free_port
from wslab.teach.workspace import make_workspace
from wslab.waiting import wait_until

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "jupyterlab-01.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]
NOTEBOOK = "01_reproduce.ipynb"
#: A request line with status 500, read straight from the raw log (ANSI colour codes allowed).
STATUS_500 = re.compile(rb'"(?:\x1b\[[0-9;]*m)*GET /socket\.io/\?[^"]*HTTP/1\.1(?:\x1b\[0m)*" 500 ')


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    if _chromium() is None:
        return "no Chromium on this machine (install the 'chromium' package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


_REASON = _missing()
if _REASON is not None and os.environ.get("WSLAB_REQUIRE_BROWSER") != "1":
    pytest.skip(_REASON, allow_module_level=True)

pytestmark = pytest.mark.incident  # the notebook's stored story is the incident pins' one


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _kernel_idle(port: int, token: str) -> bool:
    """Whether the server has a session for notebook 01 whose kernel is idle."""
    sessions = requests.get(f"http://127.0.0.1:{port}/api/sessions?token={token}", timeout=5).json()
    return any(s["path"].endswith(NOTEBOOK) and s["kernel"]["execution_state"] == "idle" for s in sessions)


def _run_all(page: Any, attempts: int = 3) -> None:
    """Run > Run All Cells, again if the first code cell has not started within 20 s.

    Just after the page connects to its kernel, JupyterLab can drop a run request
    without queueing any cell; a cell that started shows ``[*]`` or a number.
    """
    started = """() => { const p = document.querySelector('.jp-CodeCell .jp-InputPrompt');
                         return p !== null && /\\[(\\*|\\d+)\\]/.test(p.textContent); }"""
    for attempt in range(attempts):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(started, timeout=20_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise


def _ws_users(notebook: Path) -> int:
    """The ``ws_users`` value the notebook's parameter cell sets."""
    source = "".join(json.loads(notebook.read_text())["cells"][1]["source"])
    match = re.search(r"^ws_users\s*=\s*(\d+)", source, re.MULTILINE)
    assert match, "notebook 01's parameter cell sets ws_users"
    return int(match.group(1))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab on a fresh workspace, started as ``make lab`` starts it; stopped, with its kernels, after."""
    if _REASON is not None:
        pytest.fail(f"browser test required (WSLAB_REQUIRE_BROWSER=1): {_REASON}", pytrace=False)
    workspace = tmp_path / "workspace"
    make_workspace(workspace=workspace)
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Every cell in the DOM, so the test can read all prompts and outputs; start the notebook's
    # kernel without the "Select Kernel" dialog JupyterLab sometimes shows while its specs load.
    (settings / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    notices = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    notices.mkdir(parents=True)
    (notices / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), REDIS_URL="fakeredis")
    port, token = free_port(), secrets.token_hex(8)
    process = subprocess.Popen(
        [sys.executable, "-m", "wslab.teach.lab", "--workspace", str(workspace), "--port", str(port),
         "--token", token], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    assert process.stdout is not None
    first_lines = [process.stdout.readline(), process.stdout.readline()]
    # Drain the rest of JupyterLab's output so it never blocks on a full pipe.
    drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    started: list[psutil.Process] = []
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/api/status?token={token}"), 60, interval=0.2,
                   what="JupyterLab answering")
        yield {"port": port, "token": token, "workspace": workspace, "first_lines": first_lines,
               "process": process, "started": started}
    finally:
        try:
            started.extend(psutil.Process(process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        _, alive = psutil.wait_procs(started, timeout=15)
        for leftover in alive:
            leftover.kill()
        psutil.wait_procs(alive, timeout=10)
        drain.wait(timeout=10)
        process.stdout.close()
    assert [p.pid for p in alive] == [], "processes JupyterLab started outlived it"


def test_notebook_01_runs_in_jupyterlab(lab: dict[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    port, token, workspace = lab["port"], lab["token"], lab["workspace"]
    assert f"open http://127.0.0.1:{port}/lab?token={token}" in "".join(lab["first_lines"])
    listening = {c.laddr for c in psutil.Process(lab["process"].pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    assert listening and {address.ip for address in listening} == {"127.0.0.1"}

    shot = tmp_path / "jupyterlab-01.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}")
        idle = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status='idle']"
        page.wait_for_selector(idle, timeout=90_000)
        dialog = page.locator(".jp-Dialog button:has-text('Select')")
        if dialog.count():  # the kernel dialog, if it still shows: accept the notebook's own kernel
            dialog.first.click()
            page.wait_for_selector(idle, timeout=90_000)
        wait_until(lambda: _kernel_idle(port, token), 90, interval=0.2,
                   what="the notebook's kernel idle on the server")
        _run_all(page)
        try:
            page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=180_000)
        except Exception:
            page.screenshot(path=str(tmp_path / "timeout.png"))
            print(page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent)"))
            raise
        page.wait_for_selector(idle, timeout=60_000)
        text = page.inner_text(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        page.locator(".jp-OutputArea-output", has_text="5xx lines").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        browser.close()

    log = tmp_path / "logs" / "01_reproduce.log"  # the notebook writes ../logs/ beside its workspace
    assert log.exists(), "the notebook wrote its log beside the workspace"
    logged_500 = len(STATUS_500.findall(log.read_bytes()))
    assert logged_500 == _ws_users(workspace / NOTEBOOK)
    assert "AssertionError: write() before start_response" in text
    assert f"5xx lines {logged_500} of" in text
    if os.environ.get("WSLAB_UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_jupyterlab_and_its_kernel_are_gone_afterwards(lab: dict[str, Any]) -> None:
    """Start a kernel through the server's API, then let the fixture stop JupyterLab: nothing may outlive it."""
    base = f"http://127.0.0.1:{lab['port']}/api"
    headers = {"Authorization": f"token {lab['token']}"}
    kernel = requests.post(f"{base}/kernels", json={"name": "python3"}, headers=headers, timeout=30)
    assert kernel.status_code == 201
    wait_until(lambda: psutil.Process(lab["process"].pid).children(recursive=True), 30, interval=0.2,
               what="the kernel process")
