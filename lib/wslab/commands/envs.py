"""``wslab envs``: build, list and remove the cached virtualenvs of pin sets."""

from __future__ import annotations

import argparse
import json

from wslab.errors import WslabError
from wslab.lab import envs

NAME = "envs"
HELP = ("Pin sets as cached virtualenvs: 'build NAME|PIN...' (a set from data/pinsets.toml, "
        "e.g. incident or current, or NAME==VERSION pins), 'list', 'remove NAME|KEY|--all'.")

_SHORT = {"werkzeug": "werkzeug", "python-engineio": "engineio", "python-socketio": "socketio",
          "flask-socketio": "flask-sio", "simple-websocket": "simple-ws", "flask": "flask"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sub-commands and options of ``wslab envs``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the built environments",
                             description="The built environments: name, key, stack versions, "
                                         "size on disk (own: not shared by hard links with "
                                         "the installer's cache) and folder.")
    listing.add_argument("--json", action="store_true", help="print one JSON list")
    making = sub.add_parser("build", help="build (or reuse) a pin set's environment",
                            description="Build a pin set into a cached virtualenv, or reuse "
                                        "the one already built for the same content.")
    making.add_argument("what", nargs="+", metavar="NAME|PIN",
                        help="a pin-set name from data/pinsets.toml, or NAME==VERSION pins")
    making.add_argument("--name", help=f"name of an ad hoc set (default: {envs.ADHOC})")
    making.add_argument("--no-kit", dest="with_kit", action="store_false",
                        help="install the pins only, without the tools and the kit")
    making.add_argument("--installer", choices=("auto", "uv", "pip"), default="auto",
                        help="auto (default): uv when installed, else venv + pip")
    making.add_argument("--json", action="store_true", help="print the environment as JSON")
    removing = sub.add_parser("remove", help="delete environments",
                              description="Delete the environments of a pin-set name, a key "
                                          "or a folder name, or all of them.")
    removing.add_argument("which", nargs="?", metavar="NAME|KEY")
    removing.add_argument("--all", action="store_true", help="every environment")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _table(rows: list[envs.Env]) -> str:
    head = ["name", "key", *(_SHORT[p] for p in envs.STACK), "size", "own", "path"]
    body = []
    for env in rows:
        total, own = envs.disk_usage(env.path)
        body.append([env.name, env.key, *(v or "-" for v in env.stack().values()), _size(total),
                     _size(own), str(env.path)])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in [head, *body])


def run(args: argparse.Namespace) -> int:
    """Run one ``wslab envs`` action."""
    if args.action == "list":
        found = envs.list_envs()
        if args.json:
            print(json.dumps([e.as_dict() for e in found], indent=2))
        elif found:
            print(_table(found))
        else:
            print(f"no environments built under {envs.envs_dir()}")
        return 0
    if args.action == "build":
        env = envs.build(envs.requested(args.what, args.name), with_kit=args.with_kit,
                         installer=args.installer)
        if args.json:
            print(json.dumps(env.as_dict(), indent=2))
        else:
            print(_table([env]))
            print(f"python: {env.python}")
        return 0
    if args.all and args.which:
        raise WslabError("give a name or key, or --all, not both")
    removed = envs.remove(args.which, everything=args.all)
    for folder in removed:
        print(f"removed {folder}")
    if not removed:
        print(f"no environments under {envs.envs_dir()}")
    return 0
