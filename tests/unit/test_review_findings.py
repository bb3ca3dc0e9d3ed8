"""Each review decides its findings once, in the review code: sentences carry the numbers of the
inputs (checked here against the constructed results and against scipy/statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import infrastructure
from workbench.infrastructure import alerts, slo
from workbench.performance import abtest, cbpe, core as performance
from workbench.config import SLOParams, Window
from workbench.drift import DriftReport, FeatureDriftResult
from workbench.drift.evidently import disagreement
from workbench.findings import level_of

T0 = pd.Timestamp("2026-11-16", tz="UTC")


def _feat(name, method, stat, p, thr, drifted, effect=None, kind="numeric", **kw):
    return FeatureDriftResult(name, kind, method, thr, stat, p, drifted, "drift" if drifted else "no drift",
                              50_000, 20_000, 0.0, 0.0, effect_size=effect, **kw)


def _drift_report():
    return DriftReport("churn-predictor", [
        _feat("tenure", "ks", 0.21, 1e-12, 0.05, True, 0.21, min_effect=0.1),
        _feat("monthly_charges", "wasserstein", 0.31, None, 0.2, True, 0.31),
        _feat("paperless_billing", "chi2", 40.0, 1e-5, 0.05, False, 0.03, kind="categorical", min_effect=0.05,
              message="significant, but effect 0.03 is below min_effect 0.05"),
        _feat("contract", "chi2", 1.0, 0.6, 0.05, False, 0.01, kind="categorical", new_categories=["Four year"]),
    ], drift_share_threshold=0.5, window_rows=20_000, min_window_rows=1000)


def test_drift_findings_name_every_drifted_feature_with_method_statistic_threshold_and_effect():
    rep = _drift_report()
    rep.results[3].missing_current = 0.12
    fs = rep.findings
    dataset = fs[0]
    assert dataset.severity == "alert" and dataset.anchor == "summary"
    assert "2 of 4 features drifted (share 0.5 ≥ the dataset threshold 0.5)" in dataset.sentence
    by = {f.subject: f for f in fs if f.kind == "feature"}
    assert set(by) == {"tenure", "monthly_charges"}
    assert by["tenure"].sentence == "tenure drifted: ks p < 0.001 < threshold 0.05, effect size 0.21 (KS D) ≥ min_effect 0.1."
    assert by["tenure"].extra["n_current"] == 20_000
    assert "wasserstein 0.31 > threshold 0.2" in by["monthly_charges"].sentence
    assert by["tenure"].anchor == "feature-tenure" and by["tenure"].severity == "warning"
    quality = [f.sentence for f in fs if f.kind == "data_quality"]
    assert "contract: missing share moved from 0.0% in the reference to 12.0% (tolerance 5%): check the upstream join." \
        in quality
    assert "contract: 1 category never seen in training: 'Four year'." in quality
    assert rep.headline == {"drift_share": 0.5, "n_drifted": 2, "n_features": 4, "dataset_drift": 1,
                                    "window_rows": 20_000}


def test_no_dataset_drift_is_not_an_alert():
    rep = _drift_report()
    rep.results[1].drifted, rep.results[1].status = False, "no drift"
    fs = rep.findings
    assert fs[0].severity == "info" and "No dataset drift, but 1 of 4 features drifted (share 0.25 <" in fs[0].sentence
    assert level_of(fs) == "warning"


def test_evidently_disagreement_says_why():
    rep = _drift_report()
    table = pd.DataFrame([
        {"feature": "tenure", "evidently verdict": "drift", "agree": True},
        {"feature": "monthly_charges", "evidently verdict": "drift", "agree": True},
        {"feature": "paperless_billing", "evidently verdict": "drift", "agree": False},
        {"feature": "contract", "evidently verdict": "no drift", "agree": True}])
    rep.results[1].drifted = False  # ours: 1 of 4, Evidently: 3 of 4
    (f,) = disagreement(rep, table)
    assert f.severity == "info" and f.anchor == "evidently"
    assert f.sentence.startswith("Evidently calls the dataset drifted (3 of 4 columns, share 0.75); this review "
                                 "calls it not drifted (1 of 4, share 0.25)")
    assert "paperless_billing is significant but its effect 0.03 is below min_effect 0.05" in f.sentence
    table["agree"] = True
    table.loc[2, "evidently verdict"] = "no drift"
    table.loc[1, "evidently verdict"] = "no drift"
    rep.results[1].drifted = True
    table.loc[1, "agree"] = False
    assert "monthly_charges drifts here only (Evidently sees a sample of up to 20,000 rows" in disagreement(rep, table)[0].sentence


def _summary(kind="classification", **metrics):
    s = performance.PerformanceSummary("m", kind, 100_000, 60_000, metrics)
    return s


def test_accuracy_below_threshold_and_baseline_in_one_sentence():
    s = _summary(accuracy=0.725, f1=0.70)
    s.ci = {"accuracy": (0.722, 0.728), "f1": (0.69, 0.71)}
    base = performance.against_baseline(s, {"accuracy": 0.849, "f1": 0.71}, 0.75, 0.05)
    fs = performance.metric_findings(s, base, "1.3.0", 0.75, 0.05)
    assert [f.subject for f in fs] == ["accuracy"]  # f1 is 1.4% worse: within the 5% tolerance
    rel = (0.849 - 0.725) / 0.849
    assert f"{100 * rel:.1f}%" == "14.6%"
    assert fs[0].sentence == "accuracy 0.725 [0.722, 0.728] is below 0.75 and 14.6% below the 1.3.0 baseline 0.849."
    assert fs[0].severity == "alert" and fs[0].anchor == "headline"


def test_regression_mae_above_baseline_is_an_alert_and_other_metrics_warnings():
    s = _summary("regression", mae=12.3, rmse=15.0, mape=0.3, r2=0.5)
    s.ci = {"mae": (12.0, 12.6)}
    base = performance.against_baseline(s, {"mae": 10.0, "rmse": 14.9, "mape": 0.2, "r2": 0.8}, None, 0.05)
    fs = {f.subject: f for f in performance.metric_findings(s, base, "2.0.0", None, 0.05)}
    assert fs["mae"].sentence == "MAE 12.3 [12.0, 12.6] 23.0% above the 2.0.0 baseline 10 (tolerance 5%)."
    assert fs["mae"].severity == "alert"
    assert "rmse" not in fs  # 0.7% worse
    assert fs["other metrics"].severity == "warning"
    assert fs["other metrics"].sentence == ("Also worse than the 2.0.0 baseline beyond 5%: MAPE 30.0% vs 20.0% (+50.0%), "
                                            "R² 0.5 vs 0.8 (-37.5%).")  # as the headline table's "relative change" (tables.percent)


def test_findings_and_the_headline_table_name_metrics_as_people_do_not_by_key():
    """'roc_auc 0.808 vs 0.919, log_loss 0.653' read as code on the week page: the sentence and the headline
    table's metric column say 'ROC AUC' and 'log loss', the same words (the JSON keeps the keys)."""
    from workbench.performance.sections import _named_metrics

    metrics = {"accuracy": 0.72, "roc_auc": 0.80, "pr_auc": 0.70, "log_loss": 0.65, "brier": 0.2}
    base = {"accuracy": 0.85, "roc_auc": 0.92, "pr_auc": 0.90, "log_loss": 0.33, "brier": 0.1}
    s = _summary(**metrics)
    table = performance.against_baseline(s, base, 0.75, 0.05)
    fs = {f.subject: f for f in performance.metric_findings(s, table, "1.3.0", 0.75, 0.05)}
    others = fs["other metrics"]
    assert "ROC AUC 0.8 vs 0.92" in others.sentence and "PR AUC 0.7" in others.sentence
    assert "log loss 0.65 vs 0.33" in others.sentence and "Brier 0.2 vs 0.1" in others.sentence
    assert "_" not in others.sentence and set(others.extra) == {"roc_auc", "pr_auc", "log_loss", "brier"}
    shown = set(_named_metrics(table)["metric"])
    assert {"ROC AUC", "PR AUC", "log loss", "Brier", "accuracy"} <= shown and not any("_" in m for m in shown)


