"""Recomputing stored records from the cached maps, e.g. to add optional columns, without re-running a detector."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from forgebench.data.decode import read_mask
from forgebench.data.manifest import Manifest
from forgebench.evaluation.mapcache import load_map
from forgebench.evaluation.metrics import EXTRA_FIELDS, score_resized
from forgebench.evaluation.store import Evaluation, Record, Store


class ManifestChangedError(RuntimeError):
    """The dataset on disk is not the one the evaluation scored."""


def rescore(store: Store, evaluation: Evaluation, manifest: Manifest, extras: Iterable[str]) -> int:
    """Re-score every "ok" record of ``evaluation`` from its cached map; returns how many were updated."""
    if manifest.digest != evaluation.manifest_digest:
        raise ManifestChangedError(
            f"{evaluation.dataset}: the files on disk differ from the ones scored; run the detector again"
        )
    samples = {s.image_id: s for s in manifest.samples}
    updated = [
        _rescored(record, samples[record.image_id].mask, manifest, store.results, tuple(extras))
        for record in store.records(evaluation)
        if record.status == "ok"
    ]
    store.add(evaluation, updated)
    return len(updated)


def _rescored(record: Record, mask_path: Path | None, manifest: Manifest, results: Path, extras: tuple) -> Record:
    at_gt = load_map(results / record.map_file)
    if mask_path is None:
        forged = np.zeros(at_gt.shape, dtype=bool)
    else:
        forged = read_mask(mask_path, manifest.spec.mask_rule).forged
    result = score_resized(at_gt, forged, record.label, record.scored.score, extras)
    kept = [column for extra, columns in EXTRA_FIELDS.items() if extra not in extras for column in columns]
    # Columns of extras not asked for keep their stored values.
    scored = dataclasses.replace(result, **{name: getattr(record.scored, name) for name in kept})
    return dataclasses.replace(record, scored=scored)
