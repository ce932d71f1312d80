"""OSN simulator: each platform's delivered size, subsampling, quality tables and progressive flag; WeChat's two
stages and size rules; the random variant's ranges and determinism."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from forgebench.perturbations.codec import decode_jpeg, encode_jpeg
from forgebench.perturbations.osn import PLUGIN, RECIPES, OsnParams, plan, target_size, transmit

LARGE = (2000, 3000)  # (height, width): a 3000 × 2000 upload
SMALL = (568, 757)  # a Columbia-size upload, kept by every platform


@dataclass(frozen=True)
class Delivered:
    large_size: tuple[int, int]
    quality: int
    sampling: int
    progressive: bool = False


DELIVERED = {
    "facebook": Delivered((1365, 2048), 92, sampling=2, progressive=True),
    "whatsapp": Delivered((1067, 1600), 75, sampling=2),
    "weibo": Delivered((1365, 2048), 85, sampling=0),
    "wechat": Delivered((853, 1280), 100, sampling=0),
}


@pytest.fixture(scope="module")
def images(make_smooth_image) -> dict[str, np.ndarray]:
    return {"large": make_smooth_image(*LARGE, seed=1), "small": make_smooth_image(*SMALL, seed=2)}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("which", ["large", "small"])
@pytest.mark.parametrize("platform", list(DELIVERED))
def test_delivered_file(platform, which, images, jpeg_facts, ijg_tables):
    expected = DELIVERED[platform]
    facts = jpeg_facts(transmit(images[which], OsnParams(platform), rng()))
    assert (facts.height, facts.width) == (expected.large_size if which == "large" else SMALL)
    assert facts.tables == ijg_tables(expected.quality)
    assert facts.sampling == expected.sampling
    assert facts.progressive == expected.progressive


def test_apply_decodes_the_transmitted_file(images):
    params = OsnParams("whatsapp")
    out = PLUGIN.apply(images["small"], params, rng())
    assert out.dtype == np.uint8 and out.shape == (*SMALL, 3)
    np.testing.assert_array_equal(out, decode_jpeg(transmit(images["small"], params, rng())))


def test_wechat_first_stage_depends_on_whether_the_upload_was_resized():
    kept_size, kept = plan(*SMALL, OsnParams("wechat"), rng())
    resized_size, resized = plan(*LARGE, OsnParams("wechat"), rng())
    assert kept_size == SMALL and resized_size == (853, 1280)
    assert [(stage.quality, stage.subsampling) for stage in kept] == [(90, 444), (100, 444)]
    assert [(stage.quality, stage.subsampling) for stage in resized] == [(80, 420), (100, 444)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b) ** 2)))


def test_wechat_pixels_carry_the_first_stage_loss(images):
    small = images["small"]
    out = PLUGIN.apply(small, OsnParams("wechat"), rng())
    two_stage = decode_jpeg(encode_jpeg(decode_jpeg(encode_jpeg(small, 90, 444)), 100, 444))
    np.testing.assert_array_equal(out, two_stage)
    assert psnr(out, small) < psnr(decode_jpeg(encode_jpeg(small, 100, 444)), small) - 3


def test_wechat_resized_upload_is_lanczos_then_q80_420_then_q100_444(images):
    large = images["large"]
    shrunk = np.array(Image.fromarray(large).resize((1280, 853), Image.Resampling.LANCZOS))
    expected = decode_jpeg(encode_jpeg(decode_jpeg(encode_jpeg(shrunk, 80, 420)), 100, 444))
    np.testing.assert_array_equal(PLUGIN.apply(large, OsnParams("wechat"), rng()), expected)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1500, 4000), (800, 2133)),  # aspect 2.67, short side 1500 ≥ 1280 → short side 800
        ((4000, 1500), (2133, 800)),
        ((1000, 3000), (1000, 3000)),  # aspect 3, short side 1000 < 1280 → kept
        ((1280, 2560), (640, 1280)),  # aspect exactly 2 → long side 1280
        ((1280, 1280), (1280, 1280)),
        ((1281, 1000), (1280, 999)),
    ],
)
def test_wechat_size_rules(size, expected):
    assert target_size(RECIPES["wechat"].size, *size) == expected


def test_wechat_wide_upload_is_delivered_with_short_side_800(make_smooth_image, jpeg_facts, ijg_tables):
    size, stages = plan(1500, 4000, OsnParams("wechat"), rng())
    assert size == (800, 2133) and (stages[0].quality, stages[0].subsampling) == (80, 420)
    facts = jpeg_facts(transmit(make_smooth_image(1500, 4000, seed=3), OsnParams("wechat"), rng()))
    assert (facts.height, facts.width, facts.sampling) == (800, 2133, 0)
    assert facts.tables == ijg_tables(100)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("weibo", (3000, 2000)), ("facebook", (2048, 1365)), ("whatsapp", (1600, 1067)), ("wechat", (1280, 853))],
)
def test_weibo_caps_the_width_the_others_the_long_side(platform, expected):
    assert target_size(RECIPES[platform].size, 3000, 2000) == expected


@pytest.mark.parametrize(
    ("platform", "size", "stage", "low", "high"),
    [("facebook", SMALL, 0, 71, 95), ("whatsapp", SMALL, 0, 70, 80), ("wechat", LARGE, 0, 75, 85)],
)
def test_random_variant_draws_the_whole_documented_range(platform, size, stage, low, high):
    params = OsnParams(platform, variant="random")
    qualities = {plan(*size, params, rng(seed))[1][stage].quality for seed in range(400)}
    assert qualities == set(range(low, high + 1))


@pytest.mark.parametrize(("platform", "size"), [("weibo", LARGE), ("wechat", SMALL), ("wechat", LARGE)])
def test_random_variant_leaves_stages_without_a_range_alone(platform, size):
    fixed_size, fixed = plan(*size, OsnParams(platform), rng())
    drawn_size, drawn = plan(*size, OsnParams(platform, variant="random"), rng(9))
    assert drawn_size == fixed_size
    for fixed_stage, drawn_stage in zip(fixed, drawn, strict=True):
        if fixed_stage.random_quality is None:
            assert drawn_stage == fixed_stage


def test_random_variant_is_reproducible_and_written_to_the_file(images, jpeg_facts, ijg_tables):
    params = OsnParams("facebook", variant="random")
    first = transmit(images["small"], params, rng(4))
    assert first == transmit(images["small"], params, rng(4))
    quality = plan(*SMALL, params, rng(4))[1][0].quality
    assert jpeg_facts(first).tables == ijg_tables(quality)
    other = next(seed for seed in range(5, 50) if plan(*SMALL, params, rng(seed))[1][0].quality != quality)
    assert transmit(images["small"], params, rng(other)) != first


def test_details_state_each_recipe_with_its_qualities():
    lines = {line.split(":")[0]: line for line in PLUGIN.details.splitlines()}
    for platform, recipe in RECIPES.items():
        stages = [recipe.first, recipe.first_resized, recipe.second]
        for stage in filter(None, stages):
            assert f"q{stage.quality}" in lines[platform]
            if stage.random_quality:
                assert "U{{{}..{}}}".format(*stage.random_quality) in lines[platform]
        assert "confidence" in lines[platform] and "[" in lines[platform]