@pytest.mark.parametrize("kind, metrics, base", [
    ("classification", {"accuracy": 0.80, "f1": 0.60, "log_loss": 0.60, "brier": 0.20},
     {"accuracy": 0.849, "f1": 0.70, "log_loss": 0.50, "brier": 0.19}),
    ("regression", {"mae": 12.3, "rmse": 15.0, "mape": 0.3, "r2": 0.79}, {"mae": 10.0, "rmse": 14.9, "mape": 0.2, "r2": 0.8}),
])
def test_the_mlflow_status_tag_and_the_findings_share_one_worse_than_baseline_rule(kind, metrics, base):
    """The run's MLflow tag (PerformanceReview.status, from the baseline table's flags) and the review's
    findings (its level) name the same metrics as worse than the baseline: one rule decides both."""
    s = _summary(kind, **metrics)
    table = performance.against_baseline(s, base, None, 0.05)
    flagged = {m for m, a in zip(table["metric"], table["alert"]) if a}
    fs = performance.metric_findings(s, table, "1.0.0", None, 0.05)
    found = {f.subject for f in fs if f.subject != "other metrics"} | set(next(
        (f.extra for f in fs if f.subject == "other metrics"), {}))
    expected = {k for k in metrics if (metrics[k] - base[k]) / abs(base[k]) * (1 if k in ("mae", "rmse", "mape", "log_loss", "brier") else -1) > 0.05}
    assert flagged == found == expected
    assert expected  # each case has worse metrics, and (r2 -1.25%, rmse +0.7%) some within the tolerance
    assert performance.worse_than_baseline("mae", 0.06, 0.05) and not performance.worse_than_baseline("mae", -0.5, 0.05)
    assert performance.worse_than_baseline("accuracy", -0.06, 0.05) and not performance.worse_than_baseline("accuracy", 0.5, 0.05)
    assert not performance.worse_than_baseline("accuracy", float("nan"), 0.05)
    assert not performance.worse_than_baseline("accuracy", -0.9, None) and not performance.worse_than_baseline("accuracy", None, 0.05)


