"""Waiting for a condition with a deadline: the one polling loop the kit and its tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from wslab.errors import WslabError

T = TypeVar("T")


class WaitTimeout(WslabError):
    """A condition did not come true before its deadline."""


def wait_until(check: Callable[[], T], timeout: float, *, interval: float = 0.05,
               what: str | Callable[[], str] = "the condition") -> T:
    """Call *check* until it returns a true value, and return that value.

    *check* is called at once, then every *interval* seconds.  If it has not
    returned a true value after *timeout* seconds, :class:`WaitTimeout` is raised
    saying that *what* (a text, or a function giving one, called only then) did
    not happen within the timeout.  An exception raised by *check* propagates.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise WaitTimeout(f"{said} did not happen within {timeout:g} s")
        time.sleep(interval)
