"""Plugin discovery through entry points, lazily, with suggestions for unknown names."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from builders import pairs_dataset

from forgebench.plugin import registry
from forgebench.plugin.contract import DetectorPlugin
from forgebench.plugin.registry import Registry, UnknownPluginError

PLUGIN_MODULE = textwrap.dedent(
    """
    from dataclasses import dataclass

    import numpy as np

    from forgebench.plugin import Detector, DetectorCard, DetectorPlugin, Prediction


    @dataclass(frozen=True)
    class Options:
        level: float = 0.75


    class Flat(Detector):
        def __init__(self, level):
            self.level = level

        def predict(self, batch):
            return [Prediction(np.full(i.pixels.shape[:2], self.level, np.float32)) for i in batch]


    PLUGIN = DetectorPlugin(
        card=DetectorCard(name="flat-third-party", summary="a plugin from another package"),
        options=Options,
        build=lambda options, device: Flat(options.level),
    )
    """
)


def install_fake_distribution(site):
    """What `pip install` of a package declaring one forgebench.detectors entry point leaves on disk."""
    (site / "flatplug").mkdir(parents=True)
    (site / "flatplug/__init__.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    info = site / "flatplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flatplug\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[forgebench.detectors]\nflat-third-party = flatplug:PLUGIN\n", encoding="utf-8"
    )


def forgebench_cli(*args, site, home):
    env = {**os.environ, "PYTHONPATH": str(site), "FORGEBENCH_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "forgebench", *args], capture_output=True, text=True, env=env)


def test_third_party_plugin_is_discovered_and_run(tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site)
    catalog = pairs_dataset(tmp_path / "tiny")
    listed = forgebench_cli("list", "detectors", site=site, home=tmp_path / "home")
    assert "flat-third-party" in listed.stdout and "a plugin from another package" in listed.stdout
    results = tmp_path / "results"
    ran = forgebench_cli(
        "run", "flat-third-party", "--dataset", "tiny", "--catalog", str(catalog), "--results", str(results),
        "--option", "level=0.25", site=site, home=tmp_path / "home",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    board = forgebench_cli(
        "leaderboard", "--dataset", "tiny", "--catalog", str(catalog), "--results", str(results),
        site=site, home=tmp_path / "home",
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    csv = (results / "leaderboard.csv").read_text()
    assert "flat-third-party[level=0.25]" in csv


def test_builtins_are_declared_as_entry_points():
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    assert {"ela", "noi1", "adq1", "all-forged", "all-pristine", "masks-dir"} <= set(fresh.names())
    assert fresh.get("all-forged").card.name == "all-forged"


def test_unknown_name_suggests_a_close_match():
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    with pytest.raises(UnknownPluginError, match="Did you mean 'all-forged'"):
        fresh.get("all-forgd")


def test_entry_of_the_wrong_type_is_refused():
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    fresh.register("broken", "forgebench.evaluation.metrics:THRESHOLD")
    with pytest.raises(TypeError, match="expected a DetectorPlugin"):
        fresh.get("broken")


def test_plugins_are_imported_only_when_chosen():
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    fresh.register("lazy", "module_that_does_not_exist:PLUGIN")
    assert "lazy" in fresh.names()
    with pytest.raises(ModuleNotFoundError):
        fresh.get("lazy")