def test_label_base_rate_shift_matches_a_two_proportion_z_test():
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(3)
    w = pd.DataFrame({"actual_outcome": (rng.random(1000) < 0.7).astype(float)})
    h = pd.DataFrame({"actual_outcome": (rng.random(5000) < 0.33).astype(float)})
    (f,) = performance.base_rate_findings(w, h)
    pw, ph = w["actual_outcome"].mean(), h["actual_outcome"].mean()
    z, p = proportions_ztest([w["actual_outcome"].sum(), h["actual_outcome"].sum()], [1000, 5000])
    assert p < 0.001 and "p < 0.001" in f.sentence
    assert f.severity == "warning" and f.anchor == "labels"
    assert f"Label base rate {100 * pw:.1f}% of 1,000 labelled predictions vs {100 * ph:.1f}% of 5,000" in f.sentence
    assert f"+{100 * (pw - ph):.1f} pp" in f.sentence
    same = pd.DataFrame({"actual_outcome": (rng.random(1000) < 0.33).astype(float)})
    assert performance.base_rate_findings(same, h)[0].severity == "info"
    near = pd.DataFrame({"actual_outcome": np.r_[np.ones(360), np.zeros(640)]})  # p between 0.001 and 1
    _, p = proportions_ztest([360, h["actual_outcome"].sum()], [1000, 5000])
    assert 0.001 < p < 0.9
    assert f"p = {p:.3f}" in performance.base_rate_findings(near, h)[0].sentence


def test_coverage_finding():
    s = _summary(accuracy=0.8)
    (f,) = performance.coverage_findings(s, 10)
    assert f.sentence.startswith("Label coverage 60.0%: 60,000 of 100,000 predictions") and f.severity == "info"
    s.n_labelled = 5
    assert performance.coverage_findings(s, 10)[0].severity == "warning"


def test_cbpe_gap_is_concept_drift():
    est = pd.DataFrame([
        {"period": T0, "model_version": "1", "metric": "accuracy", "estimated": 0.85, "realised": 0.80, "predictions": 100},
        {"period": T0 + pd.Timedelta(days=1), "model_version": "1", "metric": "accuracy", "estimated": 0.85,
         "realised": 0.70, "predictions": 300},
        {"period": T0 + pd.Timedelta(days=2), "model_version": "1", "metric": "accuracy", "estimated": 0.85,
         "realised": np.nan, "predictions": 300}])
    (f,) = cbpe.gap_findings(est)
    realised = (0.80 * 100 + 0.70 * 300) / 400
    assert f.severity == "warning" and f.anchor == "estimate"
    assert f.sentence.startswith(f"Realised accuracy {realised:.3f} vs 0.85 estimated by CBPE on the 2 days")
    # "largest" is the largest shortfall, and says so (it was "largest on 2026-11-17: -0.15")
    assert "gap -0.125; largest shortfall (realised below estimated) on 2026-11-17: 0.7 vs 0.85, -0.15)" in f.sentence
    ahead = est.assign(realised=[0.86, 0.87, np.nan])
    (g,) = cbpe.gap_findings(ahead)
    assert g.severity == "info" and "no day fell short of its estimate" in g.sentence and "largest" not in g.sentence


