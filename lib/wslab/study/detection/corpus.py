"""The request corpus: request heads captured server-side from real clients, as labelled JSONL.

A corpus line is one JSON object ``{"method", "path", "query", "headers",
"label", "source"}``.  ``label`` says what the request really was, decided by
what the server did with it, never by a detector (see :mod:`wslab.lab.capture`,
which captures them, for what each label means): one of :data:`LABELS`, of
which :data:`NEGATIVE_LABELS` are neither WebSocket nor Engine.IO traffic.
:func:`load_corpus` and :func:`save_corpus` read and write JSONL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.lab.capture import LABELS

__all__ = ["FIELDS", "LABELS", "NEGATIVE_LABELS", "load_corpus", "save_corpus"]

#: Labels of requests that are neither WebSocket nor Engine.IO traffic; all other labels are positives.
NEGATIVE_LABELS: tuple[str, ...] = ("http", "not-engineio")

#: The keys of one corpus line, in the order they are written.
FIELDS: tuple[str, ...] = ("method", "path", "query", "headers", "label", "source")


def _check_record(obj: Any, where: str) -> dict[str, Any]:
    """Return *obj* if it is a well-formed corpus line, else raise :class:`WslabError`."""
    if not isinstance(obj, dict):
        raise WslabError(f"{where}: expected a JSON object")
    missing = [key for key in FIELDS if key not in obj]
    if missing:
        raise WslabError(f"{where}: missing field(s) {', '.join(missing)}")
    for key in ("method", "path", "query", "label", "source"):
        if not isinstance(obj[key], str):
            raise WslabError(f"{where}: field {key!r} must be a string")
    headers = obj["headers"]
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise WslabError(f"{where}: field 'headers' must be an object of strings")
    if obj["label"] not in LABELS:
        raise WslabError(f"{where}: unknown label {obj['label']!r} (expected one of {', '.join(LABELS)})")
    return obj


def load_corpus(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL corpus; a missing file, bad JSON or a bad line raises :class:`WslabError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WslabError(f"corpus file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WslabError(f"cannot read corpus {path}: {exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WslabError(f"{where}: invalid JSON ({exc.msg})") from None
        records.append(_check_record(obj, where))
    return records


def save_corpus(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write corpus lines as JSONL (fields in :data:`FIELDS` order); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for number, record in enumerate(records, start=1):
            _check_record(record, f"record {number}")
            out.write(json.dumps({key: record[key] for key in FIELDS}) + "\n")
            count += 1
    return count
