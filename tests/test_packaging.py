"""What ``pip install`` puts on disk: the ``forgebench`` package alone at the top of site-packages, with
``detectors/`` and ``perturbations/`` inside its namespace, and entry points that resolve to the installed code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import distribution
from pathlib import Path

import forgebench.detectors

REPO = Path(__file__).parents[1]
GROUPS = ("forgebench.detectors", "forgebench.perturbations", "forgebench.trainers")
REPORT = textwrap.dedent(
    """
    import json, sys
    from importlib.metadata import distribution
    dist = distribution("forgebench")
    tops = sorted({str(f).split("/")[0] for f in dist.files if not str(f).startswith(("..", "forgebench-"))})
    loaded = {}
    for entry in dist.entry_points:
        if entry.group.startswith("forgebench."):
            loaded[entry.name + "@" + entry.group] = sys.modules[entry.load().__module__].__file__
    print(json.dumps({"tops": tops, "loaded": loaded, "files": [str(f) for f in dist.files]}))
    """
)


def checkout_copy(target: Path) -> Path:
    """The files a clean checkout has (tracked, plus new ones not ignored), copied with their symbolic links."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.exists() or source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    return target


def test_install_puts_only_forgebench_at_the_top_and_entry_points_resolve(tmp_path):
    source = checkout_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    # No pip of its own: the outer pip and setuptools (seen through the system site) install into the venv.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(source)]
    subprocess.run(install, check=True, capture_output=True)
    report = subprocess.run([python, "-c", REPORT], capture_output=True, text=True, check=True, cwd=tmp_path)
    found = json.loads(report.stdout)
    assert found["tops"] == ["forgebench"]
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert {name.split("@")[1] for name in found["loaded"]} == set(GROUPS)
    assert "clue@forgebench.detectors" in found["loaded"] and "osn@forgebench.perturbations" in found["loaded"]
    for name, file in found["loaded"].items():
        assert Path(file).is_relative_to(site), name
    shipped = set(found["files"])
    for data in (
        "data/datasets.yaml",
        "evaluation/grids.yaml",
        "render/templates/report.html",
        "detectors/clue/demo.yaml",
    ):
        assert f"forgebench/{data}" in shipped, data
    assert (site / "forgebench/data/datasets.yaml").read_text() == (REPO / "datasets.yaml").read_text()


def test_the_editable_install_maps_the_plugin_folders_into_the_namespace():
    """The suite runs on ``pip install -e .``: the namespaced plugins come from the repository's own folders."""
    assert Path(forgebench.detectors.__file__).parent == REPO / "detectors"
    entries = [e for e in distribution("forgebench").entry_points if e.group in GROUPS]
    assert len(entries) >= 14
    for entry in entries:
        assert entry.value.startswith(("forgebench.detectors.", "forgebench.perturbations.")), entry.value
        assert entry.load() is not None
