"""Reset the lab between training groups: ``python -m wslab.teach.reset`` (``make reset``).

1. stops the processes the kit itself started and recorded (``wslab serve``,
   ``redis-server`` children, experiment subprocesses; see
   :mod:`wslab.lab.pids`) and no others: nothing is matched by name;
2. deletes the kit's own Redis keys (``wslab:*``, or ``--prefix``) on
   ``$REDIS_URL``, or on 127.0.0.1:6379 if a server answers there; other keys
   are not touched;
3. removes ``reports/`` and ``logs/`` (the lab's own output folders), the
   participants' ``workspace/`` (see :mod:`wslab.teach.workspace`) and the
   kit's temporary folders (``wslab-*`` in the system's temporary directory,
   owned by this user).

It keeps the cached environments in ``.wslab/`` (``make clean`` removes those)
and never stops Jupyter kernels: shut those down from JupyterLab, or stop
``make lab``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from wslab.errors import WslabError
from wslab.lab import pids
from wslab.lab.redis_backend import connect_url
from wslab.teach.workspace import WORKSPACE_DIR

#: The prefix of every key the kit writes (sessions, Socket.IO queues).
KEY_PREFIX = "wslab:"
#: How the kit's temporary folders are named (``tempfile.mkdtemp(prefix=...)``).
TEMP_PREFIX = "wslab-"


def temp_folders(root: Path) -> list[Path]:
    """The kit's temporary folders directly in *root*: ``wslab-*`` folders owned by this user."""
    if not root.is_dir():
        return []
    uid = os.getuid()
    return sorted(path for path in root.glob(TEMP_PREFIX + "*")
                  if path.is_dir() and not path.is_symlink() and path.stat().st_uid == uid)


def clear_keys(url: str, prefix: str = KEY_PREFIX) -> int:
    """Delete the keys under *prefix* on the Redis at *url*; return how many were deleted."""
    if not prefix:
        raise WslabError("refusing to delete keys with an empty prefix")
    client = connect_url(url, timeout=1)
    deleted = 0
    batch = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) == 500:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


def main(argv: list[str] | None = None) -> int:
    """Run the reset steps and say what each did."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.reset", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    parser.add_argument("--logs", type=Path, default=Path("logs"))
    parser.add_argument("--workspace", type=Path, default=WORKSPACE_DIR)
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the kit's wslab-* temporary folders are (default %(default)s)")
    parser.add_argument("--prefix", default=KEY_PREFIX, help="Redis key prefix to clear (default %(default)s)")
    args = parser.parse_args(argv)
    for record in pids.stop_all():
        print(f"stopped {record.what} (pid {record.pid})")
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        print(f"deleted {clear_keys(url, args.prefix)} {args.prefix}* key(s) on {url}")
    except WslabError as exc:
        if os.environ.get("REDIS_URL"):
            print(f"reset: error: {exc}", file=sys.stderr)
            return 1
        print("no Redis on 127.0.0.1:6379; no keys to clear")
    for folder in (args.reports, args.logs, args.workspace):
        if folder.exists():
            shutil.rmtree(folder)
            print(f"removed {folder}/")
    temporary = temp_folders(args.tmp)
    for folder in temporary:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"removed {len(temporary)} temporary folder(s) {args.tmp / TEMP_PREFIX}*")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
