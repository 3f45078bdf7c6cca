"""Regenerate the request corpus by running real clients against a capture server.

Every client talks to a real Werkzeug threaded server on 127.0.0.1 that wraps a
Flask + Flask-SocketIO app; the server records each request head and labels it
by what it did with the request (see :mod:`wslab.lab.capture`).  Clients:
python-socketio (websocket-only, polling then upgrade, polling-only),
websocket-client (default and Firefox-style ``Connection`` header), requests
(pages, and requests near the Socket.IO path that are not Engine.IO's), curl
(plain and ``--http2``, which asks for an ``h2c`` upgrade) and headless
Chromium running the socket.io JavaScript client.  A second, smaller corpus
comes from the same app with Socket.IO mounted at ``/custom.io``.

    python scripts/capture_corpus.py [--out data/requests/corpus.jsonl]
                                     [--custom-out data/requests/custom_path.jsonl]
                                     [--socketio-js FILE] [--chromium BIN] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from wslab.lab.capture import CUSTOM_SOCKETIO_PATH, SOCKETIO_PATH, CaptureServer
from wslab.lab.capture_clients import (package_version, run_http_requests, run_socketio_client,
                                       run_socketio_path_requests, run_websocket_client)
from wslab.study.detection.corpus import save_corpus

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "build" / "capture-node"
SOCKETIO_JS = NODE_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
FIREFOX_CONNECTION = "Connection: keep-alive, Upgrade"

#: (source suffix, curl options, path); ``--http2`` on http:// asks for an ``h2c`` upgrade.
#: ``/socket.io`` without the slash is not Engine.IO's route: Flask answers it (404).
CURL_RUNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("", (), "/"),
    ("", (), "/docs/socket.io-guide"),
    ("", (), "/search?transport=polling"),
    ("", ("--data", "user=grace"), "/login"),
    ("", (), "/socket.io?EIO=4&transport=polling"),
    (" --http2", ("--http2",), "/"),
    (" --http2", ("--http2",), "/search?transport=websocket"),
    (" --http2", ("--http2",), "/docs/socket.io-guide"),
    (" (Connection: keep-alive, Upgrade; Upgrade: h2c)",
     ("-H", "Connection: keep-alive, Upgrade", "-H", "Upgrade: h2c"), "/dashboard"),
)

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def curl_version() -> str:
    """``7.88.1`` from ``curl --version``."""
    out = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def chromium_major(binary: str) -> str:
    """The major version of a Chromium binary, e.g. ``156``."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)\.\d+\.\d+", out)
    if not match:
        raise RuntimeError(f"cannot read a version from {out!r}")
    return match.group(1)


def ensure_socketio_js(path: Path | None) -> Path:
    """The socket.io browser client; installed from npm into an ignored folder if absent."""
    if path is not None:
        return path
    if not SOCKETIO_JS.exists():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                        "--prefix", str(NODE_DIR), "socket.io-client@4"], check=True)
    return SOCKETIO_JS


def socketio_js_version(path: Path) -> str:
    """The version in the ``package.json`` next to the client's ``dist`` folder, or ``?``."""
    manifest = path.parent.parent / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else "?"


def run_curl(url: str, options: tuple[str, ...], path: str) -> None:
    """One curl request; its body is discarded and any HTTP status is accepted."""
    subprocess.run(["curl", "-sS", "--max-time", "10", "-o", os.devnull,
                    *options, url + path], check=True)


