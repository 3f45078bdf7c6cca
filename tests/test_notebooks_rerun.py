"""Notebooks run twice in one kernel, and one after another, without clashes or leftovers."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

BASELINE = """
import threading
_threads_at_start = set(threading.enumerate())
"""

LEFTOVERS = """
import time
for _ in range(50):  # library threads of closed clients may take a moment to end
    lab = sorted(t.name for t in set(threading.enumerate()) - _threads_at_start if t.is_alive())
    if not lab:
        break
    time.sleep(0.1)
print("lab threads left:", lab)
"""


def _cells(name: str) -> list:
    return [c for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.incident
def test_reproduce_twice_then_writeup_fix_in_one_kernel():
    nb = nbformat.v4.new_notebook()
    cells = _cells("01_reproduce.ipynb") + _cells("02_writeup_fix.ipynb") + _cells("01_reproduce.ipynb")
    nb.cells = ([nbformat.v4.new_code_cell(BASELINE)] + [copy.deepcopy(c) for c in cells]
                + [nbformat.v4.new_code_cell(LEFTOVERS)])
    for cell in nb.cells:
        cell.outputs = []
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert last.strip() == "lab threads left: []"
