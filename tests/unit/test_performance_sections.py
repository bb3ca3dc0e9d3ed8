"""performance.sections: notebook 02's skip logic as data. Which steps run, which are left out with a
line saying why (in order), and that every section shows without a server."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from workbench import config, context
from workbench.performance import core, sections

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[2]
T0 = pd.Timestamp("2026-11-16", tz="UTC")


def _review(ctx) -> core.PerformanceReview:
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 2, n).astype(float)
    prob = np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)
    df = pd.DataFrame({"model_version": "1.3.0", "timestamp": T0 + pd.to_timedelta(rng.uniform(0, 7 * 86400, n), "s"),
                       "prediction": (prob > 0.5).astype(float), "probability": prob, "actual_outcome": y,
                       "variant": np.where(rng.uniform(size=n) < 0.5, "A", "B")})
    spec = ctx.model
    summary = core.evaluate(df, spec, 10)
    return core.PerformanceReview(summary, core.by_version(df, spec), core.against_baseline(summary, {}, 0.75, 0.05),
                                  core.trend(df, spec), df, df.iloc[:0], ["1.3.0"], accuracy_alert_below=0.75,
                                  window_start=T0)


def _ctx(model: str, monkeypatch, **performance):
    conns = config.Connections(None, None, None, demo=False)  # no Prometheus, no MLflow, no database
    ctx = context.open_review(model, "2026-W47", "env", ROOT / "params", connections=conns)
    ctx.defer_problems = True
    ctx.params.performance = ctx.params.performance.model_copy(update=performance)
    monkeypatch.setattr(core, "review", _review)
    return ctx


def test_a_classifier_without_prometheus_or_mlflow_leaves_out_what_needs_them_in_order(monkeypatch):
    ctx = _ctx("churn-predictor", monkeypatch)
    review = sections.compute(ctx)
    assert review.perf is not None
    assert [s["section"] for s in ctx.skipped] == ["A/B conversions", "predictions by class", "feature importance",
                                                   "MLflow logging", "serving latency"]
    assert all("not configured" in s["reason"] for s in ctx.skipped)
    assert "reference data" not in review.results  # an input of the labels section: left out without a line
    ab = review["A/B comparison"].to_frame().set_index("metric")
    b = review.perf.window_predictions.query("variant == 'B'")
    assert ab.loc["accuracy", "value_B"] == pytest.approx(skm.accuracy_score(b["actual_outcome"], b["prediction"]))
    curve, ece = review["calibration"]
    assert len(curve) and 0 <= ece <= 1
    assert [f for f in ctx.findings if f.kind == "ab_test"]  # the A/B decision reached the verdict


def test_mlflow_logging_switched_off_by_its_param_says_nothing(monkeypatch):
    ctx = _ctx("churn-predictor", monkeypatch, log_to_mlflow=False)
    sections.compute(ctx)
    assert "MLflow logging" not in [s["section"] for s in ctx.skipped]


def test_a_regression_model_runs_no_classifier_step(monkeypatch):
    ctx = _ctx("revenue-predictor", monkeypatch)
    monkeypatch.setattr(core, "review", lambda ctx: None)  # the review itself not computed
    review = sections.compute(ctx)
    assert review.perf is None and review.results.keys() <= {"feature importance", "serving latency"}
    assert [s["section"] for s in ctx.skipped] == ["feature importance", "serving latency"]


def test_every_section_shows_and_an_unknown_one_lists_the_choices(monkeypatch, capsys):
    ctx = _ctx("churn-predictor", monkeypatch)
    review = sections.compute(ctx)
    for name in sections.SHOW:
        review.show(name)
    matplotlib.pyplot.close("all")
    with pytest.raises(ValueError, match="unknown performance section 'weak'; choose one of: headline, labels"):
        review.show("weak")


def test_the_notebook_shows_every_section_once_in_page_order():
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "02-performance-review.ipynb", as_version=4)
    shown = [c.source.split('"')[1] for c in nb.cells if c.cell_type == "code" and c.source.startswith("review.show(")]
    assert shown == list(sections.SHOW)


def test_the_shown_tables_name_metrics_as_people_do(monkeypatch):
    """The A/B test's and the per-class tables' metric column read 'roc_auc', 'precision_1', 'f1_0' (keys,
    decoded by a '_1: the positive class' footnote): every metric cell shown now reads as the findings say it."""
    import re

    ctx = _ctx("churn-predictor", monkeypatch)
    review = sections.compute(ctx)
    shown: list = []
    monkeypatch.setattr(sections, "_display", lambda *objs: shown.extend(objs))
    for name in ("headline", "versions", "errors", "about"):
        review.show(name)
    matplotlib.pyplot.close("all")
    html = "".join(o.to_html() if hasattr(o, "to_html") else getattr(o, "data", "") or "" for o in shown)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert "ROC AUC" in cells and "precision (class 1)" in cells and "recall (class 0)" in cells
    assert not [c for c in cells if re.fullmatch(r"[a-z0-9]+_[a-z0-9_]+", c.strip())]
    assert "_1:" not in html
    assert "Metrics: accuracy, precision, recall, F1, ROC AUC" in html  # the About section's list too


def test_a_metric_without_a_baseline_says_why_its_dash(monkeypatch):
    """The demo's MAPE row read '—' in training baseline, change and relative change, with no reason."""
    ctx = _ctx("churn-predictor", monkeypatch)
    review = sections.compute(ctx)
    review.perf.baseline = core.against_baseline(review.perf.summary, {"accuracy": 0.8}, 0.75, 0.05)
    shown: list = []
    monkeypatch.setattr(sections, "_display", lambda *objs: shown.extend(objs))
    review.show("headline")
    html = "".join(o.to_html() for o in shown if hasattr(o, "to_html"))
    assert "—*" in html and f"* —: {sections.NO_BASELINE}" in html
