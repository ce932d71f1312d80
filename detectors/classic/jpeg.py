"""ADQ1, aligned double-JPEG quantisation (Lin, He, Tang & Tang 2009), the ``adq1`` detector, pixel path.

An image JPEG-compressed twice on the same 8×8 grid has DCT-coefficient histograms with a periodic pattern; blocks
whose coefficients fall outside that pattern (a region pasted without the first compression, or off the grid) get a
high posterior of being tampered. The detector only sees decoded pixels, so the coefficients are re-computed as
round(DCT8(Y − 128)) on the luma cropped to whole blocks, as MKLab's implementation does for non-JPEG input.

The output is already a posterior and is used as is. When no frequency shows a period (a never-compressed image,
for instance) every block gets exactly 0.5, which the strict ``p > 0.5`` rule reads as "nothing forged": the
detector abstains. Each per-frequency likelihood ratio is strictly positive and finite (a block's own coefficient
is in its histogram window), so the naive-Bayes combination, computed as σ(−Σ log ratio), never produces the NaN
that MKLab's product form guards against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from forgebench.detectors.classic.calibrate import PerImageDetector, expand_blocks, full_blocks, luma
from forgebench.plugin.contract import DetectorCard, DetectorPlugin

BLOCK = 8
ZIGZAG_MATLAB = (1, 9, 2, 3, 10, 17, 25, 18, 11, 4, 5, 12, 19, 26, 33)
"""The first 15 JPEG zig-zag frequencies as MKLab lists them: 1-based column-major indices into an 8×8 block."""


def matlab_to_row_col(index: int) -> tuple[int, int]:
    """(row, column) = (vertical, horizontal frequency) of a 1-based column-major index into an 8×8 block."""
    column, row = divmod(index - 1, BLOCK)
    return row, column


ZIGZAG = tuple(matlab_to_row_col(index) for index in ZIGZAG_MATLAB)


def _dct_matrix() -> np.ndarray:
    """Orthonormal 8-point DCT-II as used by JPEG: row u is the u-th basis vector."""
    frequency, position = np.meshgrid(np.arange(BLOCK), np.arange(BLOCK), indexing="ij")
    basis = 0.5 * np.cos((2 * position + 1) * frequency * np.pi / (2 * BLOCK))
    basis[0] = 1 / math.sqrt(BLOCK)
    return basis


DCT8 = _dct_matrix()


@dataclass(frozen=True)
class Adq1Options:
    """ADQ1 has no options: its output is a posterior, with no threshold or scale to choose."""


def block_dct(pixels: np.ndarray) -> np.ndarray:
    """round(DCT8(Y − 128)) of every whole 8×8 block, int64; ``[i, u, j, v]`` = frequency (u, v) of block (i, j)."""
    rows, cols = full_blocks(pixels.shape, BLOCK)
    centred = luma(pixels[: rows * BLOCK, : cols * BLOCK]) - 128
    vertical = DCT8 @ centred.reshape(rows, BLOCK, cols * BLOCK)
    return np.rint(vertical.reshape(rows, BLOCK, cols, BLOCK) @ DCT8.T).astype(np.int64)


def period(histogram: np.ndarray) -> int:
    """Quantisation period of a coefficient histogram read from its |FFT|; 1 when no clear period shows.

    Skip the monotone decrease that follows the DC bin (to the first valley), take the highest bin from there to
    half the length, and accept it only if it reaches DC/5 and stands out (min/peak ≤ 0.9). The search starts at
    bin 1 because no bin of a non-negative histogram's spectrum exceeds DC; starting at 0 would let a rounding-level
    "rise" after a single-valued histogram's DC pick DC itself as the peak.
    """
    spectrum = np.abs(np.fft.fft(histogram))
    rises = np.flatnonzero(np.diff(spectrum[1:]) > 0) + 1
    valley = rises[0] if rises.size else len(spectrum) - 2
    search = spectrum[valley : len(spectrum) // 2]
    if search.size == 0:
        return 1
    peak_bin = valley + int(np.argmax(search))
    if spectrum[peak_bin] < spectrum[0] / 5 or search.min() / spectrum[peak_bin] > 0.9:
        return 1
    return int(len(histogram) / peak_bin + 0.5)


def log_likelihood_ratio(coefficients: np.ndarray) -> np.ndarray:
    """log(P_u/P_t) per block for one frequency; 0 (posterior 0.5) when the histogram shows no period.

    P_u = h(v)/Σh over the period window holding v, P_t = 1/period. Windows are laid out from the histogram's
    mode s0 outwards: [s0 + kp, s0 + kp + p − 1] above it and the mirror image [s0 − kp − p + 1, s0 − kp] below,
    so a histogram symmetric about s0 gives symmetric likelihoods. Bins past the histogram's ends count as empty.
    """
    bins = coefficients - coefficients.min() + 1  # the histogram spans [min − 1, max + 1]
    histogram = np.bincount(bins.ravel(), minlength=int(bins.max()) + 2)
    steps = period(histogram)
    if steps == 1:
        return np.zeros(coefficients.shape)
    mode = int(np.argmax(histogram))
    above = mode + (bins - mode) // steps * steps
    below = mode - (mode - bins) // steps * steps - steps + 1
    start = np.where(bins >= mode, above, below)
    cumulative = np.concatenate(([0], np.cumsum(histogram)))
    window = cumulative[np.minimum(start + steps, len(histogram))] - cumulative[np.maximum(start, 0)]
    return np.log(histogram[bins] * steps / window)


def adq1_posterior(pixels: np.ndarray) -> np.ndarray:
    """P(tampered) per whole 8×8 block (high = singly compressed = likely pasted), float64."""
    coefficients = block_dct(pixels)
    total = sum(log_likelihood_ratio(coefficients[:, u, :, v]) for u, v in ZIGZAG)
    return expit(-total)


def adq1_probability(pixels: np.ndarray) -> np.ndarray:
    """P(forged) per pixel: block posteriors expanded to the image size, remainder padded with their median."""
    return expand_blocks(adq1_posterior(pixels), BLOCK, pixels.shape)


def _build(options: Adq1Options, device: str) -> PerImageDetector:
    return PerImageDetector(adq1_probability, device)


PLUGIN = DetectorPlugin(
    card=DetectorCard(
        name="adq1",
        summary="ADQ1 aligned double-JPEG posterior from decoded pixels: round(DCT8(Y − 128)), 15 zig-zag "
        "frequencies, |FFT| period, naive Bayes; one value per 8×8 block",
        paper="Z. Lin, J. He, X. Tang, C.-K. Tang, “Fast, automatic and fine-grained tampered JPEG image detection "
        "via DCT coefficient analysis”, Pattern Recognition 42(11), 2009",
        licence="Apache-2.0 (own implementation)",
        to_probability="already a posterior, used as is; no period in any frequency → flat 0.5 (abstain under "
        "p > 0.5); blocks expanded nearest, remainder padded with the median",
    ),
    options=Adq1Options,
    build=_build,
)
