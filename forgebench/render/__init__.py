"""Writing what the analysis found: Markdown and CSV tables, the HTML report, plots and galleries."""
