"""Freshness stamps: tell whether a notebook's stored outputs still belong to its code.

``make notebooks`` re-executes each notebook and then calls :func:`stamp`, which
writes into the notebook's metadata (key ``wslab_stamp``)

``code_sha256``
    a SHA-256 of the notebook's code cell sources, in order;
``library_sha256``
    a SHA-256 of what the outputs also depend on: the library sources
    (``lib/wslab/**/*.py``), its templates and own static files, the files
    under ``data/`` and the pinned requirements (``requirements/incident.txt``);
``code_cells``
    how many code cells were executed.

:func:`stale_reasons` then checks a notebook **without executing it**: every
non-empty code cell has been executed, in order, as 1..n in one kernel, no
stored output is an error, and the stamped ``code_sha256`` matches the cells
as they are now.  An edit to a code cell without re-running the notebook is
therefore caught.  :func:`library_changed` only *reports* a library drift:
nbval re-executes the notebooks and compares outputs, which catches library
changes that change what a notebook shows, without forcing a refresh after
every library edit.

Command line: ``python -m wslab.teach.stamps NOTEBOOK...`` stamps,
``--check`` lists what is stale and exits 1 if anything is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

from wslab.paths import KIT_ROOT

STAMP_KEY = "wslab_stamp"

#: What ``library_sha256`` covers, as glob patterns relative to the kit's folder.
LIBRARY_PATTERNS: tuple[str, ...] = (
    "lib/wslab/**/*.py",
    "lib/wslab/app/templates/*",
    "lib/wslab/app/static/*.js",
    "lib/wslab/app/static/*.css",
    "data/**/*",
    "requirements/incident.txt",
)


def code_sources(notebook: nbformat.NotebookNode) -> list[str]:
    """The sources of the notebook's code cells, in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the code cell sources (line endings normalised)."""
    sources = [source.replace("\r\n", "\n") for source in code_sources(notebook)]
    return hashlib.sha256(json.dumps(sources).encode("utf-8")).hexdigest()


def library_files(root: Path = KIT_ROOT) -> list[Path]:
    """Every file :data:`LIBRARY_PATTERNS` matches under *root*, sorted, caches left out."""
    found: set[Path] = set()
    for pattern in LIBRARY_PATTERNS:
        found |= {p for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts}
    return sorted(found)


def library_hash(root: Path = KIT_ROOT) -> str:
    """SHA-256 over the relative path and content of every :func:`library_files` file."""
    digest = hashlib.sha256()
    for path in library_files(root):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def _read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def stamp(path: str | Path, library: str | None = None) -> dict[str, Any]:
    """Write the freshness stamp into the notebook at *path*; return the stamp.

    Call it right after the notebook has been executed and saved.
    """
    notebook = _read(path)
    value = {
        "code_sha256": code_hash(notebook),
        "library_sha256": library or library_hash(),
        "code_cells": len(code_sources(notebook)),
    }
    notebook.metadata[STAMP_KEY] = value
    nbformat.write(notebook, str(path))
    return value


def stamp_of(notebook: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The notebook's stamp, or None when it has none."""
    value = notebook.metadata.get(STAMP_KEY)
    return dict(value) if value else None


def execution_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What shows that the stored outputs do not come from one top-to-bottom run."""
    problems = []
    expected = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        expected += 1
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"cell {index} was never executed")
        elif count != expected:
            problems.append(f"cell {index} has execution count {count}, expected {expected} "
                            "(cells run out of order or in several sessions)")
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            problems.append(f"cell {index} stored an error")
    return problems


def stale_reasons(path: str | Path) -> list[str]:
    """Why the notebook at *path* has stale outputs; empty when they are fresh."""
    notebook = _read(path)
    problems = execution_problems(notebook)
    value = stamp_of(notebook)
    if value is None:
        problems.append("no freshness stamp (it was not refreshed with `make notebooks`)")
    elif value.get("code_sha256") != code_hash(notebook):
        problems.append("its code cells changed after its outputs were stored")
    return problems


def library_changed(path: str | Path, library: str | None = None) -> bool:
    """Whether the library, data or pins changed since the notebook was stamped."""
    value = stamp_of(_read(path))
    return value is None or value.get("library_sha256") != (library or library_hash())


def main(argv: Iterable[str] | None = None) -> int:
    """Stamp notebooks, or with ``--check`` list the stale ones (exit 1 if any)."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.stamps",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks; change nothing")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(list(argv) if argv is not None else None)
    library = library_hash()
    stale = 0
    for path in args.notebooks:
        if args.check:
            reasons = stale_reasons(path)
            drift = library_changed(path, library)
            stale += bool(reasons)
            for reason in reasons:
                print(f"{path}: {reason}")
            if drift and not reasons:
                print(f"{path}: stamped against another version of the library, data or pins")
        else:
            stamp(path, library)
            print(f"stamped {path}")
    return 1 if stale else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
