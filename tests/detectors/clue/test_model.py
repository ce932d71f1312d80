"""The CLUE network: output shapes, what trains, LoRA merging, seeded maps and every ablation switch."""

from __future__ import annotations

import pytest
import torch
from peft.tuners.tuners_utils import BaseTunerLayer

from forgebench.detectors.clue.loss import clue_loss

CPU = torch.device("cpu")


@pytest.mark.parametrize("height, width", [(48, 80), (100, 60)])
@pytest.mark.parametrize(
    "changes, side, input_size",
    [
        ({}, 64, 64),
        ({"sam.size": 128}, 128, 128),  # the map is at SAM's size
        ({"sam.size": 32}, 64, 64),  # … or the input size when SD3's grid is finer (forward's docstring: SAM's)
        ({"sam.enabled": False, "sd3.size": 32}, 32, 32),  # … or SD3's without SAM
        ({"sd3.enabled": False, "sam.size": 32}, 32, 32),
    ],
)
def test_logits_shape_for_non_square_images(build, changes, side, input_size, height, width):
    model = build(changes)
    images = torch.rand(2, 3, height, width)
    levels, noise = model.train_noise(2, CPU)
    assert model(images, levels, noise).shape == (2, 1, side, side)
    eval_levels, eval_noise = model.eval_noise(["a", "b"], CPU)
    assert model.eval()(images, eval_levels, eval_noise).shape == (2, 1, side, side)
    assert model.input_size == input_size


def test_noise_shapes_and_sd3_needs_noise(build):
    model = build()
    levels, noise = model.train_noise(2, CPU, torch.Generator().manual_seed(0))
    assert (levels.shape, noise.shape) == ((2, 3), (2, 3, 16, 8, 8))
    again = model.train_noise(2, CPU, torch.Generator().manual_seed(0))
    assert torch.equal(levels, again[0]) and torch.equal(noise, again[1])
    with pytest.raises(ValueError, match="train_noise / eval_noise"):
        model(torch.rand(1, 3, 64, 64))
    assert build({"sd3.enabled": False}).eval_noise(["a"], CPU) == (None, None)


def test_only_lora_fusion_and_head_train(build, images):
    model = build()
    pixels, _ = images
    levels, noise = model.train_noise(2, CPU, torch.Generator().manual_seed(0))
    logits = model(pixels, levels, noise)
    loss, _ = clue_loss(logits, (torch.rand_like(logits) > 0.5).float(), model.config.loss)
    loss.backward()
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    for name, parameter in model.named_parameters():
        expected = "lora_" in name or name.startswith(("fusion.", "head."))
        assert parameter.requires_grad == expected, name
        assert (parameter.grad is not None) == expected, name
    assert trained == set(model.trainable())
    silent = {n for n in trained if not ("lora_A" in n or model.get_parameter(n).grad.abs().sum() > 0)}
    # the last joint block only reads the text stream (context_pre_only): its context queries reach nothing
    assert silent == {"sd3.transformer.transformer_blocks.1.attn.add_q_proj.lora_B.default.weight"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [({}, 15), ({"sd3.transformer.dual_attention_layers": [0], "sd3.transformer.qk_norm": "rms_norm"}, 19)],
)
def test_lora_reaches_every_attention_projection_of_sd3_and_sd35_blocks(build, changes, expected):
    """SD3: 8 projections per joint block, 7 in the last (no context output); SD3.5's dual-attention block adds its
    second attention's q, k, v and out."""
    transformer = build(changes).sd3.transformer
    projections = [  # every linear layer of every attention module, found whether or not LoRA wraps it
        f"{block}.{attention}.{name.removesuffix('.base_layer')}"
        for block, module in enumerate(transformer.transformer_blocks)
        for attention in ("attn", "attn2")
        if getattr(module, attention, None) is not None
        for name, layer in getattr(module, attention).named_modules()
        if isinstance(layer, torch.nn.Linear) and "lora_" not in name
    ]
    adapted = [
        name.removeprefix("transformer_blocks.")
        for name, module in transformer.named_modules()
        if isinstance(module, BaseTunerLayer)
    ]
    assert len(projections) == expected and sorted(adapted) == sorted(projections)


