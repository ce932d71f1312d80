"""Stored maps re-scored under each protocol: the default gives back the stored numbers bit for bit, nothing calls a
detector, and protocols that score at the detector's own size use the maps the run kept at that size."""

from __future__ import annotations

import numpy as np
import pytest

import forgebench
from forgebench.analysis.protocol_board import protocol_board
from forgebench.data.catalog import load_catalog
from forgebench.data.truth import GroundTruth
from forgebench.evaluation import runner
from forgebench.evaluation.protocols import load_protocols

PROTOCOLS = load_protocols()
EDGE = np.array([0.5, np.nextafter(0.5, 1.0), np.nextafter(0.5, 0.0), 0.5 + 1 / 510, 0.5 - 1 / 510])
"""Values at and around the threshold: 0.5 itself (not forged), the next float above (forged), and values half a
quantisation step away."""


def near_threshold(pixels: np.ndarray) -> np.ndarray:
    """A map whose pixels sit at and around 0.5, chosen by the image's own green channel."""
    return EDGE[pixels[..., 1].astype(np.int64) % EDGE.size]


def half_size(pixels: np.ndarray) -> np.ndarray:
    """A map at half the image's size (as a network working at a fixed input size returns it)."""
    grey = pixels[::2, ::2].mean(axis=2) / 255.0
    return (grey > 0.45).astype(np.float64)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    first = forgebench.evaluate(near_threshold, name="edge", suite="synthetic", results=results, limit=12)
    second = forgebench.evaluate(half_size, name="half", suite="synthetic", results=results, limit=12)
    return first, second, results


def test_the_default_protocol_gives_back_the_stored_scores_exactly(scored, monkeypatch):
    first, _, _ = scored
    board = first.board()
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("a detector was called"))
    rescored = protocol_board(board, PROTOCOLS["clue"], GroundTruth(load_catalog()))
    assert not rescored.missing
    for cell in board.cells:
        result = rescored.results[(cell.label, cell.dataset)]
        assert (result.primary, result.secondary, result.images) == (
            cell.score.f1,
            cell.score.iou,
            cell.score.n_tampered,
        )
    stored = [r.scored.counts.tp for c in board.cells for r in c.tampered()]
    assert any(stored) and 0 < board.wide().iloc[0]["Weighted Avg. F1"] < 1  # the edge values were scored both ways


def test_every_protocol_rescores_without_calling_a_detector(scored, monkeypatch):
    first, second, _ = scored
    calls = (first.calls, second.calls)
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("a detector was called"))
    board = second.board()
    for protocol in PROTOCOLS.values():
        rescored = protocol_board(board, protocol, GroundTruth(load_catalog()))
        assert not rescored.missing, protocol.name
        values = [r.primary for r in rescored.results.values()]
        assert len(values) == 6 and all(-1 <= v <= 1 for v in values), protocol.name  # 2 detectors × 3 datasets
    assert (first.calls, second.calls) == calls


def test_mask_to_map_protocols_use_the_map_kept_at_the_detector_size(scored):
    _, second, results = scored
    board = second.board()
    cell = next(c for c in board.cells if c.label == "half")
    record = next(r for r in cell.records if r.label == "tampered")
    assert (record.map_height, record.map_width) == ((record.height + 1) // 2, (record.width + 1) // 2)
    assert (results / record.native_map_file).is_file()
    rescored = protocol_board(board, PROTOCOLS["imdlbenco"], GroundTruth(load_catalog()))
    result = rescored.results[("half", cell.dataset)]
    assert result.images == cell.score.n_tampered + cell.score.n_authentic  # authentic images averaged in as 0
    edge = next(c for c in board.cells if c.label == "edge")
    assert next(r for r in edge.records if r.status == "ok").native_map_file is None  # same size: one file


def test_the_python_api_rescores_and_tabulates_detection(scored):
    first, _, _ = scored
    trufor = first.protocol("trufor").set_index("Detector")
    assert list(trufor.columns) == ["syn-splice F1", "syn-copymove F1", "syn-removal F1", "Weighted Avg. F1"]
    clue = first.protocol("clue").set_index("Detector")
    assert clue.loc["edge", "syn-splice F1"] == first.leaderboard().set_index("Detector").loc["edge", "syn-splice F1"]
    with pytest.raises(ValueError, match="trufor"):
        first.protocol("trufr")
    detection = first.detection("fraction").set_index("Detector")
    assert 0 <= detection.loc["edge", "Weighted Avg. AUC"] <= 1
