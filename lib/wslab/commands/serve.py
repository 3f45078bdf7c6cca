"""``wslab serve``: the demo web app for a browser, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wslab.app.browser_client import (
    client_js_path,
    client_js_version,
    missing_client_message,
)
from wslab.app.variants import get_variant
from wslab.commands.options import add_redis_url, add_variant, port
from wslab.lab import pids

NAME = "serve"
HELP = ("Serve the demo app (a page with a live notifications panel over Socket.IO) on "
        "127.0.0.1 with one stack variant, in the foreground until Ctrl-C or SIGTERM.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab serve``."""
    add_variant(parser)
    parser.add_argument("--port", type=port, default=5000, metavar="P",
                        help="port on 127.0.0.1 (default: 5000; 0 picks a free one)")
    parser.add_argument("--log", default="logs/webapp.log", metavar="FILE",
                        help="log file to append to (default: logs/webapp.log)")
    add_redis_url(parser)


def _check_variant(name: str) -> None:
    get_variant(name)


@contextmanager
def _stop_on_sigterm() -> Iterator[threading.Event]:
    """An event that SIGTERM sets, from the start of the block: a stop during start-up is kept."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_for_stop(stop: threading.Event) -> None:
    """Block until Ctrl-C or until *stop* is set."""
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _banner(stack: Any) -> list[str]:
    js = client_js_path()
    lines = [f"wslab serve: variant {stack.variant.name} — {stack.variant.summary}",
             f"  open      {stack.url}/",
             f"  redis     {stack.redis.description if stack.redis else 'none'}",
             f"  log       {stack.log_path}",
             f"  client    socket.io-client {client_js_version(js) or '?'}" if js else None,
             "  stop      Ctrl-C"]
    return [line for line in lines if line]


def run(args: argparse.Namespace) -> int:
    """Start the stack, print where it is, serve until interrupted, stop cleanly."""
    from wslab.lab.stack import LabStack

    _check_variant(args.variant)
    with _stop_on_sigterm() as stop, pids.registered(os.getpid(), "wslab serve"), \
            LabStack(args.variant, log_path=args.log, redis_url=args.redis_url, port=args.port) as stack:
        if client_js_path() is None:
            print(f"wslab serve: warning: {missing_client_message()}", file=sys.stderr, flush=True)
        print("\n".join(_banner(stack)), flush=True)
        _wait_for_stop(stop)
        print("wslab serve: stopping", flush=True)
    print("wslab serve: stopped", flush=True)
    return 0
