"""The Markdown and CSV files of the leaderboard, the robustness tables and paired comparisons.

Every document states the protocol, the counts used as weights, the datasets missing and any count that
differs from the catalog, next to the numbers it explains.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from forgebench.analysis.bootstrap import Settings
from forgebench.analysis.compare import Comparison
from forgebench.analysis.leaderboard import Leaderboard
from forgebench.analysis.reference import Reference
from forgebench.analysis.robustness import Robustness
from forgebench.evaluation.metrics import AVERAGE, PROTOCOL
from forgebench.evaluation.perturb import CLEAN
from forgebench.render.markdown import grouped_markdown_table, interval_text, markdown_table


def protocol_lines(board: Leaderboard) -> list[str]:
    """What a reader needs beside the table: the protocol, the weights, missing datasets and incomplete cells."""
    weights = board.weights()
    lines = [
        f"Protocol: pixel F1/IoU at fixed threshold ({PROTOCOL['comparator']}, threshold {PROTOCOL['threshold']}), "
        "per tampered image, map resized to the ground truth (bilinear); authentic images excluded from F1/IoU.",
        "Weighted Avg. = image-count-weighted mean over the datasets present, weights = tampered images scored: "
        + (", ".join(f"{d} {n}" for d, n in weights.items()) or "none")
        + f" (Σ {sum(weights.values())}).",
        f"Perturbation: {board.perturbation}.",
    ]
    mismatched = [
        f"{d} scored {n}, expected {board.expected[d]}"
        for d, n in weights.items()
        if board.expected.get(d) is not None and board.expected[d] != n
    ]
    if mismatched:
        lines.append("Counts differ from the catalog: " + "; ".join(mismatched) + ".")
    if board.bootstrap:
        lines.append(
            f"Intervals [low, high]: {board.bootstrap.describe()}; the Weighted Avg. resamples images within "
            "each dataset, keeping the weights."
        )
    lines.append("Missing datasets: " + (", ".join(board.missing) if board.missing else "none") + ".")
    if board.locks:
        lines.append(
            "Data locks (datasets prepare): " + "; ".join(f"{d} {lock[:12]}" for d, lock in board.locks.items()) + "."
        )
    if board.older:
        lines.append(
            "Left out, scored only on an older copy of the dataset's files (run them again to rank them): "
            + "; ".join(f"{dataset}: {', '.join(names)}" for dataset, names in board.older.items())
            + "."
        )
    short = [
        f"{c.label} on {c.dataset} scored {c.score.n_tampered} of {board.tampered_total(c)} tampered "
        f"({c.n_errors} errors, {c.n_invalid} invalid)"
        for c in board.short_cells()
    ]
    if short:
        lines.append("Incomplete (marked *): " + "; ".join(short) + ".")
    partial = [
        f"{label} ({row.datasets}/{len(weights)})"
        for label, row in board.wide().set_index("Detector").iterrows()
        if row.datasets < len(weights)
    ]
    if partial:
        lines.append("Averaged over fewer datasets than the others: " + ", ".join(partial) + ".")
    return lines


def leaderboard_markdown(board: Leaderboard, reference: Reference | None = None) -> str:
    """The leaderboard as a Markdown document: the paper-shaped table, reported rows and gaps (with a
    ``reference``), then the details."""
    wide = board.wide(with_intervals=True).drop(columns="datasets")
    text = ["# forgebench leaderboard", "", markdown_table(interval_text(wide)), ""]
    if reference is not None:
        text += reference_sections(board, reference)
    for variable, frame in board.by_variant():
        text += [f"## F1 by {variable} (CLUE Table 2 shape)", "", grouped_markdown_table(frame), ""]
    text += [f"- {line}" for line in protocol_lines(board)]
    long = board.long()
    if not long.empty:
        authentic = long[long.n_authentic > 0][["detector", "dataset", "n_authentic", "fpr_pixel", "specificity"]]
        if not authentic.empty:
            text += ["", "## Authentic images (not in F1/IoU)", "", markdown_table(authentic)]
        shown = long.drop(columns=["name", "options", "weights_digest", "fingerprint"])
        text += ["", "## All columns", "", markdown_table(shown)]
    text += configuration_section(board.configurations())
    return "\n".join(text) + "\n"


def configuration_section(configurations: dict[str, str]) -> list[str]:
    """Markdown: what each label stands for, in full."""
    if not configurations:
        return []
    return ["", "## Configurations", "", *(f"- `{label}`: {text}" for label, text in configurations.items())]


def write_leaderboard(board: Leaderboard, out_dir: Path, reference: Reference | None = None) -> list[Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` (paper shape) and ``leaderboard-long.csv``; with a
    ``reference``, also ``leaderboard-reported.csv`` (the reported rows, then the measured − reported gaps)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "leaderboard.md", out_dir / "leaderboard.csv", out_dir / "leaderboard-long.csv"]
    paths[0].write_text(leaderboard_markdown(board, reference), encoding="utf-8")
    board.wide(with_intervals=True).to_csv(paths[1], index=False)
    board.long().to_csv(paths[2], index=False)
    if reference is not None:
        paths.append(out_dir / "leaderboard-reported.csv")
        pd.concat([reference.frame(), reference.gaps(board)], ignore_index=True).to_csv(paths[-1], index=False)
    return paths


def reference_sections(board: Leaderboard, reference: Reference) -> list[str]:
    """Markdown: the reported rows, marked as such, and each matching detector's measured − reported F1."""
    text = [f"## Reported in {reference.source} (not measured here)", "", markdown_table(reference.frame()), ""]
    gaps = reference.gaps(board)
    if gaps.empty:
        text += ["No detector the reference reports on was measured on one of its datasets.", ""]
    else:
        text += ["## Measured − reported F1", "", markdown_table(gaps), ""]
    return text


