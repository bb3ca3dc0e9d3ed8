"""A regression model's residual cells counted by DuckDB over the Parquet layout by day
(store_duckdb.DuckdbStore.residual_cells, the SQL text base.residual_cells_sql that Spark runs too): one
GROUP BY that gives the cells residual_cells_of_rows gives on the same rows (keys, bins, status, early
flag and counts exactly; sums within the error bound of two float summation orders), on a log with
NULL and NaN outcomes, NULL, NaN and ±inf predictions, ±inf outcomes, early outcomes, two versions,
two variants and rows on both sides of midnight; and a regression review on DuckDB that reads no rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from frame_source import FrameSource, write_sqlite
from sklearn import metrics as skm
from test_residual_cells import WEEK, _ctx, _rows

from workbench import config
from workbench.config import StoreParams
from workbench.performance import core
from workbench.sources.base import RESIDUAL_KEYS, PredictionSource, residual_cells_of_rows
from workbench.sources.store_sqlite import SqliteStore

pytest.importorskip("duckdb")
from workbench.sources import parquet_layout  # noqa: E402
from workbench.sources.store_duckdb import DuckdbStore  # noqa: E402

PARAMS = StoreParams(columns={"probability": None})  # variant mapped: two variants in the log
CLEAN_PARAMS = StoreParams(columns={"variant": None, "probability": None})
WIDTHS = [(None, None), (0.05, 2.5), (1.0, 0.3), (1e-300, 1e-300)]  # the last: every bin capped
EPS = np.finfo(float).eps


def edge_rows(seed: int = 3) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """10 days of model m (and rows of model `other`) up to WEEK's end with every case a residual cell
    keys on, and the rows whose prediction / outcome is NULL in the files (NaN elsewhere is a NaN value)."""
    df = _rows(seed, days=10, per_day=200)
    n = len(df)
    rng = np.random.default_rng(seed)
    df["variant"] = np.where(rng.random(n) < 0.5, "a", "b")
    df.loc[rng.random(n) < 0.02, "model_version"] = None
    ts = df["timestamp"].dt.tz_convert(None).dt.floor("us").to_numpy(copy=True)
    midnight = df["timestamp"].dt.tz_convert(None).dt.floor("D").to_numpy()
    near = rng.choice(n, 40, replace=False)  # the last microsecond of a day and the first of the next
    ts[near[:20]] = midnight[near[:20]] + np.timedelta64(1, "D") - np.timedelta64(1, "us")
    ts[near[20:]] = midnight[near[20:]]
    df["timestamp"] = ts = pd.Series(ts, index=df.index).dt.tz_localize("UTC")
    df["outcome_timestamp"] = ts + pd.Timedelta(days=2)
    pick = iter(rng.permutation(np.setdiff1d(np.arange(n), near)))
    take = lambda k: np.array([next(pick) for _ in range(k)])  # noqa: E731  (disjoint rows per case)
    null = {"prediction": take(6), "actual_outcome": take(6)}
    df.loc[null["prediction"], "prediction"] = np.nan
    df.loc[null["actual_outcome"], "actual_outcome"] = np.nan
    df.loc[take(4), "prediction"] = np.nan  # NaN as a value: invalid, as NULL is
    df.loc[take(3), "prediction"] = np.inf
    df.loc[take(3), "prediction"] = -np.inf
    df.loc[take(5), "actual_outcome"] = np.nan  # NaN as a value: not logged, as the rows read it
    df.loc[take(3), "actual_outcome"] = np.inf
    df.loc[take(3), "actual_outcome"] = -np.inf
    df.loc[take(4), "actual_outcome"] = 0.0  # MAPE leaves them out
    neg = take(8)
    df.loc[neg, "actual_outcome"] = -df.loc[neg, "actual_outcome"]  # refunds: negative bins
    early = take(9)
    df.loc[early, "outcome_timestamp"] = df.loc[early, "timestamp"] - pd.Timedelta(minutes=5)
    other = df.head(30).assign(model_name="other", prediction_id=[f"o{i}" for i in range(30)])
    return pd.concat([df, other], ignore_index=True), null


def write_layout(df: pd.DataFrame, null: dict[str, np.ndarray], root: Path) -> None:
    """`df` as the layout by day, NaN and ±inf stored as values and only the rows in `null` as NULL
    (write_days, through pandas, would store every NaN as NULL)."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[us, UTC]")
    out["day"] = out["timestamp"].dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(out, preserve_index=False)
    for c, rows in null.items():
        mask = np.isin(np.arange(len(out)), rows)
        col = pa.array(out[c].to_numpy(dtype=float), type=pa.float64(), mask=mask)
        table = table.set_column(table.schema.get_field_index(c), c, col)
        assert table.column(c).null_count == len(rows) and np.isnan(out[c].to_numpy(float)[~mask]).any()
    pads.write_dataset(table, root, format="parquet", partitioning=["day"], partitioning_flavor="hive")


