"""The regression review from residual cells (sources.base.residual_cells): SQLite's GROUP BY counts the
same cells as the interface's default from `read`; MAE, RMSE, MAPE and R² from the cells' sums equal
scikit-learn's on the rows; the bootstrap over the cells' bins stays within the bound of
docs/methods.md of the row bootstrap it stands for, and gives the row bootstrap's interval within
Monte Carlo error plus that bound; the review on SQLite (cells) says what the review on the rows
says, on synthetic rows and on the demo's revenue-predictor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from frame_source import FrameSource
from test_prediction_cells import WEEK, _sqlite, _week  # the same week, SQLite writer and cut
from sklearn import metrics as skm

from workbench import config
from workbench.config import ModelSpec, StoreParams
from workbench.performance import cells as pc, core, metrics as wm, residual_cells as rc
from workbench.sources.base import RESIDUAL_KEYS, residual_bin, residual_cells_of_rows
from workbench.sources.store_sqlite import SqliteStore

PARAMS = StoreParams(columns={"variant": None, "probability": None})
REG = ModelSpec(name="m", type="regression")
INTERVAL = "[-+0-9.e]+"


def _rows(seed: int, days: int = 21, per_day: int = 300, mean: float = 50.0) -> pd.DataFrame:
    """`days` days up to the end of WEEK: skewed outcomes (a few exactly 0), predictions with a bias
    and heavy-tailed errors, two versions, outcomes 2 days late."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    start = WEEK.end - dt.timedelta(days=days)
    ts = pd.to_datetime([start + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, days * 86_400, n))],
                        utc=True)
    y = np.round(mean * rng.lognormal(0, 0.4, n), 2)
    y[rng.random(n) < 0.01] = 0.0
    pred = y + 2.0 + rng.standard_t(4, n) * 5
    y[ts > pd.Timestamp(WEEK.end) - pd.Timedelta(days=2)] = np.nan  # not labelled yet
    return pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "model_name": "m",
                         "model_version": np.where(ts < pd.Timestamp(WEEK.start) + pd.Timedelta(days=3), "1", "2"),
                         "timestamp": ts, "prediction": pred, "actual_outcome": y,
                         "outcome_timestamp": ts + pd.Timedelta(days=2)})


def _sorted(cells: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in RESIDUAL_KEYS if k != "variant"]
    return cells.sort_values(keys).reset_index(drop=True).drop(columns="variant")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("residuals")
    df = _rows(7)
    return SimpleNamespace(root=root, df=df, url=_sqlite(root / "p.db", df))


@pytest.mark.parametrize("widths", [(None, None), (0.05, 2.5), (1.0, 0.3)])
def test_sqlite_group_by_counts_the_residual_cells_the_default_counts_from_rows(data, widths):
    lite = SqliteStore(data.url, PARAMS)
    lite.table()  # the table's columns reflected first
    seen = []
    sa.event.listen(lite.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    got = lite.residual_cells("m", WEEK, *widths)
    assert 1 <= len(seen) <= lite.scan_workers and all("GROUP BY" in q for q in seen)
    want = FrameSource(data.df, PARAMS).residual_cells("m", WEEK, *widths)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_dtype=False, rtol=1e-12)
    week = _week(data.df)
    assert got["n"].sum() == len(week) and set(got["status"]) == {0, 1}
    lab = week[week["actual_outcome"].notna()]
    assert got.loc[got["status"] == 1, "n"].sum() == len(lab)
    e = lab["prediction"] - lab["actual_outcome"]
    assert got["sum_error"].sum() == pytest.approx(e.sum(), rel=1e-12)
    assert got["sum_sq_error"].sum() == pytest.approx((e**2).sum(), rel=1e-12)
    if widths[0]:  # every labelled row in the |e| bin of its own residual
        b = got[got["status"] == 1]
        assert (b["min_abs_error"] >= b["error_bin"] * widths[0] - 1e-9).all()
        assert (b["max_abs_error"] < (b["error_bin"] + 1) * widths[0] + 1e-9).all()
        assert (b["min_outcome"] >= b["outcome_bin"] * widths[1] - 1e-9).all()


