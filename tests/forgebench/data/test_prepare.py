"""``prepare``'s mechanics: the lock round trip, named options and fixes, refusals, links, user variants, exclusions."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import box, coverage_download, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import CatalogError, load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.manifest import build_manifest
from forgebench.data.prepare import PrepareError, prepare

CATALOG = load_catalog()


def test_prepare_lock_check_round_trip_names_a_changed_a_missing_and_an_extra_file(tmp_path):
    spec = CATALOG.dataset("coverage")
    prepare(spec, [coverage_download(tmp_path, mismatched=2)], tmp_path / "data")
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
    lock = prepare(
        spec, [coverage_download(tmp_path, mismatched=2)], tmp_path / "data", options={"mismatch": action}
    ).lock
    assert lock.options["mismatch"] == action
    assert lock.fixes == [{"fix": "mismatch", "action": action, "files": ["images/2t.tif (image 32×24, mask 32×26)"]}]
    assert lock.counts["tampered"] == tampered
    mask = tmp_path / "data/coverage/masks/2t.png"
    assert (np.asarray(Image.open(mask)).shape[0] if mask.exists() else None) == mask_rows


def test_a_subset_list_keeps_the_listed_images_and_is_recorded_by_content(tmp_path):
    listing = tmp_path / "keep.txt"
    listing.write_text("\ufeff1t.tif\r\n3t\r\n", encoding="utf-8")  # a byte-order mark and Windows line ends
    lock = prepare(
        CATALOG.dataset("coverage"), [coverage_download(tmp_path)], tmp_path / "data", options={"subset": str(listing)}
    ).lock
    assert lock.counts == {"tampered": 2, "authentic": 0}
    assert lock.options["subset"] == f"sha256:{hashlib.sha256(listing.read_bytes()).hexdigest()}"  # not its name
    assert lock.fixes == [
        {"fix": "subset", "action": "not listed, left out", "files": [
            "authentic/1.tif", "authentic/2.tif", "authentic/3.tif", "images/2t.tif",
        ]},
    ]  # fmt: skip


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
    assert list((tmp_path / "data").iterdir()) == []  # no dataset, no working folder left behind
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
    write_image(tmp_path / "dl/fakes/x.png")
    write_mask(tmp_path / "dl/gt/x_mask.png", box(24, 32, 2, 2, 4))
    (tmp_path / "dl/README.txt").write_text("release 1\n")
    good = hashlib.sha256(b"release 1\n").hexdigest()
    for name, digest in (("good.yaml", good), ("bad.yaml", "0" * 64)):
        (tmp_path / name).write_text(USER_VARIANT.format(digest=digest))
    spec = load_catalog((tmp_path / "bad.yaml",)).dataset("mine")
    with pytest.raises(PrepareError, match=f"v1: '\\*\\*/README.txt' has SHA-256 {good}, not 0000"):
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


def test_overrides_reach_one_dataset_of_a_matrix_and_an_entry_cannot_mix_variants_with_reading_rules(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("overrides:\n  autosplice-q75: {exclude: leaks.txt}\n  casia1-{osn}: {weight: 1}\n")
    catalog = load_catalog((overlay,))
    assert catalog.dataset("autosplice-q75").exclude == tmp_path / "leaks.txt"
    assert catalog.dataset("autosplice").exclude is None
    assert {catalog.dataset(f"casia1-{osn}").weight for osn in ("facebook", "wechat")} == {1}
    overlay.write_text("overrides:\n  autosplice-q60: {weight: 1}\n")
    with pytest.raises(CatalogError, match="overrides names unknown dataset or catalog entry 'autosplice-q60'"):
        load_catalog((overlay,))
    overlay.write_text("overrides:\n  coverage: {tampered: {images: ['image/*t.tif']}}\n")
    with pytest.raises(
        CatalogError, match="an entry with variants is read in the form prepare writes; drop its tampered"
    ):
        load_catalog((overlay,))


def test_a_replacement_that_fails_leaves_the_prepared_copy_in_place(tmp_path, monkeypatch):
    spec, download = CATALOG.dataset("coverage"), coverage_download(tmp_path)
    first = prepare(spec, [download], tmp_path / "data").lock
    real_replace = os.replace

    def failing(source, target):
        if ".preparing-" in str(source):
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        prepare(spec, [download], tmp_path / "data", force=True, options={"mismatch": "drop"})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["coverage", "forgebench-locks.json"]
    result = check_dataset(spec, tmp_path / "data")
    assert result.lock == first.digest and "file differs from the lock" not in result.problems


def test_a_path_in_two_downloads_fails_only_where_it_is_used(tmp_path):
    images = coverage_download(tmp_path / "a")
    (images / "README.txt").write_text("images")
    masks = tmp_path / "b" / "COVERAGE"  # the same top folder name, as two parts of one release would have
    (masks / "mask").mkdir(parents=True)
    for path in (images / "mask").iterdir():
        path.rename(masks / "mask" / path.name)
    (masks / "README.txt").write_text("masks")
    spec = CATALOG.dataset("coverage")
    assert prepare(spec, [images, masks], tmp_path / "data").lock.counts == {"tampered": 3, "authentic": 3}
    write_image(masks / "image/1t.tif", seed=9)  # now an image is in both
    with pytest.raises(PrepareError, match=r"COVERAGE/image/1t.tif is in several downloads"):
        prepare(spec, [images, masks], tmp_path / "data", force=True)


def test_a_folder_given_itself_is_matched_by_its_own_name(tmp_path):
    """Giving the extracted "CASIA 1.0 groundtruth" folder, rather than the folder around it, still fits namtpham."""
    images = tmp_path / "CASIA 1.0 dataset"
    write_image(images / "Modified Tp/Tp/Sp/Sp_a.jpg")
    write_image(images / "Au/Au_ani_0001.jpg", seed=1)
    masks = tmp_path / "CASIA 1.0 groundtruth"
    write_mask(masks / "Sp/Sp_a_gt.png", box(24, 32, 2, 2, 6))
    lock = prepare(CATALOG.dataset("casia1"), [images, masks], tmp_path / "data").lock
    assert (lock.variant, lock.counts) == ("namtpham", {"tampered": 1, "authentic": 1})


def test_a_copy_whose_names_fit_no_mask_is_refused_not_prepared_empty(tmp_path):
    write_image(tmp_path / "CocoGlide/fake/glide_inpainting_val2017_785.png")  # no "_up": the key does not fit
    write_mask(tmp_path / "CocoGlide/mask/person_785_mask.png", box(24, 32, 2, 2, 6))
    write_image(tmp_path / "CocoGlide/real/person_785.png", seed=1)
    with pytest.raises(PrepareError, match="trufor: 1 tampered images, none paired with a mask"):
        prepare(CATALOG.dataset("cocoglide"), [tmp_path / "CocoGlide"], tmp_path / "data")


def test_mask_notes_and_masks_of_different_sizes_are_recorded(tmp_path):
    top = tmp_path / "MISD"
    write_image(top / "Sp/a.jpg")
    grey = np.where(box(24, 32, 2, 2, 8), 200, 0).astype(np.uint8)
    grey[2, 2] = 90  # a third grey level
    (top / "GT").mkdir(parents=True)
    Image.fromarray(grey).save(top / "GT/a_gt.png")
    write_image(top / "Sp/b.jpg", seed=1)
    write_mask(top / "GT/b_gt.png", box(24, 32, 2, 2, 8))
    write_mask(top / "GT/b_gt_2.png", box(26, 32, 2, 2, 8))
    write_image(top / "Au/c.jpg", seed=2)
    lock = prepare(CATALOG.dataset("misd"), [top], tmp_path / "data").lock
    assert lock.counts == {"tampered": 1, "authentic": 1}
    assert {fix["fix"]: (fix["action"], fix["files"]) for fix in lock.fixes} == {
        "multiple": ("union", ["images/b.jpg"]),
        "non-binary mask": ("flag", ["images/a.jpg"]),
        "multiple masks of different sizes": ("drop", ["images/b.jpg"]),
    }
