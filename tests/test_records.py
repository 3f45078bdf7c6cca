"""The record files of the recorded results (``wslab.model.records``).

The committed ``data/matrix/matrix.json`` and ``data/bisect/python-engineio/bisect.json``
are the expected values: reading them into records and writing them back must give the
same bytes, and every field the records expose must be the one plain :mod:`json` reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wslab.errors import WslabError
from wslab.model import records

pytestmark = pytest.mark.pins_independent

DATA = Path(__file__).resolve().parent.parent / "data"
MATRIX_FILE = DATA / "matrix" / "matrix.json"
BISECT_FILE = DATA / "bisect" / "python-engineio" / "bisect.json"


@pytest.mark.parametrize("committed, load", [(MATRIX_FILE, records.load_matrix), (BISECT_FILE, records.load_bisect)],
                         ids=["matrix", "bisect"])
def test_saving_a_loaded_record_writes_the_committed_bytes(committed: Path, load, tmp_path: Path) -> None:
    copy = tmp_path / committed.name
    records.save(copy, load(committed))
    assert copy.read_bytes() == committed.read_bytes()
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file is gone"


def test_to_dict_of_from_dict_is_the_parsed_json() -> None:
    matrix, bisect = json.loads(MATRIX_FILE.read_text()), json.loads(BISECT_FILE.read_text())
    assert records.MatrixRecord.from_dict(matrix).to_dict() == matrix
    assert records.BisectRecord.from_dict(bisect).to_dict() == bisect
    for row in matrix["rows"]:
        assert records.MatrixRow.from_dict(row).to_dict() == row


def test_a_matrix_rows_fields_are_the_files() -> None:
    raw = json.loads(MATRIX_FILE.read_text())
    record = records.load_matrix(MATRIX_FILE)
    assert [c.name for c in record.cells] == [c["name"] for c in raw["cells"]]
    for row, plain in zip(record.rows, raw["rows"], strict=True):
        assert (row.cell, row.variant, row.server) == (plain["cell"], plain["variant"], plain["server"])
        assert row.versions == {"werkzeug": plain["werkzeug"], "python-engineio": plain["python_engineio"],
                                "python-socketio": plain["python_socketio"], "flask-socketio": plain["flask_socketio"],
                                "simple-websocket": plain["simple_websocket"], "flask": plain["flask"]}
        assert list(row.versions)[:2] == ["werkzeug", "python-engineio"]
        assert row.counts == {"direct": plain["direct"], "upgrade": plain["upgrade"]}


def test_a_bisect_releases_fields_are_the_files() -> None:
    raw = json.loads(BISECT_FILE.read_text())
    record = records.load_bisect(BISECT_FILE)
    assert (record.package, record.start, record.end, record.pins) == (raw["package"], raw["from"], raw["to"],
                                                                       raw["pins"])
    assert record.first_release_without_500 == raw["first_release_without_500"]
    for release, plain in zip(record.releases, raw["releases"], strict=True):
        assert (release.version, release.direct, release.error) == (plain["version"], plain["direct"], plain["error"])
        assert release.package_versions["python-engineio"] == plain["versions"]["python_engineio"]


def test_a_row_made_by_hand_keeps_only_what_it_has() -> None:
    row = {"cell": "a", "variant": "before", "server": "werkzeug", "werkzeug": "1.0",
           "direct": {"connections": 1, "status_500": 1}}
    typed = records.MatrixRow.from_dict(row)
    assert typed.to_dict() == row
    assert typed.versions == {"werkzeug": "1.0"} and list(typed.counts) == ["direct"]


def test_missing_damaged_and_foreign_files_are_one_error_each(tmp_path: Path) -> None:
    with pytest.raises(WslabError, match=r"no matrix result at .*nope\.json \(make one with: wslab matrix"):
        records.load_matrix(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"rows": [')
    with pytest.raises(WslabError, match="is not a bisect result: "):
        records.load_bisect(broken)
    broken.write_text('{"rows": "not a list"}')
    with pytest.raises(WslabError, match=r"is not a matrix result \(no list of rows\)"):
        records.load_matrix(broken)
    foreign = json.loads(MATRIX_FILE.read_text())
    foreign["rows"][0]["surprise"] = 1
    broken.write_text(json.dumps(foreign))
    with pytest.raises(WslabError, match="does not hold the fields of a matrix result"):
        records.load_matrix(broken)
