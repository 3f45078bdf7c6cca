"""Pin sets: the named ones of ``data/pinsets.toml``, ad hoc ones from pins, and their key.

A pin set is a named set of exact versions (``NAME==VERSION``), package names
compared as the index compares them (:func:`wslab.model.packages.canonical`).
:func:`env_key` is the key of the environment a pin set builds into (see
:mod:`wslab.lab.envs`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wslab.errors import WslabError
from wslab.model.packages import canonical
from wslab.paths import DATA_DIR, KIT_ROOT
from wslab.versions import logical_lines, parse_pin

#: The catalogue of named pin sets.
CATALOG = DATA_DIR / "pinsets.toml"
#: The tools installed with the kit into every environment that has the kit.
TOOLS = KIT_ROOT / "requirements" / "tools.txt"
#: The kit's project file (its ``dependencies`` are part of the key).
PYPROJECT = KIT_ROOT / "pyproject.toml"
#: Name given to pin sets made from pins alone.
ADHOC = "adhoc"
#: Bumped when the layout of an environment changes, so old ones are not reused.
FORMAT = 1

_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._]*$")



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
    entries = [line for _, line in logical_lines(text) if not line.startswith(("-r ", "--requirement"))]
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
