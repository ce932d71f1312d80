"""The evaluation loop: records, resume, per-image failures, cached maps."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
from builders import box, pairs_dataset, write_image, write_mask

from forgebench.data.catalog import load_catalog
from forgebench.data.decode import read_mask
from forgebench.data.manifest import build_manifest
from forgebench.evaluation.mapcache import load_map
from forgebench.evaluation.metrics import confusion, score_image
from forgebench.evaluation.rescore import rescore
from forgebench.evaluation.runner import Job, NoDataError, run
from forgebench.evaluation.store import Store
from forgebench.plugin import registry
from forgebench.plugin.contract import Detector, DetectorCard, DetectorPlugin, PerturbationPlugin, Prediction
from forgebench.plugin.registry import Registry


@dataclass(frozen=True)
class ScriptedOptions:
    fail_on: str = ""
    output: str = "half"


class Scripted(Detector):
    """Predicts the left half as forged; misbehaves on images whose id contains ``fail_on``."""

    def __init__(self, options: ScriptedOptions) -> None:
        self.options = options
        self.calls: list[int] = []

    def predict(self, batch):
        self.calls.append(len(batch))
        out = []
        for item in batch:
            height, width = item.pixels.shape[:2]
            probability = np.zeros((height, width), np.float32)
            probability[:, : width // 2] = 0.9
            score = None
            if self.options.fail_on and self.options.fail_on in item.image_id:
                if self.options.output == "raise":
                    raise RuntimeError("scripted failure")
                if self.options.output == "bad-score":
                    score = 7.0
                else:
                    probability[0, 0] = np.nan
            out.append(Prediction(probability, score))
        return out


@pytest.fixture
def plugins(monkeypatch):
    fresh = Registry(registry.DETECTOR_GROUP, DetectorPlugin)
    monkeypatch.setattr(registry, "detectors", fresh)
    fresh.register(
        "scripted",
        DetectorPlugin(DetectorCard("scripted", "test"), ScriptedOptions, lambda options, device: Scripted(options)),
    )
    fresh.register("all-forged", "forgebench.detectors.trivial:ALL_FORGED")
    return fresh


@pytest.fixture
def tiny(tmp_path):
    catalog = load_catalog((pairs_dataset(tmp_path / "tiny"),))
    return catalog.resolve("tiny")


def evaluate(tiny, results, **kwargs):
    with Store(results) as store:
        summary = run(Job(datasets=tuple(tiny), results=results, **kwargs), store)
        evaluation = next(store.evaluations())
        return summary, {r.image_id: r for r in store.records(evaluation)}, evaluation


def test_all_forged_scores_two_f_over_one_plus_f(plugins, tiny, tmp_path):
    summary, records, evaluation = evaluate(tiny, tmp_path / "results", detector="all-forged", batch_size=3)
    assert summary.outcomes[0].scored == 7
    for index in range(5):
        record = records[f"tiny/images/t{index:02d}.png"]
        forged_fraction = (4 + 2 * index) ** 2 / (24 * 32)
        assert record.scored.f1 == pytest.approx(2 * forged_fraction / (1 + forged_fraction))
        assert record.status == "ok"
    authentic = records["tiny/authentic/a00.jpg"]
    assert (authentic.scored.f1, authentic.scored.fpr, authentic.scored.score) == (None, 1.0, 1.0)
    assert evaluation.manifest["dataset"]["n_tampered"] == 5
    assert evaluation.manifest["protocol"]["threshold"] == 0.5


def test_rerun_skips_everything_already_recorded(plugins, tiny, tmp_path):
    evaluate(tiny, tmp_path / "results", detector="scripted")
    summary, records, _ = evaluate(tiny, tmp_path / "results", detector="scripted")
    assert (summary.outcomes[0].scored, summary.outcomes[0].skipped) == (0, 7)
    assert len(records) == 7


def test_one_raising_image_is_recorded_and_its_batch_neighbours_are_scored(plugins, tiny, tmp_path):
    _, records, _ = evaluate(tiny, tmp_path / "r", detector="scripted", options=("fail_on=t02", "output=raise"))
    assert records["tiny/images/t02.png"].status == "error"
    assert "scripted failure" in records["tiny/images/t02.png"].message
    assert [r.status for k, r in records.items() if "t02" not in k] == ["ok"] * 6


def test_nan_map_is_an_error_not_a_score(plugins, tiny, tmp_path):
    _, records, _ = evaluate(tiny, tmp_path / "r", detector="scripted", options=("fail_on=t03",))
    assert records["tiny/images/t03.png"].status == "error"
    assert "NaN" in records["tiny/images/t03.png"].message


def test_image_score_outside_zero_one_is_an_error(plugins, tiny, tmp_path):
    _, records, _ = evaluate(tiny, tmp_path / "r", detector="scripted", options=("fail_on=a01", "output=bad-score"))
    assert records["tiny/authentic/a01.jpg"].status == "error"
    assert "image score" in records["tiny/authentic/a01.jpg"].message
    assert records["tiny/authentic/a00.jpg"].status == "ok"


def test_corrupt_image_is_recorded_and_the_run_goes_on(plugins, tmp_path):
    catalog_file = pairs_dataset(tmp_path / "tiny")
    (tmp_path / "tiny/images/t01.png").write_bytes(b"not an image")
    tiny = load_catalog((catalog_file,)).resolve("tiny")
    summary, records, _ = evaluate(tiny, tmp_path / "r", detector="scripted")
    assert records["tiny/images/t01.png"].status == "error"
    assert "t01.png" in records["tiny/images/t01.png"].message
    assert summary.outcomes[0].scored == 6


def test_empty_mask_on_tampered_image_is_invalid(plugins, tmp_path):
    catalog_file = pairs_dataset(tmp_path / "tiny")
    write_mask(tmp_path / "tiny/masks/t04.png", np.zeros((24, 32), bool))
    tiny = load_catalog((catalog_file,)).resolve("tiny")
    summary, records, _ = evaluate(tiny, tmp_path / "r", detector="scripted")
    assert records["tiny/images/t04.png"].status == "invalid"
    assert summary.outcomes[0].invalid == 1


def test_cached_maps_reproduce_the_recorded_counts(plugins, tiny, tmp_path):
    results = tmp_path / "results"
    _, records, _ = evaluate(tiny, results, detector="scripted")
    for sample_id, record in records.items():
        stored = load_map(results / record.map_file)
        mask_name = sample_id.split("/")[-1].replace(".jpg", ".png")
        if record.label == "tampered":
            forged = read_mask(tmp_path / "tiny/masks" / mask_name, tiny[0].mask_rule).forged
        else:
            forged = np.zeros(stored.shape, bool)
        counts = confusion(stored, forged)
        assert counts == record.scored.counts


def test_limit_selects_a_fixed_subset(plugins, tiny, tmp_path):
    _, first, _ = evaluate(tiny, tmp_path / "a", detector="scripted", limit=3)
    _, second, _ = evaluate(tiny, tmp_path / "b", detector="scripted", limit=3)
    assert len(first) == 3 and first.keys() == second.keys()


def test_no_data_raises_with_every_missing_dataset(plugins, tmp_path):
    specs = load_catalog().resolve("all")
    with Store(tmp_path / "r") as store, pytest.raises(NoDataError) as error:
        run(Job(detector="scripted", datasets=tuple(specs), results=tmp_path / "r", data_root=tmp_path), store)
    assert [m.spec.name for m in error.value.missing] == list(load_catalog().suite("all"))


@dataclass(frozen=True)
class NoParams:
    pass


def test_precomputed_detector_refuses_perturbations(tiny, tmp_path, monkeypatch):
    fresh = Registry(registry.PERTURBATION_GROUP, PerturbationPlugin)
    fresh.register("invert", PerturbationPlugin("invert", "255 - x", NoParams, lambda x, params, rng: 255 - x))
    monkeypatch.setattr(registry, "perturbations", fresh)
    with Store(tmp_path / "r") as store, pytest.raises(ValueError, match="cannot be run under a perturbation"):
        run(Job(detector="masks-dir", datasets=tuple(tiny), results=tmp_path / "r", perturbations=("invert",)), store)


def test_rescore_from_cached_maps_keeps_scores_and_adds_columns(plugins, tiny, tmp_path):

    results = tmp_path / "results"
    _, before, evaluation = evaluate(tiny, results, detector="scripted")
    manifest = build_manifest(tiny[0])
    with Store(results) as store:
        assert rescore(store, evaluation, manifest, ["auc", "inv"]) == 7
        after = {r.image_id: r for r in store.records(evaluation)}
    for image_id, record in after.items():
        kept = {"auc": None, "f1_inv": None, "iou_inv": None}
        assert dataclasses.replace(record.scored, **kept) == before[image_id].scored
    sample = next(s for s in manifest.samples if s.image_id == "tiny/images/t03.png")
    forged = read_mask(sample.mask, tiny[0].mask_rule).forged
    direct = np.zeros(forged.shape, np.float32)
    direct[:, :16] = 0.9
    expected = score_image(direct, forged, "tampered", extras=["auc", "inv"])
    assert after["tiny/images/t03.png"].scored.auc == pytest.approx(expected.auc)
    assert after["tiny/images/t03.png"].scored.f1_inv == pytest.approx(expected.f1_inv)


def test_rescore_keeps_the_optional_columns_it_was_not_asked_for(plugins, tiny, tmp_path):
    results = tmp_path / "results"
    _, _, evaluation = evaluate(tiny, results, detector="scripted", extras=("auc",))
    with Store(results) as store:
        rescore(store, evaluation, build_manifest(tiny[0]), ["inv"])
        record = next(r for r in store.records(evaluation) if r.image_id == "tiny/images/t03.png")
    assert record.scored.auc is not None and record.scored.f1_inv is not None


def test_a_changed_mask_rule_is_scored_again_not_served_from_old_records(plugins, tmp_path):
    catalog_file = pairs_dataset(tmp_path / "tiny")
    results = tmp_path / "results"
    evaluate(load_catalog((catalog_file,)).resolve("tiny"), results, detector="scripted")
    catalog_file.write_text(catalog_file.read_text().replace('"> 127"', '"<= 127"'))
    inverted = load_catalog((catalog_file,)).resolve("tiny")
    with Store(results) as store:
        summary = run(Job(detector="scripted", datasets=tuple(inverted), results=results), store)
        evaluations = list(store.evaluations())
    assert (summary.outcomes[0].scored, summary.outcomes[0].skipped) == (7, 0)
    assert len({e.manifest_digest for e in evaluations}) == 2


def test_runs_with_different_seeds_keep_their_own_cached_maps(plugins, tiny, tmp_path):
    results = tmp_path / "results"
    with Store(results) as store:
        for seed in (0, 1):
            job = Job(detector="scripted", datasets=tuple(tiny), results=results, seed=seed,
                      perturbations=("noise:sigma=3",))  # fmt: skip
            run(job, store)
        first, second = (store.records(e) for e in store.evaluations())
        assert [e.seed for e in store.evaluations()] == [0, 1]
    assert {r.map_file for r in first}.isdisjoint(r.map_file for r in second)
    assert all((results / r.map_file).is_file() for r in first + second)


def test_deterministic_points_are_computed_once_whatever_the_seed(plugins, tiny, tmp_path):
    points = ("clean", "jpeg:q=80", "osn:wechat", "osn:facebook,variant=random")
    results = tmp_path / "results"
    with Store(results) as store:
        first = run(Job("scripted", tuple(tiny), results, perturbations=points, seed=0), store)
        second = run(Job("scripted", tuple(tiny), results, perturbations=points, seed=5), store)
        seeds = {e.perturbation: e.seed for e in store.evaluations() if e.seed == 0}
        assert len(list(store.evaluations())) == 5
    assert first.calls == 4 and second.calls == 1  # only the random variant depends on the seed
    assert set(seeds) == {"clean", "jpeg(q=80,ss=420)", "osn(platform=wechat)", "osn(platform=facebook,variant=random)"}


class Hashing(Detector):
    """Remembers a digest of every input it sees and predicts the left half at the input's own size."""

    def __init__(self) -> None:
        self.inputs: list[tuple[str, tuple[int, ...], str]] = []
        self.sources: dict[str, bytes | None] = {}

    def predict(self, batch):
        for item in batch:
            self.inputs.append((item.image_id, item.pixels.shape, hashlib.sha256(item.pixels.tobytes()).hexdigest()))
            self.sources[item.image_id] = item.source
        return Scripted(ScriptedOptions()).predict(batch)


