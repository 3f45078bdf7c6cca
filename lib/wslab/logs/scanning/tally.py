"""The counts of one or more logs (:class:`Tally`) and the ``wslab analyze --json`` dictionary they give.

The streaming reader (:mod:`wslab.logs.scanning.stream`) adds chunk counts to a
tally; :func:`wslab.logs.parsing.parser.summarize` builds one from parsed rows.
Either way :meth:`Tally.as_dict` gives the same dictionary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wslab.logs.stats import ERROR_RATE_DEFINITION, is_server_error, wilson_interval

WRITE_BEFORE_START_RESPONSE = "write() before start_response"
MAX_SAMPLES = 5
SAMPLE_WIDTH = 200


def sample_text(line: bytes) -> str:
    """A printable excerpt of an unparsed line, with undecodable bytes shown escaped."""
    return line.rstrip(b"\r").decode("utf-8", "backslashreplace")[:SAMPLE_WIDTH]


@dataclass
class Tally:
    """Counts gathered over one or more sources; :meth:`as_dict` is the ``--json`` output."""

    files: list[str] = field(default_factory=list)
    #: The format each of :attr:`files` was read in (not part of :meth:`as_dict`).
    formats: list[str] = field(default_factory=list)
    #: What the files that start with no text look like, by name (see
    #: :func:`~wslab.logs.reading.sniff.binary_kind`; not part of :meth:`as_dict`).
    binary: dict[str, str] = field(default_factory=dict)
    lines: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    chains: Counter[tuple[str, ...]] = field(default_factory=Counter)
    incomplete_tracebacks: int = 0
    bad_request_syntax_lines: int = 0
    unparsed_lines: int = 0
    unparsed_samples: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_unparsed(self, buf: bytes, spans: list[tuple[int, int]]) -> None:
        """Count unparsed line spans of *buf* and keep the first few as samples."""
        self.unparsed_lines += len(spans)
        for start, end in spans[: max(0, MAX_SAMPLES - len(self.unparsed_samples))]:
            self.unparsed_samples.append(sample_text(buf[start:end]))

    def merge(self, other: Tally) -> Tally:
        """Add *other*'s counts (from later in the same input) to this tally; return it."""
        self.files.extend(other.files)
        self.formats.extend(other.formats)
        self.binary.update(other.binary)
        self.lines += other.lines
        self.statuses.update(other.statuses)
        self.exceptions.update(other.exceptions)
        self.chains.update(other.chains)
        self.incomplete_tracebacks += other.incomplete_tracebacks
        self.bad_request_syntax_lines += other.bad_request_syntax_lines
        self.unparsed_lines += other.unparsed_lines
        room = max(0, MAX_SAMPLES - len(self.unparsed_samples))
        self.unparsed_samples.extend(other.unparsed_samples[:room])
        self.warnings.extend(other.warnings)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values, with the error-rate definition.

        ``exceptions`` counts the final exception of each complete traceback (a
        chained traceback counts once, by its final exception);
        ``chained_tracebacks`` is how many of those were chained, and
        ``exception_chains`` lists each distinct chain of exception types
        (earliest first, final last) with its count, most frequent first.
        """
        requests = sum(self.statuses.values())
        errors = sum(n for status, n in self.statuses.items() if is_server_error(status))
        rate = errors / requests if requests else None
        low, high = wilson_interval(errors, requests) if requests else (None, None)
        return {
            "files": list(self.files),
            "lines": self.lines,
            "request_lines": requests,
            "status_counts": {status: self.statuses[status] for status in sorted(self.statuses)},
            "server_errors": errors,
            "error_rate": rate,
            "error_rate_ci95": None if low is None else [max(0.0, low), min(1.0, high)],
            "error_rate_definition": ERROR_RATE_DEFINITION,
            "exceptions": dict(sorted(self.exceptions.items(), key=lambda kv: (-kv[1], kv[0]))),
            "write_before_start_response": sum(
                n for text, n in self.exceptions.items() if WRITE_BEFORE_START_RESPONSE in text
            ),
            "incomplete_tracebacks": self.incomplete_tracebacks,
            "chained_tracebacks": sum(self.chains.values()),
            "exception_chains": [
                {"chain": list(chain), "count": n}
                for chain, n in sorted(self.chains.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "bad_request_syntax_lines": self.bad_request_syntax_lines,
            "unparsed_lines": self.unparsed_lines,
            "unparsed_samples": list(self.unparsed_samples),
            "warnings": list(self.warnings),
        }
