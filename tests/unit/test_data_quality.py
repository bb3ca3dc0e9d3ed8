"""Bad data as findings, never a failed review: NULL categories in SQLite's preloaded span, NaN and
±inf among category values, identifier columns configured as features, new categories.

Expected values come from the rows written (pandas / numpy), never from the code under test."""

from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pandas as pd
import pytest

from workbench import config
from workbench.drift import core as drift
from workbench.drift.profile import CurrentSample, FeatureProfile
from workbench.sources.base import PredictionSource
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")


def _sqlite(path, df: pd.DataFrame) -> str:
    out = df.copy()
    out["timestamp"] = [t.strftime("%Y-%m-%d %H:%M:%S") for t in out["timestamp"]]
    with sqlite3.connect(path) as con:
        out.to_sql("predictions", con, index=False)
    return f"sqlite:///{path}"


def _frame(rng, n=120) -> pd.DataFrame:
    colour = rng.choice(["red", "blue", None], n)
    return pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "model_name": "m", "model_version": "1",
                         "variant": None, "timestamp": [WEEK.start + dt.timedelta(hours=i) for i in range(n)],
                         "prediction": 1.0, "probability": 0.5, "actual_outcome": 1.0, "outcome_timestamp": None,
                         "colour": colour, "x": rng.normal(0, 1, n)})


def test_preloaded_span_counts_null_categories_as_missing(tmp_path, rng):
    """SQLite's span reader (one read of the drift review's columns) counted a NULL category with
    np.bincount of code -1, which fails: the whole drift review failed on any NULL category."""
    df = _frame(rng)
    store = PredictionStore(_sqlite(tmp_path / "p.db", df))
    assert store.preload("m", WEEK, ["colour", "x"])
    counts, missing = store.category_counts("m", WEEK, "colour")
    assert counts == df["colour"].dropna().value_counts().to_dict()
    assert missing == df["colour"].isna().sum() > 0
    daily = {day: (c, m) for day, c, m, _ in store.daily_counts("m", WEEK, "colour")}
    by_day = df.groupby(df["timestamp"].dt.floor("D"))["colour"]
    assert {d: m for d, (_, m) in daily.items()} == by_day.apply(lambda s: int(s.isna().sum())).to_dict()


def test_nan_and_inf_are_never_categories():
    """A coded categorical column holding NaN and ±inf (PostgreSQL groups NaN as a value): counted as
    missing and non-finite, as pandas counts a read column, not as categories "nan" and "inf"."""
    values = pd.Series([1.0, 2.0, 2.0, np.nan, np.inf, -np.inf, None, 3.0], dtype=object)
    local = CurrentSample.from_series("code", values, "categorical")
    raw = {1.0: 1, 2.0: 2, float("nan"): 1, float("nan"): 1, float("inf"): 1, float("-inf"): 1, 3.0: 1}
    pushed = CurrentSample.from_counts("code", raw, 0)
    for s in (local, pushed):
        assert s.categories == {"2": 2, "1": 1, "3": 1}
        assert (s.n, s.n_nonfinite) == (4, 2)
    assert local.n_missing == 2 and pushed.n_missing == 2


def test_an_identifier_column_is_a_finding_not_no_drift(rng):
    """An id column configured as a feature: the reference keeps its top 50 ids and OTHER, so every
    new id fell into OTHER and the feature was called "no drift"."""
    ref = FeatureProfile.fit("customer_id", pd.Series([f"c{i}" for i in range(5000)]))
    assert ref.truncated and ref.kind == "categorical"
    cur = CurrentSample.from_series("customer_id", pd.Series([f"c{i}" for i in range(10_000, 11_000)]), "categorical")
    r = drift.compare_feature(ref, cur)
    assert r.status == drift.IDENTIFIER and r.drifted is None
    report = drift.DriftReport("m", [r], window_rows=1000)
    f = next(f for f in report.findings if f.subject == "customer_id")
    assert f.kind == "data_quality" and f.severity == "warning" and "looks like an identifier" in f.sentence
    assert f.extra == {"column": "customer_id", "count": 1000} and "1,000 values" in f.sentence
    assert report.drift_share == 0 and not report.evaluated  # not counted as a feature without drift
    # a category column whose values all changed coding is not an identifier (few distinct values)
    recoded = CurrentSample.from_series("contract", pd.Series(["a", "b"] * 500), "categorical")
    plain = FeatureProfile.fit("contract", pd.Series(["A", "B"] * 500))
    assert drift.compare_feature(plain, recoded).status in ("drift", "no drift")


