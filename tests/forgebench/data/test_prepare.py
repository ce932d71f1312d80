"""``prepare``'s mechanics: the lock round trip, named options and fixes, refusals, links, user variants, exclusions."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import box, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.manifest import build_manifest
from forgebench.data.prepare import PrepareError, prepare

CATALOG = load_catalog()


def coverage_download(root: Path, n: int = 3, mismatched: int = 2) -> Path:
    """The Coverage layout with ``n`` forged/original pairs; mask ``mismatched`` is 2 rows taller than its image."""
    top = root / "COVERAGE"
    for index in range(1, n + 1):
        write_image(top / f"image/{index}t.tif", seed=index)
        write_image(top / f"image/{index}.tif", seed=50 + index)
        height = 26 if index == mismatched else 24
        write_mask(top / f"mask/{index}forged.tif", box(height, 32, 2, 2, 4 + index))
    return top


def test_prepare_lock_check_round_trip_names_a_changed_a_missing_and_an_extra_file(tmp_path):
    spec = CATALOG.dataset("coverage")
    prepare(spec, [coverage_download(tmp_path)], tmp_path / "data")
    result = check_dataset(spec, tmp_path / "data")
    assert result.lock and result.problems == {
        "image/mask size mismatch": ["images/2t.tif: size mismatch: image 32×24, mask 32×26"],  # flagged, kept
        "count differs from expected": ["tampered: 3 found, 100 expected", "authentic: 3 found, 100 expected"],
    }
    root = tmp_path / "data" / "coverage"
    image = root / "images/1t.tif"
    data = bytearray(image.read_bytes())
    data[-1] ^= 0xFF  # one byte of pixel data: same size, another file
    image.write_bytes(bytes(data))
    (root / "masks/3t.png").unlink()
    (root / "authentic/stray.png").write_bytes((root / "authentic/1.tif").read_bytes())
    problems = check_dataset(spec, tmp_path / "data").problems
    assert problems["file differs from the lock"] == ["images/1t.tif"]
    assert problems["file in the lock is missing"] == ["masks/3t.png"]
    assert problems["file not in the lock"] == ["authentic/stray.png"]


@pytest.mark.parametrize(
    ("action", "tampered", "mask_rows"), [("flag", 3, 26), ("resize-nearest", 3, 24), ("drop", 2, None)]
)
def test_size_mismatched_masks_are_flagged_resized_or_dropped_and_recorded(tmp_path, action, tampered, mask_rows):
    spec = CATALOG.dataset("coverage")
    lock = prepare(spec, [coverage_download(tmp_path)], tmp_path / "data", options={"mismatch": action}).lock
    assert lock.options["mismatch"] == action
    assert lock.fixes == [{"fix": "mismatch", "action": action, "files": ["images/2t.tif (image 32×24, mask 32×26)"]}]
    assert lock.counts["tampered"] == tampered
    mask = tmp_path / "data/coverage/masks/2t.png"
    assert (np.asarray(Image.open(mask)).shape[0] if mask.exists() else None) == mask_rows


def test_a_subset_list_keeps_the_listed_images_and_is_recorded_by_content(tmp_path):
    listing = tmp_path / "keep.txt"
    listing.write_text("1t.tif\n3t\n", encoding="utf-8")
    lock = prepare(
        CATALOG.dataset("coverage"), [coverage_download(tmp_path)], tmp_path / "data", options={"subset": str(listing)}
    ).lock
    assert lock.counts == {"tampered": 2, "authentic": 0}
    assert lock.options["subset"].startswith("keep.txt sha256:")
    assert lock.fixes[-1]["fix"] == "subset" and len(lock.fixes[-1]["files"]) == 4  # 2t and the 3 originals


def test_unmasked_images_kept_on_request_become_unpaired_images(tmp_path):
    top = tmp_path / "CASIA1+"
    write_image(top / "Sp/a.jpg")
    write_image(top / "Sp/b.jpg", seed=1)
    write_mask(top / "groundtruth/a_gt.png", box(24, 32, 1, 1, 5))
    write_image(top / "Au_corel/c.jpg", seed=2)
    lock = prepare(CATALOG.dataset("casia1"), [top], tmp_path / "data", options={"unmasked": "keep"}).lock
    assert lock.fixes == [{"fix": "unmasked", "action": "keep", "files": ["images/b.jpg"]}]
    manifest = build_manifest(CATALOG.dataset("casia1"), tmp_path / "data")
    assert [p.name for p in manifest.unpaired_images] == ["b.jpg"]


def test_bad_options_and_variants_are_refused_before_anything_is_written(tmp_path):
    download, spec = coverage_download(tmp_path), CATALOG.dataset("coverage")
    cases = [
        ({"options": {"mismatch": "stretch"}}, "mismatch='stretch'; choose one of flag, resize-nearest, drop"),
        ({"options": {"colour": "x"}}, r"unknown option\(s\) \['colour'\]"),
        ({"options": {"mask": "white"}}, "option mask: mask rule 'white' is neither"),
        ({"options": {"subset": str(tmp_path / "none.txt")}}, "none.txt is not a file"),
        ({"variant": "official-v2"}, "no variant 'official-v2'; known: official, normalised"),
        ({"variant": "normalised"}, r"normalised: nothing matches '\*\*/images/\*'"),
    ]
    for arguments, message in cases:
        with pytest.raises(PrepareError, match=message):
            prepare(spec, [download], tmp_path / "data", **arguments)
    assert not (tmp_path / "data").exists()
    write_image(tmp_path / "processed/images/a.png")
    write_mask(tmp_path / "processed/masks/a.png", box(24, 32, 2, 2, 4))
    with pytest.raises(PrepareError, match="mask='> 0'; choose one of columbia-palette, columbia-green-channel"):
        prepare(CATALOG.dataset("columbia"), [tmp_path / "processed"], tmp_path / "data", options={"mask": "> 0"})


def test_a_prepared_dataset_is_replaced_only_with_force_and_a_foreign_folder_never(tmp_path):
    spec, download = CATALOG.dataset("coverage"), coverage_download(tmp_path)
    first = prepare(spec, [download], tmp_path / "data").lock
    with pytest.raises(PrepareError, match=f"already prepared \\(lock {first.digest[:12]}\\); --force replaces it"):
        prepare(spec, [download], tmp_path / "data")
    assert prepare(spec, [download], tmp_path / "data", force=True).lock.digest == first.digest
    foreign = tmp_path / "other" / "coverage"
    write_image(foreign / "mine.png")
    with pytest.raises(PrepareError, match="other/coverage exists and was not prepared by forgebench"):
        prepare(spec, [download], tmp_path / "other", force=True)
    assert (foreign / "mine.png").exists()


def test_folder_images_are_linked_archive_images_extracted_and_both_give_one_digest(tmp_path):
    download = coverage_download(tmp_path)
    archive = tmp_path / "coverage.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(download.rglob("*")):
            out.write(path, path.relative_to(tmp_path).as_posix())
    spec = CATALOG.dataset("coverage")
    linked = prepare(spec, [download], tmp_path / "a")
    extracted = prepare(spec, [archive], tmp_path / "b")
    assert linked.how == {"linked": 6, "copied": 0, "extracted": 0}
    assert extracted.how == {"linked": 0, "copied": 0, "extracted": 6}
    assert os.path.samefile(tmp_path / "a/coverage/images/1t.tif", download / "image/1t.tif")
    assert linked.lock.digest == extracted.lock.digest
    assert linked.lock.sources != extracted.lock.sources  # where the download lay is recorded, not hashed


USER_VARIANT = """
datasets:
  mine:
    title: my benchmark
    variants:
      - name: v1
        about: fakes/ with gt/<name>_mask.png
        tampered: {{images: ["**/fakes/*.png"]}}
        masks: {{files: ["**/gt/*_mask.png"], key: "(?P<key>.+)_mask"}}
        sha256: {{"**/README.txt": "{digest}"}}
