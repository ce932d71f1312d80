"""Perturbation grids: the bundled grids' exact points, labels, user grid files and ad-hoc lists."""

from __future__ import annotations

import math

import pytest

from forgebench.evaluation.grids import GridError, adhoc_grid, builtin_grids, load_grid


def test_imdlbenco_grid_is_exactly_its_lists_with_variances_run_as_sigma():
    grid = load_grid("imdlbenco")
    assert grid.specs() == [
        "clean",
        *(f"blur(k={k})" for k in (3, 7, 11, 15, 19, 23)),
        *(f"noise(sigma={math.sqrt(v)!r})" for v in (3, 7, 11, 15, 19, 23)),
        *(f"jpeg(q={q},ss=420)" for q in (100, 90, 80, 70, 60, 50)),
    ]
    noise = next(f for f in grid.families if f.name == "noise")
    for point, variance in zip(noise.points, (3, 7, 11, 15, 19, 23), strict=True):
        assert point.label == f"{variance} (σ {math.sqrt(variance):.3f})"
    assert "σ = √v" in grid.source


def test_every_bundled_grid_loads_and_starts_with_the_clean_point():
    bundled = builtin_grids()
    for name in [*bundled["grids"], *bundled["aliases"]]:
        grid = load_grid(name)
        assert grid.specs()[0] == "clean" and len(grid.specs()) == len(set(grid.specs()))
    assert load_grid("clue-fig4").specs() == load_grid("clue").specs()
    assert [p.label for p in load_grid("osn").families[0].points] == ["Fb", "Wa", "Wb", "Wc"]


def test_grid_file_and_its_errors(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("grids:\n  mine:\n    families:\n      jpeg: {spec: 'jpeg:q={}', values: [95, 75]}\n")
    assert load_grid(str(good)).specs() == ["clean", "jpeg(q=95,ss=420)", "jpeg(q=75,ss=420)"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("grids:\n  bad:\n    families:\n      jpeg: {spec: 'jpeg:q={}', values: [95, 0]}\n")
    with pytest.raises(GridError, match=r"bad.yaml: grid bad: family jpeg: 'jpeg:q=0'"):
        load_grid(str(bad))
    with pytest.raises(GridError, match="does not exist"):
        load_grid(str(tmp_path / "absent.yaml"))
    with pytest.raises(GridError, match="Did you mean 'imdlbenco'"):
        load_grid("imdlbench")


def test_adhoc_grid_groups_points_by_kind_in_the_given_order():
    grid = adhoc_grid(["jpeg:q=90", "resize:scale=0.5+jpeg:q=70", "clean", "jpeg:q=50"])
    assert [(f.name, [p.spec for p in f.points]) for f in grid.families] == [
        ("jpeg", ["jpeg(q=90,ss=420)", "jpeg(q=50,ss=420)"]),
        ("resize+jpeg", ["resize(s=0.5,interp=bilinear)+jpeg(q=70,ss=420)"]),
    ]
