"""Environments as data: pin sets built into cached virtualenvs.

A *pin set* is a named set of exact versions (``NAME==VERSION``).  The named
ones live in ``data/pinsets.toml``; ``incident`` and ``current`` there are the
repository's ``requirements/incident.txt`` and ``requirements/current.txt``
without the shared tools.  A pin set can also be made on the spot from pins
(:func:`adhoc`); packages it does not pin are left to the installer, which
picks the newest releases compatible with the pins.

:func:`build` turns a pin set into a virtualenv under the cache folder
(:func:`envs_dir`: ``$WSLAB_ENVS_DIR``, else ``.wslab/envs`` at the repository
root), in a folder named ``<name>-<key>``.  The key is a hash of what goes
into the environment: the sorted pins, the Python version and, when the kit is
installed too (the default), ``requirements/tools.txt`` and the kit's own
dependencies from ``pyproject.toml``.  Change any of them and the key changes;
change nothing and the next :func:`build` returns the environment already
there without touching the network.

A build creates the virtualenv, installs the pins (plus the tools and the kit,
editable, unless ``with_kit=False``), reads the versions actually installed
back from the new interpreter and writes them to a marker file
(:data:`MARKER`, JSON) as its very last step.  A folder without the marker is
not a built environment: :func:`list_envs` ignores it, the next build of the
same key starts it afresh, and a failed build removes it.  The installer is
``uv`` when it can be found (the ``uv`` package next to this interpreter) and
``python -m venv`` with pip otherwise.  A failure is one
:class:`~wslab.errors.WslabError` quoting the installer's last lines, or
saying which package could not be had when the package index is unreachable
or switched off (``UV_OFFLINE=1``, ``PIP_NO_INDEX=1``).

From Python::

    from wslab.lab import envs

    env = envs.build(envs.pinset("incident"))
    env.python                     # .../.wslab/envs/incident-<key>/bin/python
    env.resolved["werkzeug"]       # '2.3.8'

    quick = envs.build(envs.adhoc(["werkzeug==2.3.8", "python-engineio==4.15.1"]))
    quick.resolved["flask"]        # whatever the installer chose

From the shell::

    wslab envs build incident
    wslab envs build werkzeug==2.3.8 python-engineio==4.15.1 --json
    wslab envs list
    wslab envs remove incident
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.paths import DATA_DIR, KIT_ROOT

#: The catalogue of named pin sets.
CATALOG = DATA_DIR / "pinsets.toml"
#: The tools installed with the kit into every environment that has the kit.
TOOLS = KIT_ROOT / "requirements" / "tools.txt"
#: The kit's project file (its ``dependencies`` are part of the key).
PYPROJECT = KIT_ROOT / "pyproject.toml"
#: Written last into a built environment; without it a folder is not an environment.
MARKER = "wslab-env.json"
#: What the installer was asked for, kept in the environment for reference.
REQUESTED = "wslab-requirements.txt"
#: The packages :func:`Env.stack` reports, in the order tables show them.
STACK: tuple[str, ...] = ("werkzeug", "python-engineio", "python-socketio", "flask-socketio",
                          "simple-websocket", "flask")
#: Name given to pin sets made from pins alone.
ADHOC = "adhoc"
#: Bumped when the layout of an environment changes, so old ones are not reused.
FORMAT = 1

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.+!_-]*[A-Za-z0-9])?$")
_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._]*$")
_FOLDER = re.compile(r"^(?P<name>.+)-(?P<key>[0-9a-f]{12})$")
_FREEZE = ("import importlib.metadata as m, json, re, sys\n"
           "found = {}\n"
           "for d in m.distributions():\n"
           "    name = d.metadata['Name']\n"
           "    if name:\n"
           "        found[re.sub(r'[-_.]+', '-', name).lower()] = d.version\n"
           "json.dump(found, sys.stdout, sort_keys=True)\n")


def canonical(name: str) -> str:
    """A package name as the index compares names: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pin(text: str) -> tuple[str, str]:
    """``"Werkzeug==2.3.8"`` -> ``("werkzeug", "2.3.8")``; anything else is a :class:`WslabError`."""
    name, sep, version = text.strip().partition("==")
    name, version = name.strip(), version.strip()
    if not sep or not _NAME.match(name) or not _VERSION.match(version):
        raise WslabError(f"malformed pin {text!r}: write NAME==VERSION, e.g. werkzeug==2.3.8")
    return canonical(name), version


@dataclass(frozen=True)
class PinSet:
    """A named set of exact versions; ``pins`` maps canonical package names to versions."""

    name: str
    pins: dict[str, str]
    description: str = ""
    source: str = ""

    def lines(self) -> list[str]:
        """The pins as sorted ``name==version`` requirement lines."""
        return [f"{name}=={version}" for name, version in sorted(self.pins.items())]


