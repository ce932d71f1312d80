"""A training killed at any moment and resumed ends exactly as an uninterrupted one: the same weights, optimizer
state and ``log.csv`` (but for its ``seconds`` column), bit for bit on CPU.

The training runs in a child process (``save_every=1``: a state after every optimizer step) that is killed with
SIGKILL at random moments after it has saved something new, then started again with ``resume=auto``.
"""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import sys
import textwrap
import time

from builders import pairs_dataset
from safetensors import safe_open

SCRIPT = textwrap.dedent(
    """
    import sys

    from forgebench.detectors.clue.train.loop import train
    from forgebench.detectors.clue.train.settings import load_settings

    train(load_settings(None, sys.argv[1:]), show_progress=False)
    """
)


def settings(catalog, output, *extra):
    return [
        "model={preset: tiny}", "data.train=[tiny]", "data.val=[tiny]", f"data.catalog=[{catalog}]",
        "data.workers=0", "data.epoch_size=12", "optim.epochs=3", "optim.batch_size=2", "optim.micro_batch=2",
        "save_every=1", "resume=auto", f"output={output}", *extra,
    ]  # fmt: skip


def tensors(path):
    with safe_open(str(path), framework="pt") as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict


def outcome(run):
    """Final weights, best weights, the state's tensors, and log.csv without its timing column."""
    with (run / "log.csv").open(encoding="utf-8") as handle:
        log = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]
    return tensors(run / "last.safetensors"), tensors(run / "best.safetensors"), tensors(run / "state.safetensors"), log


def same(first, second):
    last, best, state, log = first
    other_last, other_best, other_state, other_log = second
    assert log == other_log
    for mine, theirs in ((last, other_last), (best, other_best), (state, other_state)):
        assert mine.keys() == theirs.keys()
        assert all(mine[key].equal(theirs[key]) for key in mine), [k for k in mine if not mine[k].equal(theirs[k])]


def saved_at(run) -> float:
    state = run / "state.safetensors"
    return state.stat().st_mtime_ns if state.exists() else 0


def test_a_training_killed_five_times_resumes_to_the_uninterrupted_result(tmp_path):
    catalog = pairs_dataset(tmp_path / "data", n_tampered=4, n_authentic=2)
    script = tmp_path / "train.py"
    script.write_text(SCRIPT, encoding="utf-8")
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run([sys.executable, str(script), *settings(catalog, straight)], check=True, capture_output=True)
    rng = random.Random(5)
    for kill in range(5):
        child = subprocess.Popen([sys.executable, str(script), *settings(catalog, killed)], stderr=subprocess.PIPE)
        before = saved_at(killed)
        while saved_at(killed) == before and child.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))  # anywhere in the next step, its save, or the end of an epoch
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, f"kill {kill}: the run ended before it"
        if kill == 2:  # as if killed after saving the state but before writing the log
            (killed / "log.csv").write_text("epoch\n", encoding="utf-8")
    subprocess.run([sys.executable, str(script), *settings(catalog, killed)], check=True, capture_output=True)
    same(outcome(killed), outcome(straight))
    assert len(outcome(straight)[3]) == 3
