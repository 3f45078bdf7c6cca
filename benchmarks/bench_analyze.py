"""Benchmark ``wslab analyze --json`` against ``grep -c '" 500 '`` on one large log.

Generates a realistic Werkzeug / Flask-SocketIO log (2 million lines, about
230 MB: colour-coded request lines, ``write() before start_response``
tracebacks, Engine.IO and app records, bad-request lines), then times both
commands on it in the same run and reports wall time, the ratio and peak RSS.
Targets: analyze within 5x grep's wall time, peak RSS at most 300 MB.

    python benchmarks/bench_analyze.py [--lines 2000000] [--path FILE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

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
MAX_RSS_MB = 300
MAX_RATIO = 5.0


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


def _tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """PSS summed over *proc* and its children (shared pages counted once), and the largest RSS."""
    pss = rss = 0
    for member in [proc, *proc.children(recursive=True)]:
        info = member.memory_full_info()
        pss += info.pss
        rss = max(rss, info.rss)
    return pss, rss


def timed(argv: list[str]) -> tuple[float, str]:
    """Run *argv*; return its wall seconds and stdout."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed: {result.stderr.decode()}")
    return wall, result.stdout.decode()


def peak_memory(argv: list[str]) -> tuple[float, float]:
    """Run *argv* while sampling it; return peak MB as PSS summed over its process tree
    (shared pages counted once) and as RSS of its largest process."""
    proc = psutil.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_pss = peak_rss = 0
    while proc.poll() is None:
        try:
            pss, rss = _tree_memory(proc)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        except psutil.Error:
            pass
        time.sleep(0.005)
    return peak_pss / 2**20, peak_rss / 2**20


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    """Generate the log, time grep and analyze on it, print the figures and whether targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--path", type=Path, help="where to write the log (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated log")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the best counts")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    log = args.path or workdir / "webapp.log"
    try:
        started = time.perf_counter()
        expected = generate(log, args.lines)
        size_mb = log.stat().st_size / 2**20
        took = time.perf_counter() - started
        print(f"log: {args.lines:,} lines, {size_mb:.0f} MB, {expected:,} x 500 (generated in {took:.1f} s)")
        wslab = str(Path(sys.executable).with_name("wslab"))
        commands = {
            "grep -c '\" 500 '": ["grep", "-c", '" 500 ', str(log)],
            "wslab analyze --json": [wslab, "analyze", str(log), "--json"],
            "  of which CLI start-up (analyze --help)": [wslab, "analyze", "--help"],
        }
        walls = {label: min(timed(argv) for _ in range(args.repeat)) for label, argv in commands.items()}
        memory = {label: peak_memory(argv) for label, argv in commands.items()}
        print(f"{'command':<36}{'wall s':>8}{'PSS MB':>9}{'max RSS MB':>12}")
        for label in commands:
            print(f"{label:<36}{walls[label][0]:>8.2f}{memory[label][0]:>9.0f}{memory[label][1]:>12.0f}")
        grep, analyze, startup = (walls[label][0] for label in commands)
        ratio = analyze / grep
        print(
            f"ratio analyze / grep: {ratio:.1f}x (target <= {MAX_RATIO:.0f}x): {_verdict(ratio <= MAX_RATIO)}"
        )
        print(f"  without CLI start-up: {(analyze - startup) / grep:.1f}x")
        pss, rss = memory["wslab analyze --json"]
        print(
            f"peak memory: {pss:.0f} MB PSS over all processes, {rss:.0f} MB RSS in the largest"
            f" (target <= {MAX_RSS_MB} MB): {_verdict(max(pss, rss) <= MAX_RSS_MB)}"
        )
        grep_count = int(walls["grep -c '\" 500 '"][1].strip())
        found = json.loads(walls["wslab analyze --json"][1])["status_counts"].get("500", 0)
        counts_agree = grep_count == found == expected
        verdict = "agree" if counts_agree else "DIFFER"
        print(f"500 lines: grep {grep_count}, analyze {found}, generated {expected}: {verdict}")
        return 0 if counts_agree else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
