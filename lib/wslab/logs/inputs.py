"""What a user hands the analysis, checked: where a log path points, and whether the file is a log at all.

Each check fails with one :class:`~wslab.errors.WslabError` line, and the CLI's
exit code is the error's: 2 for a path that is no readable file (missing, a
directory, no permission), 1 for a file that holds nothing to analyze (empty,
binary data, or lines of no format the kit reads).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.logs.formats import AUTO, FORMATS
from wslab.paths import KIT_ROOT

#: Exit code of a path that is no readable file.
USAGE_EXIT = 2
#: Exit code of a file that holds nothing to analyze.
NOTHING_EXIT = 1
#: How much of a source's start :func:`binary_kind` looks at.
SNIFF_BYTES = 8192
#: The share of bytes that are neither text nor UTF-8 above which data is binary.
BINARY_SHARE = 0.30
#: Compressed formats other than gzip (which is read), by their magic bytes.
COMPRESSED = {
    b"\xfd7zXZ\x00": ("xz", "xz -dk"),
    b"BZh": ("bzip2", "bunzip2 -k"),
    b"\x28\xb5\x2f\xfd": ("zstd", "zstd -d"),
    b"PK\x03\x04": ("zip", "unzip"),
    b"7z\xbc\xaf\x27\x1c": ("7z", "7z x"),
}
#: The command that decompresses each :func:`binary_kind` of :data:`COMPRESSED`.
_DECOMPRESS = {f"{name}-compressed data": command for name, command in COMPRESSED.values()}
#: Control bytes that text holds: tab, newlines, form feed and the escape of colour codes.
_TEXT_CONTROLS = b"\t\n\r\x0b\x0c\x1b"
_CONTROLS = bytes(b for b in [*range(0x20), 0x7F] if b not in _TEXT_CONTROLS)


def locate_log(path: str | os.PathLike[str], root: Path = KIT_ROOT) -> Path:
    """The file *path* names: as given (absolute, or relative to the current folder),
    else relative to the kit's folder *root*, so ``data/logs/before.log`` is found
    from ``notebooks/`` too.

    A path found in neither place raises :class:`~wslab.errors.WslabError`
    (exit code 2) naming both places tried. Directories are returned as found;
    :func:`check_log_file` rejects them.
    """
    given = Path(path)
    if given.exists():
        return given
    if given.is_absolute():
        raise WslabError(f"no such log file: {given}", exit_code=USAGE_EXIT)
    under_root = root / given
    if under_root.exists():
        return under_root
    raise WslabError(
        f"no such log file: {path} (looked in {Path.cwd() / given} and {under_root})", exit_code=USAGE_EXIT
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


def binary_kind(head: bytes) -> str | None:
    """What the start of a source looks like when it is not text, else ``None``.

    A compressed format other than gzip is named by its magic bytes; other data is
    binary when more than :data:`BINARY_SHARE` of its first :data:`SNIFF_BYTES`
    bytes are control bytes (tab, newlines and the escape of colour codes aside)
    or bytes that are no UTF-8. Logs with some damage (a few NUL bytes, stray
    Latin-1) stay text.
    """
    for magic, (name, _) in COMPRESSED.items():
        if head.startswith(magic):
            return f"{name}-compressed data"
    sample = head[:SNIFF_BYTES]
    if not sample:
        return None
    controls = len(sample) - len(sample.translate(None, _CONTROLS))
    undecodable = sample.decode("utf-8", "replace").count("\ufffd")
    if sample[-3:].decode("utf-8", "ignore") != sample[-3:].decode("utf-8", "replace"):
        undecodable -= 1  # a character cut by the end of the sample
    share = (controls + max(0, undecodable)) / len(sample)
    return f"binary data ({share:.0%} of its first bytes are no text)" if share > BINARY_SHARE else None


def require_requests(
    summary: Mapping[str, Any],
    formats: Sequence[str],
    binary: Mapping[str, str] | None = None,
    format: str = AUTO,  # noqa: A002
) -> None:
    """Fail (exit code 1) for logs with nothing to analyze: no lines, binary data, or no
    request lines in the format they were read in. A gunicorn error log, which holds
    no request lines, needs only hold lines.

    *summary* is the ``--json`` dictionary, *formats* the format each file was read
    in, *binary* what :func:`binary_kind` said of each file that is not text and
    *format* the format asked for (``"auto"``: detected).
    """
    files = ", ".join(summary["files"])
    if summary["lines"] == 0:
        raise WslabError(f"{files}: empty, no log lines to analyze", exit_code=NOTHING_EXIT)
    if summary["request_lines"] or (formats and all(FORMATS[f].request is None for f in formats)):
        return
    if binary:
        name, kind = next(iter(binary.items()))
        hint = f"; decompress it first: {_DECOMPRESS[kind]} {name}" if kind in _DECOMPRESS else ""
        text = f"{name}: {kind}, not a text log (only plain and gzip logs are read{hint})"
        raise WslabError(text, exit_code=NOTHING_EXIT)
    sample = (
        f"; first unparsed line: {summary['unparsed_samples'][0]!r}" if summary["unparsed_samples"] else ""
    )
    labels = " or ".join(dict.fromkeys(FORMATS[f].label for f in formats if FORMATS[f].request is not None))
    found = (
        f"no {labels or 'Werkzeug'} request lines among {summary['lines']} lines "
        f"({summary['unparsed_lines']} unparsed{sample})"
    )
    if format == AUTO:
        known = ", ".join(FORMATS)
        text = f"{files}: unknown log format, {found}; formats read: {known}"
        raise WslabError(text, exit_code=NOTHING_EXIT)
    raise WslabError(f"{files}: {found} (read as --format {format})", exit_code=NOTHING_EXIT)
