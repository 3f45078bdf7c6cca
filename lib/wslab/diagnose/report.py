"""The doctor's answer and how it is shown: findings, the changes behind them, the verdict.

A :class:`Diagnosis` holds one :class:`Finding` per pair of Werkzeug and
python-engineio versions (its outcome, the recorded rows behind it and the
:class:`Change` s measured at those versions), one :class:`PackageLine` per
package read, notes, and the :class:`Live` checks when there were any.  It
renders as the text ``wslab doctor`` prints (:meth:`Diagnosis.render`) and as
the object ``wslab doctor --json`` prints (:meth:`Diagnosis.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wslab.diagnose.measurements import Measurement
from wslab.model.servers import SERVER_LABELS
from wslab.versions import Wanted

#: Exit codes of the verdicts (2 is bad input, raised as :class:`WslabError`).
EXIT_CODES: dict[str, int] = {"not affected": 0, "affected": 1, "unmeasured": 3}
#: The 400 a closed WebSocket's left-over bytes log, in words.
NOISE = "the 400 'left-over bytes' noise"


@dataclass(frozen=True)
class Change:
    """One change to a finding's stack and what the records measured it does."""

    what: str
    removes: bool | None  #: None: not measured at these versions
    evidence: tuple[Measurement, ...] = ()
    note: str = ""

    def lines(self, pad: str = "  ") -> list[str]:
        """The change, then each row behind it: file, row, counts and the command that re-measures it."""
        out = [f"{pad}{self.what}{': ' + self.note if self.note else ''}"]
        for m in self.evidence:
            out += [f"{pad}    {m.file}, {m.where}: {m.counted(app=True)}",
                    f"{pad}    re-measure: {m.made_by}"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"change": self.what, "removes": self.removes, "note": self.note,
                "evidence": [m.to_dict() for m in self.evidence]}


@dataclass
class Finding:
    """One pair of Werkzeug and python-engineio versions on one server: what it logs, what removes it."""

    werkzeug: str | None
    engineio: str | None
    server: str
    outcome: str  #: ``500``, ``400``, ``nothing`` or ``unmeasured``
    evidence: list[Measurement] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    measure: str | None = None  #: the command that measures an unmeasured pair
    why: str = ""  #: for an unmeasured pair, what the records lack

    @property
    def pair(self) -> str:
        """``werkzeug 2.3.8, python-engineio 4.12.2``."""
        return f"werkzeug {self.werkzeug or '?'}, python-engineio {self.engineio or '?'}"

    def said(self) -> str:
        """What it logs, in words."""
        if self.outcome == "500":
            wbsr = any(c.get("write_before_start_response") for m in self.evidence for c in m.counts.values())
            kinds = sorted({"upgraded" if k == "upgrade" else k for m in self.evidence
                            for k, c in m.counts.items() if c.get("status_500")})
            return (f"{' and '.join(kinds)} WebSocket closes log a 500"
                    + (" and 'write() before start_response'" if wbsr else ""))
        if self.outcome == "400":
            return f"no 500, but WebSocket closes log {NOISE}"
        if self.outcome == "nothing":
            return "WebSocket closes log no 500 and no 400"
        return "not measured"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"werkzeug": self.werkzeug, "python_engineio": self.engineio, "server": self.server,
                "outcome": self.outcome, "says": self.said(), "measure": self.measure, "why": self.why,
                "evidence": [m.to_dict() for m in self.evidence],
                "changes": [c.to_dict() for c in self.changes]}


@dataclass(frozen=True)
class PackageLine:
    """One package of the deployment: what was read, and what is assumed of it."""

    package: str
    wanted: Wanted
    candidates: tuple[str | None, ...] | None = None  #: the versions evaluated (factors only)
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"package": self.package, "version": self.wanted.version, "specifier": self.wanted.specifier,
                "source": self.wanted.source, "evaluated": list(self.candidates) if self.candidates else None,
                "line": self.text}


@dataclass(frozen=True)
class Live:
    """The live checks of ``wslab verify``: passed or not, and their printed lines."""

    url: str
    ok: bool
    text: str


