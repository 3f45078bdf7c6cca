"""The walkthrough notebooks' shape: charts titled by a question, a conclusions table at the end.

Read from the committed notebooks' sources with nbformat, not from the library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ALL = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def code_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def chart_titles(source: str) -> list[str]:
    """The text of every ``title=`` keyword given as a literal (or f-string) in *source*."""
    titles = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "title":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                titles.append(node.value.value)
            elif isinstance(node.value, ast.JoinedStr):
                titles.append("".join(v.value for v in node.value.values if isinstance(v, ast.Constant)))
    return titles


def test_the_walkthrough_has_five_notebooks() -> None:
    assert [p.name[:2] for p in WALKTHROUGH] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_chart_title_a_notebook_sets_is_a_question(path: Path) -> None:
    titles = [t for source in code_cells(path) for t in chart_titles(source)]
    not_questions = [t for t in titles if "?" not in t]
    assert not not_questions, f"chart titles that ask no question: {not_questions}"


@pytest.mark.parametrize("path", WALKTHROUGH, ids=lambda p: p.name)
def test_each_walkthrough_notebook_closes_with_its_conclusions_table(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    last_code = [c for c in cells if c.cell_type == "code"][-1]
    assert "conclusions(" in last_code.source
    shown = [o for o in last_code.get("outputs", []) if o.get("output_type") == "execute_result"]
    assert shown and "holds" in shown[0]["data"]["text/plain"], "the table is the cell's stored output"