@pytest.fixture
def hashing(plugins):
    built: list[Hashing] = []

    def build(options, device):
        built.append(Hashing())
        return built[-1]

    plugins.register("hashing", DetectorPlugin(DetectorCard("hashing", "test"), ScriptedOptions, build))
    return built


TIMING = ("load_seconds", "detect_seconds")


def stored(results):
    """Every record of every evaluation, keyed by (perturbation, image id), timings left out."""
    with Store(results) as store:
        return {
            (e.perturbation, r.image_id): {k: v for k, v in vars(r).items() if k not in TIMING}
            for e in store.evaluations()
            for r in store.records(e)
        }


SWEEP = (
    "clean",
    "noise:sigma=6",
    "resize:scale=0.5+jpeg:q=70",
    "osn:wechat",
    "blur:k=5",
    "osn:whatsapp,variant=random",
)


def test_perturbed_inputs_and_records_do_not_depend_on_worker_count(hashing, tiny, tmp_path):
    for workers, batch_size in ((1, 1), (4, 3)):
        job = Job("hashing", tuple(tiny), tmp_path / f"w{workers}", perturbations=SWEEP, workers=workers,
                  batch_size=batch_size)  # fmt: skip
        with Store(job.results) as store:
            summary = run(job, store)
        assert len(summary.outcomes) == len(SWEEP) and summary.calls == len(SWEEP) * math.ceil(7 / batch_size)
    assert sorted(hashing[0].inputs) == sorted(hashing[1].inputs) and len(hashing[0].inputs) == len(SWEEP) * 7
    first, second = stored(tmp_path / "w1"), stored(tmp_path / "w4")
    assert len(first) == len(SWEEP) * 7
    assert first == second


