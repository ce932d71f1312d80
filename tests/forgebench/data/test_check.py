"""`datasets check` on small folders laid out like CASIA v1, Coverage, DSO-1 and Columbia."""

from __future__ import annotations

import numpy as np
import pytest
from builders import box, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.decode import read_mask
from forgebench.data.manifest import build_manifest

CATALOG = load_catalog()


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def build_casia1(root):
    write_image(root / "Tp/Sp/Sp_good.jpg")
    write_mask(root / "CASIA 1.0 groundtruth/Sp/Sp_good_gt.png", box(24, 32, 4, 4, 8))
    write_image(root / "Tp/CM/CM_inverted.jpg")
    write_mask(root / "CASIA 1.0 groundtruth/CM/CM_inverted_gt.png", ~box(24, 32, 4, 4, 8))
    write_image(root / "Tp/Sp/Sp_nomask.jpg")
    write_mask(root / "CASIA 1.0 groundtruth/Sp/Sp_orphan_gt.png", box(24, 32, 0, 0, 4))
    write_image(root / "Au/Au_ani_1.jpg")


def test_casia1_layout_reports_each_problem(data):
    build_casia1(data / "CASIAv1")
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.found and not result.ok
    assert (result.tampered, result.authentic) == (2, 1)
    assert result.problems["tampered image without mask"] == ["Tp/Sp/Sp_nomask.jpg"]
    assert result.problems["mask without image"] == ["CASIA 1.0 groundtruth/Sp/Sp_orphan_gt.png"]
    assert [item.split(" ")[0] for item in result.problems["mask looks inverted"]] == ["Tp/CM/CM_inverted.jpg"]
    assert result.problems["count differs from expected"] == [
        "tampered: 2 found, 921 expected",
        "authentic: 1 found, 800 expected",
    ]
    assert "image/mask size mismatch" not in result.problems


def test_two_tampered_images_with_one_key_are_reported_not_dropped_silently(data):
    build_casia1(data / "CASIAv1")
    write_image(data / "CASIAv1/Tp/CM/Sp_good.jpg", seed=5)  # same stem as Tp/Sp/Sp_good.jpg
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.problems["two files for one pairing key (the second is not used)"] == ["Sp_good"]
    assert result.tampered == 2


def test_coverage_layout_size_mismatch_and_clean_pair(data):
    root = data / "Coverage"
    write_image(root / "image/1t.tif")
    write_mask(root / "mask/1forged.tif", box(24, 32, 2, 2, 6))
    write_mask(root / "mask/1copy.tif", box(24, 32, 10, 10, 6))
    write_image(root / "image/2t.tif")
    write_mask(root / "mask/2forged.tif", box(20, 32, 2, 2, 6))
    write_image(root / "image/1.tif")
    write_image(root / "image/2.tif")
    result = check_dataset(CATALOG.dataset("coverage"), data)
    assert (result.tampered, result.authentic) == (2, 2)
    assert result.problems["image/mask size mismatch"] == ["image/2t.tif: size mismatch: image 32×24, mask 32×20"]
    assert set(result.problems) == {"image/mask size mismatch", "count differs from expected"}


def test_dso1_black_is_forged_and_a_white_is_forged_mask_is_flagged(data):
    root = data / "tifs-database"
    write_image(root / "DSO-1/splicing-1.png")
    write_mask(root / "DSO-1-Fake-Images-Masks/splicing-1.png", box(24, 32, 4, 4, 8), forged_value=0, background=255)
    write_image(root / "DSO-1/splicing-2.png")
    write_mask(root / "DSO-1-Fake-Images-Masks/splicing-2.png", box(24, 32, 4, 4, 8))
    write_image(root / "DSO-1/normal-1.png")
    result = check_dataset(CATALOG.dataset("dso1"), data)
    assert (result.tampered, result.authentic) == (2, 1)
    assert [item.split(" ")[0] for item in result.problems["mask looks inverted"]] == ["DSO-1/splicing-2.png"]


def test_columbia_palette_masks_and_ignored_variants(data):
    root = data / "Columbia"
    write_image(root / "4cam_splc/canong3_nikond70_sub_01.tif", 48, 64)
    spliced = box(48, 64, 16, 16, 16) | box(48, 64, 16, 32, 16)
    edge = np.zeros((48, 64, 3), np.uint8)
    edge[:] = (255, 0, 0)
    edge[spliced] = (0, 200, 0)
    edge[0] = (200, 0, 0)
    (root / "4cam_splc/edgemask").mkdir(parents=True)
    Image.fromarray(edge).save(root / "4cam_splc/edgemask/canong3_nikond70_sub_01_edgemask.jpg", quality=75)
    Image.fromarray(~edge).save(root / "4cam_splc/edgemask/canong3_nikond70_sub_01_edgemask_3.jpg")
    write_image(root / "4cam_auth/canong3_02_sub_01.tif", 48, 64)
    spec = CATALOG.dataset("columbia")
    result = check_dataset(spec, data)
    assert (result.tampered, result.authentic) == (1, 1)
    assert set(result.problems) == {"count differs from expected"}
    (tampered,) = [sample for sample in build_manifest(spec, data).samples if sample.mask is not None]
    assert tampered.mask.name == "canong3_nikond70_sub_01_edgemask.jpg"
    np.testing.assert_array_equal(read_mask(tampered.mask, spec.mask_rule).forged, spliced)


def test_missing_dataset_names_the_folder(data):
    result = check_dataset(CATALOG.dataset("nist16"), data)
    assert not result.found
    assert result.problems == {"folder not found": [str(data / "NC2016_Test0613")]}
    assert (result.expected_tampered, result.expected_authentic) == (564, None)
    columbia = check_dataset(CATALOG.dataset("columbia"), data)
    assert (columbia.expected_tampered, columbia.expected_authentic) == (180, 183)


def test_unreadable_authentic_image_is_reported(data):
    root = data / "CASIAv1"
    write_image(root / "Sp/a.jpg")
    write_mask(root / "groundtruth/a_gt.png", box(24, 32, 4, 4, 8))
    write_image(root / "Au/Au_good.jpg")
    (root / "Au/Au_broken.jpg").write_bytes(b"truncated")
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert (result.tampered, result.authentic) == (1, 2)
    (unreadable,) = result.problems["unreadable file"]
    assert unreadable.startswith(f"Cannot decode {root / 'Au/Au_broken.jpg'}")


def test_non_binary_and_empty_masks(data, tmp_path):
    root = data / "CASIAv1"
    write_image(root / "Sp/a.jpg")
    grey = np.zeros((24, 32), np.uint8)
    grey[4:12, 4:12] = 200
    grey[4:6, 4:6] = 90
    (root / "groundtruth").mkdir(parents=True)
    Image.fromarray(grey).save(root / "groundtruth/a_gt.png")
    write_image(root / "Sp/b.jpg")
    write_mask(root / "groundtruth/b_gt.png", np.zeros((24, 32), bool))
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.problems["non-binary mask"] == ["Sp/a.jpg"]
    assert result.problems["empty mask on a tampered image"] == ["Sp/b.jpg"]