def test_lora_layers_and_trainable_sizes(build):
    model = build()
    assert len(model.lora_layers()) == 17
    assert (len(model.sd3.transformer.transformer_blocks), len(model.sam.encoder.blocks)) == (2, 2)
    sizes = {
        branch: sum(p.numel() for n, p in model.trainable().items() if n.startswith(branch))
        for branch in ("sd3.", "sam.", "fusion.", "head.")
    }
    # SD3: 15 layers × r(32 + 32); SAM: 2 qkv × r(32 + 96); r = 4
    assert (sizes["sd3."], sizes["sam."]) == (15 * 4 * 64, 2 * 4 * 128)
    assert sizes["head."] == 16 * 16 * 9 + 16 + 16 + 1


def test_merged_lora_gives_the_same_logits(build, activate, images):
    model = build().eval()
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    keys = set(model.state_dict())
    with torch.no_grad():
        plain = model(pixels, levels, noise)
        activate(model)
        before = model(pixels, levels, noise)
        model.merge_lora()
        model.merge_lora()  # merging twice changes nothing
        after = model(pixels, levels, noise)
        model.unmerge_lora()
        apart = model(pixels, levels, noise)
    assert not torch.allclose(plain, before, atol=1e-3)  # the LoRA updates matter
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)
    torch.testing.assert_close(apart, before, atol=1e-5, rtol=0)
    assert not model.fused and not any(layer.merged for layer in model.lora_layers())
    assert set(model.state_dict()) == keys  # the fused copies are gone


def test_merging_fuses_q_k_v_and_training_after_unmerging_reaches_every_lora(build, activate, images):
    model = build().eval()
    activate(model)
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    with torch.no_grad():
        model.merge_lora()
        fused = model(pixels, levels, noise)
        for block in model.sd3.transformer.transformer_blocks:  # q, k and v now come from the fused projection
            block.attn.to_q.base_layer.weight.mul_(0.5)
        assert model.fused and torch.equal(model(pixels, levels, noise), fused)
        for block in model.sd3.transformer.transformer_blocks:
            block.attn.to_q.base_layer.weight.mul_(2.0)
    model.merge_lora()
    model.unmerge_lora()
    model.train()
    clue_loss(model(pixels, *model.train_noise(2, CPU)), torch.ones(2, 1, 64, 64), model.config.loss)[0].backward()
    assert model.sd3.transformer.transformer_blocks[0].attn.to_q.lora_A.default.weight.grad is not None


def test_sd3_with_qk_norm_is_merged_but_not_fused(build, activate, images):
    model = build({"sd3.transformer.qk_norm": "rms_norm"}).eval()  # diffusers' fused processor skips the norms
    activate(model)
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    with torch.no_grad():
        before = model(pixels, levels, noise)
        model.merge_lora()
        torch.testing.assert_close(model(pixels, levels, noise), before, atol=1e-5, rtol=0)
    assert not model.fused and all(layer.merged for layer in model.lora_layers())


def test_fast_path_equals_the_straightforward_path(build, activate, images):
    """Batched K levels, merged LoRA and bf16 autocast against one level per call, unmerged, fp32."""
    model = build({"noise.levels": 4}).eval()
    activate(model)
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    with torch.inference_mode():
        reference = model(pixels, levels, noise, one_level_per_call=True)
        batched = model(pixels, levels, noise)
        model.merge_lora()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model(pixels, levels, noise).float()
    torch.testing.assert_close(batched, reference, atol=1e-5, rtol=0)
    assert (torch.sigmoid(fast) - torch.sigmoid(reference)).abs().max() < 0.005  # bf16 keeps 8 bits of mantissa
    assert not torch.equal(fast, reference)  # bf16 really ran


def test_fixed_seed_gives_identical_maps(build, activate, images):
    model = build().eval()
    activate(model)
    pixels, ids = images
    with torch.no_grad():
        first = model(pixels, *model.eval_noise(ids, CPU))
        second = model(pixels, *model.eval_noise(ids, CPU))
        _, other_noise = model.eval_noise(["ds/c.png", "ds/d.png"], CPU)
        other = model(pixels, model.eval_noise(ids, CPU)[0], other_noise)
    assert torch.equal(first, second)
    assert not torch.allclose(other_noise, model.eval_noise(ids, CPU)[1])
    assert not torch.allclose(first, other, atol=1e-5)  # the map depends on the noise the image id picks


