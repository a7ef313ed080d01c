"""The direction of imports, as ARCHITECTURE.md draws it: a test, not a hope.

Every import in harden/ (top-level, inside functions, under TYPE_CHECKING) is an edge
between two packages. An edge the table below does not allow fails, and so does a cycle
between the units of the pipelines (layers.seccomp, audit.rules, runtime.record, ...).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "harden"
BASE = frozenset({"errors", "progress", "resources", "system", "kernel"})

# package -> the packages it may import (besides itself and the root `harden`)
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "progress": frozenset(),
    "resources": frozenset({"errors"}),
    "system": frozenset({"errors"}),
    "kernel": frozenset({"errors", "resources", "system"}),
    "profile": BASE,
    "layers": BASE | {"profile"},
    "generate": BASE | {"layers", "profile"},
    "verify": BASE | {"generate", "layers", "profile"},
    "runtime": BASE | {"verify", "generate", "layers", "profile"},
    "audit": BASE | {"generate", "layers", "profile"},  # bundles as targets; capability data
    "report": BASE | {"audit", "verify", "layers", "profile"},
    "gate": BASE | {"audit", "report"},
    "fix": BASE | {"audit", "generate", "report", "gate"},
    "cli": BASE
    | {"profile", "layers", "generate", "verify", "runtime", "audit", "report", "gate", "fix"},
    "__main__": frozenset({"cli"}),
}
SPLIT = ("layers", "audit", "runtime")  # packages whose subpackages are units of their own


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def _unit(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return ""
    return ".".join(parts[:2]) if parts[0] in SPLIT and len(parts) > 1 else parts[0]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def edges() -> set[tuple[str, str, str]]:
    """(importing unit, imported unit, where) for every import between two units."""
    found = set()
    for module, path in _modules():
        for name in _imports(module, path):
            if name.startswith("harden.") and _is_module(name):
                a, b = _unit(module), _unit(name)
                if a and b and a != b:
                    found.add((a, b, str(path.relative_to(PACKAGE.parent))))
    return found


EDGES = edges()


def test_the_walk_sees_the_package() -> None:
    units = {a for a, _b, _where in EDGES}
    assert {"cli", "audit.run", "layers.seccomp", "runtime.record", "system"} <= units


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_go_only_where_architecture_md_allows(package: str) -> None:
    wrong = sorted(
        f"{where} imports harden.{b}"
        for a, b, where in EDGES
        if a.split(".")[0] == package
        and b.split(".")[0] != package
        and b.split(".")[0] not in ALLOWED[package]
    )
    assert not wrong, "\n".join(wrong)


def test_every_package_is_in_the_table() -> None:
    packages = {_unit(m).split(".")[0] for m, _p in _modules()} - {""}
    assert packages == set(ALLOWED)


def test_no_cycle_between_units() -> None:
    graph: dict[str, set[str]] = {}
    for a, b, _where in EDGES:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
