"""`datasets check` on small datasets in the prepared form: pairing, polarity, sizes, counts, unreadable files."""

from __future__ import annotations

import numpy as np
import pytest
from builders import box, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset

CATALOG = load_catalog()


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def build_casia1(root):
    """A dataset in the prepared form (read as it lies: no lock) with one of each pairing problem."""
    write_image(root / "images/Sp_good.jpg")
    write_mask(root / "masks/Sp_good.png", box(24, 32, 4, 4, 8))
    write_image(root / "images/CM_inverted.jpg")
    write_mask(root / "masks/CM_inverted.png", ~box(24, 32, 4, 4, 8))
    write_image(root / "images/Sp_nomask.jpg")
    write_mask(root / "masks/Sp_orphan.png", box(24, 32, 0, 0, 4))
    write_image(root / "authentic/Au_ani_1.jpg")


def test_casia1_layout_reports_each_problem(data):
    build_casia1(data / "casia1")
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.found and not result.ok and result.lock is None
    assert (result.tampered, result.authentic) == (2, 1)
    assert result.problems["tampered image without mask"] == ["images/Sp_nomask.jpg"]
    assert result.problems["mask without image"] == ["masks/Sp_orphan.png"]
    assert [item.split(" ")[0] for item in result.problems["mask looks inverted"]] == ["images/CM_inverted.jpg"]
    assert result.problems["count differs from expected"] == [
        "tampered: 2 found, 920 expected",
        "authentic: 1 found, 800 expected",
    ]
    assert "image/mask size mismatch" not in result.problems


def test_two_tampered_images_with_one_key_are_reported_not_dropped_silently(data):
    build_casia1(data / "casia1")
    write_image(data / "casia1/images/Sp_good.png", seed=5)  # same stem as images/Sp_good.jpg
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.problems["two files for one pairing key (the second is not used)"] == ["Sp_good"]
    assert result.tampered == 2


def test_size_mismatch_and_clean_pair(data):
    root = data / "coverage"
    write_image(root / "images/1t.tif")
    write_mask(root / "masks/1t.png", box(24, 32, 2, 2, 6))
    write_image(root / "images/2t.tif")
    write_mask(root / "masks/2t.png", box(20, 32, 2, 2, 6))
    write_image(root / "authentic/1.tif")
    write_image(root / "authentic/2.tif")
    result = check_dataset(CATALOG.dataset("coverage"), data)
    assert (result.tampered, result.authentic) == (2, 2)
    assert result.problems["image/mask size mismatch"] == ["images/2t.tif: size mismatch: image 32×24, mask 32×20"]
    assert set(result.problems) == {"image/mask size mismatch", "count differs from expected"}


def test_missing_dataset_names_the_folder(data):
    result = check_dataset(CATALOG.dataset("nist16"), data)
    assert not result.found
    assert result.problems == {"folder not found": [str(data / "nist16")]}
    assert (result.expected_tampered, result.expected_authentic) == (564, None)
    columbia = check_dataset(CATALOG.dataset("columbia"), data)
    assert (columbia.expected_tampered, columbia.expected_authentic) == (180, 183)


def test_a_folder_without_the_prepared_form_says_how_to_prepare_it(data):
    write_image(data / "dso1/DSO-1/splicing-1.png")
    result = check_dataset(CATALOG.dataset("dso1"), data)
    (reason,) = result.problems
    assert reason.endswith("(prepare it: forgebench datasets prepare dso1 --from DOWNLOAD…)")


def test_unreadable_authentic_image_is_reported(data):
    root = data / "casia1"
    write_image(root / "images/a.jpg")
    write_mask(root / "masks/a.png", box(24, 32, 4, 4, 8))
    write_image(root / "authentic/Au_good.jpg")
    (root / "authentic/Au_broken.jpg").write_bytes(b"truncated")
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert (result.tampered, result.authentic) == (1, 2)
    (unreadable,) = result.problems["unreadable file"]
    assert unreadable.startswith(f"Cannot decode {root / 'authentic/Au_broken.jpg'}")


def test_non_binary_and_empty_masks(data, tmp_path):
    root = data / "casia1"
    write_image(root / "images/a.jpg")
    grey = np.zeros((24, 32), np.uint8)
    grey[4:12, 4:12] = 200
    grey[4:6, 4:6] = 90
    (root / "masks").mkdir(parents=True)
    Image.fromarray(grey).save(root / "masks/a.png")
    write_image(root / "images/b.jpg")
    write_mask(root / "masks/b.png", np.zeros((24, 32), bool))
    result = check_dataset(CATALOG.dataset("casia1"), data)
    assert result.problems["non-binary mask"] == ["images/a.jpg"]
    assert result.problems["empty mask on a tampered image"] == ["images/b.jpg"]
