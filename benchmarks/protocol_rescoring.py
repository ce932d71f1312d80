"""The cost of re-scoring stored maps under each protocol, and the disk the stored maps take.

Two function detectors are evaluated on the synthetic test suite (180 images): one returns a map at the image's size,
the other at half its size (as a network with a fixed input size does), so both the maps at the ground truth's size
(``maps/``) and those kept at the detector's own size (``maps-native/``) are written. Each protocol then re-scores
both detectors' stored maps (no detector is called); the script prints milliseconds per scored image and protocol
(the best of ``--repeat`` runs), and the disk per 1,000 images of each map folder.

    python benchmarks/protocol_rescoring.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import forgebench
from forgebench.analysis.protocol_board import protocol_board
from forgebench.data.catalog import load_catalog
from forgebench.data.truth import GroundTruth
from forgebench.evaluation.protocols import load_protocols


def full_size(pixels: np.ndarray) -> np.ndarray:
    return pixels[..., 0] / 255.0


def half_size(pixels: np.ndarray) -> np.ndarray:
    return pixels[::2, ::2, 1] / 255.0


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*.png")) if folder.is_dir() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder)
        runs = [
            forgebench.evaluate(function, name=name, suite="synthetic", results=results)
            for name, function in (("full", full_size), ("half", half_size))
        ]
        board = runs[-1].board()
        records = [r for cell in board.cells for r in cell.records if r.status == "ok"]
        pixels = np.mean([r.height * r.width for r in records]) / 1e6
        print(f"{len(records)} stored maps ({len(records) // 2} per detector), images of {pixels:.2f} MP on average")
        for name in ("maps", "maps-native"):
            stored = [r for r in records if (r.native_map_file if name == "maps-native" else r.map_file)]
            size = folder_bytes(results / name)
            per_thousand = size / max(len(stored), 1) * 1000 / 1e6
            print(f"  {name + '/':13s} {size / 1e6:6.2f} MB for {len(stored)} maps: {per_thousand:6.1f} MB per 1,000")
        truth = GroundTruth(load_catalog())
        protocol_board(board, load_protocols()["clue"], truth)  # ground truth read once before timing
        print("re-scoring (no detector called), best of", args.repeat, "runs:")
        for protocol in load_protocols().values():
            best = min(_timed(board, protocol, truth) for _ in range(args.repeat))
            print(f"  {protocol.name:13s} {1000 * best / len(records):6.2f} ms per image")


def _timed(board, protocol, truth) -> float:
    started = time.perf_counter()
    protocol_board(board, protocol, truth)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
