"""A single-model table without model or version columns: `store.columns.model` / `version` given as
constants read the same rows as the full table's model column, on SQLite and on PostgreSQL."""

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import StoreParams
from workbench.demo import database
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
MODEL = "churn-predictor"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def urls(request, tmp_path_factory, small_history):
    """The demo table, and beside it `single`: the same rows of one model without model_name and model_version."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('single') / 'predictions.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = sa.create_engine(url)
    database.write_predictions(eng, small_history.predictions)
    full = database.predictions_table(sa.MetaData(), "predictions")
    keep = [c for c in full.c if c.name not in ("model_name", "model_version")]
    md = sa.MetaData()
    single = sa.Table("single", md, *[sa.Column(c.name, c.type) for c in keep])
    md.drop_all(eng)
    md.create_all(eng)
    with eng.begin() as conn:
        conn.execute(sa.insert(single).from_select([c.name for c in keep],
                                                   sa.select(*keep).where(full.c.model_name == MODEL)))
    eng.dispose()
    return url


def _single(url: str) -> PredictionStore:
    return PredictionStore(url, StoreParams(table="single", columns={
        "model": {"constant": MODEL}, "version": {"constant": "2.0"}}))


def test_constant_model_and_version_read_the_rows_of_that_model(urls):
    full, single = PredictionStore(urls), _single(urls)
    want = full.read(MODEL, WEEK, features=["tenure", "contract"]).sort_values("prediction_id", ignore_index=True)
    got = single.read(MODEL, WEEK, features=["tenure", "contract"]).sort_values("prediction_id", ignore_index=True)
    assert len(got) == len(want) > 0
    assert (got["model_name"] == MODEL).all() and (got["model_version"] == "2.0").all()
    pd.testing.assert_frame_equal(got.drop(columns=["model_name", "model_version"]),
                                  want.drop(columns=["model_name", "model_version"]))
    assert single.read("another-model", WEEK).empty  # the constant names the only model there is
    assert single.count(MODEL, WEEK) == full.count(MODEL, WEEK)
    assert single.count("another-model", WEEK) == 0
    assert single.newest(MODEL) == full.newest(MODEL)
    assert single.models() == [MODEL]
    assert single.versions(MODEL, WEEK) == ["2.0"]
    assert "model_name" not in single.feature_columns() and "tenure" in single.feature_columns()


def test_constant_model_counts_equal_the_model_columns_counts(urls):
    full, single = PredictionStore(urls), _single(urls)
    assert single.category_counts(MODEL, WEEK, "contract") == full.category_counts(MODEL, WEEK, "contract")
    edges = [0.0, 12.0, 24.0, 48.0, 72.0]
    got, want = single.bin_counts(MODEL, WEEK, "tenure", edges), full.bin_counts(MODEL, WEEK, "tenure", edges)
    assert got.keys() == want.keys() and sum(want["counts"]) > 0
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    pd.testing.assert_series_equal(single.hourly_counts(MODEL, WEEK), full.hourly_counts(MODEL, WEEK))
    requests = [("contract", None), ("tenure", edges)]
    single.prefetch_counts(MODEL, WEEK, requests)
    full.prefetch_counts(MODEL, WEEK, requests)
    assert single.category_counts(MODEL, WEEK, "contract") == full.category_counts(MODEL, WEEK, "contract")


def test_check_accepts_constants_and_config_names_a_model_that_does_not_match(urls, tmp_path):
    from workbench import check

    params = tmp_path / "params"
    params.mkdir()
    (params / "weekly.yaml").write_text(
        f"models:\n  - name: {MODEL}\n    type: classification\n"
        "notebooks: [02-performance-review]\n"
        f"store:\n  table: single\n  columns:\n    model: {{constant: {MODEL}}}\n    version: {{constant: 2.0}}\n")
    result = check.run_checks(params, config.Connections(None, urls, None, demo=False), unreachable=check.ERROR)
    assert result.ok, result.text()
    assert "constant 'churn-predictor'" in result.text() and "constant '2.0'" in result.text()
    (params / "weekly.yaml").write_text(
        "models:\n  - name: other\n    type: classification\n"
        f"store:\n  columns:\n    model: {{constant: {MODEL}}}\n")
    with pytest.raises(config.ConfigError, match=r"store.columns.model is the constant 'churn-predictor'"):
        config.load_weekly(params / "weekly.yaml")
