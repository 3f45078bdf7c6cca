"""Bisect a package's releases: which release of it stops the direct-WebSocket 500?

The factor matrix (:mod:`wslab.study.versions.matrix`) compares the incident's version
of a package with the current one.  A bisect fills in every release between
them: each release of *package* in the range, found on the package index
(:func:`list_releases`, never a typed list), is built into its own cached
environment (:mod:`wslab.lab.envs`) with the other pins fixed and the package
pinned to that release, and measured in that environment's interpreter
(:mod:`wslab.study.versions.cellrun`): the ``before`` variant on Werkzeug's dev server,
*users* direct WebSocket connections (no upgrading ones), each one's outcome
read from the server log.

Releases
    the final releases on the index, in :class:`packaging.version.Version`
    order: pre-releases, development releases and local versions are left out,
    post-releases are kept.  The range is inclusive at both ends; by default it
    runs from the package's version in the ``incident`` pin set to its version
    in the ``current`` pin set (``data/pinsets.toml``), or to the newest release
    when ``current`` does not pin it.
First release without the 500
    :func:`first_release_without_500`: among the releases that were measured
    (a release that failed is not), the earliest one with no direct connection
    logged as 500 such that every measured release after it has none either;
    ``None`` when the newest measured release still has a 500, or nothing was
    measured.  A release that removes the 500 and a later one that brings it
    back give ``None`` or the later fix, never the first one.
Cache
    one JSON file per measured release (with its log beside it) under
    ``cache/<package>/`` in :func:`bisect_dir` (``$WSLAB_BISECT_DIR``, else
    ``.wslab/bisect`` in the repository), named by :func:`cache_key`: the
    environment's key (:func:`wslab.lab.envs.env_key`, which covers every pin,
    the tools, the kit's dependencies and the Python version), the variant, the
    server, the connection kind, *users* and the kit's version.  A second run
    with the same inputs reads every release from there and re-measures
    nothing; a failed release is not cached, so it is tried again.
Output
    :func:`run_bisect` copies each release's log to ``logs/`` in the output
    folder (default ``runs/<package>-<time>`` under :func:`bisect_dir`) and
    writes ``bisect.json`` there (:meth:`BisectResult.record`, saved by :mod:`wslab.model.records`).
Failures
    bad input (an unknown package, a ``--from``/``--to`` that is not a release
    or gives an empty range, a malformed pin) is one
    :class:`~wslab.errors.WslabError` before anything runs.  When the index
    cannot be reached, the releases already cached for the same inputs are
    still reported and :attr:`BisectResult.index_error` says why the others are
    missing.  A release whose environment cannot be built, or whose run fails,
    is reported with the reason and the others still run.

From Python::

    from wslab.study.versions import bisect

    result = bisect.run_bisect("python-engineio", pins=["werkzeug==2.3.8"])
    result.first_release_without_500       # e.g. '4.13.4', or None
    [(r.version, r.direct["status_500"]) for r in result.releases]
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

import wslab
from wslab.errors import WslabError
from wslab.lab import envs
from wslab.model.packages import VERSION_FIELDS
from wslab.model.records import BisectRecord, BisectRelease, load_bisect, save, write_json
from wslab.paths import KIT_ROOT
from wslab.progress import Bar
from wslab.study.runs import envrun
from wslab.study.versions.releases import final_releases, list_releases, releases_in, version_of
from wslab.versions import canonical, package_name, parse_pin

#: The variant, server and connection kind every release is measured with.
VARIANT, SERVER, KIND = "before", "werkzeug", "direct"
#: What the result file is called in the output folder.
RESULT_FILE = "bisect.json"
#: How long one release's run may take before it is reported failed.
RUN_TIMEOUT = 300.0
#: Bumped when a cached record's layout changes, so old ones are not reused.
CACHE_FORMAT = 1

#: One release's result: its direct-connection counts, or why it has none (as ``bisect.json`` holds it).
ReleaseResult = BisectRelease


@dataclass
class BisectResult:
    """A bisect: the package, the fixed pins, every release of the range and the conclusion."""

    package: str
    pins: dict[str, str]
    start: str
    end: str
    users: int
    releases: list[ReleaseResult]
    first_release_without_500: str | None
    out: Path
    #: Set when the package index could not be reached: only cached releases are reported.
    index_error: str | None = None

    def failed(self) -> list[ReleaseResult]:
        """The releases that have no measurement."""
        return [r for r in self.releases if r.error]

    def command(self) -> str:
        """The ``wslab bisect`` command line that measures this again."""
        pins = "".join(f" --pin {name}=={version}" for name, version in sorted(self.pins.items()))
        return (f"wslab bisect {self.package} --from {self.start} --to {self.end}{pins} "
                f"--users {self.users}")

    def record(self) -> BisectRecord:
        """What ``bisect.json`` holds, made by this kit on this Python."""
        return BisectRecord(self.command(), self.package, self.pins, self.start, self.end, VARIANT, SERVER,
                            self.users, wslab.__version__, platform.python_version(), self.releases,
                            self.first_release_without_500, self.index_error)

    def as_dict(self) -> dict[str, Any]:
        """What ``wslab bisect --json`` prints and ``bisect.json`` holds."""
        return self.record().to_dict()


def bisect_dir() -> Path:
    """Where results are cached and runs written: ``$WSLAB_BISECT_DIR``, else ``.wslab/bisect``."""
    override = os.environ.get("WSLAB_BISECT_DIR")
    return Path(override) if override else KIT_ROOT / ".wslab" / "bisect"


def fixed_pins(package: str, pins: Sequence[str]) -> dict[str, str]:
    """The ``NAME==VERSION`` *pins* held fixed while *package* moves; bad ones are refused."""
    fixed: dict[str, str] = {}
    for pin in pins:
        name, version = parse_pin(pin)
        if name == package:
            raise WslabError(f"--pin {pin} pins {package}, the package being bisected; "
                             "give its range with --from and --to instead")
        if fixed.get(name, version) != version:
            raise WslabError(f"{name} is pinned twice ({fixed[name]} and {version})")
        fixed[name] = version
    return fixed


def default_range(package: str) -> tuple[str | None, str | None]:
    """*package*'s version in the ``incident`` and in the ``current`` pin set (``None`` if unpinned)."""
    name = canonical(package)
    return envs.pinset("incident").pins.get(name), envs.pinset("current").pins.get(name)


