"""Every report of a real `workbench report` run, and both index pages, opened in headless Chromium.

The demo stack is built with hostile values: a category value and a Prometheus `job` label value
that are HTML/script. The pages are opened offline (every non-file request aborted) and must make no
external request, log no console error, raise no page error and open no dialog; the verdict banner
must sit inside the first 900 px; the hostile values must be shown as text; tables must not show a
raw 0..n index, scientific notation or NaN.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench import browser

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "</script><script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE = (SCRIPT, IMG)


@pytest.fixture(scope="module")
def hostile_week(tmp_path_factory):
    """A demo stack whose prediction DB carries hostile `contract` values in the window and whose
    Prometheus has an `up` series with a hostile job label; then `workbench report` over it."""
    import pytest as _pt

    from workbench.demo import data, metrics, prometheus, stack

    if not Path(browser.CHROMIUM).exists():
        pytest.fail(f"no Chromium at {browser.CHROMIUM}: run `bash scripts/ensure-chromium.sh` (make test does)")
    root = tmp_path_factory.mktemp("hostile-demo")
    mp = _pt.MonkeyPatch()
    real_generate, real_backfill = data.generate, prometheus.backfill
    seen = {}

    def generate(*args, **kwargs):
        h = real_generate(*args, **kwargs)
        p = h.predictions
        rng = np.random.default_rng(5)
        window = (p["model_name"] == data.CHURN) & (p["timestamp"] >= h.end - np.timedelta64(8, "D"))
        idx = p.index[window.to_numpy()]
        pick = rng.choice(idx, size=min(400, len(idx)), replace=False)
        p.loc[pick[: len(pick) // 2], "contract"] = SCRIPT
        p.loc[pick[len(pick) // 2:], "contract"] = IMG
        seen["minutes"] = h.minutes
        return h

    def backfill(files, tsdb_dir):
        # one more series: `up` of a job whose label value is markup, scraped every minute like the others
        extra = Path(files[0]).with_name("hostile.om")
        stamps = seen["minutes"].asi8 // 10**9 + metrics.SCRAPE_SECONDS - 1
        extra.write_text("# HELP up Hostile fixture.\n# TYPE up gauge\n"
                         + "".join(f'up{{job="{IMG}",instance="x:1"}} 1 {t}\n' for t in stamps) + "# EOF\n")
        return real_backfill(list(files) + [extra], tsdb_dir)

    mp.setattr(data, "generate", generate)
    mp.setattr(prometheus, "backfill", backfill)
    try:
        stack.up(root, weekly_volume=20_000, port=0)
    finally:
        mp.undo()
    out = tmp_path_factory.mktemp("hostile-reports")
    env = {**os.environ, "WORKBENCH_DEMO_DIR": str(root), "PYTHONPATH": str(ROOT / "src")}
    for k in ("WORKBENCH_PROMETHEUS_URL", "WORKBENCH_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        env.pop(k, None)
    try:
        proc = subprocess.run([sys.executable, "-m", "workbench.cli", "report", "--params",
                               str(ROOT / "params" / "weekly.yaml"), "--out", str(out), "--jobs", "2"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        weeks = [d for d in out.iterdir() if d.is_dir() and re.fullmatch(r"\d{4}-W\d{2}", d.name)]
        assert len(weeks) == 1, (proc.returncode, proc.stderr[-3000:])
        yield weeks[0], proc
    finally:
        stack.down(root)


@pytest.fixture(scope="module")
def visits(hostile_week):
    """Every page opened once: (path, visit, banner top/bottom, page text, tables' text)."""
    week, _ = hostile_week
    pages = browser.pages_of_week(week)
    results = {}
    with browser.chromium() as b:
        for p in pages:
            with browser.open_page(b, p) as (page, visit):
                box = page.locator(".wb-verdict").first.bounding_box() if page.locator(".wb-verdict").count() else None
                tables = page.eval_on_selector_all("table", "ts => ts.map(t => ({head: Array.from(t.querySelectorAll('thead th')).map(h => h.innerText.trim()), "
                                                   "rows: Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.children).map(c => c.innerText.trim()))}))")
                results[p] = {"visit": visit, "box": box, "text": page.inner_text("body"), "tables": tables,
                              "scripts": page.eval_on_selector_all("script", "s => s.map(x => x.textContent)")}
    return results


def _reports(visits):
    return {p: v for p, v in visits.items() if p.name != "index.html"}


def test_the_run_published_every_review(hostile_week, visits):
    week, proc = hostile_week
    reports = _reports(visits)
    names = {p.name.replace(".incomplete", "") for p in reports}
    assert {"01-drift-review.html", "02-performance-review.html", "03-infrastructure-review.html"} <= names, \
        proc.stderr[-2000:]
    assert (week / "index.html") in visits and (week.parent / "index.html") in visits


def test_no_external_request_console_error_page_error_or_dialog(visits):
    bad = {str(p): v["visit"].problems for p, v in visits.items() if v["visit"].problems}
    assert not bad


def test_verdict_banner_is_on_the_first_screen(visits):
    for p, v in _reports(visits).items():
        assert v["box"] is not None, f"{p}: no verdict banner"
        assert v["box"]["y"] >= 0 and v["box"]["y"] + v["box"]["height"] <= 900, f"{p}: banner at {v['box']}"


def test_hostile_values_are_shown_as_text(visits):
    drift = [v for p, v in visits.items() if p.name.startswith("01-drift-review") and p.parent.name == "churn-predictor"]
    infra = [v for p, v in visits.items() if p.name.startswith("03-infrastructure-review")]
    assert drift and infra
    for v in drift:
        assert SCRIPT in v["text"] and IMG in v["text"], "the hostile category is not shown as text in the drift review"
    for v in infra:
        assert IMG in v["text"], "the hostile Prometheus label is not shown as text in the infrastructure review"
    for p, v in visits.items():
        assert not any("alert(1)" in (s or "") for s in v["scripts"]), f"{p}: hostile value inside a <script>"


def test_tables_have_no_raw_index_scientific_notation_or_nan(visits):
    sci = re.compile(r"(?<![\w.])-?\d+(\.\d+)?e[+-]?\d+(?![\w])", re.I)
    for p, v in _reports(visits).items():
        for t in v["tables"]:
            head, rows = t["head"], t["rows"]
            if not rows:
                continue
            first = [r[0] for r in rows if r]
            # a raw index: an unnamed first column counting 0..n (a named "class" column of 0/1 is data)
            unnamed = not head or head[0] in ("", "index")
            assert not (unnamed and first == [str(i) for i in range(len(first))] and len(first) > 1), \
                f"{p}: a table with a raw 0..n index column: {head}"
            for r in rows:
                for cell in r:
                    assert not sci.search(cell), f"{p}: scientific notation {cell!r} in table {head}"
                    assert cell not in ("NaN", "nan", "NaT", "None"), f"{p}: {cell!r} in table {head}"
            assert head != [str(i) for i in range(len(head))], f"{p}: table headed 0..n"


def test_reports_link_the_week_page_and_their_siblings(visits):
    for p, v in _reports(visits).items():
        assert "week page" in v["text"], f"{p}: no link to the week page"
