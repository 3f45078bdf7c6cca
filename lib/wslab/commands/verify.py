"""``wslab verify``: check a running Flask-SocketIO app, WebSockets and its log included."""

from __future__ import annotations

import argparse
import json

from wslab.errors import WslabError
from wslab.diagnose.verify import DEFAULT_SOCKETIO_PATH, DEMO_CLIENT_CONFIG, parse_payload, run_verify
from wslab.diagnose.verify_log import TOKEN_PARAM

NAME = "verify"
HELP = ("Check a running Flask-SocketIO app: the Engine.IO polling handshake, a direct WebSocket and a "
        "polling→upgrade Socket.IO connection that each connect and close cleanly, and (with --log) what "
        "the server logged for these requests. --event and --client-config add app-specific checks. "
        "Exit 0 if all pass.")

EPILOG = f"""\
The server log is read in any format 'wslab analyze' knows (Werkzeug, gunicorn access or error,
nginx), and only the lines the checks' own requests produced are judged: each carries
{TOKEN_PARAM}=<token> in its query. The log check fails on a 5xx answer to one of them (the
incident's 500 with 'write() before start_response', or a 500 under Werkzeug's debugger) and when
the log shows none of them (the wrong file). A WebSocket without a line of its own
(python-engineio >= 4.13.4 on Werkzeug, or gunicorn, which logs none) is reported with its
meaning, not failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab verify``."""
    parser.epilog = EPILOG
    parser.add_argument("url", metavar="URL", help="base URL of the app, e.g. http://127.0.0.1:5000")
    parser.add_argument("--log", metavar="FILE", action="append",
                        help="the server's log file; the lines the checks' requests add to it are judged "
                             "(give it twice for gunicorn's access and error logs)")
    parser.add_argument("--socketio-path", default=DEFAULT_SOCKETIO_PATH, metavar="PATH",
                        help=f"Socket.IO endpoint path (default: {DEFAULT_SOCKETIO_PATH})")
    parser.add_argument("--event", metavar="NAME",
                        help="also emit this event over both connections; passes when an "
                             "acknowledgement arrives (whatever it holds, shown)")
    parser.add_argument("--payload", metavar="JSON",
                        help='what --event sends, as JSON (default: {"wslab": "verify"})')
    parser.add_argument("--client-config", metavar="PATH",
                        help="also check that this route answers 200 with JSON (the kit's demo app: "
                             f"{DEMO_CLIENT_CONFIG}; default: not checked)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per request, per connection and per acknowledgement (default: 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    """Run the checks, print one line each (or JSON); 0 if every check passed, else 1."""
    options = {}
    if args.payload is not None:
        if args.event is None:
            raise WslabError("--payload needs --event NAME")
        options["payload"] = parse_payload(args.payload)
    report = run_verify(args.url, log=args.log, socketio_path=args.socketio_path,
                        client_config=args.client_config, timeout=args.timeout, event=args.event, **options)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0 if report.ok else 1
