"""The weak-segment cells counted by SQLite in one statement equal the cells counted in memory, and
the search over the store gives the same segments (PostgreSQL: tests/integration/test_segments_postgres.py)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config
from workbench.config import SegmentParams, StoreParams
from workbench.performance import segments as sg
from workbench.sources import segment_counts
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
BEFORE = config.Window(WEEK.start - dt.timedelta(weeks=1), WEEK.start, "before")


def history(rng, n=6_000, kind="classification"):
    """Two weeks of predictions; in the second the 'pro' plan's predictions are wrong far more often."""
    ts = WEEK.start - dt.timedelta(weeks=1) + pd.to_timedelta(rng.random(n) * 14, unit="D")
    df = pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)], "model_name": "m", "model_version": "1", "variant": None,
        "timestamp": ts, "probability": rng.random(n),
        "plan": rng.choice(["basic", "plus", "pro", None], n, p=[0.45, 0.3, 0.2, 0.05]),
        "seats": rng.integers(0, 3, n).astype(float),  # few values: a category (0, 1, 2)
        "age": np.round(rng.normal(40, 10, n), 2),
    })
    df.loc[df.index[:5], "age"] = np.nan
    after = (df["timestamp"] >= WEEK.start).to_numpy()
    y = rng.integers(0, 2, n).astype(float)
    if kind == "classification":
        wrong = rng.random(n) < np.where(after & (df["plan"] == "pro").to_numpy(), 0.4, 0.1)
        pred = np.where(wrong, 1 - y, y)
    else:
        y = rng.normal(100, 10, n)
        pred = y + rng.normal(0, np.where(after & (df["plan"] == "pro").to_numpy(), 6.0, 2.0))
    df["prediction"], df["actual_outcome"] = pred, y
    df.loc[df.index[5:40], "actual_outcome"] = np.nan  # not labelled yet
    df["outcome_timestamp"] = df["timestamp"] + pd.Timedelta(hours=1)
    return df


@pytest.fixture(params=["classification", "regression"])
def kind(request):
    return request.param


@pytest.fixture
def store(tmp_path, rng, kind):
    df = history(rng, kind=kind)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    eng = sa.create_engine(url)
    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = out[c].dt.tz_convert("UTC").dt.tz_localize(None)
    out.to_sql("predictions", eng, index=False)
    eng.dispose()
    return PredictionStore(url, StoreParams()), df


def _in(df, w):
    return df[(df["timestamp"] >= pd.Timestamp(w.start)) & (df["timestamp"] < pd.Timestamp(w.end))]


def test_cells_counted_by_sqlite_in_one_statement_equal_the_cells_in_memory(store, kind):
    st, df = store
    kinds = {"plan": None, "seats": None, "age": sg.quantile_edges(_in(df, BEFORE)["age"], 5)}
    err_edges = None if kind == "classification" else sg.quantile_edges(
        (_in(df, BEFORE)["prediction"] - _in(df, BEFORE)["actual_outcome"]).abs(), 20)
    st.table()  # reflected first: only the counting is watched
    statements = []
    sa.event.listen(st.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    db = sg.label_cells(segment_counts.segment_cells(st, "m", WEEK, BEFORE, kinds, kind, err_edges), kinds)
    assert len(statements) == 1  # every slice in one query
    mem = sg.cells_from_frames(_in(df, WEEK), _in(df, BEFORE), kinds, kind, err_edges)
    key = ["f1", "v1", "f2", "v2", "current", "y"]
    a, b = (x.sort_values(key).reset_index(drop=True) for x in (db, mem))
    pd.testing.assert_frame_equal(a[key + ["n"]], b[key + ["n"]], check_dtype=False)
    assert a["err"].to_numpy() == pytest.approx(b["err"].to_numpy(), rel=1e-9)
    labelled = _in(df, WEEK)["actual_outcome"].notna().sum()
    assert a[(a.f1 == "plan") & (a.f2 == "") & (a.current == 1)]["n"].sum() == labelled
    assert set(a[(a.f1 == "plan") & (a.f2 == "")]["v1"]) == {"basic", "plus", "pro", sg.MISSING}
    assert set(a[(a.f1 == "seats") & (a.f2 == "")]["v1"]) == {"0", "1", "2"}


def test_search_over_the_store_finds_the_degraded_plan(store, kind):
    st, df = store
    res = sg.search_store(st, "m", WEEK, BEFORE, kind, SegmentParams(min_rows=100), features=["plan", "seats", "age"])
    assert [s.label for s in res.segments] == ["plan = pro"]
    pro = _in(df, WEEK)
    pro = pro[(pro["plan"] == "pro") & pro["actual_outcome"].notna()]
    expected = ((pro["prediction"] == pro["actual_outcome"]).mean() if kind == "classification"
                else (pro["prediction"] - pro["actual_outcome"]).abs().mean())
    assert res.segments[0].metric == pytest.approx(expected)
