"""``forgebench datasets prepare / check / info`` end to end, and the lock carried into runs and leaderboards."""

from __future__ import annotations

import skimage.data
from builders import box, coverage_download, write_image, write_mask
from PIL import Image

from forgebench.data.catalog import load_catalog
from forgebench.data.exclusions import read_exclusions
from forgebench.data.manifest import build_manifest
from forgebench.evaluation.store import Store

OVERLAY = "overrides:\n  coverage: {expected: {tampered: 3, authentic: 3}}\n"


def test_prepare_then_check_passes_and_a_changed_file_is_named(cli, tmp_path):
    (tmp_path / "counts.yaml").write_text(OVERLAY)
    where = ("--data-root", tmp_path / "data", "--catalog", tmp_path / "counts.yaml")
    prepared = cli("datasets", "prepare", "coverage", "--from", coverage_download(tmp_path), *where)
    assert prepared.exit_code == 0, prepared.output
    assert (
        "coverage: variant official" in prepared.output
        and "3 tampered + 3 authentic images (6 linked)" in prepared.output
    )
    lock = prepared.output.split("lock ")[1][:12]
    checked = cli("datasets", "check", "coverage", *where)
    assert checked.exit_code == 0, checked.output
    assert lock[:9] in checked.output  # the table's lock column (cut to fit)
    (tmp_path / "data/coverage/masks/2t.png").write_bytes(b"\x89PNG changed")
    checked = cli("datasets", "check", "coverage", *where)
    assert checked.exit_code == 1
    assert "coverage: file differs from the lock: masks/2t.png" in checked.output


def test_an_unrecognised_download_is_explained_and_nothing_is_written(cli, tmp_path):
    write_image(tmp_path / "dl/photos/a.jpg")
    result = cli("datasets", "prepare", "cocoglide", "--from", tmp_path / "dl", "--data-root", tmp_path / "data")
    assert result.exit_code == 1
    assert "the download matches no known variant (1 files)" in result.output
    assert "trufor: nothing matches '**/fake/*.png'" in result.output
    assert not (tmp_path / "data/cocoglide").exists()
    bad = cli("datasets", "prepare", "coverage", "--from", tmp_path / "dl", "--option", "mismatch")
    assert bad.exit_code == 2 and "expected KEY=VALUE" in bad.output


def test_info_says_where_the_licence_the_variants_the_options_and_the_command(cli, tmp_path):
    result = cli("datasets", "info", "columbia", "--data-root", tmp_path)
    text = result.output.replace("\n", " ")
    assert result.exit_code == 0
    for expected in (
        "published: ee.columbia.edu/ln/dvmm/downloads/authsplcuncmp/",
        "licence: free for research",
        "expected: 180 / 183; weight in CLUE's tables 180",
        "prepared: no",
        'forgebench datasets prepare columbia --from "DOWNLOAD"',
        "columbia-palette, columbia-green-channel, columbia-red, columbia-bright-red",
    ):
        assert expected in " ".join(text.split()), expected
    listing = cli("datasets", "info", "--data-root", tmp_path)
    assert listing.exit_code == 0 and "casia2" in listing.output and "syn-splice" not in listing.output


def test_runs_record_the_lock_and_leaderboards_print_it_and_name_rows_of_an_older_lock(cli, tmp_path):
    download, results = coverage_download(tmp_path), tmp_path / "r"
    where = ("--dataset", "coverage", "--data-root", tmp_path / "data", "--results", results)
    first = cli("datasets", "prepare", "coverage", "--from", download, "--data-root", tmp_path / "data")
    old = first.output.split("lock ")[1][:12]
    assert cli("run", "all-forged", *where).exit_code == 0
    board = cli("leaderboard", "--results", results)
    assert f"Data locks (datasets prepare): coverage {old}." in board.output.replace("\n", "")
    (tmp_path / "keep.txt").write_text("1t\n2t\n")
    again = cli(
        "datasets", "prepare", "coverage", "--from", download, "--data-root", tmp_path / "data",
        "--option", f"subset={tmp_path / 'keep.txt'}", "--force",
    )  # fmt: skip
    new = again.output.split("lock ")[1][:12]
    assert again.exit_code == 0 and new != old
    assert cli("run", "all-pristine", *where).exit_code == 0
    text = " ".join(cli("leaderboard", "--results", results).output.split())
    assert f"Data locks (datasets prepare): coverage {new}." in text
    assert "coverage: all-forged (" in text and f", lock {old})" in text  # left out, with the lock it was scored on


