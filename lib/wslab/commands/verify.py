"""``wslab verify``: check a running Flask-SocketIO app, WebSockets and its log included."""

from __future__ import annotations

import argparse
import json

from wslab.study.verify import DEFAULT_CLIENT_CONFIG, DEFAULT_SOCKETIO_PATH, run_verify

NAME = "verify"
HELP = ("Check a running Flask-SocketIO app: it answers, the polling handshake, the client-config "
        "endpoint, a direct WebSocket and a polling→upgrade connection, and (with --log) that the "
        "server logged no 5xx or 'write() before start_response' meanwhile. Exit 0 if all pass.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab verify``."""
    parser.add_argument("url", metavar="URL", help="base URL of the app, e.g. http://127.0.0.1:5000")
    parser.add_argument("--log", metavar="FILE",
                        help="the server's log file; lines it gains during the checks are scanned")
    parser.add_argument("--socketio-path", default=DEFAULT_SOCKETIO_PATH, metavar="PATH",
                        help=f"Socket.IO endpoint path (default: {DEFAULT_SOCKETIO_PATH})")
    parser.add_argument("--client-config", default=DEFAULT_CLIENT_CONFIG, metavar="PATH",
                        help=f"client-config endpoint path (default: {DEFAULT_CLIENT_CONFIG})")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per request and per connection (default: 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    """Run the checks, print one line each (or JSON); 0 if every check passed, else 1."""
    report = run_verify(args.url, log=args.log, socketio_path=args.socketio_path,
                        client_config=args.client_config, timeout=args.timeout)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0 if report.ok else 1
