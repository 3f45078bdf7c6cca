"""The participants' workspace, ``make lab``'s command line, and a reset that leaves git clean.

Expected notebook lists come from globbing ``notebooks/`` in the test; the git
check runs in a scratch repository holding the kit's own ``.gitignore`` and
notebooks, so a participant's saved edits and the reset are judged by ``git
status`` itself.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from wslab.paths import KIT_ROOT
from wslab.teach import lab, reset
from wslab.teach.workspace import make_workspace

pytestmark = pytest.mark.pins_independent

NOTEBOOKS = KIT_ROOT / "notebooks"


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_every_notebook_is_copied_with_its_outputs_cleared(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    result = make_workspace(workspace=workspace)
    originals = sorted(p.relative_to(NOTEBOOKS) for p in NOTEBOOKS.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    copies = sorted(p.relative_to(workspace) for p in workspace.rglob("*.ipynb"))
    assert copies == originals and len(copies) >= 5
    assert result.kept == []
    for relative in originals:
        original, copy = _code_cells(NOTEBOOKS / relative), _code_cells(workspace / relative)
        assert ["".join(c["source"]) for c in copy] == ["".join(c["source"]) for c in original]
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in copy), relative
    assert any(c["outputs"] for c in _code_cells(NOTEBOOKS / originals[0])), "the originals keep theirs"


def test_a_second_run_keeps_a_participants_edits(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    make_workspace(workspace=workspace)
    edited = sorted(workspace.glob("*.ipynb"))[0]
    edited.write_text("my edits")
    removed = sorted(workspace.glob("*.ipynb"))[1]
    removed.unlink()
    result = make_workspace(workspace=workspace)
    assert edited.read_text() == "my edits"
    assert result.copied == [removed] and edited in result.kept


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_workspace_edits_then_reset_leave_git_status_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(NOTEBOOKS, repo / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copyfile(KIT_ROOT / ".gitignore", repo / ".gitignore")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "kit")
    assert _git(repo, "status", "--porcelain") == ""

    workspace = repo / "workspace"
    make_workspace(source=repo / "notebooks", workspace=workspace)
    (workspace / "01_reproduce.ipynb").write_text("a participant saved this")
    (repo / "logs").mkdir()
    (repo / "logs" / "01_reproduce.log").write_text("a run's log")
    assert _git(repo, "status", "--porcelain") == "", "the workspace and logs/ are ignored"

    monkeypatch.setenv("WSLAB_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    code = reset.main(["--prefix", "wslab-workspace-test-none:", "--reports", str(repo / "reports"),
                       "--logs", str(repo / "logs"), "--workspace", str(workspace), "--tmp", str(tmp_path / "t")])
    assert code == 0
    assert not workspace.exists() and not (repo / "logs").exists()
    assert _git(repo, "status", "--porcelain", "--ignored") == ""


def test_lab_command_binds_localhost_with_a_token_and_allows_root_only_as_root(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    as_user = lab.lab_command(tmp_path, 9999, "t0ken", python="py")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    as_root = lab.lab_command(tmp_path, 9999, "t0ken", python="py")
    assert as_root == [*as_user, "--allow-root"]
    assert "--allow-root" not in as_user
    for flag in ("--ServerApp.ip=127.0.0.1", "--ServerApp.port=9999", "--ServerApp.port_retries=0",
                 "--IdentityProvider.token=t0ken", f"--ServerApp.root_dir={tmp_path}"):
        assert flag in as_user
    assert lab.lab_url(9999, "t0ken", "01_reproduce.ipynb") == \
        "http://127.0.0.1:9999/lab/tree/01_reproduce.ipynb?token=t0ken"


def test_lab_on_a_port_in_use_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = lab.main(["--workspace", str(tmp_path / "w"), "--port", str(port)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("lab: error: port") and "in use" in err[0]
    assert not (tmp_path / "w").exists()
