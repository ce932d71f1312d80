"""Where the synthetic suite's forged regions lie: the share of tampered images covering each part of the frame.

Every mask is resized to a 64×64 grid (area average) and the grid averaged over the split's tampered images; the
script prints that coverage pooled into an 8×8 map, then the centre (the middle 16×16 cells), the four corners
(8×8 cells each) and the ratio. A placement that does not depend on the image centre gives a flat map.

python benchmarks/synthetic_coverage.py [SPLIT ...]   # default: test val train; builds the suite if needed
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from forgebench.data import paths
from forgebench.data.synthetic import SyntheticConfig, ensure_synthetic
from forgebench.data.synthetic.forge import KINDS
from forgebench.data.synthetic.sources import SPLITS

GRID = 64


def coverage(root, split: str) -> tuple[np.ndarray, int]:
    masks = sorted(mask for kind in KINDS for mask in (root / split / kind / "masks").glob("*.png"))
    total = np.zeros((GRID, GRID), np.float64)
    for path in masks:
        mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127
        total += cv2.resize(mask.astype(np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA)
    return total / max(len(masks), 1), len(masks)


def report(split: str, grid: np.ndarray, count: int) -> str:
    pooled = grid.reshape(8, 8, 8, 8).mean(axis=(1, 3))
    centre = grid[24:40, 24:40].mean()
    corners = np.mean([grid[:8, :8].mean(), grid[:8, -8:].mean(), grid[-8:, :8].mean(), grid[-8:, -8:].mean()])
    lines = [f"{split}: {count} tampered images; coverage pooled to 8×8:"]
    lines += ["  " + " ".join(f"{value:.3f}" for value in row) for row in pooled]
    lines.append(f"  centre {centre:.3f}, corners {corners:.3f}, centre/corners {centre / max(corners, 1e-9):.1f}")
    return "\n".join(lines)


def main(splits: list[str]) -> None:
    root = ensure_synthetic(paths.home() / "synthetic", SyntheticConfig())
    print(f"suite: {root}")
    for split in splits or [s for s in ("test", "val", "train") if s in SPLITS]:
        print(report(split, *coverage(root, split)))


if __name__ == "__main__":
    main(sys.argv[1:])
