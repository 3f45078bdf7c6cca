"""Reset the lab between training groups: ``python -m wslab.teach.reset`` (``make reset``).

1. stops stray lab processes: ``wslab serve`` / ``wslab reproduce`` /
   ``wslab experiment`` commands and ``redis-server`` children the lab started
   (their data folder is named ``wslab-redis-*``);
2. deletes the kit's own Redis keys (``wslab:*``) on ``$REDIS_URL``, or on
   127.0.0.1:6379 if a server answers there; other keys are not touched;
3. removes ``reports/``.

It never stops Jupyter kernels; restart those from JupyterLab.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from pathlib import Path

from wslab.errors import WslabError
from wslab.lab.redis_backend import connect_url

KEY_PATTERN = "wslab:*"
LAB_COMMANDS = ("wslab serve", "wslab reproduce", "wslab experiment", "wslab.teach.report")


def stray_processes() -> list[tuple[int, str]]:
    """``(pid, command line)`` of lab processes other than this one (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        is_lab = any(c in cmdline for c in LAB_COMMANDS) or (
            "redis-server" in cmdline and "wslab-redis-" in cmdline)
        if is_lab:
            found.append((pid, cmdline))
    return found


def clear_keys(url: str) -> int:
    """Delete the kit's keys on the Redis at *url*; return how many were deleted."""
    client = connect_url(url, timeout=1)
    deleted = 0
    batch = []
    for key in client.scan_iter(match=KEY_PATTERN, count=1000):
        batch.append(key)
        if len(batch) == 500:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


def main(argv: list[str] | None = None) -> int:
    """Run the three reset steps and say what each did."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.reset", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    for pid, cmdline in stray_processes():
        try:
            os.kill(pid, signal.SIGTERM)
            print(f"stopped {pid}: {cmdline[:100]}")
        except ProcessLookupError:
            pass
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        print(f"deleted {clear_keys(url)} {KEY_PATTERN} key(s) on {url}")
    except WslabError as exc:
        if os.environ.get("REDIS_URL"):
            print(f"reset: error: {exc}", file=sys.stderr)
            return 1
        print("no Redis on 127.0.0.1:6379; no keys to clear")
    if args.reports.exists():
        shutil.rmtree(args.reports)
        print(f"removed {args.reports}/")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
