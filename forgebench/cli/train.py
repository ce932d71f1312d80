"""``forgebench train NAME``: train a detector through its trainer plugin (e.g. ``clue``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forgebench.cli.common import console, fail
from forgebench.plugin import registry
from forgebench.plugin.registry import UnknownPluginError


def train(
    name: Annotated[str, typer.Argument(help="Trainer name (see `forgebench list trainers`).")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML training config.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting, e.g. optim.epochs=5; repeatable.")
    ] = None,
) -> None:
    """Train NAME from a YAML config (every setting has a default) plus --set overrides; prints the checkpoint.

    Several GPUs (or CPU processes): `accelerate launch --multi_gpu --num_processes N -m forgebench train NAME ...`.
    """
    try:
        trainer = registry.trainers.get(name)
    except UnknownPluginError as error:
        fail(str(error))
    if config is not None and not config.is_file():
        fail(f"training config {config} not found")
    try:
        checkpoint = trainer.train(config, tuple(set_ or ()))
    except (ValueError, FileNotFoundError) as error:
        fail(str(error))
    console.print(f"checkpoint: {checkpoint}  (forgebench run {name} --option checkpoint={checkpoint} …)")
