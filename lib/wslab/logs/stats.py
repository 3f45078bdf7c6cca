"""The error-rate definition and its Wilson score interval."""

from __future__ import annotations

from typing import TypeVar

ERROR_RATE_DEFINITION = "error rate = 5xx request lines / all request lines"

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054

T = TypeVar("T")


def wilson_interval(errors: T, total: T, z: float = Z95) -> tuple[T, T]:
    """Wilson score interval for ``errors / total``; works on numbers and on numpy/pandas arrays.

    *total* must be positive (mask zero totals before calling with arrays).
    """
    p = errors / total  # type: ignore[operator]
    denom = 1 + z**2 / total  # type: ignore[operator]
    centre = (p + z**2 / (2 * total)) / denom  # type: ignore[operator]
    half = z * (p * (1 - p) / total + z**2 / (4 * total**2)) ** 0.5 / denom  # type: ignore[operator]
    return centre - half, centre + half  # type: ignore[return-value]


def is_server_error(status: str) -> bool:
    """A 5xx status code."""
    return status[:1] == "5"
