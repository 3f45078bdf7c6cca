"""pyproject.toml, the pin files and environment.yml must agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def declared() -> dict[str, Requirement]:
    project = pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return {canonicalize_name(r.name): r for r in reqs}


def pins(name: str) -> dict[str, str]:
    """``{package: version}`` from a requirements file, following ``-r`` includes."""
    found: dict[str, str] = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(line[3:].strip()))
            continue
        package, version = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line).groups()
        found[canonicalize_name(package.split("[")[0])] = version
    return found


@pytest.mark.parametrize("pin_file", ["incident.txt", "current.txt"])
def test_pin_files_cover_every_declared_dependency(pin_file):
    pinned = pins(pin_file)
    missing = sorted(set(declared()) - set(pinned))
    assert missing == [], f"{pin_file} lacks pins for {missing}"


@pytest.mark.parametrize("pin_file", ["incident.txt", "current.txt"])
def test_pins_satisfy_pyproject_ranges(pin_file):
    wanted = declared()
    for package, version in pins(pin_file).items():
        assert package in wanted, f"{pin_file} pins {package}, which pyproject.toml does not declare"
        assert wanted[package].specifier.contains(version, prereleases=True), \
            f"{pin_file}: {package}=={version} is outside pyproject's {wanted[package].specifier}"


def test_incident_pins_are_the_incident_stack():
    pinned = pins("incident.txt")
    assert pinned["werkzeug"].startswith("2.3.")
    assert pinned["python-engineio"] == "4.12.2"


def test_current_pins_have_the_engineio_fix_release():
    assert SpecifierSet(">=4.13.4").contains(pins("current.txt")["python-engineio"])


def test_environment_yml_installs_the_incident_pins_and_the_kit():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert SpecifierSet(pyproject()["project"]["requires-python"]).contains(python.split("=", 1)[1] + ".0")
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements/incident.txt" in pip_section
    assert "-e ." in pip_section
    assert "conda-forge" in env["channels"]


def test_the_makefile_names_no_variable_pip_reads_from_the_environment():
    # make takes a variable's value from the environment, and so does pip for PIP_<OPTION>:
    # a Makefile variable PIP_QUIET=-q set in the environment made every pip the tests run
    # fail ("-q is not a valid value for quiet option"), while make itself was happy.
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[?:+]?=", makefile, re.M))
    names |= set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", makefile))
    assert "PY" in names and "XDIST" in names  # pinned by hand: the reading finds the Makefile's variables
    assert sorted(n for n in names if n.startswith("PIP_")) == []
