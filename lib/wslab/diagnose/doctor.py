"""Is a deployment affected, how, and what removes it — answered only from the recorded results.

The kit has measured, rather than reasoned about, how a direct WebSocket close
is logged: the factor matrix (``data/matrix/matrix.json``, made by ``wslab
matrix``) varies Werkzeug, python-engineio and the server one at a time, and
the bisect (``data/bisect/python-engineio/bisect.json``, made by ``wslab
bisect``) measures every python-engineio release between two versions.
:func:`diagnose` looks a deployment's versions up in those rows and nowhere
else:

outcome
    ``500`` (a 500 request line, with or without ``write() before
    start_response``), ``400`` (no 500, but the left-over bytes of a closed
    WebSocket logged as a ``"None /socket.io/… HTTP/0.9" 400`` line) or
    ``nothing``, the worst any recorded row shows for the same Werkzeug and
    python-engineio versions on the same server with the ``before`` stack;
    ``unmeasured`` when no row has them, with the ``wslab bisect`` or ``wslab
    matrix`` command that measures them.  Nothing is extrapolated: a version
    no row ran is unmeasured, however close it is to one that did.
versions
    one exact version per package (installed, or pinned with ``==``), or a
    range.  A range, a bare name and a package the requirements leave out
    are each evaluated at every release the recorded results measured that
    it admits, one finding per pair of Werkzeug and python-engineio
    versions, and the assumption is said in the package's line.
changes
    for a ``500`` (or ``400``) finding, each change the records measured at
    the same versions: upgrading python-engineio (to the oldest measured
    release without it, with none after it), upgrading Werkzeug, the kit's
    guard, turning the debugger off, gunicorn's gthread worker and the
    write-up's fix, each with the row that shows what it does.
verdict and exit code
    ``affected`` (1) when any finding is ``500`` or a live check failed,
    else ``unmeasured`` (3) when any finding is unmeasured, else ``not
    affected`` (0), the 400 noise included in the verdict line when measured.

From Python::

    from wslab import versions
    from wslab.diagnose import doctor

    records = doctor.load_records()
    diagnosis = doctor.diagnose(records, versions.required_versions("requirements.txt"),
                                "werkzeug", "requirements.txt")
    diagnosis.verdict, diagnosis.exit_code
    print(diagnosis.render())
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from wslab.app.variants import VARIANTS
from wslab.errors import WslabError
from wslab.logs.inputs import shown_path
from wslab.paths import DATA_DIR, KIT_ROOT
from wslab.versions import DEPLOYMENT_PACKAGES, Wanted

#: The recorded results, where the kit keeps them.
MATRIX_FILE = DATA_DIR / "matrix" / "matrix.json"
BISECT_FILE = DATA_DIR / "bisect" / "python-engineio" / "bisect.json"

#: ``--server`` names, and the server each one is in the recorded results.
SERVERS: dict[str, str] = {"werkzeug": "werkzeug", "werkzeug-debug": "werkzeug-debug",
                           "gunicorn": "gunicorn-gthread", "gunicorn-gthread": "gunicorn-gthread"}
SERVER_LABELS: dict[str, str] = {"werkzeug": "Werkzeug's dev server",
                                 "werkzeug-debug": "Werkzeug's dev server with the debugger on",
                                 "gunicorn-gthread": "gunicorn's gthread worker"}
#: The two packages the recorded results vary; every other one the installer chose per row.
FACTORS: tuple[str, str] = ("werkzeug", "python-engineio")
#: A row's version fields, by package.
ROW_FIELDS: dict[str, str] = {"werkzeug": "werkzeug", "python-engineio": "python_engineio",
                              "python-socketio": "python_socketio", "flask-socketio": "flask_socketio",
                              "simple-websocket": "simple_websocket", "flask": "flask"}
#: The stack every finding is about, and the variants that are changes to it.
BASE_VARIANT = "before"
GUARD_VARIANT = next(v.name for v in VARIANTS.values() if v.guard)
WRITEUP_VARIANT = "writeup-fix"
#: Exit codes of the verdicts (2 is bad input, raised as :class:`WslabError`).
EXIT_CODES: dict[str, int] = {"not affected": 0, "affected": 1, "unmeasured": 3}
#: How bad an outcome is, for "the worst any row shows".
_SEVERITY = {"nothing": 0, "400": 1, "500": 2}
#: The counts shown besides the 500, when not zero.
_COUNT_NAMES = (("write_before_start_response", "'write() before start_response'"), ("status_400", "400"),
                ("status_101", "101"), ("status_200", "200"), ("not_logged", "not logged"))
_NOISE = "the 400 'left-over bytes' noise"


def server_name(name: str) -> str:
    """The recorded results' name of ``--server`` *name*; an unknown one is a :class:`WslabError`."""
    try:
        return SERVERS[name]
    except KeyError:
        raise WslabError(f"unknown server {name!r} (choose from werkzeug, werkzeug-debug, gunicorn)") from None


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _same(a: str | None, b: str | None) -> bool:
    va, vb = _version(a), _version(b)
    return va is not None and va == vb if (va or vb) else a == b


