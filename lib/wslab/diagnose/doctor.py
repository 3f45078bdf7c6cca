"""Is a deployment affected, how, and what removes it — answered only from the recorded results.

The kit has measured, rather than reasoned about, how a direct WebSocket close
is logged: the factor matrix (``data/matrix/matrix.json``, made by ``wslab
matrix``) varies Werkzeug, python-engineio and the server one at a time, and
the bisect (``data/bisect/python-engineio/bisect.json``, made by ``wslab
bisect``) measures every python-engineio release between two versions.
:func:`diagnose` looks a deployment's versions up in those rows and nowhere
else:

outcome
    ``500`` (a 500 request line, with or without ``write() before
    start_response``), ``400`` (no 500, but the left-over bytes of a closed
    WebSocket logged as a ``"None /socket.io/… HTTP/0.9" 400`` line) or
    ``nothing``, the worst any recorded row shows for the same Werkzeug and
    python-engineio versions on the same server with the ``before`` stack;
    ``unmeasured`` when no row has them, with the ``wslab bisect`` or ``wslab
    matrix`` command that measures them.  Nothing is extrapolated: a version
    no row ran is unmeasured, however close it is to one that did.
versions
    one exact version per package (installed, or pinned with ``==``), or a
    range.  A range, a bare name and a package the requirements leave out
    are each evaluated at every release the recorded results measured that
    it admits, one finding per pair of Werkzeug and python-engineio
    versions, and the assumption is said in the package's line.
changes
    for a ``500`` (or ``400``) finding, each change the records measured at
    the same versions: upgrading python-engineio (to the oldest measured
    release without it, with none after it), upgrading Werkzeug, the kit's
    guard, turning the debugger off, gunicorn's gthread worker and the
    write-up's fix, each with the row that shows what it does.
verdict and exit code
    ``affected`` (1) when any finding is ``500`` or a live check failed,
    else ``unmeasured`` (3) when any finding is unmeasured, else ``not
    affected`` (0), the 400 noise included in the verdict line when measured.

The work is split by job: :mod:`wslab.diagnose.measurements` reads the
recorded rows, :mod:`wslab.diagnose.rules` evaluates them and
:mod:`wslab.diagnose.report` renders the answer; this module puts them together
and keeps their public names importable from one place.

From Python::

    from wslab import versions
    from wslab.diagnose import doctor

    records = doctor.load_records()
    diagnosis = doctor.diagnose(records, versions.required_versions("requirements.txt"),
                                "werkzeug", "requirements.txt")
    diagnosis.verdict, diagnosis.exit_code
    print(diagnosis.render())
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

from wslab.diagnose.measurements import (BASE_VARIANT, BISECT_FILE, MATRIX_FILE, Measurement, Records,
                                         load_records, records_from)
from wslab.diagnose.report import EXIT_CODES, NOISE, Change, Diagnosis, Finding, Live, PackageLine
from wslab.diagnose.rules import (FACTORS, GUARD_VARIANT, WRITEUP_VARIANT, candidates, changes, evaluate, notes,
                                  other_line)
from wslab.errors import WslabError
from wslab.logs.inputs import shown_path
from wslab.model.servers import SERVER_LABELS, SERVERS, server_name
from wslab.paths import KIT_ROOT
from wslab.versions import DEPLOYMENT_PACKAGES, Wanted, required_versions

__all__ = [
    "BASE_VARIANT", "BISECT_FILE", "EXIT_CODES", "FACTORS", "GUARD_VARIANT", "MATRIX_FILE", "NOISE",
    "SERVERS", "SERVER_LABELS", "WRITEUP_VARIANT", "Change", "Diagnosis", "Finding", "Live", "Measurement",
    "PackageLine", "Records", "candidates", "changes", "diagnose", "diagnose_requirements", "evaluate",
    "load_records", "records_from", "server_name", "shown_path",
]


def diagnose(records: Records, wanted: dict[str, Wanted], server: str, source: str,
             installed: bool = False, python: str | None = None) -> Diagnosis:
    """The diagnosis of a deployment with *wanted* versions on *server* (a :data:`SERVERS` value).

    *installed* says the versions were read from an interpreter (then a
    missing factor package is an error, not an assumption); *python* is that
    interpreter's version, compared with the one the results were recorded on.
    """
    if server not in SERVER_LABELS:
        server = server_name(server)
    lines, pairs = [], []
    for package in DEPLOYMENT_PACKAGES:
        want = wanted.get(package, Wanted(package))
        if package in FACTORS:
            found, text = candidates(records, want, installed)
            pairs.append(found)
            lines.append(PackageLine(package, want, found, text))
        else:
            lines.append(PackageLine(package, want, None, other_line(records, want, installed, server)))
    findings = [evaluate(records, w, e, server) for w, e in product(*pairs)]
    return Diagnosis(server, source, lines, findings, notes(records, wanted, findings, python, server))


def diagnose_requirements(requirements: str | Path | None = None, server: str = "werkzeug") -> Diagnosis:
    """:func:`diagnose` for a requirements file, as ``wslab doctor --requirements FILE`` does.

    *requirements* is found as given, else under the kit's folder (so
    ``"requirements/incident.txt"`` works from ``notebooks/``); ``None`` means the
    incident's pins, ``requirements/incident.txt``.
    """
    given = Path(requirements) if requirements else Path("requirements/incident.txt")
    path = given if given.is_absolute() or given.exists() else KIT_ROOT / given
    if not path.is_file():
        raise WslabError(f"no requirements file {given} (looked in the current folder and under {KIT_ROOT.name}/)")
    shown = shown_path(path)
    return diagnose(load_records(), required_versions(path, shown=shown), server, f"from {shown}")