def sorted_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells in one order (a missing version or variant as '', every key compared as itself)."""
    cells = cells.assign(**{c: cells[c].astype(object).where(cells[c].notna(), "") for c in ("model_version", "variant")})
    return cells.sort_values(list(RESIDUAL_KEYS)).reset_index(drop=True)


def assert_same_cells(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Keys, counts, minima and maxima equal; each sum within the bound of two summation orders of the
    same n terms: each is within (n - 1) u Σ|x| of the exact sum (u = eps / 2, any order, so pairwise and
    Kahan too), so they differ by at most n eps Σ|x|, with Σ|x| from the row cells (Σ|e| for Σe, n max|y|
    for Σy, the sum itself for sums of non-negative terms)."""
    got, want = sorted_cells(got), sorted_cells(want)
    exact = [*RESIDUAL_KEYS, "n", "n_nonzero", "min_abs_error", "max_abs_error", "min_outcome", "max_outcome"]
    pd.testing.assert_frame_equal(got[exact], want[exact], check_dtype=False, check_exact=True)
    n = want["n"].to_numpy(float)
    y_max = np.fmax(want["min_outcome"].abs(), want["max_outcome"].abs()).fillna(0).to_numpy()
    magnitude = {"sum_error": want["sum_abs_error"].to_numpy(), "sum_outcome": n * y_max}
    for c in ("sum_error", "sum_abs_error", "sum_sq_error", "sum_outcome", "sum_sq_outcome", "sum_ape"):
        bound = n * EPS * magnitude.get(c, want[c].abs().to_numpy())
        diff = np.abs(got[c].to_numpy(float) - want[c].to_numpy(float))
        assert (diff <= bound).all(), (c, float((diff - bound).max()))


def assert_same_findings(got: list, want: list) -> None:
    """The same findings: every word equal, numbers in `value` and `extra` to 1e-12 (the engines add the
    cells' sums in other orders: the last bits of MAPE or R² may differ, never a printed digit)."""
    assert got and len(got) == len(want)
    for a, b in zip((f.to_dict() for f in got), (f.to_dict() for f in want)):
        assert {k: v for k, v in a.items() if k not in ("value", "extra")} == \
            {k: v for k, v in b.items() if k not in ("value", "extra")}
        assert a["extra"].keys() == b["extra"].keys()
        for k, x, y in [("value", a["value"], b["value"]), *((k, a["extra"][k], b["extra"][k]) for k in a["extra"])]:
            assert x == (pytest.approx(y, rel=1e-12, nan_ok=True) if isinstance(y, float) else y), k


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake-residuals")
    df, null = edge_rows()
    write_layout(df, null, root / "lake")
    clean = _rows(9, days=14)
    parquet_layout.write_days(clean, root / "clean", "timestamp", ("outcome_timestamp",))
    return SimpleNamespace(root=root, df=df, clean=clean, url=f"duckdb+parquet://{root / 'lake'}",
                           clean_duck=f"duckdb+parquet://{root / 'clean'}",
                           clean_lite=write_sqlite(root / "clean.db", clean))


