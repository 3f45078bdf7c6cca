"""The versions of the stack's packages: in this interpreter, in another one, or in a requirements file.

:func:`stack_versions` reads this interpreter.  :func:`installed_versions`
reads any interpreter by running it (:func:`probe_versions`: ``importlib.metadata``
in a subprocess), and :func:`required_versions` reads what a requirements file
asks for (:mod:`packaging.requirements`, ``-r``/``-c`` includes followed
relative to the file that names them), each as one :class:`Wanted` per
package: an exact version, a range, or nothing at all.  :func:`parse_pin` and
:func:`package_name` read one ``NAME==VERSION`` pin and one package name the
same way; names are compared as the package index compares them
(:func:`canonical`, :func:`packaging.utils.canonicalize_name`).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from wslab.errors import WslabError

STACK_PACKAGES: tuple[str, ...] = (
    "werkzeug", "flask", "flask-socketio", "python-socketio", "python-engineio", "simple-websocket",
)

#: The packages that decide how a WebSocket close is logged, and the servers that may run it.
DEPLOYMENT_PACKAGES: tuple[str, ...] = (
    "werkzeug", "python-engineio", "python-socketio", "flask-socketio", "simple-websocket", "flask",
    "gunicorn",
)

#: How long another interpreter may take to report its versions.
INTERPRETER_TIMEOUT = 60.0

#: Run in another interpreter: the version of each distribution named in argv (all when none is).
_READ_VERSIONS = (
    "import json, sys\n"
    "from importlib.metadata import PackageNotFoundError, distributions, version\n"
    "found = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        found[name] = version(name)\n"
    "    except PackageNotFoundError:\n"
    "        found[name] = None\n"
    "if len(sys.argv) == 1:\n"
    "    found = {d.metadata['Name']: d.version for d in distributions() if d.metadata['Name']}\n"
    "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])), 'versions': found}))\n"
)

#: ``-r FILE``, ``--requirement=FILE``, ``-c FILE``, ``-rFILE``: another file whose lines count too.
_INCLUDE = re.compile(r"^(?:--requirement|--constraint|-r|-c)\s*=?\s*(?P<file>\S.*)$")


def stack_versions() -> dict[str, str]:
    """``{package: version}`` for the stack packages plus Python itself."""
    found = {"python": platform.python_version()}
    for name in STACK_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def canonical(name: str) -> str:
    """A package name as the index compares names: lower case, runs of ``-_.`` as ``-``."""
    return str(canonicalize_name(name))


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text.strip())
    except InvalidRequirement:
        return None


def package_name(text: str) -> str:
    """*text* as a canonical package name; anything that is not a bare name is a :class:`WslabError`."""
    found = _requirement(text)
    if found is None or found.name != text.strip() or found.extras or found.specifier or found.url or found.marker:
        raise WslabError(f"{text!r} is not a package name")
    return canonical(found.name)


def parse_pin(text: str) -> tuple[str, str]:
    """``"Werkzeug==2.3.8"`` -> ``("werkzeug", "2.3.8")``; anything else is a :class:`WslabError`."""
    found = _requirement(text)
    specs = list(found.specifier) if found is not None else []
    if (found is None or found.extras or found.url or found.marker or len(specs) != 1
            or specs[0].operator != "==" or "*" in specs[0].version):
        raise WslabError(f"malformed pin {text!r}: write NAME==VERSION, e.g. werkzeug==2.3.8")
    return canonical(found.name), specs[0].version


@dataclass(frozen=True)
class Wanted:
    """What a deployment has of one package.

    ``version`` is set when it is exact (installed, or pinned with ``==``);
    ``specifier`` holds a range (``">=4.13,<5"``, ``""`` for a bare name);
    both are ``None`` when the package is missing.  ``source`` says where it
    was read (``"installed"``, ``"requirements.txt:3"``).
    """

    package: str
    version: str | None = None
    specifier: str | None = None
    source: str = ""

    @property
    def missing(self) -> bool:
        """True when neither installed nor required."""
        return self.version is None and self.specifier is None


def probe_versions(python: str | Path, packages: Sequence[str] = (), *,
                   isolated: bool = False) -> tuple[str, dict[str, str | None]]:
    """Run *python* and read its Python version and each of *packages*' installed version there.

    Versions come back by canonical name (``None`` for a package that is not
    installed); with no *packages*, every installed distribution.  *isolated*
    runs it with ``-I`` (no ``PYTHONPATH``, no user site), to read what an
    environment itself holds.  An interpreter that cannot be started, fails, or
    prints no answer is one :class:`WslabError`.
    """
    flags = ["-I"] if isolated else []
    try:
        done = subprocess.run([str(python), *flags, "-c", _READ_VERSIONS, *packages], capture_output=True,
                              text=True, timeout=INTERPRETER_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WslabError(f"--python {python} did not answer within {INTERPRETER_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise WslabError(f"--python {python} does not run: {exc.strerror or exc}") from None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0:
        raise WslabError(f"--python {python} does not run as Python (exit {done.returncode}"
                         f"{': ' + lines[-1].strip() if lines else ''})")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        found = {canonical(name): found for name, found in dict(answer["versions"]).items()}
        return str(answer["python"]), found
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise WslabError(f"--python {python} printed no list of versions (is it a Python interpreter?)") from None


def installed_versions(python: str | Path | None = None,
                       packages: Sequence[str] = DEPLOYMENT_PACKAGES) -> tuple[str, dict[str, Wanted]]:
    """The Python version of *python* and each package's installed version there.

    *python* is run in a subprocess (:func:`probe_versions`; default: this
    interpreter, read in process).  An interpreter that cannot be started,
    fails, or prints no answer is one :class:`WslabError`.
    """
    names = [canonical(p) for p in packages]
    if python is None:
        found: dict[str, str | None] = {}
        for name in names:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                found[name] = None
        python_version = platform.python_version()
    else:
        python_version, found = probe_versions(python, names)
    where = "installed"
    return python_version, {name: Wanted(name, found.get(name), None, where if found.get(name) else "")
                            for name in names}


def logical_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` without comments, blank lines and backslash continuations."""
    joined: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            joined.append((start, line))
    if pending.strip():
        joined.append((start, pending.strip()))
    return joined


