"""Reads a review repeats are sliced from the frames already read, with the same result and no query."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from workbench.config import Window
from workbench.demo import database
from workbench.sources.store import PredictionStore


def _store(tmp_path, rng):
    n = 2000
    start = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    ts = pd.to_datetime(start) + pd.to_timedelta(np.sort(rng.uniform(0, 21 * 86400, n)), unit="s")
    df = pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "timestamp": ts, "model_name": "m",
                       "model_version": "1", "variant": None, "prediction": rng.integers(0, 2, n).astype(float),
                       "probability": rng.random(n), "actual_outcome": np.nan,
                       "outcome_timestamp": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
                       "tenure": rng.gamma(2, 10, n), "contract": rng.choice(["a", "b"], n)})
    for f in database.NUMERIC_FEATURES + database.CATEGORICAL_FEATURES:
        if f not in df:
            df[f] = None
    url = f"sqlite:///{tmp_path / 'p.db'}"
    eng = sa.create_engine(url)
    database.write_predictions(eng, df)
    eng.dispose()
    return url


def test_sub_window_and_column_subset_are_sliced_without_a_query(tmp_path):
    rng = np.random.default_rng(3)
    url = _store(tmp_path, rng)
    span = Window(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "s")
    week = Window(dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "w")
    store = PredictionStore(url)
    store.read("m", span, features=["tenure", "contract"], core=["timestamp", "prediction"])
    queries = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    got = store.read("m", week, features=["tenure"], core=["timestamp"])
    assert queries == []
    fresh = PredictionStore(url).read("m", week, features=["tenure"], core=["timestamp"])
    pd.testing.assert_frame_equal(got, fresh)
    assert len(got) > 0 and len(got) < 2000
    # a column that was not read is queried
    store.read("m", week, core=["probability"])
    assert len(queries) >= 1


def test_a_frame_of_millions_of_rows_is_not_kept(tmp_path, monkeypatch):
    """Above RECENT_MAX_ROWS the frame goes to the caller as it is (not kept, not copied): kept it
    would be held twice. A later read of part of it queries again, with the same result."""
    from workbench.sources import store as store_mod

    rng = np.random.default_rng(4)
    url = _store(tmp_path, rng)
    span = Window(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "s")
    week = Window(dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "w")
    monkeypatch.setattr(store_mod, "RECENT_MAX_ROWS", 1000)
    store = PredictionStore(url)
    big = store.read("m", span, core=["timestamp", "prediction"])
    assert len(big) == 2000 and store._recent == []
    queries = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    got = store.read("m", week, core=["prediction"])
    assert len(queries) == 1  # read again, not sliced from a kept frame
    pd.testing.assert_frame_equal(got, big.loc[big["timestamp"] >= week.start, ["prediction"]].reset_index(drop=True))


def test_a_big_read_hands_freed_memory_back(tmp_path, monkeypatch):
    """Past TRIM_AFTER_ROWS a read returns the memory its conversion freed (malloc_trim) and big
    blocks are mapped apart from then on; a small read does not pay for it. On glibc the call works."""
    from workbench.sources import store as store_mod

    url = _store(tmp_path, np.random.default_rng(5))
    span = Window(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "s")
    calls = []
    monkeypatch.setattr(store_mod, "give_back_freed_memory", lambda: calls.append(1))
    monkeypatch.setattr(store_mod, "TRIM_AFTER_ROWS", 5000)
    PredictionStore(url).read("m", span, core=["timestamp"])
    assert calls == []  # 2,000 rows
    monkeypatch.setattr(store_mod, "TRIM_AFTER_ROWS", 1000)
    PredictionStore(url).read("m", span, core=["timestamp"])
    assert calls == [1]
    monkeypatch.undo()
    from workbench.sources import memory

    memory.give_back_freed_memory()  # the real call: glibc here, no error
    assert memory._mallopt_done


def test_sqlite_rows_come_from_the_cursor_as_read_sql_gives_them(tmp_path):
    """The SQLite read skips SQLAlchemy's row objects: the frame equals pandas.read_sql's for the
    same statement (times parsed from their text either way), hostile text and NULLs included; a
    column whose type converts its values (a DATETIME feature) falls back to read_sql."""
    from workbench.sources import store as store_mod
    from workbench.sources.store_sqlite import SqliteStore

    url = _store(tmp_path, np.random.default_rng(6))
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE predictions SET contract = :v WHERE rowid % 7 = 0"), {"v": "x\x1e'\"\\\r"})
        c.execute(sa.text("UPDATE predictions SET contract = NULL, tenure = NULL WHERE rowid % 11 = 0"))
        c.execute(sa.text("UPDATE predictions SET actual_outcome = 1.0 WHERE rowid % 3 = 0"))
    eng.dispose()
    span = Window(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc), "s")
    store = PredictionStore(url)
    used = []
    real = SqliteStore._sqlite_frame
    SqliteStore._sqlite_frame = staticmethod(lambda conn, stmt: used.append(1) or real(conn, stmt))
    try:
        got = store.read("m", span, features=["tenure", "contract"])
    finally:
        SqliteStore._sqlite_frame = staticmethod(real)
    assert used == [1]
    mapping = {k: v for k, v in store.params.columns.model_dump().items() if v is not None}
    cols = [store._col(k).label(store_mod.STANDARD[k]) for k in mapping] + [store.table().c[f] for f in ("tenure", "contract")]
    with store.engine.connect() as conn:
        want = pd.read_sql(sa.select(*cols).where(store._window_filter("m", span)), conn)
    for c in store_mod.TIME_COLUMNS:
        want[c] = store_mod._utc_series(want[c])
    pd.testing.assert_frame_equal(got, want)
    assert got["contract"].isna().sum() > 0 and got["contract"].str.contains("\x1e", regex=False).sum() > 0
    stmt = sa.select(store.table().c["timestamp"].label("seen"))  # a DATETIME column under another name
    with store.engine.connect() as conn:
        assert SqliteStore._sqlite_frame(conn, stmt) is None  # converted by SQLAlchemy: read_sql's job
