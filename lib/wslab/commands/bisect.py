"""``wslab bisect``: every release of one package between two versions, direct 500s counted."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wslab.commands.options import whole_number
from wslab.errors import WslabError
from wslab.study.versions.bisect import RESULT_FILE, BisectResult, run_bisect

NAME = "bisect"
HELP = ("Run every release of PACKAGE from --from to --to (default: its incident and current pins), "
        "each in its own cached env with the other --pin values fixed: the 'before' variant on "
        "Werkzeug's dev server, direct WebSockets only. Prints direct outcomes per release and the "
        "first release without the 500; results are cached per release.")

_COLUMNS = (("release", 10), ("500", 5), ("101", 5), ("200", 5), ("400", 5), ("not logged", 10),
            ("write() before start_response", 29), ("", 0))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab bisect``."""
    parser.add_argument("package", metavar="PACKAGE", help="e.g. python-engineio, werkzeug")
    parser.add_argument("--from", dest="start", metavar="V",
                        help="oldest release (default: PACKAGE's version in the incident pin set)")
    parser.add_argument("--to", dest="end", metavar="V",
                        help="newest release (default: its version in the current pin set, "
                             "else its newest release)")
    parser.add_argument("--pin", action="append", default=[], metavar="NAME==V",
                        help="a version held fixed in every release's env (repeatable); "
                             "what is not pinned the installer resolves")
    parser.add_argument("--users", type=whole_number(1), default=4, metavar="N",
                        help="direct WebSocket clients per release (default: 4)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the logs and bisect.json go (default: a new folder under "
                             ".wslab/bisect/runs/)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _k(counts: dict[str, int], key: str) -> str:
    return f"{counts[key]}/{counts['connections']}"


def text_table(result: BisectResult) -> str:
    """The releases as a fixed-width table, counts as k/n."""
    lines = ["  ".join(name.ljust(width) for name, width in _COLUMNS).rstrip()]
    for r in result.releases:
        if r.error:
            cells = [r.version, *["-"] * 6, f"failed: {r.error}"]
        else:
            d = r.direct
            cells = [r.version, _k(d, "status_500"), _k(d, "status_101"), _k(d, "status_200"),
                     _k(d, "status_400"), _k(d, "not_logged"), _k(d, "write_before_start_response"),
                     "(cached)" if r.cached else ""]
        lines.append("  ".join(str(c).ljust(w) for c, (_, w) in zip(cells, _COLUMNS)).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the bisect and print its table (or JSON); exit 1 if a release failed."""
    result = run_bisect(args.package, args.start, args.end, pins=args.pin, users=args.users,
                        out=args.out, progress=not args.no_progress)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        pins = ", ".join(f"{n}=={v}" for n, v in sorted(result.pins.items())) or "none"
        print(f"{result.package} {result.start} .. {result.end}; fixed pins: {pins}; "
              f"'before' on Werkzeug's dev server, {result.users} direct WebSockets per release")
        print(text_table(result))
        first = result.first_release_without_500
        print(f"\nfirst release without the 500: "
              f"{first or 'none (the newest measured release still logs it, or none was measured)'}")
        print(f"logs and {RESULT_FILE}: {result.out}")
    if result.index_error:
        raise WslabError(f"{result.index_error} (only the {len(result.releases)} releases already "
                         "cached are reported)")
    return 1 if result.failed() else 0
