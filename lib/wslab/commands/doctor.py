"""``wslab doctor``: is a deployment affected, how, and what to change — from the recorded results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wslab.errors import WslabError
from wslab.logs.inputs import shown_path
from wslab.diagnose import doctor
from wslab.versions import installed_versions, required_versions

NAME = "doctor"
HELP = ("Say whether a deployment's versions (installed in --python, or pinned in --requirements) log "
        "the 500 and 'write() before start_response', the 400 'left-over bytes' noise, or nothing when a "
        "WebSocket closes on --server, and which changes remove it, only from the recorded matrix and "
        "bisect results (each statement names its file and the command that re-measures it); versions "
        "no recorded row ran are reported unmeasured, with the command that measures them. With --url, "
        "also runs the live checks of 'wslab verify'.")

EPILOG = """\
exit status:
  0  not affected: the recorded rows for these versions and server show no 500
     (the 400 'left-over bytes' noise, when measured, is named in the verdict line)
  1  affected: some recorded row for these versions logs the 500, or a live check (--url) failed
  2  error: bad input (missing or unreadable requirements file, an interpreter that does not run,
     --python with --requirements, an unknown server, --log without --url, an unreachable --url)
  3  unmeasured: no recorded row ran these versions on this server (and none logs the 500);
     the output names the 'wslab bisect' or 'wslab matrix' command that measures them

A range (>=, ~=, a bare name) or a package the requirements leave out is evaluated at every
release the recorded results measured that it admits; the verdict is the worst of those."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wslab doctor``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--python", metavar="PATH",
                        help="the deployment's interpreter, its installed versions are read "
                             "(default: this interpreter)")
    parser.add_argument("--requirements", metavar="FILE",
                        help="a requirements file (with its -r includes) instead of an interpreter")
    parser.add_argument("--server", default="werkzeug", metavar="NAME",
                        help="what serves the app: werkzeug (socketio.run(app)), werkzeug-debug "
                             "(debug=True) or gunicorn (gthread worker); default: werkzeug")
    parser.add_argument("--url", metavar="URL", help="also run wslab verify's live checks against this app")
    parser.add_argument("--log", metavar="FILE", help="with --url: the server's log, for verify's log check")
    parser.add_argument("--socketio-path", metavar="PATH",
                        help="with --url: the Socket.IO endpoint path (default: /socket.io)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="with --url: per request and per connection (default: 10)")
    parser.add_argument("--matrix", type=Path, default=doctor.MATRIX_FILE, metavar="FILE",
                        help=f"the matrix result to read (default: {shown_path(doctor.MATRIX_FILE)})")
    parser.add_argument("--bisect", type=Path, default=doctor.BISECT_FILE, metavar="FILE",
                        help=f"the bisect result to read (default: {shown_path(doctor.BISECT_FILE)})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _check_options(args: argparse.Namespace) -> str:
    """Conflicting or incomplete options are one error; returns the recorded server name."""
    if args.python is not None and args.requirements is not None:
        raise WslabError("give --python or --requirements, not both")
    for option, value in (("--log", args.log), ("--socketio-path", args.socketio_path)):
        if value is not None and args.url is None:
            raise WslabError(f"{option} needs --url (it belongs to the live checks)")
    if not args.timeout > 0:
        raise WslabError("--timeout must be more than 0 seconds")
    return doctor.server_name(args.server)


def _live(args: argparse.Namespace) -> doctor.Live:
    """Run wslab verify's checks; its errors (unreachable app, missing log) are bad input here (2)."""
    from wslab.diagnose.verify import DEFAULT_SOCKETIO_PATH, run_verify

    try:
        report = run_verify(args.url, log=args.log, socketio_path=args.socketio_path or DEFAULT_SOCKETIO_PATH,
                            timeout=args.timeout)
    except WslabError as exc:
        raise WslabError(f"--url: {exc}", exit_code=2) from None
    return doctor.Live(args.url, bool(report.ok), report.render())


def run(args: argparse.Namespace) -> int:
    """Diagnose, print the verdict (text or JSON); exit 0, 1 or 3 as the epilog says."""
    server = _check_options(args)
    if args.requirements is not None:
        wanted, python = required_versions(args.requirements), None
        source, installed = f"from {args.requirements}", False
    else:
        python, wanted = installed_versions(args.python)
        source = f"installed in {args.python or 'this interpreter'}, Python {python}"
        installed = True
    records = doctor.load_records(args.matrix, args.bisect)
    diagnosis = doctor.diagnose(records, wanted, server, source, installed=installed, python=python)
    if args.url is not None:
        diagnosis.live = _live(args)
    print(json.dumps(diagnosis.to_dict(), indent=2) if args.json else diagnosis.render())
    return diagnosis.exit_code