def test_new_category_finding_counts_the_rows(rng):
    ref = FeatureProfile.fit("contract", pd.Series(rng.choice(["A", "B"], 2000)))
    values = pd.Series(["A"] * 570 + ["B"] * 380 + ["C"] * 50)
    r = drift.compare_feature(ref, CurrentSample.from_series("contract", values, "categorical"))
    f = next(f for f in drift.DriftReport("m", [r]).findings if f.kind == "data_quality")
    assert f.extra == {"column": "contract", "count": 50}
    assert "(50 values, 5.0% of the window): 'C'" in f.sentence


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_missing_values_are_a_finding_even_within_the_tolerance(kind, rng):
    ref_values = pd.Series(rng.normal(0, 1, 500) if kind == "numeric" else rng.choice(["A", "B"], 500))
    cur_values = ref_values.astype(object).copy()
    cur_values[:4] = None
    ref = FeatureProfile.fit("f", ref_values, kind=kind)
    r = drift.compare_feature(ref, CurrentSample.from_series("f", cur_values, kind))
    f = next(f for f in drift.DriftReport("m", [r]).findings if f.kind == "data_quality")
    assert f.severity == "info" and f.extra == {"column": "f", "count": int(cur_values.isna().sum())}


# --- the performance review: invalid rows are findings, the metrics use the valid ones ----------------

from sklearn import metrics as skm  # noqa: E402

from workbench.config import ModelSpec  # noqa: E402
from workbench.errors import ConfigError  # noqa: E402
from workbench.performance import core as performance, validity  # noqa: E402

CLF = ModelSpec(name="m", type="classification")


def _clf(rng, n=400) -> pd.DataFrame:
    prob = rng.random(n)
    ts = WEEK.start + pd.to_timedelta(rng.uniform(0, 6 * 86400, n), unit="s")
    return pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "model_version": "1", "timestamp": ts,
                         "probability": prob, "prediction": (prob >= 0.5).astype(float),
                         "actual_outcome": (rng.random(n) < prob).astype(float),
                         "outcome_timestamp": ts + pd.Timedelta(hours=3)})


