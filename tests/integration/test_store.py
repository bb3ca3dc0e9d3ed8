"""The prediction store on SQLite and on a real PostgreSQL: the same tests on both."""

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import StoreParams
from workbench.demo import database
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request, tmp_path_factory, small_history):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'predictions.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = sa.create_engine(url)
    database.write_predictions(eng, small_history.predictions)
    eng.dispose()
    return url


def _expected(history, model, window):
    p = history.predictions
    return p[(p["model_name"] == model) & (p["timestamp"] >= window.start) & (p["timestamp"] < window.end)]


def test_read_window_matches_what_was_written(store_url, small_history):
    store = PredictionStore(store_url)
    df = store.read("churn-predictor", WEEK, features=["tenure", "contract"])
    exp = _expected(small_history, "churn-predictor", WEEK)
    assert len(df) == len(exp) == store.count("churn-predictor", WEEK)
    assert str(df["timestamp"].dt.tz) == "UTC"
    got = df.set_index("prediction_id").sort_index()
    want = exp.set_index("prediction_id").sort_index()
    assert (got["timestamp"] == want["timestamp"]).all()
    assert got["tenure"].equals(want["tenure"].astype(float))
    assert (got["contract"] == want["contract"]).all()
    pd.testing.assert_series_equal(got["actual_outcome"], want["actual_outcome"], check_names=False)


def test_read_feature_is_one_column(store_url):
    s = PredictionStore(store_url).read_feature("revenue-predictor", WEEK, "monthly_charges")
    assert s.name == "monthly_charges" and len(s) > 0


def test_newest_and_models(store_url, small_history):
    store = PredictionStore(store_url)
    p = small_history.predictions
    assert store.newest("churn-predictor") == p.loc[p["model_name"] == "churn-predictor", "timestamp"].max()
    assert store.models() == ["churn-predictor", "revenue-predictor"]


def test_store_is_read_only(store_url):
    store = PredictionStore(store_url)
    with pytest.raises(sa.exc.DBAPIError):
        with store.engine.begin() as c:
            c.execute(sa.text("DELETE FROM predictions"))
    assert store.count("churn-predictor", WEEK) > 0


def test_mapping_to_a_missing_column_lists_the_real_ones(store_url):
    params = StoreParams(columns={"outcome": "real_outcome"})
    with pytest.raises(ConfigError) as e:
        PredictionStore(store_url, params).read("churn-predictor", WEEK)
    assert "store.columns.outcome='real_outcome'" in str(e.value)
    assert "actual_outcome" in str(e.value) and "prediction_id" in str(e.value)


def test_unknown_table_and_feature(store_url):
    with pytest.raises(ConfigError, match="table 'nope' not found"):
        PredictionStore(store_url, StoreParams(table="nope")).count("m", WEEK)
    with pytest.raises(ConfigError, match="feature\\(s\\) colour"):
        PredictionStore(store_url).read("churn-predictor", WEEK, features=["colour"])


def test_json_feature_layout(tmp_path):
    url = f"sqlite:///{tmp_path / 'json.db'}"
    eng = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table("preds", md, sa.Column("pid", sa.String, primary_key=True), sa.Column("model", sa.String),
                 sa.Column("ver", sa.String), sa.Column("ts", sa.DateTime), sa.Column("yhat", sa.Float),
                 sa.Column("feats", sa.Text))
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(t.insert(), [{"pid": f"p{i}", "model": "m", "ver": "1", "ts": WEEK.start.replace(tzinfo=None) + pd.Timedelta(hours=i),
                                "yhat": i % 2, "feats": json.dumps({"tenure": i, "contract": "One year"})} for i in range(20)])
    params = StoreParams(table="preds", columns={"id": "pid", "model": "model", "version": "ver", "timestamp": "ts",
                                                 "prediction": "yhat", "variant": None, "probability": None,
                                                 "outcome": None, "outcome_timestamp": None},
                         features={"layout": "json", "json_column": "feats"})
    store = PredictionStore(url, params)
    assert store.feature_columns() == ["tenure", "contract"]
    s = store.read_feature("m", WEEK, "tenure")
    assert s.tolist() == list(range(20))


def test_unreachable_postgres_is_a_clear_error_without_password():
    store = PredictionStore("postgresql://app:hunter2@127.0.0.1:1/preds")
    with pytest.raises(SourceUnavailable) as e:
        store.count("m", WEEK)
    assert "hunter2" not in str(e.value) and "127.0.0.1:1" in str(e.value)
