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
    edge = small_history.predictions.head(60).copy()
    edge["model_name"] = "edge-model"
    edge["prediction_id"] = [f"edge-{i}" for i in range(60)]
    edge["timestamp"] = WEEK.start + pd.to_timedelta(range(60), unit="min")
    edge.loc[edge.index[:3], "monthly_charges"] = [float("inf"), float("-inf"), float("nan")]
    edge.loc[edge.index[3:5], "contract"] = None
    database.write_predictions(eng, pd.concat([small_history.predictions, edge], ignore_index=True))
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
    assert store.models() == ["churn-predictor", "edge-model", "revenue-predictor"]


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


@pytest.mark.parametrize("model", ["churn-predictor", "edge-model"])
def test_counts_in_the_database_equal_counts_in_memory(store_url, small_history, model):
    from workbench.drift.core import plot_edges, store_sample
    from workbench.drift.profile import CurrentSample, FeatureProfile

    store = PredictionStore(store_url)
    ref = small_history.references[("churn-predictor", "1.2.0")]
    values = store.read(model, WEEK, features=["monthly_charges", "contract"], core=[])
    for feature, method in (("monthly_charges", "psi"), ("contract", "psi"), ("monthly_charges", "chi2")):
        prof = FeatureProfile.fit(feature, ref[feature])
        pushed = store_sample(store, model, WEEK, prof, method)
        local = CurrentSample.from_series(feature, values[feature], prof.kind)
        assert (pushed.n, pushed.n_missing, pushed.n_nonfinite) == (local.n, local.n_missing, local.n_nonfinite)
        if prof.kind == "numeric":
            assert pushed.bin_counts.tolist() == local.binned(prof).tolist()
            assert pushed.out_of_range(prof) == local.out_of_range(prof)
            from workbench.drift.profile import counts_in_bins
            assert pushed.plot_counts.tolist() == counts_in_bins(local.sorted_values, plot_edges(prof)).tolist()
        else:
            assert pushed.categories == local.categories
    if model == "edge-model":
        local = CurrentSample.from_series("monthly_charges", values["monthly_charges"], "numeric")
        assert local.n_nonfinite == 2 and local.n_missing == 1


def test_streamed_values_equal_read_values(store_url):
    import numpy as np

    store = PredictionStore(store_url)
    a = store.feature_values("edge-model", WEEK, "monthly_charges", chunk=7)
    b = store.read_feature("edge-model", WEEK, "monthly_charges").to_numpy(dtype=float)
    np.testing.assert_array_equal(np.sort(a), np.sort(b))


def test_postgres_readers_give_read_sqls_frame_for_every_type_and_hostile_text(postgres_url):
    """PostgreSQL rows come as one row of whole-column arrays (or, past the 1 GB value limit, as CSV
    from COPY): no Python object per row. The frame must be what
    pandas.read_sql gives: NULL vs empty text, text that looks like a number, NULL or 'NaN' markers,
    quotes, commas, newlines, NaN/±Infinity, float4, integers with and without NULL, booleans,
    timestamps with and without time zone, JSON keys extracted in SQL; and an empty window."""
    eng = sa.create_engine(postgres_url)
    hostile = ["", "1", "1.0", "NA", "NaN", "null", "\\N", 'a,"b"', "line\nbreak", "ünï €", "\\r\x1e\\\\", None]
    n = len(hostile)
    rows = pd.DataFrame({
        "pid": [f"p{i}" for i in range(n)], "model": "m1",
        "ts": [WEEK.start + pd.Timedelta(minutes=i) for i in range(n)],
        "ts_naive": [pd.Timestamp("2026-11-16 00:00:00.123456") + pd.Timedelta(hours=i) if i % 4 else None for i in range(n)],
        "version": hostile, "pred": [i % 2 for i in range(n)],
        "outcome": [None if i % 3 == 0 else i % 2 for i in range(n)],
        "prob": [0.1, float("nan"), float("inf"), float("-inf"), 1 / 3, None, 0.5, 1e-300, 2.5e300, 0.0, -0.0, 7.0],
        "prob4": [0.1, 1 / 3, None, 0.7, 1e-20, 3.4e38, 0.0, 2.0, 0.3, 0.25, 0.9, 0.5],
        "flag": [True, False] * 5 + [None, True], "flag_full": [True, False] * 6,
        "payload": [{"code": v, "x": i * 1.5} for i, v in enumerate(hostile)],
    })
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE copy_types (pid text, model text, ts timestamptz, ts_naive timestamp, "
                          "version text, pred int, outcome int, prob float8, prob4 real, flag boolean, "
                          "flag_full boolean, payload jsonb)"))
    rows.to_sql("copy_types", eng, if_exists="append", index=False,
                dtype={"payload": sa.dialects.postgresql.JSONB, "prob4": sa.REAL})
    store = PredictionStore(postgres_url, StoreParams(
        table="copy_types", columns={"id": "pid", "model": "model", "version": "version", "timestamp": "ts",
                                     "prediction": "pred", "outcome": "outcome", "probability": "prob",
                                     "variant": None, "outcome_timestamp": None},
        features={"layout": "json", "json_column": "payload"}))
    t = store.table()
    for cols in ([t.c.pid, t.c.version, t.c.ts, t.c.ts_naive, t.c.pred, t.c.outcome, t.c.prob, t.c.prob4,
                  t.c.flag, t.c.flag_full],
                 [store._feature_col("code").label("code"), store._feature_col("x").label("x")]):
        stmt = sa.select(*cols).where(t.c.model == "m1").order_by(t.c.ts)
        with eng.connect() as c:
            want = pd.read_sql(stmt, c)
        got = store._array_frame(stmt)
        pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(store._copy_frame(stmt), want)  # the fallback past the 1 GB value limit
    assert got["code"].tolist() == hostile  # "" and "\\N" stay text, NULL is None
    empty = sa.select(t.c.pid, t.c.pred).where(t.c.model == "nobody")
    with eng.connect() as c:
        pd.testing.assert_frame_equal(store._array_frame(empty), pd.read_sql(empty, c))
        pd.testing.assert_frame_equal(store._copy_frame(empty), pd.read_sql(empty, c))
    # past PostgreSQL's 1 GB value limit the read falls back to COPY, typed the same way
    import psycopg

    real = psycopg.Cursor.execute

    def too_big(cur, query, *a, **k):
        if "array_agg" in str(query):
            raise psycopg.errors.ProgramLimitExceeded("array size exceeds the maximum allowed (1073741823)")
        return real(cur, query, *a, **k)

    cols = [t.c.pid, t.c.version, t.c.ts, t.c.ts_naive, t.c.pred, t.c.outcome, t.c.prob, t.c.prob4, t.c.flag]
    stmt = sa.select(*cols).where(t.c.model == "m1").order_by(t.c.ts)
    with eng.connect() as c:
        want = pd.read_sql(stmt, c)
    import unittest.mock

    with unittest.mock.patch.object(psycopg.Cursor, "execute", too_big), \
            unittest.mock.patch.object(store, "_copy_frame", wraps=store._copy_frame) as copy:
        pd.testing.assert_frame_equal(store._array_frame(stmt), want)
    assert copy.call_count == 1  # it did take the fallback
    # the whole read, as the performance review makes it, against read_sql through the same columns
    df = store.read("m1", WEEK, features=["code"])
    assert len(df) == n and str(df["timestamp"].dt.tz) == "UTC" and df["model_version"].tolist() == hostile
    eng.dispose()


