"""Error-rate tables, Wilson intervals, phases and charts."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure
from wslab.errors import WslabError
from wslab.logs.analysis.buckets import parse_bucket
from wslab.logs import (
    ERROR_RATE_DEFINITION,
    assign_phases,
    choose_bucket,
    error_rate_table,
    parse_log,
    plot_rate_by_group,
    plot_log_over_time,
    wilson_interval,
)

pytestmark = pytest.mark.pins_independent

SAMPLES = Path(__file__).parent / "logsamples"


def _requests(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    prefix = "[2025-09-01T{ts}.000000] INFO werkzeug - 127.0.0.1 - - [01/Sep/2025 {ts}]"
    lines = [f'{prefix.format(ts=ts)} "GET {path} HTTP/1.1" {status} -' for ts, path, status in rows]
    return parse_log(lines).requests


@pytest.mark.parametrize(
    ("k", "n", "low", "high"), [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0)]
)
def test_wilson_interval_known_values(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=1e-4) and got[1] == pytest.approx(high, abs=1e-4)


def test_table_by_transport_and_route() -> None:
    requests = _requests(
        [
            ("13:00:00", "/socket.io/?EIO=4&transport=websocket", "500"),
            ("13:00:01", "/socket.io/?EIO=4&transport=polling", "200"),
            ("13:00:02", "/items/123", "200"),
            ("13:00:03", "/items/456", "502"),
        ]
    )
    table = error_rate_table(requests, by="transport").set_index("transport")
    assert table.loc["websocket", ["requests", "server_errors"]].tolist() == [1, 1]
    assert table.loc["http", "error_rate"] == 0.5
    assert table.attrs["definition"] == ERROR_RATE_DEFINITION
    routes = error_rate_table(requests, by="route").set_index("route")
    assert routes.loc["/items/<id>", "requests"] == 2
    assert {"requests", "server_errors", "error_rate", "ci_low", "ci_high"} <= set(table.columns)
    assert (table["ci_low"] <= table["error_rate"]).all() and (table["error_rate"] <= table["ci_high"]).all()


def test_minute_buckets() -> None:
    requests = _requests([("13:00:10", "/", "500"), ("13:00:50", "/", "200"), ("13:02:00", "/", "200")])
    table = error_rate_table(requests, by="minute")
    assert table["requests"].tolist() == [2, 1]
    assert table["minute"].tolist() == [pd.Timestamp("2025-09-01 13:00"), pd.Timestamp("2025-09-01 13:02")]


def test_phases_from_instants_and_markers() -> None:
    lines = [
        '[2025-09-01T13:00:00.0] INFO werkzeug - 127.0.0.1 - - [01/Sep/2025 13:00:00] "GET / HTTP/1.1" 500 -',
        "[2025-09-01T13:00:01.0] INFO wslab - phase: after-fix",
        '[2025-09-01T13:00:02.0] INFO werkzeug - 127.0.0.1 - - [01/Sep/2025 13:00:02] "GET / HTTP/1.1" 200 -',
        "INFO:wslab:phase: later",
        '127.0.0.1 - - [01/Sep/2025 13:00:03] "GET / HTTP/1.1" 200 -',
    ]
    parsed = parse_log(lines)
    assert parsed.markers["phase"].tolist() == ["after-fix", "later"]
    assert assign_phases(parsed.requests, markers=parsed.markers).tolist() == ["start", "after-fix", "later"]
    by_time = assign_phases(parsed.requests, phase_at=["2025-09-01 13:00:01"])
    assert by_time.tolist() == ["phase 0", "phase 1", "phase 1"]
    table = error_rate_table(parsed.requests, by="phase", phases=parsed.markers)
    assert table["phase"].tolist() == ["start", "after-fix", "later"]
    assert table["error_rate"].tolist() == [1.0, 0.0, 0.0]


def _texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.texts + [fig._suptitle] + fig.axes[0].texts)


def test_charts_are_titled_labelled_and_saved(tmp_path: Path) -> None:
    parsed = parse_log(SAMPLES / "iso.log")
    over_time = plot_log_over_time(
        parsed.requests, deploy_at=[parsed.requests["ts"].iloc[5]], deploy_names=["fix"]
    )
    by_group = plot_rate_by_group(parsed.requests, by="transport")
    for fig in (over_time, by_group):
        assert isinstance(fig, Figure)
        assert ERROR_RATE_DEFINITION in _texts(fig)
        assert "%" in fig.axes[0].get_ylabel()
        out = tmp_path / "chart.png"
        fig.savefig(out)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fix" in _texts(over_time)
    assert math.isclose(error_rate_table(parsed.requests, by="transport")["requests"].sum(), 15)


@pytest.mark.parametrize(
    ("span", "width"),
    [
        # (span, the width with the bucket count nearest 60-120, worked out by hand)
        ("4s", "1s"),  # a lab run: 5 buckets of 1 s, the finest there is
        ("150s", "1s"),  # 151 x 1 s is nearer 120 than 31 x 5 s is to 60
        ("10min", "10s"),  # 61 buckets
        ("2h", "1min"),  # 121 x 1 min, against 25 x 5 min
        ("1D", "15min"),  # 97 buckets
        ("30D", "6h"),  # 121 x 6 h, against 31 days
        ("365D", "1D"),  # the widest there is
    ],
)
def test_bucket_width_from_the_span(span: str, width: str) -> None:
    assert choose_bucket(pd.Timedelta(span)) == pd.Timedelta(width)


@pytest.mark.parametrize(("value", "seconds"), [("auto", None), (None, None), (5, 5.0), ("30", 30.0), ("5min", 300.0)])
def test_bucket_values(value, seconds) -> None:
    width = parse_bucket(value)
    assert (width is None) if seconds is None else width.total_seconds() == seconds


@pytest.mark.parametrize("value", [0, -3, "soon", "0s"])
def test_bad_bucket_values(value) -> None:
    with pytest.raises(WslabError, match="bucket must be"):
        parse_bucket(value)


def test_table_by_kind_in_kind_order() -> None:
    requests = _requests(
        [
            ("13:00:00", "/items/1", "200"),
            ("13:00:01", "/socket.io/?EIO=4&transport=polling&t=x", "200"),
            ("13:00:02", "/socket.io/?EIO=4&transport=websocket&sid=abc", "200"),
            ("13:00:03", "/socket.io/?transport=websocket&EIO=4", "500"),
            ("13:00:04", "/socket.io/?EIO=4&transport=websocket&sid=", "500"),
        ]
    )
    table = error_rate_table(requests, by="kind")
    # by hand: the two without a (non-empty) sid are direct; the one with sid=abc is upgraded
    assert table[["kind", "requests", "server_errors"]].values.tolist() == [
        ["direct websocket", 2, 2],
        ["upgraded websocket", 1, 0],
        ["polling", 1, 0],
        ["page", 1, 0],
    ]
    # rows from elsewhere, without the parser's kind column, are given one from transport and sid
    assert error_rate_table(requests.drop(columns="kind"), by="kind").equals(table)
