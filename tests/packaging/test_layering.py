"""Dependencies point one way: stages <- readers <- solver <- shells, with no cycles and no private imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"segmentation", "features"}
SHELLS = {"captcha_solver.cli", "captcha_solver.serving", "captcha_solver.ui"}


def _unit(module: str) -> str | None:
    """The package a module belongs to: ``captcha_solver.<name>``, or a stage package."""
    parts = module.split(".")
    if parts[0] == "captcha_solver":
        return ".".join(parts[:2])
    return parts[0] if parts[0] in STAGES else None


def _imports():
    """(importing unit, file, imported module) for every absolute import of the product code."""
    files = [p for top in ("captcha_solver", *STAGES) for p in (ROOT / top).rglob("*.py")]
    for path in files:
        rel = path.relative_to(ROOT).with_suffix("")
        unit = _unit(".".join(p for p in rel.parts if p != "__init__"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield unit, rel, node.module
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield unit, rel, alias.name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for unit, _, module in _imports():
        target = _unit(module)
        if target and target != unit and target != "captcha_solver":
            graph.setdefault(unit, set()).add(target)
    return graph


def test_no_import_cycles_between_packages():
    graph = _graph()
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != "open", f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_core_imports_no_shell_and_stages_import_no_library():
    for unit, targets in _graph().items():
        if unit in STAGES:
            assert targets <= STAGES, f"{unit} (a pure stage) imports {sorted(targets - STAGES)}"
        elif unit not in SHELLS:
            assert not targets & SHELLS, f"{unit} imports the shell(s) {sorted(targets & SHELLS)}"


def test_no_private_import_across_packages():
    found = []
    for unit, rel, module in _imports():
        target = _unit(module)
        private = any(part.startswith("_") and not part.startswith("__") for part in module.split(".")[1:])
        if target and target != unit and private:
            found.append(f"{rel}: {module}")
    assert not found, "cross-package private imports:\n" + "\n".join(found)
