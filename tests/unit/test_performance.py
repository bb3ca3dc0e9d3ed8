"""Performance metrics against scikit-learn, and the cases where a metric cannot be computed."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from workbench.performance import core as performance
from workbench.config import ModelSpec


def _clf_frame(rng, n=500):
    y = rng.integers(0, 2, n)
    p = np.clip(y * 0.6 + rng.normal(0.2, 0.25, n), 0, 1)
    return pd.DataFrame({"actual_outcome": y.astype(float), "prediction": (p >= 0.5).astype(float), "probability": p,
                         "model_version": "1", "timestamp": pd.date_range("2026-11-16", periods=n, freq="15min", tz="UTC")})


def test_classification_matches_sklearn(rng):
    df = _clf_frame(rng)
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"))
    y, yhat, p = df["actual_outcome"], df["prediction"], df["probability"]
    assert s.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat))
    assert s.metrics["precision"] == pytest.approx(skm.precision_score(y, yhat, average="weighted"))
    assert s.metrics["recall"] == pytest.approx(skm.recall_score(y, yhat, average="weighted"))
    assert s.metrics["f1"] == pytest.approx(skm.f1_score(y, yhat, average="weighted"))
    assert s.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))


def test_unlabelled_rows_are_left_out_and_counted(rng):
    df = _clf_frame(rng, 200)
    df.loc[:49, "actual_outcome"] = np.nan
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"))
    assert s.n_predictions == 200 and s.n_labelled == 150 and s.label_coverage == 0.75
    lab = df.dropna(subset=["actual_outcome"])
    assert s.metrics["accuracy"] == pytest.approx(skm.accuracy_score(lab["actual_outcome"], lab["prediction"]))


def test_minimum_sample_guard(rng):
    df = _clf_frame(rng, 9)
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"), min_samples=10)
    assert all(v is None for v in s.metrics.values())
    assert "9 labelled predictions, need 10" in s.notes["accuracy"]


def test_one_class_makes_auc_undefined_with_reason(rng):
    df = _clf_frame(rng, 100)
    df["actual_outcome"] = 1.0
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"))
    assert s.metrics["roc_auc"] is None
    assert "only one class" in s.notes["roc_auc"]
    assert s.metrics["accuracy"] == pytest.approx(skm.accuracy_score(df["actual_outcome"], df["prediction"]))


def test_regression_matches_sklearn_and_handles_zero_actuals(rng):
    y = rng.gamma(2, 10, 300)
    y[:5] = 0.0
    yhat = y + rng.normal(0, 2, 300)
    vals, notes, _ = performance.regression_metrics(y, yhat)
    assert vals["mae"] == pytest.approx(skm.mean_absolute_error(y, yhat))
    assert vals["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, yhat)))
    assert vals["r2"] == pytest.approx(skm.r2_score(y, yhat))
    assert vals["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y[5:], yhat[5:]))
    assert "5 zero actuals left out" in notes["mape"]
    vals, notes, _ = performance.regression_metrics(np.zeros(20), np.ones(20))
    assert vals["mape"] is None and "every actual is zero" in notes["mape"]
    assert vals["r2"] is None


def test_baseline_flags_accuracy_below_threshold():
    s = performance.PerformanceSummary("m", "classification", 100, 100, {"accuracy": 0.7, "f1": 0.8})
    df = performance.against_baseline(s, {"accuracy": 0.85}, 0.75).set_index("metric")
    assert df.loc["accuracy", "change"] == pytest.approx(-0.15)
    assert "below alert threshold" in df.loc["accuracy", "alert"]
    assert df.loc["f1", "alert"] == ""


def test_trend_by_day_and_version(rng):
    df = _clf_frame(rng, 500)
    t = performance.trend(df, ModelSpec(name="m", type="classification"))
    assert len(t) == df["timestamp"].dt.floor("D").nunique()
    day = df[df["timestamp"].dt.floor("D") == t["period"].iloc[0]]
    assert t["accuracy"].iloc[0] == pytest.approx(skm.accuracy_score(day["actual_outcome"], day["prediction"]))


def test_predictions_by_class():
    df = pd.DataFrame({"prediction": [0.0, 1.0, 1.0, 0.0, 1.0]})
    out = performance.predictions_by_class(df)
    assert out["class"].tolist() == ["0", "1"] and out["predictions"].tolist() == [2, 3]


def test_every_metric_has_a_bootstrap_interval_around_it(rng):
    df = _clf_frame(rng, 800)
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"), resamples=300, seed=1)
    frame = s.to_frame().set_index("metric")
    for k, row in frame.iterrows():
        assert row["ci_low"] <= row["value"] <= row["ci_high"], k


def test_relative_drop_against_baseline_is_flagged_in_the_right_direction():
    s = performance.PerformanceSummary("m", "regression", 100, 100, {"mae": 6.0, "rmse": 7.0, "mape": 0.08, "r2": 0.80})
    df = performance.against_baseline(s, {"mae": 5.0, "rmse": 7.0, "mape": 0.08, "r2": 0.95}, tolerance=0.05).set_index("metric")
    assert "20.0% above baseline" in df.loc["mae", "alert"]  # error metric went up: worse
    assert "below baseline" in df.loc["r2", "alert"]
    assert df.loc["rmse", "alert"] == ""


def test_calibration_curve_and_ece(rng):
    from sklearn.calibration import calibration_curve

    df = _clf_frame(rng, 3000)
    curve, ece = performance.calibration(df)
    true, pred = calibration_curve(df["actual_outcome"], df["probability"], n_bins=10)
    np.testing.assert_allclose(curve["observed_rate"], true)
    assert 0 <= ece <= 1


def test_partially_missing_probabilities_are_reported_not_ranked(rng):
    df = _clf_frame(rng, 200)
    df.loc[:9, "probability"] = np.nan
    s = performance.evaluate(df, ModelSpec(name="m", type="classification"))
    assert s.metrics["roc_auc"] is None and "10 labelled predictions have no probability" in s.notes["roc_auc"]
    assert s.metrics["accuracy"] == pytest.approx(skm.accuracy_score(df["actual_outcome"], df["prediction"]))


def test_positive_class_is_respected(rng):
    """positive_class=0 on the same rows: per-class metrics are class 0's and probability metrics use
    P(class 0) = 1 - probability (the logged probability is that of class 1)."""
    df = _clf_frame(rng, 300)
    y, yhat, p = df["actual_outcome"], df["prediction"], df["probability"]
    s = performance.evaluate(df, ModelSpec(name="m", type="classification", positive_class=0))
    assert s.metrics["precision_1"] == pytest.approx(skm.precision_score(y, yhat, pos_label=0))
    assert s.metrics["recall_1"] == pytest.approx(skm.recall_score(y, yhat, pos_label=0))
    assert s.metrics["f1_1"] == pytest.approx(skm.f1_score(y, yhat, pos_label=0))
    assert s.metrics["pr_auc"] == pytest.approx(skm.average_precision_score(y == 0, 1 - p))
    assert s.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 0, 1 - p))
    assert s.metrics["brier"] == pytest.approx(skm.brier_score_loss(y == 0, 1 - p))
    # the check can fail: class 1's precision and PR AUC differ from class 0's on these rows
    assert skm.precision_score(y, yhat, pos_label=1) != pytest.approx(skm.precision_score(y, yhat, pos_label=0))
    assert skm.average_precision_score(y, p) != pytest.approx(skm.average_precision_score(y == 0, 1 - p))


def test_under_the_runner_the_kernel_hands_its_metrics_over_instead_of_opening_mlflow(monkeypatch):
    """With results_log.BY_RUNNER_ENV set (workbench report sets it), log_results never touches the
    MLflow client: the request goes to ctx.outputs for the runner, and the report says where it went."""
    from types import SimpleNamespace

    from workbench import results_log

    class OpenedMLflow(Exception):
        pass

    class NoClient:
        @property
        def client(self):
            raise OpenedMLflow("the kernel opened MLflow")

        def error(self, step, exc):  # as ModelRegistry.error: the exception to raise
            return exc

    summary = performance.PerformanceSummary("m", "classification", 100, 80, {"accuracy": 0.8, "f1": None},
                                             {}, {"accuracy": (0.7, 0.9), "f1": (np.nan, np.nan)})
    perf = performance.PerformanceReview(summary, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                         pd.DataFrame(), versions=["2"])
    from workbench import config

    ctx = SimpleNamespace(model=SimpleNamespace(name="m"), window=config.iso_week("2026-W47"), outputs={},
                          registry=NoClient())
    monkeypatch.setenv(results_log.BY_RUNNER_ENV, "1")
    assert performance.log_results(ctx, perf) == ""
    req = ctx.outputs["mlflow_log"]
    assert req == {"model": "m", "period": "2026-W47", "versions": ["2"],
                   "tags": {"workbench.status": "ok", "workbench.partial": "false",
                            "workbench.data_until": "2026-11-23T00:00:00+00:00"},
                   "metrics": {"accuracy": 0.8, "accuracy_ci_low": 0.7, "accuracy_ci_high": 0.9,
                               "predictions": 100.0, "labelled": 80.0, "label_coverage": 0.8}}
    # a --partial week is marked as such in MLflow (19.8.8), with the hour its data ends
    partial = config.resolve_window("2026-W47", dt.datetime(2026, 11, 19, 14, 30, tzinfo=dt.timezone.utc), True)
    ctx.window = partial
    performance.log_results(ctx, perf)
    assert ctx.outputs["mlflow_log"]["tags"] == {"workbench.status": "ok", "workbench.partial": "true",
                                                 "workbench.data_until": partial.end.isoformat()}
    assert partial.partial and partial.end < config.iso_week("2026-W47").end
    ctx.window = config.iso_week("2026-W47")
    note = performance.mlflow_note(ctx, "")
    assert "by <code>workbench report</code>" in note and "“m 2026-W47”" in note
    # without the runner the kernel logs itself: here that means opening the client
    monkeypatch.delenv(results_log.BY_RUNNER_ENV)
    with pytest.raises(OpenedMLflow):
        performance.log_results(ctx, perf)
    assert performance.mlflow_note(ctx, "abc") == ("<p>MLflow run <code>abc</code> in experiment "
                                                   "workbench-weekly-reviews.</p>")