def test_noise_mode_none_ignores_the_noise(build, images):
    model = build({"noise.mode": "none"}).eval()
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    assert levels.shape == (2, 1)
    with torch.no_grad():
        assert torch.equal(model(pixels, levels, noise), model(pixels, levels, torch.randn_like(noise)))


def test_gradient_checkpointing_changes_nothing(build, activate, images):
    model = build()
    activate(model)
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    results = []
    for enabled in (False, True):
        model.zero_grad()
        model.set_checkpointing(enabled)
        logits = model(pixels, levels, noise)
        logits.square().mean().backward()
        results.append((logits.detach(), {n: p.grad.clone() for n, p in model.trainable().items()}))
    torch.testing.assert_close(results[1][0], results[0][0], atol=1e-6, rtol=0)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(results[1][1][name], grad, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize(
    "changes, lora_layers",
    [
        ({"sd3.tune": "frozen"}, 2),
        ({"sam.tune": "frozen"}, 15),
        ({"sd3.tune": "frozen", "sam.tune": "frozen"}, 0),
        ({"sd3.enabled": False}, 2),
        ({"sam.enabled": False}, 15),
        ({"noise.mode": "ddpm"}, 17),
        ({"noise.mode": "none"}, 17),
        ({"noise.shift": 0.5}, 17),
        ({"noise.levels": 1}, 17),
        ({"noise.levels": 4}, 17),
    ],
)
def test_every_ablation_trains(build, changes, lora_layers):
    model = build(changes)
    levels, noise = model.train_noise(1, CPU, torch.Generator().manual_seed(0))
    if model.sd3 is not None:
        assert levels.shape == (1, model.config.levels)
    logits = model(torch.rand(1, 3, 40, 56), levels, noise)
    assert logits.shape == (1, 1, 64, 64)
    clue_loss(logits, torch.zeros_like(logits), model.config.loss)[0].backward()
    assert len(model.lora_layers()) == lora_layers
    trainable = model.trainable()
    for branch in ("sd3", "sam"):
        spec = getattr(model.config, branch)
        has_lora = any(n.startswith(f"{branch}.") for n in trainable)
        assert has_lora == (spec.enabled and spec.tune == "lora"), branch
    assert all(p.grad is not None for n, p in trainable.items() if not n.startswith("sd3"))
    assert model.head.layers[0].weight.grad.abs().sum() > 0


def test_full_tuning_trains_every_backbone_weight_without_lora(build):
    model = build({"sd3.tune": "full", "sam.tune": "full"})
    assert not model.lora_layers()
    assert set(model.trainable()) == {name for name, _ in model.named_parameters()}
    levels, noise = model.train_noise(1, CPU, torch.Generator().manual_seed(0))
    logits = model(torch.rand(1, 3, 40, 56), levels, noise)
    clue_loss(logits, torch.ones_like(logits), model.config.loss)[0].backward()
    assert model.sd3.vae.encoder.conv_in.weight.grad.abs().sum() > 0
    assert model.sam.encoder.patch_embed.proj.weight.grad.abs().sum() > 0


PINNED_SLICES = {
    (0, 20): [-0.08310, -0.08689, -0.09067, -0.09446, -0.09878, -0.10363, -0.10847, -0.11332],
    (1, 40): [-0.13793, -0.13310, -0.12827, -0.12344, -0.11861, -0.11379, -0.10896, -0.10413],
}
"""Logits ``[image, 0, row, row:row + 8]`` of the seeded tiny CLUE (``build()``, ``activate()``, evaluation noise)
on the ``images`` fixture, printed by this code on CPU with one thread (torch 2.14.1, diffusers 0.42.1). Changing
``noise.shift`` from 3.0 to 3.1 moves them by about 3e-4; two runs agree to the last digit. The tiny SAM's window
went from 14 to 3 on 2026-12-06; with ``sam.encoder.window_size: 14`` the earlier pins come back exactly."""


def test_seeded_tiny_model_gives_the_pinned_output_slices(build, activate, images):
    model = build()
    activate(model)
    model.eval()
    pixels, ids = images
    levels, noise = model.eval_noise(ids, CPU)
    with torch.no_grad():
        logits = model(pixels, levels, noise)
    for (image, row), expected in PINNED_SLICES.items():
        torch.testing.assert_close(logits[image, 0, row, row : row + 8], torch.tensor(expected), atol=1e-5, rtol=0)