def _spoil(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Bad values in every column the metrics read; returns the frame and which rows stay valid."""
    bad = df.astype({"actual_outcome": object, "probability": object, "prediction": object}).copy()
    bad.loc[0:2, "probability"] = [np.inf, 1.7, -0.2]
    bad.loc[3, "probability"] = -np.inf
    bad.loc[4:5, "actual_outcome"] = [2.0, -1.0]
    bad.loc[6, "actual_outcome"] = "yes"
    bad.loc[7, "prediction"] = 2.0
    bad.loc[8, "prediction"] = None
    bad.loc[9:11, "prediction_id"] = ["p20", "p21", "p22"]  # logged twice: p20..p22 come later, the first is kept
    bad.loc[12, "outcome_timestamp"] = bad.loc[12, "timestamp"] - pd.Timedelta(minutes=1)
    keep = np.ones(len(df), bool)
    keep[:13] = False
    keep[[20, 21, 22]] = False  # the repeats are the later rows
    keep[[9, 10, 11]] = True
    return bad, keep


def test_invalid_rows_are_left_out_and_the_metrics_equal_scikit_learn_on_the_rest(rng):
    df = _clf(rng)
    bad, keep = _spoil(df)
    s = performance.evaluate(bad, CLF)
    ok = df[keep]
    assert s.n_left_out == (~keep).sum() == 13
    assert s.metrics["accuracy"] == pytest.approx(skm.accuracy_score(ok["actual_outcome"], ok["prediction"]))
    assert s.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(ok["actual_outcome"], ok["probability"]))
    assert s.metrics["log_loss"] == pytest.approx(skm.log_loss(ok["actual_outcome"], ok["probability"]))
    assert s.metrics["f1"] == pytest.approx(skm.f1_score(ok["actual_outcome"], ok["prediction"], average="weighted"))
    assert "13 left out" in s.notes["accuracy"] and "2 with probability outside [0, 1]" in s.notes["roc_auc"]


def test_each_kind_of_invalid_value_is_a_finding_naming_column_and_count(rng):
    bad, _ = _spoil(_clf(rng))
    _, check = validity.check_rows(bad, CLF)
    got = {(f.extra["column"], f.extra["problem"]): f.extra["count"] for f in check.findings()}
    assert got == {("probability", "±inf"): 2, ("probability", "outside [0, 1]"): 2,
                   ("actual_outcome", "outside the classes 0, 1"): 2, ("actual_outcome", "not a number"): 1,
                   ("prediction", "outside the classes 0, 1"): 1, ("prediction", "missing (NULL or NaN)"): 1,
                   ("prediction_id", "an id logged before (a repeated prediction)"): 3,
                   ("outcome_timestamp", "before the prediction's timestamp"): 1}
    f = next(f for f in check.findings() if f.subject == "actual_outcome" and "not a number" in f.sentence)
    assert f.kind == "data_quality" and "'yes'" in f.sentence and f.severity == "warning"


def test_a_label_yes_names_its_column_instead_of_failing_the_review(rng):
    df = _clf(rng).astype({"actual_outcome": object})
    df.loc[0, "actual_outcome"] = "yes"
    r = performance.review(_Ctx(df))
    assert r.summary.n_left_out == 1 and r.confusion_matrix().to_numpy().sum() == len(df) - 1
    assert any(f.subject == "actual_outcome" and "not a number in 1 row (e.g. 'yes')" in f.sentence for f in r.findings)


def test_missing_probabilities_are_counted_but_keep_their_rows(rng):
    df = _clf(rng)
    df.loc[:9, "probability"] = np.nan
    s = performance.evaluate(df, CLF)
    assert s.n_left_out == 0 and s.metrics["roc_auc"] is None
    _, check = validity.check_rows(df, CLF)
    assert [(f.subject, f.extra["count"]) for f in check.findings()] == [("probability", 10)]


def test_regression_is_checked_for_non_numbers_and_inf_only(rng):
    y = rng.normal(10, 2, 200)
    df = pd.DataFrame({"prediction": y + rng.normal(0, 1, 200), "actual_outcome": y.astype(object)})
    df.loc[0, "actual_outcome"], df.loc[1, "prediction"] = np.inf, np.nan
    s = performance.evaluate(df, ModelSpec(name="r", type="regression"))
    ok = df.iloc[2:]
    assert s.n_left_out == 2
    assert s.metrics["mae"] == pytest.approx(skm.mean_absolute_error(ok["actual_outcome"].astype(float), ok["prediction"]))


def test_float_predictions_under_classification_are_refused_with_the_fix(rng):
    """A regression table declared classification: the review stops with the fix before any per-class
    table (the confusion matrix of 100k float 'classes' was ~22 GB)."""
    df = _clf(rng, 2000).assign(prediction=lambda d: rng.normal(50, 10, len(d)))
    with pytest.raises(ConfigError, match=r"models\[m\].type is classification.*2,000 distinct values.*declare type: regression"):
        performance.evaluate(df, CLF)
    with pytest.raises(ConfigError, match="declare type: regression"):
        performance.review(_Ctx(df))


class _Store(PredictionSource):
    """The rows of a frame, as PredictionStore.read returns them (and repeated ids counted)."""

    KEYS = {"id": "prediction_id", "version": "model_version", "variant": "variant", "timestamp": "timestamp",
            "prediction": "prediction", "probability": "probability", "outcome": "actual_outcome",
            "outcome_timestamp": "outcome_timestamp"}

    def __init__(self, df):
        self.df = df

    def read(self, model, window, features=(), core=None):
        df = self.df[(self.df["timestamp"] >= window.start) & (self.df["timestamp"] < window.end)]
        return df[[self.KEYS[k] for k in core if self.KEYS[k] in df]].reset_index(drop=True)

    def repeated_ids(self, model, window):
        return int(self.read(model, window, core=["id"])["prediction_id"].duplicated().sum())

    def describe(self):
        return "prediction DB at sqlite:///x"

    def newest(self, model):
        return self.df["timestamp"].max()

    def models(self):
        return ["m"]

    def feature_columns(self):
        return []


class _Ctx:
    def __init__(self, df):
        self.params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                          "performance": {"bootstrap_resamples": 0}})
        self.model, self.window, self.store = self.params.models[0], WEEK, _Store(df)

    def has(self, source):
        return False

    def params_path(self, kind):
        from pathlib import Path

        return Path("/nonexistent") / f"{kind}.yaml"


def test_review_counts_repeated_ids_once_and_reports_them(rng):
    df = _clf(rng)
    twice = pd.concat([df, df.iloc[:25]], ignore_index=True)
    r = performance.review(_Ctx(twice))
    assert r.summary.n_predictions == len(df) and r.summary.n_left_out == 25
    assert r.summary.metrics["accuracy"] == pytest.approx(skm.accuracy_score(df["actual_outcome"], df["prediction"]))
    f = next(f for f in r.findings if f.subject == "prediction_id")
    assert f.extra["count"] == 25 and f.kind == "data_quality" and f.anchor in performance_anchors()


def performance_anchors():
    from workbench.reviews import review

    return review("performance").anchors()


def test_a_numeric_identifier_is_a_finding_not_no_drift(rng):
    """Random integer ids: the week's ids are all new, yet drawn from the same range, so KS says "no drift"."""
    ref = FeatureProfile.fit("account", pd.Series(rng.choice(10**9, 5000, replace=False).astype(float)))
    assert ref.kind == "numeric"
    cur_ids = rng.choice(10**9, 3000, replace=False).astype(float)
    cur_ids = cur_ids[~np.isin(cur_ids, ref.sorted_values)]  # new accounts only
    r = drift.compare_feature(ref, CurrentSample.from_series("account", pd.Series(cur_ids), "numeric"))
    assert r.status == drift.IDENTIFIER and f"all {len(cur_ids):,} values" in r.message
    # a measured whole-number feature shares values with its reference: tested as usual
    tenure = FeatureProfile.fit("tenure", pd.Series(rng.integers(0, 72, 5000).astype(float)))
    r = drift.compare_feature(tenure, CurrentSample.from_series("tenure", pd.Series(rng.integers(0, 72, 3000).astype(float)), "numeric"))
    assert r.status in ("drift", "no drift")
    # continuous values are always new: never an identifier
    charges = FeatureProfile.fit("charges", pd.Series(rng.normal(70, 20, 5000)))
    r = drift.compare_feature(charges, CurrentSample.from_series("charges", pd.Series(rng.normal(70, 20, 3000)), "numeric"))
    assert r.status in ("drift", "no drift")


def test_the_confusion_matrix_refuses_many_classes_before_allocating(rng):
    """k classes are k x k cells: 100,000 float 'classes' were ~80 GB before this guard."""
    df = _clf(rng, 400).assign(prediction=lambda d: np.arange(len(d), dtype=float))
    r = performance.PerformanceReview(performance.evaluate(df.iloc[:0], CLF), pd.DataFrame(), pd.DataFrame(),
                                      pd.DataFrame(), df, df.iloc[:0])
    from workbench.errors import InsufficientData

    k = len(np.union1d(df["actual_outcome"], df["prediction"]))
    with pytest.raises(InsufficientData, match=f"a confusion matrix of {k:,} classes is not drawn"):
        r.confusion_matrix()
    small = performance.PerformanceReview(r.summary, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                          _clf(rng, 400), df.iloc[:0])
    d = small.window_predictions
    np.testing.assert_array_equal(small.confusion_matrix().to_numpy(),
                                  skm.confusion_matrix(d["actual_outcome"], d["prediction"]))


def test_a_regression_model_without_probabilities_has_no_probability_finding(rng):
    df = pd.DataFrame({"prediction": rng.normal(0, 1, 50), "actual_outcome": rng.normal(0, 1, 50), "probability": np.nan})
    assert validity.check_rows(df, ModelSpec(name="r", type="regression"))[1].findings() == []
