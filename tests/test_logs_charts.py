"""The chart of a log over time: one bar per bucket that holds request lines, gaps left empty,
deploys marked, the question in the title.

Bucket positions and counts are computed here from the raw lines' own timestamps.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from matplotlib import dates as mdates
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from wslab.cli import main
from wslab.logs import parse_log
from wslab.logs import FAILED_COLOUR, plot_log_over_time
from wslab.logs import analyze_log
from wslab.paths import DATA_DIR

pytestmark = pytest.mark.pins_independent

BEFORE = DATA_DIR / "logs" / "before.log"
NGINX = DATA_DIR / "logs" / "servers" / "nginx-access.log"
#: A request line of the write-up's format: its logging time and its status.
REQUEST = re.compile(rb'^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] .*\[\d\d/\w{3}/\d{4} [\d:]+\] ".*" (\d{3}) ')
#: An access line's date (UTC offset included) and status.
ACCESS = re.compile(rb'^\S+ \S+ \S+ \[(\d\d/\w{3}/\d{4}):(\d\d:\d\d:\d\d) ([+-]\d{4})\] ".*?" (\d{3}) ')


def request_times(path: Path) -> list[pd.Timestamp]:
    """The time of every request line, read off the raw line."""
    times = []
    for line in path.read_bytes().splitlines():
        if found := REQUEST.match(line):
            times.append(pd.Timestamp(found[1].decode()))
        elif found := ACCESS.match(line):
            stamp = pd.to_datetime(f"{found[1].decode()} {found[2].decode()} {found[3].decode()}",
                                   format="%d/%b/%Y %H:%M:%S %z")
            times.append(stamp.tz_convert("UTC").tz_localize(None))
    return times


def buckets(times: list[pd.Timestamp], width: pd.Timedelta) -> Counter:
    """Request lines per bucket start, the buckets cut from the epoch as the chart cuts them."""
    return Counter(t.floor(width) for t in times)


def _bars(ax) -> list:
    return list(ax.patches)


def _centre(bar) -> float:
    return bar.get_x() + bar.get_width() / 2


def _check_bars(fig, times: list[pd.Timestamp], width: pd.Timedelta) -> None:
    rate_ax, count_ax = fig.axes
    expected = buckets(times, width)
    centres = [mdates.date2num(start + width / 2) for start in sorted(expected)]
    rate_bars = _bars(rate_ax)
    assert len(rate_bars) == len(expected)
    assert [_centre(bar) for bar in rate_bars] == pytest.approx(centres, abs=1e-9)
    assert {to_hex(bar.get_facecolor()) for bar in rate_bars} == {FAILED_COLOUR}
    # the counts panel: one request bar and one 5xx bar per bucket, sharing the x axis
    counts = _bars(count_ax)
    assert len(counts) == 2 * len(expected)
    assert [round(bar.get_height()) for bar in counts[: len(expected)]] == [expected[k] for k in sorted(expected)]
    assert rate_ax.get_shared_x_axes().joined(rate_ax, count_ax)


def _vertical(line: Line2D) -> bool:
    xs = list(line.get_xdata())
    return len(set(xs)) == 1


def test_one_bar_per_non_empty_bucket_of_a_committed_log() -> None:
    parsed = parse_log(BEFORE)
    times = request_times(BEFORE)
    assert len(times) == len(parsed.requests) == 250
    fig = plot_log_over_time(parsed.requests)
    _check_bars(fig, times, pd.Timedelta(seconds=1))
    # before.log logged nothing in one second of its run: that bucket has no bar
    span = pd.date_range(min(times).floor("1s"), max(times).floor("1s"), freq="1s")
    assert len(span) - len(buckets(times, pd.Timedelta(seconds=1))) == 1
    for ax in fig.axes:
        assert len(ax.lines) == 0  # no line joins the buckets (and no deploy was given)
    assert fig._suptitle.get_text() == "When did the server errors (5xx) happen?"


def test_deploy_lines_sit_at_the_deploy_instants() -> None:
    deploys = ["2026-11-25T19:09:01", "2026-11-25T19:09:03.5"]
    fig = plot_log_over_time(parse_log(BEFORE).requests, deploy_at=deploys)
    for ax in fig.axes:
        assert all(_vertical(line) for line in ax.lines)
        assert [line.get_xdata()[0] for line in ax.lines] == pytest.approx(
            [mdates.date2num(pd.Timestamp(d)) for d in deploys]
        )
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == [" deploy 1: 2026-11-25 19:09:01", " deploy 2: 2026-11-25 19:09:03"]
    assert fig._suptitle.get_text() == (
        "Did the 5xx error rate change after the deploys at 2026-11-25 19:09:01, 2026-11-25 19:09:03?"
    )


def test_a_gap_in_the_log_is_a_gap_in_the_chart(tmp_path: Path) -> None:
    # requests for 5 minutes, nothing for 40, requests for 5 more; 10 s buckets chosen by hand
    start = pd.Timestamp("2025-09-01T13:00:00")
    times = [start + pd.Timedelta(seconds=7 * k) for k in range(43)]
    times += [start + pd.Timedelta(minutes=45, seconds=7 * k) for k in range(43)]
    lines = [
        f"[{t.isoformat(timespec='microseconds')}] INFO werkzeug - 10.0.0.7 - - [{t:%d/%b/%Y %H:%M:%S}] "
        f'"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" {500 if k % 3 else 200} -'
        for k, t in enumerate(times)
    ]
    log = tmp_path / "gap.log"
    log.write_text("\n".join(lines) + "\n")
    assert request_times(log) == times
    fig = plot_log_over_time(parse_log(log).requests, bucket=10, deploy_at="2025-09-01T13:30:00")
    _check_bars(fig, times, pd.Timedelta(seconds=10))
    rate_ax = fig.axes[0]
    assert len(rate_ax.lines) == 1 and _vertical(rate_ax.lines[0])
    # no bar stands between the two runs of requests
    first_end = mdates.date2num(start + pd.Timedelta(minutes=5, seconds=10))
    second_start = mdates.date2num(start + pd.Timedelta(minutes=45))
    assert not [bar for bar in _bars(rate_ax) if first_end < _centre(bar) < second_start]
    assert fig._suptitle.get_text() == "Did the 5xx error rate change after the deploy at 2025-09-01 13:30:00?"


def test_an_access_log_in_utc(tmp_path: Path) -> None:
    times = request_times(NGINX)
    fig = analyze_log(NGINX).chart()
    _check_bars(fig, times, pd.Timedelta(seconds=1))


def test_cli_plot_draws_the_chart(tmp_path: Path, capsys) -> None:
    png = tmp_path / "rate.png"
    code = main(["analyze", str(BEFORE), "--phase-at", "2026-11-25T19:09:01", "--plot", str(png)])
    _, err = capsys.readouterr()
    assert code == 0 and "chart written" in err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_deploys_can_carry_their_names() -> None:
    deploys = ["2026-11-25T19:09:01", "2026-11-25T19:09:03.5"]
    fig = plot_log_over_time(parse_log(BEFORE).requests, deploy_at=deploys,
                             deploy_names=["writeup-fix applied", "guard applied"])
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == [" writeup-fix applied: 2026-11-25 19:09:01", " guard applied: 2026-11-25 19:09:03"]
    with pytest.raises(ValueError, match="1 deploy names for 2 deploys"):
        plot_log_over_time(parse_log(BEFORE).requests, deploy_at=deploys, deploy_names=["one"])
