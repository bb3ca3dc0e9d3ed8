"""Issue 19 point 2 without a server: every number a finding quotes appears, formatted identically, in
the tables its section shows (the published-artifact rule 'numbers', workbench.artifact), for the
numbers the reviews compute: one formatter per kind serves both the sentence and the table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import artifact, infrastructure, tables
from workbench.drift import DriftReport, FeatureDriftResult
from workbench.drift.columns import KINDS as DRIFT_KINDS
from workbench.infrastructure import alerts, slo
from workbench.infrastructure.columns import KINDS as INFRA_KINDS
from workbench.performance import cbpe, core as performance, explain
from workbench.performance.columns import INTERVALS as PERF_INTERVALS, KINDS as PERF_KINDS
from workbench.config import SLOParams

T0 = pd.Timestamp("2026-11-16", tz="UTC")


def _text(*shown) -> str:
    """The text of rendered tables as the contract reads a section (cells and captions)."""
    html = "".join(s.to_html() if hasattr(s, "to_html") else s.data for s in shown)
    return artifact.read_page(html).all_text()


def _missing(findings, text: str) -> list[str]:
    return [f"{tok} ({f.sentence})" for f in findings for tok in artifact.finding_numbers(f.sentence)
            if not artifact._appears(tok, text)]


def _feat(name, stat, p, drifted, effect, missing_current=0.0, missing_count=0, n=50_000):
    return FeatureDriftResult(name, "numeric", "ks", 0.05, stat, p, drifted, "drift" if drifted else "no drift",
                              n, 20_000, missing_current, 0.0076, effect_size=effect, missing_count=missing_count,
                              min_effect=0.1)


def test_the_drift_summary_and_quality_tables_hold_the_numbers_of_the_dataset_and_missing_findings():
    report = DriftReport("churn", [_feat("tenure", 0.21, 1e-12, True, 0.21),
                                   _feat("monthly_charges", 0.02, 0.4, False, 0.02),
                                   _feat("total_charges", 0.01, 0.6, False, 0.01, 0.0097, 990)],
                         drift_share_threshold=0.5, window_rows=101_896, missing_tolerance=0.05)
    found = [f for f in report.findings if f.anchor in ("summary", "data-quality")]
    assert {f.subject for f in found} == {"dataset", "total_charges"}
    shown = _text(tables.record(report.summary(), kinds=DRIFT_KINDS),
                  tables.table(report.quality(), kinds=DRIFT_KINDS, caption=report.quality_caption()))
    assert _missing(found, shown) == []  # the tolerance, a setting, is in the quality table's caption


def test_the_performance_headline_and_thresholds_hold_the_relative_changes_and_tolerances():
    s = performance.PerformanceSummary("m", "regression", 100_000, 60_000, {"mae": 12.3, "rmse": 15.0, "mape": 0.3,
                                                                             "r2": 0.5})
    s.ci = {"mae": (12.0, 12.6)}
    base = performance.against_baseline(s, {"mae": 10.0, "rmse": 14.9, "mape": 0.2, "r2": 0.8}, None, 0.05)
    review = performance.PerformanceReview(s, pd.DataFrame(), base, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                           baseline_version="2.0.0", relative_drop_tolerance=0.05)
    found = performance.metric_findings(s, base, "2.0.0", None, 0.05)
    assert any("−" not in f.sentence and "-37.5%" in f.sentence for f in found)  # r2 fell: '-' as the table writes it
    shown = _text(tables.table(review.to_frame(), kinds=PERF_KINDS, intervals=PERF_INTERVALS),
                  tables.key_values(review.thresholds()))
    assert _missing(found, shown) == []


def test_the_base_rate_table_holds_the_finding_s_change_and_p_value_against_the_weeks_before():
    rng = np.random.default_rng(3)
    w = pd.DataFrame({"actual_outcome": (rng.random(1000) < 0.55).astype(float)})
    h = pd.DataFrame({"actual_outcome": (rng.random(5000) < 0.33).astype(float)})
    ref = pd.DataFrame({"target": (rng.random(2000) < 0.34).astype(float)})
    found = performance.base_rate_findings(w, h)
    assert found[0].severity == "warning" and "5 pp" in found[0].sentence  # a shift of shares is in points
    s = performance.PerformanceSummary("m", "classification", 1000, 1000, {"accuracy": 0.8})
    review = performance.PerformanceReview(s, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), w, h)
    shown = _text(tables.table(explain.base_rate(w, ref, h), kinds=PERF_KINDS), tables.key_values(review.thresholds()))
    assert _missing(found, shown) == []


def test_the_cbpe_gap_table_holds_the_realised_estimated_and_gap_of_the_finding():
    est = pd.DataFrame([
        {"period": T0, "model_version": "1", "metric": "accuracy", "estimated": 0.85, "realised": 0.80, "predictions": 100},
        {"period": T0 + pd.Timedelta(days=1), "model_version": "1", "metric": "accuracy", "estimated": 0.85,
         "realised": 0.70, "predictions": 300}])
    found = cbpe.gap_findings(est)
    table = cbpe.gap_table(est)
    assert table["gap"].iloc[-1] == found[0].value  # the weighted gap, on the last row
    shown = _text(tables.table(table, kinds=PERF_KINDS, caption=cbpe.gap_caption(est)))
    assert _missing(found, shown) == []
    assert "Mon 16 Nov" in shown and "all days with outcomes" in shown  # periods read as dates, not ISO strings


def test_the_slo_table_shows_the_sli_and_budgets_as_the_slo_finding_says_them():
    st = pd.DataFrame([
        {"objective": "/predict availability", "window": "2026-W48", "target": 0.995, "sli": 0.99791,
         "requests": 132_486.0, "bad": 272.0, "budget_consumed": 0.4114, "budget_remaining": 0.5886, "met": "yes"},
        {"objective": "/predict availability", "window": "rolling 28d", "target": 0.995, "sli": 0.99887,
         "requests": 432_198.0, "bad": 487.0, "budget_consumed": 0.2254, "budget_remaining": 0.7746, "met": "yes"}])
    params = SLOParams(objectives=[{"name": "avail", "title": "/predict availability", "objective": 0.995,
                                    "good": "g", "total": "t"}], burn_alerts=[])
    found = slo.slo_findings(st, pd.DataFrame(), params, "2026-W48")
    assert "99.79%" in found[0].sentence
    assert _missing(found, _text(tables.table(st, kinds=INFRA_KINDS))) == []
    assert {f.anchor for f in found} == {"slos"}  # the status findings link to that table


def test_a_burn_alert_finding_links_to_the_burn_section_whose_table_holds_its_rule_and_duration():
    """A page quotes its objective's title (its numbers too: 0.5 s), rule (14.4x over 1h and 5m) and
    duration (15 min): the SLO burn section's table of burn alerts shows them, the SLO status table
    does not, so the finding links there."""
    pages = pd.DataFrame([{"objective": "latency", "severity": "page", "rule": "14.4x over 1h and 5m",
                           "start": T0, "end": T0 + pd.Timedelta(minutes=15), "duration": pd.Timedelta(minutes=15)}])
    params = SLOParams(objectives=[{"name": "latency", "title": "/predict requests served under 0.5 s",
                                    "objective": 0.95, "good": "g", "total": "t"}], burn_alerts=[])
    review = slo.SLOReview(pd.DataFrame(columns=["objective", "window"]), pd.DataFrame(), pages, params)
    (page,) = review.findings
    assert page.anchor == "slo-burn" == slo.BURN_ANCHOR
    assert "under 0.5 s burned" in page.sentence and "14.4x" in page.sentence and "for 15 min" in page.sentence
    assert _missing([page], _text(tables.table(review.burn_table(), kinds=INFRA_KINDS))) == []
    assert list(review.pages["objective"]) == ["latency"]  # the frame keeps the name (the week page's episodes)


def test_an_episode_finding_links_to_the_episodes_table_and_a_rule_finding_to_the_rules_table():
    """Each episode's finding quotes its own duration: the alerts timeline lists every episode, so it
    links there; the drift rule's finding quotes its episodes, series and longest episode, which the
    alerts table (per rule) shows, so it links to #alerts."""
    from workbench.config import AlertRules

    rules = AlertRules(groups=[{"name": "g", "rules": [{"alert": "DataDriftDetected", "expr": "data_drift_score > 0.1",
                                                        "for": "1m", "labels": {"severity": "warning"}}]}])
    eps = pd.DataFrame([{"alert": "DataDriftDetected", "severity": "warning", "labels": f"feature={f}",
                         "start": T0 + pd.Timedelta(hours=h), "end": T0 + pd.Timedelta(hours=h) + d, "duration": d,
                         "still_firing": False}
                        for f, h, d in (("tenure", 0, pd.Timedelta(hours=27, minutes=40)),
                                        ("contract", 1, pd.Timedelta(minutes=51)),
                                        ("contract", 30, pd.Timedelta(minutes=17)))])
    review = alerts.AlertReview(eps, pd.DataFrame(), pd.DataFrame(), "", rules=rules)
    episodes = [f for f in review.findings if f.kind == "alert_rule"]
    (rule,) = [f for f in review.findings if f.kind == "comparison"]
    assert len(episodes) == 3 and {f.anchor for f in episodes} == {"alerts-timeline"} and rule.anchor == "alerts"
    assert "fired 3 time(s) over 2 series (longest 1 d 4 h)" in rule.sentence
    assert _missing(episodes, _text(tables.table(review.episodes, kinds=INFRA_KINDS))) == []
    fired = _text(tables.table(review.fired(), kinds=INFRA_KINDS))
    assert _missing([rule], fired) == []
    assert "1 d 4 h" in fired and "1 d 5 h" in fired  # the longest episode and firing time (wall), the series-time


