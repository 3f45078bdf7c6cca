"""The headless notebook runner behind ``make demo`` and ``make notebooks``, on small notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from wslab.teach import report
from wslab.teach.stamps import stamp_of

CHART = """
from matplotlib.figure import Figure
figure = Figure()
figure.subplots().bar(["a", "b"], [2, 5])
figure.savefig(f"{charts_dir}/bars.png")
print("answer", 6 * 7)
"""


def write_notebook(folder: Path, name: str, *sources: str) -> Path:
    """A notebook with a tagged parameters cell followed by *sources* as code cells."""
    parameters = new_code_cell("charts_dir = '.'")
    parameters.metadata["tags"] = ["parameters"]
    notebook = new_notebook(cells=[new_markdown_cell("# small"), parameters,
                                   *[new_code_cell(s) for s in sources]])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / name
    nbformat.write(notebook, str(path))
    return path


def test_report_writes_html_and_the_charts_a_notebook_saves(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = write_notebook(tmp_path, "small.ipynb", CHART)
    out = tmp_path / "reports"
    assert report.main(["--out", str(out), str(source)]) == 0
    html = (out / "small.html").read_text()
    assert "answer 42" in html
    assert (out / "charts" / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert nbformat.read(str(source), as_version=4).cells[2].outputs == []  # the source stays as it was
    assert f"reports in {out}/" in capsys.readouterr().out


def test_in_place_stores_outputs_and_a_stamp(tmp_path: Path) -> None:
    source = write_notebook(tmp_path, "small.ipynb", "print('stored', 3 + 4)")
    assert report.main(["--in-place", str(source)]) == 0
    notebook = nbformat.read(str(source), as_version=4)
    assert notebook.cells[2].outputs[0]["text"] == "stored 7\n"
    assert stamp_of(notebook) is not None


def test_a_failing_cell_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = write_notebook(tmp_path, "broken.ipynb", "raise ValueError('on purpose')")
    assert report.main(["--out", str(tmp_path / "reports"), str(source)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1
    assert errors[0].startswith("report: error: broken.ipynb failed:")


def test_a_missing_notebook_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert report.main(["--out", str(tmp_path / "reports"), str(tmp_path / "nope.ipynb")]) == 1
    assert capsys.readouterr().err.strip() == f"report: error: no notebook at {tmp_path / 'nope.ipynb'}"
