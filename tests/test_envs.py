"""Pin sets built into cached virtualenvs (``wslab.lab.envs``, ``wslab envs``).

The builds here are real: tiny ad hoc sets without the kit for the mechanism
(a second or two each with uv), and one full build of ``incident`` with the
tools and the kit, whose versions are checked against the requirements file
read here independently.  Every build goes to a ``tmp_path`` root.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from wslab import cli
from wslab.errors import WslabError
from wslab.lab import envs

pytestmark = pytest.mark.pins_independent

ROOT = Path(__file__).resolve().parent.parent
PIN_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s#;]+)", re.M)

needs_uv = pytest.mark.skipif(envs.find_uv() is None, reason="uv is not installed")


def pins_in(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by a regex of this test's own."""
    return {re.sub(r"[-_.]+", "-", n).lower(): v
            for n, v in PIN_LINE.findall(path.read_text(encoding="utf-8"))}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty environments root, also set as ``WSLAB_ENVS_DIR`` for the CLI."""
    folder = tmp_path / "envs"
    monkeypatch.setenv("WSLAB_ENVS_DIR", str(folder))
    return folder


def offline_uv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """uv with the network off and an empty cache of its own."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))


def built_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


# --- pin sets -------------------------------------------------------------------------------


def test_named_sets_are_the_requirement_files_without_the_tools():
    tools = pins_in(ROOT / "requirements" / "tools.txt")
    for name in ("incident", "current"):
        expected = {n: v for n, v in pins_in(ROOT / "requirements" / f"{name}.txt").items()
                    if n not in tools}
        assert envs.pinset(name).pins == expected
        assert "werkzeug" in expected and "itsdangerous" not in expected


def test_pins_parse_and_malformed_ones_are_one_clear_error():
    assert envs.parse_pin("Flask_SocketIO == 5.5.1") == ("flask-socketio", "5.5.1")
    for bad in ("werkzeug>=2", "werkzeug==", "==2.3.8", "werkzeug", "wer kzeug==1"):
        with pytest.raises(WslabError, match="malformed pin"):
            envs.parse_pin(bad)
    with pytest.raises(WslabError, match="pinned twice"):
        envs.adhoc(["werkzeug==2.3.8", "Werkzeug==3.1.9"])


def test_a_command_line_is_a_name_or_pins():
    assert envs.requested(["incident"]).name == "incident"
    made = envs.requested(["werkzeug==2.3.8", "python-engineio==4.15.1"], name="mine")
    assert (made.name, made.pins) == ("mine", {"werkzeug": "2.3.8", "python-engineio": "4.15.1"})
    with pytest.raises(WslabError, match="unknown pin set 'nope': choose from current, incident"):
        envs.requested(["nope"])
    with pytest.raises(WslabError, match="one pin-set name or"):
        envs.requested(["incident", "werkzeug==3.1.9"])


def test_catalogue_entries_can_list_their_own_pins(tmp_path: Path):
    catalog = tmp_path / "sets.toml"
    catalog.write_text('[tiny]\npins = ["itsdangerous==2.2.0"]\n'
                       '[incident]\nrequirements = "requirements/incident.txt"\n')
    found = envs.pinsets(catalog)
    assert found["tiny"].pins == {"itsdangerous": "2.2.0"}
    assert found["incident"].pins["werkzeug"] == "2.3.8"
    catalog.write_text('[broken]\npins = ["itsdangerous>=2"]\n')
    with pytest.raises(WslabError, match="malformed pin"):
        envs.pinsets(catalog)


def test_the_key_follows_the_content_only():
    one = envs.adhoc(["werkzeug==2.3.8", "flask==2.3.3"])
    same = envs.adhoc(["Flask==2.3.3", "werkzeug==2.3.8"], name="other")
    bumped = envs.adhoc(["werkzeug==2.3.8", "flask==3.0.0"])
    key = envs.env_key(one)
    assert re.fullmatch(r"[0-9a-f]{12}", key)
    assert envs.env_key(same) == key  # order, spelling and the set's name do not count
    assert envs.env_key(bumped) != key
    assert envs.env_key(one, with_kit=False) != key
    assert envs.env_key(one, python_version="3.99.0") != key


