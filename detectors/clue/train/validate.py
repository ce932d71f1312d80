"""Validation with forgebench's own protocol: per-image F1/IoU at 0.5, dataset means, image-count-weighted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forgebench.data.training import TrainingImage
from forgebench.detectors.clue.model import CLUE
from forgebench.detectors.clue.plugin import predict_maps
from forgebench.evaluation.metrics import ImageScore, aggregate, score_image, weighted_average


@dataclass(frozen=True)
class Validation:
    f1: float
    iou: float
    per_dataset: dict[str, tuple[int, float, float]]
    """dataset → (tampered images, F1, IoU)."""


def validate(model: CLUE, items: Sequence[TrainingImage], batch: int, bf16: bool) -> Validation | None:
    """Score ``model`` on ``items`` exactly as ``forgebench run`` would; None without tampered images."""
    was_training = model.training
    model.eval()
    scores: dict[str, dict[str, list[ImageScore]]] = {}
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        pairs = [item.read() for item in chunk]
        ids = [item.sample.image_id for item in chunk]
        maps = predict_maps(model, [pixels for pixels, _ in pairs], ids, bf16)
        for item, (_, forged), probability in zip(chunk, pairs, maps, strict=True):
            scored = score_image(probability, forged, item.sample.label)
            scores.setdefault(item.sample.dataset, {}).setdefault(item.sample.label, []).append(scored)
    model.train(was_training)
    per_dataset = {}
    for dataset, values in scores.items():
        result = aggregate(values.get("tampered", []), values.get("authentic", []))
        if result.n_tampered:
            per_dataset[dataset] = (result.n_tampered, result.f1, result.iou)
    if not per_dataset:
        return None
    counts = [n for n, _, _ in per_dataset.values()]
    return Validation(
        f1=weighted_average([f1 for _, f1, _ in per_dataset.values()], counts),
        iou=weighted_average([iou for _, _, iou in per_dataset.values()], counts),
        per_dataset=per_dataset,
    )
