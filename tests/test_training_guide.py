"""The facilitator's guide: each track's minutes add up to the length its heading states.

The totals are the numbers written in the headings ("### 90-minute track (90
minutes)"); the test sums the first column of the table under each heading
and checks that every notebook path a track names exists.
"""

from __future__ import annotations

import re

import pytest

from wslab.paths import KIT_ROOT

pytestmark = pytest.mark.pins_independent

GUIDE = KIT_ROOT / "docs" / "TRAINING.md"
TRACK = re.compile(r"^### (?P<name>.+ track) \((?P<minutes>\d+) minutes\)$", re.MULTILINE)
ROW = re.compile(r"^\| *(?P<minutes>\d+) *\| *(?P<what>[^|]*?) *\|", re.MULTILINE)


def tracks(text: str) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """Each track's stated minutes and its table rows (minutes, notebook cell)."""
    headings = list(TRACK.finditer(text))
    found = {}
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else text.find("\n## ", heading.end())
        body = text[heading.end():end if end != -1 else len(text)]
        rows = [(int(m["minutes"]), m["what"]) for m in ROW.finditer(body)]
        found[heading["name"]] = (int(heading["minutes"]), rows)
    return found


def test_the_guide_has_a_90_minute_and_a_full_day_track() -> None:
    assert set(tracks(GUIDE.read_text())) == {"90-minute track", "Full-day track"}


@pytest.mark.parametrize("name", ["90-minute track", "Full-day track"])
def test_the_minutes_add_up(name: str) -> None:
    stated, rows = tracks(GUIDE.read_text())[name]
    assert rows, f"{name} has a table"
    assert sum(minutes for minutes, _ in rows) == stated


def test_the_90_minute_track_is_90_minutes_and_the_full_day_six_hours() -> None:
    found = tracks(GUIDE.read_text())
    assert found["90-minute track"][0] == 90 and found["Full-day track"][0] == 360


@pytest.mark.parametrize("name", ["90-minute track", "Full-day track"])
def test_every_notebook_a_track_names_exists_and_runs_in_walkthrough_order(name: str) -> None:
    _, rows = tracks(GUIDE.read_text())[name]
    paths = [re.sub(r"`", "", what) for _, what in rows if what.startswith("`")]
    assert paths and all((KIT_ROOT / path).is_file() for path in paths), paths
    walkthrough = [p for p in paths if "/exercises/" not in p]
    assert walkthrough == sorted(walkthrough) and len(walkthrough) == 5


def test_the_full_day_places_every_exercise() -> None:
    _, rows = tracks(GUIDE.read_text())["Full-day track"]
    named = {re.sub(r"`", "", what) for _, what in rows}
    exercises = {str(p.relative_to(KIT_ROOT)) for p in (KIT_ROOT / "notebooks" / "exercises").glob("*.ipynb")}
    assert exercises and exercises <= named


def test_the_sum_check_can_fail() -> None:
    text = "### Short track (10 minutes)\n\n| minutes | notebook | what |\n|---:|---|---|\n| 4 | — | a |\n| 5 | — | b |\n"
    stated, rows = tracks(text)["Short track"]
    assert (stated, sum(m for m, _ in rows)) == (10, 9)
