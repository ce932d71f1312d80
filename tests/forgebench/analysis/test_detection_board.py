"""The detection board on stored results: a detector that scored nothing is named, never a crash or a number."""

from __future__ import annotations

import numpy as np

import forgebench
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.detection_board import detection_board


def test_a_detector_without_a_scored_image_is_reported_missing(tmp_path):
    def broken(pixels: np.ndarray) -> np.ndarray:
        raise RuntimeError("no map")

    forgebench.evaluate(broken, name="broken", suite="synthetic", results=tmp_path, limit=4)
    results = forgebench.evaluate(
        lambda px: px[..., 0] / 255.0, name="red", suite="synthetic", results=tmp_path, limit=4
    )
    board = detection_board(results.board(), "max", bootstrap=Settings(resamples=100))
    assert set(board.missing) == {("broken", d) for d in ("syn-splice", "syn-copymove", "syn-removal")}
    assert all(why == "no image was scored" for why in board.missing.values())
    red = board.wide().set_index("Detector").loc["red"]
    assert 0 <= red["Weighted Avg. F1"] <= 1 and red["Weighted Avg. F1 low"] <= red["Weighted Avg. F1 high"]
    assert board.wide().set_index("Detector").loc["broken"].isna().all()