@dataclass(frozen=True)
class Measurement:
    """One recorded row: which file, which row, its versions and server, what it counted."""

    file: str
    made_by: str
    where: str  #: ``cell incident, variant before`` or ``release 4.13.4``
    server: str
    variant: str
    versions: dict[str, str]
    counts: dict[str, dict[str, int]]  #: ``direct`` (and ``upgrade``) → outcome counts
    server_side: dict[str, int] = field(default_factory=dict)
    sessions: tuple[int, int] | None = None  #: connect handlers that saw the user, of all

    @property
    def outcome(self) -> str:
        """``500``, ``400`` or ``nothing``: the worst any of its kinds of connection shows."""
        if any(c.get("status_500") for c in self.counts.values()):
            return "500"
        if any(c.get("status_400") for c in self.counts.values()):
            return "400"
        return "nothing"

    def has(self, package: str, version: str | None) -> bool:
        """True when the row ran *package* at *version*."""
        return _same(self.versions.get(package), version)

    def counted(self, app: bool = False) -> str:
        """``direct: 500 4/4, 'write() before start_response' 4/4; upgraded: 500 0/4, 200 4/4``.

        The 500 count is always shown, the others when not zero; *app* adds
        what the app raised or reported (gunicorn's ``StopIteration``).
        """
        parts = []
        for kind, counts in self.counts.items():
            n = counts.get("connections", 0)
            shown = [f"500 {counts.get('status_500', 0)}/{n}"]
            shown += [f"{label} {counts[key]}/{n}" for key, label in _COUNT_NAMES if counts.get(key)]
            parts.append(f"{'upgraded' if kind == 'upgrade' else kind}: {', '.join(shown)}")
        inside = {k: v for k, v in self.server_side.items() if not k.startswith("dropped:")}
        if app and inside:
            parts.append("in the app: " + ", ".join(f"{k} {v}" for k, v in inside.items()))
        return "; ".join(parts)

    def lines(self, pad: str = "  ") -> list[str]:
        """The row as evidence: its file and row, its counts, the command that re-measures it."""
        return [f"{pad}{self.file}, {self.where} (werkzeug {self.versions.get('werkzeug')}, "
                f"python-engineio {self.versions.get('python-engineio')}, server {self.server})",
                f"{pad}    {self.counted(app=True)}",
                f"{pad}    re-measure: {self.made_by}"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"file": self.file, "made_by": self.made_by, "where": self.where, "server": self.server,
                "variant": self.variant, "versions": self.versions, "outcome": self.outcome,
                "counts": self.counts, "server_side": self.server_side}


@dataclass(frozen=True)
class Records:
    """Every measured row of the recorded results, and what is needed to name new measurements."""

    measurements: tuple[Measurement, ...]
    cells: tuple[dict[str, Any], ...] = ()  #: the matrix's cells as recorded, failed ones too
    bisect: dict[str, Any] = field(default_factory=dict)  #: bisect.json without its releases
    bisect_file: str = ""
    pythons: tuple[str, ...] = ()  #: the Python versions the results were recorded on

    def measured(self, package: str) -> list[str]:
        """Every version of *package* some row ran, oldest first."""
        found = {m.versions[package] for m in self.measurements if _version(m.versions.get(package))}
        return sorted(found, key=Version)

    def rows(self, werkzeug: str | None, engineio: str | None, server: str,
             variant: str = BASE_VARIANT) -> list[Measurement]:
        """The rows with these versions, server and variant."""
        return [m for m in self.measurements if m.server == server and m.variant == variant
                and m.has("werkzeug", werkzeug) and m.has("python-engineio", engineio)]


