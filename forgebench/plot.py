"""Figure-4-style robustness curves: weighted-average F1 against intensity, one panel per perturbation kind."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from forgebench.perturb import CLEAN
from forgebench.robustness import Robustness

MARKERS = "osD^v<>ph*"


def robustness_plot(robustness: Robustness, path: Path) -> Path:
    """Write :func:`robustness_figure` as a PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    robustness_figure(robustness).savefig(path, dpi=130, bbox_inches="tight")  # grows to hold the legend
    return path


def robustness_figure(robustness: Robustness) -> Figure:
    """A panel per family: x = its points in increasing intensity (clean first), y = F1, a line per detector.

    Points where a detector was not scored on every dataset are left out of its line (see ``Robustness.f1``).
    """
    families = robustness.grid.families
    figure = Figure(figsize=(3.6 * len(families), 3.6))
    axes = figure.subplots(1, len(families), squeeze=False)
    detectors = robustness.detectors()
    top = max([f for d in detectors for *_, s in robustness.points() if (f := robustness.f1(d, s)) is not None] or [1])
    for axis, family in zip(axes[0], families, strict=True):
        labels = [CLEAN, *(p.label for p in family.points)]
        specs = [CLEAN, *(p.spec for p in family.points)]
        for index, detector in enumerate(detectors):
            values = [robustness.f1(detector, spec) for spec in specs]
            axis.plot(
                range(len(specs)),
                [float("nan") if v is None else v for v in values],
                marker=MARKERS[index % len(MARKERS)],
                label=detector,
                linewidth=1.6,
                markersize=5,
            )
        axis.set_xticks(range(len(specs)), labels, rotation=30 if max(map(len, labels)) > 4 else 0, ha="center")
        axis.set_title(family.name)
        axis.set_xlabel(family.axis)
        axis.set_ylim(0, min(1.0, top * 1.15 + 0.02))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("F1 (weighted average)")
    figure.suptitle(f"{robustness.grid.title} — {', '.join(robustness.datasets)}", fontsize=11)
    figure.tight_layout()
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.03, 0.5), frameon=False, fontsize=9)
    return figure