def test_ab_decision_is_stated_with_sizes():
    t = pd.DataFrame([{"metric": "accuracy", "A": "a (1.2.0)", "B": "b (1.3.0)", "value_A": 0.8, "value_B": 0.75,
                       "n_A": 5000, "n_B": 5000, "difference": -0.05, "ci_low": -0.066, "ci_high": -0.034,
                       "p_value": 1e-9, "verdict": "a (1.2.0) is better (p = 1e-09)"}])
    (f,) = abtest.decision_findings(t)
    assert f.anchor == "ab-test"
    assert f.sentence == ("A/B accuracy: b (1.3.0) 0.75 (n = 5,000) vs a (1.2.0) 0.8 (n = 5,000), difference -0.050 "
                          "[-0.066, -0.034]: a (1.2.0) is better (p = 1e-09).")


def _slos():
    return SLOParams(objectives=[{"name": "avail", "title": "/predict availability", "objective": 0.995,
                                  "good": "g", "total": "t"}],
                     burn_alerts=[{"severity": "page", "long": "1h", "short": "5m", "factor": 14.4}])


def test_slo_missed_and_pages_with_time_and_duration():
    st = pd.DataFrame([
        {"objective": "/predict availability", "window": "2026-W47", "target": 0.995, "sli": 0.9912,
         "budget_consumed": 1.76, "budget_remaining": -0.76, "met": "NO", "note": ""},
        {"objective": "/predict availability", "window": "rolling 28d", "target": 0.995, "sli": 0.9968,
         "budget_consumed": 0.64, "budget_remaining": 0.36, "met": "yes", "note": ""}])
    start = pd.Timestamp("2026-11-18 14:02", tz="UTC")
    pages = pd.DataFrame([{"objective": "avail", "severity": "page", "rule": "14.4x over 1h and 5m", "start": start,
                           "end": start + pd.Timedelta(minutes=51), "duration": pd.Timedelta(minutes=51)}])
    fs = slo.slo_findings(st, pages, _slos(), "2026-W47")
    assert fs[0].severity == "alert"
    assert fs[0].sentence == ("SLO missed — /predict availability: SLI 99.12% vs objective 99.5% in 2026-W47, "
                              "176% of the week's error budget spent; 36.0% of the rolling 28d budget left.")  # as the SLO table
    assert fs[1].severity == "alert" and fs[1].sentence == (
        "Page: /predict availability burned its error budget faster than 14.4x over 1h and 5m from "
        "Wed 2026-11-18 14:02 UTC for 51 min.")
    st.loc[0, ["met", "budget_consumed"]] = ["yes", 0.9]
    st.loc[1, "budget_remaining"] = 0.2
    assert slo.slo_findings(st, pages.iloc[:0], _slos(), "2026-W47")[0].sentence.startswith("SLO burning")


def test_each_alert_episode_has_its_own_duration():
    s = pd.Timestamp("2026-11-17 10:00", tz="UTC")
    eps = pd.DataFrame([
        {"alert": "DataDriftDetected", "severity": "warning", "labels": "feature=tenure", "pending_since": s,
         "start": s, "end": s + pd.Timedelta(days=6, hours=12), "duration": pd.Timedelta(days=6, hours=12)},
        {"alert": "DataDriftDetected", "severity": "warning", "labels": "feature=contract", "pending_since": s,
         "start": s, "end": s + pd.Timedelta(days=5), "duration": pd.Timedelta(days=5)},
        {"alert": "ServiceDown", "severity": "critical", "labels": "job=mlflow", "pending_since": s,
         "start": s, "end": s + pd.Timedelta(minutes=45), "duration": pd.Timedelta(minutes=45)}])
    fs = alerts.episode_findings(eps)
    sentences = [f.sentence for f in fs]
    assert "DataDriftDetected (feature=tenure) [warning] fired from Tue 2026-11-17 10:00 UTC for 6 d 12 h." in sentences
    assert "DataDriftDetected (feature=contract) [warning] fired from Tue 2026-11-17 10:00 UTC for 5 d." in sentences
    assert not any("11 d" in x for x in sentences)  # never summed over series
    assert [f.severity for f in fs if f.subject == "ServiceDown"] == ["alert"]
    (why,) = [f for f in fs if f.severity == "info"]
    assert why.kind == "comparison"
    assert why.subject == "DataDriftDetected" and "2 time(s) over 2 series (longest 6 d 12 h)" in why.sentence
    assert "drift review" in why.sentence


