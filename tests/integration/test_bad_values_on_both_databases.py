"""Bad values in the prediction log (NULL, NaN, ±inf) on SQLite and on a real PostgreSQL: the drift
review counts them as data-quality findings naming the column and the count, and never fails.

Expected counts come from the rows written (pandas), never from the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import DriftDetection, FeatureDrift
from workbench.drift import core as drift
from workbench.drift.profile import ReferenceProfile
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
pytestmark = pytest.mark.integration
N = 300


def _rows(rng) -> pd.DataFrame:
    """N predictions of model m in W47 with NULLs, NaN and ±inf in text, coded and numeric features."""
    ts = [WEEK.start + dt.timedelta(minutes=30 * i) for i in range(N)]
    colour = rng.choice(["red", "blue", "green"], N).astype(object)
    colour[:7] = None
    code = rng.choice([1.0, 2.0, 3.0], N)
    code[:5], code[5:7] = np.nan, np.inf  # a coded category column holding NaN and inf
    x = rng.normal(0, 1, N).astype(object)
    x[:3] = None
    x[3:7] = np.nan
    x[7:9], x[9] = np.inf, -np.inf
    return pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(N)], "model_name": "m", "model_version": "1", "variant": None,
        "timestamp": ts, "prediction": rng.integers(0, 2, N).astype(float), "probability": rng.random(N),
        "actual_outcome": rng.integers(0, 2, N).astype(float),
        "outcome_timestamp": [t + dt.timedelta(hours=5) for t in ts],
        "colour": colour, "code": code, "x": x, "w": x.copy(),
    })


def _write(url: str, df: pd.DataFrame) -> None:
    """Write the rows as they are: NaN and ±inf reach the database (PostgreSQL keeps NaN, SQLite makes it NULL)."""
    eng = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table("predictions", md, sa.Column("prediction_id", sa.String(20)), sa.Column("model_name", sa.String(20)),
                 sa.Column("model_version", sa.String(20)), sa.Column("variant", sa.String(20)),
                 sa.Column("timestamp", sa.DateTime(timezone=True)), sa.Column("prediction", sa.Float),
                 sa.Column("probability", sa.Float), sa.Column("actual_outcome", sa.Float),
                 sa.Column("outcome_timestamp", sa.DateTime(timezone=True)), sa.Column("colour", sa.String(20)),
                 sa.Column("code", sa.Float), sa.Column("x", sa.Float), sa.Column("w", sa.Float))
    md.drop_all(eng)
    md.create_all(eng)
    rows = df.astype(object).to_dict("records")
    if eng.dialect.name == "sqlite":  # naive UTC text, as SQLite stores it
        for r in rows:
            for c in ("timestamp", "outcome_timestamp"):
                r[c] = r[c].astimezone(dt.timezone.utc).replace(tzinfo=None)
    with eng.begin() as c:
        c.execute(t.insert(), rows)
    eng.dispose()


def _bad_predictions(rng) -> pd.DataFrame:
    """Model p: a classifier's rows with impossible probabilities and labels, repeated ids and an
    outcome stamped before its prediction."""
    df = _rows(rng).assign(model_name="p")
    df["prediction_id"] = [f"q{i}" for i in range(N)]
    df["prediction"] = (df["probability"] >= 0.5).astype(float)
    df.loc[0:2, "probability"] = [np.inf, 1.7, -0.2]
    df.loc[3:4, "actual_outcome"] = [2.0, -1.0]
    df.loc[5, "outcome_timestamp"] = df.loc[5, "timestamp"] - dt.timedelta(minutes=1)
    df.loc[100:109, "prediction_id"] = [f"q{i}" for i in range(10, 20)]  # logged twice
    return df


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bad_store(request, tmp_path_factory):
    rng = np.random.default_rng(19)
    df = pd.concat([_rows(rng), _bad_predictions(rng)], ignore_index=True)
    url = (f"sqlite:///{tmp_path_factory.mktemp('dq') / 'p.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    _write(url, df)
    return url, df


def _missing(values) -> int:
    return int(sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in values))


def _infinite(values) -> int:
    return int(sum(isinstance(v, float) and np.isinf(v) for v in values))


def test_drift_review_counts_nulls_nan_and_inf_in_every_column_as_findings(bad_store):
    """As the review runs it: the span read once (SQLite) or every count in one scan (PostgreSQL),
    then each feature from the store. A NULL category failed the whole review on SQLite."""
    url, df = bad_store
    df = df[df["model_name"] == "m"]
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], 2000),
                              "code": rng.choice([1.0, 2.0, 3.0], 2000),
                              "x": rng.normal(0, 1, 2000), "w": rng.normal(0, 1, 2000)})
    features = {"colour": FeatureDrift(), "code": FeatureDrift(type="categorical"), "x": FeatureDrift(method="ks"),
                "w": FeatureDrift(method="psi")}
    profile = ReferenceProfile.fit(reference, list(features), kinds={f: c.kind for f, c in features.items()})
    store = PredictionStore(url)
    ctx = SimpleNamespace(store=store, model=SimpleNamespace(name="m"), window=WEEK)
    drift.prefetch(ctx, WEEK, profile, features)
    report = drift.detect_drift(profile, lambda f, kind: drift.store_sample(store, "m", WEEK, profile[f],
                                                                            features[f].method),
                                DriftDetection(), "m", features, window_rows=N)
    assert all(r.status in ("drift", "no drift") for r in report.results)
    quality = [f for f in report.findings if f.kind == "data_quality"]
    missing = {f.extra["column"]: f.extra["count"] for f in quality if "NULL or NaN" in f.sentence}
    infinite = {f.extra["column"]: f.extra["count"] for f in quality if "±inf" in f.sentence}
    assert missing == {c: _missing(df[c]) for c in ("colour", "code", "x", "w")} == {"colour": 7, "code": 5,
                                                                                     "x": 7, "w": 7}
    assert infinite == {c: _infinite(df[c]) for c in ("code", "x", "w")} == {"code": 2, "x": 3, "w": 3}
    assert all(f.anchor == "data-quality" and f.subject in f.sentence for f in quality if "column" in f.extra)
    # NaN / inf are never categories of their own
    code = next(r for r in report.results if r.feature == "code")
    assert not code.new_categories and code.n_current == N - 7


def test_performance_review_leaves_invalid_rows_out_and_says_so(bad_store):
    from sklearn import metrics as skm

    from workbench.performance import core as performance

    url, df = bad_store
    store = PredictionStore(url)
    assert store.repeated_ids("p", WEEK) == 10 and store.repeated_ids("m", WEEK) == 0
    params = config.WeeklyParams.model_validate({"models": [{"name": "p", "type": "classification"}],
                                                 "performance": {"bootstrap_resamples": 0}})
    ctx = SimpleNamespace(model=params.models[0], window=WEEK, params=params, store=store,
                          has=lambda s: False, params_path=lambda kind: Path("/nonexistent") / f"{kind}.yaml")
    r = performance.review(ctx)
    p = df[df["model_name"] == "p"]
    ok = p.iloc[6:][~p["prediction_id"].iloc[6:].duplicated()]
    assert r.summary.n_left_out == len(p) - len(ok) == 16
    assert r.summary.metrics["accuracy"] == pytest.approx(skm.accuracy_score(ok["actual_outcome"], ok["prediction"]))
    assert r.summary.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(ok["actual_outcome"], ok["probability"]))
    got = {(f.extra["column"], f.extra["problem"]): f.extra["count"] for f in r.findings if f.kind == "data_quality"}
    assert got == {("probability", "±inf"): 1, ("probability", "outside [0, 1]"): 2,
                   ("actual_outcome", "outside the classes 0, 1"): 2,
                   ("prediction_id", "an id logged before (a repeated prediction)"): 10,
                   ("outcome_timestamp", "before the prediction's timestamp"): 1}
