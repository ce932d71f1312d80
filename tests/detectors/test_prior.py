"""The spatial prior: golden fits, the map at the protocol's threshold, fitted on the fly or from its file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import box, write_image, write_mask
from typer.testing import CliRunner

from forgebench.cli import app
from forgebench.detectors.prior import Prior, fit_prior, read_prior, write_prior
from forgebench.evaluation.metrics import score_image

LEFT = np.array([[1, 0], [1, 0]], bool)
TOP = np.array([[1, 1], [0, 0]], bool)


def test_two_masks_give_their_mean_and_the_best_f1_level():
    """Coverage [[1, .5], [.5, 0]]. Calling the cells above 0.5 forged gives each mask F1 2/3, above 0 gives 4/5,
    all cells 2/3: the level is 0, and the three covered cells exceed 0.5 in the map."""
    prior = fit_prior([LEFT, TOP], grid=2)
    np.testing.assert_array_equal(prior.coverage, [[1.0, 0.5], [0.5, 0.0]])
    assert prior.level == 0.0
    probability = prior.probability(2, 2)
    np.testing.assert_allclose(probability, [[1.0, 0.75], [0.75, 0.0]])
    assert [score_image(probability, mask, "tampered").f1 for mask in (LEFT, TOP)] == pytest.approx([0.8, 0.8])


def test_masks_are_averaged_on_the_grid_whatever_their_size():
    wide = np.zeros((4, 8), bool)
    wide[:, :4] = True  # the left half, at another size and aspect
    prior = fit_prior([LEFT, wide], grid=2)
    np.testing.assert_array_equal(prior.coverage, [[1.0, 0.0], [1.0, 0.0]])
    assert (
        prior.level == 0.0 and prior.probability(6, 6)[:, :2].min() > 0.5 and prior.probability(6, 6)[:, 4:].max() == 0
    )
    with pytest.raises(ValueError, match="no tampered image"):
        fit_prior([], grid=2)


def test_a_file_keeps_the_prior_and_its_provenance(tmp_path):
    prior = Prior(np.array([[0.25, 0.5], [0.0, 1.0]], np.float32), 0.25)
    path = write_prior(prior, tmp_path / "p.safetensors", {"fit": ["x"]})
    read, provenance = read_prior(path)
    np.testing.assert_array_equal(read.coverage, prior.coverage)
    assert (read.level, read.digest, provenance) == (0.25, prior.digest, {"fit": ["x"]})
    (tmp_path / "bad.safetensors").write_bytes(b"not a prior")
    with pytest.raises(ValueError, match=r"bad\.safetensors is not a forgebench prior"):
        read_prior(tmp_path / "bad.safetensors")


SAME_BOX = """
  {name}:
    title: one box everywhere
    root: {root}
    tampered: {{images: ["images/*"]}}
    masks: {{files: ["masks/*.png"], forged_if: "> 127"}}
"""


def test_fitted_on_a_split_it_finds_the_region_its_forgeries_share(tmp_path):
    """Every mask is the same 16×16 box on a 32×32 image, aligned with the 8×8 grid: the prior marks that box
    exactly, fitted on the fly (``fit``) or trained to a file first; both score F1 = IoU = 1 on a test split."""
    catalog = tmp_path / "boxes.yaml"
    for name in ("boxes-train", "boxes-test"):
        for index in range(3):
            write_image(tmp_path / name / f"images/{index}.png", 32, 32, seed=index)
            write_mask(tmp_path / name / f"masks/{index}.png", box(32, 32, 8, 8, 16))
    text = "datasets:" + "".join(SAME_BOX.format(name=n, root=tmp_path / n) for n in ("boxes-train", "boxes-test"))
    catalog.write_text(text, encoding="utf-8")
    cli = CliRunner(env={"COLUMNS": "250"})
    common = ["--dataset", "boxes-test", "--catalog", str(catalog), "--results", str(tmp_path / "r")]
    settings = ["fit=boxes-train", "grid=8", f"catalog={catalog}"]
    fitted = cli.invoke(app, ["run", "prior", *(f"--option={s}" for s in settings), *common])
    assert fitted.exit_code == 0, fitted.output
    output = f"output={tmp_path / 'prior.safetensors'}"
    trained = cli.invoke(app, ["train", "prior", *(f"--set={s}" for s in [*settings, output])])
    assert trained.exit_code == 0, trained.output
    prior, provenance = read_prior(tmp_path / "prior.safetensors")
    assert provenance["fit"] == ["boxes-train"] and provenance["tampered_images"] == {"boxes-train": 3}
    from_file = cli.invoke(app, ["run", "prior", "-o", f"file={tmp_path / 'prior.safetensors'}", *common])
    assert from_file.exit_code == 0 and "0 already recorded" in from_file.output  # another configuration, same map
    board = cli.invoke(
        app, ["leaderboard", "--dataset", "boxes-test", "--catalog", str(catalog), "--results", str(tmp_path / "r")]
    )
    long = pd.read_csv(tmp_path / "r/leaderboard-long.csv")
    assert board.exit_code == 0 and len(long) == 2
    assert long.f1.tolist() == [1.0, 1.0] and long.iou.tolist() == [1.0, 1.0]
    assert long.weights_digest.nunique() == 1 and long.weights_digest[0] == prior.digest
