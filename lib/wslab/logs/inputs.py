"""Where a path a user gives is looked for, and how a path is shown back.

One policy for every file a user names (a log for ``wslab analyze`` and
:func:`wslab.logs.analyze_log`, a requirements file for ``wslab doctor``):
:func:`find_input` takes the path as given (absolute, or relative to the current
folder), else relative to the kit's folder, so ``data/logs/before.log`` is found
from ``notebooks/`` too. :func:`shown_path` shows a path relative to the kit's
folder when it is inside it.

For logs, :func:`locate_log` and :func:`check_log_file` fail with one
:class:`~wslab.errors.WslabError` line, exit code 2, for a path that is no
readable file (missing, a directory, no permission). What a readable file holds
is checked as it is read (:mod:`wslab.logs.analysis.pipeline`): exit code 1 for
a file with nothing to analyze.
"""

from __future__ import annotations

import os
from pathlib import Path

from wslab.errors import WslabError
from wslab.paths import KIT_ROOT

#: Exit code of a path that is no readable file.
USAGE_EXIT = 2


def find_input(path: str | os.PathLike[str], root: Path = KIT_ROOT) -> Path | None:
    """The file or folder *path* names: as given (absolute, or relative to the current
    folder) when it exists there, else relative to the kit's folder *root* when it exists
    there; ``None`` when it is in neither place (an absolute path is looked for as given only)."""
    given = Path(path)
    if given.exists():
        return given
    if given.is_absolute():
        return None
    under_root = root / given
    return under_root if under_root.exists() else None


def locate_log(path: str | os.PathLike[str], root: Path = KIT_ROOT) -> Path:
    """The file *path* names (:func:`find_input`).

    A path found in neither place raises :class:`~wslab.errors.WslabError`
    (exit code 2) naming both places tried. Directories are returned as found;
    :func:`check_log_file` rejects them.
    """
    found = find_input(path, root)
    if found is not None:
        return found
    given = Path(path)
    if given.is_absolute():
        raise WslabError(f"no such log file: {given}", exit_code=USAGE_EXIT)
    raise WslabError(
        f"no such log file: {path} (looked in {Path.cwd() / given} and {root / given})", exit_code=USAGE_EXIT
    )


def shown_path(path: Path, root: Path = KIT_ROOT) -> str:
    """*path* as a reader should see it: relative to the kit's folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def check_log_file(path: str | os.PathLike[str], root: Path = KIT_ROOT) -> Path:
    """:func:`locate_log`, and fail (exit code 2) for a directory or an unreadable file."""
    found = locate_log(path, root)
    if found.is_dir():
        raise WslabError(
            f"{path} is a directory, not a log file (try {found / 'webapp.log'})", exit_code=USAGE_EXIT
        )
    if not os.access(found, os.R_OK):
        raise WslabError(f"cannot read log file: {path} (permission denied)", exit_code=USAGE_EXIT)
    return found
