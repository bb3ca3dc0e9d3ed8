"""The prediction store on an SQLite file built here by hand (SQLite is embedded: no server).

Expected values come from the rows written, counted with numpy/pandas, never from the store."""

import datetime as dt
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from workbench import config
from workbench.config import StoreParams
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources.store import PredictionStore, read_only_engine

WEEK = config.iso_week("2026-W47")  # 2026-11-16 .. 2026-11-23 UTC


def _rows(rng):
    """40 predictions of model m (30 inside W47, 10 the week before) and 5 of another model."""
    ts = [WEEK.start + dt.timedelta(hours=5 * i) for i in range(30)]
    ts += [WEEK.start - dt.timedelta(hours=3 * (i + 1)) for i in range(10)]
    n = len(ts)
    x = np.round(rng.normal(0, 1, n), 3)
    x[:4] = [np.nan, np.inf, -np.inf, 0.0]  # index 0 is NaN, stored as NULL by SQLite
    df = pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)], "model_name": "m",
        "model_version": ["1"] * 15 + ["2"] * 15 + ["0"] * 10, "variant": None,
        "timestamp": ts, "prediction": rng.integers(0, 2, n).astype(float),
        "probability": rng.random(n), "actual_outcome": rng.integers(0, 2, n).astype(float),
        "outcome_timestamp": [t + dt.timedelta(hours=30) for t in ts],
        "x": x, "colour": rng.choice(["red", "blue", None], n),
    })
    other = df.head(5).assign(model_name="other", prediction_id=[f"o{i}" for i in range(5)])
    return pd.concat([df, other], ignore_index=True)


def _write(path, df, json_layout=False, fmt="%Y-%m-%d %H:%M:%S"):
    """Write like a foreign application would: timestamps as naive UTC text (whole seconds as Python's
    sqlite3 writes them, or with microseconds as SQLAlchemy does), features as columns or JSON."""
    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = [t.astimezone(dt.timezone.utc).strftime(fmt) for t in out[c]]
    if json_layout:
        out["features"] = [json.dumps({"x": None if not np.isfinite(x) else x, "colour": c})
                           for x, c in zip(df["x"], df["colour"])]
        out = out.drop(columns=["x", "colour"])
    with sqlite3.connect(path) as con:
        out.to_sql("predictions", con, index=False)
    return f"sqlite:///{path}"


@pytest.fixture
def data(rng):
    return _rows(rng)


@pytest.fixture
def store(tmp_path, data):
    return PredictionStore(_write(tmp_path / "p.db", data))


def _in_week(data, model="m"):
    return data[(data["model_name"] == model) & (data["timestamp"] >= WEEK.start) & (data["timestamp"] < WEEK.end)]


def test_read_returns_the_window_with_standard_columns_in_utc(store, data):
    df = store.read("m", WEEK, features=["x", "colour"])
    want = _in_week(data)
    assert sorted(df["prediction_id"]) == sorted(want["prediction_id"])
    assert str(df["timestamp"].dt.tz) == "UTC" and str(df["outcome_timestamp"].dt.tz) == "UTC"
    got = df.set_index("prediction_id").loc[want["prediction_id"]]
    assert list(got["timestamp"]) == list(pd.to_datetime(want["timestamp"], utc=True))
    np.testing.assert_allclose(got["probability"], want["probability"])
    assert set(df.columns) >= {"model_name", "model_version", "prediction", "actual_outcome", "x", "colour"}


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"])
def test_window_is_half_open_whatever_the_stored_text(tmp_path, data, fmt):
    d = data.copy()
    d.loc[0, "timestamp"] = WEEK.end  # exactly at the end: belongs to the next week
    d.loc[1, "timestamp"] = WEEK.start  # exactly at the start: included
    d.loc[2, "timestamp"] = WEEK.end - dt.timedelta(microseconds=1)
    s = PredictionStore(_write(tmp_path / "h.db", d, fmt=fmt))
    assert s.count("m", WEEK) == len(_in_week(d)) == 29
    assert s.count("m", config.iso_week("2026-W48")) == 1


def test_read_feature_and_core_subset(store, data):
    s = store.read_feature("m", WEEK, "colour")
    assert s.name == "colour"
    want = _in_week(data)["colour"]
    assert s.value_counts(dropna=False).to_dict() == want.value_counts(dropna=False).to_dict()
    only = store.read("m", WEEK, core=["id", "timestamp"])
    assert list(only.columns) == ["prediction_id", "timestamp"]


def test_category_counts_group_in_the_database(store, data):
    counts, missing = store.category_counts("m", WEEK, "colour")
    want = _in_week(data)["colour"]
    assert counts == want.dropna().value_counts().to_dict()
    assert missing == want.isna().sum()
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_bin_counts_match_numpy(store, data):
    edges = [-1.0, 0.0, 1.0]
    r = store.bin_counts("m", WEEK, "x", edges)
    x = _in_week(data)["x"].to_numpy()
    finite = x[np.isfinite(x)]
    want = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    assert r["counts"].tolist() == want.tolist()
    assert r["missing"] == np.isnan(x).sum() and r["nonfinite"] == np.isinf(x).sum()


def test_feature_values_streams_every_value(store, data):
    got = store.feature_values("m", WEEK, "x", chunk=7)
    want = _in_week(data)["x"].to_numpy()
    np.testing.assert_array_equal(np.sort(got), np.sort(want))


