"""The recorded measurements the doctor reads: every row of the matrix and every release of the bisect.

:func:`load_records` reads ``data/matrix/matrix.json`` and
``data/bisect/python-engineio/bisect.json`` through :mod:`wslab.model.records`
and makes one :class:`Measurement` per measured row or release: which file and
row it is, the versions and server it ran, what it counted, and the command
that re-measures it.  :class:`Records` holds them all, with the matrix's cells
and the bisect's range, so a pair of versions the rows lack can be named as a
command that measures it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from wslab.errors import WslabError
from wslab.logs.inputs import shown_path
from wslab.model.records import BisectRecord, MatrixCell, MatrixRecord, read_json
from wslab.paths import DATA_DIR

#: The recorded results, where the kit keeps them.
MATRIX_FILE = DATA_DIR / "matrix" / "matrix.json"
BISECT_FILE = DATA_DIR / "bisect" / "python-engineio" / "bisect.json"
#: The stack every finding is about: an app without any fix.
BASE_VARIANT = "before"
#: The counts shown besides the 500, when not zero.
_COUNT_NAMES = (("write_before_start_response", "'write() before start_response'"), ("status_400", "400"),
                ("status_101", "101"), ("status_200", "200"), ("not_logged", "not logged"))


def parse_version(text: str | None) -> Version | None:
    """*text* as a :class:`~packaging.version.Version`; ``None`` when it is empty or not a version."""
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def same_version(a: str | None, b: str | None) -> bool:
    """True when *a* and *b* are the same version (``2.3`` is ``2.3.0``), or the same text if neither is one."""
    va, vb = parse_version(a), parse_version(b)
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
        return same_version(self.versions.get(package), version)

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
    cells: tuple[MatrixCell, ...] = ()  #: the matrix's cells as recorded, failed ones too
    bisect: BisectRecord = field(default_factory=BisectRecord)  #: the recorded bisect (empty if none)
    bisect_file: str = ""
    pythons: tuple[str, ...] = ()  #: the Python versions the results were recorded on

    def measured(self, package: str) -> list[str]:
        """Every version of *package* some row ran, oldest first."""
        found = {m.versions[package] for m in self.measurements if parse_version(m.versions.get(package))}
        return sorted(found, key=Version)

    def rows(self, werkzeug: str | None, engineio: str | None, server: str,
             variant: str = BASE_VARIANT) -> list[Measurement]:
        """The rows with these versions, server and variant."""
        return [m for m in self.measurements if m.server == server and m.variant == variant
                and m.has("werkzeug", werkzeug) and m.has("python-engineio", engineio)]


def _matrix_measurements(record: MatrixRecord, file: str) -> list[Measurement]:
    made_by = record.made_by if record.made_by is not None else "wslab matrix --out DIR"
    found = []
    for row in record.rows:
        sessions = ((row.session_visible_in_handler, row.socketio_users)
                    if row.session_visible_in_handler is not None and row.socketio_users is not None else None)
        found.append(Measurement(file, made_by, f"cell {row.cell}, variant {row.variant}", row.server,
                                 row.variant, row.versions, row.counts, dict(row.server_side or {}), sessions))
    return found


def _bisect_measurements(record: BisectRecord, file: str) -> list[Measurement]:
    made_by = record.made_by or f"wslab bisect {record.package or 'PACKAGE'}"
    package = record.package or "python-engineio"
    found = []
    for release in record.releases:
        if release.error or not release.direct:
            continue
        versions = {**record.pins, **release.package_versions, package: release.version}
        found.append(Measurement(file, made_by, f"release {release.version}", record.server or "werkzeug",
                                 record.variant or BASE_VARIANT, versions, {"direct": release.direct}))
    return found


def records_from(matrix: MatrixRecord | Mapping[str, Any] | None, matrix_file: str,
                 bisect: BisectRecord | Mapping[str, Any] | None, bisect_file: str) -> Records:
    """:class:`Records` from a matrix and a bisect record already read (either may be None; a dict is
    read as its file would be)."""
    if isinstance(matrix, Mapping):
        matrix = MatrixRecord.from_dict(matrix)
    if isinstance(bisect, Mapping):
        bisect = BisectRecord.from_dict(bisect)
    rows = _matrix_measurements(matrix, matrix_file) if matrix else []
    rows += _bisect_measurements(bisect, bisect_file) if bisect else []
    pythons = tuple(sorted({r.python for r in (matrix, bisect) if r and r.python}))
    return Records(tuple(rows), tuple(matrix.cells) if matrix else (), bisect or BisectRecord(), bisect_file,
                   pythons)


def load_records(matrix_path: Path = MATRIX_FILE, bisect_path: Path = BISECT_FILE) -> Records:
    """Read the recorded matrix and bisect (:mod:`wslab.model.records`); a missing or damaged file is a WslabError."""
    matrix_record, bisect_record = read_json(Path(matrix_path), "matrix"), read_json(Path(bisect_path), "bisect")
    try:
        return records_from(MatrixRecord.from_dict(matrix_record), shown_path(matrix_path),
                            BisectRecord.from_dict(bisect_record), shown_path(bisect_path))
    except (KeyError, TypeError, AttributeError) as exc:
        raise WslabError(f"a recorded row lacks a field ({type(exc).__name__}: {exc}); "
                         f"is {matrix_path} or {bisect_path} from this kit?") from None
