"""Catalog entries that read files as they lie: files outside the dataset root are refused unless allowed."""

from __future__ import annotations

import pytest
from builders import box, write_image, write_mask

from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.manifest import UnsafePathError, build_manifest

CATALOG = load_catalog()


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
