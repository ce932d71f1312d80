"""The shape of the package, read from its import graph: no cycles, no import pointing up a layer, plugins at the edge.

Layers, bottom to top: ``plugin`` (what plugin authors import) → ``data`` → ``evaluation`` → ``analysis`` →
``render`` → the workflows at the package's top level → ``cli`` (with ``__main__``). A module may import its own
layer and the layers below. Plugins (``forgebench.detectors``, ``forgebench.perturbations``) import the plugin
layer, the public services in ``PLUGIN_SERVICES`` and their own package; the core never imports a plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
LAYERS = ("plugin", "data", "evaluation", "analysis", "render", "", "cli")
PLUGIN_PACKAGES = ("forgebench.detectors", "forgebench.perturbations")
PLUGIN_SERVICES = ("forgebench.data.training", "forgebench.evaluation.metrics")
"""What the core offers plugins beyond the plugin layer: training images, and the protocol's scorer to validate with."""
SOURCES = {"forgebench": REPO / "forgebench", **{name: REPO / name.split(".")[1] for name in PLUGIN_PACKAGES}}

Graph = dict[str, set[str]]


def modules() -> dict[str, Path]:
    """Every module of the installed packages by dotted name (``pkg/__init__.py`` is ``pkg``)."""
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its file (type-checking and function-level imports too)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(module: str) -> int:
    """Rank of a core module in ``LAYERS``; other modules at the package's top level are workflows."""
    if module == "forgebench.__main__":
        return LAYERS.index("cli")
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else LAYERS.index("")


def is_plugin(module: str) -> bool:
    return module.startswith(PLUGIN_PACKAGES)


def cycle(graph: Graph) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts, or None."""
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in finished:
            return None
        for target in sorted(graph.get(module, ())):
            if found := visit(target, [*path, module]):
                return found
        finished.add(module)
        return None

    return next((found for module in sorted(graph) if (found := visit(module, []))), None)


def violations(graph: Graph) -> list[str]:
    """Imports that point up a layer, reach a plugin from the core, or reach a core internal from a plugin."""
    found = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if is_plugin(module):
                own = next(package for package in PLUGIN_PACKAGES if module.startswith(package))
                if not (target.startswith(("forgebench.plugin", own)) or target in PLUGIN_SERVICES):
                    found.append(f"plugin {module} imports the core internal {target}")
            elif is_plugin(target):
                found.append(f"{module} imports the plugin {target}")
            elif layer(target) > layer(module):
                found.append(f"{module} ({LAYERS[layer(module)] or 'workflows'}) imports {target}, a layer above it")
    return found


MODULES = modules()
GRAPH = {name: imports(name, path, set(MODULES)) for name, path in MODULES.items()}


def test_the_graph_holds_every_layer_and_plugin():
    assert {m.split(".")[1] for m in GRAPH if "." in m} >= {*filter(None, LAYERS), "detectors", "perturbations"}
    assert "forgebench.plugin.contract" in GRAPH["forgebench.detectors.classic.ela"]
    assert "forgebench.evaluation.store" in GRAPH["forgebench.analysis.leaderboard"]


def test_no_import_cycle():
    assert cycle(GRAPH) is None


def test_imports_point_down_and_plugins_stay_at_the_edge():
    assert violations(GRAPH) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"forgebench.analysis.x": {"forgebench.cli.y"}}, "imports forgebench.cli.y, a layer above it"),
        ({"forgebench.data.x": {"forgebench.detectors.ela"}}, "imports the plugin forgebench.detectors.ela"),
        ({"forgebench.detectors.x": {"forgebench.data.catalog"}}, "imports the core internal forgebench.data.catalog"),
    ],
)
def test_planted_violations_are_found(graph, expected):
    assert [expected in line for line in violations(graph)] == [True]


def test_a_planted_cycle_is_found():
    graph = {"forgebench.data.a": {"forgebench.data.b"}, "forgebench.data.b": {"forgebench.data.a"}}
    assert cycle(graph) == ["forgebench.data.a", "forgebench.data.b", "forgebench.data.a"]
