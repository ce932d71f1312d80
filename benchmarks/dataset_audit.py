"""Speed of the duplicate audit (``forgebench.data.audit``) on about 1-megapixel JPEGs, and what it finds.

The script writes N distinct images (random crops, scales, flips and colour shifts of photographs bundled with
scikit-image, JPEG quality 95) as a test set, plants copies of four of them (an exact copy and a half-size copy in
the test set, a quality-75 re-encode and an exact copy in a training set), and audits both with one worker. It
prints images/s and MB/s (file bytes read) for decoding and hashing, for the pairwise search, and in total, then the
groups found: they should be exactly the four planted ones. ``--search`` also times the pairwise search alone on that
many random fingerprints (no decoding), the scale of a full benchmark collection.

    python benchmarks/dataset_audit.py [--images 200] [--search 60000] [--seed 0]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

from forgebench.data.audit import THUMBNAIL_SIDE, Fingerprint, audit, find_links
from forgebench.data.catalog import load_catalog
from forgebench.data.manifest import build_manifest

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
SIZE_HW = (864, 1152)
CATALOG = """
datasets:
  bench-test: {title: audit benchmark (test), role: test, root: test, authentic: {images: ["*"]}}
  bench-train: {title: audit benchmark (train), role: train, root: train, authentic: {images: ["*"]}}
"""


def distinct_image(rng: np.random.Generator) -> np.ndarray:
    """A 1152×864 view of a random photograph: scaled 2.3–3.5×, maybe mirrored, cropped at random, colours shifted."""
    photo = getattr(skimage.data, PHOTOS[rng.integers(len(PHOTOS))])()
    scale = max(rng.uniform(2.3, 3.5), SIZE_HW[0] / photo.shape[0], SIZE_HW[1] / photo.shape[1])
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
    top = rng.integers(photo.shape[0] - SIZE_HW[0] + 1)
    left = rng.integers(photo.shape[1] - SIZE_HW[1] + 1)
    crop = photo[top : top + SIZE_HW[0], left : left + SIZE_HW[1]].astype(np.float32)
    return np.clip(crop * rng.uniform(0.8, 1.2, 3) + rng.uniform(-20, 20, 3), 0, 255).astype(np.uint8)


def write_collection(root: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` distinct test images plus planted copies; returns (copy id, original id) per planted copy."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        Image.fromarray(distinct_image(rng)).save(root / f"test/img{index:04d}.jpg", quality=95)
    shutil.copyfile(root / "test/img0000.jpg", root / "test/img0000_exact.jpg")
    shutil.copyfile(root / "test/img0001.jpg", root / "train/img0001_exact.jpg")
    with Image.open(root / "test/img0002.jpg") as image:
        image.save(root / "train/img0002_q75.jpg", quality=75)
    with Image.open(root / "test/img0003.jpg") as image:
        image.resize((SIZE_HW[1] // 2, SIZE_HW[0] // 2), Image.Resampling.BOX).save(root / "test/img0003_half.jpg")
    return [
        ("bench-test/img0000_exact.jpg", "bench-test/img0000.jpg"),
        ("bench-train/img0001_exact.jpg", "bench-test/img0001.jpg"),
        ("bench-train/img0002_q75.jpg", "bench-test/img0002.jpg"),
        ("bench-test/img0003_half.jpg", "bench-test/img0003.jpg"),
    ]


def rate(count: int, megabytes: float, seconds: float) -> str:
    return f"{seconds:7.2f} s  {count / seconds:8.1f} images/s  {megabytes / seconds:7.1f} MB/s"


def audit_collection(count: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for sub in ("test", "train"):
            (root / sub).mkdir()
        made = time.perf_counter()
        planted = write_collection(root, count, seed)
        print(f"wrote {count} images of {SIZE_HW[1]}×{SIZE_HW[0]} + {len(planted)} copies in "
              f"{time.perf_counter() - made:.1f} s")  # fmt: skip
        (root / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
        catalog = load_catalog((root / "catalog.yaml",))
        manifests = [build_manifest(catalog.dataset(name), data_root=root) for name in ("bench-test", "bench-train")]
        report = audit(manifests, workers=1)
    megabytes = report.bytes_read / 1e6
    print(f"audited {report.images} images, {megabytes:.1f} MB of files, one worker (rates are per core)")
    print(f"  decode + hash   {rate(report.images, megabytes, report.fingerprint_seconds)}")
    print(f"  pairwise search {rate(report.images, megabytes, report.match_seconds)}")
    print(f"  total           {rate(report.images, megabytes, report.fingerprint_seconds + report.match_seconds)}")
    print(f"groups found: {len(report.groups)} ({len(report.unreadable)} unreadable)")
    for number, group in enumerate(report.groups, 1):
        copies = ", ".join(f"{member.image_id} [{member.match}]" for member in group.members[1:])
        print(f"  {number}. {group.scope}: keep {group.kept.image_id}; copies {copies}")
    found = {(member.image_id, group.kept.image_id) for group in report.groups for member in group.members[1:]}
    hits, others = len(found & set(planted)), len(found - set(planted))
    print(f"planted copies found: {hits} of {len(planted)}; other images grouped: {others}")


def time_search(count: int, seed: int) -> None:
    """The pairwise search alone over ``count`` random fingerprints: random hashes rarely fall within the candidate
    distance, so this is the cost of the chunked XOR scan itself."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, count, dtype=np.uint64)
    thumbnails = rng.integers(0, 256, (count, THUMBNAIL_SIDE, THUMBNAIL_SIDE), dtype=np.uint8)
    fingerprints = [
        Fingerprint(f"{index:064x}", 0, 4, 3, int(value), thumbnail)
        for index, (value, thumbnail) in enumerate(zip(hashes, thumbnails, strict=True))
    ]
    started = time.perf_counter()
    links = find_links(fingerprints)
    seconds = time.perf_counter() - started
    pairs = count * (count - 1) // 2
    print(f"pairwise search over {count:,} fingerprints ({pairs:,} pairs): {seconds:.2f} s, "
          f"{pairs / seconds / 1e6:.0f} M pairs/s, {len(links)} links")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="distinct images to write and audit")
    parser.add_argument("--search", type=int, default=0, help="also time the pairwise search on this many")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    audit_collection(args.images, args.seed)
    if args.search:
        time_search(args.search, args.seed)


if __name__ == "__main__":
    main()
