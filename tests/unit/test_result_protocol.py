"""One result protocol (workbench.result): every review result class offers `findings`, `headline`,
`problems`, `to_frame()` and `plot()`, computed here from small synthetic inputs and checked against
scipy / scikit-learn; ReviewContext.attempt collects them, and nothing travels through DataFrame.attrs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Mapping

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from workbench import config, infrastructure
from workbench.config import Window
from workbench.context import ReviewContext
from workbench.drift import DriftReport
from workbench.drift.core import detect_drift
from workbench.findings import Finding
from workbench.infrastructure import alerts, slo
from workbench.infrastructure.core import InfrastructureReport, ServiceReview
from workbench.performance import abtest, core as performance
from workbench.result import ReviewResult, TableResult, is_result

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[2]
T0 = pd.Timestamp("2026-11-16", tz="UTC")
WEEK = Window(T0.to_pydatetime(), (T0 + pd.Timedelta(days=7)).to_pydatetime(), "2026-W47")


# --- one real result of every class -----------------------------------------------------------------

def _drift() -> tuple[DriftReport, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "y": rng.normal(0, 1, 3000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 2000), "y": rng.normal(0, 1, 2000)})
    feats = {"x": config.FeatureDrift(method="ks"), "y": config.FeatureDrift(method="ks")}
    return detect_drift(ref, cur, config.DriftDetection(), "m", feats), ref, cur


def _predictions(n: int = 4000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    prob = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
    return pd.DataFrame({"model_version": "1.0", "timestamp": T0 + pd.to_timedelta(rng.uniform(0, 7 * 86400, n), "s"),
                         "prediction": (prob > 0.5).astype(float), "probability": prob, "actual_outcome": y,
                         "variant": np.where(rng.uniform(size=n) < 0.5, "A", "B")})


def _performance() -> tuple[performance.PerformanceReview, pd.DataFrame]:
    df = _predictions()
    spec = config.ModelSpec(name="m", type="classification")
    summary = performance.evaluate(df, spec, 10)
    base = performance.against_baseline(summary, {"accuracy": 0.95, "roc_auc": 0.99}, 0.75, 0.05)
    review = performance.PerformanceReview(summary, performance.by_version(df, spec), base,
                                           performance.trend(df, spec), df, df.iloc[:0], ["1.0"],
                                           accuracy_alert_below=0.75, relative_drop_tolerance=0.05, window_start=T0)
    return review, df


def _episodes() -> pd.DataFrame:
    s = pd.Timestamp("2026-11-17 10:00", tz="UTC")
    return pd.DataFrame([
        {"alert": "HighErrorRate", "severity": "critical", "labels": "job=api", "pending_since": s, "start": s,
         "end": s + pd.Timedelta(hours=38, minutes=45), "duration": pd.Timedelta(hours=38, minutes=45),
         "still_firing": False},
        {"alert": "HighLatency", "severity": "warning", "labels": "", "pending_since": s, "start": s,
         "end": s + pd.Timedelta(minutes=20), "duration": pd.Timedelta(minutes=20), "still_firing": False}])


def _alerts() -> alerts.AlertReview:
    return alerts.AlertReview(_episodes(), pd.DataFrame(columns=["alert", "firings", "reasons"]),
                              pd.DataFrame(columns=["alert", "start", "end", "mismatch"]), "no record",
                              ["alert Broken: Prometheus refused the query"], None, WEEK)


def _slo() -> slo.SLOReview:
    st = pd.DataFrame([
        {"objective": "/predict availability", "window": "2026-W47", "target": 0.995, "sli": 0.9912,
         "budget_consumed": 1.76, "budget_remaining": -0.76, "met": "NO", "note": ""},
        {"objective": "/predict availability", "window": "rolling 28d", "target": 0.995, "sli": 0.9968,
         "budget_consumed": 0.64, "budget_remaining": 0.36, "met": "yes", "note": ""}])
    start = pd.Timestamp("2026-11-18 14:02", tz="UTC")
    pages = pd.DataFrame([{"objective": "/predict availability", "severity": "page", "rule": "14.4x over 1h and 5m",
                           "start": start, "end": start + pd.Timedelta(minutes=51),
                           "duration": pd.Timedelta(minutes=51)}])
    ts = pd.date_range(T0, periods=60, freq="1min")
    burn = pd.DataFrame({"timestamp": ts, "value": np.linspace(0, 20, 60), "objective": "/predict availability",
                         "burn_window": "1h"})
    return slo.SLOReview(st, burn, pages, config.load_slos(ROOT / "params" / "slos.yaml"), [], "2026-W47")


def _infra() -> InfrastructureReport:
    summary = pd.DataFrame([
        {"name": "error_ratio", "title": "/predict error ratio", "unit": "ratio", "value": 0.004, "previous": 0.002,
         "note": ""},
        {"name": "requests_total", "title": "/predict requests", "unit": "requests", "value": 130_000.0,
         "previous": 100_000.0, "note": ""},
        {"name": "p95_latency_api", "title": "/predict p95 latency", "unit": "seconds", "value": float("nan"),
         "previous": 0.2, "note": "no data for the query"}])
    return InfrastructureReport(WEEK, summary)


def _outages() -> TableResult:
    s = pd.Timestamp("2026-11-18 03:00", tz="UTC")
    table = pd.DataFrame([{"job": "api", "start": s, "end": s + pd.Timedelta(minutes=45),
                           "duration": pd.Timedelta(minutes=45)}])
    return TableResult(table, **infrastructure.core.outage_summary(table))


def _service() -> ServiceReview:
    return ServiceReview(WEEK, slos=_slo(), alerts=_alerts(), infra=_infra(), outages=_outages(),
                         problems=["availability: Prometheus at http://x: query failed"])


def _segment_frames():
    """A week where the 'pro' plan's accuracy fell from 0.9 to 0.6 (the rest unchanged)."""
    rng = np.random.default_rng(5)

    def frame(n, wrong_pro):
        df = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
                           "age": rng.normal(40, 10, n)})
        y = rng.integers(0, 2, n).astype(float)
        wrong = np.where(df["plan"] == "pro", wrong_pro, 0.1)
        df["actual_outcome"], df["prediction"] = y, np.where(rng.random(n) < wrong, 1 - y, y)
        return df

    return frame(20_000, 0.4), frame(20_000, 0.1)


