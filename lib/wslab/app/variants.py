"""The named stack variants shared by ``wslab reproduce``, ``experiment`` and ``serve``.

=============  ===================  ====================  =======  =========
name           session interface    Socket.IO config      guard    pins
=============  ===================  ====================  =======  =========
no-session     Flask cookie         pre-fix               no       incident
before         legacy Redis         pre-fix               no       incident
writeup-fix    fixed Redis          write-up's fix        no       incident
guard          legacy Redis         pre-fix               yes      incident
upgraded       legacy Redis         pre-fix               no       current
=============  ===================  ====================  =======  =========

``guard`` is ``before`` plus the WSGI guard, so the guard's effect is isolated;
``upgraded`` is ``before`` on the current releases (run in their own venv).
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
    pins: Literal["incident", "current"] = "incident"
    summary: str = ""


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("no-session", "none", "pre-fix", summary="no server-side session at all"),
        Variant("before", "legacy", "pre-fix", summary="legacy Redis sessions, pre-fix config"),
        Variant("writeup-fix", "fixed", "fixed", summary="the write-up's detection and config"),
        Variant("guard", "legacy", "pre-fix", guard=True, summary="'before' plus the WSGI guard"),
        Variant("upgraded", "legacy", "pre-fix", pins="current",
                summary="'before' on current releases"),
    )
}


def get_variant(name: str) -> Variant:
    """Look a variant up by name; unknown names raise :class:`WslabError` listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise WslabError(f"unknown variant {name!r} (choose from {', '.join(VARIANTS)})") from None