def _matrix_measurements(record: dict[str, Any], file: str) -> list[Measurement]:
    made_by = record.get("made_by", "wslab matrix --out DIR")
    found = []
    for row in record.get("rows", []):
        versions = {p: row[f] for p, f in ROW_FIELDS.items() if row.get(f)}
        counts = {k: row[k] for k in ("direct", "upgrade") if isinstance(row.get(k), dict)}
        sessions = ((row["session_visible_in_handler"], row["socketio_users"])
                    if "session_visible_in_handler" in row and "socketio_users" in row else None)
        found.append(Measurement(file, made_by, f"cell {row['cell']}, variant {row['variant']}",
                                 row["server"], row["variant"], versions, counts,
                                 dict(row.get("server_side") or {}), sessions))
    return found


def _bisect_measurements(record: dict[str, Any], file: str) -> list[Measurement]:
    made_by = record.get("made_by") or f"wslab bisect {record.get('package', 'PACKAGE')}"
    package = record.get("package", "python-engineio")
    found = []
    for release in record.get("releases", []):
        if release.get("error") or not release.get("direct"):
            continue
        resolved = release.get("versions") or {}
        versions = {**record.get("pins", {}), **{p: resolved[f] for p, f in ROW_FIELDS.items() if resolved.get(f)},
                    package: release["version"]}
        found.append(Measurement(file, made_by, f"release {release['version']}",
                                 record.get("server", "werkzeug"), record.get("variant", BASE_VARIANT),
                                 versions, {"direct": release["direct"]}))
    return found


def records_from(matrix: dict[str, Any] | None, matrix_file: str,
                 bisect: dict[str, Any] | None, bisect_file: str) -> Records:
    """:class:`Records` from a ``matrix.json`` and a ``bisect.json`` already read (either may be None)."""
    rows = _matrix_measurements(matrix, matrix_file) if matrix else []
    rows += _bisect_measurements(bisect, bisect_file) if bisect else []
    pythons = tuple(sorted({r["python"] for r in (matrix, bisect) if r and r.get("python")}))
    return Records(tuple(rows), tuple(matrix.get("cells", [])) if matrix else (),
                   {k: v for k, v in (bisect or {}).items() if k != "releases"}, bisect_file, pythons)


def load_records(matrix_path: Path = MATRIX_FILE, bisect_path: Path = BISECT_FILE) -> Records:
    """Read the recorded matrix and bisect with their own readers; a missing or damaged file is a WslabError."""
    from wslab.study.versions import bisect, matrix

    matrix_record, bisect_record = matrix.read_result(Path(matrix_path)), bisect.read_result(Path(bisect_path))
    for what, record, key in (("matrix", matrix_record, "rows"), ("bisect", bisect_record, "releases")):
        if not isinstance(record, dict) or not isinstance(record.get(key), list):
            raise WslabError(f"{matrix_path if what == 'matrix' else bisect_path} is not a {what} result "
                             f"(no list of {key})")
    try:
        return records_from(matrix_record, shown_path(matrix_path), bisect_record, shown_path(bisect_path))
    except (KeyError, TypeError, AttributeError) as exc:
        raise WslabError(f"a recorded row lacks a field ({type(exc).__name__}: {exc}); "
                         f"is {matrix_path} or {bisect_path} from this kit?") from None


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
            return f"no 500, but WebSocket closes log {_NOISE}"
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
        what = "the 500" if finding.outcome == "500" else _NOISE
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


