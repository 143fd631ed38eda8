"""The package's layout keeps data flowing one way: no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

from .helpers import ROOT

PACKAGE = ROOT / "simulation"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path, known: set[str]) -> set[str]:
    """Modules of the package imported when `path` is imported.

    Imports inside functions or `if TYPE_CHECKING:` blocks do not count: they run later or never.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        imports = isinstance(node, (ast.Import, ast.ImportFrom, ast.Try))
        for sub in ast.walk(node) if imports else ():
            if isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (sub.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in sub.names)
    return {m for m in found if m in known and m != name}


def test_no_import_cycles_between_the_package_s_modules():
    """Ignoring the top package (which imports its public API), the import graph is acyclic."""
    paths = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    known = {_module_name(p) for p in paths}
    graph = {_module_name(p): _top_level_imports(p, known) - {"simulation"} for p in paths}
    graph.pop("simulation")
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt):] if nxt in stack else []
                cycle.extend([*loop, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_kernels_import_no_orchestration():
    """Kernels are pure: they import only core (and numba, numpy), never config or structures."""
    for path in (PACKAGE / "kernels").glob("*.py"):
        known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
        imported = _top_level_imports(path, known)
        inside = ("simulation.core", "simulation.kernels")
        outside = {m for m in imported if not m.startswith(inside)}
        assert not outside, f"{path.name} imports {outside}"
