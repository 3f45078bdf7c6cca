"""Progress bars for the kit's long runs, on standard error.

:class:`Bar` is :class:`tqdm.tqdm` without tqdm's monitor thread
(``monitor_interval = 0``, tqdm's documented switch).  The monitor is a
process-wide thread that tqdm starts with the first bar and stops only when
the last bar is closed; the kit's runs never need it (their bars update from
the thread that does the work), and a thread that outlives a run would be
reported by the tests' leak checks as a leak of that run.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Bar(tqdm):
    """A tqdm bar on stderr that leaves no line behind and starts no monitor thread."""

    monitor_interval = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("file", sys.stderr)
        kwargs.setdefault("leave", False)
        super().__init__(*args, **kwargs)
