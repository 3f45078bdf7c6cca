"""The named stack variants shared by ``wslab reproduce``, ``experiment`` and ``serve``.

=============  ===================  ====================  =======
name           session interface    Socket.IO config      guard
=============  ===================  ====================  =======
no-session     Flask cookie         pre-fix               no
before         legacy Redis         pre-fix               no
writeup-fix    fixed Redis          write-up's fix        no
guard          legacy Redis         pre-fix               yes
=============  ===================  ====================  =======

``guard`` is ``before`` plus the WSGI guard, so the guard's effect is isolated.
A variant runs on whatever versions the interpreter has; the factor matrix
(:mod:`wslab.study.versions.matrix`) runs them on other versions and servers, one change
at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wslab.errors import WslabError

SessionKind = Literal["none", "legacy", "fixed"]
ConfigKind = Literal["pre-fix", "fixed"]


@dataclass(frozen=True)
class Variant:
    """One arrangement of the demo stack."""

    name: str
    session: SessionKind
    config: ConfigKind
    guard: bool = False
    summary: str = ""


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("no-session", "none", "pre-fix", summary="no server-side session at all"),
        Variant("before", "legacy", "pre-fix", summary="legacy Redis sessions, pre-fix config"),
        Variant("writeup-fix", "fixed", "fixed", summary="the write-up's detection and config"),
        Variant("guard", "legacy", "pre-fix", guard=True, summary="'before' plus the WSGI guard"),
    )
}


def get_variant(name: str) -> Variant:
    """Look a variant up by name; unknown names raise :class:`WslabError` listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise WslabError(f"unknown variant {name!r} (choose from {', '.join(VARIANTS)})") from None