def run_browser(server: CaptureServer, binary: str, timeout: float = 30.0) -> None:
    """Load the Socket.IO page in headless Chromium and wait for its last request."""
    server.events["done"].clear()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 server.url + "/chat"], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not server.events["done"].wait(timeout):
                raise RuntimeError("the browser did not finish its Socket.IO round trip")
        finally:
            stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the process group *proc* leads (the browser and its helpers), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def capture(socketio_js: Path | None, chromium: str | None, rounds: int) -> list[dict[str, Any]]:
    """Run every client *rounds* times (the browser once per round) and return the lines."""
    sio, wsc, req = (package_version(n) for n in ("python-socketio", "websocket-client", "requests"))
    curl = curl_version()
    js = ensure_socketio_js(socketio_js) if chromium else None
    with CaptureServer(js) as server:
        for _ in range(rounds):
            with server.client(f"python-socketio {sio} websocket-only", {"socketio-websocket"}):
                run_socketio_client(server.url, ["websocket"])
            with server.client(f"python-socketio {sio} polling-upgrade",
                               {"socketio-polling", "socketio-websocket"}):
                run_socketio_client(server.url, ["polling", "websocket"])
            with server.client(f"python-socketio {sio} polling-only", {"socketio-polling"}):
                run_socketio_client(server.url, ["polling"])
            with server.client(f"websocket-client {wsc}", {"websocket-other"}):
                run_websocket_client(server.url)
            with server.client(f"websocket-client {wsc} ({FIREFOX_CONNECTION})", {"websocket-other"}):
                run_websocket_client(server.url, FIREFOX_CONNECTION)
            with server.client(f"requests {req}", {"http"}):
                run_http_requests(server.url)
            with server.client(f"requests {req} near {SOCKETIO_PATH}/", {"http", "not-engineio"}):
                run_socketio_path_requests(server.url, SOCKETIO_PATH, CUSTOM_SOCKETIO_PATH)
            for suffix, options, path in CURL_RUNS:
                with server.client(f"curl {curl}{suffix}", {"http"}):
                    run_curl(server.url, options, path)
            if chromium:
                source = f"chromium {chromium_major(chromium)} (socket.io-client {socketio_js_version(js)})"
                with server.client(source, {"http", "socketio-polling", "socketio-websocket",
                                            "websocket-other", "not-engineio"}):
                    run_browser(server, chromium)
        return server.records()


def capture_custom_path(socketio_js: Path | None, rounds: int) -> list[dict[str, Any]]:
    """The same app with Socket.IO at :data:`CUSTOM_SOCKETIO_PATH`: python-socketio and requests."""
    sio, req = package_version("python-socketio"), package_version("requests")
    with CaptureServer(socketio_js, CUSTOM_SOCKETIO_PATH) as server:
        path = server.socketio_path
        for _ in range(rounds):
            with server.client(f"python-socketio {sio} websocket-only at {path}", {"socketio-websocket"}):
                run_socketio_client(server.url, ["websocket"], socketio_path=path)
            with server.client(f"python-socketio {sio} polling-upgrade at {path}",
                               {"socketio-polling", "socketio-websocket"}):
                run_socketio_client(server.url, ["polling", "websocket"], socketio_path=path)
            with server.client(f"python-socketio {sio} polling-only at {path}", {"socketio-polling"}):
                run_socketio_client(server.url, ["polling"], socketio_path=path)
            with server.client(f"requests {req} near {path}/", {"http", "not-engineio"}):
                run_socketio_path_requests(server.url, path, SOCKETIO_PATH)
        return server.records()


def summary(records: list[dict[str, Any]]) -> str:
    """Counts per label and per (source, label), as plain text."""
    lines = [f"{len(records)} requests"]
    lines += [f"  {label:<20} {n}" for label, n in sorted(Counter(r["label"] for r in records).items())]
    pairs = Counter((r["source"], r["label"]) for r in records)
    lines += [f"  {source:<60} {label:<20} {n}" for (source, label), n in sorted(pairs.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Capture the corpus and write it as JSONL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "requests" / "corpus.jsonl")
    parser.add_argument("--custom-out", type=Path, default=ROOT / "data" / "requests" / "custom_path.jsonl",
                        help=f"corpus of the app with Socket.IO at {CUSTOM_SOCKETIO_PATH}")
    parser.add_argument("--socketio-js", type=Path, help="socket.io.min.js to serve to the browser")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="Chromium binary")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser client")
    parser.add_argument("--rounds", type=int, default=2, help="times to run every client")
    args = parser.parse_args(argv)
    chromium = None if args.no_browser else args.chromium
    if not args.no_browser and not chromium:
        parser.error("no Chromium found; pass --chromium BIN or --no-browser")
    records = capture(args.socketio_js, chromium, args.rounds)
    save_corpus(records, args.out)
    print(summary(records))
    js = ensure_socketio_js(args.socketio_js) if chromium else args.socketio_js
    custom = capture_custom_path(js, args.rounds)
    save_corpus(custom, args.custom_out)
    print(summary(custom))
    return 0


if __name__ == "__main__":
    sys.exit(main())