@dataclass
class Diagnosis:
    """The answer: findings per version pair, the packages read, notes, live checks."""

    server: str
    source: str
    packages: list[PackageLine]
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    live: Live | None = None

    @property
    def verdict(self) -> str:
        """``affected``, ``unmeasured`` or ``not affected`` (see the module's docstring)."""
        outcomes = {f.outcome for f in self.findings}
        if "500" in outcomes or (self.live is not None and not self.live.ok):
            return "affected"
        return "unmeasured" if "unmeasured" in outcomes else "not affected"

    @property
    def exit_code(self) -> int:
        """The command's exit status for :attr:`verdict`."""
        return EXIT_CODES[self.verdict]

    def headline(self) -> str:
        """The verdict as one line."""
        label, many = SERVER_LABELS[self.server], len(self.findings) > 1
        counted = {o: [f for f in self.findings if f.outcome == o] for o in ("500", "400", "nothing", "unmeasured")}
        live_failed = self.live is not None and not self.live.ok
        if counted["500"]:
            first = counted["500"][0]
            if many:
                text = (f"AFFECTED: {len(counted['500'])} of {len(self.findings)} admitted version pairs log "
                        f"the 500 on {label} (e.g. {first.pair}: {first.said()})")
            else:
                text = f"AFFECTED: on {label}, {first.said()} ({first.pair})"
            return text + ("; the live checks failed too" if live_failed else "")
        if live_failed:
            return (f"AFFECTED: the live checks of {self.live.url} failed; the recorded results for "
                    f"{label}: {self._records_summary(counted)}")
        if counted["unmeasured"]:
            first = counted["unmeasured"][0]
            return (f"UNMEASURED: the recorded results have no row for {first.pair} on {label}"
                    + (f" ({len(counted['unmeasured'])} of {len(self.findings)} version pairs unmeasured; "
                       f"the others: {self._records_summary(counted, unmeasured=False)})" if many else ""))
        return f"NOT AFFECTED: on {label}, {self._records_summary(counted)}"

    def _records_summary(self, counted: dict[str, list[Finding]], unmeasured: bool = True) -> str:
        parts = []
        for outcome in ("500", "400", "nothing", "unmeasured"):
            if not counted[outcome] or (outcome == "unmeasured" and not unmeasured):
                continue
            found = counted[outcome]
            head = found[0].said() if outcome != "unmeasured" else "not measured"
            pairs = found[0].pair if len(found) == 1 else f"{len(found)} version pairs"
            parts.append(f"{head} ({pairs})")
        return "; ".join(parts) or "nothing evaluated"

    def render(self) -> str:
        """The verdict line, the evidence, the changes, the versions read, notes and live checks."""
        many = len(self.findings) > 1
        out = [self.headline(), "", "evidence (recorded rows; 'before' stack = an app without any fix):"]
        for f in self.findings:
            if many:
                out.append(f"  {f.pair}: {f.said() if f.outcome != 'unmeasured' else 'UNMEASURED'}")
            pad = "    " if many else "  "
            for m in f.evidence:
                out += m.lines(pad)
            if f.outcome == "unmeasured":
                out.append(f"{pad}unmeasured: {f.why}")
                if f.measure:
                    out.append(f"{pad}measure it with: {f.measure}")
        blocks: dict[tuple[str, ...], Finding] = {}
        for f in self.findings:
            if f.outcome not in ("500", "400"):
                continue
            block = self._changes_block(f)
            if many and tuple(block) in blocks:
                out += ["", f"changes ({f.pair}): the same as for {blocks[tuple(block)].pair} above"]
                continue
            blocks[tuple(block)] = f
            out += [line.replace("{pair}", f" ({f.pair})" if many else "") for line in block]
        out += ["", f"versions ({self.source}):"] + [f"  {p.text}" for p in self.packages]
        if self.notes:
            out += ["", "notes:"] + [f"  {n}" for n in self.notes]
        if self.live is not None:
            out += ["", f"live checks (wslab verify {self.live.url}):"]
            out += [f"  {line}" for line in self.live.text.splitlines()]
        return "\n".join(out)

    @staticmethod
    def _changes_block(finding: Finding) -> list[str]:
        """The finding's changes, grouped: remove it, do not, not measured (``{pair}`` left to fill in)."""
        what = "the 500" if finding.outcome == "500" else NOISE
        out: list[str] = []
        for title, removes in ((f"changes that remove {what}, as measured", True),
                               (f"changes that do not remove {what}, as measured", False),
                               ("changes not measured at these versions", None)):
            lines = [x for c in finding.changes if c.removes is removes for x in c.lines()]
            if lines:
                out += ["", f"{title}{{pair}}:"] + lines
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: verdict, exit code, findings, packages, notes, live checks."""
        return {"verdict": self.verdict, "exit_code": self.exit_code, "headline": self.headline(),
                "server": self.server, "source": self.source,
                "findings": [f.to_dict() for f in self.findings],
                "packages": [p.to_dict() for p in self.packages], "notes": self.notes,
                "live": None if self.live is None else {"url": self.live.url, "ok": self.live.ok,
                                                        "report": self.live.text}}
