"""Bad and unusual inputs, built here: each is decoded in a defined way or recorded as an error, and the run goes on.

The README's reliability table lists these cases; ``BEHAVIOUR`` below is what it states.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from builders import box, pairs_dataset
from PIL import Image
from typer.testing import CliRunner

from forgebench.cli import app
from forgebench.data.catalog import load_catalog
from forgebench.data.check import check_dataset
from forgebench.data.decode import DecodeError, MaskRule, read_mask, read_rgb
from forgebench.evaluation.runner import Job, run
from forgebench.evaluation.store import Store

H, W = 24, 32
RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
FORGED = box(H, W, 4, 6, 10)
COLUMNS, ROWS = np.meshgrid(np.linspace(20, 220, W), np.linspace(40, 200, H))
SMOOTH = np.stack([COLUMNS, ROWS, np.full((H, W), 90.0)], axis=2).astype(np.uint8)  # CMYK JPEG: noise would not survive


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height and whose data is empty (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return encoded(Image.fromarray(SMOOTH), "JPEG", quality=95, exif=exif)


IMAGES = {
    "zero-bytes.png": b"",
    "truncated-jpeg.jpg": encoded(Image.fromarray(PIXELS), "JPEG", quality=95)[:300],
    "truncated-png.png": encoded(Image.fromarray(PIXELS), "PNG")[:200],
    "not-an-image.jpg": b"this is a text file with an image extension\n" * 10,
    "bomb.png": png_header_only(30_000, 30_000),
    "cmyk.jpg": encoded(Image.fromarray(SMOOTH).convert("CMYK"), "JPEG", quality=100),
    "gray16.png": encoded(Image.fromarray(PIXELS[..., 0].astype(np.uint16) * 257), "PNG"),
    "rgba.png": encoded(Image.fromarray(np.dstack([PIXELS, np.full((H, W), 7, np.uint8)])), "PNG"),
    "palette.png": encoded(Image.fromarray(PIXELS).quantize(16), "PNG"),
    "gray.png": encoded(Image.fromarray(PIXELS[..., 1]), "PNG"),
    "exif-rotated.jpg": exif_rotated(),
    "size-mismatch.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "jpeg-mask.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "zero-one-mask.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "inverted-mask.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "exif-display-mask.jpg": exif_rotated(),
    "no-mask.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "empty-npz.png": encoded(Image.fromarray(PIXELS), "PNG"),
    "text-npz.png": encoded(Image.fromarray(PIXELS), "PNG"),
}
WHITE = np.where(FORGED, 255, 0).astype(np.uint8)
MASKS = {
    "size-mismatch": encoded(Image.fromarray(np.pad(WHITE, ((0, 8), (0, 8)))), "PNG"),
    "jpeg-mask": encoded(Image.fromarray(WHITE), "JPEG", quality=75),
    "zero-one-mask": encoded(Image.fromarray(FORGED.astype(np.uint8)), "PNG"),
    "inverted-mask": encoded(Image.fromarray(np.where(box(H, W, 8, 8, 6), 0, 255).astype(np.uint8)), "PNG"),
    "exif-display-mask": encoded(Image.fromarray(WHITE.T.copy()), "PNG"),  # drawn on the displayed (turned) image
}
ARRAY_MASKS = {"empty-npz": {}, "text-npz": {"notes.txt": b"not an array"}}
"""``.npz`` masks: an archive with no member, and one whose only member is not an array."""

# image → (status, a text the record's message or notes must contain)
BEHAVIOUR = {
    "zero-bytes.png": ("error", "cannot identify image file"),
    "truncated-jpeg.jpg": ("error", "truncated"),
    "truncated-png.png": ("error", "truncated"),
    "not-an-image.jpg": ("error", "cannot identify image file"),
    "bomb.png": ("error", "30000×30000 = 900,000,000 pixels, above the limit"),
    "cmyk.jpg": ("ok", ""),
    "gray16.png": ("ok", ""),
    "rgba.png": ("ok", ""),
    "palette.png": ("ok", ""),
    "gray.png": ("ok", ""),
    "exif-rotated.jpg": ("ok", ""),
    "size-mismatch.png": ("ok", "size mismatch: image 32×24, mask 40×32"),
    "jpeg-mask.png": ("ok", "non-binary mask"),
    "zero-one-mask.png": ("ok", "{0,1} mask: read as 1 = forged"),
    "inverted-mask.png": ("ok", "mask looks inverted"),
    "exif-display-mask.jpg": ("ok", "the mask matches the image turned by its EXIF orientation tag (6)"),
    "no-mask.png": ("error", "no mask pairs with tampered image"),
    "empty-npz.png": ("error", "empty-npz.npz is an .npz archive with no array in it"),
    "text-npz.png": ("error", "text-npz.npz: its first member 'notes.txt' is not an .npy array"),
}

CATALOG = """
datasets:
  bad:
    root: {root}
    tampered: {{images: ["images/*"]}}
    masks: {{files: ["masks/*"], forged_if: "> 127"}}
