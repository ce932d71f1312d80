"""The HTML page: names from stores and catalogs are shown as text, missing data is named, not guessed."""

from __future__ import annotations

from forgebench.data.catalog import Catalog
from forgebench.evaluation.store import Store
from forgebench.render.report import PageSettings, write_page

HOSTILE = '<script>alert("x")</script>'


def test_names_are_escaped_and_absent_datasets_are_named(tmp_path, scores):
    with Store(tmp_path / "results") as store:
        for perturbation in ("clean", "jpeg(q=70,ss=420)"):  # a robustness figure with `$…$` in its title
            scores(store, HOSTILE, "x$^{y$", [0.2, 0.8, 0.5], perturbation)  # broken math mode if not escaped
            scores(store, "plain", "x$^{y$", [0.1, 0.1, 0.9], perturbation)
        page = write_page([store], Catalog(datasets={}), tmp_path / "page", PageSettings()).read_text()
    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page or "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "plain: x$^{y$: Unknown dataset" in page  # no masks, so no curves or galleries, and the page says why
    assert (tmp_path / "page/robustness-custom.png").is_file()
    assert (tmp_path / "page/leaderboard.md").is_file()