def test_each_perturbation_sees_other_pixels_and_is_keyed_by_its_canonical_id(hashing, tiny, tmp_path):
    digests = {}
    for spec in SWEEP:
        job = Job("hashing", tuple(tiny), tmp_path / "r", perturbations=(spec,))
        with Store(job.results) as store:
            run(job, store)
        digests[spec] = next(seen[1:] for seen in hashing[-1].inputs if seen[0] == "tiny/images/t01.png")
    assert len({digest for _, digest in digests.values()}) == len(SWEEP)
    assert digests["resize:scale=0.5+jpeg:q=70"][0] == (12, 16, 3)
    with Store(tmp_path / "r") as store:
        keys = {e.perturbation for e in store.evaluations()}
    assert keys == {
        "clean", "noise(sigma=6.0)", "resize(s=0.5,interp=bilinear)+jpeg(q=70,ss=420)",
        "osn(platform=wechat)", "blur(k=5)", "osn(platform=whatsapp,variant=random)",
    }  # fmt: skip


def test_the_detector_gets_the_file_bytes_only_with_unperturbed_pixels(hashing, tiny, tmp_path):
    for spec in ("clean", "jpeg:q=70"):
        with Store(tmp_path / "r") as store:
            run(Job("hashing", tuple(tiny), tmp_path / "r", perturbations=(spec,)), store)
    clean, perturbed = hashing[0].sources, hashing[1].sources
    files = {sample.image_id: sample.image.read_bytes() for sample in build_manifest(tiny[0]).samples}
    assert len(files) == 7 and clean == files
    assert set(perturbed) == set(files) and set(perturbed.values()) == {None}