def _sklearn(lab: pd.DataFrame) -> dict[str, float]:
    y, yhat = lab["actual_outcome"].to_numpy(), lab["prediction"].to_numpy()
    nz = y != 0
    return {"mae": skm.mean_absolute_error(y, yhat), "rmse": np.sqrt(skm.mean_squared_error(y, yhat)),
            "mape": skm.mean_absolute_percentage_error(y[nz], yhat[nz]), "r2": skm.r2_score(y, yhat)}


@pytest.mark.parametrize("seed,mean", [(1, 50.0), (2, 5_000.0), (3, 0.3)])
def test_metrics_from_residual_cells_equal_sklearn_on_the_rows(seed, mean):
    week = _week(_rows(seed, days=7, mean=mean))
    s = core.evaluate_cells(residual_cells_of_rows(week), REG)
    lab = week[week["actual_outcome"].notna()]
    assert (s.n_predictions, s.n_labelled) == (len(week), len(lab))
    exact = _sklearn(lab)
    assert rc.METRICS == core.REGRESSION_METRICS
    for k in core.REGRESSION_METRICS:
        assert s.metrics[k] == pytest.approx(exact[k], rel=1e-9), k
    rows = core.evaluate(week, REG)
    assert s.notes == rows.notes and "zero actuals left out" in s.notes["mape"]
    for k in core.REGRESSION_METRICS:
        assert s.metrics[k] == pytest.approx(rows.metrics[k], rel=1e-12), k


def test_constant_actuals_and_too_few_labels_say_what_the_rows_say():
    week = _week(_rows(4, days=7)).copy()
    week["actual_outcome"] = week["actual_outcome"].where(week["actual_outcome"].isna(), 3.0)
    s, rows = core.evaluate_cells(residual_cells_of_rows(week), REG), core.evaluate(week, REG)
    assert s.metrics["r2"] is None and s.notes == rows.notes and s.notes["r2"] == "undefined: actuals are constant"
    few = week.head(40).assign(actual_outcome=np.r_[np.ones(5), np.full(35, np.nan)])
    s, rows = core.evaluate_cells(residual_cells_of_rows(few), REG), core.evaluate(few, REG)
    assert s.metrics == rows.metrics and s.notes == rows.notes and s.n_labelled == 5


def _binned(week: pd.DataFrame) -> pd.DataFrame:
    return residual_cells_of_rows(week, *rc.residual_widths(residual_cells_of_rows(week)))


def test_the_cell_bootstrap_stays_within_the_bound_of_the_row_bootstrap_it_stands_for():
    """The coupling of docs/methods.md: draw a resample's counts per bin (the multinomial both
    bootstraps draw), then rows within each bin as the row bootstrap would. MAE and RMSE from the
    cell means and from those rows differ by at most the widest |e| spread of a bin."""
    week = _week(_rows(5, days=7, per_day=400))
    binned = _binned(week)
    bound = pc.residual_bounds(binned)
    assert 0 < bound["mae"] == bound["rmse"] < 0.02 * core.evaluate(week, REG).metrics["rmse"]
    lab = week[week["actual_outcome"].notna()]
    e_width, y_width = rc.residual_widths(residual_cells_of_rows(week))
    err = (lab["prediction"] - lab["actual_outcome"]).abs().to_numpy()
    keys = pd.MultiIndex.from_arrays([residual_bin(err, e_width), residual_bin(lab["actual_outcome"].to_numpy(), y_width)])
    b = binned[binned["status"] == 1].groupby(["error_bin", "outcome_bin"])[list(rc.RESIDUAL_SUMS)].sum()
    by_bin = pd.Series(err).groupby(keys.to_numpy()).apply(np.asarray)
    rng = np.random.default_rng(0)
    worst = {"mae": 0.0, "rmse": 0.0}
    for _ in range(200):
        m = rng.multinomial(len(err), b["n"] / b["n"].sum())
        drawn = np.concatenate([rng.choice(by_bin[k], size=c) for k, c in zip(b.index, m) if c])
        cell = wm.regression_cells(**{k: b[k].to_numpy(float) for k in rc.RESIDUAL_SUMS}, W=m[None, :].astype(float))
        worst["mae"] = max(worst["mae"], abs(cell["mae"][0] - drawn.mean()))
        worst["rmse"] = max(worst["rmse"], abs(cell["rmse"][0] - np.sqrt(np.mean(drawn**2))))
    for k in worst:
        assert 0 < worst[k] <= bound[k], k


