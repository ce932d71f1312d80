"""Cached maps keep every pixel on its side of the threshold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from forgebench.evaluation.mapcache import load_levels, load_map, quantise, save_map


def test_quantisation_preserves_the_strict_threshold():
    values = np.array([0.0, 0.4999, 0.5, 0.50001, 0.5019, 0.502, 1.0], np.float32)
    levels = quantise(values)
    assert ((levels / 255.0) > 0.5).tolist() == (values > 0.5).tolist()
    assert levels.tolist() == [0, 127, 127, 128, 128, 128, 255]


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    probability = rng.random((17, 23)).astype(np.float32)
    save_map(tmp_path / "a/b.png", probability)
    restored = load_map(tmp_path / "a/b.png")
    assert restored.shape == (17, 23)
    assert np.abs(restored - probability).max() <= 0.5 / 255 + 1e-6
    assert ((restored > 0.5) == (probability > 0.5)).all()


def test_threads_writing_the_same_map_never_collide(tmp_path):
    """Each writer has its own temporary file; the last complete map wins and no temporary file is left."""
    path = tmp_path / "maps" / "a.png"
    maps = [np.full((32, 32), value, np.float32) for value in (0.2, 0.8)]

    def write(index: int) -> None:
        for _ in range(40):
            save_map(path, maps[index % 2])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    assert np.unique(load_levels(path)).size == 1 and sorted(p.name for p in path.parent.iterdir()) == ["a.png"]


def test_a_temporary_file_left_by_a_killed_writer_goes_when_the_map_is_written_again(tmp_path):
    path = tmp_path / "maps" / "a.png"
    path.parent.mkdir()
    dead = path.parent / f".a.png.{2**22 + 12345}.1.tmp.png"  # above Linux's largest pid: no such process
    dead.write_bytes(b"")
    save_map(path, np.zeros((4, 4), np.float32))
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.png"]
