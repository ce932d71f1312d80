"""Train the demo's CLUE for several seeds and score it on the synthetic test split beside the references.

For each seed: train ``detectors/clue/demo.yaml`` with that seed (the checkpoint validation chose), evaluate it
on the test split, and print its weighted F1 with a 95 % bootstrap interval, its mean pixel AUC, its validation F1
with an interval, and the paired F1 difference from ``prior`` (the spatial prior of the train split). The
weight-free baselines, ``all-forged`` and ``prior`` are scored once. Everything goes to one results folder, so the
leaderboard and ``forgebench compare`` can be rerun on it.

python benchmarks/demo_seeds.py [--seeds 0 1 2] [--out demo-seeds]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import numpy as np

import forgebench
from forgebench.analysis.bootstrap import Settings, percentile_interval, pooled_means, resample_means, rng
from forgebench.plugin import registry

BASELINES = ("ela", "noi1", "adq1", "all-forged", "prior")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("demo-seeds"))
    args = parser.parse_args()
    config = Path(str(resources.files("forgebench.detectors.clue").joinpath("demo.yaml")))
    results = args.out / "results"
    started = time.perf_counter()
    for name in BASELINES:
        forgebench.evaluate(name, suite="synthetic", extras=("auc",), results=results, progress=False)
    rows = []
    for seed in args.seeds:
        began = time.perf_counter()
        checkpoint = registry.trainers.get("clue").train(
            config, [f"seed={seed}", f"output={args.out / f'seed-{seed}'}"]
        )
        trained = time.perf_counter() - began
        label = f"clue@seed{seed}"
        run = forgebench.evaluate("clue", options={"checkpoint": checkpoint}, label=label, suite="synthetic",
                                  extras=("auc",), results=results, progress=False)  # fmt: skip
        validation = forgebench.evaluate("clue", options={"checkpoint": checkpoint}, label=label,
                                         suite="synthetic-val", results=results, progress=False)  # fmt: skip
        rows.append((seed, trained, run, validation))
    first = rows[0][2]
    board = first.board(bootstrap=Settings())
    print(f"Synthetic test split, pixel F1 at 0.5 per tampered image; intervals: {board.bootstrap.describe()}")
    for label in board.labels():
        print("  " + line(board, label))
    for seed, trained, run, validation in rows:
        val_board = validation.board(bootstrap=Settings())
        comparison = run.compare("prior")
        average = comparison.iloc[-1]
        print(
            f"seed {seed}: trained in {trained:.0f} s; validation {line(val_board, run.label)}; "
            f"CLUE − prior F1 {average.difference:+.3f} [{average['difference low']:+.3f}, "
            f"{average['difference high']:+.3f}], p (two-sided) {average.p:.4f}"
        )
    print(f"total {time.perf_counter() - started:.0f} s")


def line(board, label: str) -> str:
    """``label: F1 x [low, high], AUC y [low, high]`` for the weighted average of ``board``."""
    wide = board.wide().set_index("Detector")
    low, high = board.intervals[(label, "Weighted Avg.")][:, 0]
    return f"{label}: F1 {wide.at[label, 'Weighted Avg. F1']:.3f} [{low:.3f}, {high:.3f}]{auc_text(board, label)}"


def auc_text(board, label: str) -> str:
    """Mean pixel AUC over the tampered images (datasets weighted by image count, as F1) with the same kind of
    stratified bootstrap interval; empty where AUC was not recorded."""
    settings = board.bootstrap
    cells = [c for d in board.datasets if (c := board.cell(label, d)) is not None]
    values = [np.array([r.scored.auc for r in c.tampered() if r.scored.auc is not None]) for c in cells]
    if not cells or any(len(v) == 0 for v in values):
        return ""
    counts = [len(v) for v in values]
    draws = [resample_means(v, settings.resamples, rng(settings, "auc", c.dataset, c.fingerprint)) for v, c in
             zip(values, cells, strict=True)]  # fmt: skip
    low, high = percentile_interval(pooled_means(draws, counts), settings)
    mean = sum(float(v.mean()) * n for v, n in zip(values, counts, strict=True)) / sum(counts)
    return f", AUC {mean:.3f} [{low:.3f}, {high:.3f}]"


if __name__ == "__main__":
    main()
