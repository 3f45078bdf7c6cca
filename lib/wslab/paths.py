"""Where the kit's own files are: the repository the package is installed from.

The kit is installed editable from a clone (``pip install -e .``), so the
repository root is two levels above this package (``lib/wslab``).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: ``lib/wslab/../..``.
KIT_ROOT = Path(__file__).resolve().parents[2]
#: Committed logs, request corpus and recorded results.
DATA_DIR = KIT_ROOT / "data"


def run_dir() -> Path:
    """Where the kit records the processes it started (``WSLAB_RUN_DIR`` overrides it)."""
    override = os.environ.get("WSLAB_RUN_DIR")
    return Path(override) if override else KIT_ROOT / ".wslab" / "run"
