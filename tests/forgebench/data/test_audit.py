"""The duplicate audit: planted copies of real photographs are found, and only they; exclusion lists round-trip."""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np
import pytest
import skimage.data
from builders import box, write_mask
from PIL import Image

from forgebench.data import audit as audit_module
from forgebench.data.audit import Unreadable, audit, write_exclusions
from forgebench.data.catalog import load_catalog
from forgebench.data.exclusions import ExclusionError, read_exclusions
from forgebench.data.manifest import build_manifest

CATALOG = """
datasets:
  train-c: {title: C, role: train, root: train-c, authentic: {images: ["authentic/*"]}}
  test-a:
    title: A
    root: test-a
    tampered: {images: ["images/*"]}
    masks: {files: ["masks/*.png"], forged_if: "> 127"}
    authentic: {images: ["authentic/*"]}
  test-b:
    title: B
    root: test-b
    tampered: {images: ["images/*"]}
    masks: {files: ["masks/*.png"], forged_if: "> 127"}
    authentic: {images: ["authentic/*"]}
"""
ORDER = ("train-c", "test-a", "test-b")
"""The training set comes first, so only the role rule keeps the test copy of a leak."""
EXPECTED_GROUPS = [
    (
        "within test-a",
        [
            "test-a/authentic/photo0.png",
            "test-a/authentic/photo0_exact.png",
            "test-a/authentic/photo0_half.png",
            "test-a/authentic/photo0_q75.jpg",
        ],
    ),
    (
        "across test sets",
        [
            "test-a/authentic/photo1.png",
            "test-b/authentic/photo1_exact.png",
            "test-b/authentic/photo1_half.png",
            "test-b/images/photo1_q75.jpg",
        ],
    ),
    (
        "test vs train",
        [
            "test-a/authentic/photo2.png",
            "train-c/authentic/photo2_exact.png",
            "train-c/authentic/photo2_half.png",
            "train-c/authentic/photo2_q75.jpg",
        ],
    ),
]
"""Scope and members of each group, the member kept first."""


def photographs() -> list[np.ndarray]:
    """Seven distinct 300×400 photographs; the last two are neighbouring crops of one picture (40 pixels apart)."""
    retina = skimage.data.retina()
    return [
        skimage.data.astronaut()[100:400, 50:450],
        skimage.data.coffee()[50:350, 100:500],
        skimage.data.chelsea()[:, 20:420],
        skimage.data.rocket()[100:400, 100:500],
        skimage.data.immunohistochemistry()[0:300, 0:400],
        retina[500:800, 500:900],
        retina[540:840, 500:900],
    ]


def save(path, pixels: np.ndarray, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)