def robustness_markdown(robustness: Robustness) -> str:
    """The robustness tables as one Markdown document, with the protocol lines and every gap named."""
    grid = robustness.grid
    text = [f"# Robustness: {grid.title} (`{grid.name}`)", "", grid.source, ""]
    summary = interval_text(robustness.summary())
    text += ["## Weighted-average F1 per point", "", markdown_table(summary), ""]
    for family in grid.families:
        text += [
            f"## {family.name}: F1 per dataset ({family.axis})",
            "",
            grouped_markdown_table(robustness.table2(family)),
            "",
        ]
    clean = robustness.boards[CLEAN]
    text += [f"- {line}" for line in protocol_lines(clean) if not line.startswith("Perturbation:")]
    incomplete = robustness.incomplete()
    if incomplete:
        text.append("- Incomplete or not run: " + "; ".join(incomplete) + ".")
    configurations = {
        label: text for board in robustness.boards.values() for label, text in board.configurations().items()
    }
    text += configuration_section(configurations)
    return "\n".join(text) + "\n"


def write_robustness(robustness: Robustness, out_dir: Path) -> list[Path]:
    """``robustness-<grid>.md`` (all tables) and ``robustness-<grid>.csv`` (one row per detector × dataset × point)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"robustness-{robustness.grid.name}"
    paths = [stem.with_suffix(".md"), stem.with_suffix(".csv")]
    paths[0].write_text(robustness_markdown(robustness), encoding="utf-8")
    robustness.long().to_csv(paths[1], index=False)
    return paths


def comparison_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: the table, the verdicts, and how they were computed."""
    lines = [
        f"# {comparison.a} vs {comparison.b} ({'F1' if comparison.metric == 'f1' else 'IoU'}, paired)",
        "",
        markdown_table(_p_text(interval_text(comparison.frame()))),
        "",
        *(f"- {line}" for line in comparison.verdicts()),
        *(f"- {dataset}: {why}." for dataset, why in comparison.unpaired.items()),
        f"- {describe_comparison(comparison.settings, comparison.protocol)}",
    ]
    return "\n".join(lines) + "\n"


def _p_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: [p_text(p) for p in frame[c]] for c in ("p", "p (Holm)")})


def p_text(p_value: float) -> str:
    return "< 0.001" if p_value < 0.001 else f"{p_value:.3f}"


def describe_comparison(settings: Settings, protocol: str | None = None) -> str:
    scored = f"under protocol {protocol} (re-scored from the stored maps)" if protocol else "at the fixed threshold 0.5"
    return (
        f"Difference = mean over the images both scored of (A − B), {scored}; interval: "
        f"{settings.describe()} (paired, stratified by dataset for the {AVERAGE}); p: two-sided sign-flip "
        f"permutation test, Holm-adjusted over the datasets; significant where the adjusted p < {settings.alpha:g} "
        f"(the {AVERAGE} row is one test, not adjusted; intervals are not adjusted)."
    )


def write_comparison(comparison: Comparison, out_dir: Path) -> list[Path]:
    """``compare-<A>-vs-<B>.md`` and ``.csv`` (names made safe for file systems)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    under = f"-{comparison.protocol}" if comparison.protocol else ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"compare-{comparison.a}-vs-{comparison.b}-{comparison.metric}{under}")
    paths = [out_dir / f"{stem}.md", out_dir / f"{stem}.csv"]
    paths[0].write_text(comparison_markdown(comparison), encoding="utf-8")
    comparison.frame().to_csv(paths[1], index=False)
    return paths
