"""The check-cell machinery every exercise shares: the placeholder, feedback, hints and wording.

A checker returns a :class:`Feedback` (correct, incorrect or not yet, with the
reasons, a hint and an optional table) and gives numbered hints through
:class:`Hints`.  An answer left as :data:`PLACEHOLDER` (``...``, what a task
notebook holds where the learner's answer goes) always gives the same "not
yet" feedback, so a task notebook's stored outputs are stable.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from wslab.errors import WslabError
from wslab.paths import KIT_ROOT

Status = Literal["correct", "incorrect", "not-yet"]

#: What a task notebook puts where the learner's answer goes.
PLACEHOLDER = ...


def kit_file(relative: str | Path) -> Path:
    """The path of *relative* inside the kit (``data/logs/before.log``, ``logs/x.log``).

    Looks next to the installed package first, then in the working folder and
    its parents, so it works from any notebook folder.
    """
    relative = Path(relative)
    candidates = [KIT_ROOT, *[p for p in (Path.cwd(), *Path.cwd().parents)]]
    for root in candidates:
        if (root / "data").is_dir() and (root / relative).exists():
            return root / relative
    for root in candidates:
        if (root / "data").is_dir():
            return root / relative
    raise WslabError(f"cannot find the kit's folder holding {relative}")


def kit_or_given(path: str | Path | None, default: str) -> Path:
    """*path* as given when it exists or is absolute, else inside the kit (:func:`kit_file`);
    the kit's *default* when *path* is empty."""
    if not path:
        return kit_file(default)
    if Path(path).exists() or Path(path).is_absolute():
        return Path(path)
    return kit_file(path)


def is_placeholder(value: Any) -> bool:
    """Whether *value* is still the task notebook's ``...`` placeholder."""
    return value is PLACEHOLDER


# -- feedback wording ------------------------------------------------------------------


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and *word*, in the plural (*many*, or *word* + ``s``) unless *n* is 1."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def answers_summary(mismatched: int, total: int, noun: str = "answer") -> str:
    """One sentence saying how many of *total* answers do not match, without a full stop.

    ``1 of your answers does not match``, ``2 of your answers do not match``,
    ``All 3 answers match``; ``Both answers match`` and ``Your answer matches``
    (or ``does not match``) for two and one answers.
    """
    nouns = noun + "s"
    if total == 1:
        return f"Your {noun} {'does not match' if mismatched else 'matches'}"
    if not mismatched:
        return f"Both {nouns} match" if total == 2 else f"All {total} {nouns} match"
    return f"{mismatched} of your {nouns} {'does' if mismatched == 1 else 'do'} not match"


def describe(value: Any) -> str:
    """How a wrong-typed answer is named in feedback (``the text 'x'``, ``a list with 2 items``)."""
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (Collection, pd.Series)):
        return f"a {type(value).__name__} with {plural(len(value), 'item')}"
    return repr(value)


def listing(values: Sequence[Any]) -> str:
    """*values* as a comma-separated list of code spans (```a`, `b```), or ``none``."""
    return ", ".join(f"`{v}`" for v in values) if values else "none"


def as_set(value: Any) -> set[str] | None:
    """A string or a collection of strings as a set of strings; None for anything else."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, (pd.Series, pd.Index)):
        value = value.tolist()
    if isinstance(value, Collection) and all(isinstance(v, str) for v in value):
        return set(value)
    return None


def markdown_table(frame: pd.DataFrame) -> str:
    """A small DataFrame as a Markdown table (index dropped)."""
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = [str(v).replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- what a check cell shows -------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    """What a check cell shows: a verdict, the reasons, a hint and an optional table."""

    status: Status
    title: str
    reasons: tuple[str, ...] = ()
    hint: str | None = None
    table: pd.DataFrame | None = field(default=None, compare=False)

    @property
    def correct(self) -> bool:
        """True only for a right answer."""
        return self.status == "correct"

    @property
    def label(self) -> str:
        """The verdict as a word: ``Correct``, ``Not quite`` or ``Not yet``."""
        return {"correct": "Correct", "incorrect": "Not quite", "not-yet": "Not yet"}[self.status]

    def text(self) -> str:
        """The feedback as plain text."""
        lines = [f"{self.label}: {self.title}"]
        lines += [f"  - {reason}" for reason in self.reasons]
        if self.table is not None and len(self.table):
            lines.append(self.table.to_string(index=False))
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        colour = {"correct": "#1a7f37", "incorrect": "#cf222e", "not-yet": "#9a6700"}[self.status]
        parts = [f'<span style="color:{colour}">**{self.label}**</span>: {self.title}']
        if self.reasons:
            parts.append("\n".join(f"* {reason}" for reason in self.reasons))
        if self.table is not None and len(self.table):
            parts.append(markdown_table(self.table))
        if self.hint:
            parts.append(f"*Hint:* {self.hint}")
        return "\n\n".join(parts)


class Hints:
    """Numbered hints, shown one at a time by ``checker.hint(n)``."""

    hints: tuple[str, ...] = ()

    def hint(self, n: int = 1) -> Feedback:
        """Hint number *n* (1-based); the last one when *n* is too large."""
        if not self.hints:
            return Feedback("not-yet", "no hints for this task")
        n = min(max(n, 1), len(self.hints))
        more = f" (`hint({n + 1})` for the next one)" if n < len(self.hints) else ""
        return Feedback("not-yet", f"hint {n} of {len(self.hints)}{more}", (self.hints[n - 1],))
