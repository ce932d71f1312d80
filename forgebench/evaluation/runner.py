"""The one evaluation loop: detector × dataset(s) × perturbation(s) → per-image records in the store.

Already-recorded images are skipped, so an interrupted run resumes where it stopped and a repeated
sweep calls the detector for nothing already scored; an image that cannot be read or scored is
recorded as an error and the run goes on. Decoding and perturbing run on loader threads ahead of the
detector, the detector on its own thread (or threads, for one that takes several batches in flight), and
scoring and map writing on scorer threads while the detector works on the next batch; records are committed
in order. Every random draw is seeded per image, so the thread counts change nothing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from forgebench.data.catalog import DatasetSpec
from forgebench.data.decode import DecodeError, looks_inverted, read_file, read_mask, read_rgb, size_note
from forgebench.data.lock import pixels_digest
from forgebench.data.manifest import DatasetMissingError, Manifest, Sample, build_manifest
from forgebench.evaluation.configure import Configured, changed_options, configure, fingerprint
from forgebench.evaluation.labels import checked_label
from forgebench.evaluation.mapcache import save_map
from forgebench.evaluation.metrics import PROTOCOL, InvalidMapError, check_map, image_score, resize_to, score_resized
from forgebench.evaluation.perturb import CLEAN, Chain, parse_chain
from forgebench.evaluation.pipeline import Pools, finished, scored_in_order
from forgebench.evaluation.store import Evaluation, Record, Store, new_holder
from forgebench.evaluation.versions import package_versions
from forgebench.plugin.contract import Detector, ImageInput, Prediction
from forgebench.plugin.options import options_dict

MAX_IN_FLIGHT = 4
"""The most batches a detector may have in ``predict`` at once (see ``Detector``)."""


class NoDataError(RuntimeError):
    """None of the requested datasets is present."""

    def __init__(self, missing: Sequence[DatasetMissingError]) -> None:
        self.missing = list(missing)
        super().__init__("none of the requested datasets was found")


@dataclass(frozen=True)
class Shard:
    """Process ``index`` of ``count`` takes the images whose id hashes to ``index`` (stable whatever is done)."""

    index: int = 0
    count: int = 1

    def takes(self, image_id: str) -> bool:
        return self.count == 1 or int(hashlib.sha1(image_id.encode()).hexdigest(), 16) % self.count == self.index


def process_shard() -> Shard:
    """This process's shard under ``accelerate launch`` / ``torchrun`` (``RANK``, ``WORLD_SIZE``), else the whole."""
    return Shard(index=int(os.environ.get("RANK", 0)), count=int(os.environ.get("WORLD_SIZE", 1)))


@dataclass(frozen=True)
class Job:
    """What to evaluate; everything a run's results depend on, plus where to put them and how fast."""

    detector: str
    datasets: tuple[DatasetSpec, ...]
    results: Path
    options: tuple[str, ...] = ()
    device: str = "auto"
    batch_size: int = 8
    perturbations: tuple[str, ...] = (CLEAN,)
    seed: int = 0
    limit: int | None = None
    extras: tuple[str, ...] = ()
    data_root: Path | None = None
    retry_errors: bool = False
    workers: int = 2
    """Loader threads (decode + perturb); results do not depend on it."""
    shard: Shard = field(default_factory=Shard)
    """The part of the images this process scores when several processes share a run (see :func:`process_shard`)."""
    label: str | None = None
    """The name tables give this configuration (see :mod:`forgebench.evaluation.labels`); no part of its results."""


@dataclass
class DatasetOutcome:
    dataset: str
    perturbation: str = CLEAN
    scored: int = 0
    skipped: int = 0
    errors: int = 0
    invalid: int = 0
    calls: int = 0
    """Detector calls (``predict``) made for this dataset and perturbation."""


@dataclass
class RunSummary:
    fingerprint: str
    outcomes: list[DatasetOutcome] = field(default_factory=list)
    missing: list[DatasetMissingError] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(outcome.calls for outcome in self.outcomes)


Progress = Callable[[str, int, int], Callable[[int], None]]
"""``progress(description, total, already_done)`` → ``advance(n)``; the CLI passes a rich progress bar."""


