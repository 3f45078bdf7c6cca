"""The committed logs and what their recordings sent.

``data/logs/manifest.json`` keeps, for each committed log, the ``wslab
reproduce`` command that wrote it.  That command line is the workload's own
record of what it sent (how many users of each kind), so a log's counts can be
checked against it without trusting the counts the kit stored beside them.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.errors import WslabError
from wslab.paths import DATA_DIR

MANIFEST = DATA_DIR / "logs" / "manifest.json"
USER_KINDS = ("ws", "upgrade", "polling", "http")
_USERS = re.compile(r"^--(?P<kind>ws|upgrade|polling|http)-users(?:=(?P<value>\d+))?$")


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    """The manifest as a dict keyed by log file name."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WslabError(f"cannot read {path}: {exc}") from None


def users_sent(command: str) -> dict[str, int]:
    """Users of each kind a ``wslab reproduce`` *command* line sent (0 where not given)."""
    words = shlex.split(command)
    sent = dict.fromkeys(USER_KINDS, 0)
    for index, word in enumerate(words):
        match = _USERS.match(word)
        if match is None:
            continue
        value = match["value"] if match["value"] is not None else words[index + 1]
        sent[match["kind"]] = int(value)
    return sent


def variant_of(command: str) -> str:
    """The ``--variant`` a ``wslab reproduce`` *command* line ran."""
    words = shlex.split(command)
    for index, word in enumerate(words):
        if word.startswith("--variant="):
            return word.split("=", 1)[1]
        if word == "--variant":
            return words[index + 1]
    raise WslabError(f"no --variant in {command!r}")


def against_what_was_sent(summaries: Mapping[str, Mapping[str, Any]],
                          manifest: Mapping[str, Any]) -> pd.DataFrame:
    """One row per log: direct WebSocket users its recording sent next to what the log shows now.

    *summaries* maps a log name to its :func:`wslab.logs.summarize` dict.  On
    the incident's pins each direct WebSocket ends as one ``500`` line with
    one ``write() before start_response`` traceback, except under the guard,
    where it ends as one ``101`` line; ``holds`` says whether this log shows
    exactly that.
    """
    rows = []
    for name, summary in summaries.items():
        command = manifest[name]["command"]
        variant, direct = variant_of(command), users_sent(command)["ws"]
        statuses = summary["status_counts"]
        lines_500, lines_101 = int(statuses.get("500", 0)), int(statuses.get("101", 0))
        tracebacks = int(summary["write_before_start_response"])
        if variant == "guard":
            holds = lines_101 == direct and lines_500 == 0 and tracebacks == 0
        else:
            holds = lines_500 == direct and tracebacks == direct
        rows.append({"log": name, "variant": variant, "direct WebSockets sent": direct,
                     "500 lines": lines_500, "write() before start_response": tracebacks,
                     "101 lines": lines_101, "holds": holds})
    return pd.DataFrame(rows).set_index("log")
