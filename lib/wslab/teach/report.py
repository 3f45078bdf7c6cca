"""Run the kit's notebooks headless: ``python -m wslab.teach.report``.

``--out DIR`` (what ``make demo`` does) executes each notebook with papermill,
passing ``charts_dir`` so the notebooks save their charts as PNG in
``DIR/charts``, and writes the executed notebook and an HTML rendering of it to
``DIR``.  ``--in-place`` (what ``make notebooks`` does) re-executes the
notebooks where they are, refreshing the outputs stored in them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from wslab.errors import WslabError
from wslab.teach.stamps import stamp


def execute_in_place(path: Path, timeout: int = 900) -> None:
    """Re-execute *path* top to bottom in its own folder and save it with its new outputs."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)
    stamp(path)


def execute_to_report(path: Path, out_dir: Path, timeout: int = 900) -> Path:
    """Execute *path* with papermill into *out_dir* and render it as HTML; return the HTML path."""
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    charts = (out_dir / "charts").resolve()
    charts.mkdir(exist_ok=True)
    executed = out_dir / path.name
    papermill.execute_notebook(str(path), str(executed), parameters={"charts_dir": str(charts)},
                               cwd=str(path.parent), kernel_name="python3", progress_bar=False,
                               execution_timeout=timeout)
    body, _ = HTMLExporter().from_filename(str(executed))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; one ``report: error:`` line and exit 1 on failure."""
    parser = argparse.ArgumentParser(prog="python -m wslab.teach.report", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=Path, help="folder for executed notebooks, HTML and charts")
    mode.add_argument("--in-place", action="store_true", help="refresh the notebooks' stored outputs")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        for path in args.notebooks:
            if not path.is_file():
                raise WslabError(f"no notebook at {path}")
            started = time.monotonic()
            print(f"running {path.name} …", end=" ", flush=True)
            if args.in_place:
                execute_in_place(path)
                where = path
            else:
                where = execute_to_report(path, args.out)
            print(f"done in {time.monotonic() - started:.0f} s → {where}")
    except WslabError as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a failed cell must end the run with one line
        print(f"\nreport: error: {path.name} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return 1
    if args.out:
        print(f"reports in {args.out}/ (HTML per notebook, charts in {args.out}/charts/)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