def test_resized_input_is_scored_and_cached_at_the_ground_truth_size(hashing, tiny, tmp_path):
    results = tmp_path / "r"
    job = Job("hashing", tuple(tiny), results, perturbations=("resize:s=0.25,interp=area",))
    with Store(results) as store:
        run(job, store)
    records = stored(results)
    record = records[("resize(s=0.25,interp=area)", "tiny/images/t03.png")]
    assert next(seen[1] for seen in hashing[0].inputs if seen[0] == "tiny/images/t03.png") == (6, 8, 3)
    assert (record["height"], record["width"]) == (24, 32)
    assert load_map(results / record["map_file"]).shape == (24, 32)
    forged = read_mask(tmp_path / "tiny/masks/t03.png", tiny[0].mask_rule).forged
    left_half = np.zeros((24, 32), bool)
    left_half[:, :16] = True  # the 8-wide map's left half, resized back to 32 columns
    counts = confusion(left_half.astype(np.float32), forged)
    assert record["scored"].counts == counts


def test_repeated_sweep_makes_no_detector_call(hashing, tiny, tmp_path):
    job = Job("hashing", tuple(tiny), tmp_path / "r", perturbations=SWEEP)
    with Store(job.results) as store:
        first = run(job, store)
        second = run(job, store)
    assert first.calls > 0 and sum(o.scored for o in first.outcomes) == len(SWEEP) * 7
    assert second.calls == 0 and hashing[1].inputs == []
    assert sum(o.skipped for o in second.outcomes) == len(SWEEP) * 7


def test_a_detector_with_a_digest_is_built_only_when_something_is_left(plugins, tiny, tmp_path):
    builds = []

    def build(options, device):
        builds.append(Scripted(options))
        return builds[-1]

    plugins.register("costly", DetectorPlugin(DetectorCard("costly", "test"), ScriptedOptions, build,
                                              digest=lambda options: None))  # fmt: skip
    job = Job("costly", tuple(tiny), tmp_path / "r", perturbations=("clean", "jpeg:q=80"))
    with Store(job.results) as store:
        first = run(job, store)
        second = run(job, store)
        third = run(Job("costly", tuple(tiny), tmp_path / "r", perturbations=("jpeg:q=60",)), store)
    assert (first.calls, second.calls, third.calls) == (2, 0, 1)
    assert len(builds) == 2  # the first run and the third, which had a new point; the second built nothing