def test_postgres_connection_that_received_a_big_result_is_not_pooled(postgres_url):
    """libpq keeps its input buffer at the size of the largest message received: a connection that
    just read one row of whole-column arrays of 16 MB or more is closed, not returned to the pool;
    after a small read the connection is pooled as usual."""
    from workbench.sources import memory

    eng = sa.create_engine(postgres_url)
    rows = memory.BIG_BLOCK // 12 + 1000  # each float8 array element is 12 bytes on the wire
    with eng.begin() as c:
        c.execute(sa.text("CREATE TABLE big_read (pid text, model text, version text, ts timestamptz, pred float8)"))
        c.execute(sa.text("INSERT INTO big_read SELECT i::text, CASE WHEN i < 100 THEN 'small' ELSE 'big' END, '1', "
                          ":s + (i % 86400) * interval '1 second', random() FROM generate_series(0, :n - 1) i"),
                  {"s": WEEK.start, "n": rows})
    store = PredictionStore(postgres_url, StoreParams(
        table="big_read", columns={"id": "pid", "model": "model", "version": "version", "timestamp": "ts",
                                   "prediction": "pred", "outcome": None, "probability": None, "variant": None,
                                   "outcome_timestamp": None}), scan_workers=1)
    closed = []
    sa.event.listen(store.engine, "invalidate", lambda dbapi_conn, record, exc: closed.append(dbapi_conn))
    assert len(store.read("small", WEEK, core=["prediction"])) == 100
    assert closed == []  # a small read: its connection goes back to the pool
    assert len(store.read("big", WEEK, core=["prediction"])) == rows - 100
    assert len(closed) == 1 and closed[0].closed  # closed after its big result, not pooled
    assert len(store.read("small", WEEK, core=["prediction"])) == 100  # a new connection next time
    store.engine.dispose()
    eng.dispose()


@pytest.mark.parametrize("model", ["churn-predictor", "edge-model"])
def test_a_week_counted_in_fine_bins_equals_its_values_and_its_ks_is_within_the_bound(store_url, small_history, model):
    """A week above drift_detection.exact_max_rows: the fine-bin counts (prefetched in one scan) are the
    values' own, and KS / Wasserstein from them lie within their error bound of scipy's (drift.histogram)."""
    import numpy as np
    from scipy import stats

    from workbench.drift import histogram, methods as dm
    from workbench.drift.core import histogram_requests, store_sample
    from workbench.drift.profile import FeatureProfile

    store = PredictionStore(store_url)
    prof = FeatureProfile.fit("monthly_charges", small_history.references[("churn-predictor", "1.2.0")]["monthly_charges"],
                              kind="numeric")
    values = store.read_feature(model, WEEK, "monthly_charges").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    store.prefetch_counts(model, WEEK, histogram_requests(prof))
    pushed = store_sample(store, model, WEEK, prof, "ks", counted=True)
    edges = pushed.histogram.edges
    assert edges.tolist() == histogram.window_edges(prof)[0].tolist()
    assert pushed.histogram.counts.tolist() == np.bincount(np.searchsorted(edges, finite, side="right"),
                                                           minlength=len(edges) + 1).tolist()
    assert (pushed.n, pushed.n_missing, pushed.n_nonfinite) == (len(finite), int(np.isnan(values).sum()),
                                                                int(np.isinf(values).sum()))
    assert pushed.sorted_values is None  # nothing of the window read
    ks, w = dm.ks(prof, pushed), dm.wasserstein(prof, pushed)
    assert abs(ks.statistic - stats.ks_2samp(prof.sorted_values, finite).statistic) <= ks.error_bound + 1e-12
    exact_w = stats.wasserstein_distance(prof.sorted_values, finite) / max(prof.stats["std"], dm.STD_FLOOR)
    assert abs(w.statistic - exact_w) <= w.error_bound + 1e-12