def _spec(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def candidates(records: Records, wanted: Wanted, installed: bool) -> tuple[tuple[str | None, ...], str]:
    """The versions of one factor package to evaluate, and its line saying what is assumed.

    An exact version is itself; a range or a bare name is every measured
    release it admits; a package the requirements leave out is every measured
    release; a direct URL is one unknown version.  A factor missing from an
    interpreter is a :class:`WslabError`: that interpreter runs no such stack.
    """
    name, measured = wanted.package, records.measured(wanted.package)
    where = f" ({wanted.source})" if wanted.source else ""
    if wanted.version is not None:
        return (wanted.version,), f"{name} {wanted.version}{where}"
    if installed:
        raise WslabError(f"{name} is not installed in that interpreter: it runs no Flask-SocketIO stack "
                         "the recorded results could speak for (give the deployment's interpreter)")
    listed = ", ".join(measured)
    if wanted.missing:
        return (tuple(measured) or (None,),
                f"{name}: not in the requirements; the installer will pick one, so every release the "
                f"recorded results measured is evaluated: {listed or 'none'}")
    if wanted.specifier.startswith("@"):
        return (None,), f"{name} {wanted.specifier}{where}: a direct reference, its version is unknown: unmeasured"
    spec = _spec(wanted.specifier)
    admitted = [v for v in measured if spec is not None and spec.contains(v, prereleases=True)]
    shown = wanted.specifier or "(no version given)"
    if not admitted:
        return (None,), (f"{name} {shown}{where}: a range that admits none of the releases the recorded "
                         f"results measured ({listed}): unmeasured")
    return tuple(admitted), (f"{name} {shown}{where}: a range; assumed to install one of the releases the "
                             f"recorded results measured that it admits, each evaluated: {', '.join(admitted)}")


def _other_line(records: Records, wanted: Wanted, installed: bool, server: str) -> str:
    name = wanted.package
    where = f" ({wanted.source})" if wanted.source else ""
    ran = ", ".join(records.measured(name))
    if wanted.missing:
        text = f"{name}: {'not installed' if installed else 'not in the requirements'}"
    elif wanted.version is not None:
        text = f"{name} {wanted.version}{where}"
    else:
        text = f"{name} {wanted.specifier or '(no version given)'}{where}: a range"
    if name == "gunicorn":
        return text + (" (the matrix's rows do not record gunicorn's version)"
                       if server == "gunicorn-gthread" else "")
    if ran and wanted.version is None and not wanted.missing:
        text += f"; not varied by the recorded results (their rows ran {ran})"
    return text


def _first_better(points: dict[Version, list[Measurement]], better) -> Version | None:
    """The oldest version whose rows are better, with every newer one better too."""
    first = None
    for version in sorted(points):
        if better(_worst(points[version])):
            first = first or version
        else:
            first = None
    return first


def _worst(rows: Iterable[Measurement]) -> str:
    return max((m.outcome for m in rows), key=_SEVERITY.__getitem__, default="nothing")


def _upgrade(records: Records, finding: Finding, package: str, better, target: str) -> Change | None:
    """Upgrading *package* alone: the oldest measured newer release that removes *target*."""
    mine = {"werkzeug": finding.werkzeug, "python-engineio": finding.engineio}
    other = next(p for p in FACTORS if p != package)
    current = _version(mine[package])
    if current is None:
        return None
    points: dict[Version, list[Measurement]] = {}
    for m in records.measurements:
        theirs = _version(m.versions.get(package))
        if (m.server == finding.server and m.variant == BASE_VARIANT and theirs is not None
                and theirs > current and m.has(other, mine[other])):
            points.setdefault(theirs, []).append(m)
    if not points:
        return None
    first = _first_better(points, better)
    if first is None:
        newest = max(points)
        return Change(f"upgrade {package} to {points[newest][0].versions[package]}", False,
                      tuple(points[newest]), f"still {_said(_worst(points[newest]))}")
    rows = points[first]
    version = rows[0].versions[package]
    after = _worst(rows)
    note = f"removes {target}" + ("; leaves " + _NOISE if after == "400" else "")
    if _bisect_covers(records, finding, package, version):
        note += (f"; the first release without the 500 in the bisect, which measured every release "
                 f"from {records.bisect.get('from')} to {records.bisect.get('to')}")
    else:
        note += (f"; the oldest release measured above {current} at these versions "
                 "(releases between were not measured here)")
    return Change(f"upgrade {package} to {version}", True, tuple(rows), note)


def _bisect_covers(records: Records, finding: Finding, package: str, version: str) -> bool:
    """True when the recorded bisect measured every release of *package* between the finding's and *version*."""
    b = records.bisect
    if b.get("package") != package or b.get("server") != finding.server or not b.get("from") or not b.get("to"):
        return False
    fixed = {k: v for k, v in (b.get("pins") or {}).items()}
    mine = {"werkzeug": finding.werkzeug, "python-engineio": finding.engineio}
    if any(not _same(v, mine.get(k)) for k, v in fixed.items() if k in mine):
        return False
    low, high = _version(b["from"]), _version(b["to"])
    start = _version(mine[package])
    return None not in (low, high, start) and low <= start and _version(version) <= high


def _said(outcome: str) -> str:
    return {"500": "logs the 500", "400": f"logs {_NOISE}", "nothing": "logs no 500 and no 400"}[outcome]


def _measured_or_not(what: str, rows: list[Measurement], better, target: str,
                     elsewhere: list[Measurement], never: str) -> Change:
    if rows:
        after = _worst(rows)
        removes = better(after)
        note = (f"removes {target}" + ("; leaves " + _NOISE if after == "400" else "")) if removes \
            else f"still {_said(after)}"
        return Change(what, removes, tuple(rows), note)
    if elsewhere:
        clean = sum(better(m.outcome) for m in elsewhere)
        cells = ", ".join(sorted({m.where.split(",")[0].removeprefix("cell ") for m in elsewhere}))
        return Change(what, None, (), f"not measured at these versions; of the {len(elsewhere)} rows that "
                      f"measured it on this server (cells {cells}), {clean} had no {target.removeprefix('the ')}")
    return Change(what, None, (), never)


def changes(records: Records, finding: Finding) -> list[Change]:
    """Every change the records measured at the finding's versions, and what each does to its outcome."""
    target = "the 500" if finding.outcome == "500" else _NOISE

    def better(outcome: str) -> bool:
        return outcome != "500" if finding.outcome == "500" else outcome == "nothing"

    w, e, server = finding.werkzeug, finding.engineio, finding.server
    found = [c for c in (_upgrade(records, finding, "python-engineio", better, target),
                         _upgrade(records, finding, "werkzeug", better, target)) if c]
    guards = [m for m in records.measurements if m.variant == GUARD_VARIANT and m.server == server]
    found.append(_measured_or_not(
        f"add the kit's guard (WebSocketGuard in wslab.app.guard, variant '{GUARD_VARIANT}')",
        records.rows(w, e, server, GUARD_VARIANT), better, target, guards,
        f"the recorded results never ran the guard on {server}"))
    if server == "werkzeug-debug":
        found.append(_measured_or_not(
            "turn Werkzeug's debugger off (socketio.run(app) without debug=True)",
            records.rows(w, e, "werkzeug"), better, target, [],
            "not measured at these versions without the debugger"))
    if server != "gunicorn-gthread":
        gunicorn = [m for m in records.measurements if m.server == "gunicorn-gthread" and m.variant == BASE_VARIANT]
        found.append(_measured_or_not(
            "serve the app with gunicorn's gthread worker", records.rows(w, e, "gunicorn-gthread"),
            better, target, gunicorn, "the recorded results never ran gunicorn"))
    fix = records.rows(w, e, server, WRITEUP_VARIANT)
    if fix:
        change = _measured_or_not("apply the write-up's fix (variant 'writeup-fix')", fix, better, target, [], "")
        base = next((m for m in finding.evidence if m.sessions), None)
        if base and fix[0].sessions and fix[0].sessions[0] < base.sessions[0]:
            change = Change(change.what, change.removes, change.evidence,
                            change.note + f"; and it hides the signed-in user from Socket.IO connect handlers "
                            f"({base.sessions[0]}/{base.sessions[1]} -> {fix[0].sessions[0]}/{fix[0].sessions[1]})")
        found.append(change)
    return found


def _measure_command(records: Records, werkzeug: str | None, engineio: str | None,
                     server: str) -> tuple[str | None, str]:
    """The command that measures a pair the records lack, and what is missing in words."""
    label = SERVER_LABELS[server]
    if werkzeug is None or engineio is None:
        return None, "the version is not known, so no recorded row can be chosen"
    for cell in records.cells:
        if (cell.get("server") == server and _same(cell.get("werkzeug"), werkzeug)
                and _same(cell.get("python_engineio"), engineio)):
            return (f"wslab matrix --out DIR --cells {cell['name']}",
                    f"the matrix cell {cell['name']} has these versions but recorded no row"
                    + (f" (it failed: {cell['error']})" if cell.get("error") else ""))
    users = records.bisect.get("users", 4)
    command = f"wslab bisect python-engineio --from {engineio} --to {engineio} --pin werkzeug=={werkzeug} --users {users}"
    if server == "werkzeug":
        return command, f"no matrix cell and no bisect release ran these versions on {label}"
    on_server = ", ".join(c["name"] for c in records.cells if c.get("server") == server) or "none"
    return command, (f"no matrix cell ran these versions on {label} (its cells there: {on_server}), and "
                     f"`wslab matrix` runs only the incident and current pin sets (data/pinsets.toml); "
                     f"the command below measures them on Werkzeug's dev server without the debugger only")


def evaluate(records: Records, werkzeug: str | None, engineio: str | None, server: str) -> Finding:
    """One pair of versions on one server: the recorded rows, the outcome, the changes or the command."""
    rows = records.rows(werkzeug, engineio, server) if werkzeug and engineio else []
    if not rows:
        command, why = _measure_command(records, werkzeug, engineio, server)
        return Finding(werkzeug, engineio, server, "unmeasured", measure=command, why=why)
    finding = Finding(werkzeug, engineio, server, _worst(rows), rows)
    if finding.outcome in ("500", "400"):
        finding.changes = changes(records, finding)
    return finding


def _notes(records: Records, wanted: dict[str, Wanted], findings: Sequence[Finding],
           python: str | None, server: str) -> list[str]:
    notes = []
    rows = [m for f in findings for m in f.evidence]
    for package in ROW_FIELDS:
        if package in FACTORS or wanted.get(package) is None or wanted[package].version is None:
            continue
        ran = sorted({m.versions[package] for m in rows if package in m.versions}, key=Version)
        if ran and not any(_same(wanted[package].version, v) for v in ran):
            notes.append(f"{package} {wanted[package].version} here; the rows above ran {', '.join(ran)}. The "
                         "recorded results vary only Werkzeug and python-engineio, so this difference is "
                         "assumed not to change the outcome")
    if server == "gunicorn-gthread" and rows:
        g = wanted.get("gunicorn")
        notes.append(f"matrix.json does not record gunicorn's version: its gunicorn rows are assumed to hold "
                     f"for {'gunicorn ' + g.version if g and g.version else 'the gunicorn you run'}")
    if python and records.pythons:
        mine = ".".join(python.split(".")[:2])
        if all(".".join(p.split(".")[:2]) != mine for p in records.pythons):
            notes.append(f"Python {python} here; the results were recorded on Python {', '.join(records.pythons)}")
    return notes


def diagnose(records: Records, wanted: dict[str, Wanted], server: str, source: str,
             installed: bool = False, python: str | None = None) -> Diagnosis:
    """The diagnosis of a deployment with *wanted* versions on *server* (a :data:`SERVERS` value).

    *installed* says the versions were read from an interpreter (then a
    missing factor package is an error, not an assumption); *python* is that
    interpreter's version, compared with the one the results were recorded on.
    """
    if server not in SERVER_LABELS:
        server = server_name(server)
    lines, pairs = [], []
    for package in DEPLOYMENT_PACKAGES:
        want = wanted.get(package, Wanted(package))
        if package in FACTORS:
            found, text = candidates(records, want, installed)
            pairs.append(found)
            lines.append(PackageLine(package, want, found, text))
        else:
            lines.append(PackageLine(package, want, None, _other_line(records, want, installed, server)))
    findings = [evaluate(records, w, e, server) for w, e in product(*pairs)]
    return Diagnosis(server, source, lines, findings, _notes(records, wanted, findings, python, server))


def diagnose_requirements(requirements: str | Path | None = None, server: str = "werkzeug") -> Diagnosis:
    """:func:`diagnose` for a requirements file, as ``wslab doctor --requirements FILE`` does.

    *requirements* is found as given, else under the kit's folder (so
    ``"requirements/incident.txt"`` works from ``notebooks/``); ``None`` means the
    incident's pins, ``requirements/incident.txt``.
    """
    from wslab.versions import required_versions

    given = Path(requirements) if requirements else Path("requirements/incident.txt")
    path = given if given.is_absolute() or given.exists() else KIT_ROOT / given
    if not path.is_file():
        raise WslabError(f"no requirements file {given} (looked in the current folder and under {KIT_ROOT.name}/)")
    shown = shown_path(path)
    return diagnose(load_records(), required_versions(path, shown=shown), server, f"from {shown}")
