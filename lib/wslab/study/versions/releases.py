"""Which releases of a package the package index has, and which of them lie in a range.

:func:`list_releases` asks ``pip index versions`` (so pip's configuration
applies) and keeps the final releases (:func:`final_releases`: pre-releases,
development releases and local versions left out, post-releases kept), oldest
first in :class:`packaging.version.Version` order; :func:`releases_in` picks
the releases from one to another, both included.  An index that cannot be
reached is one :class:`~wslab.errors.WslabError` starting "the package index is".
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from wslab.errors import WslabError
from wslab.versions import package_name

#: How long the package index may take to list a package's releases.
LIST_TIMEOUT = 120.0

_UNREACHABLE = re.compile(r"NewConnectionError|Connection refused|Failed to establish|Max retries|"
                          r"Could not fetch URL|connection error|Name or service not known|"
                          r"Temporary failure in name resolution|timed out|ProxyError|SSLError|"
                          r"Network is unreachable", re.I)


def _is_final(version: Version) -> bool:
    return not version.is_prerelease and version.local is None


def final_releases(versions: Sequence[str]) -> list[str]:
    """The final releases among *versions* (see the module's docstring), oldest first."""
    parsed = []
    for text in versions:
        try:
            parsed.append((Version(text), text))
        except InvalidVersion:
            continue
    return [text for version, text in sorted(parsed) if _is_final(version)]


def _why_unreachable(lines: Sequence[str]) -> str:
    """A short reason from pip's retry warnings: ``127.0.0.1:9: Connection refused``."""
    text = "\n".join(lines)
    where = re.search(r"host='([^']+)', port=(\d+)", text)
    errno = re.search(r"\[Errno -?\d+\] ([^\"')]+)", text)
    if where and errno:
        return f"{where[1]}:{where[2]}: {errno[1].strip()}"
    line = next((x for x in reversed(lines) if _UNREACHABLE.search(x)), lines[-1] if lines else "")
    return re.sub(r"^(?:WARNING|ERROR):\s*", "", line)[:200] or "no reason given"


def list_releases(package: str, python: str | Path | None = None) -> list[str]:
    """Every final release of *package* on the package index, oldest first.

    Asks ``pip index versions`` of *python* (default: this interpreter), so
    pip's configuration applies (``PIP_INDEX_URL``, extra indexes, find-links)
    and releases that do not support that Python are left out.  A project the
    index does not know, and an index that cannot be reached, are each one
    :class:`WslabError` that says which.
    """
    package = package_name(package)
    command = [str(python or sys.executable), "-m", "pip", "index", "versions", package,
               "--json", "--disable-pip-version-check", "--retries", "2"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=LIST_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WslabError(f"the package index is unreachable: listing {package}'s releases "
                         f"took more than {LIST_TIMEOUT:.0f} s") from None
    output = f"{done.stdout}\n{done.stderr}"
    if done.returncode != 0:
        if "No module named pip" in output:
            raise WslabError(f"listing {package}'s releases needs pip in {command[0]}")
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        if _UNREACHABLE.search(output):
            raise WslabError(f"the package index is unreachable ({_why_unreachable(lines)}), "
                             f"cannot list {package}'s releases")
        if os.environ.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on"):
            raise WslabError(f"the package index is switched off (PIP_NO_INDEX), cannot list "
                             f"{package}'s releases")
        if "No matching distribution found" in output:
            raise WslabError(f"the package index knows no project named {package!r} "
                             f"(or it has no release for Python {platform.python_version()})")
        raise WslabError(f"pip index versions {package} failed: "
                         f"{lines[-1] if lines else '(no output)'}")
    try:
        versions = json.loads(done.stdout)["versions"]
    except (ValueError, KeyError, TypeError):
        raise WslabError(f"pip index versions {package} printed no JSON list of versions") from None
    found = final_releases(versions)
    if not found:
        raise WslabError(f"the package index has no final release of {package}")
    return found


def version_of(text: str, what: str) -> Version:
    """*text* as a :class:`~packaging.version.Version`; one that is not is a :class:`WslabError` naming *what*."""
    try:
        return Version(text)
    except InvalidVersion:
        raise WslabError(f"{what} {text!r} is not a version") from None


def releases_in(releases: Sequence[str], start: str, end: str, package: str = "the package") -> list[str]:
    """The releases from *start* to *end*, both included; each end must be one of *releases*."""
    by_version = {Version(r): r for r in releases}
    for what, text in (("--from", start), ("--to", end)):
        if version_of(text, what) not in by_version:
            ordered = sorted(by_version)
            at = sum(1 for v in ordered if v < Version(text))
            near = ", ".join(by_version[v] for v in ordered[max(0, at - 2):at + 2])
            raise WslabError(f"{what} {text} is not a release of {package} on the package index "
                             f"(nearby: {near})")
    low, high = Version(start), Version(end)
    if low > high:
        raise WslabError(f"--from {start} is newer than --to {end}: the range is empty")
    return [by_version[v] for v in sorted(by_version) if low <= v <= high]
