"""A participant's workspace: copies of the notebooks that JupyterLab opens (``make workspace``).

Participants edit and save notebooks; the repository's own copies in
``notebooks/`` are what nbval compares and what the stamps describe, so they
must stay as committed.  :func:`make_workspace` copies them into
``workspace/`` (ignored by git), at the same depth as ``notebooks/`` so the
notebooks' relative paths (``../logs``, ``../data``) mean the same there.
The copies have their stored outputs cleared, so a participant sees each
result appear when they run it.  A file already in the workspace is kept: a
second ``make workspace`` never overwrites a participant's edits.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from wslab.paths import KIT_ROOT

#: The notebooks a workspace is made from.
NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
#: Where ``make workspace`` puts the copies (ignored by git).
WORKSPACE_DIR = KIT_ROOT / "workspace"


@dataclass
class Copied:
    """What :func:`make_workspace` did: the notebooks it copied and the ones it kept."""

    workspace: Path
    copied: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def cleared(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return *notebook* with every code cell's outputs and execution count removed."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return notebook


def make_workspace(source: Path = NOTEBOOKS_DIR, workspace: Path = WORKSPACE_DIR) -> Copied:
    """Copy every notebook under *source* into *workspace*, outputs cleared, keeping existing files.

    The folder layout (``exercises/``, ``exercises/solutions/``) is kept, and
    the small files the notebooks read beside them (everything that is not a
    notebook or a checkpoint) are copied too.
    """
    if not source.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {source}")
    result = Copied(workspace=workspace)
    for path in sorted(source.rglob("*")):
        if not path.is_file() or ".ipynb_checkpoints" in path.parts:
            continue
        target = workspace / path.relative_to(source)
        if target.exists():
            result.kept.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            nbformat.write(cleared(nbformat.read(path, as_version=4)), target)
        else:
            target.write_bytes(path.read_bytes())
        result.copied.append(target)
    return result


def main(argv: list[str] | None = None) -> int:
    """Make the workspace and say what was copied and what was kept."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.workspace", description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, default=WORKSPACE_DIR, help="where to copy the notebooks")
    args = parser.parse_args(argv)
    result = make_workspace(workspace=args.workspace)
    notebooks = [p for p in result.copied if p.suffix == ".ipynb"]
    print(f"workspace {result.workspace}: copied {len(notebooks)} notebook(s) with outputs cleared; "
          f"kept {len(result.kept)} file(s) already there")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
