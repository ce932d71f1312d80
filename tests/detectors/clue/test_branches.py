"""The feature taps: SD3's final image tokens and SAM's encoder output, as the libraries' own forwards compute them."""

from __future__ import annotations

import math

import pytest
import torch

from forgebench.detectors.clue.noise import noisy


def test_sd3_tokens_are_the_input_of_norm_out(build, activate):
    model = build()
    activate(model)  # LoRA present and active
    transformer = model.sd3.transformer
    latents, timestep = torch.randn(2, 16, 8, 8), torch.tensor([500.0, 900.0])
    seen = []
    hook = transformer.norm_out.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    with torch.no_grad():
        transformer(
            hidden_states=latents,
            encoder_hidden_states=torch.zeros(2, 1, 32),  # text_tokens × joint_attention_dim
            pooled_projections=torch.zeros(2, 64),
            timestep=timestep,
        )
        hook.remove()
        tokens = model.sd3.tokens(latents, timestep)
    assert tokens.shape == (2, 16, 32)
    assert torch.equal(tokens, seen[0])


def test_sd3_features_average_each_image_over_its_levels(build, activate):
    model = build()
    activate(model)
    sd3 = model.sd3
    images = torch.rand(2, 3, 64, 64)
    levels, noise = model.eval_noise(["a", "b"], torch.device("cpu"))
    with torch.no_grad():
        features = sd3(images, levels, noise)
        z0 = sd3.latents(images)
        for b in range(2):
            grids = []
            for k in range(3):
                zt, t = noisy(z0[b : b + 1], levels[b, k : k + 1], noise[b, k : k + 1], "rf", 3.0)
                grids.append(sd3.tokens(zt, t)[0].T.reshape(32, 4, 4))  # tokens row-major over the 4×4 grid
            torch.testing.assert_close(features[b], torch.stack(grids).mean(0), atol=1e-5, rtol=1e-5)


def test_sd3_latents_are_shifted_and_scaled_means():
    from forgebench.detectors.clue.config import preset
    from forgebench.detectors.clue.sd3_branch import SD3Features

    torch.manual_seed(0)
    sd3 = SD3Features(preset("tiny").sd3, preset("tiny").noise, 3)
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        mean = sd3.vae.encode(images * 2 - 1).latent_dist.mean
        config = sd3.vae.config
        torch.testing.assert_close(sd3.latents(images), (mean - config.shift_factor) * config.scaling_factor)
    assert (config.scaling_factor, config.shift_factor) == (2.8, 0.0)  # the tiny preset's; SD3's in test_config
    assert sd3.latent_shape == (16, 8, 8) and sd3.vae.decoder is None


def test_sam_features_are_the_encoder_output(build, activate):
    model = build()
    activate(model)
    images = torch.rand(2, 3, 64, 64)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    with torch.no_grad():
        features = model.sam(images)
        expected = model.sam.encoder((images * 255 - mean) / std)  # ImageEncoderViT.forward on SAM's normalisation
    assert features.shape == (2, 16, 4, 4)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [64, 256])  # 4×4 and 16×16 token grids: padded and split windows, global block
def test_sam_sdpa_attention_equals_segment_anythings_own(build, activate, size):
    eager, sdpa = (build({"sam.attention": kind, "sam.size": size}) for kind in ("eager", "sdpa"))
    for model in (eager, sdpa):
        activate(model)
    assert "forward" not in vars(eager.sam.encoder.blocks[0].attn) and "forward" in vars(
        sdpa.sam.encoder.blocks[0].attn
    )
    assert eager.sam.encoder.blocks[1].attn.use_rel_pos
    images = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(3))
    features = [model.sam(images) for model in (sdpa, eager)]
    torch.testing.assert_close(features[0], features[1], atol=1e-5, rtol=1e-5)
    for feature in features:
        feature.square().mean().backward()
    grads = [[p.grad for n, p in model.sam.named_parameters() if "lora_" in n] for model in (sdpa, eager)]
    assert len(grads[0]) == 4 and all(g is not None for g in grads[0])
    for a, b in zip(*grads, strict=True):  # training through SDPA gives the LoRA the same gradients
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_the_tiny_sam_splits_its_token_grid_into_padded_windows_as_the_full_one_does(build):
    """SAM's ViT-B: window 14 on a 64×64 grid, 25 windows with padding; the tiny one must not be one window."""
    model = build()
    grid = model.config.sam.size // 16
    windowed = [block.window_size for block in model.sam.encoder.blocks if block.window_size > 0]
    assert windowed and all(window < grid and grid % window for window in windowed)  # several windows, some padding
    assert all(math.ceil(grid / window) ** 2 >= 4 for window in windowed)
