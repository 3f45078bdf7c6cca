"""Open JupyterLab on a participant's workspace (``make lab``).

``python -m wslab.teach.lab`` makes the workspace if it is missing (see
:mod:`wslab.teach.workspace`), then runs JupyterLab bound to 127.0.0.1 only,
with a token, on a fixed port (an occupied port is an error, not a silent
move to the next one), and prints the URL to open.  Run as root, as in most
containers, it passes ``--allow-root``; JupyterLab refuses to start otherwise.
The browser test starts JupyterLab through :func:`lab_command`, so it runs the
same command line ``make lab`` does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from pathlib import Path

from wslab.errors import WslabError
from wslab.teach.workspace import WORKSPACE_DIR, make_workspace

#: The only address JupyterLab listens on.
HOST = "127.0.0.1"
DEFAULT_PORT = 8888


def lab_url(port: int, token: str, notebook: str | None = None) -> str:
    """The URL that opens JupyterLab (on *notebook*, a path inside the workspace, if given)."""
    page = f"lab/tree/{notebook}" if notebook else "lab"
    return f"http://{HOST}:{port}/{page}?token={token}"


def lab_command(workspace: Path, port: int, token: str, python: str = sys.executable) -> list[str]:
    """The JupyterLab command line ``make lab`` runs: 127.0.0.1, *port*, *token*, no browser."""
    argv = [
        python, "-m", "jupyterlab",
        f"--ServerApp.root_dir={workspace}",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def check_port_free(port: int) -> None:
    """Fail with one line if something already listens on 127.0.0.1:*port*."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise WslabError(f"port {port} on {HOST} is in use ({exc.strerror}); choose another with PORT=N") from exc


def main(argv: list[str] | None = None) -> int:
    """Make the workspace if needed, print the URL, and run JupyterLab in this process."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.lab", description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, default=WORKSPACE_DIR, help="folder JupyterLab opens")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default %(default)s)")
    parser.add_argument("--token", default=None, help="login token (default: a new random one)")
    args = parser.parse_args(argv)
    try:
        check_port_free(args.port)
    except WslabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    if not args.workspace.is_dir():
        make_workspace(workspace=args.workspace)
        print(f"made the workspace {args.workspace} (a copy of notebooks/)")
    token = args.token or secrets.token_hex(16)
    print(f"JupyterLab on the workspace {args.workspace}\nopen {lab_url(args.port, token)}", flush=True)
    command = lab_command(args.workspace.resolve(), args.port, token)
    os.execv(command[0], command)
    return 0  # pragma: no cover (execv does not return)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
