"""The claim record and its table, shared by every notebook's conclusions.

A :class:`Claim` is one sentence a notebook concludes, where its number comes
from (``evidence``: which run, log or committed file), the number itself as
short text (``measured``: ``"6/6"``, ``"0 of 8"``) and whether it ``holds``.
:func:`conclusions` turns claims into the table a notebook's closing cell
shows, one row per claim, columns :data:`COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wslab.model.kinds import RequestKind
from wslab.paths import KIT_ROOT

#: The columns of a conclusions table, in order.
COLUMNS = ("claim", "evidence", "measured", "holds")

#: The variants the claims name.
BEFORE, WRITEUP_FIX, GUARD, NO_SESSION = "before", "writeup-fix", "guard", "no-session"
#: The kinds of request line a direct WebSocket and an upgraded one log.
DIRECT, UPGRADE = RequestKind.DIRECT_WEBSOCKET, RequestKind.UPGRADED_WEBSOCKET
#: The write-up's error block, as the kit keeps it.
EXCERPT = "data/logs/writeup_excerpt.log"


@dataclass(frozen=True)
class Claim:
    """One conclusion: the sentence, where its number comes from, the number, and whether it holds."""

    claim: str
    evidence: str
    measured: str
    holds: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", bool(self.holds))


def conclusions(claims: Iterable[Claim]) -> pd.DataFrame:
    """The claims as a table with the columns :data:`COLUMNS`, one row per claim, in order."""
    return pd.DataFrame([asdict(c) for c in claims], columns=list(COLUMNS))


def k_of_n(k: int, n: int) -> str:
    """``"k/n"``."""
    return f"{int(k)}/{int(n)}"


def every(k: int, n: int) -> bool:
    """All *n* of something did it: there were some (``n > 0``) and ``k == n``."""
    return n > 0 and k == n


def file_name(path: str | Path) -> str:
    """The last part of *path*: a file's name."""
    return Path(path).name


def kit_relative(path: str | Path) -> str:
    """*path* relative to the kit's root when it lies inside it, else as given."""
    resolved = Path(path).resolve()
    return resolved.relative_to(KIT_ROOT).as_posix() if resolved.is_relative_to(KIT_ROOT) else str(path)


def by_kind_rows(by_kind: Sequence[Mapping[str, Any]] | pd.DataFrame) -> dict[str, Mapping[str, Any]]:
    """``count_log``'s ``by_kind`` (a list of dicts, or that list as a table indexed by kind) by kind."""
    if isinstance(by_kind, pd.DataFrame):
        return {kind: row.to_dict() for kind, row in by_kind.iterrows()}
    return {row["kind"]: row for row in by_kind}


def block_parts(comparison: pd.DataFrame) -> tuple[int, int]:
    """``(parts of the write-up's block this block matches, parts the write-up's block has)``."""
    theirs = comparison["write-up"].astype(str) != ""
    return int((comparison["same"] & theirs).sum()), int(theirs.sum())
