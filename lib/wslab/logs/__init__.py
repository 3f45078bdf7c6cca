"""Log analysis: parse Werkzeug / Flask-SocketIO, gunicorn and nginx logs, measure error rates, draw charts.

==============================  ===============================================
``analyze(sources)``            the one pipeline of ``wslab analyze``: an :class:`Analysis`
``analyze_log(your_log)``       your own log: summary, per kind, per bucket, deploys
``parse_log(source)``           one log into a :class:`ParsedLog` of DataFrames
``parse_logs(sources)``         several logs into one :class:`ParsedLog`
``summarize(parsed)``           the ``wslab analyze --json`` dictionary
``scan_summary(sources)``       the same dictionary, streamed with flat memory
``error_rate_table(requests)``  error rate with Wilson 95 % intervals per group
``assign_phases(requests)``     phase labels from timestamps or marker lines
``plot_rate_by_group(...)``     rate per phase/variant with intervals
``plot_log_over_time(...)``     rate bars per bucket over request/5xx counts, deploys
``choose_bucket(span)``         the time-bucket width for a log's span
``find_input(path)``            where a path a user gives is found (as given, else under the kit)
==============================  ===============================================

Error rate, everywhere in this package: 5xx request lines / all request lines.
The accepted line formats are described in :mod:`wslab.logs.formats`: ``werkzeug``,
``gunicorn-access``, ``gunicorn-error`` and ``nginx`` (``combined``). ``parse_log``,
``parse_logs`` and ``scan_summary`` take ``format="auto"`` (the default: each source is
read in the format most of its first 200 lines have) or one of those names.

The package's folders, each answering one question: :mod:`~wslab.logs.formats`
(what lines look like, one module per format family), :mod:`~wslab.logs.reading`
(where bytes come from; a log opened once), :mod:`~wslab.logs.scanning` (what a
chunk holds: tracebacks, unparsed lines, counts), :mod:`~wslab.logs.parsing`
(request, error and marker rows) and :mod:`~wslab.logs.analysis` (the pipeline,
error rates, time buckets, charts). Code outside the package imports the names
below from ``wslab.logs``; they are imported on first use, so ``import wslab.logs``
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Analysis": "wslab.logs.analysis.pipeline",
    "analyze": "wslab.logs.analysis.pipeline",
    "analyze_log": "wslab.logs.analysis.overview",
    "LogOverview": "wslab.logs.analysis.overview",
    "ParsedLog": "wslab.logs.parsing.parser",
    "parse_log": "wslab.logs.parsing.parser",
    "parse_logs": "wslab.logs.parsing.parser",
    "summarize": "wslab.logs.parsing.parser",
    "KINDS": "wslab.logs.parsing.fields",
    "scan_summary": "wslab.logs.scanning.stream",
    "scan_tally": "wslab.logs.scanning.stream",
    "Tally": "wslab.logs.scanning.tally",
    "WRITE_BEFORE_START_RESPONSE": "wslab.logs.scanning.tally",
    "ERROR_RATE_DEFINITION": "wslab.logs.stats",
    "wilson_interval": "wslab.logs.stats",
    "error_rate_table": "wslab.logs.analysis.metrics",
    "assign_phases": "wslab.logs.analysis.metrics",
    "parse_instants": "wslab.logs.analysis.metrics",
    "parse_deploys": "wslab.logs.analysis.metrics",
    "marker_deploys": "wslab.logs.analysis.metrics",
    "plot_rate_by_group": "wslab.logs.analysis.charts",
    "plot_log_over_time": "wslab.logs.analysis.charts",
    "FAILED_COLOUR": "wslab.logs.analysis.charts",
    "OK_COLOUR": "wslab.logs.analysis.charts",
    "choose_bucket": "wslab.logs.analysis.buckets",
    "FORMATS": "wslab.logs.formats",
    "LogFormat": "wslab.logs.formats",
    "detect_format": "wslab.logs.formats",
    "find_input": "wslab.logs.inputs",
    "locate_log": "wslab.logs.inputs",
    "shown_path": "wslab.logs.inputs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the module that defines *name* on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wslab.logs' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
