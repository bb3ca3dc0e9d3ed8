"""The week page's performance cell says which drifted feature, if any, carries the drop, from the two
stored results of a model only (status.json: the drift review's findings, the weak-segment headline)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from workbench import weekpage
from workbench.config import SegmentParams
from workbench.performance import drift_join as dj
from workbench.performance import segments as sg

HOSTILE = "<script>alert(1)</script>"
BY_VALUE = [  # [feature, value, rows, rows_reference, metric, reference]: two bins got worse, no shift
    ["contract", "Month-to-month", 600, 600, 0.85, 0.85], ["contract", "One year", 200, 200, 0.52, 0.86],
    ["contract", "Two year", 200, 200, 0.55, 0.87],
    ["tenure", "[0, 12)", 500, 500, 0.70, 0.85], ["tenure", "[12, 72]", 500, 500, 0.748, 0.862],
    [HOSTILE, "a", 1000, 1000, 0.724, 0.856]]


def _r(model, notebook, findings, headline=None, status="ok"):
    return {"notebook": notebook, "model": model, "status": status, "level": "warning", "findings": findings,
            "headline": headline or {}, "problems": [], "html": f"{model}/{notebook}.html", "ipynb": "",
            "seconds": 1.0, "findings_file": ""}


def _drifted(feature, effect):
    return {"severity": "warning", "subject": feature, "sentence": f"{feature} drifted: psi {effect}.", "kind": "feature",
            "anchor": f"feature-{feature}", "value": effect, "extra": {}}


def _perf(overall=0.724, reference=0.856, top="contract = One year / Two year", features=("contract",)):
    return {"metric": "accuracy", "accuracy": overall, "weak_segments": 1, "weak_segments_metric": "accuracy",
            "weak_segments_overall": overall, "weak_segments_overall_reference": reference, "by_value": BY_VALUE,
            "weak_segment": top, "weak_segment_features": list(features), "weak_segment_share_of_drop": 0.71}


def _status(drifted_churn, drifted_revenue, revenue_perf):
    return {"schema": 2, "period": "2026-W47", "generated": "2026-11-23 06:00 UTC", "incidents": [], "results": [
        _r("churn-predictor", "01-drift-review", [_drifted(f, e) for f, e in drifted_churn]),
        _r("churn-predictor", "02-performance-review", [], _perf()),
        _r("revenue-predictor", "01-drift-review", [_drifted(f, e) for f, e in drifted_revenue]),
        _r("revenue-predictor", "02-performance-review", [], revenue_perf)]}


def _page(tmp_path: Path, status: dict) -> str:
    (tmp_path / "2026-W47").mkdir(parents=True)
    (tmp_path / "2026-W47" / "status.json").write_text(json.dumps(status))
    return weekpage.write_week(tmp_path, "2026-W47").read_text()


def _cells(page: str) -> dict[str, str]:
    """The matrix's performance cell per model, as text."""
    rows = re.findall(r"<tr><th class=\"row\">(.*?)<br>.*?</th>(.*?)</tr>", page, re.S)
    text = lambda h: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", h)).strip()  # noqa: E731
    return {name: text(re.findall(r"<td.*?</td>", cells, re.S)[-1]) for name, cells in rows}


def test_the_cell_names_the_drifted_feature_that_carries_the_drop_or_says_concept_drift(tmp_path):
    # churn: contract drifted and the drop sits in contract; revenue: only tenure drifted (its shift explains
    # nothing: same shares), the drop sits in contract, which did not drift
    page = _page(tmp_path, _status([("contract", 0.14), (HOSTILE, 0.2)], [("tenure", 0.11)],
                                   _perf(overall=0.724, reference=0.856)))
    cells = _cells(page)
    churn, revenue = cells["churn-predictor"], cells["revenue-predictor"]
    assert churn.startswith("● WARNING Why: drifted feature contract carries the drop: it sits in contract = "
                            "One year / Two year (71% of the drop); inside that segment the model got worse"), churn
    assert "the shift of contract itself explains 0% nothing found" in churn  # then the cell's findings
    assert revenue.startswith("● WARNING Why: the drop is not explained by any drifted feature (concept drift); "
                              "it sits in contract = One year / Two year (71% of the drop)"), revenue
    assert 'href="churn-predictor/02-performance-review.html#weak-segments">Why: drifted feature contract' in page
    assert HOSTILE not in page and "<script" not in page


