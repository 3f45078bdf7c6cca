"""Pair each traceback record with the request line it belongs to.

Werkzeug logs a failed request's ``500`` line first and its ``Error on request:``
traceback right after, from the same thread; other threads' lines may come in
between. Flask logs ``Exception on /path [GET]`` first and the ``500`` line
after. So:

* a Flask record takes the next unpaired 5xx request with the same method and path;
* a gunicorn ``Error handling request`` record takes none: gunicorn logs its
  request's ``500`` line in another file, the access log;
* any other record takes the latest unpaired 5xx request before it, preferring one
  whose line prefix (logger, thread name...) is the same as the record's.
"""

from __future__ import annotations

import pandas as pd

_POOL = 256


def _pick(pool: list[int], context: str | None, contexts: dict[int, str]) -> int | None:
    for position in range(len(pool) - 1, -1, -1):
        if pd.notna(context) and contexts[pool[position]] == context:
            return pool.pop(position)
    return pool.pop() if pool else None


def _match_file(requests: pd.DataFrame, errors: pd.DataFrame) -> dict[int, int]:
    failed = requests[requests["server_error"].astype(bool)]
    target = failed[["method", "path"]].apply(tuple, axis=1).to_dict()
    contexts = failed["context"].to_dict()
    flask = errors[["flask_method", "flask_path"]].apply(tuple, axis=1).to_dict()
    gunicorn = set(errors.index[errors["reporter"] == "gunicorn"])
    events = sorted(
        [(line, 1, idx) for idx, line in failed["line"].items()]
        + [(line, 0, idx) for idx, line in errors["line"].items()]
    )
    pool: list[int] = []
    flask_waiting: list[int] = []
    paired: dict[int, int] = {}
    for _, is_request, idx in events:
        if is_request:
            waiting = [err for err in flask_waiting if flask[err] == target[idx]]
            if waiting:
                paired[waiting[0]] = idx
                flask_waiting.remove(waiting[0])
            else:
                pool = [*pool[-_POOL:], idx]
        elif pd.notna(flask[idx][1]):
            flask_waiting = [*flask_waiting[-_POOL:], idx]
        elif idx not in gunicorn:
            chosen = _pick(pool, errors.at[idx, "context"], contexts)
            if chosen is not None:
                paired[idx] = chosen
    return paired


def match_errors(requests: pd.DataFrame, errors: pd.DataFrame) -> pd.Series:
    """For each row of *errors*, the index of its request in *requests* (``<NA>`` if none)."""
    paired: dict[int, int] = {}
    for name, file_errors in errors.groupby("file", sort=False):
        paired.update(_match_file(requests[requests["file"] == name], file_errors))
    return pd.Series(paired, index=errors.index, dtype="Int64")