def test_outages_and_week_over_week_changes():
    s = pd.Timestamp("2026-11-18 03:00", tz="UTC")
    out = pd.DataFrame([{"job": j, "start": s, "end": s + pd.Timedelta(minutes=45), "duration": pd.Timedelta(minutes=45)}
                        for j in ("mlflow", "mlflow (health gauge)")]
                       + [{"job": "api", "start": s + pd.Timedelta(days=1), "end": s + pd.Timedelta(days=1, minutes=3),
                           "duration": pd.Timedelta(minutes=3)}])
    f, g = infrastructure.outage_findings(out)
    assert f.severity == "alert" and f.sentence == ("Outage: mlflow was down from Wed 2026-11-18 03:00 UTC for 45 min "
                                                    "(seen by Prometheus' up and its health gauge).")
    assert g.sentence == "Outage: api was down from Thu 2026-11-19 03:00 UTC for 3 min."
    summary = pd.DataFrame([
        {"name": "error_ratio", "title": "/predict error ratio", "unit": "ratio", "value": 0.004, "previous": 0.002},
        {"name": "requests_total", "title": "/predict requests", "unit": "requests", "value": 130_000.0,
         "previous": 100_000.0},
        {"name": "p95_latency_api", "title": "/predict p95 latency", "unit": "seconds", "value": 0.21, "previous": 0.2}])
    fs = {f.subject: f for f in infrastructure.change_findings(summary, 0.2)}
    assert fs["/predict error ratio"].severity == "warning"
    assert fs["/predict error ratio"].sentence == ("/predict error ratio: 0.40% vs 0.20% the week before (+100%, "
                                                   "beyond 20%).")
    assert fs["/predict requests"].severity == "info" and "130,000 vs 100,000 the week before (+30.0%" in fs["/predict requests"].sentence
    assert "/predict p95 latency" not in fs  # +5%: within the tolerance


def test_service_queries_select_every_model():
    q = infrastructure.render_for('histogram_quantile(0.95, sum by (le, model) (rate(x_bucket{model="$model"}[$rate])))',
                                  "", rate="5m")
    assert q == 'histogram_quantile(0.95, sum by (le, model) (rate(x_bucket{model!=""}[5m])))'
    assert 'model="churn"' in infrastructure.render_for('x{model="$model"}', "churn", model="churn")


def test_attempt_collects_findings_and_headline_from_results_and_tables():
    from pathlib import Path

    from workbench.context import ReviewContext
    from workbench.result import TableResult

    ctx = ReviewContext(None, None, None, None, None, None, Path("."))
    rep = _drift_report()
    ctx.attempt("drift", lambda: rep)
    t = TableResult(pd.DataFrame({"a": [1]}),
                    headline={"series": {"drift_share": {"2026-11-16": 0.25}}, "episodes": [{"kind": "outage"}]})
    assert ctx.attempt("over time", lambda: t) is t
    plain = pd.DataFrame({"findings": [1], "problems": ["x"]})  # a plain frame is returned, nothing collected
    assert ctx.attempt("frame", lambda: plain) is plain and ctx.problems == []
    assert ctx.findings == rep.findings and ctx.level == "alert"
    assert ctx.headline["drift_share"] == 0.5 and ctx.headline["series"]["drift_share"] == {"2026-11-16": 0.25}
    assert ctx.headline["episodes"] == [{"kind": "outage"}]