@pytest.mark.parametrize("widths", WIDTHS)
def test_duckdb_counts_the_residual_cells_the_rows_give(lake, widths, monkeypatch):
    duck = DuckdbStore(lake.url, PARAMS)
    seen = []
    real = duck._all
    monkeypatch.setattr(duck, "_all", lambda sql, *a: seen.append(sql) or real(sql, *a))
    got = duck.residual_cells("m", WEEK, *widths)
    counted = [q for q in seen if not q.startswith("DESCRIBE")]  # (the schema, once per store)
    assert len(counted) == 1 and "GROUP BY" in counted[0]  # one grouped query, no read
    rows = duck.read("m", WEEK)
    assert_same_cells(got, residual_cells_of_rows(rows, *widths))  # the same rows, read through DuckDB
    assert_same_cells(got, FrameSource(lake.df, PARAMS).residual_cells("m", WEEK, *widths))
    # every case the keys exist for is in the week, and counted where the rows count it
    week = FrameSource(lake.df, PARAMS).read("m", WEEK)
    pred, y = week["prediction"].to_numpy(float), week["actual_outcome"].to_numpy(float)
    count = lambda mask: int(got.loc[mask, "n"].sum())  # noqa: E731
    assert count(got["status"] == 2) == int((~np.isfinite(pred) | np.isinf(y)).sum()) > 12
    assert count(got["status"] == 0) == int((np.isfinite(pred) & np.isnan(y)).sum()) > 0
    assert count(got["early"] == 1) == int((week["outcome_timestamp"] < week["timestamp"]).sum()) > 0
    assert count(got["model_version"].isna()) > 0 and set(got["variant"]) == {"a", "b"}
    assert set(got["model_version"].dropna()) == {"1", "2"}
    last = week["timestamp"].dt.floor("D") != (week["timestamp"] + pd.Timedelta(microseconds=1)).dt.floor("D")
    assert last.sum() > 0 and got["n"].sum() == len(week)  # rows at 23:59:59.999999 kept in their day
    if widths[0] == 1e-300:
        assert got["error_bin"].max() == 2 ** 40 and got["outcome_bin"].min() == -2 ** 40
    elif widths[0]:
        b = got[got["status"] == 1]
        assert b["error_bin"].nunique() > 10 and (b["min_abs_error"] >= b["error_bin"] * widths[0] - 1e-9).all()


def test_the_default_through_duckdb_and_the_counted_cells_agree_on_an_empty_window(lake):
    duck = DuckdbStore(lake.url, PARAMS)
    empty = config.Window(WEEK.end, WEEK.end + dt.timedelta(days=1), "empty")
    got = duck.residual_cells("m", empty)
    assert got.empty and list(got.columns) == list(PredictionSource.residual_cells(duck, "m", empty).columns)


def test_the_regression_review_on_duckdb_computes_from_cells_without_reading_the_rows(lake, tmp_path, monkeypatch):
    """A clean week (nothing invalid, no early outcome, no repeated id): the review comes from DuckDB's
    residual cells (no `read` of the window or the weeks before) and says what SQLite's review says."""
    (tmp_path / "baselines.yaml").write_text("m:\n  '2': {mae: 5.0, rmse: 6.0, mape: 0.05, r2: 0.99}\n")
    runs, reads = {}, []
    for name, store in (("duckdb", DuckdbStore(lake.clean_duck, CLEAN_PARAMS)),
                        ("sqlite", SqliteStore(lake.clean_lite, CLEAN_PARAMS))):
        real = store.read
        monkeypatch.setattr(store, "read", lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k))
        runs[name] = core.review(_ctx(tmp_path, store, store_params=CLEAN_PARAMS))
    got, want = runs["duckdb"], runs["sqlite"]
    assert got.cells is not None and got.binned is not None and got.window_rows is None
    assert "duckdb" not in reads and "sqlite" not in reads
    assert_same_findings(got.findings, want.findings)
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    for k, (lo, hi) in want.summary.ci.items():
        assert got.summary.ci[k] == pytest.approx((lo, hi), rel=1e-9), k
    pd.testing.assert_frame_equal(got.trend, want.trend, check_exact=False, rtol=1e-12)
    week = FrameSource(lake.clean, CLEAN_PARAMS).read("m", WEEK)
    lab = week[week["actual_outcome"].notna()]
    assert (got.summary.n_predictions, got.summary.n_labelled) == (len(week), len(lab))
    assert got.summary.metrics["mae"] == pytest.approx(
        skm.mean_absolute_error(lab["actual_outcome"], lab["prediction"]), rel=1e-12)
    assert got.summary.metrics["r2"] == pytest.approx(skm.r2_score(lab["actual_outcome"], lab["prediction"]), rel=1e-9)
