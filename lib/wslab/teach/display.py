"""Small helpers the notebooks share: stable table display and saving charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure


def setup_display() -> None:
    """Inline charts, and wide, stable pandas output: no truncated cells, three decimals."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - plain Python
        pass
    pd.set_option("display.max_colwidth", 140)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.float_format", "{:.3f}".format)


def save_figure(fig: Figure, charts_dir: str | Path | None, name: str) -> Path | None:
    """Save *fig* as ``charts_dir/name.png`` when *charts_dir* is set; return the path."""
    if not charts_dir:
        return None
    path = Path(charts_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def fresh_log(path: str | Path) -> Path:
    """Remove a previous run's log at *path* (the kit's own file) and return it as a Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path
