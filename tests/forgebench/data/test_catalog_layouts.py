"""The shipped catalog pairs images with masks as each benchmark lays them out (small fixture folders)."""

from __future__ import annotations

import pytest
from builders import box, write_image, write_mask

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.decode import read_mask
from forgebench.data.manifest import UnsafePathError, build_manifest

CATALOG = load_catalog()


def pairs(name: str, data_root) -> dict[str, str | None]:
    manifest = build_manifest(CATALOG.dataset(name), data_root)
    return {
        s.image.relative_to(manifest.root).as_posix(): s.mask.relative_to(manifest.root).as_posix() if s.mask else None
        for s in manifest.samples
    }


def test_nist16_pairs_from_the_reference_csv_targets_only_black_is_forged(tmp_path):
    root = tmp_path / "NC2016_Test0613"
    write_image(root / "probe/NC2016_0001.jpg")
    write_image(root / "probe/NC2016_0002.jpg")
    mask = root / "reference/manipulation/mask/NC2016_9999.png"
    write_mask(mask, box(24, 32, 2, 2, 5), forged_value=0, background=255)
    table = root / "reference/manipulation/NC2016-manipulation-ref.csv"
    table.write_text(
        "TaskID|ProbeFileName|ProbeMaskFileName|IsTarget\n"
        "manipulation|probe/NC2016_0001.jpg|reference/manipulation/mask/NC2016_9999.png|Y\n"
        "manipulation|probe/NC2016_0002.jpg||N\n"
    )
    assert pairs("nist16", tmp_path) == {"probe/NC2016_0001.jpg": "reference/manipulation/mask/NC2016_9999.png"}
    spec = CATALOG.dataset("nist16")
    forged = read_mask(mask, spec.mask_rule).forged
    assert (forged == box(24, 32, 2, 2, 5)).all()


def test_cocoglide_pairs_by_coco_id(tmp_path):
    root = tmp_path / "CocoGlide"
    write_image(root / "fake/glide_inpainting_val2017_785_up.png")
    write_mask(root / "mask/glide_inpainting_val2017_785_mask.png", box(24, 32, 1, 1, 4))
    write_image(root / "real/785.png")
    assert pairs("cocoglide", tmp_path) == {
        "fake/glide_inpainting_val2017_785_up.png": "mask/glide_inpainting_val2017_785_mask.png",
        "real/785.png": None,
    }


@pytest.mark.parametrize(("name", "quality"), [("autosplice", "100"), ("autosplice-q75", "75")])
def test_autosplice_quality_variants_share_masks(tmp_path, name, quality):
    root = tmp_path / "AutoSplice"
    for folder in ("100", "75"):
        write_image(root / f"Forged_JPEG{folder}/12345_{folder}.jpg")
    write_mask(root / "Mask/12345_mask.png", box(24, 32, 3, 3, 6))
    write_image(root / "Authentic/777.jpg")
    assert pairs(name, tmp_path) == {
        f"Forged_JPEG{quality}/12345_{quality}.jpg": "Mask/12345_mask.png",
        "Authentic/777.jpg": None,
    }


def test_if_osn_sets_pair_with_their_shared_ground_truth(tmp_path):
    root = tmp_path / "IF-OSN"
    write_image(root / "Casia_Facebook/Sp/Sp_D_x.jpg")
    write_mask(root / "Casia_Facebook/CASIA_GT/Sp_D_x_gt.png", box(24, 32, 0, 0, 5))
    write_image(root / "Columbia_Wechat/canong3_01_sub_05.jpg")
    write_mask(root / "Columbia_GT/canong3_01_sub_05_gt.png", box(24, 32, 0, 0, 5))
    write_image(root / "NIST_Weibo/NC2016_1.jpg")
    write_mask(root / "NIST_GT/NC2016_1_gt.png", box(24, 32, 0, 0, 5))
    assert pairs("casia1-facebook", tmp_path) == {
        "Casia_Facebook/Sp/Sp_D_x.jpg": "Casia_Facebook/CASIA_GT/Sp_D_x_gt.png"
    }
    assert pairs("columbia-wechat", tmp_path) == {
        "Columbia_Wechat/canong3_01_sub_05.jpg": "Columbia_GT/canong3_01_sub_05_gt.png"
    }
    assert pairs("nist16-weibo", tmp_path) == {"NIST_Weibo/NC2016_1.jpg": "NIST_GT/NC2016_1_gt.png"}


ESCAPING = """
datasets:
  escaping:
    root: {root}
    tampered: {{images: ["images/*", "../elsewhere/*.png"]}}
    masks: {{files: ["masks/*", "../elsewhere-masks/*"]}}
    {allow}
  listed:
    root: {root}
    pairs_csv: {{file: pairs.csv}}
    {allow}
"""


def test_files_outside_the_root_are_refused_unless_allowed(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "elsewhere"
    for folder, name in ((root / "images", "a.png"), (outside, "b.png"), (root / "masks", "a.png")):
        write_image(folder / name)
    write_mask(tmp_path / "elsewhere-masks" / "b.png", box(24, 32, 2, 2, 6))
    (root / "images" / "link.png").symlink_to(outside / "b.png")
    write_mask(root / "masks" / "link.png", box(24, 32, 2, 2, 6))
    (root / "pairs.csv").write_text("image,mask\n/etc/hostname,\n", encoding="utf-8")
    refused = tmp_path / "refused.yaml"
    refused.write_text(ESCAPING.format(root=root, allow=""), encoding="utf-8")
    catalog = load_catalog((refused,))
    for name, culprit in (("escaping", "elsewhere"), ("listed", "/etc/hostname")):
        with pytest.raises(UnsafePathError, match=f"{culprit}.* lies outside the dataset root"):
            build_manifest(catalog.dataset(name))
        assert "file outside the dataset root" in check_dataset(catalog.dataset(name), None).problems
    allowed = tmp_path / "allowed.yaml"
    allowed.write_text(ESCAPING.format(root=root, allow="allow_outside_root: true"), encoding="utf-8")
    manifest = build_manifest(load_catalog((allowed,)).dataset("escaping"))
    assert {sample.image_id for sample in manifest.samples} == {
        "escaping/images/a.png", "escaping/images/link.png", "escaping/^/elsewhere/b.png",
    }  # fmt: skip
    listed = build_manifest(load_catalog((allowed,)).dataset("listed"))  # an absolute path, allowed
    assert [s.image_id for s in listed.samples] == [
        "listed/" + "/".join(["^"] * len(root.parts[1:]) + ["etc", "hostname"])
    ]