def _pins_from(entries: Sequence[str], where: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for entry in entries:
        name, version = parse_pin(entry)
        if pins.get(name, version) != version:
            raise WslabError(f"{where}: {name} is pinned twice ({pins[name]} and {version})")
        pins[name] = version
    return pins


def read_requirements(path: Path, exclude: Sequence[str] = ()) -> dict[str, str]:
    """The ``NAME==VERSION`` lines of a requirements file, without comments and ``-r`` includes.

    Packages named in *exclude* are left out.  Any other kind of line (a range,
    an option) is a :class:`WslabError`, since a pin set holds exact versions only.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WslabError(f"cannot read {path}: {exc.strerror or exc}") from None
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(("-r ", "--requirement")):
            continue
        entries.append(line)
    skip = {canonical(n) for n in exclude}
    return {n: v for n, v in _pins_from(entries, str(path)).items() if n not in skip}


def tool_pins() -> dict[str, str]:
    """The pins of ``requirements/tools.txt``."""
    return read_requirements(TOOLS)


def pinsets(catalog: Path | None = None) -> dict[str, PinSet]:
    """Every named pin set of the catalogue (``data/pinsets.toml`` unless *catalog* is given)."""
    catalog = catalog or CATALOG
    try:
        data = tomllib.loads(catalog.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WslabError(f"cannot read {catalog}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WslabError(f"{catalog} is not valid TOML: {exc}") from None
    tools = list(tool_pins())
    found: dict[str, PinSet] = {}
    for name, entry in data.items():
        where = f"{catalog.name} [{name}]"
        if not isinstance(entry, dict) or not _SET_NAME.match(name):
            raise WslabError(f"{where}: not a pin set (a table with 'requirements' or 'pins')")
        if "requirements" in entry:
            path = KIT_ROOT / entry["requirements"]
            pins, source = read_requirements(path, exclude=tools), entry["requirements"]
        elif isinstance(entry.get("pins"), list):
            pins, source = _pins_from(entry["pins"], where), catalog.name
        else:
            raise WslabError(f"{where}: give 'requirements' (a file) or 'pins' (a list)")
        if not pins:
            raise WslabError(f"{where}: pins nothing")
        found[name] = PinSet(name, pins, str(entry.get("description", "")), source)
    return found


def pinset(name: str, catalog: Path | None = None) -> PinSet:
    """The named pin set; an unknown name is a :class:`WslabError` listing the known ones."""
    known = pinsets(catalog)
    if name not in known:
        raise WslabError(f"unknown pin set {name!r}: choose from {', '.join(sorted(known))}, "
                         "or give NAME==VERSION pins")
    return known[name]


def adhoc(pins: Sequence[str], name: str = ADHOC) -> PinSet:
    """A pin set made from ``NAME==VERSION`` strings, e.g. ``["werkzeug==2.3.8"]``."""
    if not _SET_NAME.match(name):
        raise WslabError(f"bad pin-set name {name!r}: letters, digits, '.' and '_' only")
    if not pins:
        raise WslabError("an ad hoc pin set needs at least one NAME==VERSION pin")
    return PinSet(name, _pins_from(pins, "the pins given"), "ad hoc", "command line")


def requested(args: Sequence[str], name: str | None = None) -> PinSet:
    """What a command line asks for: one pin-set name, or ``NAME==VERSION`` pins.

    *name* names an ad hoc set (default :data:`ADHOC`); it cannot rename a named one.
    """
    pins = [a for a in args if "=" in a or any(c in a for c in "<>~!")]
    names = [a for a in args if a not in pins]
    if not args:
        raise WslabError("give a pin-set name or NAME==VERSION pins")
    if names and (pins or len(names) > 1):
        raise WslabError(f"give one pin-set name or NAME==VERSION pins, not {' '.join(args)!r}")
    if names:
        if name is not None:
            raise WslabError("--name is for ad hoc pins; a named pin set keeps its name")
        return pinset(names[0])
    return adhoc(pins, name or ADHOC)


def kit_dependencies() -> list[str]:
    """The kit's own dependencies as ``pyproject.toml`` lists them."""
    try:
        data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WslabError(f"cannot read the kit's {PYPROJECT.name}: {exc}") from None
    return sorted(data.get("project", {}).get("dependencies", []))


def env_key(pins: PinSet, with_kit: bool = True, python_version: str | None = None) -> str:
    """The 12-hex-digit key of the environment *pins* builds into.

    It hashes the sorted pins and the Python version, and with the kit also the
    tools' pins and the kit's dependencies; the set's name is not part of it.
    """
    material: dict[str, Any] = {
        "format": FORMAT,
        "pins": pins.lines(),
        "python": python_version or platform.python_version(),
        "with_kit": with_kit,
    }
    if with_kit:
        material["tools"] = sorted(f"{n}=={v}" for n, v in tool_pins().items())
        material["kit"] = kit_dependencies()
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return digest[:12]


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


def find_uv() -> Path | None:
    """The ``uv`` executable: the ``uv`` package's, or one next to this interpreter."""
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).parent / "uv"
    return beside if beside.is_file() and os.access(beside, os.X_OK) else None


