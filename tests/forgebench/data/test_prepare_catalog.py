"""Every catalog entry is prepared from a small fake download in its published layout, quirks included.

Each case writes the files as the dataset's download names and nests them (masks in the published format and
polarity), packs them as the users get them (zip, tar.gz, 7z or a folder), runs ``prepare``, and checks the variant
recognised, the counts, the fixes recorded, the pairing and polarity of every mask as the catalog reads it, and that
the lock verifies.
"""

from __future__ import annotations

import dataclasses
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from builders import box, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.decode import read_mask
from forgebench.data.kinds import KINDS_NAME, read_kinds
from forgebench.data.lock import verify
from forgebench.data.manifest import build_manifest
from forgebench.data.prepare import PrepareError, prepare

CATALOG = load_catalog()
H, W = 32, 48
FORGED = box(H, W, 0, 16, 16)
"""Every fake mask marks this box (aligned to JPEG blocks, so colour JPEG masks keep it exactly)."""


def image(folder: Path, name: str, seed: int = 0) -> None:
    write_image(folder / name, H, W, seed=seed)


def mask(folder: Path, name: str, forged=FORGED, value: int = 255, background: int = 0) -> None:
    write_mask(folder / name, forged, forged_value=value, background=background)


def columbia_edgemask(folder: Path, name: str) -> None:
    """Bright red outside, green inside, saved as a JPEG as the Columbia download does."""
    colours = np.zeros((H, W, 3), np.uint8)
    colours[:] = (255, 0, 0)
    colours[FORGED] = (0, 200, 0)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(colours).save(folder / name, quality=95)


@dataclass
class Case:
    dataset: str
    build: Callable[[Path], list[str]]
    """Writes the download under the folder given; returns the names of the downloads (folders or archives)."""
    variant: str
    tampered: int
    authentic: int
    fixes: dict[str, list[str]] = field(default_factory=dict)
    """fix → the source files it names (a suffix of each is enough)."""
    pack: str = "folder"


def casia1_namtpham(root: Path) -> list[str]:
    images = root / "CASIA1" / "CASIA 1.0 dataset"
    image(images, "Au/Au_ani_0001.jpg")
    image(images, "Modified Tp/Tp/Sp/Sp_D_CNN_A_ani0049_ani0084_0266.jpg", 1)
    image(images, "Modified Tp/Tp/CM/Sp_S_CND_A_pla0016_pla0016_0196.jpg", 2)
    image(images, "Modified Tp/Tp/Sp/Sp_D_NRN_A_cha0011_sec0011_0542.jpg", 3)  # no mask in the corrected set
    masks = root / "casia1groundtruth-master" / "CASIA 1.0 groundtruth"
    mask(masks, "Sp/Sp_D_CNN_A_ani0049_ani0084_0266_gt.png")
    mask(masks, "CM/Sp_S_CND_A_pla0016_pla0016_0196_gt.png")
    return ["CASIA1", "casia1groundtruth-master"]


def casia1_plus(root: Path) -> list[str]:
    top = root / "CASIA1+"
    image(top, "Sp/Sp_D_CNN_A_ani0049_ani0084_0266.jpg", 1)
    image(top, "CM/Sp_S_CND_A_pla0016_pla0016_0196.jpg", 2)
    mask(top, "groundtruth/Sp_D_CNN_A_ani0049_ani0084_0266_gt.png")
    mask(top, "groundtruth/Sp_S_CND_A_pla0016_pla0016_0196_gt.png")
    image(top, "Au_corel/corel_100.jpg")  # CASIA1+'s Corel images: names unlike the download's Au_*
    image(top, "Au_corel/corel_101.jpg", 5)
    return ["CASIA1+"]


def columbia(root: Path) -> list[str]:
    top = root / "columbia" / "Columbia Uncompressed"
    image(top, "4cam_splc/canong3_canonxt_sub_01.tif", 1)
    columbia_edgemask(top, "4cam_splc/edgemask/canong3_canonxt_sub_01_edgemask.jpg")
    columbia_edgemask(top, "4cam_splc/edgemask/canong3_canonxt_sub_01_edgemask_3.jpg")  # not used
    image(top, "4cam_auth/canong3_02_sub_01.tif")
    (root / "columbia/__MACOSX/Columbia Uncompressed/4cam_splc").mkdir(parents=True)
    (root / "columbia/__MACOSX/Columbia Uncompressed/4cam_splc/._canong3_canonxt_sub_01.tif").write_bytes(b"\0")
    return ["columbia"]


