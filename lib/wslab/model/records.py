"""The recorded results' files: the factor matrix (``matrix.json``) and a bisect (``bisect.json``).

``wslab matrix`` writes a :class:`MatrixRecord`: how it was made, one
:class:`MatrixCell` per cell and one :class:`MatrixRow` per variant a cell ran.
``wslab bisect`` writes a :class:`BisectRecord`: the package, the pins held fixed,
the range and one :class:`BisectRelease` per release.  This module is the one
reader and writer of those files: :func:`load_matrix`, :func:`load_bisect` and
:func:`save` (and :func:`read_json` / :func:`write_json` for the raw JSON).  Each
record's ``from_dict`` and ``to_dict`` round-trip the file: ``save(load(file))``
writes the same bytes.

Outcome counts stay plain ``{outcome: count}`` mappings (``connections``,
``status_500``, ``status_101``, … as :mod:`wslab.study.runs.outcomes` counts them):
every reader indexes them by outcome name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.model.packages import VERSION_FIELDS

#: Outcome counts of one kind of connection, by outcome name.
Counts = dict[str, int]

#: What each kind of record file is called, the list it must hold, and the command that makes one.
_KINDS: dict[str, tuple[str, str]] = {"matrix": ("rows", "wslab matrix --out DIR"),
                                      "bisect": ("releases", "wslab bisect PACKAGE")}
#: A row's version fields in the order rows hold them, and the package each one names.
_ROW_VERSIONS: dict[str, str] = {
    f: p for f in ("werkzeug", "python_engineio", "python_socketio", "flask_socketio", "simple_websocket", "flask")
    for p, known in VERSION_FIELDS.items() if known == f
}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class MatrixRow:
    """One variant of one matrix cell on one server: its versions and what each connection ended as.

    Fields a row does not have (rows made by hand) are ``None`` and left out of :meth:`to_dict`.
    """

    cell: str
    variant: str
    server: str
    werkzeug: str | None = None
    python_engineio: str | None = None
    python_socketio: str | None = None
    flask_socketio: str | None = None
    simple_websocket: str | None = None
    flask: str | None = None
    direct: Counts | None = None  #: the direct WebSockets' outcome counts
    upgrade: Counts | None = None  #: the upgraded WebSockets' outcome counts
    bad_request_syntax_lines: int | None = None
    session_visible_in_handler: int | None = None  #: connect handlers that saw the signed-in user
    socketio_users: int | None = None  #: connections of both kinds
    client_errors: int | None = None
    server_side: dict[str, int] | None = None  #: what the server saw that its log may not show
    logs: list[str] | None = None  #: the row's log files, by name

    @property
    def versions(self) -> dict[str, str]:
        """``{package: version}`` of the versions the row records, Werkzeug and python-engineio first."""
        return {package: getattr(self, f) for f, package in _ROW_VERSIONS.items() if getattr(self, f)}

    @property
    def counts(self) -> dict[str, Counts]:
        """``direct`` (and ``upgrade``) → outcome counts, for the kinds the row has."""
        return {kind: c for kind, c in (("direct", self.direct), ("upgrade", self.upgrade)) if isinstance(c, dict)}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> MatrixRow:
        """A row as ``matrix.json`` (or :func:`wslab.study.versions.cellrun.run_one`) holds it.

        A field this record does not know, or a row without ``cell``, ``variant``
        or ``server``, is a :class:`TypeError`: nothing a row holds is dropped.
        """
        return cls(**row)

    def to_dict(self) -> dict[str, Any]:
        """The row as ``matrix.json`` holds it."""
        return _without_none({f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class MatrixCell:
    """One cell of the matrix as recorded: its design, its environment, and why it failed if it did."""

    name: str
    werkzeug: str
    python_engineio: str
    server: str
    variants: list[str]
    changed: str  #: what differs from the incident, in words
    env: str | None = None
    seconds: float = 0.0
    error: str | None = None

    @classmethod
    def from_dict(cls, cell: Mapping[str, Any]) -> MatrixCell:
        """A cell as ``matrix.json`` holds it."""
        return cls(**{**cell, "variants": list(cell["variants"])})

    def to_dict(self) -> dict[str, Any]:
        """The cell as ``matrix.json`` holds it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MatrixRecord:
    """A ``matrix.json``: how it was made, its cells (failed ones too) and its rows."""

    made_by: str | None = None  #: the command that makes it again
    kit_version: str | None = None
    python: str | None = None
    made_at: str | None = None
    users_per_kind: int | None = None
    seconds: float | None = None
    cells: list[MatrixCell] = field(default_factory=list)
    rows: list[MatrixRow] = field(default_factory=list)
    edits: str | None = None  #: what was changed after the command wrote it, if anything

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> MatrixRecord:
        """The record as ``matrix.json`` holds it (fields it lacks are ``None``)."""
        return cls(record.get("made_by"), record.get("kit_version"), record.get("python"), record.get("made_at"),
                   record.get("users_per_kind"), record.get("seconds"),
                   [MatrixCell.from_dict(c) for c in record.get("cells") or ()],
                   [MatrixRow.from_dict(r) for r in record.get("rows") or ()], record.get("edits"))

    def to_dict(self) -> dict[str, Any]:
        """The record as ``matrix.json`` holds it."""
        head = {"made_by": self.made_by, "kit_version": self.kit_version, "python": self.python,
                "made_at": self.made_at, "users_per_kind": self.users_per_kind, "seconds": self.seconds}
        return {**_without_none(head), "cells": [c.to_dict() for c in self.cells],
                "rows": [r.to_dict() for r in self.rows], **_without_none({"edits": self.edits})}


