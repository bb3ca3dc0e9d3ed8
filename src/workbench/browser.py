"""Open published reports in headless Chromium, offline: for the browser tests and `make screenshots`.

Debian's `chromium` (installed by scripts/ensure-chromium.sh) is driven by Playwright (a dev
dependency) through `executable_path`; Playwright's own browser downloads are never used. Every
request that is not the file itself (or another local file) is aborted and recorded, and so are
console errors, page errors and dialogs: a report that tries to reach the network or runs script
from data shows up as a `problems` entry.

    python -m workbench.browser screenshots reports/2026-W47   # first screens (1400x900) as PNGs,
                                                               # then the contract (workbench.artifact)
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}


@dataclass
class PageVisit:
    """What happened while a page was open."""

    url: str
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return ([f"external request: {u}" for u in self.external_requests]
                + [f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"dialog: {m}" for m in self.dialogs])


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (Debian's binary) as a Playwright Browser; closed afterwards."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"no Chromium at {CHROMIUM}: run `bash scripts/ensure-chromium.sh` "
                                "(make test does) or set WORKBENCH_CHROMIUM")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(browser: object, path: Path) -> Iterator[tuple[object, PageVisit]]:
    """`path` opened offline in a fresh 1400x900 page; yields (page, visit) with everything recorded."""
    url = Path(path).resolve().as_uri()
    visit = PageVisit(url)
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=True)

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            visit.external_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))

    def on_dialog(d):
        visit.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_timeout(300)  # let inline scripts run (and fail) before checking
        yield page, visit
    finally:
        context.close()


def pages_of_week(week_dir: Path) -> list[Path]:
    """The week page, the root index beside it, and every published report of the week (not Evidently's)."""
    week_dir = Path(week_dir)
    found = [week_dir / "index.html", week_dir.parent / "index.html"]
    found += sorted(p for p in week_dir.glob("*/*.html") if ".evidently." not in p.name and "screenshots" not in p.parts)
    return [p for p in found if p.exists()]


def screenshots(week_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """First-screen PNGs (1400x900) of the week page and each report into `<week>/screenshots/`."""
    week_dir = Path(week_dir)
    out = Path(out_dir) if out_dir else week_dir / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with chromium() as browser:
        for p in pages_of_week(week_dir):
            name = "index.png" if p == week_dir / "index.html" else (
                "all-weeks.png" if p.parent == week_dir.parent else f"{p.parent.name}--{p.stem}.png")
            with open_page(browser, p) as (page, visit):
                target = out / name
                page.screenshot(path=str(target), full_page=False)
                written.append(target)
                for problem in visit.problems:
                    print(f"{p}: {problem}", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "screenshots":
        print("usage: python -m workbench.browser screenshots reports/<week>", file=sys.stderr)
        return 2
    week_dir = Path(args[1])
    if not (week_dir / "index.html").exists():
        print(f"{week_dir}: no week page (index.html) here: run `make weekly-report` first", file=sys.stderr)
        return 1
    for p in screenshots(week_dir):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
