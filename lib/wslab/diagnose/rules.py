"""The doctor's rules: which versions to evaluate, what the recorded rows say of them, what changes them.

:func:`candidates` turns what a deployment asks for of one package into the
versions to look up; :func:`evaluate` finds the recorded rows of one pair of
versions on one server and their worst outcome, or the command that measures
a pair no row ran; :func:`changes` finds every change the records measured at
the same versions (upgrades, the guard, the debugger off, gunicorn, the
write-up's fix) and what each does.  Nothing is extrapolated: a version no
row ran is unmeasured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from wslab.app.variants import VARIANTS
from wslab.diagnose.measurements import BASE_VARIANT, Measurement, Records, parse_version, same_version
from wslab.diagnose.report import NOISE, Change, Finding
from wslab.errors import WslabError
from wslab.model.packages import VERSION_FIELDS
from wslab.model.servers import SERVER_LABELS
from wslab.versions import DEPLOYMENT_PACKAGES, Wanted

#: The two packages the recorded results vary; every other one the installer chose per row.
FACTORS: tuple[str, str] = ("werkzeug", "python-engineio")
#: The variants that are changes to the ``before`` stack.
GUARD_VARIANT = next(v.name for v in VARIANTS.values() if v.guard)
WRITEUP_VARIANT = "writeup-fix"
#: How bad an outcome is, for "the worst any row shows".
_SEVERITY = {"nothing": 0, "400": 1, "500": 2}


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


def other_line(records: Records, wanted: Wanted, installed: bool, server: str) -> str:
    """The versions line of a package the recorded results do not vary, and what is assumed of it."""
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
    current = parse_version(mine[package])
    if current is None:
        return None
    points: dict[Version, list[Measurement]] = {}
    for m in records.measurements:
        theirs = parse_version(m.versions.get(package))
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
    note = f"removes {target}" + ("; leaves " + NOISE if after == "400" else "")
    if _bisect_covers(records, finding, package, version):
        note += (f"; the first release without the 500 in the bisect, which measured every release "
                 f"from {records.bisect.start} to {records.bisect.end}")
    else:
        note += (f"; the oldest release measured above {current} at these versions "
                 "(releases between were not measured here)")
    return Change(f"upgrade {package} to {version}", True, tuple(rows), note)


def _bisect_covers(records: Records, finding: Finding, package: str, version: str) -> bool:
    """True when the recorded bisect measured every release of *package* between the finding's and *version*."""
    b = records.bisect
    if b.package != package or b.server != finding.server or not b.start or not b.end:
        return False
    fixed = b.pins
    mine = {"werkzeug": finding.werkzeug, "python-engineio": finding.engineio}
    if any(not same_version(v, mine.get(k)) for k, v in fixed.items() if k in mine):
        return False
    low, high = parse_version(b.start), parse_version(b.end)
    start = parse_version(mine[package])
    return None not in (low, high, start) and low <= start and parse_version(version) <= high


def _said(outcome: str) -> str:
    return {"500": "logs the 500", "400": f"logs {NOISE}", "nothing": "logs no 500 and no 400"}[outcome]


def _measured_or_not(what: str, rows: list[Measurement], better, target: str,
                     elsewhere: list[Measurement], never: str) -> Change:
    if rows:
        after = _worst(rows)
        removes = better(after)
        note = (f"removes {target}" + ("; leaves " + NOISE if after == "400" else "")) if removes \
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
    target = "the 500" if finding.outcome == "500" else NOISE

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
        if (cell.server == server and same_version(cell.werkzeug, werkzeug)
                and same_version(cell.python_engineio, engineio)):
            return (f"wslab matrix --out DIR --cells {cell.name}",
                    f"the matrix cell {cell.name} has these versions but recorded no row"
                    + (f" (it failed: {cell.error})" if cell.error else ""))
    users = records.bisect.users if records.bisect.users is not None else 4
    command = (f"wslab bisect python-engineio --from {engineio} --to {engineio} --pin werkzeug=={werkzeug} "
               f"--users {users}")
    if server == "werkzeug":
        return command, f"no matrix cell and no bisect release ran these versions on {label}"
    on_server = ", ".join(c.name for c in records.cells if c.server == server) or "none"
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


def notes(records: Records, wanted: dict[str, Wanted], findings: Sequence[Finding],
          python: str | None, server: str) -> list[str]:
    """What the findings assume: other versions of the packages not varied, gunicorn's, Python's."""
    found = []
    rows = [m for f in findings for m in f.evidence]
    for package in DEPLOYMENT_PACKAGES:
        want = wanted.get(package)
        if package in FACTORS or package not in VERSION_FIELDS or want is None or want.version is None:
            continue
        ran = sorted({m.versions[package] for m in rows if package in m.versions}, key=Version)
        if ran and not any(same_version(wanted[package].version, v) for v in ran):
            found.append(f"{package} {wanted[package].version} here; the rows above ran {', '.join(ran)}. The "
                         "recorded results vary only Werkzeug and python-engineio, so this difference is "
                         "assumed not to change the outcome")
    if server == "gunicorn-gthread" and rows:
        g = wanted.get("gunicorn")
        found.append(f"matrix.json does not record gunicorn's version: its gunicorn rows are assumed to hold "
                     f"for {'gunicorn ' + g.version if g and g.version else 'the gunicorn you run'}")
    if python and records.pythons:
        mine = ".".join(python.split(".")[:2])
        if all(".".join(p.split(".")[:2]) != mine for p in records.pythons):
            found.append(f"Python {python} here; the results were recorded on Python {', '.join(records.pythons)}")
    return found