def test_bootstrap_over_residual_cells_gives_the_row_bootstrap_interval():
    """Other draws of the same bootstrap (multinomial over bins vs row indices) plus the cell-mean
    approximation: endpoints within 0.5 bootstrap sd (about 4 Monte Carlo standard errors at 1,000
    resamples, as test_prediction_cells) plus the bound (MAE, RMSE); MAPE and R² carry no bound (the
    outcome's spread inside a bin), their tolerance is the same 0.5 sd, measured here."""
    week = _week(_rows(11, days=7, per_day=500))
    lab = week[week["actual_outcome"].notna()]
    cells = residual_cells_of_rows(week)
    binned = _binned(week)
    got = core.evaluate_cells(cells, REG, resamples=1000, seed=0, binned=binned)
    want = core.evaluate(lab, REG, resamples=1000, seed=0)
    bound = pc.residual_bounds(binned)
    for k in core.REGRESSION_METRICS:
        lo, hi = want.ci[k]
        tol = 0.5 * (hi - lo) / 3.92 + bound.get(k, 0.0)
        assert got.ci[k][0] == pytest.approx(lo, abs=tol), k
        assert got.ci[k][1] == pytest.approx(hi, abs=tol), k
        assert got.ci[k][0] < got.metrics[k] < got.ci[k][1]
    assert core.evaluate_cells(cells, REG, resamples=1000, seed=0, binned=binned).ci == got.ci  # seeded


def _ctx(root: Path, store, model: str = "m", weeks_back: int = 2, window=WEEK, store_params=PARAMS):
    params = config.WeeklyParams.model_validate({"models": [{"name": model, "type": "regression"}],
                                                 "performance": {"bootstrap_resamples": 500, "weeks_back": weeks_back},
                                                 "store": store_params.model_dump(by_alias=True)})
    return SimpleNamespace(model=ModelSpec(name=model, type="regression"), window=window, root=root, params=params,
                           store=store, has=lambda s: False, params_path=lambda name: root / f"{name}.yaml",
                           outputs={})


def _same_review(cells_run, rows_run) -> list[str]:
    """Cells and rows: the same points (to 1e-12), tables, trend and findings; intervals within
    the tolerance of test_bootstrap_over_residual_cells_gives_the_row_bootstrap_interval."""
    assert cells_run.cells is not None and cells_run.window_rows is None  # no rows read
    assert rows_run.cells is None
    a, b = cells_run.summary, rows_run.summary
    assert (a.n_predictions, a.n_labelled) == (b.n_predictions, b.n_labelled)
    assert a.notes == b.notes
    for k in core.REGRESSION_METRICS:
        assert a.metrics[k] == pytest.approx(b.metrics[k], rel=1e-12), k
    bound = pc.residual_bounds(cells_run.binned)
    for k in core.REGRESSION_METRICS:
        (lo, hi), (wlo, whi) = a.ci[k], b.ci[k]
        tol = 0.5 * (whi - wlo) / 3.92 + bound.get(k, 0.0)
        assert lo == pytest.approx(wlo, abs=tol) and hi == pytest.approx(whi, abs=tol), k
    assert cells_run.versions == rows_run.versions
    cols = ["model_version", "predictions", "labelled", "label_coverage", *core.REGRESSION_METRICS]
    pd.testing.assert_frame_equal(cells_run.by_version[cols], rows_run.by_version[cols], check_dtype=False,
                                  rtol=1e-12)
    cols = ["period", "model_version", "predictions", "labelled", "label_coverage", *core.REGRESSION_METRICS]
    pd.testing.assert_frame_equal(cells_run.trend[cols], rows_run.trend[cols], check_dtype=False, rtol=1e-12)
    import re

    masked = lambda run: [re.sub(rf"\[{INTERVAL}, {INTERVAL}\]", "[…]", f.sentence) for f in run.findings]  # noqa: E731
    assert masked(cells_run) == masked(rows_run)
    assert [(f.severity, f.subject) for f in cells_run.findings] == [(f.severity, f.subject) for f in rows_run.findings]
    values = lambda run: [np.nan if f.value is None else f.value for f in run.findings]  # noqa: E731
    assert values(cells_run) == pytest.approx(values(rows_run), rel=1e-12, nan_ok=True)
    return masked(cells_run)