@dataclass
class BisectRelease:
    """One release of a bisect: its direct-connection counts, or why it has none."""

    version: str
    #: The direct connections' outcome counts; ``{}`` if the release failed.
    direct: Counts = field(default_factory=dict)
    cached: bool = False  #: read from the bisect's cache, not measured in this run
    error: str | None = None
    #: The log's file name in the output folder's ``logs/`` (``None`` if it failed).
    log: str | None = None
    #: The exact versions the release's environment ran, by row version field (``python_engineio``).
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def package_versions(self) -> dict[str, str]:
        """``{package: version}`` of :attr:`versions`, in the order a matrix row holds them."""
        return {package: self.versions[f] for f, package in _ROW_VERSIONS.items() if self.versions.get(f)}

    @classmethod
    def from_dict(cls, release: Mapping[str, Any]) -> BisectRelease:
        """A release as ``bisect.json`` holds it."""
        return cls(release["version"], dict(release.get("direct") or {}), bool(release.get("cached", False)),
                   release.get("error"), release.get("log"), dict(release.get("versions") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The release as ``bisect.json`` holds it."""
        return {"version": self.version, "direct": self.direct, "cached": self.cached,
                "error": self.error, "log": self.log, "versions": self.versions}


@dataclass(frozen=True)
class BisectRecord:
    """A ``bisect.json``: the package, the pins held fixed, the range, every release and the verdict."""

    made_by: str | None = None  #: the command that makes it again
    package: str | None = None
    pins: dict[str, str] = field(default_factory=dict)
    start: str | None = None  #: ``from`` in the file
    end: str | None = None  #: ``to`` in the file
    variant: str | None = None
    server: str | None = None
    users: int | None = None
    kit_version: str | None = None
    python: str | None = None
    releases: list[BisectRelease] = field(default_factory=list)
    first_release_without_500: str | None = None
    index_error: str | None = None  #: why releases are missing, when the index could not be reached
    edits: str | None = None  #: what was changed after the command wrote it, if anything

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BisectRecord:
        """The record as ``bisect.json`` holds it (fields it lacks are ``None``)."""
        return cls(record.get("made_by"), record.get("package"), dict(record.get("pins") or {}),
                   record.get("from"), record.get("to"), record.get("variant"), record.get("server"),
                   record.get("users"), record.get("kit_version"), record.get("python"),
                   [BisectRelease.from_dict(r) for r in record.get("releases") or ()],
                   record.get("first_release_without_500"), record.get("index_error"), record.get("edits"))

    def to_dict(self) -> dict[str, Any]:
        """The record as ``bisect.json`` holds it."""
        return {"made_by": self.made_by, "package": self.package, "pins": self.pins, "from": self.start,
                "to": self.end, "variant": self.variant, "server": self.server, "users": self.users,
                "kit_version": self.kit_version, "python": self.python,
                "releases": [r.to_dict() for r in self.releases],
                "first_release_without_500": self.first_release_without_500, "index_error": self.index_error,
                **_without_none({"edits": self.edits})}


def read_json(path: Path, kind: str) -> dict[str, Any]:
    """The JSON object of a ``matrix`` or ``bisect`` *kind* of record file, checked to hold its list.

    A missing file, a file that is no JSON and one without its list of rows
    (or releases) are each one :class:`WslabError` naming the file.
    """
    key, command = _KINDS[kind]
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WslabError(f"no {kind} result at {path} (make one with: {command})") from None
    except json.JSONDecodeError as exc:
        raise WslabError(f"{path} is not a {kind} result: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get(key), list):
        raise WslabError(f"{path} is not a {kind} result (no list of {key})")
    return record


def write_json(path: Path, record: Mapping[str, Any]) -> None:
    """Write *record* as indented JSON, whole or not at all (through a temporary file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def _typed(kind: str, path: Path, make):
    try:
        return make(read_json(path, kind))
    except (KeyError, TypeError, AttributeError) as exc:
        raise WslabError(f"{path} does not hold the fields of a {kind} result ({type(exc).__name__}: {exc}); "
                         "is it from this kit?") from None


def load_matrix(path: Path) -> MatrixRecord:
    """The :class:`MatrixRecord` in *path* (see :func:`read_json` for the errors)."""
    return _typed("matrix", path, MatrixRecord.from_dict)


def load_bisect(path: Path) -> BisectRecord:
    """The :class:`BisectRecord` in *path* (see :func:`read_json` for the errors)."""
    return _typed("bisect", path, BisectRecord.from_dict)


def save(path: Path, record: MatrixRecord | BisectRecord) -> None:
    """Write *record* to *path* as its file holds it (:func:`write_json` of its ``to_dict``)."""
    write_json(path, record.to_dict())
