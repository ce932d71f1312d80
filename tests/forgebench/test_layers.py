"""The shape of the package, read from its import graph: no cycles, no import pointing up a layer, plugins at the edge.

Layers, bottom to top: ``plugin`` (what plugin authors import) → ``data`` → ``evaluation`` → ``analysis`` →
``render`` → the workflows at the package's top level → ``cli``. A module may import its own layer and the layers
below. Plugins (``forgebench.detectors``, ``forgebench.perturbations``) import the plugin layer, the public
services named in ``PLUGIN_SERVICES``, and their own package; the core never imports a plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
LAYERS = ("plugin", "data", "evaluation", "analysis", "render", "", "cli")
PLUGIN_PACKAGES = ("forgebench.detectors", "forgebench.perturbations")
PLUGIN_SERVICES = ("forgebench.data.training", "forgebench.evaluation.metrics")
"""What the data and evaluation layers offer plugins: training pairs, and the protocol's scorer for validation."""
SOURCES = {"forgebench": REPO / "forgebench", **{name: REPO / name.split(".")[1] for name in PLUGIN_PACKAGES}}


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
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def layer(module: str) -> int:
    """Rank of a core module in ``LAYERS`` (top-level modules share the workflows' rank)."""
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "")


def is_plugin(module: str) -> bool:
    return module.startswith(PLUGIN_PACKAGES)


def test_the_graph_covers_every_layer_and_plugin():
    assert {m.split(".")[1] for m in GRAPH if m.count(".") >= 1} >= {
        *filter(None, LAYERS),
        "detectors",
        "perturbations",
    }
    assert "forgebench.plugin.contract" in GRAPH["forgebench.detectors.classic.ela"]


def test_no_import_cycle():
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " → ".join([*path[path.index(module) :], module]))
        if module not in finished:
            for target in sorted(GRAPH[module]):
                visit(target, [*path, module])
            finished.add(module)

    for module in sorted(GRAPH):
        visit(module, [])


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if not is_plugin(m)))
def test_core_imports_point_down_and_never_at_a_plugin(module):
    for target in GRAPH[module]:
        assert not is_plugin(target), f"{module} imports the plugin {target}"
        assert layer(target) <= layer(module), f"{module} ({LAYERS[layer(module)] or 'top'}) imports {target} above it"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if is_plugin(m)))
def test_plugins_import_only_the_plugin_layer_and_public_services(module):
    own = next(package for package in PLUGIN_PACKAGES if module.startswith(package))
    for target in GRAPH[module]:
        allowed = target.startswith(("forgebench.plugin", own)) or target in PLUGIN_SERVICES
        assert allowed, f"{module} imports {target}, a core internal"


def test_a_planted_upward_import_and_cycle_are_found(tmp_path):
    """The checks can fail: an analysis module importing the CLI, and two modules importing each other."""
    graph = {"forgebench.analysis.x": {"forgebench.cli.y"}, "forgebench.cli.y": {"forgebench.analysis.x"}}
    assert layer("forgebench.cli.y") > layer("forgebench.analysis.x")
    assert layer("forgebench.demo") == LAYERS.index("")
    assert "forgebench.analysis.x" in graph["forgebench.cli.y"] and "forgebench.cli.y" in graph["forgebench.analysis.x"]