def test_the_headline_numbers_table_holds_the_week_over_week_values_and_relative_change():
    summary = pd.DataFrame([
        {"name": "error_ratio", "title": "/predict error ratio", "unit": "ratio", "value": 0.0021, "previous": 0.00084},
        {"name": "requests_total", "title": "/predict requests", "unit": "requests", "value": 130_000.0,
         "previous": 100_000.0}])
    summary["change"] = summary["value"] - summary["previous"]
    summary["relative_change"] = summary["change"] / summary["previous"].abs()
    found = infrastructure.change_findings(summary, 0.2)
    assert len(found) == 2
    shown = _text(infrastructure.core.week_over_week_table(summary, 0.2))
    assert _missing(found, shown) == []


def test_the_week_over_week_tables_of_the_drift_and_infrastructure_reviews_use_the_same_words():
    """The drift review headed its columns 'statistic previous', 'last week (2026-W46) status', 'status
    this' and the infrastructure review 'value', 'previous': both now say 'this week', 'last week' and
    'change', and name the weeks in the same caption."""
    import re

    from workbench import artifact, config
    from workbench.drift import history

    week = config.iso_week("2026-W47")
    summary = pd.DataFrame([{"title": "/predict requests", "unit": "requests", "value": 130_000.0,
                             "previous": 100_000.0, "change": 30_000.0, "relative_change": 0.3, "note": ""}])
    wow = pd.DataFrame([{"feature": "tenure", "method": "ks", "statistic_last_week": 0.01, "status_last_week": "no drift",
                         "statistic_this_week": 0.2, "status_this_week": "drift", "borderline": "", "change": "new drift"}])
    pages = [artifact.read_page(t.to_html()) for t in (infrastructure.core.week_over_week_table(summary, 0.2, week),
                                                      history.week_over_week_table(wow, week))]
    heads = [" | ".join(p.tables[0]["head"]) for p in pages]
    words = [set(re.findall(r"this week|last week|previous|change", h)) for h in heads]
    assert words[0] == words[1] == {"this week", "last week", "change"}, heads
    assert all("this week is 2026-W47, last week 2026-W46" in p.all_text() for p in pages)