@pytest.mark.parametrize("grid,expected", [
    (pd.DataFrame({"feature": ["a", "b", "a", "b"], "drifted": [True, False, False, None],
                   "period": [T0, T0, T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=1)]}),
     {"2026-11-16": 0.5, "2026-11-17": 0.0}),
])
def test_daily_drift_share_uses_the_verdicts(grid, expected):
    from workbench.drift.history import daily_share

    assert daily_share(grid, Window(T0.to_pydatetime(), (T0 + pd.Timedelta(days=7)).to_pydatetime(), "2026-W47")) == expected


def test_prometheus_drift_alert_disagreement_says_why():
    from pathlib import Path
    from types import SimpleNamespace

    from workbench.drift import alert_agreement

    window = Window(T0.to_pydatetime(), (T0 + pd.Timedelta(days=7)).to_pydatetime(), "2026-W47")
    ts = pd.date_range(T0, T0 + pd.Timedelta(days=2), freq="60s")

    class Prom:
        def query_range(self, expr, start, end, step):
            assert expr == "data_drift_score > 0.1"
            return pd.concat([pd.DataFrame({"timestamp": ts, "value": 0.2, "feature": f, "model": m})
                              for f, m in (("paperless_billing", "churn-predictor"), ("tenure", "churn-predictor"),
                                           ("tenure", "revenue-predictor"))], ignore_index=True)

    root = Path(__file__).resolve().parents[2]
    ctx = SimpleNamespace(root=root, window=window, prometheus=Prom(), has=lambda source: True,
                          params_path=lambda kind: root / "params" / f"{kind}.yaml",
                          model=SimpleNamespace(name="churn-predictor"),
                          params=SimpleNamespace(infrastructure=SimpleNamespace(scrape_interval="60s")))
    rep = _drift_report()  # drifted: tenure, monthly_charges; paperless_billing below min_effect
    result = alert_agreement(ctx, rep)
    table = result.to_frame().set_index("feature")
    assert list(table.index) == ["paperless_billing", "tenure", "monthly_charges"]  # this model's series only,
    assert table["episodes"].tolist() == [1, 1, 0]  # then the drifted feature no alert fired for
    assert table["this_review"].to_dict() == {
        "paperless_billing": "no drift (significant, but effect 0.03 is below min_effect 0.05)", "tenure": "drift",
        "monthly_charges": "drift"}
    assert result.notes == ["Prometheus drift alert rules replayed on this window for this model: DataDriftDetected "
                            "(when data_drift_score > 0.1 for 1m)."]
    (f,) = result.findings
    assert f.severity == "info" and f.anchor == "evidently"  # where the table above is shown
    assert "`" not in f.sentence  # a finding is read as text: markdown backticks would show as such
    assert f.sentence.startswith("DataDriftDetected (when data_drift_score > 0.1 for 1m) fired for paperless_billing "
                                 "(2 d), tenure (2 d); paperless_billing is no drift here (significant, but effect "
                                 "0.03 is below min_effect 0.05); not for monthly_charges, which drifts here: the "
                                 "alert watches")
    assert f.kind == "comparison"
    # the section it links to shows the table with its caption: every number of the sentence is there
    from workbench import artifact
    from workbench.drift import agreement_table

    shown = artifact.read_page(agreement_table(result).to_html())
    assert [t for t in artifact.finding_numbers(f.sentence) if not artifact._appears(t, shown.all_text())] == []
    assert agreement_table(None) is None  # the review could not compare: nothing shown


def test_one_outage_seen_by_two_sources_counts_once():
    """The headline's `outages` (shown on the index) equals the distinct outages the findings name:
    MLflow down once, seen by `up` and by its health gauge a scrape later, plus one API outage."""
    s = pd.Timestamp("2026-11-18 03:00", tz="UTC")
    scrape = pd.Timedelta(seconds=15)
    out = pd.DataFrame([
        {"job": "mlflow", "start": s, "end": s + pd.Timedelta(minutes=45)},
        {"job": "mlflow (health gauge)", "start": s + scrape, "end": s + pd.Timedelta(minutes=45) + scrape},
        {"job": "api", "start": s + pd.Timedelta(minutes=5), "end": s + pd.Timedelta(minutes=8)},
        {"job": "mlflow", "start": s + pd.Timedelta(days=1), "end": s + pd.Timedelta(days=1, minutes=3)}])
    out["duration"] = out["end"] - out["start"]
    summary = infrastructure.core.outage_summary(out)
    alerts_ = [f for f in summary["findings"] if f.kind == "outage"]
    assert summary["headline"]["outages"] == len(alerts_) == 3
    (both,) = [f for f in alerts_ if len(f.extra["sources"]) == 2]
    assert both.subject == "mlflow" and both.extra["sources"] == ["mlflow", "mlflow (health gauge)"]
    assert both.value == (pd.Timedelta(minutes=45) + scrape).total_seconds()  # from the first to the last source


