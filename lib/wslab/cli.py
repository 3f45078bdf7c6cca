"""The ``wslab`` command line: a thin dispatcher over :mod:`wslab.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wslab import __version__
from wslab.commands import COMMANDS
from wslab.errors import WslabError


def command_name(module: str) -> str:
    """The command a module implements: its name with ``-`` for ``_``."""
    return module.replace("_", "-")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser with one sub-parser per command module.

    With *only* (a command name), just that command's module is imported, so a
    quick command such as ``analyze`` does not pay for importing Flask.
    """
    parser = argparse.ArgumentParser(
        prog="wslab",
        description="Reproduce and measure Werkzeug's 'write() before start_response' "
        "on Flask-SocketIO WebSocket requests.",
    )
    parser.add_argument("--version", action="version", version=f"wslab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if only is not None and command_name(name) != only:
            continue
        module = importlib.import_module(f"wslab.commands.{name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors become one ``wslab: error:`` line and exit code 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {command_name(n) for n in COMMANDS}
    parser = build_parser(first if first in known else None)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except WslabError as exc:
        print(f"wslab: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wslab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
