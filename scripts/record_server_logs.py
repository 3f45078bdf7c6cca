"""Record the kit's gunicorn and nginx sample logs in data/logs/servers/ and write their manifest.

Two runs of the demo app under a real gunicorn gthread worker
(:class:`wslab.lab.servers.gunicorn.GunicornServer`, fakeredis inside the worker),
each driven by the kit's simulated users (:func:`wslab.lab.traffic.run_workload`)
with the workload of the Werkzeug reference logs in data/logs/:

1. clients -> gunicorn: gunicorn's access log (its default format) and its error
   log (``--log-level info``) are kept, as ``gunicorn-access.log`` and
   ``gunicorn-error.log``;
2. clients -> nginx -> gunicorn: a real nginx (the ``nginx`` on PATH, e.g. Debian's
   package) on a free 127.0.0.1 port, proxying to gunicorn with the WebSocket
   upgrade headers; its access log in the ``combined`` format is kept as
   ``nginx-access.log`` (gunicorn's logs of this run are not).

The files are kept as the servers wrote them, with no edit: they hold no path
of the recording machine (gunicorn runs at ``--log-level info``; at ``debug`` it
would print its whole configuration). Besides the clients' requests, gunicorn's
access log holds the kit's own probes (``/healthz`` once, ``/_wslab/inflight``
until the worker is idle) and nginx's holds one ``/healthz`` (the proxy's
readiness check). The manifest says, for each file, the command, the versions,
what the clients recorded they sent (:meth:`TrafficReport.totals`) and the
parser's counts.

    python scripts/record_server_logs.py [--out data/logs/servers]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from wslab.lab import pids
from wslab.lab.servers.gunicorn import GunicornServer
from wslab.lab.traffic import Workload, run_workload
from wslab.logs import parse_log, summarize
from wslab.versions import stack_versions

VARIANT = "before"
WORKLOAD = {"ws-users": 20, "upgrade-users": 5, "polling-users": 3, "http-users": 10}
LOG_LEVEL = "info"
COUNT_KEYS = ("request_lines", "status_counts", "server_errors", "write_before_start_response",
              "bad_request_syntax_lines", "unparsed_lines")

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {access} combined;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Plan:
    """What both runs serve and send: the variant and the users of each kind."""

    def __init__(self, variant: str = VARIANT, users: dict[str, int] | None = None) -> None:
        self.variant, self.users = variant, dict(users or WORKLOAD)

    def workload(self) -> Workload:
        return Workload(**{key.replace("-", "_"): value for key, value in self.users.items()})

    def command(self) -> str:
        """The command line the manifest records."""
        return (f"python scripts/record_server_logs.py --variant {self.variant} "
                + " ".join(f"--{k}={v}" for k, v in self.users.items()))


def _sent(report: Any) -> dict[str, Any]:
    """What the clients recorded they sent and saw (the run's duration left out)."""
    return {k: v for k, v in report.totals().items() if k != "seconds"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_version(nginx: str) -> str:
    """``1.22.1`` from ``nginx -v`` (which prints to stderr)."""
    done = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=True)
    return done.stderr.strip().rsplit("/", 1)[-1]


class Nginx:
    """A real nginx child on a free 127.0.0.1 port, proxying to *upstream*; its pid is recorded
    with :mod:`wslab.lab.pids` while it runs, and SIGQUIT (graceful) stops it."""

    def __init__(self, nginx: str, upstream: int, access_log: Path, run_dir: Path) -> None:
        self.nginx, self.upstream, self.access_log, self.run_dir = nginx, upstream, access_log, run_dir
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        conf = self.run_dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(run=self.run_dir, access=self.access_log, port=self.port,
                                          upstream=self.upstream))
        self.process = subprocess.Popen(
            [self.nginx, "-p", str(self.run_dir), "-c", str(conf),
             "-e", str(self.run_dir / "nginx-error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pids.register(self.process.pid, "nginx master (record_server_logs)")
        try:
            self._wait_ready(time.monotonic() + 30)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Wait until a request through the proxy reaches the app (one ``/healthz`` line)."""
        while True:
            if self.process.poll() is not None:
                log = (self.run_dir / "nginx-error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with code {self.process.returncode}: {log[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.05)
                continue
            answer = requests.get(self.url + "/healthz", timeout=5)
            answer.raise_for_status()
            return

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish and log every connection
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        pids.unregister(self.process.pid)
        self.process = None


def _entry(plan: Plan, path: Path, fmt: str, run: str, sent: dict[str, Any],
           versions: dict[str, str]) -> dict:
    summary = summarize(parse_log(path, format=fmt))
    return {
        "file": path.name,
        "format": fmt,
        "command": plan.command(),
        "run": run,
        "versions": versions,
        "redis": "fakeredis",
        "edits": "none",
        "sent": sent,
        "counts": {key: summary[key] for key in COUNT_KEYS},
    }


def record_gunicorn(plan: Plan, out: Path, work: Path) -> dict[str, dict]:
    """Run 1: the clients talk to gunicorn; keep its access and error logs."""
    for name in ("gunicorn-access.log", "gunicorn-error.log"):
        (out / name).unlink(missing_ok=True)
    with GunicornServer(plan.variant, log_dir=work / "direct", log_level=LOG_LEVEL) as server:
        report = run_workload(server.url, plan.workload())
        server.wait_idle(60)
        version = server.gunicorn_version
    if report.errors():
        raise RuntimeError(f"client errors: {report.errors()}")
    shutil.copyfile(server.access_log, out / "gunicorn-access.log")
    shutil.copyfile(server.error_log, out / "gunicorn-error.log")
    versions = {**stack_versions(), "gunicorn": version}
    run = (f"clients -> gunicorn {version} (1 gthread worker, {server.threads} threads, "
           f"--log-level {LOG_LEVEL}, variant {plan.variant})")
    sent = _sent(report)
    files = {"gunicorn-access.log": "gunicorn-access", "gunicorn-error.log": "gunicorn-error"}
    return {name: _entry(plan, out / name, fmt, run, sent, versions) for name, fmt in files.items()}


def record_nginx(plan: Plan, out: Path, work: Path, nginx: str) -> dict[str, dict]:
    """Run 2: the clients talk to nginx, which proxies to gunicorn; keep nginx's access log."""
    target = out / "nginx-access.log"
    target.unlink(missing_ok=True)
    run_dir = work / "nginx"
    run_dir.mkdir()
    with GunicornServer(plan.variant, log_dir=work / "behind-nginx", log_level=LOG_LEVEL) as server:
        with Nginx(nginx, server.port, work / "nginx-access.log", run_dir) as proxy:
            report = run_workload(proxy.url, plan.workload())
            server.wait_idle(60)
        version = server.gunicorn_version
    if report.errors():
        raise RuntimeError(f"client errors: {report.errors()}")
    shutil.copyfile(work / "nginx-access.log", target)
    versions = {**stack_versions(), "gunicorn": version, "nginx": nginx_version(nginx)}
    run = (f"clients -> nginx {versions['nginx']} (reverse proxy with WebSocket upgrade headers, "
           f"access_log combined) -> gunicorn {version} (1 gthread worker, {server.threads} threads, "
           f"variant {plan.variant})")
    return {target.name: _entry(plan, target, "nginx", run, _sent(report), versions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/logs/servers"))
    parser.add_argument("--variant", default=VARIANT, help="the demo app's variant (default: before)")
    for key, value in WORKLOAD.items():
        parser.add_argument(f"--{key}", type=int, default=value)
    args = parser.parse_args()
    plan = Plan(args.variant, {key: getattr(args, key.replace("-", "_")) for key in WORKLOAD})
    nginx = shutil.which("nginx")
    if nginx is None:
        sys.exit("nginx is not installed (e.g. apt-get install -y nginx)")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="wslab-server-logs-") as tmp:
        print("recording gunicorn …", flush=True)
        manifest.update(record_gunicorn(plan, args.out, Path(tmp)))
        print("recording nginx in front of gunicorn …", flush=True)
        manifest.update(record_nginx(plan, args.out, Path(tmp), nginx))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"manifest: {manifest_path}")


if __name__ == "__main__":
    main()
