"""Killing a run midway (SIGKILL), once or repeatedly, and re-running gives exactly an uninterrupted run's records."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from builders import pairs_dataset

from forgebench.evaluation.store import Store

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from dataclasses import dataclass
    from pathlib import Path

    import numpy as np

    from forgebench.plugin import registry
    from forgebench.data.catalog import load_catalog
    from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, Prediction
    from forgebench.evaluation.runner import Job, run
    from forgebench.evaluation.store import Store

    results, catalog_file, kill_after = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    seen = []

    @dataclass(frozen=True)
    class NoOptions:
        pass

    class Brightness(Detector):
        def predict(self, batch):
            seen.extend(batch)
            time.sleep(pause)
            if kill_after and len(seen) > kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return [Prediction((item.pixels.mean(axis=2) / 255.0).astype(np.float32)) for item in batch]

    registry.detectors.register(
        "brightness", DetectorPlugin(DetectorCard("brightness", "test"), NoOptions, lambda o, d: Brightness())
    )
    specs = load_catalog((catalog_file,)).resolve("tiny")
    with Store(results) as store:
        print("ready", flush=True)
        run(Job(detector="brightness", datasets=tuple(specs), results=results, batch_size=2), store)
    """
)


def run_script(tmp_path, results, catalog_file, kill_after):
    script = tmp_path / "evaluate.py"
    script.write_text(SCRIPT, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), str(results), str(catalog_file), str(kill_after)], capture_output=True, text=True
    )


def stored(results):
    with Store(results) as store:
        (evaluation,) = list(store.evaluations())
        timing_free = [
            dataclasses.replace(r, load_seconds=None, detect_seconds=None) for r in store.records(evaluation)
        ]
    maps = {p.relative_to(results): p.read_bytes() for p in sorted((results / "maps").rglob("*.png"))}
    return timing_free, maps


def test_killed_run_resumes_to_identical_records(tmp_path):
    catalog_file = pairs_dataset(tmp_path / "tiny", n_tampered=9, n_authentic=4)
    interrupted, uninterrupted = tmp_path / "interrupted", tmp_path / "uninterrupted"

    killed = run_script(tmp_path, interrupted, catalog_file, kill_after=6)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial, _ = stored(interrupted)
    assert 0 < len(partial) < 13

    assert run_script(tmp_path, interrupted, catalog_file, kill_after=0).returncode == 0
    assert run_script(tmp_path, uninterrupted, catalog_file, kill_after=0).returncode == 0
    resumed_records, resumed_maps = stored(interrupted)
    fresh_records, fresh_maps = stored(uninterrupted)
    assert len(fresh_records) == 13
    assert resumed_records == fresh_records
    assert resumed_maps == fresh_maps


def test_runs_killed_at_random_moments_end_with_the_uninterrupted_records(tmp_path):
    catalog_file = pairs_dataset(tmp_path / "tiny", n_tampered=9, n_authentic=4)
    script = tmp_path / "evaluate.py"
    script.write_text(SCRIPT, encoding="utf-8")
    interrupted, uninterrupted = tmp_path / "interrupted", tmp_path / "uninterrupted"
    rng = random.Random(4)
    counts = [0]
    for _ in range(3):  # each kill lands after the run has committed something new: always mid-run
        child = subprocess.Popen(
            [sys.executable, str(script), str(interrupted), str(catalog_file), "0", "0.1"], stdout=subprocess.PIPE
        )
        assert child.stdout.readline().strip() == b"ready"
        while recorded(interrupted) <= counts[-1]:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.08))  # anywhere within the next batch, its commit included
        child.send_signal(signal.SIGKILL)
        child.wait()
        counts.append(recorded(interrupted))
    assert counts == sorted(set(counts)) and counts[-1] < 13  # progress kept every time, never finished early
    assert run_script(tmp_path, interrupted, catalog_file, kill_after=0).returncode == 0
    assert run_script(tmp_path, uninterrupted, catalog_file, kill_after=0).returncode == 0
    assert stored(interrupted) == stored(uninterrupted)


def recorded(results) -> int:
    """Records committed so far (read while the writer runs: the store's journal lets readers in)."""
    if not (results / "forgebench.sqlite").exists():
        return 0
    with contextlib.closing(sqlite3.connect(results / "forgebench.sqlite", timeout=30)) as db:
        try:
            return db.execute("SELECT count(*) FROM records").fetchone()[0]
        except sqlite3.OperationalError:  # the tables are being created
            return 0
