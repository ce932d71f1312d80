"""Progress bars for evaluation runs: one line per dataset and perturbation, with images per second."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class SpeedColumn(ProgressColumn):
    """Images per second of the running task."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:5.1f} img/s" if task.speed else "  –   img/s", style="cyan")


@contextmanager
def progress_bars(console: Console | None = None) -> Iterator[Callable[[str, int, int], Callable[[int], None]]]:
    """A factory ``(description, total, done) → advance`` backed by one rich progress display on ``console``."""
    columns = (
        TextColumn("[bold]{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        SpeedColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:

        def start(description: str, total: int, done: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total, completed=done)
            return lambda n: progress.advance(task, n)

        yield start
