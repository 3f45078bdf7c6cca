"""The write-up's fix measured piece by piece: its detection, its configuration, its runs.

=========================================  =============================================================
``detection_examples(records)``            one request per (label, client) and the write-up's signals on it
``detection_by_label(records)``            per corpus label: requests, how many the detection flags
``config_effect()``                        the fix's three keys on the installed stack, before and after
``log_counts_by_kind(results)``            each run's request lines per kind: requests, 5xx, tracebacks
``skipped_lines(results)``                 each run's ``Skipping session creation`` lines beside its 5xx
``handler_sessions(results)``              each run's Socket.IO users, and what their handlers saw
=========================================  =============================================================

*records* are request heads from :func:`wslab.study.detection.corpus.load_corpus`;
*results* map a variant name to what :func:`wslab.study.runs.variant_run.run_variant`
returned for it.  Every number comes from the corpus, a real ``SocketIO``
server, the clients' record or the log a run wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.app.detection import WRITEUP_SIGNALS, RequestHead, writeup_signals
from wslab.app.socketio_config import WRITEUP_FIX_KEYS, build_config, effective_settings
from wslab.study.detection.corpus import LABELS

#: What the write-up's fixed session interface logs each time its detection fires.
SKIPPING_SESSION = "Skipping session creation for WebSocket request"

#: How many characters of a query the examples table shows.
QUERY_SHOWN = 30


def _fired(record: Mapping[str, Any]) -> dict[str, bool]:
    return writeup_signals(RequestHead.from_source(record))


def detection_examples(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The first request of each (label, client) pair, with an ``x`` for each write-up signal that fires."""
    first: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in records:
        first.setdefault((record["label"], record["source"]), record)
    rows = []
    for (label, source), record in sorted(first.items()):
        fired = _fired(record)
        rows.append({"label": label, "client": source,
                     "request": f"{record['method']} {record['path']}?{record['query'][:QUERY_SHOWN]}",
                     **{name: "x" if fired[name] else "" for name in WRITEUP_SIGNALS}})
    return pd.DataFrame(rows, columns=["label", "client", "request", *WRITEUP_SIGNALS])


def detection_by_label(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Per corpus label: ``requests``, how many the write-up's detection ``flagged`` (any signal fired),
    and the ``fewest_signals`` that fired on one flagged request (0 when none was flagged)."""
    counts = {label: {"requests": 0, "flagged": 0, "fewest_signals": 0} for label in LABELS}
    for record in records:
        row = counts.setdefault(record["label"], {"requests": 0, "flagged": 0, "fewest_signals": 0})
        fired = sum(_fired(record).values())
        row["requests"] += 1
        if fired:
            row["fewest_signals"] = min(row["fewest_signals"], fired) if row["flagged"] else fired
            row["flagged"] += 1
    return pd.DataFrame.from_dict(counts, orient="index").rename_axis("label")


def config_effect(profile: str = "main") -> pd.DataFrame:
    """What the fix's three keys hold in a real ``SocketIO`` server, pre-fix and with the fix.

    One row per key of :data:`~wslab.app.socketio_config.WRITEUP_FIX_KEYS`:
    the value read back from a server built with the pre-fix configuration and
    from one built with the write-up's (``repr`` strings), and whether they
    differ on the installed libraries (``changed``).
    """
    before = effective_settings(build_config(profile, fixed=False))  # type: ignore[arg-type]
    fixed = effective_settings(build_config(profile, fixed=True))  # type: ignore[arg-type]
    keys = sorted(WRITEUP_FIX_KEYS)
    return pd.DataFrame({"pre-fix": [repr(before[k]) for k in keys],
                         "write-up's fix": [repr(fixed[k]) for k in keys],
                         "changed": [before[k] != fixed[k] for k in keys]}, index=pd.Index(keys, name="key"))


def log_counts_by_kind(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Each run's request lines per kind (requests, 5xx, tracebacks), indexed by variant and kind."""
    return pd.concat({variant: pd.DataFrame(result["log"]["by_kind"]).set_index("kind")
                      for variant, result in results.items()}, names=["variant"])


def skipped_lines(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per run: its log's ``Skipping session creation`` lines, 5xx lines and ``write() before start_response``."""
    rows = {}
    for variant, result in results.items():
        text = Path(result["log_path"]).read_text(encoding="utf-8", errors="replace")
        rows[variant] = {"skipping_session_lines": text.count(SKIPPING_SESSION),
                         "server_errors": result["log"]["server_errors"],
                         "write_before_start_response": result["log"]["write_before_start_response"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")


def handler_sessions(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per run: Socket.IO users, connect handlers that saw the signed-in user, handler writes seen over HTTP."""
    rows = {}
    for variant, result in results.items():
        sent = result["sent"]
        rows[variant] = {"socketio_users": sent["users"].get("websocket", 0) + sent["users"].get("upgrade", 0),
                         "connect_handler_saw_user": sent["session_seen_by_connect"],
                         "socketio_write_seen_over_http": sent["socketio_write_seen_over_http"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")