def run(job: Job, store: Store, progress: Progress | None = None) -> RunSummary:
    """Evaluate ``job``; raises :class:`NoDataError` when no requested dataset is present."""
    configured = configure(job.detector, job.options, job.device)
    label = checked_label(job.label) if job.label is not None else None
    plugin, options, device = configured.plugin, configured.options, configured.device
    chains = list({chain.canonical_id: chain for chain in map(parse_chain, job.perturbations)}.values())
    if not plugin.card.reads_pixels and any(not chain.is_clean for chain in chains):
        raise ValueError(f"Detector {job.detector!r} reads precomputed outputs and cannot be run under a perturbation")
    manifests, missing = [], []
    for spec in job.datasets:
        try:
            manifests.append(build_manifest(spec, job.data_root))
        except DatasetMissingError as error:
            missing.append(error)
    if not manifests:
        raise NoDataError(missing)
    detector = _Detector(configured)
    summary = RunSummary(fingerprint=fingerprint(plugin, options, detector.digest), missing=missing)
    context = {
        "detector": job.detector,
        "card_version": plugin.card.version,
        "options": options_dict(options),
        "changed_options": changed_options(plugin, options),
        "weights_digest": detector.digest,
        "device": device,
        "requested": [spec.name for spec in job.datasets],
        "extras": list(job.extras),
        "protocol": PROTOCOL,
        "decode": "Pillow, first frame, no EXIF rotation, RGB uint8",
        "versions": package_versions(),
    }
    if label is not None:
        store.name(summary.fingerprint, label)
    threads = max(1, job.workers)
    holder = new_holder()  # this run's name on the images it claims (see Store.claim)
    with (
        ThreadPoolExecutor(threads, thread_name_prefix="forgebench-load") as loaders,
        ThreadPoolExecutor(threads, thread_name_prefix="forgebench-score") as scorers,
        _released(store, holder),
    ):
        pools = Pools(loaders, scorers)
        for chain in chains:
            for manifest in manifests:
                key = {
                    "detector": job.detector,
                    "fingerprint": summary.fingerprint,
                    "dataset": manifest.spec.name,
                    "perturbation": chain.canonical_id,
                    "seed": chain.seed_key(job.seed),
                    "manifest_digest": manifest.digest,
                }
                facts = {"perturbation": key["perturbation"], "seed": key["seed"], "dataset": _dataset_facts(manifest)}
                evaluation = store.evaluation(key, context | facts)
                calls_before = detector.calls
                outcome = _evaluate(job, store, evaluation, manifest, detector, chain, pools, holder, progress)
                outcome.calls = detector.calls - calls_before
                summary.outcomes.append(outcome)
    return summary


@contextmanager
def _released(store: Store, holder: str) -> Iterator[None]:
    """On the way out, however it goes, the claims ``holder`` still has are dropped for the next run to take."""
    try:
        yield
    finally:
        store.release(holder)


class _Detector:
    """The configured detector, counting its ``predict`` calls (a repeated sweep must make none).

    Built at once, unless its plugin gives the weights digest from the options: then only when an image is
    left to score, so that re-running a finished sweep loads no weights either.
    """

    def __init__(self, configured: Configured) -> None:
        self.configured = configured
        self.calls = 0
        self._counting = threading.Lock()
        self.built: Detector | None = None
        digest = configured.plugin.digest
        if digest is None:
            self.built = configured.build()
        self.digest = self.built.weights_digest if self.built is not None else digest(configured.options)

    def build(self) -> None:
        if self.built is None:
            self.built = self.configured.build()
            if self.built.weights_digest != self.digest:
                raise RuntimeError(
                    f"detector {self.configured.plugin.card.name}: weights digest {self.built.weights_digest} after "
                    f"building, {self.digest} from its options"
                )

    @property
    def in_flight(self) -> int:
        """How many batches the built detector takes at once (its ``batches_in_flight``; 1 when nothing is built)."""
        wanted = self.built.batches_in_flight if self.built is not None else 1
        if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
            name = self.configured.plugin.card.name
            raise TypeError(f"detector {name}: batches_in_flight must be a whole number ≥ 1, not {wanted!r}")
        return min(wanted, MAX_IN_FLIGHT)

    def predict(self, batch: Sequence[ImageInput]) -> list[Prediction]:
        with self._counting:
            self.calls += 1
        return self.built.predict(batch)