def test_no_verdict_without_a_drop_or_without_a_drift_result(tmp_path):
    status = _status([("contract", 0.14)], [("contract", 0.14)], _perf(overall=0.86, reference=0.856))
    del status["results"][0]  # churn: no drift result this week
    cells = _cells(_page(tmp_path, status))
    assert "Why:" not in cells["churn-predictor"] and "Why:" not in cells["revenue-predictor"]
    assert weekpage.why_line(status["results"][1], status["results"][2]) is None  # revenue: accuracy rose


def test_the_stored_headline_gives_the_verdict_the_search_itself_gives():
    """status.json round trip: the weak-segment headline, through JSON, joined with the drift findings,
    gives the same verdict and table as joining the WeakSegments object in the kernel."""
    rng = np.random.default_rng(3)
    import pandas as pd

    def frame(n, hard):
        df = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
                           "age": rng.normal(40, 10, n)})
        y = rng.integers(0, 2, n).astype(float)
        df["actual_outcome"] = y
        df["prediction"] = np.where(rng.random(n) < np.where(df["plan"] == "pro", hard, 0.1), 1 - y, y)
        return df

    ref, cur = frame(20_000, 0.1), frame(20_000, 0.45)  # concept drift inside plan = pro
    kinds = sg.feature_kinds(ref, ["plan", "age"], 5, 10)
    res = sg.search(sg.cells_from_frames(cur, ref, kinds, "classification"), "classification", SegmentParams(),
                    resamples=100)
    assert res.segments and res.segments[0].features == ("plan",)
    for drifted in ({"plan": 0.05, "age": 0.2}, {"age": 0.2}):
        findings = [_drifted(f, e) for f, e in drifted.items()]
        stored = json.loads(json.dumps(res.headline))
        got = dj.from_status(_r("m", "01-drift-review", findings), _r("m", "02-performance-review", [], stored))
        want = dj.join(res, drifted)
        assert got.verdict == want.verdict and got.carrier == want.carrier
        pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), atol=1e-5)
    assert want.verdict.startswith("the drop is not explained by any drifted feature (concept drift); it sits in plan")


def test_the_performance_reports_banner_says_the_week_pages_why_and_links_to_the_evidence():
    """Issue 20's leftover: the performance report's first screen carries the same "why" line as the
    week page's cell (one wording: drift_join.why_line), linking to the weak-segment section, and not a
    second time in the banner's list of findings."""
    from workbench import display, pages
    from workbench.findings import Finding

    status = _status([("contract", 0.14)], [("tenure", 0.11)], _perf())
    drift, perf = status["results"][0], status["results"][1]
    joined = dj.from_status(drift, perf)  # what the kernel's join gives (the test above: the same verdict)
    week_line = weekpage.why_line(drift, perf)
    alert = Finding("alert", "accuracy", "accuracy 0.724 is below 0.75.", kind="metric", anchor="headline")
    banner = display.report_banner("performance", "churn-predictor", "2026-W47", "alert", [alert, *joined.findings],
                                   [], [], "classification")
    assert banner.why is not None and banner.why.text == week_line.text == joined.why
    assert banner.why.text.startswith("Why: drifted feature contract carries the drop: it sits in contract = ")
    assert banner.why.anchor == "weak-segments" and week_line.href.endswith("#weak-segments")
    assert [i.text for i in banner.items] == ["accuracy 0.724 is below 0.75."]  # the why is not listed twice
    html = pages.render_banner(banner)
    assert re.search(r'class="wb-why"[^>]*>Why: drifted feature contract carries the drop.*?'
                     r'<a href="#weak-segments"[^>]*>→ evidence</a>', html, re.S), html
    assert banner.counts == "1 alert, 0 warnings"  # an info line: not counted


def test_no_why_line_in_the_banner_without_a_drop():
    from workbench import display

    import pandas as pd

    joined = dj.DriftPerformance("classification", pd.DataFrame(columns=dj.COLUMNS),
                                 "no drop: accuracy 0.86 against 0.856 in the reference window", None, -0.004)
    assert joined.why == "" and joined.findings[0].extra["why"] is False
    banner = display.report_banner("performance", "churn-predictor", "2026-W47", "ok", joined.findings, [], [])
    assert banner.why is None and [i.text for i in banner.items] == [joined.verdict]
