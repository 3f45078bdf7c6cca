"""The write-up's error block, and a side-by-side comparison with one from a lab run.

The write-up quotes one block from the incident's ``logs/webapp.log``: a
colour-coded ``500`` request line, ``Error on request:`` and a traceback through
``werkzeug/serving.py``.  The kit keeps it verbatim in
``data/logs/writeup_excerpt.log``.  :func:`first_error_block` pulls the first
such block out of any log, and :func:`compare_blocks` lines the two up part by
part, with the volatile parts (timestamps, install paths, the client's ``t=``
cache-buster, Python 3.11+ caret lines) normalised so that what differs is
what matters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from wslab.errors import WslabError
from wslab.paths import DATA_DIR

EXCERPT = DATA_DIR / "logs" / "writeup_excerpt.log"

_RECORD_START = re.compile(r"^\[\d{4}-\d\d-\d\d")
_ISO = re.compile(r"^\[\d{4}-\d\d-\d\dT[\d:.]+\]")
_REQUEST_TIME = re.compile(r"\[\d\d/\w{3}/\d{4} [\d:]+\]")
_FILE = re.compile(r'File "[^"]*?/(werkzeug/[^"]+|engineio/[^"]+|flask/[^"]+)"')
_CACHE_BUSTER = re.compile(r"&t=[\d.]+|t=[\d.]+&")
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')


def read_excerpt(path: Path = EXCERPT) -> list[str]:
    """The write-up's block, one string per line."""
    if not path.is_file():
        raise WslabError(f"the write-up excerpt is missing: {path}")
    return path.read_text(encoding="utf-8").splitlines()


def first_error_block(log_path: str | Path) -> list[str]:
    """The first 5xx ``/socket.io/`` request line and the next ``Error on request:`` record."""
    lines = Path(log_path).read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines):
        if "/socket.io/" in line and re.search(r'" 5\d\d ', line):
            for j in range(i + 1, len(lines)):
                if "Error on request:" in lines[j]:
                    end = j + 1
                    while end < len(lines) and not _RECORD_START.match(lines[end]):
                        end += 1
                    return [line, *lines[j:end]]
            return [line]
    raise WslabError(f"no 5xx /socket.io/ request line in {log_path}")


def normalize(line: str) -> str:
    """Mask what varies between runs and machines; show ESC as a visible ␛."""
    line = _ISO.sub("[<timestamp>]", line)
    line = _REQUEST_TIME.sub("[<time>]", line)
    line = _FILE.sub(r'File ".../\1"', line)
    line = _CACHE_BUSTER.sub("", line)
    return line.replace("\x1b", "␛")


def parts(block: list[str]) -> dict[str, str]:
    """Name the parts of an error block: request line, error record, frames, exception."""
    named: dict[str, str] = {}
    lines = [normalize(x) for x in block if not _CARETS.match(x)]
    if lines:
        named["request line"] = lines[0]
    frames = 0
    for line in lines[1:]:
        if "Error on request:" in line:
            named["error record"] = line
        elif _FRAME.search(line):
            frames += 1
            named[f"frame {frames}"] = line.strip()
        elif re.match(r"^\w+(Error|Exception)\b", line):
            named["exception"] = line
    return named


def frame_key(line: str) -> tuple[str, str, str] | None:
    """``(file tail, line, function)`` of a frame line, or None."""
    match = _FRAME.search(line)
    if not match:
        return None
    return (match["file"].rsplit("/", 2)[-2] + "/" + match["file"].rsplit("/", 1)[-1],
            match["line"], match["func"])


def compare_blocks(ours: list[str], theirs: list[str] | None = None) -> pd.DataFrame:
    """One row per part: the write-up's line, this run's line, and whether they agree."""
    theirs = read_excerpt() if theirs is None else theirs
    a, b = parts(theirs), parts(ours)
    rows = []
    for name in dict.fromkeys([*a, *b]):
        left, right = a.get(name, ""), b.get(name, "")
        if name.startswith("frame"):
            same = frame_key(left) == frame_key(right) and frame_key(left) is not None
        elif name == "request line":
            same = _request_shape(left) == _request_shape(right)
        else:
            same = left.split(" - ", 1)[-1] == right.split(" - ", 1)[-1]
        rows.append({"part": name, "write-up": left, "this run": right, "same": same})
    return pd.DataFrame(rows).set_index("part")


#: The query fields Engine.IO reads; others (a client's cache-buster, the kit's connection id) are not compared.
_ENGINEIO_FIELDS = ("EIO", "transport", "sid")


def _request_shape(line: str) -> tuple[str, ...]:
    """Method, path, Engine.IO fields, status and colour codes of a request line."""
    match = re.search(r'"(?P<style>(?:␛\[[\d;]*m)*)(?P<method>[A-Z]+) (?P<path>[^?\s]+)\?(?P<query>\S*) '
                      r'HTTP/1\.1(?:␛\[0m)?" (?P<status>\d{3})', line)
    if not match:
        return ()
    query = tuple(sorted(p for p in match["query"].split("&") if p.split("=", 1)[0] in _ENGINEIO_FIELDS))
    return (match["style"], match["method"], match["path"], *query, match["status"])
