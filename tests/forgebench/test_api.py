"""``forgebench.evaluate``: a function, a plugin or a name, with the CLI's store, cache, resume and protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import pairs_dataset
from typer.testing import CliRunner

import forgebench
from forgebench.cli import app
from forgebench.data.catalog import load_catalog
from forgebench.data.decode import read_rgb
from forgebench.data.manifest import build_manifest
from forgebench.plugin import registry
from forgebench.plugin.contract import DetectorCard, DetectorPlugin
from forgebench.plugin.function import NoOptions, function_plugin


def red(pixels: np.ndarray) -> np.ndarray:
    """A map that differs from image to image: the red channel."""
    return pixels[..., 0] / 255.0


def test_a_function_resumes_without_being_called_and_scores_as_the_cli_does(tmp_path):
    calls = []

    def mine(pixels):
        calls.append(pixels.shape)
        return red(pixels)

    first = forgebench.evaluate(lambda px: mine(px), name="mine", suite="synthetic", results=tmp_path / "r")
    assert first.calls > 0 and len(calls) == 180 and first.label == "mine"  # 60 images × 3 datasets
    again = forgebench.evaluate(lambda px: mine(px), name="mine", suite="synthetic", results=tmp_path / "r")
    assert again.calls == 0 and len(calls) == 180 and again.fingerprint == first.fingerprint
    pd.testing.assert_frame_equal(again.leaderboard(), first.leaderboard())
    # the same maps, written to files and scored by `forgebench run masks-dir`
    maps = tmp_path / "maps"
    for spec in load_catalog().resolve("synthetic"):
        for sample in build_manifest(spec).samples:
            (maps / sample.image_id).parent.mkdir(parents=True, exist_ok=True)
            np.save((maps / sample.image_id).with_suffix(".npy"), red(read_rgb(sample.image)))
    ran = CliRunner().invoke(app, ["run", "masks-dir", "-o", f"root={maps}", "--label", "files", "--suite",
                                   "synthetic", "--results", str(tmp_path / "r")])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    table = first.leaderboard().set_index("Detector")
    numbers = [c for c in table.columns if c.endswith(("F1", "IoU"))]
    assert table.loc["mine", numbers].tolist() == table.loc["files", numbers].tolist()
    assert 0 < table.loc["mine", "Weighted Avg. F1"] < 1


@pytest.fixture
def tiny(tmp_path):
    return {
        "catalog": [pairs_dataset(tmp_path / "data")],
        "suite": "tiny",
        "results": tmp_path / "r",
        "progress": False,
    }


def test_an_edited_function_is_a_new_configuration_and_a_version_names_what_code_does_not(tiny):
    one = forgebench.evaluate(red, name="mine", **tiny)
    edited = forgebench.evaluate(lambda px: 1 - red(px), name="mine", **tiny)
    weights = forgebench.evaluate(red, name="mine", version="weights-2", **tiny)
    assert len({one.fingerprint, edited.fingerprint, weights.fingerprint}) == 3
    assert edited.calls > 0 and weights.calls > 0
    labels = set(one.leaderboard().Detector)
    assert labels == {f"mine#{r.fingerprint[:8]}" for r in (one, edited, weights)}
    long = one.long().set_index("detector")
    assert long.loc[weights.label, "weights_digest"].endswith(", version weights-2")


def test_a_plugin_or_a_name_runs_for_the_call_and_compares(tiny):
    plugin = function_plugin(red, "red")
    flat = DetectorPlugin(DetectorCard("flat", "half everywhere"), NoOptions, plugin.build, plugin.digest)
    results = forgebench.evaluate(flat, perturb=["clean", "jpeg:q=70"], label="flat-plugin", **tiny)
    assert "flat" not in registry.detectors.names()  # registered for the call only
    forgebench.evaluate("all-forged", **tiny)
    assert results.label == "flat-plugin"
    assert set(results.leaderboard().Detector) == {"flat-plugin", "all-forged"}
    comparison = results.compare("all-forged")
    assert list(comparison.dataset) == ["tiny"] and comparison.attrs["verdicts"]
    summary = results.robustness()
    assert list(summary.perturbation) == ["clean", "jpeg(q=70,ss=420)"] and "all-forged" in summary.columns
    written = results.write(Path(tiny["results"]) / "files")
    assert sorted(p.name for p in written) == sorted(
        ["leaderboard.md", "leaderboard.csv", "leaderboard-long.csv", "robustness-custom.md", "robustness-custom.csv"]
    )


def test_bad_calls_are_refused_before_anything_runs(tiny):
    with pytest.raises(ValueError, match="give name="):
        forgebench.evaluate(red, **tiny)
    with pytest.raises(ValueError, match="detector name 'ela' is taken"):
        forgebench.evaluate(red, name="ela", **tiny)
    with pytest.raises(ValueError, match="describe a function; to name a detector's row, give label="):
        forgebench.evaluate("ela", name="mine", **tiny)
    with pytest.raises(ValueError, match="may not contain"):
        forgebench.evaluate(red, name="mine", label="a|b", **tiny)
    assert not (Path(tiny["results"]) / "forgebench.sqlite").exists()
    assert "mine" not in registry.detectors.names()


def test_a_function_that_fails_on_an_image_costs_only_that_image(tiny):
    def picky(pixels):
        if pixels[0, 0, 0] % 2:
            raise RuntimeError("odd corner")
        return red(pixels)

    results = forgebench.evaluate(picky, name="picky", **tiny)  # one batch of 7: retried image by image
    long = results.long().iloc[0]
    assert long.n_errors > 0 and long.n_errors + long.n_tampered + long.n_authentic == 7
