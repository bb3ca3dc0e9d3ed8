"""The performance review's prediction cells counted by DuckDB over the Parquet layout by day
(store_duckdb.DuckdbStore.prediction_cells): one GROUP BY that gives exactly the cells SqlStore's GROUP BY
gives on SQLite, and the interface's default from the rows (base.cells_of_rows), on a log with invalid
probabilities (NaN, ±inf, -0.1, 1.2) beside 0 and 1, missing outcomes, outcomes stamped before their
prediction and two versions; and a performance review on DuckDB that computes from those cells without
reading the window's rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from frame_source import FrameSource, write_sqlite
from sklearn import metrics as skm

from workbench import config
from workbench.config import ModelSpec, StoreParams
from workbench.performance import core as performance
from workbench.sources import parquet_layout
from workbench.sources.base import CELL_KEYS, cells_of_rows
from workbench.sources.store_sqlite import SqliteStore

pytest.importorskip("duckdb")
from workbench.sources.store_duckdb import DuckdbStore  # noqa: E402

WEEK = config.iso_week("2026-W47")
PARAMS = StoreParams(columns={"variant": None})
# probabilities no valid grid cell holds (kept raw for the row checks) and the edges 0 and 1
INVALID = [np.nan, -0.1, 1.2, np.inf, -np.inf]


def log_rows(seed: int, days: int = 10, per_day: int = 200, invalid: bool = True) -> pd.DataFrame:
    """`days` days up to the end of WEEK of model m (and a few of model `other`): two versions,
    probabilities on the grid's edges (0, 1, k/1000) and, with `invalid`, outside [0, 1] or not a number;
    outcomes missing for the last day and stamped before the prediction for a few rows."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    start = WEEK.end - dt.timedelta(days=days)
    ts = pd.to_datetime([start + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, days * 86_400, n))],
                        utc=True).floor("s")
    prob = rng.random(n)
    edge = rng.random(n) < 0.05
    prob[edge] = rng.choice([0.0, 1.0, 0.5, 0.999, 0.001], size=int(edge.sum()))
    if invalid:
        bad = rng.choice(n, size=5 * len(INVALID), replace=False)
        prob[bad] = np.repeat(INVALID, 5)
    outcome = (rng.random(n) < np.nan_to_num(prob, nan=0.5)).astype(float)
    outcome[ts >= pd.Timestamp(WEEK.end) - pd.Timedelta(days=1)] = np.nan  # not labelled yet
    otime = ts + pd.to_timedelta(rng.integers(1, 48, n), unit="h")
    if invalid:
        early = rng.choice(n, size=7, replace=False)
        otime = otime.where(~np.isin(np.arange(n), early), ts - pd.Timedelta(minutes=5))
    df = pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "model_name": "m",
                       "model_version": np.where(ts < pd.Timestamp(WEEK.start) + pd.Timedelta(days=3), "1", "2"),
                       "timestamp": ts, "prediction": (prob >= 0.5).astype(float), "probability": prob,
                       "actual_outcome": outcome, "outcome_timestamp": otime})
    other = df.head(30).assign(model_name="other", prediction_id=[f"o{i}" for i in range(30)])
    return pd.concat([df, other], ignore_index=True)




def write_keeping_nan(df: pd.DataFrame, root: Path) -> None:
    """`df` as the layout with its NaN probabilities stored as NaN, as other writers store them
    (write_days, through pandas, stores them as NULL)."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[us, UTC]")
    out["day"] = out["timestamp"].dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(out, preserve_index=False)
    i = table.schema.get_field_index("probability")
    table = table.set_column(i, "probability", pa.array(out["probability"].to_numpy(dtype=float), type=pa.float64()))
    assert table.column("probability").null_count == 0 and out["probability"].isna().any()
    pads.write_dataset(table, root, format="parquet", partitioning=["day"], partitioning_flavor="hive")


def nan_cells_agree(store, df: pd.DataFrame) -> None:
    """A NaN probability (a value, not NULL, in the files) gets no grid cell: it stays raw, as the rows
    give it, and the review's row check sees it."""
    got = store.prediction_cells("m", WEEK)
    rows = FrameSource(df, PARAMS).read("m", WEEK)
    pd.testing.assert_frame_equal(ordered(got, np.nan), ordered(cells_of_rows(rows), np.nan), check_dtype=False)
    nan = got["probability"].map(lambda v: isinstance(v, float) and v != v)
    assert got.loc[nan, "n"].sum() == int(rows["probability"].isna().sum()) > 0