AUDITED = """
datasets:
  mine-test: {{title: a test set, variants: [normalised]}}
  mine-train: {{title: a training set, role: train, variants: [normalised]}}
{overrides}
"""


def test_audit_finds_a_training_copy_writes_the_list_and_check_records_it_in_the_lock(cli, tmp_path):
    photo = skimage.data.astronaut()[:192, :256]
    for name, pixels, quality in (("test", photo, 95), ("train", photo, 75)):  # the training copy re-encoded
        (tmp_path / f"dl-{name}/images").mkdir(parents=True)
        Image.fromarray(pixels).save(tmp_path / f"dl-{name}/images/a.jpg", quality=quality)
        write_mask(tmp_path / f"dl-{name}/masks/a.png", box(192, 256, 10, 10, 40))
        other = skimage.data.coffee() if name == "test" else skimage.data.chelsea()
        Image.fromarray(other[:192, :256]).save(tmp_path / f"dl-{name}/images/b.png")
        write_mask(tmp_path / f"dl-{name}/masks/b.png", box(192, 256, 50, 50, 40))
    catalog = tmp_path / "mine.yaml"
    catalog.write_text(AUDITED.format(overrides=""))
    where = ("--data-root", tmp_path / "data", "--catalog", catalog)
    for name in ("test", "train"):
        assert cli("datasets", "prepare", f"mine-{name}", "--from", tmp_path / f"dl-{name}", *where).exit_code == 0
    audited = cli("datasets", "audit", "mine-test", "mine-train", "--write", tmp_path / "leaks.txt", *where)
    assert audited.exit_code == 0, audited.output
    text = " ".join(audited.output.split())
    assert "1 groups of copies" in text and "1. test vs train: keep mine-test/images/a.jpg" in text
    assert "exclude mine-train/images/a.jpg (near (pHash distance" in text
    assert read_exclusions(tmp_path / "leaks.txt") == {"mine-train/images/a.jpg"}
    catalog.write_text(AUDITED.format(overrides="overrides:\n  mine-train: {exclude: leaks.txt}"))
    stale = cli("datasets", "check", "mine-train", *where)
    assert stale.exit_code == 1 and "exclusion list differs from the lock's" in stale.output
    recorded = cli("datasets", "check", "mine-train", "--record-exclusions", *where)
    assert recorded.exit_code == 0, recorded.output
    assert "mine-train: 1 excluded images recorded" in recorded.output
    assert build_manifest(load_catalog((catalog,)).dataset("mine-train"), tmp_path / "data").n_tampered == 1


def test_a_run_scores_no_image_or_mask_that_differs_from_the_lock(cli, tmp_path):
    download, results = coverage_download(tmp_path), tmp_path / "r"
    assert cli("datasets", "prepare", "coverage", "--from", download, "--data-root", tmp_path / "data").exit_code == 0
    image = tmp_path / "data/coverage/images/2t.tif"
    image.unlink()  # a hard link to the download: replaced, not written through
    data = bytearray((download / "image/2t.tif").read_bytes())
    data[-1] ^= 0xFF
    image.write_bytes(bytes(data))
    write_mask(tmp_path / "data/coverage/masks/3t.png", box(24, 32, 10, 10, 9))  # another region, a new file
    ran = cli("run", "all-forged", "--dataset", "coverage", "--data-root", tmp_path / "data", "--results", results)
    assert ran.exit_code == 0, ran.output
    with Store(results) as store:
        (evaluation,) = store.evaluations()
        records = {r.image_id: r for r in store.records(evaluation)}
    assert {i: r.status for i, r in records.items()} == {
        "coverage/images/1t.tif": "ok", "coverage/images/2t.tif": "error", "coverage/images/3t.tif": "error",
        "coverage/authentic/1.tif": "ok", "coverage/authentic/2.tif": "ok", "coverage/authentic/3.tif": "ok",
    }  # fmt: skip
    for image_id, changed in (("coverage/images/2t.tif", "images/2t.tif"), ("coverage/images/3t.tif", "masks/3t.png")):
        expected = f"{changed} differs from the file coverage's lock records: run forgebench datasets check coverage"
        assert records[image_id].message.endswith(expected)
