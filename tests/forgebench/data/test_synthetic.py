"""The embedded synthetic suite: exact masks, layout, determinism, disjoint splits and the atomic cache."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.decode import MaskRule, read_mask
from forgebench.data.synthetic import (
    GENERATOR_VERSION,
    KINDS,
    SOURCE_SPLITS,
    SyntheticConfig,
    config_hash,
    describe,
    ensure_synthetic,
    forge,
    make_sample,
)
from forgebench.data.synthetic import build as build_module
from forgebench.data.synthetic.regions import AREA_FRACTION
from forgebench.data.synthetic.sources import load_photo

TINY = SyntheticConfig(
    train_tampered=2, train_authentic=1, val_tampered=1, val_authentic=1, test_tampered=2, test_authentic=1
)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return ensure_synthetic(tmp_path_factory.mktemp("cache"), TINY)


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_rebuild_is_byte_identical_whatever_the_worker_count(tiny_root, tmp_path):
    build_module.build(tmp_path / "serial", TINY, workers=1)
    assert _files(tmp_path / "serial") == _files(tiny_root)


def test_a_sample_does_not_depend_on_how_many_others_are_built(tmp_path):
    only_test = {"train_tampered": 0, "train_authentic": 0, "val_tampered": 0, "val_authentic": 0}
    one = ensure_synthetic(tmp_path, SyntheticConfig(**only_test, test_tampered=1, test_authentic=1))
    two = ensure_synthetic(tmp_path, SyntheticConfig(**only_test, test_tampered=3, test_authentic=2))
    assert one != two
    files_one, files_two = _files(one), _files(two)
    assert len(files_one) == 3 * 3 + 1
    assert all(files_two[name] == content for name, content in files_one.items() if name != "synthetic.json")


def test_layout_ids_and_counts(tiny_root):
    assert tiny_root.name == f"synthetic-{config_hash(TINY)}"
    for split in SOURCE_SPLITS:
        tampered_count, authentic_count = TINY.counts(split)
        for kind in KINDS:
            folder = tiny_root / split / kind
            images = sorted(path.name for path in (folder / "images").iterdir())
            masks = sorted(path.name for path in (folder / "masks").iterdir())
            authentic = sorted(path.name for path in (folder / "authentic").iterdir())
            assert [name.rsplit(".", 1)[0] for name in images] == [f"{kind}-{i:04d}" for i in range(tampered_count)]
            assert masks == [f"{kind}-{i:04d}.png" for i in range(tampered_count)]
            assert [name.rsplit(".", 1)[0] for name in authentic] == [f"auth-{i:04d}" for i in range(authentic_count)]
            assert {name.rsplit(".", 1)[1] for name in images + authentic} <= {"jpg", "png"}


def test_manifest_records_version_config_sources_and_counts(tiny_root):
    manifest = json.loads((tiny_root / "synthetic.json").read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert SyntheticConfig(**manifest["config"]) == TINY
    assert manifest["sources"] == {split: list(photos) for split, photos in SOURCE_SPLITS.items()}
    assert manifest["counts"]["val"]["removal"] == {"tampered": 1, "authentic": 1}
    assert "val   splice 1+1, copymove 1+1, removal 1+1" in describe(tiny_root)


def test_masks_are_binary_non_empty_and_sized_like_their_image(tiny_root):
    masks = sorted(tiny_root.glob("*/*/masks/*.png"))
    assert len(masks) == 3 * sum(TINY.counts(split)[0] for split in SOURCE_SPLITS)
    for mask_path in masks:
        (image_path,) = mask_path.parent.parent.joinpath("images").glob(f"{mask_path.stem}.*")
        with Image.open(mask_path) as mask_image, Image.open(image_path) as image:
            assert mask_image.mode == "L" and mask_image.size == image.size
            values = np.asarray(mask_image)
        assert set(np.unique(values).tolist()) == {0, 255}
        assert AREA_FRACTION[0] <= (values == 255).mean() <= AREA_FRACTION[1]
        assert read_mask(mask_path, MaskRule("> 127")).forged.sum() == (values == 255).sum()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("split", "index"), [("test", 0), ("test", 5), ("train", 3), ("val", 1)])
def test_pixels_change_only_inside_the_mask(kind, split, index):
    sample = make_sample(7, split, kind, index, tampered=True)
    changed = (sample.image != sample.pristine).any(axis=2)
    assert sample.mask.dtype == bool and sample.mask.shape == sample.image.shape[:2]
    assert not (changed & ~sample.mask).any()
    # A loose mask would pass the line above; nearly all masked pixels must really have been replaced
    # (inpainting may reproduce smooth pixels exactly, more so where the region meets the border).
    assert changed[sample.mask].mean() > {"splice": 0.97, "copymove": 0.9, "removal": 0.7}[kind]


def test_authentic_sample_is_the_untouched_pipeline():
    sample = make_sample(7, "test", "splice", 0, tampered=False)
    assert sample.mask is None
    assert sample.image is sample.pristine


def test_written_files_hold_the_sample(tiny_root):
    for kind in KINDS:
        sample = make_sample(TINY.seed, "train", kind, 1, tampered=True)
        folder = tiny_root / "train" / kind
        image_path = folder / "images" / f"{kind}-0001{sample.save.suffix}"
        decoded = np.asarray(Image.open(image_path).convert("RGB"))
        assert decoded.shape == sample.image.shape
        if sample.save.format == "png":
            np.testing.assert_array_equal(decoded, sample.image)
        np.testing.assert_array_equal(np.asarray(Image.open(folder / "masks" / f"{kind}-0001.png")) == 255, sample.mask)


def test_final_save_formats_follow_one_distribution_for_tampered_and_authentic():
    tampered = [make_sample(0, "test", "splice", i, tampered=True).save for i in range(30)]
    authentic = [make_sample(0, "test", "splice", i, tampered=False).save for i in range(30)]
    for saves in (tampered, authentic):
        assert {save.format for save in saves} == {"jpeg", "png"}
        qualities = [save.quality for save in saves if save.format == "jpeg"]
        assert forge.RESAVE_QUALITY[0] <= min(qualities) and max(qualities) <= forge.RESAVE_QUALITY[1]


def test_splits_use_disjoint_bundled_photographs(monkeypatch):
    for first, second in combinations(SOURCE_SPLITS.values(), 2):
        assert not set(first) & set(second)
    # Every pixel of a sample is cut from a photograph that load_photo returns: record which ones each split reads.
    used: list[str] = []
    monkeypatch.setattr(forge, "load_photo", lambda name: used.append(name) or load_photo(name))
    for split, photos in SOURCE_SPLITS.items():
        for kind in KINDS:
            for index, tampered in ((0, True), (1, True), (0, False)):
                used.clear()
                make_sample(0, split, kind, index, tampered)
                assert used and set(used) <= set(photos), (split, kind, index, tampered, used)
                if kind == "splice" and tampered:
                    assert len(set(used)) >= 2  # the donor is another photograph of the same split


def test_catalog_expects_the_default_counts_of_each_split():
    catalog = load_catalog()
    for split, prefix in (("test", "syn-"), ("train", "syn-train-"), ("val", "syn-val-")):
        for kind in KINDS:
            spec = catalog.dataset(prefix + kind)
            assert (spec.generated["split"], spec.generated["kind"]) == (split, kind)
            assert (spec.expected_tampered, spec.expected_authentic) == SyntheticConfig().counts(split)


def test_every_source_loads_offline_as_rgb():
    for photos in SOURCE_SPLITS.values():
        for name in photos:
            pixels = load_photo(name)
            assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
            assert not pixels.flags.writeable


def test_a_complete_root_is_reused_without_rebuilding(tiny_root, monkeypatch):
    stamp = (tiny_root / "synthetic.json").stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt a complete suite")

    monkeypatch.setattr(build_module, "build", refuse)
    assert ensure_synthetic(tiny_root.parent, TINY) == tiny_root
    assert (tiny_root / "synthetic.json").stat().st_mtime_ns == stamp


def test_an_interrupted_build_leaves_nothing_under_the_final_name(tmp_path, monkeypatch):
    real_build = build_module.build

    def interrupted(root, config, workers=1):
        (root / "test").mkdir()
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic(tmp_path, TINY)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(build_module, "build", real_build)
    root = ensure_synthetic(tmp_path, TINY)
    assert [path.name for path in tmp_path.iterdir()] == [root.name]


def test_seed_changes_the_suite_and_bad_counts_are_refused(tmp_path):
    assert config_hash(SyntheticConfig(seed=1)) != config_hash(SyntheticConfig())
    seeds = [make_sample(seed, "test", "removal", 0, tampered=True).image for seed in (0, 1)]
    assert seeds[0].shape != seeds[1].shape or not np.array_equal(*seeds)
    with pytest.raises(ValueError, match="test_tampered"):
        SyntheticConfig(test_tampered=-1)


@pytest.mark.parametrize("kind", KINDS)
def test_forged_regions_cover_the_corners_as_often_as_the_centre(kind):
    """Placement does not favour the middle of the frame: over 150 test samples, the share covering the corner
    quarters' outer cells is within a factor 2.5 of the centre's (it was about 1/100 when regions stayed inside)."""
    grids = [
        cv2.resize(
            make_sample(3, "test", kind, index, True).mask.astype(np.float32), (8, 8), interpolation=cv2.INTER_AREA
        )
        for index in range(150)
    ]
    coverage = np.mean(grids, axis=0)
    centre = coverage[3:5, 3:5].mean()
    corners = np.mean([coverage[:2, :2], coverage[:2, -2:], coverage[-2:, :2], coverage[-2:, -2:]])
    assert 1 / 2.5 < corners / centre < 2.5, (corners, centre)
