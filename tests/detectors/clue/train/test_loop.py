"""Short CLUE trainings on a tiny pairs dataset: checkpoints, log, resume, overfitting, two CPU processes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import torch
from builders import pairs_dataset

from forgebench.detectors.clue import checkpoint
from forgebench.detectors.clue.config import preset
from forgebench.detectors.clue.loss import clue_loss
from forgebench.detectors.clue.model import CLUE
from forgebench.detectors.clue.train.loop import train
from forgebench.detectors.clue.train.settings import load_settings


def tiny_settings(tmp_path, *extra: str):
    catalog = pairs_dataset(tmp_path / "data", n_tampered=4, n_authentic=2)
    overrides = [
        "model={preset: tiny}",
        "data.train=[tiny]",
        "data.val=[tiny]",
        f"data.catalog=[{catalog}]",
        "data.workers=0",
        "optim.epochs=2",
        "optim.batch_size=2",
        "optim.micro_batch=2",
        f"output={tmp_path / 'run'}",
        *extra,
    ]
    return load_settings(None, overrides)


def log_rows(run):
    with (run / "log.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_training_writes_checkpoints_state_and_log(tmp_path):
    best = train(tiny_settings(tmp_path), show_progress=False)
    run = tmp_path / "run"
    assert best == run / "best.safetensors" and best.is_file()
    assert (run / "last.safetensors").is_file() and (run / "state.safetensors").is_file()
    rows = log_rows(run)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert [int(r["step"]) for r in rows] == [3, 6]  # 6 images, micro-batch 2, no accumulation
    assert all(0 <= float(r["val_f1"]) <= 1 for r in rows)
    config, _, info = checkpoint.read(run / "last.safetensors")
    assert config.preset == "tiny" and info["epoch"] == 2 and info["processes"] == 1
    assert checkpoint.read(best)[2]["val_f1"] == max(float(r["val_f1"]) for r in rows)
    assert (run / "config.yaml").read_text(encoding="utf-8").startswith("model:")


def test_resume_continues_where_the_run_stopped(tmp_path):
    train(tiny_settings(tmp_path, "optim.epochs=1"), show_progress=False)
    first = checkpoint.read(tmp_path / "run" / "last.safetensors")[1]
    train(tiny_settings(tmp_path, "resume=auto", "optim.epochs=3"), show_progress=False)
    rows = log_rows(tmp_path / "run")
    assert [(int(r["epoch"]), int(r["step"])) for r in rows] == [(1, 3), (2, 6), (3, 9)]
    second = checkpoint.read(tmp_path / "run" / "last.safetensors")[1]
    assert any(not torch.equal(first[k], second[k]) for k in first)
    train(tiny_settings(tmp_path, f"output={tmp_path / 'straight'}", "optim.epochs=3"), show_progress=False)
    straight = log_rows(tmp_path / "straight")
    # the first run planned one epoch; resumed, the run follows the three-epoch schedule from the step reached
    assert [r["lr_heads"] for r in rows[1:]] == [r["lr_heads"] for r in straight[1:]]
    assert float(straight[0]["lr_heads"]) > float(straight[1]["lr_heads"]) > 0


def test_missing_resume_state_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.safetensors"):
        train(tiny_settings(tmp_path, f"resume={tmp_path / 'nowhere.safetensors'}"), show_progress=False)


def test_a_few_images_are_overfitted():
    torch.manual_seed(0)
    model = CLUE(preset("tiny"))
    images = torch.rand(2, 3, 64, 64)
    targets = torch.zeros(2, 1, 64, 64)
    targets[0, :, 8:40, 16:48] = 1
    targets[1, :, 32:64, 0:24] = 1
    optimizer = torch.optim.AdamW(model.trainable().values(), lr=5e-3)
    levels, noise = model.eval_noise(["a", "b"], torch.device("cpu"))
    losses = []
    for _ in range(150):
        loss, _ = clue_loss(model(images, levels, noise), targets, model.config.loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] / 5, (losses[0], losses[-1])


def test_accelerate_launch_on_two_cpu_processes(tmp_path):
    settings_file = tmp_path / "run.yaml"
    catalog = pairs_dataset(tmp_path / "data", n_tampered=4, n_authentic=4)
    settings_file.write_text(
        f"model: {{preset: tiny}}\ndata: {{train: [tiny], val: [tiny], catalog: [{catalog}], workers: 0}}\n"
        f"optim: {{epochs: 1, batch_size: 4, micro_batch: 2}}\noutput: {tmp_path / 'run'}\n",
        encoding="utf-8",
    )
    # accelerate's --cpu launcher starts a single process unless MPI is set up; --multi_gpu starts torchrun, whose
    # processes form a gloo group on a machine without a GPU
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    command += ["-m", "forgebench", "train", "clue", "--config", str(settings_file)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    _, _, info = checkpoint.read(tmp_path / "run" / "best.safetensors")
    assert info["processes"] == 2
    assert info["step"] == 2  # 8 images, 2 per process per step: 2 steps of the effective batch of 4
