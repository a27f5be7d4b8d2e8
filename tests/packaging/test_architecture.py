"""The rules of ARCHITECTURE.md: two wings over shared stages, shells on top, reading never loads training.

The graph is drawn from the product code itself: every ``import`` and
``from ... import`` of every ``.py`` file under ``captcha_solver/``,
``segmentation/`` and ``features/`` (at module level, inside functions and under
``if TYPE_CHECKING``), one node per first-level subpackage or top-level module
of ``captcha_solver`` (``captcha_solver.training`` holds ``training/neural/...``)
and one node per stage package. ``from pkg import name`` where ``pkg.name`` is a
module counts as importing ``pkg.name``. The root ``captcha_solver/__init__.py``
and a node's imports of itself are left out.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "captcha_solver"
STAGES = ("segmentation", "features")
PRODUCT_TOPS = (PACKAGE, *STAGES)

# The layers, bottom to top (ARCHITECTURE.md draws the same picture). An import may
# point to its own layer or any layer below, never above.
LAYERS: dict[str, tuple[str, ...]] = {
    "stages": STAGES,
    "shared": tuple(
        f"{PACKAGE}.{name}"
        for name in (
            "common",
            "settings",
            "image_io",
            "artifacts",
            "metrics",
            "read_result",
            "generator",
            "tracking",
            "registry",
            "records",
            "monitoring",
        )
    ),
    "inference wing": tuple(
        f"{PACKAGE}.{name}"
        for name in ("glyph_reader", "neural", "fusion", "inference", "evaluation", "distributed")
    ),
    "training wing": (f"{PACKAGE}.training",),
    "solver": (f"{PACKAGE}.solver",),
    "shells": (f"{PACKAGE}.cli", f"{PACKAGE}.serving", f"{PACKAGE}.ui", f"{PACKAGE}.models_cli"),
}
RANK = {node: rank for rank, nodes in enumerate(LAYERS.values()) for node in nodes}
LAYER_OF = {node: layer for layer, nodes in LAYERS.items() for node in nodes}
TRAINING = f"{PACKAGE}.training"
INFERENCE = f"{PACKAGE}.inference"
SHELLS = LAYERS["shells"]

MAX_CHAIN_NODES = 7
MAX_MODULE_LINES = 400
# Packages that train or export; reading a captcha must load none of them (onnxruntime is fine).
TRAINING_ONLY_PACKAGES = ("torch", "sklearn", "skl2onnx", "catboost", "onnx")


# ------------------------------------------------------------------ the graph
@dataclass(frozen=True)
class Import:
    """One imported module (and, for ``from m import name``, the name) at ``file:line``."""

    source: str  # the importing node
    where: str  # "captcha_solver/cli.py:146"
    module: str  # absolute module path, "captcha_solver.training"
    name: str | None  # the name taken from it, or None for "import module"

    @property
    def target(self) -> str | None:
        return node_of(self.module)


def node_of(module: str) -> str | None:
    """The graph node of a dotted module path, or None when it is not product code (or is the root)."""
    parts = module.split(".")
    if parts[0] == PACKAGE:
        return ".".join(parts[:2]) if len(parts) > 1 else None
    return parts[0] if parts[0] in STAGES else None


def _module_path(path: Path, root: Path) -> tuple[str, bool]:
    """``(dotted name, is a package __init__)`` of a source file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(root: Path = ROOT) -> Iterator[Import]:
    """Every import of product code by product code, anywhere in each file."""
    for top in PRODUCT_TOPS:
        for path in sorted((root / top).rglob("*.py")):
            module, is_package = _module_path(path, root)
            source = node_of(module)
            if source is None:  # the root captcha_solver/__init__.py
                continue
            rel = path.relative_to(root).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                where = f"{rel}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield Import(source, where, alias.name, None)
                elif isinstance(node, ast.ImportFrom):
                    base = _absolute(node, module, is_package)
                    for alias in node.names:
                        submodule = f"{base}.{alias.name}"
                        # "from pkg import sub" imports the module pkg.sub, not just a name of pkg
                        if alias.name != "*" and _is_module(submodule, root):
                            yield Import(source, where, submodule, None)
                        else:
                            yield Import(source, where, base, alias.name)


def build_graph(imports) -> dict[str, dict[str, list[str]]]:
    """``{node: {imported node: [file:line, ...]}}`` between distinct product nodes."""
    graph: dict[str, dict[str, list[str]]] = {}
    for imp in imports:
        graph.setdefault(imp.source, {})
        target = imp.target
        if target is not None and target != imp.source:
            graph[imp.source].setdefault(target, []).append(imp.where)
            graph.setdefault(target, {})
    return graph