def nist16(root: Path) -> list[str]:
    top = root / "NC2016_Test0613"
    image(top, "probe/NC2016_0001.jpg", 1)
    image(top, "probe/NC2016_0002.jpg", 2)
    mask(top, "reference/manipulation/mask/NC2016_9999.png", value=0, background=255)  # black = manipulated
    image(top, "probe/NC2016_0003.jpg", 3)
    (top / "reference/manipulation/NC2016-manipulation-ref.csv").write_text(
        "TaskID|ProbeFileID|ProbeFileName|ProbeMaskFileName|IsTarget|"
        "IsManipulationTypeRemoval|IsManipulationTypeSplice|IsManipulationTypeCopyClone\n"
        "manipulation|NC2016_0001|probe/NC2016_0001.jpg|reference/manipulation/mask/NC2016_9999.png|Y|N|Y|N\n"
        "manipulation|NC2016_0002|probe/NC2016_0002.jpg||N|N|N|N\n"
        "manipulation|NC2016_0003|probe/NC2016_0003.jpg||Y|Y|N|N\n",  # a target without a mask: unmasked
        encoding="utf-8",
    )
    return ["NC2016_Test0613"]


def coverage(root: Path) -> list[str]:
    top = root / "COVERAGE"
    for n in (1, 2):
        image(top, f"image/{n}t.tif", n)
        image(top, f"image/{n}.tif", 10 + n)
        mask(top, f"mask/{n}copy.tif", box(H, W, 20, 0, 8))
        mask(top, f"mask/{n}paste.tif", box(H, W, 20, 0, 8))
    mask(top, "mask/1forged.tif")
    write_mask(top / "mask/2forged.tif", box(H + 2, W, 0, 16, 16))  # one of the size-mismatched masks
    return ["COVERAGE"]


def pairs_csv(root: Path) -> list[str]:
    top = root / "from-authors"
    image(top, "forged/a.jpg", 1)
    image(top, "real/b.jpg", 2)
    mask(top, "gt/a.png")
    (top / "pairs.csv").write_text("image,mask\nforged/a.jpg,gt/a.png\nreal/b.jpg,\n", encoding="utf-8")
    return ["from-authors"]


def normalised(root: Path) -> list[str]:
    top = root / "processed"
    image(top, "images/x1.png", 1)
    mask(top, "masks/x1.png")
    image(top, "authentic/r1.png", 2)
    return ["processed"]


def cocoglide(root: Path) -> list[str]:
    top = root / "CocoGlide"
    image(top, "fake/glide_inpainting_val2017_785_up.png", 1)
    mask(top, "mask/person_785_mask.png")
    image(top, "real/person_785.png")
    return ["CocoGlide"]


def misd(root: Path) -> list[str]:
    top = root / "MISD"
    image(top, "Sp/ms_001.jpg", 1)
    left = FORGED & (np.arange(W) < 24)
    mask(top, "GT/ms_001_gt.png", left)
    mask(top, "GT/ms_001_gt_2.png", FORGED & ~left)  # the second mask of a double-masked image: the union is scored
    image(top, "Au/au_001.jpg", 2)
    return ["MISD"]


def autosplice(root: Path) -> list[str]:
    top = root / "AutoSplice"
    for quality in (100, 90, 75):
        image(top, f"Forged_JPEG{quality}/4821_{quality}.jpg", quality)
    mask(top, "Mask/4821_mask.png", value=1)  # > 0 = forged
    image(top, "Authentic/4821.jpg")
    return ["AutoSplice"]


def dso1(root: Path) -> list[str]:
    top = root / "tifs-database"
    image(top, "DSO-1/splicing-01.png", 1)
    image(top, "DSO-1/normal-01.png", 2)
    mask(top, "DSO-1-Fake-Images-Masks/splicing-01.png", value=0, background=255)  # inverted
    return ["tifs-database"]


def if_osn(root: Path, platforms: tuple[str, ...] = ("Facebook",)) -> list[str]:
    """The ImageForensicsOSN download: transmitted images per platform, ground truth shared (CASIA's per platform)."""
    top = root / "ImageForensicsOSN"
    for seed, platform in enumerate(platforms):
        image(top, f"Casia_{platform}/Sp/Sp_D_CNN_A_ani0049_ani0084_0266.jpg", 10 * seed + 1)
        image(top, f"Casia_{platform}/CM/Sp_S_CND_A_pla0016_pla0016_0196.jpg", 10 * seed + 2)
        mask(top, f"Casia_{platform}/CASIA_GT/Sp_D_CNN_A_ani0049_ani0084_0266_gt.png", value=1)
        mask(top, f"Casia_{platform}/CASIA_GT/Sp_S_CND_A_pla0016_pla0016_0196.png", value=1)
        image(top, f"Columbia_{platform}/canong3_canonxt_sub_01.jpg", 10 * seed + 3)
        image(top, f"DSO_{platform}/splicing-01.jpg", 10 * seed + 4)
        image(top, f"NIST_{platform}/NC2016_0001.jpg", 10 * seed + 5)
    mask(top, "Columbia_GT/canong3_canonxt_sub_01_gt.png")
    mask(top, "Columbia_GT/canong3_canonxt_sub_02_gt.png")  # a Columbia mask the OSN set has no image for
    mask(top, "DSO_GT/splicing-01_gt.png")  # IF-OSN's DSO masks are white = forged
    mask(top, "NIST_GT/NC2016_0001_gt.png")
    return ["ImageForensicsOSN"]


