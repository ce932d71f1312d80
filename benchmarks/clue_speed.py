"""Speed and memory of CLUE's real inference and training paths, built from random weights.

    python benchmarks/clue_speed.py                    # a GPU: the paper preset; no GPU: tiny
    python benchmarks/clue_speed.py --preset tiny --batches 1,4 --levels 1,3 --train-batches 2

Configurations: (a) SD3 at half SAM's size (paper: 512 / 1024), (b) both at SAM's size (1024 / 1024).
Inference goes through the detector's ``infer`` (batched K levels, merged LoRA with fused q/k/v, bf16
autocast on CUDA, SAM attention through SDPA), also with each of these undone in turn (the ``− X`` rows: what X buys);
training through the trainer's ``train_step`` (accelerate, bf16 on CUDA, with and without gradient
checkpointing). The naive reference is the same model in fp32, unmerged, one noise level per transformer
call, batch 1. FLOPs are counted on the model itself (``torch.utils.flop_counter``, model FLOPs: no
recomputation), so TFLOP/s and the fraction of the device's peak are measured, not assumed. Times are
medians over repeats after warm-up, with the device synchronised; peak memory is CUDA's allocator peak.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from accelerate import Accelerator
from torch.utils.flop_counter import FlopCounterMode

from forgebench.detectors.clue.config import preset
from forgebench.detectors.clue.model import CLUE
from forgebench.detectors.clue.noise import eval_levels
from forgebench.detectors.clue.plugin import infer
from forgebench.detectors.clue.train.loop import make_optimizer, train_step
from forgebench.detectors.clue.train.settings import TrainConfig

H100_BF16_TFLOPS = 790.0
"""Dense bf16 peak used for the fraction of the physical limit (the CLUE reference's figure for one H100)."""


@dataclass
class Row:
    path: str
    config: str
    levels: int
    batch: int
    checkpointing: str
    images_per_s: float | None
    ms_per_batch: float | None
    peak_gb: float | None
    gflop_per_image: float
    note: str = ""


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Run the measurements, print the table and the fast-vs-naive output checks, return the rows."""
    args = _arguments(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = args.preset or ("paper" if device.type == "cuda" else "tiny")
    rows, checks = [], []
    for config in args.configs:
        model = build(name, config, device)
        rows += inference_rows(model, config, device, args, checks)
        rows += training_rows(model, config, device, args)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    peak = args.peak_tflops if args.peak_tflops is not None else (H100_BF16_TFLOPS if device.type == "cuda" else None)
    print(table(rows, peak, _describe(device, name)))
    print("\n".join(["", *checks]))
    return rows


def build(name: str, config: str, device: torch.device) -> CLUE:
    """The preset with random backbones; (a) SD3 at half SAM's size, (b) at SAM's size."""
    base = preset(name, {"sd3.weights": "random", "sam.weights": "random"})
    sd3_size = base.sam.size // 2 if config == "a" else base.sam.size
    torch.manual_seed(0)
    model = CLUE(base.override({"sd3.size": sd3_size}))
    with torch.no_grad():  # LoRA B starts at zero: a real update, so that merging is checked on something
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.02)
    return model.to(device)


def inference_rows(
    model: CLUE, config: str, device: torch.device, args: argparse.Namespace, checks: list[str]
) -> list[Row]:
    """Naive and fast rows, the ablation; appends to ``checks`` how far the fast maps are from the naive ones."""
    model.eval()
    bf16 = device.type == "cuda"
    rows = []
    probe = _inputs(model, 2, max(args.levels), device)
    reference = infer(model, *probe, bf16=False, one_level_per_call=True)
    for k in args.levels:
        one = _inputs(model, 1, k, device)
        flops = _flops(lambda one=one: infer(model, *one, bf16=False))
        naive = _time(lambda one=one: infer(model, *one, bf16=False, one_level_per_call=True), device, args)
        rows.append(_row("infer naive", config, k, 1, "–", naive, flops))
    model.merge_lora()
    if args.compile:
        model.compile(backend=args.compile)
    gap = (infer(model, *probe, bf16=bf16) - reference).abs().max().item()
    checks.append(f"Check ({config}, K = {max(args.levels)}, 2 images): fast vs naive path, max |Δp| = {gap:.2e}")
    for k in args.levels:
        flops = _flops(lambda k=k: infer(model, *_inputs(model, 1, k, device), bf16=False))
        for batch in args.batches:
            inputs = _inputs(model, batch, k, device)
            timing = _time(lambda inputs=inputs: infer(model, *inputs, bf16=bf16), device, args)
            rows.append(_row("infer", config, k, batch, "–", timing, flops))
    rows += ablation_rows(model, config, device, args, bf16)
    model.unmerge_lora()
    return rows


def ablation_rows(model: CLUE, config: str, device: torch.device, args: argparse.Namespace, bf16: bool) -> list[Row]:
    """The fast path with one optimisation undone at a time (K and batch from ``--ablate``); LoRA is merged."""
    k, batch = args.ablate
    inputs = _inputs(model, batch, k, device)
    flops = _flops(lambda: infer(model, *_inputs(model, 1, k, device), bf16=False))

    def measure(what: str, **change: bool) -> Row:
        settings = {"bf16": bf16, "one_level_per_call": False} | change
        return _row(what, config, k, batch, "–", _time(lambda: infer(model, *inputs, **settings), device, args), flops)

    rows = [measure("all on")]
    if model.sd3 is not None:
        rows.append(measure("− K batched", one_level_per_call=True))
    if bf16:
        rows.append(measure("− bf16", bf16=False))
    if model.sam is not None and model.sam.spec.attention == "sdpa":
        model.sam.use_attention("eager")
        rows.append(measure("− SAM SDPA"))
        model.sam.use_attention("sdpa")
    if model.sd3 is not None:
        model.unmerge_lora()
        model.merge_lora(fuse_qkv=False)
        rows.append(measure("− fused QKV"))
    model.unmerge_lora()
    rows.append(measure("− merged LoRA"))
    model.merge_lora()
    return rows


def training_rows(model: CLUE, config: str, device: torch.device, args: argparse.Namespace) -> list[Row]:
    settings = TrainConfig()
    accelerator = Accelerator(mixed_precision="bf16" if device.type == "cuda" else "no", cpu=device.type != "cuda")
    optimizer = make_optimizer(model, settings)
    prepared, optimizer = accelerator.prepare(model, optimizer)
    prepared.train()
    rows = []
    for k in args.train_levels:
        model.config = model.config.override({"noise.levels": k})
        for checkpointing in (False, True):
            model.set_checkpointing(checkpointing)
            for batch in args.train_batches:
                images = torch.rand(batch, 3, model.input_size, model.input_size, device=device)
                targets = (torch.rand(batch, 1, model.input_size, model.input_size, device=device) > 0.5).float()

                step = partial(train_step, accelerator, prepared, model, optimizer, clip=settings.optim.clip)
                model.set_checkpointing(False)  # model FLOPs: without the recomputation
                flops = _flops(partial(step, images[:1], targets[:1]))
                model.set_checkpointing(checkpointing)
                timing = _time(partial(step, images, targets), device, args)
                rows.append(_row("train", config, k, batch, "on" if checkpointing else "off", timing, flops))
    model.set_checkpointing(False)
    return rows


def _inputs(model: CLUE, batch: int, k: int, device: torch.device):
    images = torch.rand(batch, 3, model.input_size, model.input_size, device=device)
    if model.sd3 is None:
        return images, None, None
    noise = torch.randn(batch, k, *model.sd3.latent_shape, device=device)
    return images, eval_levels(k).expand(batch, -1).to(device), noise


def _flops(run: Callable[[], object]) -> float:
    """FLOPs of one call on one image (matmuls, convolutions and attention, as torch counts them)."""
    with FlopCounterMode(display=False) as counter:
        run()
    return float(counter.get_total_flops())


@dataclass
class Timing:
    seconds: float | None
    peak_bytes: int | None
    note: str = ""


def _time(run: Callable[[], object], device: torch.device, args: argparse.Namespace) -> Timing:
    """Median wall time of ``run`` over ``args.repeats`` after ``args.warmup`` calls, the device synchronised."""
    cuda = device.type == "cuda"
    try:
        for _ in range(args.warmup):
            run()
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            run()
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - started)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return Timing(None, None, "out of memory")
    return Timing(statistics.median(times), torch.cuda.max_memory_allocated(device) if cuda else None)


def _row(path: str, config: str, k: int, batch: int, checkpointing: str, timing: Timing, flops: float) -> Row:
    seconds = timing.seconds
    return Row(
        path=path,
        config=config,
        levels=k,
        batch=batch,
        checkpointing=checkpointing,
        images_per_s=batch / seconds if seconds else None,
        ms_per_batch=1000 * seconds if seconds else None,
        peak_gb=timing.peak_bytes / 2**30 if timing.peak_bytes is not None else None,
        gflop_per_image=flops / 1e9,
        note=timing.note,
    )


def table(rows: Sequence[Row], peak_tflops: float | None, device: str) -> str:
    """The Markdown table. ``ratio``: an ``infer`` row against the naive path of the same configuration and K; an
    ablation row (``− X``: the fast path without X) against ``all on``, so below 1× means X pays."""
    naive = {(r.config, r.levels): r.images_per_s for r in rows if r.path == "infer naive"}
    full = {(r.config, r.levels, r.batch): r.images_per_s for r in rows if r.path == "all on"}
    lines = [
        f"CLUE speed on {device}; peak {peak_tflops or '–'} TFLOP/s",
        "",
        "| path | config | K | batch | ckpt | img/s | ms/batch | peak GB | GFLOP/img | TFLOP/s | % of peak | ratio |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        tflops = r.images_per_s * r.gflop_per_image / 1e3 if r.images_per_s else None
        share = 100 * tflops / peak_tflops if tflops and peak_tflops else None
        base = naive.get((r.config, r.levels)) if r.path == "infer" else full.get((r.config, r.levels, r.batch))
        base = None if r.path in {"all on", "infer naive", "train"} else base
        ratio = r.images_per_s / base if base and r.images_per_s else None
        cells = [
            r.path, r.config, r.levels, r.batch, r.checkpointing, _fmt(r.images_per_s, 2), _fmt(r.ms_per_batch, 1),
            _fmt(r.peak_gb, 2), f"{r.gflop_per_image:.4g}", _fmt(tflops, 4, significant=True), _fmt(share, 1),
            f"{ratio:.2f}×" if ratio else r.note or "–",
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | None, digits: int, significant: bool = False) -> str:
    return "–" if value is None else f"{value:.{digits}{'g' if significant else 'f'}}"


def _describe(device: torch.device, name: str) -> str:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    return f"{where}, preset {name}, torch {torch.__version__}"


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="CLUE preset (default: paper on a GPU, tiny on CPU)")
    parser.add_argument("--device", help="cuda, cuda:N or cpu (default: cuda if available)")
    parser.add_argument("--configs", type=lambda t: t.split(","), default=["a", "b"], help="a, b or a,b")
    parser.add_argument("--levels", type=_numbers, default=[1, 2, 3, 4], help="inference K values")
    parser.add_argument("--batches", type=_numbers, default=[1, 2, 4, 8, 16, 32], help="inference batch sizes")
    parser.add_argument("--train-levels", type=_numbers, default=[3], help="training K values")
    parser.add_argument("--train-batches", type=_numbers, default=[4, 8, 16], help="training batch sizes")
    parser.add_argument("--compile", help="torch.compile backend for the fast path (e.g. inductor); default: off")
    parser.add_argument("--ablate", type=_numbers, default=[3, 8], help="K,batch of the one-at-a-time ablation")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peak-tflops", type=float, help=f"device peak (default on CUDA: {H100_BF16_TFLOPS})")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