class RowsOnly(SqliteStore):
    """The same SQLite log, read as rows (an engine that does not count cells)."""

    @property
    def counts_cells(self) -> bool:
        return False


def test_review_from_sqlite_residual_cells_says_what_the_review_of_rows_says(data):
    (data.root / "baselines.yaml").write_text("m:\n  '2': {mae: 5.0, rmse: 6.0, mape: 0.05, r2: 0.99}\n")
    cells_run = core.review(_ctx(data.root, SqliteStore(data.url, PARAMS)))
    rows_run = core.review(_ctx(data.root, FrameSource(data.df, PARAMS)))
    sentences = _same_review(cells_run, rows_run)
    assert any(s.startswith("MAE ") and "[…]" in s and "above" in s for s in sentences)  # an alert with its interval
    assert any(s.startswith("Also worse") and "R²" in s for s in sentences)
    assert cells_run.versions == ["1", "2"]
    # a section that needs the rows reads them on first use: the same rows
    pd.testing.assert_frame_equal(cells_run.window_predictions.reset_index(drop=True),
                                  rows_run.window_predictions.reset_index(drop=True), check_dtype=False)


def test_the_demo_revenue_predictor_reviewed_from_cells_and_from_rows(small_history, tmp_path):
    from workbench.demo import database

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    eng = sa.create_engine(url)
    database.write_predictions(eng, small_history.predictions)
    eng.dispose()
    end = pd.Timestamp(small_history.predictions["timestamp"].max()).floor("D").to_pydatetime()
    window = config.Window(end - dt.timedelta(days=7), end, "last 7 days")
    (tmp_path / "baselines.yaml").write_text("revenue-predictor:\n  '1.0': {mae: 1.0, rmse: 1.0, mape: 0.01, r2: 0.99}\n")
    runs = [core.review(_ctx(tmp_path, cls(url, StoreParams()), "revenue-predictor", 1, window, StoreParams()))
            for cls in (SqliteStore, RowsOnly)]
    sentences = _same_review(*runs)
    assert runs[0].summary.n_labelled > 500
    assert any(s.startswith("MAE ") for s in sentences)


def test_invalid_values_early_outcomes_or_repeated_ids_fall_back_to_the_rows(data, tmp_path):
    in_week = data.df.index[data.df["timestamp"] >= pd.Timestamp(WEEK.start)]
    cases = {"dup": ("prediction_id", data.df.loc[in_week[3], "prediction_id"]), "inf": ("prediction", np.inf),
             "null": ("prediction", np.nan), "text": ("actual_outcome", "n/a"),
             "early": ("outcome_timestamp", pd.Timestamp(WEEK.start) - pd.Timedelta(days=30))}
    for name, (col, value) in cases.items():
        df = data.df.copy()
        df[col] = df[col].astype(object)
        df.loc[in_week[:3], col] = value
        df[col] = df[col].infer_objects() if col != "actual_outcome" else df[col]
        store = SqliteStore(_sqlite(tmp_path / f"{name}.db", df), PARAMS)
        cells = store.residual_cells("m", WEEK)
        want = FrameSource(df, PARAMS).residual_cells("m", WEEK)
        if name == "text":  # a TEXT column in SQLite: its numbers are text too, not numbers to the engine
            assert (cells["status"] == 2).any() and (want["status"] == 2).sum() == 1  # the default parses them
        else:
            pd.testing.assert_frame_equal(_sorted(cells), _sorted(want), check_dtype=False, rtol=1e-12)
            assert (cells["status"] == 2).any() == (name in ("inf", "null")) and cells["early"].any() == (name == "early")
        run = core.review(_ctx(tmp_path, store))
        assert run.cells is None and run.row_check.n_left_out == 3, name  # the finding counts rows: rows are read
