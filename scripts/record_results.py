"""Record the factor matrix and the python-engineio bisect in data/, with every row's log.

Runs, with this interpreter's kit (each cell and release in its own cached
environment)::

    wslab matrix --out data/matrix
    wslab bisect python-engineio --pin werkzeug==2.3.8 --out data/bisect/python-engineio

(the bisect with an empty cache, so every release is measured afresh), then
replaces the install prefix in the logs' traceback paths with
``<prefix>`` (:mod:`wslab.logs.redact`), the only change made to what the
commands wrote, and notes it in each result file under ``"edits"``.  Notebook
05 reads both results; ``tests/test_recorded_results.py`` checks their counts
against the committed logs.

    python scripts/record_results.py [--data data]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from wslab.logs.redact import REDACTION_NOTE, redact_file

BISECT_PIN = "werkzeug==2.3.8"


def _run(*args: str, env: dict[str, str] | None = None) -> None:
    print("wslab", " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "wslab", *args, "--no-progress"], check=True,
                   env={**os.environ, **(env or {})})


def _finish(folder: Path, result_file: str) -> None:
    for log in sorted((folder / "logs").glob("*.log")):
        redact_file(log)
    path = folder / result_file
    record = json.loads(path.read_text(encoding="utf-8"))
    record["edits"] = REDACTION_NOTE
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args()
    matrix, bisect = args.data / "matrix", args.data / "bisect" / "python-engineio"
    for folder in (matrix, bisect):
        shutil.rmtree(folder, ignore_errors=True)
    _run("matrix", "--out", str(matrix))
    _finish(matrix, "matrix.json")
    with tempfile.TemporaryDirectory(prefix="wslab-bisect-cache-") as cache:  # measure every release afresh
        _run("bisect", "python-engineio", "--pin", BISECT_PIN, "--out", str(bisect),
             env={"WSLAB_BISECT_DIR": cache})
    _finish(bisect, "bisect.json")
    print(f"recorded: {matrix}, {bisect}")


if __name__ == "__main__":
    main()
