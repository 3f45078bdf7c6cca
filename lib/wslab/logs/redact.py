"""Redaction for logs that are committed or shared: no folder of the recording machine.

A traceback frame names the file it ran, e.g. ``File "/home/ada/app/.venv/lib/python3.11/
site-packages/werkzeug/serving.py"``.  :func:`redact_install_prefixes` replaces
everything before the interpreter's ``lib/pythonX.Y/`` with ``<prefix>``, so the
frame still says which package and line ran, and nothing about the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A frame's file path up to the interpreter's ``lib/pythonX.Y/`` (and ``site-packages/``).
INSTALL_PREFIX = re.compile(r'File "[^"]*?/(lib/python\d\.\d+/(?:site-packages/)?)')

#: What the manifests of recorded logs say was changed.
REDACTION_NOTE = "install prefix in traceback paths replaced with <prefix>"


def redact_install_prefixes(text: str) -> str:
    """*text* with every traceback frame's install prefix replaced by ``<prefix>``."""
    return INSTALL_PREFIX.sub(r'File "<prefix>/\1', text)


def redact_file(path: Path) -> None:
    """Rewrite the log at *path* with :func:`redact_install_prefixes` applied."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    path.write_text(redact_install_prefixes(text), encoding="utf-8", errors="surrogateescape")
