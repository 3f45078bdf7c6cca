"""Installing pins into a new virtualenv, with uv when it can be found and pip otherwise.

A failure is one :class:`~wslab.errors.WslabError` quoting the installer's
last lines (:func:`explain_failure`), or saying which package could not be had
when the package index is unreachable or switched off (``UV_OFFLINE=1``,
``PIP_NO_INDEX=1``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from wslab.errors import WslabError
from wslab.lab.envs.catalog import PinSet, tool_pins
from wslab.paths import KIT_ROOT
from wslab.versions import probe_versions

#: What the installer was asked for, kept in the environment for reference.
REQUESTED = "wslab-requirements.txt"

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
    """``{canonical name: version}`` of every distribution installed for *python* (``-I``)."""
    return {name: found for name, found in probe_versions(python, isolated=True)[1].items() if found}


def _requirements(pins: PinSet, with_kit: bool) -> list[str]:
    lines = pins.lines()
    if with_kit:
        lines += [f"{n}=={v}" for n, v in sorted(tool_pins().items()) if n not in pins.pins]
    return lines


def install(folder: Path, pins: PinSet, with_kit: bool, installer: str, uv: Path | None,
            timeout: float) -> None:
    """Create a virtualenv in *folder* with *installer* (``uv`` at *uv*, or ``pip``) and install *pins*.

    With *with_kit* also the tools' pins and the kit itself (editable).  A
    failure, or more than *timeout* seconds for one step, is a :class:`WslabError`.
    """
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