def ordered(cells: pd.DataFrame, missing=None) -> pd.DataFrame:
    """Cells in one order: by every key (the raw invalid probabilities sort by their text); a missing
    probability or variant as `missing` (NULL from SQL, NaN from pandas: both say "not logged")."""
    cells = cells.assign(**{c: [missing if v is None or v != v else v for v in cells[c]]
                            for c in ("probability", "variant")})
    key = cells.assign(probability=cells["probability"].astype(str))
    return cells.loc[key.sort_values(list(CELL_KEYS)).index].reset_index(drop=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake-cells")
    df = log_rows(5)
    parquet_layout.write_days(df, root / "lake", "timestamp", ("outcome_timestamp",))
    clean = log_rows(6, invalid=False)
    parquet_layout.write_days(clean, root / "clean", "timestamp", ("outcome_timestamp",))
    return SimpleNamespace(root=root, df=df, clean=clean, url=write_sqlite(root / "p.db", df),
                           clean_url=write_sqlite(root / "clean.db", clean),
                           duck_url=f"duckdb+parquet://{root / 'lake'}", clean_duck=f"duckdb+parquet://{root / 'clean'}")


def test_duckdb_counts_the_cells_sqlite_counts_and_the_rows_give(data):
    duck, lite = DuckdbStore(data.duck_url, PARAMS), SqliteStore(data.url, PARAMS)
    assert duck.counts_cells
    got, want = duck.prediction_cells("m", WEEK), lite.prediction_cells("m", WEEK)
    pd.testing.assert_frame_equal(ordered(got), ordered(want))  # dtypes included
    rows = FrameSource(data.df, PARAMS).read("m", WEEK)
    pd.testing.assert_frame_equal(ordered(got, np.nan), ordered(cells_of_rows(rows), np.nan), check_dtype=False)
    # the cases the keys exist for are in the week
    week = rows
    assert got["n"].sum() == len(week) and len(got) < len(week)
    raw = got.loc[got["probability"].map(lambda v: not (isinstance(v, float) and 0 <= v <= 1)), "n"].sum()
    p = week["probability"]
    assert raw == int((~p.between(0, 1)).sum()) > 0  # NaN, ±inf, -0.1, 1.2 kept as logged
    assert (p == 1).any() and got.loc[got["probability"] == 0.9995, "n"].sum() == int(((p >= 0.999) & (p <= 1)).sum())
    assert got.loc[got["early"] == 1, "n"].sum() == int((week["outcome_timestamp"] < week["timestamp"]).sum()) > 0
    assert got["actual_outcome"].isna().any() and set(got["model_version"]) == {"1", "2"}
    assert duck.prediction_cells("m", config.Window(WEEK.end, WEEK.end + dt.timedelta(days=1), "empty")).empty
    write_keeping_nan(data.df, data.root / "nan")
    nan_cells_agree(DuckdbStore(f"duckdb+parquet://{data.root / 'nan'}", PARAMS), data.df)



def reviews_counting_reads(stores: dict, tmp_path: Path, monkeypatch) -> tuple[dict, list[str]]:
    """The performance review of classifier `m` over WEEK on each named store, and the names of the
    stores whose `read` was called, once per call (a review from the engine's cells calls none)."""
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                 "performance": {"bootstrap_resamples": 200, "weeks_back": 1},
                                                 "store": PARAMS.model_dump(by_alias=True)})
    runs, reads = {}, []
    for name, store in stores.items():
        real = store.read
        monkeypatch.setattr(store, "read", lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k))
        ctx = SimpleNamespace(model=ModelSpec(name="m", type="classification"), window=WEEK, root=tmp_path,
                              params=params, store=store, has=lambda s: False, outputs={},
                              params_path=lambda n: tmp_path / "none.yaml")
        runs[name] = performance.review(ctx)
    return runs, reads

def test_the_review_on_duckdb_computes_from_cells_without_reading_the_rows(data, tmp_path, monkeypatch):
    """A clean week (nothing invalid, no early outcome, no repeated id): the review comes from DuckDB's
    cells (no `read` of the window or the weeks before) and says what SQLite's review says."""
    runs, reads = reviews_counting_reads({"duckdb": DuckdbStore(data.clean_duck, PARAMS),
                                          "sqlite": SqliteStore(data.clean_url, PARAMS)}, tmp_path, monkeypatch)
    got, want = runs["duckdb"], runs["sqlite"]
    assert got.cells is not None and got.window_rows is None and reads.count("duckdb") == 0
    assert [f.sentence for f in got.findings] == [f.sentence for f in want.findings]
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    pd.testing.assert_frame_equal(got.trend, want.trend)
    week = FrameSource(data.clean, PARAMS).read("m", WEEK)
    lab = week[week["actual_outcome"].notna()]
    assert (got.summary.n_predictions, got.summary.n_labelled) == (len(week), len(lab))
    assert got.summary.metrics["accuracy"] == pytest.approx(skm.accuracy_score(lab["actual_outcome"],
                                                                               lab["prediction"]), rel=1e-12)
