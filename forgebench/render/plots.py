"""Figures: Figure-4-style robustness curves (F1 against intensity, a panel per perturbation kind) and
F1 against the binarisation threshold (a panel per dataset)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from forgebench.analysis.robustness import Robustness
from forgebench.analysis.thresholds import THRESHOLDS, Curve
from forgebench.evaluation.metrics import THRESHOLD
from forgebench.evaluation.perturb import CLEAN

MARKERS = "osD^v<>ph*"


def robustness_plot(robustness: Robustness, path: Path) -> Path:
    """Write :func:`robustness_figure` as a PNG at ``path``."""
    return save_png(robustness_figure(robustness), path)


def _upper(robustness: Robustness, detector: str, spec: str) -> float | None:
    """The top of what is drawn for one point: the interval's high end, else the value."""
    bounds = robustness.interval(detector, spec)
    return bounds[1] if bounds else robustness.f1(detector, spec)


def plain(text: str) -> str:
    """``text`` shown as written: a ``$`` in a name would otherwise start matplotlib's math mode."""
    return text.replace("$", r"\$")


def save_png(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=130, bbox_inches="tight")  # grows to hold the legend
    return path


def robustness_figure(robustness: Robustness) -> Figure:
    """A panel per family: x = its points in increasing intensity (clean first), y = F1, a line per detector.

    Points where a detector was not scored on every dataset are left out of its line (see ``Robustness.f1``).
    With intervals, each line has a band from its bootstrap interval.
    """
    families = robustness.grid.families
    figure = Figure(figsize=(3.6 * len(families), 3.6))
    axes = figure.subplots(1, len(families), squeeze=False)
    detectors = robustness.detectors()
    top = max(
        [f for d in detectors for *_, s in robustness.points() if (f := _upper(robustness, d, s)) is not None] or [1]
    )
    for axis, family in zip(axes[0], families, strict=True):
        labels = [CLEAN, *(p.label for p in family.points)]
        specs = [CLEAN, *(p.spec for p in family.points)]
        for index, detector in enumerate(detectors):
            values = [robustness.f1(detector, spec) for spec in specs]
            (line,) = axis.plot(
                range(len(specs)),
                [float("nan") if v is None else v for v in values],
                marker=MARKERS[index % len(MARKERS)],
                label=plain(detector),
                linewidth=1.6,
                markersize=5,
            )
            if robustness.has_intervals:
                bounds = [robustness.interval(detector, spec) or (float("nan"),) * 2 for spec in specs]
                low, high = zip(*bounds, strict=True)
                axis.fill_between(range(len(specs)), low, high, color=line.get_color(), alpha=0.12, linewidth=0)
        rotation = 30 if max(map(len, labels)) > 4 else 0
        axis.set_xticks(range(len(specs)), [plain(label) for label in labels], rotation=rotation, ha="center")
        axis.set_title(plain(family.name))
        axis.set_xlabel(family.axis)
        axis.set_ylim(0, min(1.0, top * 1.15 + 0.02))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("F1 (weighted average)")
    figure.suptitle(plain(f"{robustness.grid.title} — {', '.join(robustness.datasets)}"), fontsize=11)
    figure.tight_layout()
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.03, 0.5), frameon=False, fontsize=9)
    return figure


def threshold_figure(curves: dict[str, list[Curve]], columns: int = 3) -> Figure:
    """A panel per dataset: mean F1 against the threshold, a line per detector, the fixed 0.5 dashed.

    A ring marks each detector's best single threshold on these images (optimistic).
    """
    rows = -(-len(curves) // columns)
    figure = Figure(figsize=(3.6 * min(columns, len(curves)), 3.2 * rows))
    axes = figure.subplots(rows, min(columns, len(curves)), squeeze=False).ravel()
    for axis, (dataset, dataset_curves) in zip(axes, curves.items(), strict=False):
        for index, curve in enumerate(dataset_curves):
            (line,) = axis.plot(THRESHOLDS, curve.mean_f1, linewidth=1.4, label=plain(curve.label))
            axis.plot(curve.best_threshold, curve.best_f1, marker="o", markerfacecolor="none", color=line.get_color())
            axis.plot(THRESHOLD, curve.fixed_f1, marker=MARKERS[index % len(MARKERS)], color=line.get_color())
        axis.axvline(THRESHOLD, color="black", linestyle="--", linewidth=0.9)
        axis.set_title(plain(dataset))
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel("threshold (forged if p > t)")
        axis.grid(alpha=0.3)
    for axis in axes[len(curves) :]:
        axis.set_visible(False)
    axes[0].set_ylabel("mean F1 over tampered images")
    figure.suptitle("F1 against threshold (dashed: the protocol's fixed 0.5; rings: best threshold, optimistic)",
                    fontsize=10)  # fmt: skip
    figure.tight_layout()
    axes[min(columns, len(curves)) - 1].legend(loc="upper left", bbox_to_anchor=(1.03, 1), frameon=False, fontsize=8)
    return figure
