"""Notebook 02's chart: two k/n panels, drawn from hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from wslab.logs import FAILED_COLOUR
from wslab.teach.writeup_chart import plot_writeup_fix

pytestmark = pytest.mark.pins_independent


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    by_kind = pd.DataFrame(
        [("before", "direct websocket", 5, 5), ("before", "page", 65, 0),
         ("writeup-fix", "direct websocket", 5, 4), ("writeup-fix", "page", 65, 0)],
        columns=["variant", "kind", "requests", "server_errors"]).set_index(["variant", "kind"])
    sessions = pd.DataFrame({"socketio_users": [8, 8], "connect_handler_saw_user": [8, 0]},
                            index=pd.Index(["before", "writeup-fix"], name="variant"))
    return by_kind, sessions


def test_each_panel_shows_its_counts_as_k_of_n() -> None:
    fig = plot_writeup_fix(*_tables())
    errors, seen = fig.axes
    assert [p.get_height() for p in errors.patches] == [1.0, 0.8]
    assert [p.get_height() for p in seen.patches] == [1.0, 0.0]
    assert [t.get_text() for t in errors.texts] == ["5/5", "4/5"]
    assert [t.get_text() for t in seen.texts] == ["8/8", "0/8"]
    assert all(p.get_facecolor()[:3] == pytest.approx(tuple(int(FAILED_COLOUR[i:i + 2], 16) / 255
                                                            for i in (1, 3, 5))) for p in errors.patches)
    assert fig.get_suptitle() == "What did the write-up's fix change?"
