"""What a training run reports: a progress bar, ``log.csv`` (one row per epoch), TensorBoard, the settings used."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from forgebench.detectors.clue.train.settings import TrainConfig
from forgebench.detectors.clue.train.state import Progress as RunProgress
from forgebench.detectors.clue.train.validate import Validation

COLUMNS = ("epoch", "step", "loss", "bce", "dice", "lr_lora", "lr_heads", "val_f1", "val_iou", "seconds")


class Journal:
    def __init__(self, output: Path, settings: TrainConfig, show_progress: bool) -> None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "config.yaml").write_text(
            yaml.safe_dump(_plain(dataclasses.asdict(settings)), sort_keys=False), encoding="utf-8"
        )
        self.csv = output / "log.csv"
        self.console = Console(stderr=True)
        self.tensorboard = _tensorboard(output / "tensorboard", settings.tensorboard)
        self.bar = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            if show_progress
            else None
        )
        if self.bar:
            self.bar.start()
        self.task = None
        self.label = ""
        self.seen = 0

    def start_epoch(self, epoch: int, epochs: int, batches: int) -> None:
        self.label, self.seen = f"epoch {epoch + 1}/{epochs}", 0
        if self.bar:
            self.task = self.bar.add_task(self.label, total=batches)

    def advance(self, step: int, batches: int, loss_sum: float, loss: float) -> None:
        """``batches`` of this epoch are done, with ``loss_sum`` over them; ``loss`` is the latest batch's."""
        self.seen = batches
        if self.bar:
            self.bar.update(self.task, completed=batches, description=f"{self.label} loss {loss_sum / batches:.3f}")
        if self.tensorboard:
            self.tensorboard.add_scalar("train/loss", loss, step)

    def write_log(self, rows: Sequence[dict[str, Any]]) -> None:
        """``log.csv`` rewritten whole from ``rows`` (those of the training state), replaced in one step."""
        partial = self.csv.with_name(self.csv.name + ".partial")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        partial.replace(self.csv)

    @staticmethod
    def row(
        progress: RunProgress, means: dict[str, float], lrs: list[float], result: Validation | None, seconds: float
    ) -> dict[str, Any]:
        """The ``log.csv`` row of the epoch ``progress`` has just completed."""
        return {
            "epoch": progress.epoch,
            "step": progress.step,
            **means,
            "lr_lora": lrs[0] if len(lrs) > 1 else None,
            "lr_heads": lrs[-1],
            "val_f1": result.f1 if result else None,
            "val_iou": result.iou if result else None,
            "seconds": round(seconds, 1),
        }

    def end_epoch(self, progress: RunProgress, row: dict[str, Any], result: Validation | None) -> None:
        """Write the log (from every row in ``progress``) and report the epoch's ``row``."""
        self.write_log(progress.log)
        if self.tensorboard:
            for key in ("loss", "bce", "dice"):
                self.tensorboard.add_scalar(f"epoch/{key}", row[key], progress.epoch)
            if result:
                self.tensorboard.add_scalar("val/f1", result.f1, progress.epoch)
                self.tensorboard.add_scalar("val/iou", result.iou, progress.epoch)
        scores = f"val F1 {result.f1:.3f} IoU {result.iou:.3f}" if result else "no validation images"
        self.console.print(f"{self.label}: loss {row['loss']:.4f} · {scores} · {row['seconds']:.0f} s", highlight=False)

    def close(self) -> None:
        if self.bar:
            self.bar.stop()
        if self.tensorboard:
            self.tensorboard.close()


def _tensorboard(folder: Path, choice: str):
    if choice == "off":
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        if choice == "on":
            raise ImportError("tensorboard: on needs the tensorboard package (pip install tensorboard)") from None
        return None
    return SummaryWriter(str(folder))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
