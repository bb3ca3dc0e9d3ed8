"""Borderline drift: a feature whose effect sits within 10% of its min_effect is called borderline in
the drift report and on the week page, and hovering at the floor does not flap new / resolved."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import config, weekpage
from workbench.drift import core as drift, history


def _samples():
    rng = np.random.default_rng(7)
    n = 4000
    ref = pd.Series(stats.norm.ppf((np.arange(n) + 0.5) / n))
    cur = pd.Series(rng.permutation(stats.norm.ppf((np.arange(n) + 0.31) / n) + 0.12))
    return ref, cur, stats.ks_2samp(ref, cur)


@pytest.mark.parametrize("factor, drifted, is_borderline", [
    (1.05, False, True),   # just above the effect: significant, effect 5% below the floor
    (0.95, True, True),    # just below the effect: drift, but only just
    (0.80, True, False),   # the effect is 25% over the floor: a clear drift
    (1.30, False, False),  # the effect is far below the floor: clearly no drift
])
def test_effect_within_ten_percent_of_min_effect_is_borderline(factor, drifted, is_borderline):
    ref, cur, want = _samples()
    assert want.pvalue < 0.05
    floor = want.statistic * factor
    r = drift.feature_drift("x", ref, cur, method="ks", min_effect=floor)
    assert r.effect_size == pytest.approx(want.statistic)
    assert r.drifted is drifted and r.borderline is is_borderline
    frame = drift.DriftReport("m", [r]).to_frame()
    if drifted:  # the drifted-features table says it too
        assert drift.DriftReport("m", [r]).ranked().loc[0, "borderline"] == frame.loc[0, "borderline"]
    assert frame.loc[0, "borderline"] == ("yes" if is_borderline else "")
    assert ("borderline" in frame.loc[0, "note"]) is is_borderline
    findings = [f for f in drift.DriftReport("m", [r]).findings if f.subject == "x"]
    marked = [f for f in findings if f.extra.get("borderline")]
    assert bool(marked) is is_borderline
    if is_borderline:
        (f,) = marked
        assert f.severity == ("warning" if drifted else "info") and "orderline" in f.sentence


def test_not_significant_is_never_borderline():
    ref, _, _ = _samples()
    r = drift.feature_drift("x", ref, ref.sample(frac=0.5, random_state=1), method="ks", min_effect=0.01)
    assert r.p_value > 0.05 and not r.borderline


def test_week_over_week_calls_a_flip_at_the_floor_borderline():
    assert history.change("no drift", "drift", borderline=True) == "borderline (at min_effect)"
    assert history.change("drift", "no drift", borderline=True) == "borderline (at min_effect)"
    assert history.change("no drift", "drift") == "new drift"
    assert history.change("drift", "no drift") == "recovered"
    assert history.change("drift", "drift", borderline=True) == "still drifting"


def _status(week, severity, sentence):
    f = {"severity": severity, "subject": "tenure", "kind": "feature", "anchor": "feature-tenure", "value": 0.05,
         "sentence": sentence, "extra": {"borderline": True}}
    return {"schema": 1, "period": week, "generated": "", "results": [
        {"notebook": "01-drift-review", "model": "churn", "status": "ok", "level": "warning", "findings": [f],
         "headline": {}, "problems": [], "html": "churn/01-drift-review.html"}]}


def test_week_page_does_not_flap_a_borderline_feature(tmp_path):
    out = tmp_path / "reports"
    for week, st in (("2026-W46", _status("2026-W46", "warning", "tenure drifted: effect 0.051, borderline.")),
                     ("2026-W47", _status("2026-W47", "info", "tenure is borderline (no drift): effect 0.049."))):
        (out / week).mkdir(parents=True)
        (out / week / "status.json").write_text(json.dumps(st))
    page = weekpage.write_week(out, "2026-W47").read_text()
    section = html.unescape(page[page.index("Since last week"):page.index("<h2>Reports")])
    assert "Resolved</b><ul class='f'><li class='info'>none</li>" in section
    assert "tenure is borderline (no drift)" in section.split("Borderline</b>")[1]
    now, before = (json.loads((out / w / "status.json").read_text()) for w in ("2026-W47", "2026-W46"))
    new, resolved = weekpage.changes(before, now)  # the other way round: borderline then, drift now
    assert new == [] and resolved == []
