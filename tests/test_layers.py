"""The package's layers: imports flow one way and never in a circle.

The graph is read from the source with :mod:`ast` (module-level and
function-level imports alike), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.pins_independent

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "wslab"

#: Lowest first. A module may import its own layer or any layer below it.
#: This list is written by hand from docs/ARCHITECTURE.md, not read from the code.
LAYERS: list[set[str]] = [
    {"wslab", "wslab.errors", "wslab.paths", "wslab.versions", "wslab.progress", "wslab.waiting"},
    {"wslab.model"},
    {"wslab.logs"},
    {"wslab.app"},
    {"wslab.lab"},
    {"wslab.study"},
    {"wslab.diagnose"},
    {"wslab.teach"},
    {"wslab.commands", "wslab.cli", "wslab.__main__"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The kit's module that importing *name* loads last (``None`` for other packages)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {m for m in map(resolve, names) if m and m != module}
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str) -> int:
    best = -1
    for index, members in enumerate(LAYERS):
        for member in members:
            if module == member or (member != "wslab" and module.startswith(member + ".")):
                best = index
    if best < 0 and module == "wslab":
        return 0
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of *graph* as a list of modules, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read():
    # Pinned by hand: these edges exist in the source, so an empty graph cannot pass.
    assert "wslab.lab.stack" in GRAPH["wslab.study.runs.variant_run"]
    assert "wslab.app.detection" in GRAPH["wslab.app.guard"]
    assert "wslab.study.runs.envrun" in GRAPH["wslab.study.runs.experiment"]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    assert find_cycle(GRAPH) is None


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) < 0] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_downwards(module):
    upward = sorted(dep for dep in GRAPH[module] if layer_of(dep) > layer_of(module))
    assert upward == [], f"{module} imports a higher layer"


#: Within ``wslab.study``, lowest first: running the lab and detection are used by the
#: incident story and the version matrix, never the other way round.
STUDY_LAYERS: list[set[str]] = [
    {"wslab.study.runs", "wslab.study.detection"},
    {"wslab.study.incident", "wslab.study.versions"},
]
#: Written by hand: the most modules one folder may hold, and the most lines one module may have.
MAX_MODULES_PER_FOLDER = 12
MAX_LINES_PER_MODULE = 450


def study_layer_of(module: str) -> int:
    for index, members in enumerate(STUDY_LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members):
            return index
    return -1


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("wslab.study.")))
def test_study_subpackages_flow_downwards(module):
    upward = sorted(dep for dep in GRAPH[module]
                    if dep.startswith("wslab.study.") and study_layer_of(dep) > study_layer_of(module))
    assert upward == [], f"{module} imports a higher part of wslab.study"


def test_every_study_module_has_a_part():
    assert [m for m in MODULES if m.startswith("wslab.study.") and study_layer_of(m) < 0] == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("wslab.diagnose")))
def test_diagnose_reads_records_without_the_runners(module):
    assert sorted(dep for dep in GRAPH[module] if dep.startswith("wslab.study")) == []


def test_no_folder_holds_too_many_modules():
    crowded = {str(folder.relative_to(PACKAGE.parent)): count
               for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]
               if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER}
    assert crowded == {}


def test_no_module_is_too_long():
    long = {name: lines for name, path in MODULES.items()
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES_PER_MODULE}
    assert long == {}