@cache
def _product_imports() -> tuple[Import, ...]:
    return tuple(imports_of(ROOT))


@cache
def _product_graph() -> dict[str, dict[str, list[str]]]:
    return build_graph(_product_imports())


def find_cycle(graph: Mapping[str, Mapping[str, object]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None if the graph is acyclic."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def longest_chain(graph: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The longest path (in nodes) of an acyclic graph; ties go to the alphabetically first."""
    if cycle := find_cycle(graph):
        raise ValueError(f"no longest chain in a graph with a cycle: {' -> '.join(cycle)}")

    @cache
    def from_node(node: str) -> tuple[str, ...]:
        tails = [from_node(nxt) for nxt in sorted(graph.get(node, ()))]
        return (node, *max(tails, key=len, default=()))

    chains = [from_node(node) for node in sorted(graph)]
    return list(max(chains, key=len, default=()))


def reachable(graph: Mapping[str, Mapping[str, object]], start: str) -> dict[str, list[str]]:
    """``{node: path from start}`` for every node ``start`` imports, directly or not."""
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                todo.append(nxt)
    del paths[start]
    return paths


def is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def private_reach(imp: Import) -> str | None:
    """Why ``imp`` reaches into another package's private parts, or None."""
    if imp.target is None or imp.target == imp.source:
        return None
    if any(is_private(part) for part in imp.module.split(".")[1:]):
        return f"private module {imp.module}"
    if imp.name is not None and is_private(imp.name):
        return f"private name {imp.module}.{imp.name}"
    return None


def training_only_modules(modules) -> list[str]:
    """The modules of ``modules`` that belong to training: its packages or the training wing."""
    return sorted(
        m
        for m in modules
        if m.split(".")[0] in TRAINING_ONLY_PACKAGES or m == TRAINING or m.startswith(TRAINING + ".")
    )


def _show(chain: list[str], graph) -> str:
    steps = [f"  {a} -> {b}   ({graph[a][b][0]})" for a, b in zip(chain, chain[1:])]
    return " -> ".join(chain) + "\n" + "\n".join(steps)


# ------------------------------------------------- self-checks of the graph code
SYNTHETIC = {"a": {"b": [], "c": []}, "b": {"d": []}, "c": {}, "d": {"e": []}, "e": {}}


def test_graph_helpers_on_a_synthetic_graph():
    assert find_cycle(SYNTHETIC) is None
    assert longest_chain(SYNTHETIC) == ["a", "b", "d", "e"]
    assert reachable(SYNTHETIC, "b") == {"d": ["b", "d"], "e": ["b", "d", "e"]}
    looped = {**SYNTHETIC, "e": {"b": []}}
    assert find_cycle(looped) == ["b", "d", "e", "b"]
    with pytest.raises(ValueError, match="b -> d -> e -> b"):
        longest_chain(looped)


def test_import_parsing_on_a_synthetic_tree(tmp_path):
    pkg = tmp_path / PACKAGE
    for folder in ("wing", "wing/deep", "other", "other/_hidden"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (tmp_path / "segmentation").mkdir()
    (tmp_path / "segmentation" / "__init__.py").write_text("")
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("import captcha_solver.shell\n")  # the root is left out
    (pkg / "other" / "_impl.py").write_text("")
    (pkg / "shell.py").write_text(
        "from captcha_solver.other import _impl\n"
        "from captcha_solver.other import _secret, public\n"
        "def run():\n"
        "    import captcha_solver.wing.deep\n"
    )
    (pkg / "wing" / "deep" / "__init__.py").write_text(
        "from ... import other\nfrom .. import deep\nimport segmentation\n"
    )
    imports = list(imports_of(tmp_path))
    graph = build_graph(imports)
    assert {k: sorted(v) for k, v in graph.items()} == {
        "captcha_solver.shell": ["captcha_solver.other", "captcha_solver.wing"],
        "captcha_solver.wing": ["captcha_solver.other", "segmentation"],
        "captcha_solver.other": [],
        "segmentation": [],
    }
    assert graph["captcha_solver.shell"]["captcha_solver.wing"] == ["captcha_solver/shell.py:4"]
    reaches = sorted(r for imp in imports if (r := private_reach(imp)))
    assert reaches == [
        "private module captcha_solver.other._impl",
        "private name captcha_solver.other._secret",
    ]


def test_training_module_filter_on_a_synthetic_list():
    modules = ["onnxruntime", "onnxruntime.capi", "onnx", "torch.nn", "sklearn", "captcha_solver.training_x"]
    modules += ["captcha_solver.training.neural._loop", "catboost"]
    assert training_only_modules(modules) == [
        "captcha_solver.training.neural._loop",
        "catboost",
        "onnx",
        "sklearn",
        "torch.nn",
    ]


# ------------------------------------------------------------- the rules
def test_every_package_has_a_layer():
    unplaced = sorted(set(_product_graph()) - set(RANK))
    assert not unplaced, (
        f"{unplaced} belong to no layer: place each in LAYERS here and in ARCHITECTURE.md's picture"
    )


def test_no_import_cycle_between_packages():
    graph = _product_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages:\n" + _show(cycle, graph)


def test_longest_import_chain_has_at_most_seven_nodes():
    graph = _product_graph()
    chain = longest_chain(graph)
    assert len(chain) <= MAX_CHAIN_NODES, (
        f"the longest import chain has {len(chain)} nodes (at most {MAX_CHAIN_NODES}):\n"
        + _show(chain, graph)
    )


def test_imports_point_down_the_layers():
    graph = _product_graph()
    upward = [
        f"{graph[source][target][0]}: {source} ({LAYER_OF[source]}) imports {target} ({LAYER_OF[target]})"
        for source in sorted(graph)
        for target in sorted(graph[source])
        if source in RANK and target in RANK and RANK[target] > RANK[source]
    ]
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_the_inference_wing_and_shared_code_never_import_training():
    graph = _product_graph()
    below = [n for layer in ("stages", "shared", "inference wing") for n in LAYERS[layer]]
    direct = [
        f"{where}: {n} imports {TRAINING}" for n in below for where in graph.get(n, {}).get(TRAINING, ())
    ]
    assert not direct, "\n".join(direct)
    path = reachable(graph, INFERENCE).get(TRAINING)
    assert path is None, f"{INFERENCE} reaches the training wing:\n" + _show(path, graph)


def test_packages_import_only_public_names_of_other_packages():
    # Every package talks to another through its public names; for the shells
    # (cli, serving, ui) this is what keeps them thin.
    found = [
        f"{imp.where}: {imp.source} imports {why}"
        for imp in _product_imports()
        if (why := private_reach(imp))
    ]
    shells_first = sorted(found, key=lambda line: not any(f": {shell} " in line for shell in SHELLS))
    assert not found, "imports of another package's private parts:\n" + "\n".join(shells_first)


def test_no_product_module_over_400_lines():
    long = [
        f"{path.relative_to(ROOT).as_posix()}: {n} lines"
        for top in PRODUCT_TOPS
        for path in sorted((ROOT / top).rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long)


# ------------------------------------- reading loads nothing that trains
_GENERATE = """
import csv, json, sys
from pathlib import Path
from captcha_solver.generator import generate_dataset
from captcha_solver.inference import shipped_model_dir

[image] = generate_dataset(Path("captchas"), 1, seed=7, workers=1)
model_dir, results = str(shipped_model_dir()), str(Path("r.csv").resolve())
"""

_THROUGH_SOLVER = """
from captcha_solver.solver import My_CaptchaSolver_Model

text = My_CaptchaSolver_Model(model_dir=model_dir, results_csv=results).predict(image)
"""

_THROUGH_CLI = """
from captcha_solver.cli import cli  # the group that captcha_solver.cli.main runs

args = ["predict", "--image", str(image), "--model-dir", model_dir, "--results", results]
cli.main(args=args, standalone_mode=False)
with open(results, newline="", encoding="utf-8") as rows:
    text = next(csv.DictReader(rows))["prediction"]
"""

_REPORT = """
print(json.dumps({"label": image.stem, "text": text, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("entry", ["solver", "cli"])
def test_reading_a_captcha_loads_nothing_that_trains(tmp_path, entry):
    body = _THROUGH_SOLVER if entry == "solver" else _THROUGH_CLI
    code = textwrap.dedent(_GENERATE) + textwrap.dedent(body) + textwrap.dedent(_REPORT)
    env = {k: v for k, v in os.environ.items() if k != "CAPTCHA_SOLVER_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, f"the {entry} prediction failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    # A real reading happened (the shipped model reads the generator's captchas), so the check is not vacuous.
    assert report["text"], f"the {entry} read nothing from {report['label']}.png:\n{run.stderr[-2000:]}"
    assert "onnxruntime" in report["modules"]
    loaded = training_only_modules(report["modules"])
    assert not loaded, f"reading one captcha through the {entry} imported training code: {loaded}"