def test_summarize_gives_the_relative_change_the_findings_test():
    class Source:
        def query(self, q, at=None):
            return pd.DataFrame({"value": [130_000.0 if at == T0 else 100_000.0]})

    from workbench.config import QueryCatalog, Window

    catalog = QueryCatalog(panels={}, summary={"requests": {"title": "requests", "promql": "sum(x)", "unit": "requests"}})
    df = infrastructure.core.summarize(Source(), catalog, Window(T0 - pd.Timedelta(days=7), T0, "2026-W46"), "m",
                                       previous=Window(T0 - pd.Timedelta(days=14), T0 - pd.Timedelta(days=7), "2026-W45"))
    assert df["relative_change"].iloc[0] == (130_000 - 100_000) / 100_000


def test_the_alerts_table_names_each_rule_s_condition_the_drift_alert_finding_quotes():
    from workbench.config import AlertRules

    rules = AlertRules(groups=[{"name": "g", "rules": [{"alert": "DataDriftDetected", "expr": "data_drift_score > 0.1",
                                                        "for": "1m", "labels": {"severity": "warning"}}]}])
    eps = pd.DataFrame([{"alert": "DataDriftDetected", "severity": "warning", "labels": "feature=tenure",
                         "start": T0, "end": T0 + pd.Timedelta(hours=2), "duration": pd.Timedelta(hours=2),
                         "still_firing": False}])
    review = alerts.AlertReview(eps, pd.DataFrame(), pd.DataFrame(), "", rules=rules)
    found = [f for f in review.findings if f.kind == "comparison"]
    assert found and "`data_drift_score > 0.1`" in found[0].sentence
    assert _missing(found, _text(tables.table(review.fired(), kinds=INFRA_KINDS))) == []


def test_the_quality_table_holds_the_rows_and_share_of_a_new_category_finding():
    cat = FeatureDriftResult("tickets", "categorical", "chi2", 0.05, 1.0, 0.5, False, "no drift", 102_178, 20_000,
                             0.0, 0.0, new_categories=["10", "9"], new_category_rows=2)
    report = DriftReport("churn", [cat], drift_share_threshold=0.5, window_rows=102_178)
    found = [f for f in report.findings if f.kind == "data_quality"]
    assert len(found) == 1 and "2 values" in found[0].sentence
    assert "0.0%" not in found[0].sentence  # 2 of 102,178 is not nothing: it read '0.0% of the window'
    shown = _text(tables.table(report.quality(), kinds=DRIFT_KINDS))
    assert _missing(found, shown) == []
