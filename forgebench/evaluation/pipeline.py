"""The runner's threads: loaders decode ahead, the detector predicts on its own thread(s), scorers score behind it.

Records come back batch by batch, in batch order, whatever the thread counts: every random draw is seeded per
image, so nothing depends on which thread did what.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from forgebench.evaluation.store import Record

Sample = TypeVar("Sample")
Loaded = TypeVar("Loaded")


@dataclass(frozen=True)
class Pools:
    """The loader and scorer threads, shared by every evaluation of a run."""

    loaders: ThreadPoolExecutor
    scorers: ThreadPoolExecutor


def scored_in_order(
    batches: Iterable[Sequence[Sample]],
    load: Callable[[Sample], Loaded | Record],
    detect: Callable[[list[Loaded]], list[Future[Record]]],
    pools: Pools,
    in_flight: int,
) -> Iterator[list[Record]]:
    """Each batch's records, in order.

    Parameters:
        batches: The samples to evaluate, batch by batch (read as the loaders reach them).
        load: Runs on the loader threads; returns what ``detect`` takes, or a finished record for a sample that
            cannot go further (unreadable, invalid), which then skips detection.
        detect: Runs the detector on one batch's loaded items on a detect thread and hands each image's scoring
            to ``pools.scorers``, returning the futures of their records.
        pools: The loader and scorer threads.
        in_flight: How many ``detect`` calls may run at once; as many batches are loaded ahead.

    A batch's records are yielded once the next ``in_flight`` batches are detecting, so that scoring overlaps
    detection. Closing the iterator early drops the batches still queued.
    """
    pending: deque[tuple[list[Future[Record]], Future[list[Future[Record]]]]] = deque()
    detecting = ThreadPoolExecutor(in_flight, thread_name_prefix="forgebench-detect")
    try:
        for items in _prefetched(batches, load, pools.loaders, ahead=in_flight):
            failed = [finished(item) for item in items if isinstance(item, Record)]
            loaded = [item for item in items if not isinstance(item, Record)]
            pending.append((failed, detecting.submit(detect, loaded)))
            while len(pending) > in_flight:
                yield _records(*pending.popleft())
        while pending:
            yield _records(*pending.popleft())
    finally:
        detecting.shutdown(cancel_futures=True)


def finished(record: Record) -> Future[Record]:
    """A future that already holds ``record``."""
    future: Future[Record] = Future()
    future.set_result(record)
    return future


def _records(failed: list[Future[Record]], detected: Future[list[Future[Record]]]) -> list[Record]:
    return [future.result() for future in failed + detected.result()]


def _prefetched(
    batches: Iterable[Sequence[Sample]],
    load: Callable[[Sample], Loaded | Record],
    loaders: ThreadPoolExecutor,
    ahead: int,
) -> Iterator[list[Loaded | Record]]:
    """Each batch loaded on the thread pool, the next ``ahead`` batches loading while the current one is detected."""
    pending: deque[list[Future[Loaded | Record]]] = deque()
    for batch in batches:
        pending.append([loaders.submit(load, sample) for sample in batch])
        if len(pending) > ahead:
            yield [future.result() for future in pending.popleft()]
    while pending:
        yield [future.result() for future in pending.popleft()]
