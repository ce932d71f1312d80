"""Stored maps re-scored under each protocol: the default gives back the stored numbers bit for bit, nothing calls a
detector, and protocols that score at the detector's own size use the maps the run kept at that size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import forgebench
from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.protocol_board import AVERAGE_KEY, protocol_board
from forgebench.data.catalog import load_catalog
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.protocols import load_protocols

PROTOCOLS = load_protocols()
EDGE = np.array([0.5, np.nextafter(0.5, 1.0), np.nextafter(0.5, 0.0), 0.5 + 1 / 510, 0.5 - 1 / 510])
"""Values at and around the threshold: 0.5 itself (not forged), the next float above (forged), and values half a
quantisation step away."""


CALLS: list[str] = []
"""Every call of the two detectors below: re-scoring must add none."""


def near_threshold(pixels: np.ndarray) -> np.ndarray:
    """A map whose pixels sit at and around 0.5, chosen by the image's own green channel."""
    CALLS.append("edge")
    return EDGE[pixels[..., 1].astype(np.int64) % EDGE.size]


def half_size(pixels: np.ndarray) -> np.ndarray:
    """A map at half the image's size (as a network working at a fixed input size returns it)."""
    CALLS.append("half")
    grey = pixels[::2, ::2].mean(axis=2) / 255.0
    return (grey > 0.45).astype(np.float64)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    first = forgebench.evaluate(near_threshold, name="edge", suite="synthetic", results=results, limit=12)
    second = forgebench.evaluate(half_size, name="half", suite="synthetic", results=results, limit=12)
    return first, second, results


def test_the_default_protocol_gives_back_the_stored_scores_exactly(scored):
    first, _, _ = scored
    board, calls = first.board(), len(CALLS)
    rescored = protocol_board(board, PROTOCOLS["clue"], GroundTruth(load_catalog()))
    assert not rescored.missing
    for cell in board.cells:
        result = rescored.results[(cell.label, cell.dataset)]
        assert (result.primary, result.secondary, result.images) == (
            cell.score.f1,
            cell.score.iou,
            cell.score.n_tampered,
        )
    for label, average in board.wide().set_index("Detector")["Weighted Avg. F1"].items():
        assert rescored.average(label) == average
    stored = [r.scored.counts.tp for c in board.cells for r in c.tampered()]
    assert any(stored) and len(CALLS) == calls  # the edge values were scored both ways; no detector was called


def test_every_protocol_rescores_without_calling_a_detector(scored):
    _, second, _ = scored
    board, calls = second.board(), len(CALLS)
    for protocol in PROTOCOLS.values():
        rescored = protocol_board(board, protocol, GroundTruth(load_catalog()))
        assert not rescored.missing, protocol.name
        assert len(rescored.results) == 6, protocol.name  # 2 detectors × 3 datasets
    assert len(CALLS) == calls


def test_mask_to_map_protocols_use_the_map_kept_at_the_detector_size(scored):
    """IMDL-BenCo's value recomputed independently: each mask shrunk to the kept map by nearest neighbour, F1 at
    p > 0.5 per image, authentic images as 0, the mean."""
    _, second, results = scored
    board = second.board()
    truth = GroundTruth(load_catalog())
    for cell in (c for c in board.cells if c.label == "half"):
        samples = truth.samples(cell.dataset, cell.manifest_digest)
        values = []
        for record in (r for r in cell.records if r.status == "ok"):
            assert (record.map_height, record.map_width) == ((record.height + 1) // 2, (record.width + 1) // 2)
            levels = np.asarray(Image.open(results / record.native_map_file))
            if record.label == "authentic":
                values.append(0.0)
                continue
            forged = truth.forged(cell.dataset, cell.manifest_digest, samples[record.image_id])
            rows = (np.arange(levels.shape[0]) * forged.shape[0] // levels.shape[0]).clip(max=forged.shape[0] - 1)
            columns = (np.arange(levels.shape[1]) * forged.shape[1] // levels.shape[1]).clip(max=forged.shape[1] - 1)
            mask, predicted = forged[np.ix_(rows, columns)], levels > 127
            tp = int((mask & predicted).sum())
            values.append(2 * tp / (2 * tp + int((~mask & predicted).sum()) + int((mask & ~predicted).sum())))
        result = protocol_board(board, PROTOCOLS["imdlbenco"], truth).results[("half", cell.dataset)]
        assert result.primary == pytest.approx(float(np.mean(values)), abs=1e-12) and result.images == len(values)
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


def test_protocol_intervals_hold_each_value_repeat_from_their_seed_and_match_the_leaderboards(scored):
    """Under ``clue`` the protocol's intervals resample the same per-image F1 with the same draws as the
    leaderboard's own, so they are the leaderboard's intervals; every value, the average's included, lies inside its
    interval."""
    first, _, _ = scored
    board, truth = first.board(bootstrap=Settings(resamples=2000)), GroundTruth(load_catalog())
    settings = Settings(resamples=2000)
    for name in ("clue", "pooled", "best-dataset", "imdlbenco"):
        rescored = protocol_board(board, PROTOCOLS[name], truth, settings)
        frame = rescored.wide().set_index("Detector")
        for column in [c for c in frame.columns if not c.endswith((" low", " high"))]:
            low, value, high = frame[f"{column} low"].iloc[0], frame[column].iloc[0], frame[f"{column} high"].iloc[0]
            assert low <= value <= high and low < high, (name, column)
        again = protocol_board(board, PROTOCOLS[name], truth, settings).intervals
        assert again == rescored.intervals, name
    clue = protocol_board(board, PROTOCOLS["clue"], truth, settings)
    for cell in board.cells:
        low, high = clue.intervals[(cell.label, cell.dataset)]
        leaderboards = board.intervals[(cell.label, cell.dataset)][:, 0]  # [F1 low, F1 high]
        assert (low, high) == pytest.approx(tuple(leaderboards), abs=1e-12), cell.dataset
    average = board.intervals[(board.cells[0].label, "Weighted Avg.")][:, 0]
    assert clue.intervals[(board.cells[0].label, AVERAGE_KEY)] == pytest.approx(tuple(average), abs=1e-12)
    other = protocol_board(board, PROTOCOLS["clue"], truth, Settings(resamples=2000, seed=1)).intervals
    assert other != clue.intervals
