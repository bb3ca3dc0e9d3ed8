"""The Parquet layout by day (sources.parquet_layout) read through DuckDB (sources.store_duckdb): every
question a review asks answers as SQLite answers it over the same rows (the counts by DuckDB's GROUP BY,
never the rows), the drift and performance reviews and the weak-segment search give the same results,
windows prune the day partitions, and the registry opens it by URL. DuckDB is embedded: no server."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest
from frame_source import FrameSource, write_sqlite
from scipy import stats
from test_source_interface import FEATURES, PARAMS, WEEK, _ctx, _NoPreload, _results, _rows, _same

from workbench.config import StoreParams, Window
from workbench.drift import core as drift
from workbench.errors import ConfigError, SourceUnavailable
from workbench.performance import core as performance, segments
from workbench.sources import parquet_layout, registry
from workbench.sources.store_duckdb import DuckdbStore

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from types import SimpleNamespace

    rng = np.random.default_rng(20261121)
    root = tmp_path_factory.mktemp("duck")
    df = _rows(rng)
    n = 5_000
    pd.DataFrame({"amount": np.round(rng.lognormal(3.0, 0.6, n), 1), "score": rng.normal(0, 1, n),
                  "usage": np.round(rng.gamma(2.0, 3.0, n)), "plan": rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]),
                  "region": rng.choice(["north", "south", "east"], n)}).to_csv(root / "ref.csv", index=False)
    url = write_sqlite(root / "p.db", df)
    lake = root / "lake"
    n_written = parquet_layout.export_store(url, lake, StoreParams(), chunk_rows=2_000)  # several files a day
    return SimpleNamespace(root=root, df=df, url=url, lake=lake, n_written=n_written,
                           duck_url=f"duckdb+parquet://{lake}")


def test_export_writes_one_folder_per_utc_day_with_every_row(data):
    days = sorted(p.name for p in data.lake.iterdir())
    ts = pd.to_datetime(data.df["timestamp"], utc=True)
    assert days == [f"day={d}" for d in sorted(ts.dt.strftime("%Y-%m-%d").unique())]
    assert data.n_written == len(data.df)
    assert len(list(data.lake.glob("day=*/*.parquet"))) > len(days)  # chunks appended, none overwritten
    with pytest.raises(ConfigError, match="not empty"):
        parquet_layout.export_store(data.url, data.lake)


def test_registry_opens_the_layout_by_url(data):
    store = registry.open_store(data.duck_url, PARAMS, scan_workers=2)
    assert isinstance(store, DuckdbStore) and str(data.lake) in store.describe()
    for bad in ("duckdb:///x.db", "duckdb+parquet://relative/path"):
        with pytest.raises(ConfigError, match="duckdb\\+parquet:///"):
            registry.open_store(bad)
    with pytest.raises(ConfigError, match="layout: columns"):
        DuckdbStore(data.duck_url, StoreParams(features={"layout": "json", "json_column": "f"}))


def test_each_question_answers_as_sqlite_answers(data):
    lite, duck = _NoPreload(data.url, PARAMS), DuckdbStore(data.duck_url, PARAMS)
    w = WEEK
    assert duck.count("m", w) == lite.count("m", w) > 0
    assert duck.versions("m", w) == lite.versions("m", w) == ["1", "2"]
    assert duck.repeated_ids("m", w) == lite.repeated_ids("m", w) == 5
    assert duck.models() == lite.models() == ["m", "other"]
    assert duck.newest("m") == lite.newest("m")
    assert sorted(duck.feature_columns()) == sorted(lite.feature_columns()) == sorted(FEATURES)
    for f in ("plan", "region"):
        assert duck.category_counts("m", w, f) == lite.category_counts("m", w, f)
    edges = [-1.0, 0.0, 0.5, 2.0]
    on_edges = {"amount": [15.0, 20.5, 30.0, 45.1], "score": edges, "usage": [1.0, 2.0, 5.0, 8.0]}
    for f, e in on_edges.items():
        a, b = duck.bin_counts("m", w, f, e), lite.bin_counts("m", w, f, e)
        np.testing.assert_array_equal(a["counts"], b["counts"])
        assert (a["missing"], a["nonfinite"]) == (b["missing"], b["nonfinite"])
        np.testing.assert_array_equal(np.sort(duck.feature_values("m", w, f)), np.sort(lite.feature_values("m", w, f)))
    for f, e in (("plan", None), ("score", edges), ("usage", on_edges["usage"])):
        a, b = list(duck.daily_counts("m", w, f, e)), list(lite.daily_counts("m", w, f, e))
        assert [x[0] for x in a] == [x[0] for x in b] and len(a) == 7
        for x, y in zip(a, b):
            if e is None:
                assert x[1:] == y[1:]
            else:
                np.testing.assert_array_equal(x[1], y[1])
                assert x[2:] == y[2:]
    pd.testing.assert_series_equal(duck.hourly_counts("m", w), lite.hourly_counts("m", w),
                                   check_names=False, check_index_type=False, check_freq=False)
    key = ["prediction_id", "timestamp"]
    got = duck.read("m", w, features=list(FEATURES)).sort_values(key, ignore_index=True)
    want = lite.read("m", w, features=list(FEATURES)).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    assert len(duck.sample("m", w, ["prediction", "timestamp"], limit=7)) == 7


def test_a_window_cut_inside_a_day_keeps_its_bounds(data):
    """Start inclusive, end exclusive, to the microsecond, on bounds inside a day (the partition of the
    end bound's day is read too)."""
    duck, frame = DuckdbStore(data.duck_url, PARAMS), FrameSource(data.df, PARAMS)
    ts = pd.to_datetime(data.df.loc[data.df["model_name"] == "m", "timestamp"], utc=True).sort_values()
    a, b = ts.iloc[len(ts) // 3], ts.iloc[len(ts) // 2]  # rows exactly on both bounds
    w = Window(a.to_pydatetime(), b.to_pydatetime(), "cut")
    assert duck.count("m", w) == frame.count("m", w) == int(((ts >= a) & (ts < b)).sum()) > 0
    days = [d for d, *_ in duck.daily_counts("m", w, "plan")]
    assert days[0] == a.floor("D") and days[-1] == b.floor("D")


def test_a_window_opens_only_the_files_of_its_days(data, tmp_path):
    """Partition pruning: a corrupt file in a day outside the window is never opened; a window over
    that day fails, naming the log."""
    lake = tmp_path / "lake"
    shutil.copytree(data.lake, lake)
    first = sorted(lake.iterdir())[1]  # (the first file gives the schema)
    (first / "broken.parquet").write_bytes(b"not parquet at all")
    duck = DuckdbStore(f"duckdb+parquet://{lake}", PARAMS)
    assert duck.count("m", WEEK) == DuckdbStore(data.duck_url, PARAMS).count("m", WEEK) > 0
    day = pd.Timestamp(first.name.split("=")[1], tz="UTC").to_pydatetime()
    with pytest.raises(SourceUnavailable, match="Parquet prediction log"):
        duck.count("m", Window(day, day + dt.timedelta(days=1), "d"))


def test_drift_review_equals_sqlite_and_scipy(data, monkeypatch):
    lite = _ctx(data, _NoPreload(data.url, PARAMS), monkeypatch)
    duck = _ctx(data, DuckdbStore(data.duck_url, PARAMS), monkeypatch)
    want, got = _results(drift.review(lite)), _results(drift.review(duck))
    assert set(want) == set(got) == set(FEATURES)
    for f in FEATURES:
        (w, wd), (g, gd) = want[f], got[f]
        bad = {k: (w[k], g[k]) for k in w if not _same(w[k], g[k])}
        assert not bad, (f, bad)
    week = data.df[(data.df["model_name"] == "m") & (data.df["timestamp"] >= WEEK.start)
                   & (data.df["timestamp"] < WEEK.end)]
    ks = stats.ks_2samp(pd.read_csv(data.root / "ref.csv")["amount"], week["amount"].dropna())
    assert got["amount"][0]["statistic"] == pytest.approx(ks.statistic, rel=1e-12)


def test_performance_review_equals_sqlite(data, monkeypatch):
    lite = _ctx(data, _NoPreload(data.url, PARAMS), monkeypatch)
    duck = _ctx(data, DuckdbStore(data.duck_url, PARAMS), monkeypatch)
    want, got = performance.review(lite), performance.review(duck)
    assert got.summary.n_predictions == want.summary.n_predictions > 0
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    assert got.versions == want.versions
    pd.testing.assert_frame_equal(got.trend, want.trend)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_weak_segment_cells_counted_by_duckdb_equal_sqlite_and_the_rows(data, kind):
    lite, duck, frame = _NoPreload(data.url, PARAMS), DuckdbStore(data.duck_url, PARAMS), FrameSource(data.df, PARAMS)
    ref = Window(WEEK.start - dt.timedelta(weeks=2), WEEK.start, "ref")
    feats = ["plan", "amount", "region", "usage"]
    found = [segments.search_store(s, "m", WEEK, ref, kind, features=feats) for s in (lite, duck, frame)]
    tables = [f.to_frame() for f in found]
    assert len(tables[0]) > 0
    pd.testing.assert_frame_equal(tables[1], tables[0])
    pd.testing.assert_frame_equal(tables[2], tables[0])
    assert found[1].findings == found[0].findings


def test_workbench_check_reads_the_layouts_columns_and_names_a_missing_one(data, tmp_path):
    """`workbench check` asks the source for its stored columns (no SQLAlchemy reflection): the layout
    passes, a mapped column the files lack is named, a folder without files is unreachable."""
    from workbench import check, config, init

    rng = np.random.default_rng(3)
    (tmp_path / "data").mkdir()
    pd.DataFrame({"plan": rng.choice(["basic", "plus"], 100), "amount": rng.normal(20, 5, 100)}).to_parquet(
        tmp_path / "data" / "ref.parquet")
    init.init("predictions", tmp_path / "params", database_url=data.url, reference="data/ref.parquet", force=True)

    def lines(url):
        res = check.run_checks(tmp_path / "params", config.Connections(None, url, None, demo=False),
                               unreachable=check.ERROR, mlflow=False, reviews={"drift"})
        return res, {i.what: i for i in res.items}

    res, got = lines(data.duck_url)
    assert got["table predictions"].status == check.OK and got["table predictions"].detail == f"{len(data.df.columns)} columns"
    assert got["column store.columns.timestamp"].status == check.OK and got["model m in the table"].status == check.OK
    weekly = tmp_path / "params" / "weekly.yaml"
    weekly.write_text(weekly.read_text().replace('outcome: "actual_outcome"', 'outcome: "truth"'))
    res, got = lines(data.duck_url)
    assert got["column store.columns.outcome"].status == check.ERROR and "'truth'" in got["column store.columns.outcome"].detail
    (tmp_path / "empty").mkdir()
    res, got = lines(f"duckdb+parquet://{tmp_path / 'empty'}")
    assert got["prediction DB"].status == check.ERROR and "not reachable" in got["prediction DB"].detail


def _setting(store: DuckdbStore, name: str) -> str:
    return store._cursor().execute("SELECT current_setting(?)", [name]).fetchone()[0]


def test_the_buffer_pool_is_bounded_by_default_and_set_by_the_url(data):
    """DuckDB's memory_limit defaults to MEMORY_LIMIT (DuckDB's own is 80% of RAM) with spills in a folder
    of the store's, removed with it; `?memory_limit=` and `?threads=` set them; bad options are refused."""
    import gc

    from workbench.sources import store_duckdb

    store = DuckdbStore(data.duck_url, PARAMS)
    assert _setting(store, "memory_limit") in ("244.1 MiB", "256.0 MiB")  # 256MB as DuckDB prints it
    spill = _setting(store, "temp_directory")
    assert "workbench-duckdb-" in spill and not spill.startswith(".")
    del store
    gc.collect()
    assert not __import__("os").path.exists(spill)
    store = DuckdbStore(f"{data.duck_url}?memory_limit=64MB&threads=1", PARAMS)
    assert _setting(store, "memory_limit") in ("61.0 MiB", "64.0 MiB") and _setting(store, "threads") == 1
    free = DuckdbStore(f"{data.duck_url}?memory_limit=none", PARAMS)
    assert "workbench-duckdb-" not in _setting(free, "temp_directory")
    assert free.count("m", WEEK) == store.count("m", WEEK) > 0
    assert store_duckdb.MEMORY_LIMIT == "256MB"
    for bad, said in (("?memory_limit=lots", "memory_limit"), ("?threads=two", "threads"), ("?cache=1", "unknown")):
        with pytest.raises(ConfigError, match=said):
            DuckdbStore(data.duck_url + bad, PARAMS)


def test_repeated_ids_over_the_memory_limit_spill_and_count_exactly(tmp_path):
    """Counting repeated ids keeps every distinct id: a week of them outgrows a small buffer pool, which
    DuckDB cannot do without spilling (shown on a raw connection with no spill folder); the store spills
    to its folder and counts exactly what pandas counts (the repeats across days included)."""
    import duckdb

    n = 600_000
    ids = np.char.add("prediction-0000000000", np.arange(n).astype(str))
    ids[[10, 20, 30]] = ids[[n - 1, n - 2, n - 1]]  # repeats across days: 3 rows, 2 ids
    ts = WEEK.start + pd.to_timedelta(np.linspace(0, 6.9 * 86400, n), unit="s")
    frame = pd.DataFrame({"prediction_id": ids, "model_name": "m", "model_version": "1",
                          "timestamp": pd.DatetimeIndex(ts, tz="UTC"), "prediction": 0.0, "probability": 0.5,
                          "actual_outcome": 0.0, "outcome_timestamp": pd.DatetimeIndex(ts, tz="UTC")})
    parquet_layout.write_days(frame, tmp_path / "lake")
    params = StoreParams(columns={"variant": None})
    want = int(frame["prediction_id"].duplicated().sum())
    assert want == 3
    store = DuckdbStore(f"duckdb+parquet://{tmp_path / 'lake'}?memory_limit=32MB&threads=1", params)
    assert store.repeated_ids("m", WEEK) == want
    raw = duckdb.connect(":memory:")
    raw.execute("SET threads = 1")
    raw.execute("SET memory_limit = '32MB'")
    raw.execute("SET temp_directory = ''")
    with pytest.raises(duckdb.OutOfMemoryException):
        raw.execute(f"SELECT count(prediction_id) - count(DISTINCT prediction_id) "
                    f"FROM read_parquet('{tmp_path / 'lake'}/day=*/*.parquet')").fetchall()
