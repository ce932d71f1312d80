"""The images and ground truths behind stored results, read through each dataset's manifest.

Views that need pixels (threshold curves, galleries) use this. A dataset that is not on disk, or whose
files differ from the ones that were scored, is refused with the reason, and the view says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forgebench.catalog import Catalog, CatalogError
from forgebench.io import read_mask, read_rgb
from forgebench.manifest import DatasetMissingError, Manifest, Sample, build_manifest


class TruthUnavailableError(LookupError):
    """The files of a dataset cannot be read back for the stored results."""


class GroundTruth:
    """Manifests built on first use, one per dataset."""

    def __init__(self, catalog: Catalog, data_root: Path | None = None) -> None:
        self.catalog = catalog
        self.data_root = data_root
        self._manifests: dict[str, Manifest | TruthUnavailableError] = {}

    def manifest(self, dataset: str, scored_digest: str) -> Manifest:
        """The dataset's manifest; raises :class:`TruthUnavailableError` when absent or changed since scoring."""
        if dataset not in self._manifests:
            try:
                self._manifests[dataset] = build_manifest(self.catalog.dataset(dataset), self.data_root)
            except (DatasetMissingError, CatalogError) as error:
                self._manifests[dataset] = TruthUnavailableError(f"{dataset}: {error}")
        found = self._manifests[dataset]
        if isinstance(found, TruthUnavailableError):
            raise found
        if found.digest != scored_digest:
            raise TruthUnavailableError(f"{dataset}: the files on disk differ from the ones scored")
        return found

    def samples(self, dataset: str, scored_digest: str) -> dict[str, Sample]:
        return {s.image_id: s for s in self.manifest(dataset, scored_digest).samples}

    def forged(self, dataset: str, scored_digest: str, sample: Sample) -> np.ndarray:
        """The boolean ground truth at its native size (all False for an authentic image)."""
        manifest = self.manifest(dataset, scored_digest)
        if sample.mask is None:
            height, width = read_rgb(sample.image).shape[:2]
            return np.zeros((height, width), dtype=bool)
        return read_mask(sample.mask, manifest.spec.mask_rule).forged
