"""Log analysis: parse Werkzeug / Flask-SocketIO, gunicorn and nginx logs, measure error rates, draw charts.

==============================  ===============================================
``parse_log(source)``           one log into a :class:`ParsedLog` of DataFrames
``parse_logs(sources)``         several logs into one :class:`ParsedLog`
``summarize(parsed)``           the ``wslab analyze --json`` dictionary
``scan_summary(sources)``       the same dictionary, streamed with flat memory
``error_rate_table(requests)``  error rate with Wilson 95 % intervals per group
``assign_phases(requests)``     phase labels from timestamps or marker lines
``plot_rate_by_group(...)``     rate per phase/variant with intervals
``analyze_log(your_log)``       your own log: summary, per kind, per bucket, deploys
``plot_log_over_time(...)``     rate bars per bucket over request/5xx counts, deploys
``choose_bucket(span)``         the time-bucket width for a log's span
==============================  ===============================================

Error rate, everywhere in this package: 5xx request lines / all request lines.
The accepted line formats are described in :mod:`wslab.logs.formats`: ``werkzeug``,
``gunicorn-access``, ``gunicorn-error`` and ``nginx`` (``combined``). ``parse_log``,
``parse_logs`` and ``scan_summary`` take ``format="auto"`` (the default: each source is
read in the format most of its first 200 lines have) or one of those names.
Names are imported on first use, so ``import wslab.logs`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ParsedLog": "wslab.logs.parser",
    "parse_log": "wslab.logs.parser",
    "parse_logs": "wslab.logs.parser",
    "summarize": "wslab.logs.summary",
    "scan_summary": "wslab.logs.summary",
    "ERROR_RATE_DEFINITION": "wslab.logs.stats",
    "wilson_interval": "wslab.logs.stats",
    "error_rate_table": "wslab.logs.metrics",
    "assign_phases": "wslab.logs.metrics",
    "plot_rate_by_group": "wslab.logs.charts",
    "plot_log_over_time": "wslab.logs.charts",
    "analyze_log": "wslab.logs.overview",
    "LogOverview": "wslab.logs.overview",
    "choose_bucket": "wslab.logs.buckets",
    "parse_instants": "wslab.logs.metrics",
    "parse_deploys": "wslab.logs.metrics",
    "marker_deploys": "wslab.logs.metrics",
    "locate_log": "wslab.logs.inputs",
    "KINDS": "wslab.logs.fields",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the module that defines *name* on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wslab.logs' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
