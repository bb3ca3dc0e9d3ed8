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