def _evaluate(
    job: Job,
    store: Store,
    evaluation: Evaluation,
    manifest: Manifest,
    detector: _Detector,
    chain: Chain,
    pools: Pools,
    holder: str,
    progress: Progress | None,
) -> DatasetOutcome:
    selected = select([*manifest.samples, *manifest.unmasked], job.limit)
    done = store.recorded(evaluation, including_errors=not job.retry_errors)
    mine = [s for s in selected if job.shard.takes(s.image_id)]
    todo = [s for s in mine if s.image_id not in done]
    if todo:
        detector.build()
    outcome = DatasetOutcome(dataset=manifest.spec.name, perturbation=chain.canonical_id)
    outcome.skipped = len(mine) - len(todo)
    label = manifest.spec.name if chain.is_clean else f"{manifest.spec.name} · {chain.canonical_id}"
    advance = progress(label, len(mine), outcome.skipped) if progress and todo else None
    map_root = job.results / "maps" / str(evaluation.id)
    batches = _claimed(store, evaluation, todo, job.batch_size, holder, including_errors=not job.retry_errors)
    load = partial(_load, manifest=manifest, chain=chain, seed=job.seed)
    detect = partial(_run_detector, detector=detector, job=job, map_root=map_root, scorers=pools.scorers)
    with closing(scored_in_order(batches, load, detect, pools, detector.in_flight)) as stream:
        for records in stream:
            store.add(evaluation, records, holder)
            for record in records:
                outcome.scored += record.status == "ok"
                outcome.errors += record.status == "error"
                outcome.invalid += record.status == "invalid"
            if advance:
                advance(len(records))
    elsewhere = len(todo) - outcome.scored - outcome.errors - outcome.invalid  # claimed by other processes
    outcome.skipped += elsewhere
    if advance and elsewhere:
        advance(elsewhere)
    return outcome


def _claimed(
    store: Store, evaluation: Evaluation, todo: Sequence[Sample], size: int, holder: str, *, including_errors: bool
) -> Iterator[list[Sample]]:
    """``todo`` in batches of ``size``, each cut to the images this process claims in the store as it is reached,
    so that processes sharing a results folder split the images instead of scoring them twice."""
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        mine = set(store.claim(evaluation, [s.image_id for s in chunk], holder, including_errors=including_errors))
        if mine:
            yield [sample for sample in chunk if sample.image_id in mine]


def select(samples: Sequence[Sample], limit: int | None) -> list[Sample]:
    """All samples, or a fixed pseudo-random subset of ``limit`` (by hash of the image id) for quick runs."""
    if limit is None or limit >= len(samples):
        return list(samples)
    ranked = sorted(samples, key=lambda s: hashlib.sha1(s.image_id.encode()).hexdigest())
    return sorted(ranked[:limit], key=lambda s: s.image_id)


@dataclass
class _Loaded:
    sample: Sample
    pixels: np.ndarray
    forged: np.ndarray
    notes: list[str]
    load_seconds: float
    source: bytes | None


def _run_detector(
    loaded: Sequence[_Loaded], detector: _Detector, job: Job, map_root: Path, scorers: ThreadPoolExecutor
) -> list[Future[Record]]:
    """Detect on the calling thread; each image's scoring and map writing is handed to ``scorers``."""
    if not loaded:
        return []
    started = time.perf_counter()
    try:
        predictions = _predict(detector, loaded)
    except Exception as error:  # noqa: BLE001 — a failing detector must not stop the run
        if len(loaded) > 1:  # retry one by one, so one bad image does not sink its neighbours
            return [record for item in loaded for record in _run_detector([item], detector, job, map_root, scorers)]
        sample = loaded[0].sample
        return [finished(_error(sample, f"detector failed on {sample.image}: {type(error).__name__}: {error}"))]
    seconds = (time.perf_counter() - started) / len(loaded)
    pairs = zip(loaded, predictions, strict=True)
    return [scorers.submit(_score, item, prediction, seconds, job, map_root) for item, prediction in pairs]


def _predict(detector: _Detector, loaded: Sequence[_Loaded]) -> list[Prediction]:
    predictions = detector.predict([ImageInput(i.sample.image_id, i.pixels, i.source) for i in loaded])
    if len(predictions) != len(loaded):
        raise RuntimeError(f"detector returned {len(predictions)} predictions for {len(loaded)} images")
    return predictions


