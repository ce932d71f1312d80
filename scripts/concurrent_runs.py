"""Start several ``forgebench run`` processes at once on one results folder, again and again, and compare each
folder with a single run's: error records, records, the leaderboard, and how many detector calls they made.

    python scripts/concurrent_runs.py [--detector ela] [--suite synthetic] [--processes 3] [--repeats 20]
        [--batch-size 8] [--work DIR]

Uses the caches of ``$FORGEBENCH_HOME`` (the synthetic suite is generated once). Prints one line per repetition
and a summary; exits 1 when any repetition differs from the single run.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

CALLS = re.compile(r"total: \d+ scored, \d+ already recorded, (\d+) detector calls")
RECORD = (
    "SELECT e.dataset, r.image_id, r.status, r.tp, r.fp, r.fn, r.tn, r.score "
    "FROM records r JOIN evaluations e ON e.id = r.evaluation ORDER BY 1, 2"
)


def forgebench(*args: str) -> list[str]:
    return [sys.executable, "-m", "forgebench", *args]


def run_all(options: argparse.Namespace, results: Path, processes: int) -> int:
    """Start ``processes`` runs at once; returns their detector calls (all must succeed)."""
    command = forgebench("run", options.detector, "--suite", options.suite, "--results", str(results),
                         "--batch-size", str(options.batch_size), "--workers", "1")  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    started = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
               for _ in range(processes)]  # fmt: skip
    calls = 0
    for process in started:
        output = process.communicate()[0]
        if process.returncode != 0:
            raise SystemExit(f"a run failed ({process.returncode}):\n{output}")
        calls += sum(int(found) for found in CALLS.findall(output))
    return calls


def measure(options: argparse.Namespace, results: Path) -> tuple[list[tuple], str]:
    """(records, leaderboard.csv text) of a results folder."""
    subprocess.run(forgebench("leaderboard", "--suite", options.suite, "--results", str(results)),
                   check=True, capture_output=True)  # fmt: skip
    with sqlite3.connect(results / "forgebench.sqlite") as db:
        records = db.execute(RECORD).fetchall()
    return records, (results / "leaderboard.csv").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="ela")
    parser.add_argument("--suite", default="synthetic")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--work", type=Path, default=None, help="folder for the results folders (default: a temp)")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="concurrent-runs-"))
    single_calls = run_all(options, work / "single", 1)
    reference, board = measure(options, work / "single")
    print(f"single run: {len(reference)} records, {single_calls} detector calls")
    failures, ratios = 0, []
    for repeat in range(options.repeats):
        results = work / f"shared-{repeat}"
        calls = run_all(options, results, options.processes)
        records, shared_board = measure(options, results)
        errors = sum(record[2] == "error" for record in records)
        same = records == reference and shared_board == board
        ratios.append(calls / single_calls)
        failures += not same
        verdict = "same as one run" if same else "DIFFERS from one run"
        print(f"repeat {repeat + 1}: {len(records)} records, {errors} errors, {calls} detector calls "
              f"({calls / single_calls:.2f}× one run), {verdict}")  # fmt: skip
    mean = sum(ratios) / len(ratios)
    print(f"{options.processes} processes × {options.repeats} repetitions: {failures} differ from one run; "
          f"detector calls {min(ratios):.2f}–{max(ratios):.2f}× one run's (mean {mean:.2f})")  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