def _weak_segments():
    from workbench.config import SegmentParams
    from workbench.performance import segments as sg

    cur, ref = _segment_frames()
    kinds = sg.feature_kinds(ref, ["plan", "age"], 5, 10)
    res = sg.search(sg.cells_from_frames(cur, ref, kinds, "classification"), "classification", SegmentParams(),
                    resamples=100)
    pro = cur[cur["plan"] == "pro"]
    top = res.segments_frame().iloc[0]
    assert top["segment"] == "plan = pro"
    assert top["accuracy"] == pytest.approx(float((pro["prediction"] == pro["actual_outcome"]).mean()))
    return res


def _drift_performance():
    from workbench.performance import drift_join as dj

    return dj.join(_weak_segments(), {"plan": 0.05, "age": 0.01})


def _multivariate():
    """x and y whose correlation flipped (+0.8 to -0.8): both methods flag it (test_multivariate checks
    the AUC against scikit-learn and the error against numpy)."""
    from workbench.config import MultivariateDrift
    from workbench.drift import multivariate as mv

    rng = np.random.default_rng(7)

    def frame(n, rho):
        xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
        return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})

    res = mv.multivariate_drift(frame(3000, 0.8), frame(2000, -0.8), {"x": "numeric", "y": "numeric"},
                                MultivariateDrift(sample_rows=3000, resamples=50), model="m")
    assert res.classifier["drifted"] and res.classifier["low"] > 0.65 and res.reconstruction["drifted"]
    return res