"""


@pytest.fixture
def bad_dataset(tmp_path):
    root = tmp_path / "bad"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for name, data in IMAGES.items():
        (root / "images" / name).write_bytes(data)
        stem = Path(name).stem
        if stem in ARRAY_MASKS:
            with zipfile.ZipFile(root / "masks" / f"{stem}.npz", "w") as archive:
                for member, content in ARRAY_MASKS[stem].items():
                    archive.writestr(member, content)
        elif stem != "no-mask":
            mask = MASKS.get(stem, encoded(Image.fromarray(WHITE), "PNG"))
            (root / "masks" / (stem + (".jpg" if stem == "jpeg-mask" else ".png"))).write_bytes(mask)
    catalog = tmp_path / "bad.yaml"
    catalog.write_text(CATALOG.format(root=root), encoding="utf-8")
    return load_catalog((catalog,)).dataset("bad"), root


def test_every_bad_input_has_its_defined_outcome_and_the_run_goes_on(bad_dataset, tmp_path):
    spec, _ = bad_dataset
    with Store(tmp_path / "results") as store:
        summary = run(Job("all-forged", (spec,), tmp_path / "results"), store)
        records = {Path(r.image_id).name: r for e in store.evaluations() for r in store.records(e)}
    assert set(records) == set(IMAGES)  # nothing dropped, nothing duplicated
    for name, (status, text) in BEHAVIOUR.items():
        record = records[name]
        assert record.status == status, (name, record.message)
        described = (record.message or "") + (record.notes or "")
        assert text in described, (name, described)
        if status == "error":
            assert Path(name).stem in record.message  # the message names the file (the image, or its mask)
    assert summary.outcomes[0].errors == 8 and summary.outcomes[0].scored == 11


def test_unusual_encodings_decode_to_the_expected_pixels(bad_dataset):
    _, root = bad_dataset
    images = root / "images"
    assert np.abs(read_rgb(images / "cmyk.jpg").astype(int) - SMOOTH).max() <= 4  # CMYK → RGB, JPEG-lossy
    np.testing.assert_array_equal(read_rgb(images / "gray16.png"), np.repeat(PIXELS[..., :1], 3, axis=2))  # x // 256
    np.testing.assert_array_equal(read_rgb(images / "rgba.png"), PIXELS)  # alpha dropped
    np.testing.assert_array_equal(read_rgb(images / "gray.png"), np.repeat(PIXELS[..., 1:2], 3, axis=2))
    palette = read_rgb(images / "palette.png")
    assert palette.shape == (H, W, 3) and len(np.unique(palette.reshape(-1, 3), axis=0)) <= 16
    rotated = read_rgb(images / "exif-rotated.jpg")
    assert rotated.shape == (H, W, 3)  # the stored pixel grid: EXIF orientation is not applied (to image or mask)
    assert np.abs(rotated.astype(int) - SMOOTH).max() <= 8  # q95 4:2:0 JPEG of the same grid


def test_datasets_check_flags_unreadable_files_and_odd_masks(bad_dataset):
    spec, _ = bad_dataset
    quick, full = repr(check_dataset(spec, None).problems), repr(check_dataset(spec, None, decode=True).problems)
    for name in ("zero-bytes.png", "not-an-image.jpg", "bomb.png", "size-mismatch.png", "jpeg-mask.png",
                 "truncated-jpeg.jpg"):  # fmt: skip
        assert name in quick and name in full, name
    assert "truncated-png.png" not in quick  # its header is intact: only decoding finds it
    assert "truncated-png.png: image file is truncated" in full
    for text in ("empty-npz.npz is an .npz archive with no array in it", "'notes.txt' is not an .npy array",
                 "EXIF orientation tag (6)"):  # fmt: skip
        assert text in quick, text


def test_datasets_check_reports_bad_files_with_exit_code_1_and_no_traceback(bad_dataset, tmp_path):
    command = ["datasets", "check", "bad", "--catalog", str(tmp_path / "bad.yaml"), "--examples", "20"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    unwrapped = result.output.replace("\n", "")  # the console folds long paths across lines
    assert "empty-npz.npz" in unwrapped and "text-npz.npz" in unwrapped and "no-mask.png" in unwrapped


@pytest.mark.parametrize("detector", ["noi1", "adq1"])
def test_an_image_too_small_for_a_detector_is_an_error_naming_the_file(detector, tmp_path):
    catalog = pairs_dataset(tmp_path / "tiny", n_tampered=1, n_authentic=0)
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny/images/t00.png")
    Image.fromarray(np.full((1, 1), 255, np.uint8)).save(tmp_path / "tiny/masks/t00.png")
    spec = load_catalog((catalog,)).dataset("tiny")
    with Store(tmp_path / "results") as store:
        run(Job(detector, (spec,), tmp_path / "results"), store)
        (record,) = [r for e in store.evaluations() for r in store.records(e)]
    assert record.status == "error" and "t00.png" in record.message, record.message


def test_a_huge_but_legal_image_decodes(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("RGB", (6000, 4000), (10, 20, 30)).save(path)
    pixels = read_rgb(path)
    assert pixels.shape == (4000, 6000, 3) and (pixels[0, 0] == (10, 20, 30)).all()


def test_the_pixel_limit_can_be_raised(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    Image.new("RGB", (100, 100)).save(path)
    monkeypatch.setattr("forgebench.data.decode.MAX_PIXELS", 99 * 100)
    with pytest.raises(DecodeError, match="100×100 = 10,000 pixels, above the limit of 9,900"):
        read_rgb(path)


def test_array_masks_over_the_pixel_limit_are_refused_from_their_header(tmp_path, monkeypatch):
    monkeypatch.setattr("forgebench.data.decode.MAX_PIXELS", 99 * 100)
    np.save(tmp_path / "big.npy", np.zeros((100, 100), bool))
    np.savez_compressed(tmp_path / "big.npz", mask=np.zeros((100, 100), bool))
    np.save(tmp_path / "fine.npy", np.zeros((99, 100), bool))
    for name in ("big.npy", "big.npz"):
        with pytest.raises(DecodeError, match=r"shape \(100, 100\), above the limit of 9,900 pixels"):
            read_mask(tmp_path / name, MaskRule())
    assert read_mask(tmp_path / "fine.npy", MaskRule()).forged.shape == (99, 100)


def test_a_damaged_tiff_whose_header_makes_pillow_raise_value_error_is_a_decode_error(tmp_path):
    data = bytearray(encoded(Image.fromarray(PIXELS), "TIFF"))
    width_entry = data.find(struct.pack("<HH", 256, 3))  # ImageWidth tag, SHORT: set the width to 0
    data[width_entry + 8 : width_entry + 10] = struct.pack("<H", 0)
    (tmp_path / "zero-width.tif").write_bytes(bytes(data))
    with pytest.raises(DecodeError, match=r"zero-width\.tif"):
        read_rgb(tmp_path / "zero-width.tif")