def casia2(root: Path) -> list[str]:
    image(root / "CASIA2", "Tp/Tp_D_NRN_S_N_ani10171_ani00001_12458.jpg", 1)
    image(root / "CASIA2", "Tp/Tp_S_NNN_S_N_pla20095_pla20095_02347.tif", 2)
    image(root / "CASIA2", "Au/Au_ani_00001.jpg")
    masks = root / "casia2groundtruth-master" / "CASIA 2 Groundtruth"
    mask(masks, "Tp_D_NRN_S_N_ani10171_ani00001_12458_gt.png")
    mask(masks, "Tp_S_NNN_S_N_pla20095_pla20095_02347_gt.png")
    return ["CASIA2", "casia2groundtruth-master"]


def imd2020(root: Path) -> list[str]:
    top = root / "IMD2020"
    image(top, "1a3oag/c8tf5mq_orig.jpg")
    image(top, "1a3oag/c8tf5mq_0.jpg", 1)
    mask(top, "1a3oag/c8tf5mq_0_mask.png")
    image(top, "1b7phq/x9k_orig.jpg", 4)
    image(top, "1b7phq/x9k_1.png", 2)
    mask(top, "1b7phq/x9k_1_mask.png")
    return ["IMD2020"]


def fantastic_reality(root: Path) -> list[str]:
    top = root / "FantasticReality_v1" / "dataset"
    image(top, "ColorFakeImages/fake_0001.jpg", 1)
    np.savez_compressed(top.parent.parent / "seg.npz", FORGED.astype(np.uint8) * 7)  # object labels, > 0 = forged
    (top / "SegmentationFake").mkdir(parents=True)
    (top.parent.parent / "seg.npz").rename(top / "SegmentationFake/fake_0001.npz")
    image(top, "ColorRealImages/real_0001.jpg")
    return ["FantasticReality_v1"]


def tampcoco(root: Path) -> list[str]:
    top = root / "tampCOCO"
    image(top, "sp_COCO/images/000000001.jpg", 1)
    mask(top, "sp_COCO/masks/000000001.png")
    (top / "pairs.csv").write_text("image,mask\nsp_COCO/images/000000001.jpg,sp_COCO/masks/000000001.png\n")
    return ["tampCOCO"]


UNMASKED = {"unmasked": ["Sp_D_NRN_A_cha0011_sec0011_0542.jpg"]}
CASES = [
    Case("casia1", casia1_namtpham, "namtpham", 2, 1, UNMASKED, pack="zip"),
    Case("casia1", casia1_plus, "casia1plus", 2, 2, pack="tar.gz"),
    Case("columbia", columbia, "official", 1, 1, pack="zip"),
    Case("nist16", nist16, "nc2016", 1, 0, {"unmasked": ["images/NC2016_0003.jpg"]}, pack="tar.gz"),
    Case("coverage", coverage, "official", 2, 2, {"mismatch": ["images/2t.tif (image 48×32, mask 48×34)"]}, "7z"),
    Case("acdsee", pairs_csv, "pairs-csv", 1, 1),
    Case("cocoglide", cocoglide, "trufor", 1, 1, pack="zip"),
    Case("misd", misd, "zenodo", 1, 1, {"multiple": ["images/ms_001.jpg"]}),
    Case("ipm15k", normalised, "normalised", 1, 1, pack="tar.gz"),
    Case("autosplice", autosplice, "official", 1, 1, pack="zip"),
    Case("autosplice-q90", autosplice, "official", 1, 1, pack="zip"),
    Case("autosplice-q75", autosplice, "official", 1, 1, pack="zip"),
    Case("dso1", dso1, "recod", 1, 1, pack="7z"),
    Case("casia1-facebook", if_osn, "if-osn", 2, 0, pack="zip"),
    Case("columbia-facebook", if_osn, "if-osn", 1, 0, {"unpaired mask": ["canong3_canonxt_sub_02_gt.png"]}, "zip"),
    Case("dso1-facebook", if_osn, "if-osn", 1, 0, pack="zip"),
    Case("nist16-facebook", if_osn, "if-osn", 1, 0, pack="zip"),
    Case("casia2", casia2, "namtpham", 2, 1),
    Case("imd2020", imd2020, "official", 2, 2, pack="tar.gz"),
    Case("fantastic-reality", fantastic_reality, "official", 1, 1, pack="zip"),
    Case("tampcoco", tampcoco, "pairs-csv", 1, 0),
]


