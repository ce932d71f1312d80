"""Resampling statistics over images: bootstrap confidence intervals and a paired sign-flip test.

A dataset's F1 is a mean over its tampered images, so its uncertainty comes from which images the
benchmark happens to hold. Intervals are percentile bootstraps of that mean (images drawn with
replacement, as many as there are). The weighted average over datasets resamples within each dataset
(stratified), so every resample keeps the datasets' image counts, i.e. the weights. Paired comparisons
resample the per-image differences of two detectors on the same images, and test them by flipping
their signs at random (exactly, over every sign pattern, when there are few). Every draw is seeded
from the seed and a key, so a number never depends on the order in which others were computed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DRAWS_PER_CHUNK = 4_000_000
"""Resampled values held in memory at once (bounds memory on datasets with many images)."""
EXACT_SIGN_PATTERNS = 2**16
"""Sign-flip tests enumerate every pattern when there are at most this many; otherwise they sample."""


@dataclass(frozen=True)
class Settings:
    """How intervals and tests are drawn: confidence level, resamples and seed."""

    level: float = 0.95
    resamples: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.5 <= self.level < 1:
            raise ValueError(f"confidence level must lie in [0.5, 1), got {self.level}")
        if self.resamples < 100:
            raise ValueError(f"at least 100 resamples are needed for a percentile interval, got {self.resamples}")
        if self.seed < 0:
            raise ValueError(f"the bootstrap seed must be a non-negative integer, got {self.seed}")

    @property
    def alpha(self) -> float:
        return 1.0 - self.level

    def describe(self) -> str:
        return f"{self.level:.0%} percentile bootstrap over images ({self.resamples} resamples, seed {self.seed})"


def rng(settings: Settings, *key: str) -> np.random.Generator:
    """A generator that depends only on the seed and ``key`` (e.g. the dataset and detector)."""
    return np.random.default_rng([settings.seed, *(zlib.crc32(part.encode()) for part in key)])


def resample_means(values: np.ndarray, resamples: int, generator: np.random.Generator) -> np.ndarray:
    """Means of ``resamples`` bootstrap samples of ``values`` (rows = values of one image, e.g. F1 and IoU).

    ``values`` has shape (n,) or (n, k); the result has shape (resamples,) or (resamples, k). The same
    image draws serve every column, so the columns' intervals come from one set of resamples.
    """
    count = len(values)
    chunk = max(1, DRAWS_PER_CHUNK // max(count, 1))
    means = []
    for start in range(0, resamples, chunk):
        draws = generator.integers(0, count, size=(min(chunk, resamples - start), count))
        means.append(values[draws].mean(axis=1))
    return np.concatenate(means)


def stratified_draws(groups: np.ndarray, resamples: int, generator: np.random.Generator) -> np.ndarray:
    """How often each item is drawn (resamples × items) by bootstrap resamples that draw, within each group (items
    sharing a value of ``groups``), as many items as the group holds, so every resample keeps the groups' sizes."""
    count = len(groups)
    flat = []
    for value in np.unique(groups):
        members = np.flatnonzero(groups == value)
        picks = members[generator.integers(0, members.size, size=(resamples, members.size))]
        flat.append((np.arange(resamples)[:, None] * count + picks).ravel())
    drawn = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    return np.bincount(drawn, minlength=resamples * count).reshape(resamples, count)


def percentile_interval(resampled: np.ndarray, settings: Settings) -> np.ndarray:
    """The (low, high) percentiles of resampled statistics along the first axis."""
    return np.quantile(resampled, [settings.alpha / 2, 1 - settings.alpha / 2], axis=0)


def pooled_means(per_dataset: Sequence[np.ndarray], counts: Sequence[int]) -> np.ndarray:
    """Resampled weighted averages Σ n_d·m_d / Σ n_d from each dataset's resampled means (stratified bootstrap)."""
    total = sum(counts)
    return sum(n * means for n, means in zip(counts, per_dataset, strict=True)) / total


def sign_flip_p_value(differences: np.ndarray, settings: Settings, *key: str) -> float:
    """Two-sided p-value of "the mean paired difference is 0" by flipping the differences' signs.

    Under the null hypothesis each image's difference is as likely to have either sign. Zero
    differences cannot change sign and are left out of the patterns. With at most
    :data:`EXACT_SIGN_PATTERNS` patterns every one is counted (exact); otherwise ``settings.resamples``
    random patterns are drawn and p = (1 + hits) / (1 + draws), which is never 0.
    """
    nonzero = differences[differences != 0]
    if nonzero.size == 0:
        return 1.0
    observed = abs(nonzero.sum())
    tolerance = 1e-9 * np.abs(nonzero).sum()  # sums of the same terms in another order
    if 2**nonzero.size <= EXACT_SIGN_PATTERNS:
        patterns = ((np.arange(2**nonzero.size)[:, None] >> np.arange(nonzero.size)) & 1) * 2 - 1
        return float(np.mean(np.abs(patterns @ nonzero) >= observed - tolerance))
    generator = rng(settings, "sign-flip", *key)
    hits = 0
    chunk = max(1, DRAWS_PER_CHUNK // nonzero.size)
    for start in range(0, settings.resamples, chunk):
        signs = generator.choice(np.array([-1.0, 1.0]), size=(min(chunk, settings.resamples - start), nonzero.size))
        hits += int(np.count_nonzero(np.abs(signs @ nonzero) >= observed - tolerance))
    return (1 + hits) / (1 + settings.resamples)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (family-wise error control over several tests)."""
    order = np.argsort(p_values, kind="stable")
    count = len(p_values)
    adjusted = [0.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