def _read_requirements(path: Path, shown: str, seen: set[Path],
                       found: list[tuple[str, str, str | None, str]]) -> None:
    """Append ``(package, specifier, url, where)`` for every requirement in *path* and its includes."""
    if path.is_dir():
        raise WslabError(f"--requirements {shown} is a directory, not a requirements file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WslabError(f"--requirements {shown}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise WslabError(f"cannot read requirements file {shown}: {reason}") from None
    seen.add(path.resolve())
    for number, line in logical_lines(text):
        where = f"{shown}:{number}"
        include = _INCLUDE.match(line)
        if include:
            target = (path.parent / include["file"].strip()).resolve()
            if target not in seen:
                named = Path(shown).parent / include["file"].strip()
                if not target.is_file():
                    raise WslabError(f"{where}: the included file {named} does not exist")
                _read_requirements(target, str(named), seen, found)
            continue
        if line.startswith("-"):
            continue  # an installer option (--index-url, --hash, -e …): names no version
        try:
            requirement = Requirement(line.split(" --", 1)[0].strip())
        except InvalidRequirement as exc:
            raise WslabError(f"{where}: not a requirement: {line!r} ({exc})") from None
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        found.append((canonical(requirement.name), str(requirement.specifier), requirement.url, where))


def required_versions(path: str | Path,
                      packages: Sequence[str] = DEPLOYMENT_PACKAGES, shown: str | None = None) -> dict[str, Wanted]:
    """What the requirements file at *path* asks for each of *packages*.

    *shown* is how messages and ``where`` name the file (default: *path* as given).

    A single ``==`` pin gives ``version``; anything else (``>=``, ``~=``, a bare
    name, several lines for one package) gives the combined ``specifier``; a
    direct URL gives ``specifier`` ``"@ URL"``.  Packages the file (with its
    includes) does not name come back with neither.  A missing or unreadable
    file, a directory, an include that does not exist, a line that is not a
    requirement, or two different pins of one package is one :class:`WslabError`.
    """
    path = Path(path)
    found: list[tuple[str, str, str | None, str]] = []
    _read_requirements(path, shown or str(path), set(), found)
    wanted: dict[str, Wanted] = {}
    for name in (canonical(p) for p in packages):
        lines = [(spec, url, where) for package, spec, url, where in found if package == name]
        if not lines:
            wanted[name] = Wanted(name)
            continue
        where = ", ".join(w for _, _, w in lines)
        url = next((u for _, u, _ in lines if u), None)
        if url:
            wanted[name] = Wanted(name, None, f"@ {url}", where)
            continue
        combined = SpecifierSet(",".join(s for s, _, _ in lines if s))
        pins = {s.version for s in combined if s.operator in ("==", "===") and "*" not in s.version}
        if len(pins) > 1:
            raise WslabError(f"{where}: {name} is pinned to more than one version ({', '.join(sorted(pins))})")
        if pins and len(combined) == 1:
            wanted[name] = Wanted(name, pins.pop(), None, where)
        else:
            wanted[name] = Wanted(name, None, str(combined), where)
    return wanted
