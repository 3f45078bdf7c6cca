"""Benchmark ``wslab analyze --json`` against ``grep -c '" 500 '`` on one large log.

Generates a realistic Werkzeug / Flask-SocketIO log (2 million lines, about
230 MB: colour-coded request lines, ``write() before start_response``
tracebacks, Engine.IO and app records, bad-request lines), then times both
commands on it pair by pair in the same run (grep, then analyze, --repeat times,
so both see the same load on a shared machine) and reports each pair's wall times
and ratio, the median ratio, and the peak RSS of the analyze process (its worker
processes included, from :func:`os.wait4`). Targets: analyze within 3x grep's wall
time, peak RSS at most 100 MB whatever the file size.

    python benchmarks/bench_analyze.py [--lines 2000000] [--path FILE] [--keep] [--reuse] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ESC = "\x1b"
TRACEBACK = """[{ts}] ERROR werkzeug - Error on request:
Traceback (most recent call last):
  File "/srv/webapp/.venv/lib/python3.12/site-packages/werkzeug/serving.py", line 364, in run_wsgi
    execute(self.server.app)
  File "/srv/webapp/.venv/lib/python3.12/site-packages/werkzeug/serving.py", line 330, in execute
    write(b"")
  File "/srv/webapp/.venv/lib/python3.12/site-packages/werkzeug/serving.py", line 255, in write
    assert status_set is not None, "write() before start_response"
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
AssertionError: write() before start_response (taskName=None)
"""
TRACEBACK_LINES = TRACEBACK.count("\n")
MAX_RSS_MB = 100
MAX_RATIO = 3.0


COLOURS = {500: f"{ESC}[35m{ESC}[1m", 404: f"{ESC}[33m", 400: f"{ESC}[31m{ESC}[1m", 304: f"{ESC}[36m"}
BAD_SYNTAX = "code 400, message Bad request syntax ('\\x16\\x03\\x01\\x02\\x00\\x01')"
PAGES = [("/", 200), ("/static/app.js", 304), ("/api/items/42", 200), ("/favicon.ico", 404)]


def _request(ts: str, when: str, text: str, status: int) -> str:
    """One Werkzeug request record in the write-up's format, coloured as Werkzeug colours it."""
    styled = f"{COLOURS[status]}{text}{ESC}[0m" if status in COLOURS else text
    return f'[{ts}] INFO werkzeug - 10.0.0.7 - - [{when}] "{styled}" {status} - (taskName=None)\n'


def generate(path: Path, lines: int, seed: int = 7) -> int:
    """Write a log of about *lines* lines to *path*; return the number of 500 request lines."""
    rng = random.Random(seed)
    written = errors = 0
    start = time.mktime((2025, 9, 1, 13, 0, 0, 0, 0, -1))
    with open(path, "w", encoding="utf-8") as out:
        while written < lines:
            now = start + written * 0.01
            ts = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}"
            )
            when = time.strftime("%d/%b/%Y %H:%M:%S", time.localtime(now))
            sid = "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-", k=20))
            roll = rng.random()
            if roll < 0.03:
                out.write(
                    _request(
                        ts, when, f"GET /socket.io/?EIO=4&transport=websocket&t=P{sid[:7]} HTTP/1.1", 500
                    )
                )
                out.write(TRACEBACK.format(ts=ts))
                written, errors = written + 1 + TRACEBACK_LINES, errors + 1
                continue
            if roll < 0.40:
                method = rng.choice(["GET", "POST"])
                line = _request(
                    ts,
                    when,
                    f"{method} /socket.io/?EIO=4&transport=polling&t=P{sid[:7]}&sid={sid} HTTP/1.1",
                    200,
                )
            elif roll < 0.52:
                path_, status = rng.choice(PAGES)
                line = _request(ts, when, f"GET {path_} HTTP/1.1", status)
            elif roll < 0.53:
                line = f"[{ts}] ERROR werkzeug - 10.0.0.9 - - [{when}] {BAD_SYNTAX} (taskName=None)\n"
            elif roll < 0.85:
                packet = f'MESSAGE data 2["n",{rng.randint(0, 99)}]'
                line = f"[{ts}] INFO engineio.server - {sid}: Received packet {packet} (taskName=None)\n"
            else:
                line = f"[{ts}] INFO webapp - Skipping session for WebSocket request (taskName=None)\n"
            out.write(line)
            written += 1
    return errors


