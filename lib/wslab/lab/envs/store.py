"""Built environments: the cache folder, building a pin set into it, listing and removing.

See :mod:`wslab.lab.envs` for what a build does and how the folder is named.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.lab.envs.catalog import PinSet, env_key
from wslab.lab.envs.installer import choose_installer, install, resolved_versions
from wslab.paths import KIT_ROOT

#: Written last into a built environment; without it a folder is not an environment.
MARKER = "wslab-env.json"
#: The packages :func:`Env.stack` reports, in the order tables show them.
STACK: tuple[str, ...] = ("werkzeug", "python-engineio", "python-socketio", "flask-socketio",
                          "simple-websocket", "flask")

_FOLDER = re.compile(r"^(?P<name>.+)-(?P<key>[0-9a-f]{12})$")


def envs_dir() -> Path:
    """Where environments are built: ``$WSLAB_ENVS_DIR``, else ``.wslab/envs`` in the repository."""
    override = os.environ.get("WSLAB_ENVS_DIR")
    return Path(override) if override else KIT_ROOT / ".wslab" / "envs"


@dataclass
class Env:
    """A built environment, as its marker file describes it."""

    name: str
    key: str
    path: Path
    pins: dict[str, str]
    resolved: dict[str, str]
    python_version: str
    with_kit: bool
    installer: str
    built_at: str
    build_seconds: float
    #: ``True`` when :func:`build` found it already built (not stored).
    reused: bool = field(default=False, compare=False)

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / "bin" / "python"

    @property
    def folder(self) -> str:
        """``<name>-<key>``, the folder's name."""
        return self.path.name

    def stack(self) -> dict[str, str | None]:
        """The resolved versions of the :data:`STACK` packages (``None`` if not installed)."""
        return {name: self.resolved.get(name) for name in STACK}

    def size_bytes(self) -> int:
        """Disk space used by the folder (each hard-linked file counted once)."""
        return disk_usage(self.path)[0]

    def own_bytes(self) -> int:
        """The part of :meth:`size_bytes` not shared by hard links (e.g. with uv's cache)."""
        return disk_usage(self.path)[1]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, with the interpreter, the stack and the sizes."""
        total, own = disk_usage(self.path)
        return {"name": self.name, "key": self.key, "path": str(self.path),
                "python": str(self.python), "python_version": self.python_version,
                "with_kit": self.with_kit, "pins": self.pins, "stack": self.stack(),
                "resolved": self.resolved, "installer": self.installer,
                "built_at": self.built_at, "build_seconds": self.build_seconds,
                "size_bytes": total, "own_bytes": own, "reused": self.reused}


def disk_usage(path: Path) -> tuple[int, int]:
    """``(total, own)`` bytes allocated under *path*, each inode counted once.

    Symlinks are not followed; *own* leaves out files with other hard links
    (an installer's cache shares its files with the environments this way).
    """
    seen: set[tuple[int, int]] = set()
    total = own = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for entry in filenames + dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, entry))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
            if st.st_nlink == 1 or not stat.S_ISREG(st.st_mode):
                own += st.st_blocks * 512
    return total, own


def _load(folder: Path) -> Env | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return Env(name=data["name"], key=data["key"], path=folder, pins=data["pins"],
                   resolved=data["resolved"], python_version=data["python_version"],
                   with_kit=data["with_kit"], installer=data["installer"],
                   built_at=data["built_at"], build_seconds=data["build_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_envs(root: Path | None = None) -> list[Env]:
    """The built environments under *root* (default :func:`envs_dir`), by name then key.

    Folders without a readable marker (a build that is running or was cut
    short) are not listed.
    """
    root = root or envs_dir()
    if not root.is_dir():
        return []
    found = [env for child in sorted(root.iterdir())
             if child.is_dir() and _FOLDER.match(child.name) and (env := _load(child))]
    return sorted(found, key=lambda e: (e.name, e.key))


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"wslab: {message}", file=sys.stderr, flush=True)


def build(pins: PinSet, with_kit: bool = True, root: Path | None = None,
          installer: str = "auto", progress: bool = True, timeout: float = 1800.0) -> Env:
    """Return the environment of *pins*, building it first unless it is already built.

    *with_kit* also installs ``requirements/tools.txt`` and the kit itself
    (editable), so that ``python -m wslab...`` runs there.  *installer* is
    ``auto`` (uv if found, else pip), ``uv`` or ``pip``.  With *progress*, one
    line per step goes to stderr.  A failed build leaves no folder behind and
    raises one :class:`WslabError`.
    """
    root = root or envs_dir()
    key = env_key(pins, with_kit)
    folder = root / f"{pins.name}-{key}"
    if env := _load(folder):
        env.reused = True
        _say(progress, f"reusing {folder.name} ({folder})")
        return env
    with _locked(root / f".{folder.name}.lock"):
        if env := _load(folder):  # built by another process while this one waited
            env.reused = True
            _say(progress, f"reusing {folder.name} ({folder})")
            return env
        tool, uv = choose_installer(installer)
        what = f"{len(pins.pins)} pin{'s' * (len(pins.pins) != 1)}"
        what += ", the tools and the kit" if with_kit else ""
        _say(progress, f"building {folder.name} ({what}) with {tool} in {folder}")
        if folder.exists():
            shutil.rmtree(folder)  # an earlier build that was cut short
        started = time.monotonic()
        try:
            install(folder, pins, with_kit, tool, uv, timeout)
            resolved = resolved_versions(folder / "bin" / "python")
            env = Env(name=pins.name, key=key, path=folder, pins=dict(pins.pins),
                      resolved=resolved, python_version=platform.python_version(),
                      with_kit=with_kit, installer=tool,
                      built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                      build_seconds=round(time.monotonic() - started, 1))
            _write_marker(env)
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, WslabError):
                raise WslabError(f"building {folder.name} with {tool} failed: {exc}") from None
            raise
    _say(progress, f"built {folder.name} in {env.build_seconds:.1f} s")
    return env


def _write_marker(env: Env) -> None:
    record = {"name": env.name, "key": env.key, "pins": env.pins, "resolved": env.resolved,
              "python_version": env.python_version, "with_kit": env.with_kit,
              "installer": env.installer, "built_at": env.built_at,
              "build_seconds": env.build_seconds}
    partial = env.path / f".{MARKER}.tmp"
    partial.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, env.path / MARKER)


def remove(selector: str | None = None, everything: bool = False,
           root: Path | None = None) -> list[str]:
    """Delete environments and return their folder names.

    *selector* is a pin-set name (every environment of that name), a key, or a
    folder name; *everything* removes every environment under *root*, built or
    not.  Nothing matching *selector* is a :class:`WslabError`.
    """
    root = root or envs_dir()
    folders = sorted(c for c in root.iterdir() if c.is_dir() and _FOLDER.match(c.name)) \
        if root.is_dir() else []
    if everything:
        chosen = folders
    elif selector:
        chosen = []
        for folder in folders:
            env = _load(folder)
            match = _FOLDER.match(folder.name)
            name, key = (env.name, env.key) if env else (match["name"], match["key"])
            if selector in (name, key, folder.name):
                chosen.append(folder)
        if not chosen:
            built = ", ".join(e.folder for e in list_envs(root)) or "none"
            raise WslabError(f"no environment named or keyed {selector!r} (built: {built})")
    else:
        raise WslabError("say which environment to remove (a name or key), or --all")
    for folder in chosen:
        with _locked(root / f".{folder.name}.lock"):
            shutil.rmtree(folder)
        (root / f".{folder.name}.lock").unlink(missing_ok=True)
    return [folder.name for folder in chosen]