def test_drift_alert_agreement_firing_time_is_wall_time_and_series_time_the_sum():
    """Two series of one feature (two instances) firing the same two days: the agreement table's firing
    time is 2 d (wall time, what its finding quotes), its series-time 4 d."""
    from pathlib import Path
    from types import SimpleNamespace

    from workbench.drift import alert_agreement

    window = Window(T0.to_pydatetime(), (T0 + pd.Timedelta(days=7)).to_pydatetime(), "2026-W47")
    ts = pd.date_range(T0, T0 + pd.Timedelta(days=2), freq="60s")

    class Prom:
        def query_range(self, expr, start, end, step):
            return pd.concat([pd.DataFrame({"timestamp": ts, "value": 0.2, "feature": "tenure", "instance": i,
                                            "model": "churn-predictor"}) for i in ("a", "b")], ignore_index=True)

    root = Path(__file__).resolve().parents[2]
    ctx = SimpleNamespace(root=root, window=window, prometheus=Prom(), has=lambda source: True,
                          params_path=lambda kind: root / "params" / f"{kind}.yaml",
                          model=SimpleNamespace(name="churn-predictor"),
                          params=SimpleNamespace(infrastructure=SimpleNamespace(scrape_interval="60s")))
    table = alert_agreement(ctx, _drift_report()).to_frame().set_index("feature")
    two_days = ts[-1] + pd.Timedelta(minutes=1) - (T0 + pd.Timedelta(minutes=1))
    assert table.loc["tenure", "episodes"] == 2
    assert table.loc["tenure", "firing_time"] == two_days and table.loc["tenure", "series_time"] == 2 * two_days


def test_mape_reads_as_a_percentage_in_its_finding_tables_figures_and_week_page():
    """MAPE 0.083 was shown as '0.083' (a fraction): one formatter keyed by the metric (tables.metric_value)
    prints it '8.3%' in the headline table (by the row's metric, whatever the column), in a per-day
    column named after it, in its finding, on a figure's axis and on the week page; other metrics unchanged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench import artifact, tables, weekpage
    from workbench.performance import columns
    from workbench.performance.sections import _named_metrics
    from workbench.plots import metric_axis

    s = _summary("regression", mae=12.3, rmse=15.0, mape=0.083, r2=0.5)
    s.ci = {"mape": (0.081, 0.085)}
    base = performance.against_baseline(s, {"mae": 12.3, "rmse": 15.0, "mape": 0.06, "r2": 0.5}, None, 0.05)
    (f,) = performance.metric_findings(s, base, "2.0.0", None, 0.05)
    assert "MAPE 8.3% vs 6.0%" in f.sentence
    html = tables.table(_named_metrics(base), kinds=columns.KINDS).to_html()
    page = artifact.read_page(html)
    text = page.all_text()
    for cell in ("8.3%", "8.1%", "8.5%", "6.0%", "+2.3 pp", "12.3", "0.5"):
        assert cell in text, cell
    assert "0.083" not in text and "0.06" not in text
    assert [t for t in artifact.finding_numbers(f.sentence) if not artifact._appears(t, text)] == ["5%"]  # tolerance: the thresholds table
    contract = artifact.Contract()
    artifact.check_tables(page, "p", contract)
    assert contract.tables == 1 and contract.violations == []
    trend = tables.table(pd.DataFrame({"mape": [0.083], "mae": [12.3]}), kinds=columns.KINDS).to_html()
    assert "8.3%" in trend and ">12.3<" in trend
    assert weekpage.fmt_value("mape", 0.083) == "8.3%" and weekpage.fmt_value("mae", 12.3) == "12.3"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.05, 0.1])
    metric_axis(ax, "mape")
    fig.canvas.draw()
    assert all(t.get_text().endswith("%") for t in ax.get_yticklabels() if t.get_text())
    plt.close(fig)
