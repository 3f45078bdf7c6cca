"""The incident's log line format, as a :class:`logging.Formatter`.

The write-up's application wrote every record as::

    [2025-09-01T13:04:34.761399] INFO werkzeug - <message> (taskName=None)

that is ``[ISO timestamp with microseconds] LEVEL logger - message (taskName=...)``.
``taskName`` is a :class:`logging.LogRecord` attribute since Python 3.12; on
older Pythons the formatter supplies ``None`` so the lines look the same.
Werkzeug's ANSI colour codes in request lines are kept as they are.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s - %(message)s (taskName=%(taskName)s)"

#: Loggers whose records the lab's log file collects.
LAB_LOGGERS: tuple[str, ...] = ("werkzeug", "wslab", "engineio.server", "socketio.server")


class IncidentFormatter(logging.Formatter):
    """Format records exactly as the incident's ``logs/webapp.log`` did."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT, defaults={"taskName": None})

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """ISO 8601 local time, always with six digits of microseconds."""
        return datetime.fromtimestamp(record.created).strftime("%Y-%m-%dT%H:%M:%S.%f")


def file_handler(path: str | Path, level: int = logging.INFO) -> logging.FileHandler:
    """A UTF-8 file handler on *path* with the incident format, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(IncidentFormatter())
    return handler