def packed(root: Path, names: list[str], kind: str) -> list[Path]:
    """The downloads as the user has them: the folders themselves, or each packed into an archive of ``kind``."""
    if kind == "folder":
        return [root / name for name in names]
    archives = []
    for name in names:
        archive = root / f"{name}.{kind}"
        files = sorted(p for p in (root / name).rglob("*") if p.is_file())
        if kind == "zip":
            with zipfile.ZipFile(archive, "w") as out:
                for path in files:
                    out.write(path, path.relative_to(root).as_posix())
        elif kind == "tar.gz":
            with tarfile.open(archive, "w:gz") as out:
                out.add(root / name, arcname=f"./{name}")  # a leading "./", as `tar -C dir .` writes
        else:
            py7zr = pytest.importorskip("py7zr")  # the optional extra forgebench[archives]
            with py7zr.SevenZipFile(archive, "w") as out:
                out.writeall(root / name, arcname=name)
        archives.append(archive)
    return archives


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dataset}-{c.variant}-{c.pack}")
def test_prepare_reads_the_published_layout(tmp_path, case):
    downloads = packed(tmp_path / "downloads", case.build(tmp_path / "downloads"), case.pack)
    before = {p: p.read_bytes() for p in (tmp_path / "downloads").rglob("*") if p.is_file()}
    spec = CATALOG.dataset(case.dataset)
    done = prepare(spec, downloads, tmp_path / "data")

    assert done.lock.variant == case.variant
    assert done.lock.counts == {"tampered": case.tampered, "authentic": case.authentic}
    recorded = {fix["fix"]: fix["files"] for fix in done.lock.fixes}
    assert set(recorded) == set(case.fixes)
    for fix, files in case.fixes.items():
        assert [any(f.endswith(end) for f in recorded[fix]) for end in files] == [True] * len(files)
    manifest = build_manifest(spec, tmp_path / "data")
    assert (manifest.n_tampered, manifest.n_authentic) == (case.tampered, case.authentic)
    assert not manifest.unpaired_images and not manifest.unpaired_masks
    for sample in manifest.samples:
        if sample.mask is not None:
            forged = read_mask(sample.mask, spec.mask_rule).forged
            expected = box(H, W, 0, 16, 16) if case.dataset != "coverage" or "2t" not in sample.image.name else None
            if expected is not None:
                np.testing.assert_array_equal(forged, expected, err_msg=sample.image_id)
    assert manifest.lock is not None and manifest.lock.digest == done.lock.digest
    assert set(done.lock.files) - {KINDS_NAME} == {
        p.relative_to(manifest.root).as_posix() for s in manifest.samples for p in (s.image, s.mask) if p
    }
    assert (KINDS_NAME in done.lock.files) == (case.dataset == "nist16")
    assert verify(done.lock, manifest.root) == {}
    assert {p: p.read_bytes() for p in (tmp_path / "downloads").rglob("*") if p.is_file()} == before


