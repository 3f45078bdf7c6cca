"""``wslab serve``: the demo app in the foreground, stopped by SIGTERM; its error lines."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from wslab.app import browser_client
from wslab.cli import main
from wslab.commands import serve


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wslab", "serve", "--redis-url", "fakeredis", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serves_the_page_until_sigterm(tmp_path: Path) -> None:
    process = _serve("--port", "0", "--variant", "guard", "--log", str(tmp_path / "web.log"))
    try:
        banner = [process.stdout.readline() for _ in range(3)]
        url = banner[1].split()[-1].rstrip("/")
        assert banner[0].startswith("wslab serve: variant guard")
        assert "fakeredis" in banner[2]
        page = requests.get(url + "/", timeout=5)
        assert page.status_code == 200 and 'id="notifications"' in page.text
        config = requests.get(url + "/api/websocket/client-config", timeout=5).json()
        assert config["transports"] == ["websocket"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.rstrip().endswith("wslab serve: stopped")


def test_port_in_use_is_one_error_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        process = _serve("--port", str(port))
        out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.strip().splitlines() == [f"wslab: error: port {port} on 127.0.0.1 is already in use"]


@pytest.mark.parametrize("variant, message", [("upgraded", "unknown variant"),
                                              ("nope", "unknown variant")])
def test_variants_it_cannot_serve(variant: str, message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve", "--variant", variant]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_warns_when_the_browser_client_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(browser_client, "VENDOR_JS", tmp_path / "absent.js")
    monkeypatch.setattr(serve, "_wait_for_stop", lambda stop: None)
    args = argparse.Namespace(variant="before", port=0, log=str(tmp_path / "web.log"), redis_url="fakeredis")
    assert serve.run(args) == 0
    captured = capsys.readouterr()
    assert "warning: the page's Socket.IO client" in captured.err
    assert "scripts/install_socketio_client.sh" in captured.err
    assert "wslab serve: stopped" in captured.out