def test_a_digest_that_disagrees_with_the_built_detector_stops_the_run(plugins, tiny, tmp_path):
    card = DetectorCard("lying", "test")
    plugins.register("lying", DetectorPlugin(card, ScriptedOptions, lambda o, d: Scripted(o), digest=lambda o: "abc"))
    with Store(tmp_path / "r") as store, pytest.raises(RuntimeError, match="weights digest None after building, abc"):
        run(Job("lying", tuple(tiny), tmp_path / "r"), store)


def test_a_dataset_with_a_file_outside_its_root_is_left_out_and_the_others_run(plugins, tiny, tmp_path):
    outside = tmp_path / "outside.png"
    write_image(outside)
    escaping = tmp_path / "escaping"
    write_image(escaping / "images" / "a.png")
    write_mask(escaping / "masks" / "a.png", box(24, 32, 2, 2, 6))
    (escaping / "images" / "b.png").symlink_to(outside)
    write_mask(escaping / "masks" / "b.png", box(24, 32, 2, 2, 6))
    catalog = tmp_path / "escaping.yaml"
    catalog.write_text(f"datasets:\n  escaping:\n    root: {escaping}\n    tampered: {{images: ['images/*']}}\n"
                       "    masks: {files: ['masks/*']}\n", encoding="utf-8")  # fmt: skip
    specs = (*tiny, load_catalog((catalog,)).dataset("escaping"))
    with Store(tmp_path / "r") as store:
        summary = run(Job("scripted", specs, tmp_path / "r"), store)
    assert [o.dataset for o in summary.outcomes] == ["tiny"] and summary.outcomes[0].scored == 7
    assert [m.spec.name for m in summary.missing] == ["escaping"] and "b.png lies outside" in summary.missing[0].reason


@dataclass(frozen=True)
class OverlapOptions:
    in_flight: int = 1
    meet: bool = False
    odd: str = ""
    """``text`` or ``flag``: declare ``batches_in_flight`` as "2" or True instead."""


class Overlapping(Scripted):
    """Scripted, counting how many of its ``predict`` calls run at once; with ``meet`` the first two wait for
    each other, which only two batches in flight can satisfy."""

    def __init__(self, options: OverlapOptions) -> None:
        super().__init__(ScriptedOptions())
        self.batches_in_flight = {"text": "2", "flag": True}.get(options.odd, options.in_flight)
        self.meet = threading.Barrier(2, timeout=10) if options.meet else None
        self.lock, self.started, self.running, self.most = threading.Lock(), 0, 0, 0

    def predict(self, batch):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            first_two = self.started < 2
            self.started += 1
        if self.meet is not None and first_two:
            self.meet.wait()
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return super().predict(batch)


@pytest.fixture
def overlapping(plugins):
    built: list[Overlapping] = []

    def build(options, device):
        built.append(Overlapping(options))
        return built[-1]

    plugins.register("overlapping", DetectorPlugin(DetectorCard("overlapping", "test"), OverlapOptions, build))
    return built


def test_two_batches_in_flight_run_at_once_and_give_the_same_records(overlapping, tiny, tmp_path):
    _, one, _ = evaluate(tiny, tmp_path / "one", detector="overlapping", batch_size=2)
    options = ("in_flight=2", "meet=true")
    _, two, _ = evaluate(tiny, tmp_path / "two", detector="overlapping", batch_size=2, options=options)
    assert [built.most for built in overlapping] == [1, 2]  # the two first calls met: they ran at once
    assert sorted(overlapping[1].calls) == [1, 2, 2, 2]
    assert all(r.status == "ok" for r in two.values())
    strip = ("load_seconds", "detect_seconds", "map_file")
    assert [dataclasses.replace(r, **dict.fromkeys(strip)) for r in one.values()] == [
        dataclasses.replace(r, **dict.fromkeys(strip)) for r in two.values()
    ]


def test_one_batch_in_flight_never_overlaps_while_earlier_batches_are_scored(overlapping, tiny, tmp_path):
    _, records, _ = evaluate(tiny, tmp_path / "r", detector="overlapping", batch_size=1, workers=3)
    assert overlapping[0].most == 1 and len(overlapping[0].calls) == 7
    assert all(r.status == "ok" for r in records.values())


@pytest.mark.parametrize("wanted", ["in_flight=0", "odd=text", "odd=flag"])
def test_a_bad_batches_in_flight_stops_the_run_naming_the_detector(overlapping, tiny, tmp_path, wanted):
    with pytest.raises(TypeError, match="overlapping: batches_in_flight must be a whole number"):
        evaluate(tiny, tmp_path / "r", detector="overlapping", options=(wanted,))