def plant(root, name: str, original) -> None:
    """An exact byte copy, a JPEG quality-75 re-encode and a half-size copy of ``original`` under ``root``."""
    pixels = np.asarray(Image.open(original).convert("RGB"))
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(original, root / f"{name}_exact.png")
    save(root / f"{name}_q75.jpg", pixels, quality=75)
    half = cv2.resize(pixels, (pixels.shape[1] // 2, pixels.shape[0] // 2), interpolation=cv2.INTER_AREA)
    save(root / f"{name}_half.png", half)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """photo0: copies in test-a; photo1: in test-b; photo2: in the training set; the other photographs unique.

    test-a also has a tampered image (with its mask), and test-b's copy of photo1 is one of its tampered images.
    """
    root = tmp_path_factory.mktemp("data")
    photos = photographs()
    for index in (0, 1, 2, 3, 5):
        save(root / f"test-a/authentic/photo{index}.png", photos[index])
    save(root / "test-a/images/photo4.png", photos[4])
    write_mask(root / "test-a/masks/photo4.png", box(300, 400, 10, 10, 50))
    save(root / "test-b/authentic/photo6.png", photos[6])
    plant(root / "test-a/authentic", "photo0", root / "test-a/authentic/photo0.png")
    plant(root / "test-b/authentic", "photo1", root / "test-a/authentic/photo1.png")
    (root / "test-b/images").mkdir()
    (root / "test-b/authentic/photo1_q75.jpg").rename(root / "test-b/images/photo1_q75.jpg")
    write_mask(root / "test-b/masks/photo1_q75.png", box(300, 400, 20, 20, 40))
    plant(root / "train-c/authentic", "photo2", root / "test-a/authentic/photo2.png")
    catalog = root / "catalog.yaml"
    catalog.write_text(CATALOG, encoding="utf-8")
    return root


def manifests(root):
    catalog = load_catalog((root / "catalog.yaml",))
    return [build_manifest(catalog.dataset(name), data_root=root) for name in ORDER]


@pytest.fixture(scope="module")
def report(data):
    return audit(manifests(data))


def test_planted_copies_and_only_they_are_grouped(report):
    found = [(group.scope, [member.image_id for member in group.members]) for group in report.groups]
    assert found == EXPECTED_GROUPS
    assert report.images == 16 and report.unreadable == ()
    for group in report.groups:
        matches = {member.image_id.rsplit("_", 1)[-1]: member.match for member in group.members[1:]}
        assert matches["exact.png"] == "exact"
        assert matches["q75.jpg"].startswith("near (pHash distance ")
        assert matches["half.png"].startswith("near (pHash distance ")


def test_near_copies_are_verified_above_the_threshold(report):
    """The re-encoded and half-size copies correlate far above what tells neighbouring crops apart."""
    correlations = [
        float(member.match.split("correlation ")[1].rstrip(")"))
        for group in report.groups
        for member in group.members[1:]
        if member.match != "exact"
    ]
    assert len(correlations) == 6 and min(correlations) > 0.995


def test_members_carry_dataset_role_path_and_size(report, data):
    leak = report.groups[2]
    assert [(m.dataset, m.role) for m in leak.members] == [("test-a", "test")] + [("train-c", "train")] * 3
    assert [m.label for m in report.groups[1].members] == ["authentic", "authentic", "authentic", "tampered"]
    exact = leak.members[1]
    assert exact.path == data / "train-c/authentic/photo2_exact.png"
    assert exact.size_bytes == (data / "test-a/authentic/photo2.png").stat().st_size
    assert exact.matched_to == "test-a/authentic/photo2.png"


def test_exclusion_list_drops_only_training_copies_and_round_trips(report, tmp_path):
    path = tmp_path / "exclude.txt"
    excluded = write_exclusions(report, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert header and lines[: len(header)] == header
    assert lines[len(header) :][-3:] == [
        f"train-c/authentic/photo2{suffix}  # group 3: test vs train, duplicate of test-a/authentic/photo2.png"
        for suffix in ("_exact.png", "_half.png", "_q75.jpg")
    ]
    assert len(excluded) == 3  # the copies within and across the test sets are reported, not excluded
    assert [group.excluded for group in report.groups[:2]] == [(), ()]
    assert read_exclusions(path) == frozenset(excluded)
    again = tmp_path / "again.txt"
    write_exclusions(report, again)
    assert again.read_bytes() == path.read_bytes()


def test_report_does_not_depend_on_worker_count(report, data):
    ticks = []
    assert audit(manifests(data), workers=2, tick=lambda: ticks.append(1)) == report
    assert len(ticks) == 16


def test_an_undecodable_file_is_reported_and_the_rest_audited(data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(data, root)
    cut = root / "test-b/authentic/photo6.png"
    cut.write_bytes(cut.read_bytes()[:2000])
    result = audit(manifests(root))
    assert result.unreadable == (Unreadable("test-b/authentic/photo6.png", result.unreadable[0].message),)
    assert str(cut) in result.unreadable[0].message
    assert result.images == 15 and len(result.groups) == 3


def test_flat_images_match_only_exactly(tmp_path):
    """Standardised, a black and a white frame would be equal; they are no copies, but a byte copy still is."""
    for name, value in (("black", 0), ("white", 255), ("grey", 128)):
        save(tmp_path / f"flat/authentic/{name}.png", np.full((30, 40, 3), value, np.uint8))
    save(tmp_path / "flat/authentic/black.jpg", np.zeros((60, 80, 3), np.uint8), quality=75)
    shutil.copyfile(tmp_path / "flat/authentic/grey.png", tmp_path / "flat/authentic/grey_copy.png")
    (tmp_path / "catalog.yaml").write_text(CATALOG.replace("test-a", "flat"), encoding="utf-8")
    spec = load_catalog((tmp_path / "catalog.yaml",)).dataset("flat")
    result = audit([build_manifest(spec, data_root=tmp_path)])
    assert [[m.image_id for m in group.members] for group in result.groups] == [
        ["flat/authentic/grey.png", "flat/authentic/grey_copy.png"]
    ]


def test_read_exclusions_names_the_file_and_line_of_a_bad_line(tmp_path):
    path = tmp_path / "exclude.txt"
    path.write_text("# made by hand\n\ncasia1/Tp/Sp_D_1.jpg  # a copy\nSp_D_2.jpg\n", encoding="utf-8")
    with pytest.raises(ExclusionError, match=re.escape(f"{path}, line 4: 'Sp_D_2.jpg' is not an image id")):
        read_exclusions(path)
    path.write_text("# made by hand\n\ncasia1/Tp/Sp D#1.jpg  # a copy\n", encoding="utf-8")
    assert read_exclusions(path) == {"casia1/Tp/Sp D#1.jpg"}


def test_chunked_search_finds_every_close_pair(monkeypatch):
    """Blocks of 7 rows against the brute-force answer, with pairs straddling block boundaries."""
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 50, dtype=np.uint64)
    hashes[30:40] = hashes[:10] ^ np.uint64(0b1011)  # distance 3 from the first ten
    monkeypatch.setattr(audit_module, "_SEARCH_CHUNK", 7 * 50)
    found = {
        (int(i), int(j), int(d)) for block in audit_module._candidates(hashes) for i, j, d in zip(*block, strict=True)
    }
    distances = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    expected = {(i, j, int(distances[i, j])) for i in range(50) for j in range(i + 1, 50) if distances[i, j] <= 10}
    assert found == expected and {(i, i + 30, 3) for i in range(10)} <= found


def test_the_synthetic_test_suite_holds_no_copies():
    """180 distinct images, among them crops of one photograph 1 pixel apart of which one is forged."""
    catalog = load_catalog()
    result = audit([build_manifest(catalog.dataset(name)) for name in catalog.suite("synthetic")])
    assert (result.images, result.groups, result.unreadable) == (180, (), ())


def test_a_forgery_beside_its_source_is_reported_and_never_excluded(tmp_path):
    """A small splice leaves a forgery a near copy of its authentic source; a dataset that ships both means to."""
    source = photographs()[0]
    forged = source.copy()
    forged[100:108, 100:108] = 255 - forged[100:108, 100:108]
    save(tmp_path / "test-a/authentic/photo0.png", source)
    save(tmp_path / "test-a/images/photo0_forged.png", forged)
    write_mask(tmp_path / "test-a/masks/photo0_forged.png", box(300, 400, 100, 100, 8))
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog((tmp_path / "catalog.yaml",))
    (group,) = audit([build_manifest(catalog.dataset("test-a"), data_root=tmp_path)]).groups
    assert group.scope == "a forgery and its source within test-a (kept)"
    assert group.excluded == ()
    assert (
        write_exclusions(audit([build_manifest(catalog.dataset("test-a"), data_root=tmp_path)]), tmp_path / "x") == ()
    )