def release_pins(package: str, version: str, fixed: dict[str, str]) -> envs.PinSet:
    """The pin set one release is built from: *fixed* plus ``package==version``."""
    safe = re.sub(r"[^A-Za-z0-9.]", "_", f"{package}{version}")
    return envs.adhoc([f"{n}=={v}" for n, v in sorted({**fixed, package: version}.items())],
                      name=f"bisect_{safe}")


def cache_key(env_key: str, users: int, variant: str = VARIANT, server: str = SERVER,
              kind: str = KIND) -> str:
    """The 12-hex-digit key of one release's cached measurement (see the module's docstring)."""
    material = {"format": CACHE_FORMAT, "env": env_key, "variant": variant, "server": server,
                "kind": kind, "users": users, "kit": wslab.__version__}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]


def _cache_file(package: str, version: str, fixed: dict[str, str], users: int) -> Path:
    key = cache_key(envs.env_key(release_pins(package, version, fixed)), users)
    return bisect_dir() / "cache" / package / f"{version}-{key}.json"


def _read_cached(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(record.get("direct"), dict) and path.with_suffix(".log").is_file():
            return record
    except (OSError, ValueError, AttributeError):
        pass
    return None


def cached_releases(package: str, fixed: dict[str, str], users: int) -> list[str]:
    """The releases of *package* whose measurement for these inputs is in the cache, oldest first."""
    folder = bisect_dir() / "cache" / package
    found = set()
    for path in folder.glob("*.json") if folder.is_dir() else ():
        version = path.stem.rpartition("-")[0]
        try:
            Version(version)
        except InvalidVersion:
            continue
        if path == _cache_file(package, version, fixed, users) and _read_cached(path):
            found.add(version)
    return final_releases(sorted(found))


def first_release_without_500(releases: Sequence[ReleaseResult]) -> str | None:
    """The earliest measured release with no direct 500 after which no measured release has one.

    Releases with an error are skipped; ``None`` when the newest measured
    release has a direct 500 or nothing was measured.
    """
    measured = sorted((r for r in releases if r.error is None and r.direct),
                      key=lambda r: Version(r.version))
    first = None
    for release in measured:
        if release.direct["status_500"]:
            first = None
        elif first is None:
            first = release.version
    return first


def _measure(package: str, version: str, fixed: dict[str, str], users: int, logs: Path,
             build: Callable[[envs.PinSet], envs.Env], step: Callable[[str], None]) -> ReleaseResult:
    """Build *version*'s environment, run it, cache the row and its log."""
    result = ReleaseResult(version)
    cell = f"{package}-{version}"
    try:
        step(f"{version}: building")
        env = build(release_pins(package, version, fixed))
        if env.resolved.get(package) != version:
            raise WslabError(f"its environment has {package} {env.resolved.get(package)}, "
                             f"not {version}")
        step(f"{version}: running")
        arguments = ["--cell", cell, "--server", SERVER, "--variants", VARIANT,
                     "--users", str(users), "--kinds", KIND, "--log-dir", str(logs),
                     "--redis-url", "fakeredis"]
        job = envrun.launch(env.python, "wslab.study.versions.cellrun", arguments, f"{package} {version}")
        try:
            rows = envrun.collect(job, timeout=RUN_TIMEOUT)
        except BaseException:
            envrun.stop(job)
            raise
        row = rows[0]
        log = logs / f"{cell}-{VARIANT}.log"  # where cellrun writes it
        if not log.is_file():
            raise WslabError(f"the run wrote no log at {log}")
    except WslabError as exc:
        result.error = str(exc)
        return result
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        result.error = f"the run printed no usable row ({type(exc).__name__}: {exc})"
        return result
    result.direct = row["direct"]
    result.versions = {k: v for k, v in row.items() if k in VERSION_FIELDS.values()}
    result.log = log.name
    cache = _cache_file(package, version, fixed, users)
    cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log, cache.with_suffix(".log"))
    write_json(cache, {"format": CACHE_FORMAT, "package": package, "version": version,
                        "pins": {**fixed, package: version}, "env": env.folder, "env_key": env.key,
                        "variant": VARIANT, "server": SERVER, "kind": KIND, "users": users,
                        "kit_version": wslab.__version__, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "direct": result.direct, "versions": result.versions, "log": result.log,
                        "row": row})
    return result