def test_the_key_covers_the_tools_and_the_kit(monkeypatch: pytest.MonkeyPatch):
    tiny = envs.adhoc(["itsdangerous==2.2.0"])
    key, bare = envs.env_key(tiny), envs.env_key(tiny, with_kit=False)
    monkeypatch.setattr(envs.catalog, "tool_pins", lambda: {"pytest": "0.0.1"})
    assert envs.env_key(tiny) != key
    assert envs.env_key(tiny, with_kit=False) == bare
    monkeypatch.undo()
    monkeypatch.setattr(envs.catalog, "kit_dependencies", lambda: ["flask>=99"])
    assert envs.env_key(tiny) != key


def test_pip_is_the_fallback_without_uv(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(envs.installer, "find_uv", lambda: None)
    assert envs.choose_installer("auto") == ("pip", None)
    with pytest.raises(WslabError, match="uv was asked for but is not installed"):
        envs.choose_installer("uv")


# --- real builds ------------------------------------------------------------------------------


@needs_uv
def test_build_then_reuse(root: Path):
    tiny = envs.adhoc(["itsdangerous==2.2.0"], name="tiny")
    env = envs.build(tiny, with_kit=False, root=root, progress=False)
    assert (env.installer, env.reused) == ("uv", False)
    assert env.path == root / f"tiny-{envs.env_key(tiny, with_kit=False)}"
    marker = env.path / envs.MARKER
    recorded = json.loads(marker.read_text())
    assert recorded["resolved"] == {"itsdangerous": "2.2.0"} == env.resolved
    out = subprocess.run([str(env.python), "-c", "import itsdangerous; print(itsdangerous.__file__)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith(str(env.path))
    stamp = marker.stat().st_mtime_ns

    again = envs.build(envs.adhoc(["itsdangerous==2.2.0"], name="tiny"), with_kit=False,
                       root=root, progress=False)
    assert again.reused and again.path == env.path
    assert marker.stat().st_mtime_ns == stamp
    assert [e.folder for e in envs.list_envs(root)] == [env.folder]


@needs_uv
def test_unpinned_packages_are_resolved_and_recorded(root: Path):
    env = envs.build(envs.adhoc(["flask==2.3.3"]), with_kit=False, root=root, progress=False)
    assert env.resolved["flask"] == "2.3.3"
    # Flask 2.3.3 needs Werkzeug >= 2.3.7; the installer picked a release and it is recorded.
    werkzeug = env.resolved["werkzeug"]
    assert tuple(int(p) for p in werkzeug.split(".")[:2]) >= (2, 3)
    assert env.stack()["werkzeug"] == werkzeug and env.stack()["flask-socketio"] is None
    freeze = subprocess.run([str(env.python), "-c", "import werkzeug.serving, importlib.metadata as m;"
                             "print(m.version('werkzeug'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert freeze == werkzeug


@needs_uv
def test_a_failed_build_is_one_error_and_leaves_nothing_built(root: Path):
    with pytest.raises(WslabError) as caught:
        envs.build(envs.adhoc(["itsdangerous==0.0.999"]), with_kit=False, root=root,
                   progress=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "itsdangerous==0.0.999" in message and "with uv failed" in message
    assert envs.list_envs(root) == []
    assert built_folders(root) == []


@needs_uv
def test_offline_a_built_env_still_works(root: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch):
    tiny = envs.adhoc(["itsdangerous==2.2.0"])
    built = envs.build(tiny, with_kit=False, root=root, progress=False)
    offline_uv(monkeypatch, tmp_path)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    again = envs.build(tiny, with_kit=False, root=root, progress=False)
    assert again.reused and again.path == built.path


@needs_uv
def test_offline_without_a_built_env_names_what_is_missing(root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    offline_uv(monkeypatch, tmp_path)
    with pytest.raises(WslabError,
                       match=r"switched off \(offline\) and itsdangerous is not in uv's cache"):
        envs.build(envs.adhoc(["itsdangerous==2.1.2"]), with_kit=False, root=root,
                   progress=False)
    assert built_folders(root) == []


@needs_uv
def test_an_unreachable_index_names_the_package(root: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(WslabError) as caught:
        envs.build(envs.adhoc(["itsdangerous==2.1.2"]), with_kit=False, root=root,
                   progress=False)
    assert re.search(r"package index is unreachable: could not fetch itsdangerous from "
                     r"http://127\.0\.0\.1:9/itsdangerous/", str(caught.value))
    assert built_folders(root) == []


def test_the_pip_fallback_builds_reuses_and_fails_clearly(root: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    tiny = envs.adhoc(["itsdangerous==2.2.0"])
    env = envs.build(tiny, with_kit=False, root=root, installer="pip", progress=False)
    assert (env.installer, env.resolved["itsdangerous"]) == ("pip", "2.2.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    assert envs.build(tiny, with_kit=False, root=root, installer="pip", progress=False).reused
    with pytest.raises(WslabError, match=r"no release of itsdangerous==2\.1\.2 could be found: "
                                         r"the package index is switched off"):
        envs.build(envs.adhoc(["itsdangerous==2.1.2"]), with_kit=False, root=root,
                   installer="pip", progress=False)
    assert [e.folder for e in envs.list_envs(root)] == [env.folder]


@needs_uv
def test_a_folder_without_marker_is_not_built_and_is_rebuilt(root: Path):
    tiny = envs.adhoc(["itsdangerous==2.2.0"])
    half = root / f"{tiny.name}-{envs.env_key(tiny, with_kit=False)}"
    (half / "bin").mkdir(parents=True)
    assert envs.list_envs(root) == []
    env = envs.build(tiny, with_kit=False, root=root, progress=False)
    assert not env.reused and env.path == half and (half / envs.MARKER).is_file()


@needs_uv
def test_remove_deletes_only_the_named_env(root: Path):
    keep = envs.build(envs.adhoc(["itsdangerous==2.2.0"], name="keep"), with_kit=False,
                      root=root, progress=False)
    drop = envs.build(envs.adhoc(["itsdangerous==2.1.2"], name="drop"), with_kit=False,
                      root=root, progress=False)
    assert envs.remove("drop", root=root) == [drop.folder]
    assert not drop.path.exists() and keep.python.exists()
    assert [e.folder for e in envs.list_envs(root)] == [keep.folder]
    with pytest.raises(WslabError, match="no environment named or keyed 'drop'"):
        envs.remove("drop", root=root)
    assert envs.remove(keep.key, root=root) == [keep.folder]
    assert envs.list_envs(root) == []


# --- the command line -----------------------------------------------------------------------


def test_cli_unknown_set_and_malformed_pin_exit_2(root: Path, capsys: pytest.CaptureFixture):
    for argv, text in ((["envs", "build", "bogus"], "unknown pin set 'bogus'"),
                       (["envs", "build", "werkzeug>=2"], "malformed pin 'werkzeug>=2'")):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("wslab: error: ") and text in err[0]
    assert built_folders(root) == []


@needs_uv
def test_cli_build_list_remove(root: Path, capsys: pytest.CaptureFixture):
    assert cli.main(["envs", "build", "itsdangerous==2.2.0", "--no-kit", "--name", "tiny",
                     "--json"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert "building tiny-" in captured.err and record["resolved"] == {"itsdangerous": "2.2.0"}
    assert cli.main(["envs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["key"]) for e in listed] == [("tiny", record["key"])]
    assert listed[0]["size_bytes"] >= listed[0]["own_bytes"] > 0
    assert set(listed[0]["stack"]) == set(envs.STACK)
    assert cli.main(["envs", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["name", "key", "werkzeug"] and table[1].startswith("tiny")
    assert cli.main(["envs", "remove", "--all"]) == 0
    assert capsys.readouterr().out.strip() == f"removed tiny-{record['key']}"
    assert envs.list_envs(root) == []


@needs_uv
@pytest.mark.timeout(600)
def test_incident_builds_with_the_kit_and_its_exact_pins(root: Path):
    env = envs.build(envs.pinset("incident"), root=root, progress=False)
    wanted = pins_in(ROOT / "requirements" / "incident.txt")
    wanted.update(pins_in(ROOT / "requirements" / "tools.txt"))
    assert {n: env.resolved.get(n) for n in wanted} == wanted
    assert env.stack() == {n: wanted[n] for n in envs.STACK}
    assert env.with_kit and env.resolved.get("wslab")
    kit = subprocess.run([str(env.python), "-c", "import wslab, werkzeug; print(wslab.__file__)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert kit == str(ROOT / "lib" / "wslab" / "__init__.py")
    assert envs.build(envs.pinset("incident"), root=root, progress=False).reused
