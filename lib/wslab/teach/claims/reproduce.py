"""Notebook ``01_reproduce``'s conclusions: the incident's stack logs the write-up's 500, once per
direct WebSocket, and nothing else fails."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.study.incident.writeup import frame_key
from wslab.teach.claims.base import (DIRECT, EXCERPT, Claim, block_parts, by_kind_rows, every, file_name, k_of_n,
                                     kit_relative)
from wslab.versions import required_versions


def reproduce_claims(*, versions: Mapping[str, str], pins_file: str | Path, comparison: pd.DataFrame,
                     sent: Mapping[str, Any], counts: Mapping[str, Any], ws_users: int,
                     log: str | Path) -> list[Claim]:
    """Notebook 01's conclusions.

    *versions* are the installed ones (:func:`wslab.versions.stack_versions`),
    checked against the pins of the requirements file *pins_file*
    (:func:`wslab.versions.required_versions`); *comparison* is this run's first
    error block against the write-up's (:func:`wslab.study.incident.writeup.compare_blocks`),
    *sent* the clients' totals (``TrafficReport.totals()``), *counts* the counts
    of this run's *log* (:func:`wslab.study.runs.variant_run.count_log`) and *ws_users* how
    many direct WebSocket users the workload ran.
    """
    pins = required_versions(pins_file, [name for name in versions if name != "python"])
    pins_file = kit_relative(pins_file)
    log = file_name(log)
    same_pins = [name for name, wanted in pins.items() if wanted.version and versions.get(name) == wanted.version]
    matched, parts = block_parts(comparison)
    frames = comparison[comparison.index.str.startswith("frame")]
    theirs = [frame_key(line) for line in frames["write-up"]]
    frames_same = sum(1 for a, b in zip(theirs, frames["this run"].map(frame_key)) if a is not None and a == b)
    lines = ", ".join(key[1] for key in theirs if key)
    kinds = by_kind_rows(counts["by_kind"])
    direct = kinds.get(DIRECT, {"requests": 0, "server_errors": 0, "write_before_start_response": 0})
    others = [row for kind, row in kinds.items() if kind != DIRECT]
    other_requests = sum(row["requests"] for row in others)
    other_errors = sum(row["server_errors"] for row in others)
    users = sum(sent["users"].values())
    return [
        Claim(f"The installed stack is the incident's: every package at its pin in {pins_file}",
              f"stack_versions() against {pins_file}", f"{k_of_n(len(same_pins), len(pins))} packages",
              every(len(same_pins), len(pins))),
        Claim("This run's first error block matches the write-up's, part by part",
              f"{log} against {EXCERPT}", f"{k_of_n(matched, parts)} parts", every(matched, parts)),
        Claim(f"On Werkzeug {versions.get('werkzeug', '?')} its traceback frames are the write-up's "
              f"(werkzeug/serving.py lines {lines})",
              f"{log} against {EXCERPT}", f"{k_of_n(frames_same, len(theirs))} frames",
              every(frames_same, len(theirs))),
        Claim("No client saw an error", "the clients' record of this run",
              f"{sent['client_errors']} errors among {users} users", sent["client_errors"] == 0 and users > 0),
        Claim(f"Each of the {ws_users} direct WebSocket users logged one 500 line", log,
              f"{k_of_n(direct['server_errors'], ws_users)} (request lines: {direct['requests']})",
              every(direct["server_errors"], ws_users) and direct["requests"] == ws_users),
        Claim("... and one write() before start_response traceback", log,
              k_of_n(direct["write_before_start_response"], ws_users),
              every(direct["write_before_start_response"], ws_users)),
        Claim("No other request logged a 5xx: not the upgraded WebSockets, long-polling or pages", log,
              f"{other_errors} of {other_requests}", other_errors == 0 and other_requests > 0),
    ]