def _from_cache(package: str, version: str, fixed: dict[str, str], users: int,
                logs: Path) -> ReleaseResult | None:
    path = _cache_file(package, version, fixed, users)
    record = _read_cached(path)
    if record is None:
        return None
    log = f"{package}-{version}-{VARIANT}.log"
    logs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path.with_suffix(".log"), logs / log)
    return ReleaseResult(version, record["direct"], cached=True, log=log,
                         versions=record.get("versions", {}))


def run_bisect(package: str, start: str | None = None, end: str | None = None,
               pins: Sequence[str] = (), users: int = 4, out: Path | None = None,
               progress: bool = True,
               build: Callable[[envs.PinSet], envs.Env] | None = None) -> BisectResult:
    """Measure every release of *package* from *start* to *end* (see the module's docstring).

    *pins* (``NAME==VERSION``) are held fixed in every release's environment;
    *users* direct WebSocket clients run per release.  Releases run one at a
    time, oldest first, with a progress bar on stderr when *progress* is on.
    Returns the result and writes it to ``bisect.json`` in *out*.
    """
    package = package_name(package)
    fixed = fixed_pins(package, pins)
    if users < 1:
        raise WslabError("--users must be at least 1")
    incident, current = default_range(package)
    index_error = None
    try:
        listed = list_releases(package)
    except WslabError as exc:
        if not str(exc).startswith("the package index is"):
            raise
        index_error, listed = str(exc), None
    start = start or incident
    if start is None:
        raise WslabError(f"{package} is not pinned in the incident pin set: give --from VERSION")
    if end is None:
        end = current or (listed[-1] if listed else None)
    if end is None:
        raise WslabError(f"{index_error}; and {package} is not pinned in the current pin set, "
                         "so --to cannot default to its newest release")
    if listed is not None:
        versions = releases_in(listed, start, end, package)
    else:
        low, high = version_of(start, "--from"), version_of(end, "--to")
        if low > high:
            raise WslabError(f"--from {start} is newer than --to {end}: the range is empty")
        versions = [v for v in cached_releases(package, fixed, users) if low <= Version(v) <= high]
        if not versions:
            raise WslabError(f"{index_error}; no release of {package} from {start} to {end} is "
                             "cached for these pins and users")
    out = out or bisect_dir() / "runs" / f"{package}-{time.strftime('%Y%m%d-%H%M%S')}"
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    build = build or (lambda p: envs.build(p, progress=False))
    results: list[ReleaseResult] = []
    bar = Bar(total=len(versions), desc=f"bisect {package}", unit="release", file=sys.stderr,
              leave=False, disable=not progress)
    try:
        for version in versions:
            bar.set_postfix_str(version)
            found = _from_cache(package, version, fixed, users, logs)
            if found is None:
                found = _measure(package, version, fixed, users, logs, build, bar.set_postfix_str)
            results.append(found)
            bar.update(1)
    finally:
        bar.close()
    result = BisectResult(package, {**fixed}, start, end, users, results,
                          first_release_without_500(results), out, index_error)
    save(out / RESULT_FILE, result.record())
    return result


def read_result(path: Path) -> dict[str, Any]:
    """A ``bisect.json`` as :meth:`BisectResult.as_dict` wrote it (read by :func:`wslab.model.records.load_bisect`)."""
    return load_bisect(Path(path)).to_dict()


def release_table(record: Mapping[str, Any],
                  keys: Sequence[str] = ("status_500", "write_before_start_response", "status_101",
                                         "not_logged", "status_400")) -> pd.DataFrame:
    """One row per release of a :func:`read_result` record, its direct counts as ``k/n``."""
    rows = []
    for release in record["releases"]:
        direct = release.get("direct") or {}
        n = direct.get("connections", 0)
        row = {"release": release["version"], "error": release.get("error")}
        row.update({key: f"{direct[key]}/{n}" if direct else None for key in keys})
        rows.append(row)
    table = pd.DataFrame(rows).set_index("release")
    return table.drop(columns="error") if table["error"].isna().all() else table
