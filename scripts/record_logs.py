"""Record the kit's reference logs in data/logs/ and write their manifest.

Each log comes from ``wslab reproduce`` on the in-process stack with the pins
of this interpreter.  The only change made to the recorded files: the install
prefix in traceback paths (everything before ``site-packages/`` or the
interpreter's ``lib/pythonX.Y/``) is replaced with ``<prefix>``, so the files
do not carry the recording machine's folders.  The manifest says so.

    python scripts/record_logs.py [--out data/logs]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from wslab.logs import parse_log, summarize
from wslab.logs.redact import REDACTION_NOTE, redact_file
from wslab.versions import stack_versions

WORKLOAD = {"ws-users": 20, "upgrade-users": 5, "polling-users": 3, "http-users": 10}
VARIANTS = ("before", "writeup-fix", "guard", "no-session")


def record(variant: str, out: Path) -> dict:
    """Run one variant into ``out/<variant>.log`` and return its manifest entry."""
    log = out / f"{variant}.log"
    log.unlink(missing_ok=True)
    args = ["reproduce", "--variant", variant, "--log", str(log), "--redis-url", "fakeredis", "--json",
            "--no-progress"] + [f"--{k}={v}" for k, v in WORKLOAD.items()]
    subprocess.run([sys.executable, "-m", "wslab", *args], check=True, capture_output=True, text=True)
    redact_file(log)
    summary = summarize(parse_log(log))
    return {
        "file": log.name,
        "command": "wslab " + " ".join(a for a in args if not a.startswith("--log") and a != str(log))
                   + f" --log {log.name}",
        "versions": stack_versions(),
        "redis": "fakeredis",
        "edits": REDACTION_NOTE,
        "counts": {k: summary[k] for k in ("request_lines", "status_counts", "server_errors",
                                           "write_before_start_response", "bad_request_syntax_lines",
                                           "unparsed_lines")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/logs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for variant in VARIANTS:
        print(f"recording {variant} …", flush=True)
        manifest[f"{variant}.log"] = record(variant, args.out)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"manifest: {manifest_path}")


if __name__ == "__main__":
    main()