def choose_installer(prefer: str = "auto") -> tuple[str, Path | None]:
    """``("uv", path)`` or ``("pip", None)``: *prefer* is ``auto``, ``uv`` or ``pip``."""
    if prefer not in ("auto", "uv", "pip"):
        raise WslabError(f"unknown installer {prefer!r}: choose auto, uv or pip")
    uv = find_uv() if prefer != "pip" else None
    if uv is not None:
        return "uv", uv
    if prefer == "uv":
        raise WslabError("uv was asked for but is not installed (pip install uv)")
    return "pip", None


def explain_failure(output: str) -> str:
    """One line from an installer's output: what was missing, or its last lines."""
    raw = output.replace("\r", "\n")
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    useful = [line for line in lines
              if not line.startswith(("WARNING:", "Using Python", "Resolved ", "Prepared "))]
    missing = re.search(r"Because (\S+?) was not found in the cache", raw)
    if missing or "network was disabled" in raw:
        what = missing.group(1) if missing else "a package"
        return (f"the package index is switched off (offline) and {what} is not in uv's cache; "
                "go online or build an environment that is already there")
    fetch = re.search(r"Failed to fetch:\s*`?(\S+?)`?\s*$", raw, re.M)
    if fetch and re.search(r"connect|dns|resolve|timed out|refused|unreachable", raw, re.I):
        url = fetch.group(1)
        package = url.rstrip("/").rsplit("/", 1)[-1]
        return (f"the package index is unreachable: could not fetch {package} from {url} "
                f"({useful[-1] if useful else 'no reason given'})")
    nomatch = re.search(r"No matching distribution found for (\S+)", raw)
    if nomatch and "(from versions: none)" in raw:
        reason = ("the package index is switched off (PIP_NO_INDEX)" if os.environ.get("PIP_NO_INDEX")
                  else "the package index is unreachable" if re.search(
                      r"NewConnectionError|Connection refused|Max retries", raw)
                  else "the package index is unreachable or the package does not exist")
        return f"no release of {nomatch.group(1)} could be found: {reason}"
    start = next((i for i, line in enumerate(useful) if line.lower().startswith("error")), None)
    tail = useful[start:start + 3] if start is not None else useful[-3:]
    tail = [re.sub(r"^(?:error|cause|hint):\s*", "", line, flags=re.I) for line in tail]
    return ": ".join(tail) or "(the installer printed nothing)"


def _run(command: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WslabError(f"{Path(command[0]).name} did not finish within {timeout:.0f} s") from None
    except OSError as exc:
        raise WslabError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise WslabError(explain_failure(f"{done.stdout}\n{done.stderr}"))


def resolved_versions(python: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every distribution installed for *python*."""
    done = subprocess.run([str(python), "-I", "-c", _FREEZE], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise WslabError(f"cannot read the versions installed for {python}: {last}")
    return json.loads(done.stdout)


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


def _requirements(pins: PinSet, with_kit: bool) -> list[str]:
    lines = pins.lines()
    if with_kit:
        lines += [f"{n}=={v}" for n, v in sorted(tool_pins().items()) if n not in pins.pins]
    return lines


def _install(folder: Path, pins: PinSet, with_kit: bool, installer: str, uv: Path | None,
             timeout: float) -> None:
    python = folder / "bin" / "python"
    wanted = folder / REQUESTED
    # pip here can install into another interpreter (--python), which spares the
    # new environment a copy of pip of its own; without pip here, it gets one.
    own_pip = installer == "pip" and importlib.util.find_spec("pip") is not None
    if installer == "uv":
        _run([str(uv), "venv", "--quiet", "--python", sys.executable, str(folder)], timeout)
    else:
        _run([sys.executable, "-m", "venv", *(["--without-pip"] if own_pip else []), str(folder)],
             timeout)
    wanted.write_text("\n".join(_requirements(pins, with_kit)) + "\n", encoding="utf-8")
    extra = ["-e", str(KIT_ROOT)] if with_kit else []
    if installer == "uv":
        command = [str(uv), "pip", "install", "--python", str(python)]
    elif own_pip:
        command = [sys.executable, "-m", "pip", "--python", str(python), "install"]
    else:
        command = [str(python), "-m", "pip", "install"]
    if installer == "pip":
        command += ["--quiet", "--disable-pip-version-check"]
    _run([*command, "-r", str(wanted), *extra], timeout)


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
            _install(folder, pins, with_kit, tool, uv, timeout)
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
