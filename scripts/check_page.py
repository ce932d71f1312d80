"""Open a report page in headless Chromium, fail on any console error, failed request or broken image,
and save a screenshot.

    python scripts/check_page.py REPORT/index.html SHOT.png [--full-page] [--chromium /usr/bin/chromium]

Needs Playwright (``pip install -e ".[dev]"``) and a Chromium binary (Debian: ``apt-get install chromium``);
no browser download is made. Prints what it measured; exits 1 when the page has problems.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

# Without these, Chromium keeps trying to reach Google's services from an offline machine.
QUIET_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-quic", "--no-first-run"]  # fmt: skip
BROKEN_IMAGES = "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"


def find_chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
                None)  # fmt: skip


def check(page_path: Path, screenshot: Path, chromium: str, full_page: bool = False) -> list[str]:
    """Problems found while loading ``page_path`` with every lazy image scrolled into view."""
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=QUIET_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
        started = time.perf_counter()
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        print(f"loaded in {time.perf_counter() - started:.2f} s")
        for image in page.locator("img").all():  # lazy images load once scrolled to
            image.scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        problems += [f"broken image: {src}" for src in page.evaluate(BROKEN_IMAGES)]
        height = page.evaluate("document.body.scrollHeight")
        print(f"{page.evaluate('document.images.length')} images, {height} px tall")
        page.evaluate("window.scrollTo(0, 0); document.querySelectorAll('.scroll').forEach(e => e.scrollLeft = 0)")
        page.screenshot(path=str(screenshot), full_page=full_page)
        browser.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("screenshot", type=Path)
    parser.add_argument("--full-page", action="store_true")
    parser.add_argument("--chromium", default=find_chromium())
    args = parser.parse_args()
    if not args.chromium:
        print("no Chromium found; install it (Debian: apt-get install chromium) or pass --chromium", file=sys.stderr)
        return 2
    problems = check(args.page, args.screenshot, args.chromium, args.full_page)
    for problem in problems:
        print(problem)
    print(f"screenshot: {args.screenshot}; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
