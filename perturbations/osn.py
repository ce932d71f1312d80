"""Simulated online-social-network transmission: each platform's resize and JPEG recipe, applied to the pixels.

These are simulations built from measured files and secondary sources, not real platform output; use them for
stress sweeps (``osn-sim``), and the real IF-OSN files for comparisons with published tables. Marks: [V] checked
on real transmitted files, [S] secondary source, [I] inferred.

- facebook: long side > 2048 → 2048, Lanczos [S]; JPEG q92, IJG tables, 4:2:0, progressive [V, one measured file];
  random variant q ∈ U{71..95}. Confidence medium.
- whatsapp: long side > 1600 → 1600, Lanczos [S]; JPEG q75, 4:2:0 [S, weak]; random variant q ∈ U{70..80}.
  Confidence low (no measured sample).
- weibo: width > 2048 → 2048 [S], Lanczos [I]; JPEG q85, 4:4:4, baseline [V: bit-exact outside the watermark]. The
  "@user" watermark is not drawn. Confidence high for the encode, medium for the resize.
- wechat (chat, not "original image"): long side > 1280 with aspect ≤ 2 → long side 1280; aspect > 2 with short
  side ≥ 1280 → short side 800; else kept [S]; Lanczos [I]. Stage 1 JPEG q90 4:4:4 when kept, q80 4:2:0 when
  resized [I]; stage 2 re-encodes the decoded stage 1 at q100 4:4:4 [V]; random variant: resized stage 1
  q ∈ U{75..85}. The restart markers and EXIF of real files are not reproduced (no effect on pixels).
  Confidence low–medium.

A capped side becomes exactly the cap and the other side max(1, ⌊side·scale + 0.5⌋). Metadata is never written.
``variant=random`` draws the quality from the per-image generator wherever a range is given; elsewhere it changes
nothing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from forgebench.perturbations.codec import decode_jpeg, encode_jpeg
from forgebench.plugin.contract import PerturbationPlugin


@dataclass(frozen=True)
class SizeRule:
    """An upload whose ``side`` ("long" or "width") exceeds ``cap`` px is scaled down to exactly ``cap``.

    With ``max_aspect`` set, an image whose long/short ratio is above it skips the cap; instead, if its short side
    is at least ``short_trigger``, the short side is scaled to ``short_target``.
    """

    side: Literal["long", "width"]
    cap: int
    max_aspect: float | None = None
    short_trigger: int = 0
    short_target: int = 0


@dataclass(frozen=True)
class JpegStage:
    """One JPEG encode; ``random_quality`` is the inclusive range that ``variant=random`` draws ``quality`` from."""

    quality: int
    subsampling: Literal[444, 422, 420]
    progressive: bool = False
    random_quality: tuple[int, int] | None = None


@dataclass(frozen=True)
class Recipe:
    """A platform's pipeline: resize by ``size``, encode ``first`` (``first_resized`` instead when the size changed,
    if given), then re-encode the decoded result with ``second`` if given. ``source`` states each setting with its
    evidence mark; ``confidence`` rates the whole recipe."""

    size: SizeRule
    first: JpegStage
    first_resized: JpegStage | None = None
    second: JpegStage | None = None
    source: str = ""
    confidence: str = ""


RECIPES: dict[str, Recipe] = {
    "facebook": Recipe(
        size=SizeRule("long", 2048),
        first=JpegStage(92, 420, progressive=True, random_quality=(71, 95)),
        source="long side > 2048 → 2048 (Lanczos) [S]; JPEG q92 4:2:0 progressive [V, one file]; "
        "random variant q U{71..95}",
        confidence="medium",
    ),
    "whatsapp": Recipe(
        size=SizeRule("long", 1600),
        first=JpegStage(75, 420, random_quality=(70, 80)),
        source="long side > 1600 → 1600 (Lanczos) [S]; JPEG q75 4:2:0 [S, weak]; random variant q U{70..80}",
        confidence="low (no measured sample)",
    ),
    "weibo": Recipe(
        size=SizeRule("width", 2048),
        first=JpegStage(85, 444),
        source="width > 2048 → 2048 [S] (Lanczos [I]); JPEG q85 4:4:4 baseline [V, bit-exact outside the watermark]; "
        "no watermark; no random variant",
        confidence="high (encode), medium (resize)",
    ),
    "wechat": Recipe(
        size=SizeRule("long", 1280, max_aspect=2.0, short_trigger=1280, short_target=800),
        first=JpegStage(90, 444),
        first_resized=JpegStage(80, 420, random_quality=(75, 85)),
        second=JpegStage(100, 444),
        source="long side > 1280 and aspect ≤ 2 → long side 1280, aspect > 2 and short side ≥ 1280 → short side 800, "
        "else kept [S] (Lanczos [I]); stage 1 JPEG q90 4:4:4 if kept, q80 4:2:0 if resized [I]; "
        "stage 2 re-encode at q100 4:4:4 [V]; random variant resized stage-1 q U{75..85}",
        confidence="low–medium",
    ),
}


@dataclass(frozen=True)
class OsnParams:
    """``platform``: which recipe (required); ``variant``: None for the fixed qualities, "random" to draw them."""

    platform: Literal["facebook", "whatsapp", "weibo", "wechat"] | None = None
    variant: Literal["random"] | None = None

    def __post_init__(self) -> None:
        if self.platform not in RECIPES:
            raise ValueError(f"osn: platform must be one of {', '.join(RECIPES)}, got {self.platform!r}")
        if self.variant not in (None, "random"):
            raise ValueError(f"osn: variant must be 'random' or left out, got {self.variant!r}")


def target_size(rule: SizeRule, height: int, width: int) -> tuple[int, int]:
    """(height, width) that ``rule`` gives an upload of ``height`` × ``width``."""
    long_axis, short_axis = (0, 1) if height >= width else (1, 0)
    size = (height, width)
    if rule.max_aspect is not None and size[long_axis] > rule.max_aspect * size[short_axis]:
        return _scaled(size, short_axis, rule.short_target) if size[short_axis] >= rule.short_trigger else size
    axis = 1 if rule.side == "width" else long_axis
    return _scaled(size, axis, rule.cap) if size[axis] > rule.cap else size


def _scaled(size: tuple[int, int], axis: int, target: int) -> tuple[int, int]:
    other = max(1, math.floor(size[1 - axis] * target / size[axis] + 0.5))
    return (target, other) if axis == 0 else (other, target)


def plan(
    height: int, width: int, params: OsnParams, rng: np.random.Generator
) -> tuple[tuple[int, int], list[JpegStage]]:
    """The size an upload is sent at and the JPEG encodes it goes through, with random qualities already drawn."""
    recipe = RECIPES[params.platform]
    size = target_size(recipe.size, height, width)
    resized = size != (height, width)
    first = recipe.first_resized if resized and recipe.first_resized is not None else recipe.first
    stages = [first] if recipe.second is None else [first, recipe.second]
    if params.variant == "random":
        stages = [_draw_quality(stage, rng) for stage in stages]
    return size, stages


def _draw_quality(stage: JpegStage, rng: np.random.Generator) -> JpegStage:
    if stage.random_quality is None:
        return stage
    low, high = stage.random_quality
    return dataclasses.replace(stage, quality=int(rng.integers(low, high + 1)))


def transmit(pixels: np.ndarray, params: OsnParams, rng: np.random.Generator) -> bytes:
    """H×W×3 uint8 RGB → the JPEG file the simulated platform would deliver."""
    size, stages = plan(pixels.shape[0], pixels.shape[1], params, rng)
    if size != pixels.shape[:2]:
        pixels = np.array(Image.fromarray(pixels).resize(size[::-1], Image.Resampling.LANCZOS))
    data = encode_jpeg(pixels, stages[0].quality, stages[0].subsampling, stages[0].progressive)
    for stage in stages[1:]:
        data = encode_jpeg(decode_jpeg(data), stage.quality, stage.subsampling, stage.progressive)
    return data


def _transmit_and_decode(pixels: np.ndarray, params: OsnParams, rng: np.random.Generator) -> np.ndarray:
    return decode_jpeg(transmit(pixels, params, rng))


PLUGIN = PerturbationPlugin(
    name="osn",
    summary="simulated social-network transmission (Facebook, WhatsApp, Weibo, WeChat): resize + JPEG",
    params=OsnParams,
    apply=_transmit_and_decode,
    stochastic=lambda params: params.variant == "random",
    details="\n".join(
        [
            "platform: facebook, whatsapp, weibo or wechat (simulated recipes, not real platform output). "
            "variant: left out for the fixed qualities, 'random' to draw them from the per-image generator "
            "where a range is listed. [V] checked on real files, [S] secondary source, [I] inferred.",
            *(f"{name}: {recipe.source}; confidence {recipe.confidence}" for name, recipe in RECIPES.items()),
        ]
    ),
)
