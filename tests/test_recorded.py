"""The manifest's command lines read as what each recording sent."""

from __future__ import annotations

import pytest

from wslab.errors import WslabError
from wslab.logs import parse_log, summarize
from wslab.study.incident.recorded import MANIFEST, against_what_was_sent, load_manifest, users_sent, variant_of

pytestmark = pytest.mark.pins_independent


def test_users_sent_reads_both_option_spellings() -> None:
    command = "wslab reproduce --variant before --ws-users=20 --upgrade-users 5 --http-users=10"
    assert users_sent(command) == {"ws": 20, "upgrade": 5, "polling": 0, "http": 10}
    assert variant_of(command) == "before"
    assert variant_of("wslab reproduce --variant=guard") == "guard"
    with pytest.raises(WslabError, match="no --variant"):
        variant_of("wslab reproduce --ws-users=1")


def test_committed_logs_against_what_their_recordings_sent() -> None:
    manifest = load_manifest()
    summaries = {name: summarize(parse_log(MANIFEST.parent / name)) for name in sorted(manifest)}
    table = against_what_was_sent(summaries, manifest)
    # Every committed recording sent 20 direct WebSocket users (read off the manifest by hand).
    assert table["direct WebSockets sent"].tolist() == [20, 20, 20, 20]
    assert table.loc["guard.log", ["500 lines", "101 lines"]].tolist() == [0, 20]
    assert table.loc["before.log", ["500 lines", "write() before start_response"]].tolist() == [20, 20]
    assert table["holds"].all()


def test_a_log_that_does_not_match_what_was_sent_does_not_hold() -> None:
    manifest = {"x.log": {"command": "wslab reproduce --variant before --ws-users=3"}}
    summary = {"status_counts": {"500": 2}, "write_before_start_response": 2}
    assert not against_what_was_sent({"x.log": summary}, manifest).loc["x.log", "holds"]