def test_nist16_kinds_come_from_the_reference_csv_into_the_locked_kinds_file(tmp_path):
    """Each target's kind is read from the IsManipulationType columns; one naming none is recorded as a finding,
    and the kinds file is verified like every other file of the copy."""
    top = tmp_path / "downloads"
    nist16(top)
    image(top / "NC2016_Test0613", "probe/NC2016_0004.jpg", 4)
    image(top / "NC2016_Test0613", "probe/NC2016_0005.jpg", 5)
    for n in (4, 5):
        mask(top / "NC2016_Test0613", f"reference/manipulation/mask/NC2016_990{n}.png", value=0, background=255)
    listing = top / "NC2016_Test0613/reference/manipulation/NC2016-manipulation-ref.csv"
    listing.write_text(
        listing.read_text(encoding="utf-8")
        + "manipulation|NC2016_0004|probe/NC2016_0004.jpg|reference/manipulation/mask/NC2016_9904.png|Y|Y|N|Y\n"
        + "manipulation|NC2016_0005|probe/NC2016_0005.jpg|reference/manipulation/mask/NC2016_9905.png|Y|N|N|N\n",
        encoding="utf-8",
    )
    spec = CATALOG.dataset("nist16")
    done = prepare(spec, [top / "NC2016_Test0613"], tmp_path / "data")
    assert read_kinds(spec, tmp_path / "data") == {
        "nist16/images/NC2016_0001.jpg": "splice",
        "nist16/images/NC2016_0004.jpg": "removal+copymove",
    }
    assert {"fix": "kind", "action": "none named", "files": ["images/NC2016_0005.jpg"]} in done.lock.fixes
    (done.root / KINDS_NAME).write_text("image,kind\nimages/NC2016_0005.jpg,splice\n", encoding="utf-8")
    assert verify(done.lock, done.root) == {"changed": [KINDS_NAME]}
    unlabelled = dataclasses.replace(  # the same copy prepared without kinds: labels change no score, nor the digest
        done.lock,
        files={k: v for k, v in done.lock.files.items() if k != KINDS_NAME},
        fixes=[f for f in done.lock.fixes if f["fix"] != "kind"],
    )
    assert unlabelled.digest == done.lock.digest
    image_changed = {**done.lock.files, "images/NC2016_0001.jpg": {"sha256": "0" * 64, "bytes": 1}}
    assert dataclasses.replace(done.lock, files=image_changed).digest != done.lock.digest


def test_a_download_without_masks_is_named_as_such(tmp_path):
    """Some copies of DSO-1 lack the masks folder: no variant matches, and the reason says what is missing."""
    dso1(tmp_path / "downloads")
    for path in (tmp_path / "downloads/tifs-database/DSO-1-Fake-Images-Masks").iterdir():
        path.unlink()
    with pytest.raises(PrepareError, match=r"recod: nothing matches .*DSO-1-Fake-Images-Masks.* some copies"):
        prepare(CATALOG.dataset("dso1"), [tmp_path / "downloads/tifs-database"], tmp_path / "data")
    assert not (tmp_path / "data" / "dso1").exists()


def test_one_download_of_if_osn_prepares_all_sixteen_sets_and_the_qualities_of_autosplice(tmp_path):
    platforms = ("Facebook", "Whatsapp", "Weibo", "Wechat")
    downloads = packed(tmp_path, if_osn(tmp_path, platforms), "zip") + packed(tmp_path, autosplice(tmp_path), "zip")
    names = [*CATALOG.suite("osn"), "autosplice", "autosplice-q75"]
    locks = {name: prepare(CATALOG.dataset(name), downloads, tmp_path / "data").lock for name in names}
    assert len({lock.digest for lock in locks.values()}) == len(names)
    for name in CATALOG.suite("osn"):
        base, _, platform = name.partition("-")
        assert locks[name].counts == {"tampered": 2 if base == "casia1" else 1, "authentic": 0}, name
        folder = {"casia1": "Casia", "columbia": "Columbia", "dso1": "DSO", "nist16": "NIST"}[base]
        for sample in build_manifest(CATALOG.dataset(name), tmp_path / "data").samples:
            source = next((tmp_path / f"ImageForensicsOSN/{folder}_{platform.title()}").rglob(sample.image.name))
            assert sample.image.read_bytes() == source.read_bytes(), name
            np.testing.assert_array_equal(read_mask(sample.mask, CATALOG.dataset(name).mask_rule).forged, FORGED)
    for quality, name in (("100", "autosplice"), ("75", "autosplice-q75")):
        manifest = build_manifest(CATALOG.dataset(name), tmp_path / "data")
        (image_path,) = [s.image for s in manifest.samples if s.label == "tampered"]
        expected = tmp_path / f"AutoSplice/Forged_JPEG{quality}/4821_{quality}.jpg"
        assert image_path.read_bytes() == expected.read_bytes()


def test_each_columbia_convention_is_a_recorded_option_with_its_own_lock(tmp_path):
    download = packed(tmp_path, columbia(tmp_path), "folder")
    spec, digests = CATALOG.dataset("columbia"), set()
    for rule, expected in (("columbia-palette", FORGED), ("columbia-red", ~FORGED), ("columbia-green-channel", FORGED)):
        lock = prepare(spec, download, tmp_path / "data", options={"mask": rule}, force=True).lock
        assert lock.options["mask"] == rule
        digests.add(lock.digest)
        (sample,) = [s for s in build_manifest(spec, tmp_path / "data").samples if s.mask]
        forged = read_mask(sample.mask, spec.mask_rule).forged
        agree = (forged == expected).mean()
        assert agree == 1.0 if rule != "columbia-green-channel" else agree > 0.9, (rule, agree)
    assert len(digests) == 3
