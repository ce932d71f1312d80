"""``forgebench train clue``: the training loop (Hugging Face accelerate for devices, processes and precision).

Per epoch: balanced draws from the training datasets, AdamW with separate LoRA and head learning rates, linear
warm-up then cosine decay, gradient clipping; then, on the main process, validation with forgebench's metrics,
``last.safetensors``, ``best.safetensors`` (highest validation F1), ``state.safetensors`` (to resume) and a row of
``log.csv`` (and TensorBoard when available).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from diffusers.optimization import get_cosine_schedule_with_warmup
from torch.utils.data import DataLoader

from forgebench.data.training import TrainingImage
from forgebench.detectors.clue import checkpoint
from forgebench.detectors.clue.config import CLUEConfig, preset
from forgebench.detectors.clue.loss import clue_loss
from forgebench.detectors.clue.model import CLUE
from forgebench.detectors.clue.train.data import EpochDraws, TrainingImages, collect, draw_seed, split
from forgebench.detectors.clue.train.journal import Journal
from forgebench.detectors.clue.train.settings import TrainConfig
from forgebench.detectors.clue.train.state import Progress, load_state, save_state
from forgebench.detectors.clue.train.validate import validate

REPORT_EVERY = 20
"""Batches between progress updates: reading the loss waits for the GPU, so the loop does it rarely."""


def model_config(settings: TrainConfig) -> CLUEConfig:
    changes = dict(settings.model)
    return preset(changes.pop("preset", "paper"), changes)


def training_items(settings: TrainConfig) -> tuple[list[TrainingImage], list[TrainingImage]]:
    """(train, validation) items from the catalog as the data settings choose them."""
    items = collect(settings.data.train, settings.data)
    held_out = collect(settings.data.val, settings.data) if settings.data.val else None
    train_items, val_items = split(items, held_out, settings.data.val_fraction)
    if not train_items:
        raise ValueError(f"no training images in {', '.join(settings.data.train)}")
    return train_items, val_items


def make_loader(settings: TrainConfig, items: list[TrainingImage], size: int) -> tuple[DataLoader, EpochDraws]:
    """The training batches, and the sampler whose epoch the loop sets."""
    images = TrainingImages(items, size, size, settings.augment)
    draws = EpochDraws(items, settings.data.epoch_size or len(items), settings.seed, settings.data.balanced)
    loader = DataLoader(
        images,
        batch_size=settings.optim.micro_batch,
        sampler=draws,
        num_workers=settings.data.workers,
        drop_last=True,
        persistent_workers=settings.data.workers > 0,
        pin_memory=torch.cuda.is_available(),
    )
    return loader, draws


def make_optimizer(model: CLUE, settings: TrainConfig) -> torch.optim.AdamW:
    """AdamW over two groups: LoRA tensors at ``lr_lora`` (if any are trained), fusion and head at ``lr_heads``."""
    trainable = model.trainable()
    lora = [p for name, p in trainable.items() if "lora_" in name]
    heads = [p for name, p in trainable.items() if "lora_" not in name]
    groups = [{"params": lora, "lr": settings.optim.lr_lora}] if lora else []
    groups.append({"params": heads, "lr": settings.optim.lr_heads})
    return torch.optim.AdamW(groups, weight_decay=settings.optim.weight_decay)


def train(settings: TrainConfig, show_progress: bool = True) -> Path:
    """Train CLUE as ``settings`` say; returns the best checkpoint (the last one without validation images)."""
    use_gpu = torch.cuda.is_available()
    bf16 = settings.precision == "bf16" or (settings.precision == "auto" and use_gpu)
    # cpu=True without a GPU: processes started by `accelerate launch --multi_gpu` (torchrun) then form a gloo group
    accelerator = Accelerator(
        mixed_precision="bf16" if bf16 else "no",
        cpu=not use_gpu,
        dataloader_config=DataLoaderConfiguration(non_blocking=use_gpu),  # pinned batches copied without a wait
    )
    optim = settings.optim
    accumulation = max(1, round(optim.batch_size / (optim.micro_batch * accelerator.num_processes)))
    accelerator.gradient_accumulation_steps = accumulation
    output = Path(settings.output)

    set_seed(settings.seed)
    net = CLUE(model_config(settings))
    net.set_checkpointing(settings.checkpointing == "on" or (settings.checkpointing == "auto" and use_gpu))
    train_items, val_items = training_items(settings)
    loader, draws = make_loader(settings, train_items, net.input_size)
    optimizer = make_optimizer(net, settings)
    progress = Progress()
    resume = _resume_path(settings, output)
    if resume is not None:
        progress = load_state(net, optimizer, resume)
        accelerator.print(f"resuming from {resume}: {progress.epoch} epochs, {progress.step} steps done")
    model, optimizer, loader = accelerator.prepare(net, optimizer, loader)
    batches = len(loader)
    total = math.ceil(batches / accumulation) * optim.epochs
    # resuming: the restored groups hold initial_lr, so the schedule can start at the step reached
    warmup = round(optim.warmup * total)
    scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total, last_epoch=progress.step - 1)

    journal = Journal(output, settings, show_progress) if accelerator.is_main_process else None
    if journal:
        journal.write_log(progress.log)  # a resumed run's log is its state's, whatever the file held
    for epoch in range(progress.epoch, optim.epochs):
        started = time.perf_counter()
        model.train()
        draws.set_epoch(epoch)
        done = progress.batch  # micro-batches of this epoch trained before a resume
        sums: dict[str, torch.Tensor | float] = {"loss": 0.0, "bce": 0.0, "dice": 0.0} | progress.sums
        step = progress.step
        if journal:
            journal.start_epoch(epoch, optim.epochs, batches)
        epoch_loader = accelerator.skip_first_batches(loader, done) if done else loader
        epoch_loader.set_epoch(epoch)  # accelerate passes its own count of passes to the sampler otherwise
        for batch, (images, targets) in enumerate(epoch_loader, start=done + 1):
            # the noise of every micro-batch is a function of (seed, epoch, batch, process): resumable exactly
            seed = draw_seed(settings.seed, epoch, batch, accelerator.process_index)
            generator = torch.Generator(device=accelerator.device).manual_seed(seed)
            loss, parts = train_step(accelerator, model, net, optimizer, images, targets, optim.clip, generator)
            for key, part in (("loss", loss), *parts.items()):
                sums[key] = sums[key] + part  # on the device: no wait for the GPU here
            if accelerator.sync_gradients:
                scheduler.step()
                step += 1
                if journal and settings.save_every and step % settings.save_every == 0 and batch < batches:
                    within = {key: float(value) for key, value in sums.items()}
                    mid = dataclasses.replace(progress, step=step, batch=batch, sums=within)
                    save_state(net, optimizer.optimizer, mid, output / "state.safetensors")
            if journal and (batch % REPORT_EVERY == 0 or batch == batches):
                journal.advance(step, batch, float(sums["loss"]), float(loss))
        accelerator.wait_for_everyone()
        progress = dataclasses.replace(progress, epoch=epoch + 1, step=step, batch=0, sums={})
        if journal:
            result = validate(net, val_items, optim.micro_batch, bf16) if val_items else None
            if result is not None and result.f1 > progress.best_f1:
                progress = dataclasses.replace(progress, best_f1=result.f1)
            info = {
                "epoch": epoch + 1,
                "step": step,
                "processes": accelerator.num_processes,
                "val_f1": result.f1 if result else None,
            }
            checkpoint.save(net, output / "last.safetensors", info)
            if result is None or result.f1 == progress.best_f1:
                checkpoint.save(net, output / "best.safetensors", info)
            means = {k: float(v) / max(batches, 1) for k, v in sums.items()}
            row = journal.row(progress, means, scheduler.get_last_lr(), result, time.perf_counter() - started)
            progress = dataclasses.replace(progress, log=(*progress.log, row))
            save_state(net, optimizer.optimizer, progress, output / "state.safetensors")
            journal.end_epoch(progress, row, result)
        accelerator.wait_for_everyone()
    if journal:
        journal.close()
    return output / "best.safetensors"


def train_step(
    accelerator: Accelerator,
    model: torch.nn.Module,
    net: CLUE,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    targets: torch.Tensor,
    clip: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One micro-batch: fresh noise, forward, loss, backward; clip and step when the accumulation is complete.

    ``model`` is ``net`` as ``accelerator.prepare`` returned it. The returned loss and parts stay on the device.
    """
    with accelerator.accumulate(model):
        levels, noise = net.train_noise(images.shape[0], accelerator.device, generator)
        loss, parts = clue_loss(model(images, levels, noise), targets, net.config.loss)
        accelerator.backward(loss)
        if accelerator.sync_gradients:
            accelerator.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return loss.detach(), parts


def _resume_path(settings: TrainConfig, output: Path) -> Path | None:
    if settings.resume is None:
        return None
    if settings.resume == "auto":
        candidate = output / "state.safetensors"
        return candidate if candidate.is_file() else None
    path = Path(settings.resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume: training state {path} not found")
    return path
