"""Is detector A really better than B? Paired differences on the same images, with intervals and tests.

Per dataset, the images both detectors scored are paired and the per-image differences A − B of the
metric (F1 or IoU at the fixed threshold) are averaged. The interval is a paired bootstrap of that
mean; the test is a sign-flip permutation test of "A and B are exchangeable on every image". The
overall difference is the weighted average over datasets (weights = paired images, the protocol's
rule), with a bootstrap stratified by dataset and a sign-flip test over all pairs. The per-dataset
tests are Holm-adjusted as a family; the overall test stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forgebench.analysis.bootstrap import (
    Settings,
    holm,
    percentile_interval,
    pooled_means,
    resample_means,
    rng,
    sign_flip_p_value,
)
from forgebench.analysis.leaderboard import Cell, Leaderboard
from forgebench.evaluation.metrics import AVERAGE

METRICS = ("f1", "iou")
ImageValues = dict[tuple[str, str], dict[str, tuple[float, float | None]]]


class ComparisonError(ValueError):
    """The detectors to compare cannot be found or share no scored image."""


@dataclass(frozen=True)
class Difference:
    """A − B on one dataset (or overall): means over the paired images, interval and test."""

    dataset: str
    pairs: int
    a: float
    b: float
    difference: float
    low: float
    high: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass
class Comparison:
    a: str
    b: str
    metric: str
    settings: Settings
    rows: list[Difference] = field(default_factory=list)
    unpaired: dict[str, str] = field(default_factory=dict)
    """Dataset → why some or all of its images could not be paired."""
    protocol: str | None = None
    """The protocol the per-image values were re-scored under (None: the stored values, the default protocol)."""

    def overall(self) -> Difference | None:
        return next((row for row in self.rows if row.dataset == AVERAGE), None)

    def frame(self) -> pd.DataFrame:
        """One row per dataset, then the overall row."""
        metric = self.metric.upper() if self.metric == "f1" else "IoU"
        return pd.DataFrame(
            [
                {
                    "dataset": r.dataset,
                    "pairs": r.pairs,
                    f"{self.a} {metric}": r.a,
                    f"{self.b} {metric}": r.b,
                    "difference": r.difference,
                    "difference low": r.low,
                    "difference high": r.high,
                    "p": r.p_value,
                    "p (Holm)": r.p_adjusted,
                    "significant": "yes" if r.significant else "no",
                }
                for r in self.rows
            ]
        )

    def verdicts(self) -> list[str]:
        """Plain sentences: where A is significantly better or worse than B, and where no difference is shown."""
        alpha = f"{self.settings.alpha:g}"
        better = [r.dataset for r in self.rows if r.significant and r.difference > 0]
        worse = [r.dataset for r in self.rows if r.significant and r.difference < 0]
        neither = [r.dataset for r in self.rows if not r.significant]
        lines = []
        if better:
            lines.append(_sentence(f"{self.a} is significantly better than {self.b} (p < {alpha}) on", better))
        if worse:
            lines.append(_sentence(f"{self.a} is significantly worse than {self.b} (p < {alpha}) on", worse))
        if neither:
            lines.append(_sentence(f"No significant difference (p ≥ {alpha}) on", neither))
        return lines


def _sentence(opening: str, datasets: list[str]) -> str:
    text = f"{opening}: {', '.join(datasets)}"
    return text if text.endswith(".") else text + "."


def compare(
    board: Leaderboard,
    a: str,
    b: str,
    settings: Settings,
    metric: str = "f1",
    values: ImageValues | None = None,
    protocol: str | None = None,
) -> Comparison:
    """Compare detectors ``a`` and ``b`` (names or leaderboard labels) on every dataset of ``board``.

    ``values`` replaces the stored per-image F1/IoU with those of ``protocol`` (see ``protocol_image_values``):
    (label, dataset) → image id → (primary, secondary).
    """
    if metric not in METRICS:
        raise ComparisonError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    label_a, label_b = resolve_label(board, a), resolve_label(board, b)
    comparison = Comparison(a=label_a, b=label_b, metric=metric, settings=settings, protocol=protocol)
    pooled: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for dataset in board.datasets:
        cell_a, cell_b = board.cell(label_a, dataset), board.cell(label_b, dataset)
        if cell_a is None or cell_b is None:
            missing = [label for label, cell in ((label_a, cell_a), (label_b, cell_b)) if cell is None]
            comparison.unpaired[dataset] = f"not scored by {' and '.join(missing)}"
            continue
        if cell_a.manifest_digest != cell_b.manifest_digest:
            comparison.unpaired[dataset] = "scored on different versions of the dataset's files; run both again"
            continue
        values_a, values_b = _by_image(cell_a, metric, values), _by_image(cell_b, metric, values)
        common = sorted(values_a.keys() & values_b.keys())
        if len(common) < len(values_a) or len(common) < len(values_b):
            comparison.unpaired[dataset] = (
                f"{len(values_a) - len(common)} images scored only by {label_a}, "
                f"{len(values_b) - len(common)} only by {label_b}"
            )
        if common:
            first = np.array([values_a[i] for i in common])
            second = np.array([values_b[i] for i in common])
            pooled.append((dataset, first, second, _resampled(first - second, settings, dataset, cell_a, cell_b)))
    if not pooled:
        reasons = "; ".join(f"{dataset}: {why}" for dataset, why in comparison.unpaired.items())
        raise ComparisonError(f"{label_a} and {label_b} share no scored tampered image ({reasons})")
    per_dataset = [_difference(name, x, y, means, settings, key=(name,)) for name, x, y, means in pooled]
    adjusted = holm([row.p_value for row in per_dataset])
    comparison.rows = [
        Difference(**{**row.__dict__, "p_adjusted": p, "significant": p < settings.alpha})
        for row, p in zip(per_dataset, adjusted, strict=True)
    ]
    if len(pooled) > 1:
        counts = [len(x) for _, x, _, _ in pooled]
        overall_means = pooled_means([means for *_, means in pooled], counts)
        first, second = np.concatenate([x for _, x, _, _ in pooled]), np.concatenate([y for _, _, y, _ in pooled])
        comparison.rows.append(_difference(AVERAGE, first, second, overall_means, settings, key=(AVERAGE,)))
    return comparison


def resolve_label(board: Leaderboard, name: str) -> str:
    """A leaderboard label from a label or a detector name that has a single configuration in the store."""
    labels = board.labels()
    if name in labels:
        return name
    matching = list(dict.fromkeys(c.label for c in board.cells if c.detector == name))
    if len(matching) == 1:
        return matching[0]
    if matching:
        raise ComparisonError(f"{name!r} has several stored configurations; name one of: {', '.join(matching)}")
    if older := [dataset for dataset, names in board.older.items() if any(n.startswith(f"{name} (") for n in names)]:
        raise ComparisonError(f"{name!r} was scored only on an older copy of {', '.join(older)}; run it again")
    raise ComparisonError(f"no stored results for {name!r}; stored: {', '.join(labels) or 'none'}")


def _by_image(cell: Cell, metric: str, values: ImageValues | None) -> dict[str, float]:
    if values is None:
        return {r.image_id: getattr(r.scored, metric) for r in cell.tampered()}
    found = values.get((cell.label, cell.dataset), {})
    if metric == "iou" and any(v[1] is None for v in found.values()):
        raise ComparisonError("this protocol's metric has no IoU: compare its primary metric (--metric f1)")
    return {image_id: v[0] if metric == "f1" else v[1] for image_id, v in found.items()}


def _resampled(differences: np.ndarray, settings: Settings, dataset: str, a: Cell, b: Cell) -> np.ndarray:
    """Resampled mean differences; the draws do not depend on which detector is A, so A − B mirrors B − A."""
    generator = rng(settings, "compare", dataset, *sorted([a.fingerprint, b.fingerprint]))
    return resample_means(differences, settings.resamples, generator)


def _difference(
    dataset: str, a: np.ndarray, b: np.ndarray, resampled: np.ndarray, settings: Settings, key: tuple[str, ...]
) -> Difference:
    low, high = percentile_interval(resampled, settings)
    p_value = sign_flip_p_value(a - b, settings, *key)
    return Difference(
        dataset=dataset,
        pairs=len(a),
        a=float(a.mean()),
        b=float(b.mean()),
        difference=float((a - b).mean()),
        low=float(low),
        high=float(high),
        p_value=p_value,
        p_adjusted=p_value,
        significant=p_value < settings.alpha,
    )