def test_count_newest_models_versions(store, data):
    assert store.count("m", WEEK) == 30
    assert store.count("other", WEEK) == len(_in_week(data, "other"))
    assert store.newest("m") == pd.Timestamp(data.loc[data["model_name"] == "m", "timestamp"].max())
    assert store.newest("m").tz is not None
    assert store.newest("nobody") is None
    assert store.models() == ["m", "other"]
    assert store.versions("m", WEEK) == ["1", "2"]


def test_json_layout_reads_features(tmp_path, data):
    params = StoreParams(features={"layout": "json", "json_column": "features"})
    s = PredictionStore(_write(tmp_path / "j.db", data, json_layout=True), params)
    counts, missing = s.category_counts("m", WEEK, "colour")  # counted from the JSON in SQL
    assert counts == _in_week(data)["colour"].dropna().value_counts().to_dict()
    assert s.feature_columns() == ["x", "colour"]
    df = s.read("m", WEEK, features=["colour", "x"])
    want = _in_week(data).set_index("prediction_id")
    got = df.set_index("prediction_id").loc[want.index]
    assert (got["colour"].fillna("-") == want["colour"].fillna("-")).all()
    vals = s.feature_values("m", WEEK, "x")
    assert len(vals) == 30 and np.isnan(vals).sum() == (~np.isfinite(want["x"])).sum()


def test_columns_layout_lists_unmapped_columns_as_features(store):
    assert store.feature_columns() == ["x", "colour"]


def test_unknown_feature_names_table_and_real_features(store):
    with pytest.raises(ConfigError, match=r"feature\(s\) nope not in table 'predictions'; features there: x, colour"):
        store.read("m", WEEK, features=["nope"])
    with pytest.raises(ConfigError, match="feature 'nope' not in table"):
        store.category_counts("m", WEEK, "nope")


def test_missing_table_and_mapped_column_are_config_errors(tmp_path, data):
    url = _write(tmp_path / "c.db", data)
    with pytest.raises(ConfigError, match="store.table: table 'preds' not found"):
        PredictionStore(url, StoreParams(table="preds")).count("m", WEEK)
    with pytest.raises(ConfigError, match=r"store.columns.outcome='label'.*its columns are: prediction_id"):
        PredictionStore(url, StoreParams(columns={"outcome": "label"})).count("m", WEEK)
    with pytest.raises(ConfigError, match="store.features.json_column=None"):
        PredictionStore(url, StoreParams(features={"layout": "json"})).count("m", WEEK)
    no_variant = PredictionStore(url, StoreParams(columns={"variant": None}))
    assert "variant" not in no_variant.read("m", WEEK).columns


def test_sqlite_store_is_opened_read_only(store):
    import sqlalchemy as sa

    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        with store.engine.begin() as c:
            c.execute(sa.text("DELETE FROM predictions"))
    assert store.count("m", WEEK) == 30


def test_missing_file_is_source_unavailable_and_in_memory_is_refused(tmp_path):
    s = PredictionStore(f"sqlite:///{tmp_path / 'absent.db'}")
    with pytest.raises(SourceUnavailable, match="prediction DB at sqlite:///"):
        s.count("m", WEEK)
    with pytest.raises(ConfigError, match="names no SQLite file"):
        read_only_engine("sqlite://")


def test_kept_daily_counts_drop_old_days_and_unused_files(tmp_path):
    """The per-day count cache (PostgreSQL's kept days) does not grow without end."""
    import os
    import time

    from workbench.sources.daily_cache import DailyCache

    week = config.iso_week("2026-W47")
    cache = DailyCache(tmp_path, "table", "m1", [("f1", None)])
    days = [f"2026-11-{d}" for d in range(16, 23)]
    path = cache.files[0]
    old_day = "2026-09-01"  # 76 days before the week: older than KEEP_DAYS
    recent_day = "2026-09-20"  # 57 days before: a re-run of an older week may still use it
    path.write_text(json.dumps({old_day: {"n": 1, "rows": [["a", 1]]}, recent_day: {"n": 1, "rows": [["a", 1]]}}))
    stale, fresh = tmp_path / "stale.json", tmp_path / "fresh.json"
    stale.write_text("{}")
    fresh.write_text("{}")
    long_ago = time.time() - (DailyCache.STALE_DAYS + 1) * 86400
    os.utime(stale, (long_ago, long_ago))
    os.utime(path, (long_ago, long_ago))  # this run's own file is never dropped, however old
    cache.load(week, {d: 2 for d in days})
    cache.save([[(d, "a", 2) for d in days]])
    doc = json.loads(path.read_text())
    assert sorted(doc) == [recent_day, *days]
    assert doc["2026-11-16"] == {"n": 2, "rows": [["a", 2]]}
    assert not stale.exists() and fresh.exists()


def test_threads_asking_a_fresh_store_for_its_table_at_once_reflect_it_once(store, monkeypatch):
    """Day-range scans run side by side in threads; on a fresh store each used to reflect the table
    itself, and a query could then mix two copies of it ("ambiguous column name")."""
    import threading
    import time

    from workbench.sources import store as store_module

    made, real_table = [], store_module.sa.Table

    def slow_table(*args, **kwargs):
        if kwargs.get("autoload_with") is not None:
            made.append(1)
            time.sleep(0.05)  # a reflection takes a while: the other threads arrive meanwhile
        return real_table(*args, **kwargs)

    monkeypatch.setattr(store_module.sa, "Table", slow_table)
    got, start = [], threading.Barrier(4)

    def ask():
        start.wait()
        got.append(store.table())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(got) == 4 and all(t is got[0] for t in got)
