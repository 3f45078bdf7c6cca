"""Independent, deliberately simple log checks for integration tests.

These regular expressions look at the raw log text, so the tests that use
them do not depend on the kit's own parser (which has tests of its own).
"""

from __future__ import annotations

import re
from pathlib import Path

REQUEST = re.compile(rb'"(?:\x1b\[[0-9;]*m)*(?P<method>[A-Z]+) (?P<target>\S+) HTTP/\d(?:\.\d)?(?:\x1b\[[0-9;]*m)*" (?P<status>\d{3}) ')
FINAL_ASSERTION = re.compile(rb"^AssertionError: write\(\) before start_response", re.M)
FRAME = re.compile(rb'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)', re.M)
BAD_SYNTAX = re.compile(rb"code 400, message Bad request syntax")


def read(path: Path | str) -> bytes:
    return Path(path).read_bytes()


def requests(data: bytes) -> list[dict]:
    """Every request line: method, target, status, and the raw line."""
    out = []
    for line in data.splitlines():
        m = REQUEST.search(line)
        if m:
            out.append({"method": m["method"].decode(), "target": m["target"].decode(),
                        "status": int(m["status"]), "line": line})
    return out


def tracebacks(data: bytes) -> int:
    return len(FINAL_ASSERTION.findall(data))


def serving_frames(data: bytes) -> set[tuple[str, int, str]]:
    """``(function, line, file name)`` of every traceback frame in werkzeug/serving.py."""
    return {(m["func"].decode(), int(m["line"]), m["file"].decode().rsplit("/", 1)[-1])
            for m in FRAME.finditer(data) if m["file"].endswith(b"werkzeug/serving.py")}


def bad_syntax(data: bytes) -> int:
    return len(BAD_SYNTAX.findall(data))