"""


def test_a_variant_declared_in_a_user_catalog_is_recognised_and_its_known_hashes_checked(tmp_path):
    import hashlib

    write_image(tmp_path / "dl/fakes/x.png")
    write_mask(tmp_path / "dl/gt/x_mask.png", box(24, 32, 2, 2, 4))
    (tmp_path / "dl/README.txt").write_text("release 1\n")
    good = hashlib.sha256(b"release 1\n").hexdigest()
    for name, digest in (("good.yaml", good), ("bad.yaml", "0" * 64)):
        (tmp_path / name).write_text(USER_VARIANT.format(digest=digest))
    spec = load_catalog((tmp_path / "bad.yaml",)).dataset("mine")
    with pytest.raises(PrepareError, match=f"README.txt has SHA-256 {good}, not the 0000"):
        prepare(spec, [tmp_path / "dl"], tmp_path / "data")
    spec = load_catalog((tmp_path / "good.yaml",)).dataset("mine")
    assert prepare(spec, [tmp_path / "dl"], tmp_path / "data").lock.counts == {"tampered": 1, "authentic": 0}


def test_an_exclusion_list_applied_through_overrides_is_recorded_and_checked(tmp_path):
    prepare(CATALOG.dataset("coverage"), [coverage_download(tmp_path)], tmp_path / "data")
    listing = tmp_path / "exclusions.txt"
    listing.write_text("# written by datasets audit\ncoverage/images/1t.tif  # group 1: test vs train\n")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("overrides:\n  coverage: {exclude: exclusions.txt}\n")
    spec = load_catalog((overlay,)).dataset("coverage")
    manifest = build_manifest(spec, tmp_path / "data")
    assert manifest.excluded == ("coverage/images/1t.tif",)
    assert "coverage/images/1t.tif" not in {s.image_id for s in manifest.samples}
    assert manifest.digest != build_manifest(CATALOG.dataset("coverage"), tmp_path / "data").digest
    assert "exclusion list differs from the lock's" in check_dataset(spec, tmp_path / "data").problems
    lock = prepare(spec, [coverage_download(tmp_path)], tmp_path / "data", force=True).lock
    assert lock.exclude["images"] == ["coverage/images/1t.tif"]
    assert "exclusion list differs from the lock's" not in check_dataset(spec, tmp_path / "data").problems


def test_the_readme_catalog_example_loads(tmp_path):
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    example = readme.split("# my-catalog.yaml — pass with --catalog my-catalog.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "my-catalog.yaml").write_text(example, encoding="utf-8")
    catalog = load_catalog((tmp_path / "my-catalog.yaml",))
    assert [v.name for v in catalog.dataset("mydata").variants] == ["release-1", "normalised"]
    assert catalog.dataset("mydata").variants[0].requires[1] == ("**/LICENSE.txt", "the release's licence file")
    assert catalog.dataset("asis").root == "/data/AsIs" and catalog.dataset("asis").variants == ()
    assert [v.name for v in catalog.dataset("columbia").variants] == ["my-copy"]
    assert catalog.dataset("columbia").expected_tampered == 180  # the other keys are the built-in entry's
    assert catalog.suite("mine") == ("mydata", "casia1")
