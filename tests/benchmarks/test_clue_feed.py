"""The feeding benchmark runs the real runner and clue's host side on CPU and reports what it measured."""

from __future__ import annotations

import pytest

from benchmarks import clue_feed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_paced_device_bounds_the_rate_and_every_image_is_scored(capsys, monkeypatch):
    monkeypatch.setattr(clue_feed.registry, "detectors", clue_feed.registry.Registry(
        clue_feed.registry.DETECTOR_GROUP, clue_feed.DetectorPlugin))  # fmt: skip
    argv = ["--sizes", "96x64", "--images", "24", "--workers", "1", "--rate", "20,0", "--in-flight", "1,2",
            "--batch", "4", "--device", "cpu"]  # fmt: skip
    rows = clue_feed.main(argv)
    assert [(r.rate, r.in_flight) for r in rows] == [(20, 1), (20, 2), (0, 1), (0, 2)]
    assert all(r.images == 24 and r.host_ms > 0 and r.predict_ms > 0 for r in rows)
    paced = [r for r in rows if r.rate]
    # the stand-in device does one batch at a time: no setting beats its rate
    assert all(r.images_per_s <= 20 * 1.02 and 0 < r.busy <= 1.02 for r in paced)
    unpaced = [r for r in rows if not r.rate]
    assert all(r.busy is None and r.images_per_s > 20 for r in unpaced)
    printed = capsys.readouterr().out
    assert "| 96x64 | 1 | 2 | 4 | 20 |" in printed and "| 96x64 | 1 | 1 | 4 | ∞ |" in printed
