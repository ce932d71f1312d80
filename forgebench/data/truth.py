"""The images and ground truths behind stored results, read through each dataset's manifest.

Views that need pixels (threshold curves, galleries) use this. A dataset that is not on disk, or whose
files differ from the ones that were scored, is refused with the reason, and the view says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forgebench.data.catalog import Catalog, CatalogError
from forgebench.data.decode import read_mask, read_rgb
from forgebench.data.manifest import DatasetMissingError, Manifest, Sample, build_manifest


class TruthUnavailableError(LookupError):
    """The files of a dataset cannot be read back for the stored results."""


@dataclass(frozen=True)
class _Read:
    """A dataset read back once: its manifest, its digest (which stats every file) and its samples by id."""

    manifest: Manifest
    digest: str
    samples: dict[str, Sample]


class GroundTruth:
    """Manifests built on first use, one per dataset, with their digests computed once."""

    def __init__(self, catalog: Catalog, data_root: Path | None = None) -> None:
        self.catalog = catalog
        self.data_root = data_root
        self._read: dict[str, _Read | TruthUnavailableError] = {}

    def manifest(self, dataset: str, scored_digest: str) -> Manifest:
        """The dataset's manifest; raises :class:`TruthUnavailableError` when absent or changed since scoring."""
        return self._checked(dataset, scored_digest).manifest

    def samples(self, dataset: str, scored_digest: str) -> dict[str, Sample]:
        return self._checked(dataset, scored_digest).samples

    def forged(self, dataset: str, scored_digest: str, sample: Sample) -> np.ndarray:
        """The boolean ground truth at its native size (all False for an authentic image)."""
        manifest = self.manifest(dataset, scored_digest)
        if sample.mask is None:
            height, width = read_rgb(sample.image).shape[:2]
            return np.zeros((height, width), dtype=bool)
        return read_mask(sample.mask, manifest.spec.mask_rule).forged

    def _checked(self, dataset: str, scored_digest: str) -> _Read:
        if dataset not in self._read:
            try:
                manifest = build_manifest(self.catalog.dataset(dataset), self.data_root)
                samples = {s.image_id: s for s in manifest.samples}
                self._read[dataset] = _Read(manifest, manifest.digest, samples)
            except (DatasetMissingError, CatalogError) as error:
                self._read[dataset] = TruthUnavailableError(f"{dataset}: {error}")
        found = self._read[dataset]
        if isinstance(found, TruthUnavailableError):
            raise found
        if found.digest != scored_digest:
            raise TruthUnavailableError(f"{dataset}: the files on disk differ from the ones scored")
        return found