RESULTS = {
    "DriftReport": lambda: _drift()[0],
    "PerformanceReview": lambda: _performance()[0],
    "AlertReview": _alerts,
    "SLOReview": _slo,
    "InfrastructureReport": _infra,
    "ServiceReview": _service,
    "WeakSegments": _weak_segments,
    "MultivariateDriftResult": _multivariate,
    "DriftPerformance": _drift_performance,
    "TableResult": lambda: abtest.compare_variants(_predictions(), resamples=50),
}


# --- the protocol ------------------------------------------------------------------------------------

def _review_result_classes() -> set[str]:
    """Every class of the review packages whose `findings` is data (a property or a field), i.e. a
    review result; RowCheck.findings(anchor) is a helper method, not a result."""
    import dataclasses

    import workbench.drift
    import workbench.infrastructure
    import workbench.performance

    found = set()
    for pkg in (workbench.drift, workbench.performance, workbench.infrastructure):
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name in ("evidently",):  # imports Evidently, whose results are TableResults
                continue
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for name, cls in inspect.getmembers(mod, inspect.isclass):
                if cls.__module__ != mod.__name__:
                    continue
                attr = inspect.getattr_static(cls, "findings", None)
                fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
                if isinstance(attr, property) or "findings" in fields:
                    found.add(name)
    return found


def test_every_review_result_class_is_covered_here():
    assert _review_result_classes() == set(RESULTS) - {"TableResult"}


@pytest.mark.parametrize("name", list(RESULTS))
def test_every_result_satisfies_the_protocol(name):
    result = RESULTS[name]()
    assert type(result).__name__ == name
    assert is_result(result) and isinstance(result, ReviewResult)
    assert isinstance(result.findings, list) and result.findings
    assert all(isinstance(f, Finding) for f in result.findings)
    assert isinstance(result.headline, Mapping)
    assert isinstance(result.problems, list) and all(isinstance(p, str) for p in result.problems)
    assert isinstance(result.to_frame(), pd.DataFrame) and not result.to_frame().empty
    fig = result.plot()
    assert fig is None or isinstance(fig, matplotlib.figure.Figure)
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("name", list(RESULTS))
def test_attempt_collects_findings_headline_and_problems_of_every_result(name):
    result = RESULTS[name]()
    ctx = ReviewContext(None, WEEK, None, None, None, None, ROOT)
    assert ctx.attempt("part", lambda: result) is result
    sentences = [f.sentence for f in result.findings]  # (a finding's value may be NaN: compared by sentence)
    assert [f.sentence for f in ctx.findings] == [s for i, s in enumerate(sentences) if s not in sentences[:i]]
    assert ctx.problems == [{"section": "part", "problem": p} for p in result.problems]
    numbers = {k: v for k, v in result.headline.items() if k not in ("series", "episodes")}
    assert {k: ctx.headline[k] for k in numbers} == numbers


def test_plain_values_are_not_results():
    frame = pd.DataFrame({"findings": [1], "headline": [2], "problems": [3]})
    assert not is_result(frame) and not is_result(pd.Series([1.0])) and not is_result("run-id")
    assert not is_result(None)


# --- real values ---------------------------------------------------------------------------------------

def test_drift_report_numbers_are_scipys():
    report, ref, cur = _drift()
    d = stats.ks_2samp(ref["x"], cur["x"])
    x = report.to_frame().set_index("feature").loc["x"]
    assert x["statistic"] == pytest.approx(d.statistic) and x["status"] == "drift"
    drifted = [f for f in ("x", "y") if stats.ks_2samp(ref[f], cur[f]).pvalue < 0.05]
    assert report.headline["n_drifted"] == len(drifted) and report.headline["n_features"] == 2
    assert report.headline["drift_share"] == pytest.approx(len(drifted) / 2)
    assert report.problems == []
    assert report.plot() is not None


