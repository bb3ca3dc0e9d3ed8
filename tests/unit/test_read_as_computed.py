"""Issue 19, "trust what you read": a table cell and a finding's sentence say the same number the
same way, and every number column of a review's tables has a declared kind (no name guessing)."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from workbench import config, tables
from workbench.drift import core as drift
from workbench.config import ModelSpec
from workbench.drift.columns import KINDS as DRIFT_KINDS
from workbench.findings import num, pp
from workbench.performance import core as performance, explain, labels
from workbench.performance.columns import AB_KINDS, KINDS as PERF_KINDS
from workbench.performance import abtest


def _cells(styler) -> list[dict[str, str]]:
    """The rendered table as rows of header -> cell text."""
    out = styler.to_html()
    heads = re.findall(r"<th [^>]*class=\"col_heading[^\"]*\"[^>]*>([^<]*)</th>", out)
    rows = re.findall(r"<tr>\s*(<td.*?)</tr>", out, flags=re.S)
    return [dict(zip(heads, re.findall(r"<td[^>]*>([^<]*)</td>", r))) for r in rows]


def _undeclared(frame: pd.DataFrame, kinds: dict[str, str]) -> list[str]:
    shown = tables.tidy(frame)
    return [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and c not in kinds]


@pytest.fixture
def report():
    rng = np.random.default_rng(5)
    ref = pd.Series(rng.normal(0, 1, 5000))
    cats = pd.Series(rng.choice(list("abc"), 5000, p=[0.5, 0.3, 0.2]))
    results = [drift.feature_drift("tenure", ref, pd.Series(rng.normal(0.4, 1, 5000)), "ks"),
               drift.feature_drift("plan", cats, pd.Series(rng.choice(list("abc"), 5000, p=[0.3, 0.3, 0.4])), "chi2"),
               drift.feature_drift("age", ref, pd.Series(rng.normal(0, 1, 5000)), "ks")]
    return drift.DriftReport("m", results, 0.5)


def test_drift_table_shows_min_effect_and_effect_as_the_finding_says_them(report):
    """min_effect read '0' (formatted as a count: its name contains 'n_') where the finding said 0.05."""
    rows = _cells(tables.table(report.ranked(), kinds=DRIFT_KINDS))
    assert len(rows) == 2
    sentences = {f.subject: f.sentence for f in report.findings if f.kind == "feature"}
    for row in rows:
        r = next(x for x in report.results if x.feature == row["feature"])
        assert row["min effect"] == num(r.min_effect) == "0.05"
        assert f"≥ min_effect {row['min effect']}" in sentences[r.feature]
        assert row["effect size"] == num(r.effect_size) and f"effect size {row['effect size']}" in sentences[r.feature]
        assert row["p-value"] == "&lt; 0.001" and "p < 0.001" in sentences[r.feature]


def test_every_number_column_of_the_drift_tables_is_declared(report):
    for frame in (report.summary(), report.to_frame(), report.ranked(), report.quality()):
        assert _undeclared(frame, DRIFT_KINDS) == []
    assert all(k in tables.KINDS for k in DRIFT_KINDS.values())


def _clf(rng, n=2000, rate=0.3):
    y = (rng.random(n) < rate).astype(float)
    p = np.clip(y * 0.5 + rng.normal(0.25, 0.2, n), 0, 1)
    ts = pd.Timestamp("2026-11-16", tz="UTC") + pd.to_timedelta(rng.uniform(0, 7 * 86400, n), unit="s")
    return pd.DataFrame({"timestamp": ts, "outcome_timestamp": ts + pd.Timedelta(hours=30), "actual_outcome": y,
                         "prediction": (p >= 0.5).astype(float), "probability": p, "model_version": "1",
                         "variant": np.where(rng.random(n) < 0.5, "A", "B")})


def test_every_number_column_of_the_performance_tables_is_declared():
    rng = np.random.default_rng(8)
    df = _clf(rng)
    spec = ModelSpec(name="m", type="classification")
    s = performance.evaluate(df, spec, 10)
    frames = [performance.against_baseline(s, {"accuracy": 0.8, "f1": 0.7}, 0.75, 0.05), s.to_frame(False),
              explain.positive_class(s), explain.base_rate(df, df.rename(columns={"actual_outcome": "target"}), df),
              labels.delay_summary(df), labels.maturity(df, pd.Timestamp("2026-11-30", tz="UTC"), 10),
              explain.variants(df), performance.by_version(df, spec), performance.trend(df, spec)]
    for frame in frames:
        assert _undeclared(frame, PERF_KINDS) == [], frame.columns
    assert _undeclared(abtest.compare_variants(df, resamples=50).to_frame(), AB_KINDS) == []


def test_base_rate_change_reads_in_points_in_the_table_and_the_findings():
    """The table said 50.0% / 40.0% where the finding said +0.5 / +0.4 points."""
    reference = pd.DataFrame({"target": np.r_[np.ones(400), np.zeros(600)]})          # 40.0%
    history = pd.DataFrame({"actual_outcome": np.r_[np.ones(4000), np.zeros(6000)]})  # 40.0%
    window = pd.DataFrame({"actual_outcome": np.r_[np.ones(405), np.zeros(595)]})     # 40.5%
    rates = explain.base_rate(window, reference, history)
    rows = {r["data"]: r for r in _cells(tables.table(rates, kinds=PERF_KINDS))}
    assert rows["this window"]["base rate"] == "40.5%" and rows["reference (training)"]["base rate"] == "40.0%"
    assert rows["this window"]["base rate change"] == pp(0.405 - 0.4) == "+0.5 pp"
    assert "+0.5 pp" in explain.base_rate_sentence(rates)
    (f,) = performance.base_rate_findings(window, history)
    assert "+0.5 pp" in f.sentence


def _regression_review(rng):
    """A regression week whose MAPE (and only MAPE) is worse than its baseline, with four weeks before it."""
    n = 3000
    ts = pd.Timestamp("2026-10-19", tz="UTC") + pd.to_timedelta(rng.uniform(0, 35 * 86400, n), unit="s")
    y = rng.uniform(50, 150, n)
    df = pd.DataFrame({"timestamp": ts, "actual_outcome": y, "prediction": y + rng.normal(0, 5, n), "model_version": "1"})
    spec = ModelSpec(name="rev", type="regression")
    start = pd.Timestamp("2026-11-16", tz="UTC")
    win = df[df["timestamp"] >= start]
    s = performance.evaluate(win, spec, 10)
    base = {k: s.metrics[k] for k in ("mae", "rmse", "r2")} | {"mape": s.metrics["mape"] / 2}
    baseline = performance.against_baseline(s, base, None, 0.05)
    return performance.PerformanceReview(s, performance.by_version(win, spec), baseline,
                                         performance.trend(df, spec), win, df[df["timestamp"] < start],
                                         relative_drop_tolerance=0.05, window_start=start)


def test_every_metric_that_can_warn_is_in_the_trend_plot_and_the_history(monkeypatch):
    """MAPE warned but the trend plot drew MAE, RMSE and R² only, and the stored history had no MAPE."""
    import matplotlib

    matplotlib.use("Agg")
    from workbench.performance import plots

    rng = np.random.default_rng(11)
    perf = _regression_review(rng)
    warned = {f.subject for f in perf.findings if f.severity in ("warning", "alert")} | {
        k for f in perf.findings if f.subject == "other metrics" for k in f.extra}
    assert "mape" in warned and "mape" in performance.warning_metrics("regression")
    assert set(warned) - {"other metrics"} <= set(performance.warning_metrics("regression"))
    fig = plots.metric_trend(perf.trend, performance.warning_metrics("regression"))
    drawn = {ax.get_title() for ax in fig.axes if ax.get_visible()}
    assert drawn == {tables.metric_name(m) for m in performance.warning_metrics("regression")}  # titled by name
    head = perf.headline
    window = perf.window_predictions
    for m in performance.warning_metrics("regression"):
        assert head[m] == perf.summary.metrics[m]
        assert len(head["series"][m]) == window["timestamp"].dt.floor("D").nunique() == 7
    day = window[window["timestamp"].dt.floor("D") == window["timestamp"].min().floor("D")]
    expected = skm.mean_absolute_percentage_error(day["actual_outcome"], day["prediction"])
    assert head["series"]["mape"][f"{day['timestamp'].min():%Y-%m-%d}"] == pytest.approx(expected, abs=1e-4)
    from types import SimpleNamespace

    from workbench import results_log

    monkeypatch.setenv(results_log.BY_RUNNER_ENV, "1")  # the MLflow history: the run's metrics, handed to the runner
    ctx = SimpleNamespace(model=SimpleNamespace(name="rev"), window=config.iso_week("2026-W47"), outputs={})
    performance.log_results(ctx, perf)
    logged = ctx.outputs["mlflow_log"]["metrics"]
    assert all(logged[m] == pytest.approx(perf.summary.metrics[m]) for m in performance.warning_metrics("regression"))
    cls = performance.warning_metrics("classification")
    fig = plots.metric_trend(performance.trend(_clf(rng), ModelSpec(name="m", type="classification")), cls)
    assert {ax.get_title() for ax in fig.axes if ax.get_visible()} == {tables.metric_name(m) for m in cls}


@pytest.mark.parametrize("label, name", [("employed", "employed (class 1)"), (None, "class 1")])
def test_the_positive_class_is_described_by_its_configured_value_and_label(label, name):
    """A census employment model's positive class was described as "churn" (definitions, plot axis)."""
    import matplotlib

    matplotlib.use("Agg")
    from workbench.performance import plots

    spec = ModelSpec(name="census", type="classification", positive_class=1, positive_label=label)
    assert explain.positive_name(spec) == name
    text = explain.definitions_html("classification", explain.positive_name(spec)).data
    assert f"for the positive class only, {name}: precision" in text and "churn" not in text.lower()
    rng = np.random.default_rng(4)
    s = performance.evaluate(_clf(rng), spec, 10)
    assert f"positive class: {name}" in set(explain.positive_class(s, explain.positive_name(spec))["average"])
    curve, ece = performance.calibration(_clf(rng))
    fig = plots.reliability(curve, ece, positive=explain.positive_name(spec))
    assert fig.axes[0].get_ylabel() == f"observed rate of {name}"


def test_no_domain_word_describes_a_class_in_the_performance_code():
    from pathlib import Path

    import workbench.performance as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        assert not re.search(r"churn|customer", path.read_text(), flags=re.I), path.name