def run_measured(argv: list[str]) -> tuple[float, int, str]:
    """Run *argv*; return its wall seconds, its peak RSS in bytes and its stdout.

    The peak RSS is what :func:`os.wait4` reports for the process: the largest
    resident set of the process and of the children it waited for (the worker
    processes of ``--jobs``), the same figure ``getrusage(RUSAGE_CHILDREN)`` gives.
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        error = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        out.seek(0)
        stdout = out.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {error}")
    return wall, usage.ru_maxrss * 1024, stdout


def median(values: list[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main() -> int:
    """Generate the log; run grep and analyze one after the other, pair by pair; print every
    pair's wall times and ratio, the median ratio, the peak RSS, and whether targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--path", type=Path, help="where to write the log (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--reuse", action="store_true", help="use the log at --path as it is, if it exists")
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs (grep, then analyze)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    log = args.path or workdir / "webapp.log"
    try:
        started = time.perf_counter()
        if args.reuse and log.exists():
            with log.open("rb") as stream:
                expected = sum(line.count(b'" 500 ') for line in stream)
        else:
            expected = generate(log, args.lines)
        size_mb = log.stat().st_size / 2**20
        took = time.perf_counter() - started
        with log.open("rb") as stream:
            lines = sum(block.count(b"\n") for block in iter(partial(stream.read, 1 << 24), b""))
        print(f"log: {lines:,} lines, {size_mb:.0f} MB, {expected:,} x 500 ({took:.1f} s to prepare);"
              f" {cpus()} CPUs")
        wslab = str(Path(sys.executable).with_name("wslab"))
        grep_argv = ["grep", "-c", '" 500 ', str(log)]
        analyze_argv = [wslab, "analyze", str(log), "--json"]
        startup_argv = [wslab, "analyze", "--help"]
        pairs, peaks = [], []
        grep_count = found = None
        print(f"{'run':>4}{'grep s':>9}{'analyze s':>11}{'ratio':>8}{'analyze peak RSS MB':>21}")
        for run in range(1, args.repeat + 1):
            grep_wall, _, grep_out = run_measured(grep_argv)
            analyze_wall, peak, analyze_out = run_measured(analyze_argv)
            grep_count = int(grep_out.strip())
            found = json.loads(analyze_out)["status_counts"].get("500", 0)
            pairs.append((grep_wall, analyze_wall))
            peaks.append(peak)
            ratio = analyze_wall / grep_wall
            print(f"{run:>4}{grep_wall:>9.3f}{analyze_wall:>11.3f}{ratio:>7.2f}x{peak / 2**20:>21.0f}")
        startup = median([run_measured(startup_argv)[0] for _ in range(3)])
        ratios = [analyze / grep for grep, analyze in pairs]
        ratio, worst_peak = median(ratios), max(peaks) / 2**20
        print(f"ratio analyze / grep: median {ratio:.2f}x, best {min(ratios):.2f}x, worst {max(ratios):.2f}x"
              f" (target <= {MAX_RATIO:g}x): {_verdict(ratio <= MAX_RATIO)}")
        print(f"  of which CLI start-up (analyze --help): {startup:.3f} s")
        print(f"peak RSS of analyze (largest process, workers included): {worst_peak:.0f} MB"
              f" (target <= {MAX_RSS_MB} MB): {_verdict(worst_peak <= MAX_RSS_MB)}")
        counts_agree = grep_count == found == expected
        verdict = "agree" if counts_agree else "DIFFER"
        print(f"500 lines: grep {grep_count}, analyze {found}, generated {expected}: {verdict}")
        return 0 if counts_agree else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