def test_performance_review_numbers_are_scikit_learns():
    review, df = _performance()
    accuracy = skm.accuracy_score(df["actual_outcome"], df["prediction"])
    assert review.headline["accuracy"] == pytest.approx(accuracy)
    assert review.headline["roc_auc"] == pytest.approx(skm.roc_auc_score(df["actual_outcome"], df["probability"]))
    assert review.headline["n_predictions"] == len(df)
    assert review.to_frame().set_index("metric").loc["accuracy", "this window"] == pytest.approx(accuracy)
    assert review.plot() is not None
    # the per-class metrics (what `.iloc[8:]` once cut out of the full table), by name
    details = review.summary.details().set_index("metric")
    assert list(details.index) == [k for k in performance.CLASSIFICATION_METRICS if k not in
                                    performance.warning_metrics("classification")]
    assert details.loc["recall_1", "value"] == pytest.approx(skm.recall_score(df["actual_outcome"], df["prediction"]))
    full = review.summary.to_frame(headline_only=False)
    pd.testing.assert_frame_equal(details.reset_index(), full.iloc[8:].reset_index(drop=True))


def test_table_result_of_the_ab_comparison_carries_its_decisions():
    df = _predictions()
    result = abtest.compare_variants(df, resamples=50)
    table = result.to_frame().set_index("metric")
    lab = df[df["variant"] == "B"]
    assert table.loc["accuracy", "value_B"] == pytest.approx(skm.accuracy_score(lab["actual_outcome"], lab["prediction"]))
    assert result.findings == abtest.decision_findings(result.to_frame())
    assert result.plot() is None and result.headline == {} and result.problems == []
    assert not abtest.compare_variants(df.assign(variant="A")).findings  # one variant: nothing to decide


def test_alert_review_counts_episodes_and_says_durations_as_its_table():
    result = _alerts()
    assert result.headline["alert_episodes"] == 2 and len(result.headline["episodes"]) == 2
    fired = result.to_frame().set_index("alert")
    assert fired.loc["HighErrorRate", "episodes"] == 1
    sentence = next(f.sentence for f in result.findings if f.subject == "HighErrorRate")
    assert "for 1 d 15 h." in sentence  # 38 h 45 min, written as the table's duration cell writes it
    from workbench import tables

    assert tables.duration(fired.loc["HighErrorRate", "firing_time"]) == "1 d 15 h"


def test_service_review_merges_its_parts():
    rev = _service()
    parts = [rev.slos, rev.alerts, rev.infra, rev.outages]
    assert rev.findings == [f for i, f in enumerate(sum((p.findings for p in parts), []))
                            if f not in sum((p.findings for p in parts), [])[:i]]
    episodes = rev.headline["episodes"]
    assert [e["kind"] for e in episodes] == ["page", "alert", "alert", "outage"]
    assert rev.headline["pages"] == 1 and rev.headline["alert_episodes"] == 2 and rev.headline["outages"] == 1
    assert rev.headline["error_ratio"] == 0.004
    assert rev.to_frame() is rev.infra.summary
    assert rev.problems == ["availability: Prometheus at http://x: query failed"]


def test_infrastructure_report_problems_name_the_missing_numbers():
    rep = _infra()
    assert rep.problems == ["/predict p95 latency: no data for the query"]
    assert "p95_latency_api" not in rep.headline and rep.headline["error_ratio"] == 0.004
    (f,) = [f for f in rep.findings if f.subject == "/predict error ratio"]
    assert f.severity == "warning" and "0.40% vs 0.20% the week before (+100%" in f.sentence


def test_nothing_travels_through_dataframe_attrs():
    src = ROOT / "src" / "workbench"
    offenders = [f"{p.relative_to(src)}:{i}" for p in src.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\.attrs\b", line) and not line.lstrip().startswith(("#", '"'))
                 and p.name != "result.py"]
    assert offenders == []
