"""The CLUE speed benchmark runs on CPU with the tiny preset and measures what it claims."""

from __future__ import annotations

import re

import pytest

from benchmarks import clue_speed

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_tiny_run_prints_every_path_with_measured_numbers(capsys):
    argv = ["--preset", "tiny", "--device", "cpu", "--levels", "1,3", "--batches", "1,2", "--train-batches", "2",
            "--ablate", "3,2", "--warmup", "1", "--repeats", "2"]  # fmt: skip
    rows = clue_speed.main(argv)
    by = {(r.path, r.config, r.levels, r.batch, r.checkpointing): r for r in rows}
    # per config: naive K 1/3, fast K × batch, ablation (all on and one part undone at a time), train
    assert [r.path for r in rows[:13]] == ["infer naive"] * 2 + ["infer"] * 4 + [
        "all on", "− K batched", "− SAM SDPA", "− fused QKV", "− merged LoRA"] + ["train"] * 2  # fmt: skip
    assert len(rows) == 26
    assert all(r.images_per_s and r.images_per_s > 0 and r.peak_gb is None for r in rows)
    # FLOPs are counted on the model: three levels cost more than one, SD3 at SAM's size more than at half
    assert by[("infer", "a", 3, 1, "–")].gflop_per_image > by[("infer", "a", 1, 1, "–")].gflop_per_image
    assert by[("infer", "b", 3, 1, "–")].gflop_per_image > by[("infer", "a", 3, 1, "–")].gflop_per_image
    assert by[("train", "a", 3, 2, "off")].gflop_per_image > by[("infer", "a", 3, 1, "–")].gflop_per_image
    printed = capsys.readouterr().out
    assert "| infer | a | 3 | 2 | – |" in printed and "| − K batched | b | 3 | 2 | – |" in printed
    assert "×" in printed and "preset tiny" in printed
    gaps = re.findall(r"Check \((a|b), K = 3, 2 images\): fast vs naive path, max \|Δp\| = (\S+)", printed)
    assert [config for config, _ in gaps] == ["a", "b"] and all(float(gap) < 1e-5 for _, gap in gaps)  # fp32 on CPU