def _load(sample: Sample, manifest: Manifest, chain: Chain, seed: int) -> _Loaded | Record:
    started = time.perf_counter()
    notes: list[str] = []
    if sample.label == "tampered" and sample.mask is None:
        return _error(sample, f"no mask pairs with tampered image {sample.image} ({manifest.spec.name}'s mask rule)")
    try:
        stored = read_file(sample.image)
        if (changed := _differs_from_lock(sample.image, manifest, stored=stored)) is not None:
            return _error(sample, changed)
        pixels = read_rgb(sample.image, stored)
        source = stored if chain.is_clean else None
        if sample.mask is None:
            forged = np.zeros(pixels.shape[:2], dtype=bool)
        else:
            mask = read_mask(sample.mask, manifest.spec.mask_rule)
            forged, notes = mask.forged, list(mask.notes)
            if (changed := _differs_from_lock(sample.mask, manifest, pixels=forged)) is not None:
                return _error(sample, changed)
            if looks_inverted(mask):
                notes.append("mask looks inverted (forged region covers most of the image and its border)")
            if forged.shape != pixels.shape[:2]:
                notes.append(size_note(sample.image, pixels.shape, forged.shape))
        if sample.label == "tampered" and not forged.any():
            return Record(
                image_id=sample.image_id, label=sample.label, status="invalid",
                message=f"tampered image with an empty mask: {sample.mask}", notes="; ".join(notes) or None,
            )  # fmt: skip
        pixels = chain.apply(pixels, sample.image_id, seed)
    except DecodeError as error:
        return _error(sample, str(error))
    except Exception as error:  # noqa: BLE001 — record the failure for this image and go on
        return _error(sample, f"{sample.image}: {type(error).__name__}: {error}")
    return _Loaded(sample, pixels, forged, notes, time.perf_counter() - started, source)


def _differs_from_lock(
    path: Path, manifest: Manifest, *, stored: bytes | None = None, pixels: np.ndarray | None = None
) -> str | None:
    """Why a file is not the one its dataset's lock records (None when it is, or there is no lock): an image by the
    SHA-256 of its bytes, a mask by the digest of its forged pixels."""
    if manifest.lock is None:
        return None
    entry = manifest.lock.files.get(path.relative_to(manifest.root).as_posix())
    if entry is not None:
        if stored is not None and hashlib.sha256(stored).hexdigest() == entry["sha256"]:
            return None
        if pixels is not None and pixels_digest(pixels) == entry.get("pixels"):
            return None
    name = manifest.spec.name
    return f"{path} differs from the file {name}'s lock records: run forgebench datasets check {name}"


def _score(item: _Loaded, prediction: Prediction, detect_seconds: float, job: Job, map_root: Path) -> Record:
    sample = item.sample
    try:
        raw = check_map(prediction.probability)
        at_gt = resize_to(raw, *item.forged.shape)
        result = score_resized(at_gt, item.forged, sample.label, image_score(raw, prediction.score), job.extras)
        map_file = map_root / f"{sample.image_id}.png"
        save_map(map_file, at_gt)
        native = None
        if raw.shape != at_gt.shape:  # kept for protocols that resize the mask to the map
            native = job.results / "maps-native" / map_root.name / f"{sample.image_id}.png"
            save_map(native, raw)
    except InvalidMapError as error:
        return _error(sample, f"invalid detector output for {sample.image}: {error}")
    except Exception as error:  # noqa: BLE001 — record the failure for this image and go on
        return _error(sample, f"scoring {sample.image} failed: {type(error).__name__}: {error}")
    return Record(
        image_id=sample.image_id, label=sample.label, status="ok", height=item.forged.shape[0],
        width=item.forged.shape[1], scored=result, notes="; ".join(item.notes) or None,
        load_seconds=item.load_seconds, detect_seconds=detect_seconds,
        map_file=map_file.relative_to(job.results).as_posix(), map_height=raw.shape[0], map_width=raw.shape[1],
        native_map_file=native.relative_to(job.results).as_posix() if native else None,
    )  # fmt: skip


def _error(sample: Sample, message: str) -> Record:
    return Record(image_id=sample.image_id, label=sample.label, status="error", message=message)


def _dataset_facts(manifest: Manifest) -> dict[str, object]:
    spec = manifest.spec
    return {
        "name": spec.name,
        "root": str(manifest.root),
        "n_tampered": manifest.n_tampered,
        "n_authentic": manifest.n_authentic,
        "unpaired_images": len(manifest.unpaired_images),
        "expected_tampered": spec.expected_tampered,
        "weight": spec.weight,
        "mask_rule": spec.mask_rule.forged_if,
        "digest": manifest.digest,
        "lock": manifest.lock.digest if manifest.lock else None,
        "variant": manifest.lock.variant if manifest.lock else None,
        "excluded": len(manifest.excluded),
    }
