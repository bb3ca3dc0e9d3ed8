"""The performance review from prediction cells (sources.base.prediction_cells): SQLite's GROUP BY
counts the same cells as the interface's default from `read`; the count metrics from the cells equal
scikit-learn's on the rows exactly, the probability metrics lie within the rounding bounds of
performance.cells.rounding_bounds (derived in docs/methods.md) of scikit-learn's on the exact probabilities; the
bootstrap over cells gives the row bootstrap's interval within Monte Carlo error; the review on
SQLite (cells) says what the review on the rows says."""

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
from workbench.performance import cbpe, cells as pc, core
from workbench.sources.base import CELL_KEYS, PROBABILITY_GRID, cells_of_rows
from workbench.sources.store_sqlite import SqliteStore

WEEK = config.iso_week("2026-W47")
PARAMS = StoreParams(columns={"variant": None})
CLF = ModelSpec(name="m", type="classification")
COUNT_METRICS = ("accuracy", "precision", "recall", "f1", "precision_1", "recall_1", "f1_1", "precision_0",
                 "recall_0", "f1_0")


def _rows(seed: int, days: int = 21, per_day: int = 300) -> pd.DataFrame:
    """`days` days up to the end of WEEK: continuous probabilities (some exactly on the calibration
    bins' edges and at 0 and 1), outcomes drawn from them, two versions, outcomes 2 days late."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    start = WEEK.end - dt.timedelta(days=days)
    ts = pd.to_datetime([start + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, days * 86_400, n))],
                        utc=True)
    prob = rng.random(n) ** 1.3
    prob[rng.random(n) < 0.03] = rng.choice([0.0, 0.1, 0.5, 0.7, 1.0], size=1)[0]
    outcome = (rng.random(n) < prob).astype(float)
    outcome[ts > pd.Timestamp(WEEK.end) - pd.Timedelta(days=2)] = np.nan  # not labelled yet
    return pd.DataFrame({"prediction_id": [f"p{i}" for i in range(n)], "model_name": "m",
                         "model_version": np.where(ts < pd.Timestamp(WEEK.start) + pd.Timedelta(days=3), "1", "2"),
                         "timestamp": ts, "prediction": (prob >= 0.5).astype(float), "probability": prob,
                         "actual_outcome": outcome,
                         "outcome_timestamp": ts + pd.Timedelta(days=2)})


def _sqlite(path: Path, df: pd.DataFrame) -> str:
    return write_sqlite(path, df, "%Y-%m-%d %H:%M:%S.%f")


def _week(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["timestamp"] >= pd.Timestamp(WEEK.start)) & (df["timestamp"] < pd.Timestamp(WEEK.end))]


def _sorted(cells: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in CELL_KEYS if k != "variant"]
    return cells.sort_values(keys).reset_index(drop=True)[keys + ["n"]]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cells")
    df = _rows(7)
    return SimpleNamespace(root=root, df=df, url=_sqlite(root / "p.db", df))


def test_sqlite_group_by_counts_the_cells_the_default_counts_from_rows(data):
    lite = SqliteStore(data.url, PARAMS)
    assert lite.counts_cells and not FrameSource(data.df, PARAMS).counts_cells
    got = lite.prediction_cells("m", WEEK)
    want = FrameSource(data.df, PARAMS).prediction_cells("m", WEEK)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_dtype=False)
    week = _week(data.df)
    assert got["n"].sum() == len(week)
    assert len(got) < len(week)  # cells, not rows (at a million rows a week: a few thousand)
    # each probability stands for its grid cell's midpoint, at most half a cell away
    p = week["probability"].to_numpy()
    mid = (np.minimum(np.floor(p * PROBABILITY_GRID), PROBABILITY_GRID - 1) + 0.5) / PROBABILITY_GRID
    assert np.abs(p - mid).max() <= 0.5 / PROBABILITY_GRID
    assert sorted(got["probability"].unique()) == pytest.approx(sorted(np.unique(mid)), abs=1e-12)


def _exact(week: pd.DataFrame, positive: float = 1.0) -> dict[str, float]:
    lab = week[week["actual_outcome"].notna()]
    y = (lab["actual_outcome"] == positive).astype(int)
    yhat = (lab["prediction"] == positive).astype(int)
    prob = lab["probability"] if positive == 1 else 1 - lab["probability"]
    pr, rc, f1, _ = skm.precision_recall_fscore_support(y, yhat, labels=[1, 0], zero_division=0)
    out = {"accuracy": skm.accuracy_score(y, yhat),
           "precision": skm.precision_score(y, yhat, average="weighted"),
           "recall": skm.recall_score(y, yhat, average="weighted"), "f1": skm.f1_score(y, yhat, average="weighted"),
           "precision_1": pr[0], "recall_1": rc[0], "f1_1": f1[0], "precision_0": pr[1], "recall_0": rc[1],
           "f1_0": f1[1], "roc_auc": skm.roc_auc_score(y, prob), "pr_auc": skm.average_precision_score(y, prob),
           "log_loss": skm.log_loss(y, prob), "brier": skm.brier_score_loss(y, prob)}
    out["ece"] = core.calibration(lab)[1]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("positive", [1, 0])
def test_count_metrics_exact_probability_metrics_within_the_rounding_bound(seed, positive):
    df = _rows(seed, days=7)
    week = _week(df)
    spec = ModelSpec(name="m", type="classification", positive_class=positive)
    cells = cells_of_rows(week, PROBABILITY_GRID)
    s = core.evaluate_cells(cells, spec)
    exact = _exact(week, float(positive))
    for k in COUNT_METRICS:  # counts: exact
        assert s.metrics[k] == pytest.approx(exact[k], rel=1e-12, abs=1e-15), k
    bounds = pc.rounding_bounds(cells, spec, PROBABILITY_GRID)
    s_ece = pc.calibration_cells(cells)[1]
    moved = {}
    for k in ("roc_auc", "pr_auc", "log_loss", "brier", "ece"):
        got = s_ece if k == "ece" else s.metrics[k]
        moved[k] = abs(got - exact[k])
        assert moved[k] <= bounds[k] + 1e-12, (k, got, exact[k], bounds[k])
    assert 0 < bounds["roc_auc"] < 1e-3 and bounds["brier"] == pytest.approx(1 / PROBABILITY_GRID)
    assert any(v > 0 for v in moved.values())  # the rounding did move something: the bound is not vacuous


def test_bootstrap_over_cells_gives_the_row_bootstrap_interval():
    """Same seed, other draws (a multinomial over cells vs row indices): equal in distribution, so the
    endpoints differ by Monte Carlo error. With R = 1,000 resamples the 2.5% / 97.5% quantile of a
    roughly normal bootstrap distribution (sd s) has a standard error of about
    sqrt(.025 * .975 / 1000) / phi(1.96) * s = 0.085 s; the difference of two independent ones
    0.12 s. Tolerance: 0.5 s (about 4 standard errors) plus the metric's rounding bound."""
    df = _rows(11, days=7, per_day=500)
    week = _week(df)
    lab = week[week["actual_outcome"].notna()]
    cells = cells_of_rows(week, PROBABILITY_GRID)
    got = core.evaluate_cells(cells, CLF, resamples=1000, seed=0)
    want = core.evaluate(lab, CLF, resamples=1000, seed=0)
    bounds = pc.rounding_bounds(cells, CLF, PROBABILITY_GRID)
    for k in ("accuracy", "f1", "roc_auc", "pr_auc", "log_loss", "brier"):
        lo, hi = want.ci[k]
        sd = (hi - lo) / 3.92
        tol = 0.5 * sd + bounds.get(k, 0.0)
        assert got.ci[k][0] == pytest.approx(lo, abs=tol), k
        assert got.ci[k][1] == pytest.approx(hi, abs=tol), k
        assert got.ci[k][0] < got.metrics[k] < got.ci[k][1]
    again = core.evaluate_cells(cells, CLF, resamples=1000, seed=0)
    assert again.ci == got.ci  # seeded


def _ctx(data, store, weeks_back: int = 2) -> SimpleNamespace:
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                 "performance": {"bootstrap_resamples": 200, "weeks_back": weeks_back},
                                                 "store": PARAMS.model_dump(by_alias=True)})
    return SimpleNamespace(model=CLF, window=WEEK, root=data.root, params=params, store=store,
                           has=lambda s: False, params_path=lambda name: data.root / "none.yaml", outputs={})


def test_review_from_sqlite_cells_says_what_the_review_of_rows_says(data):
    cells_run = core.review(_ctx(data, SqliteStore(data.url, PARAMS)))
    rows_run = core.review(_ctx(data, FrameSource(data.df, PARAMS)))
    assert cells_run.cells is not None and cells_run.window_rows is None  # no rows read
    assert rows_run.cells is None
    a, b = cells_run.summary, rows_run.summary
    assert (a.n_predictions, a.n_labelled) == (b.n_predictions, b.n_labelled)
    bounds = pc.rounding_bounds(cells_run.cells, CLF, PROBABILITY_GRID)
    for k in COUNT_METRICS:
        assert a.metrics[k] == pytest.approx(b.metrics[k], rel=1e-12), k
    for k in ("roc_auc", "pr_auc", "log_loss", "brier"):
        assert abs(a.metrics[k] - b.metrics[k]) <= bounds[k] + 1e-12, k
    assert cells_run.versions == rows_run.versions == ["1", "2"]
    cols = ["model_version", "predictions", "labelled", "label_coverage", "accuracy"]
    pd.testing.assert_frame_equal(cells_run.by_version[cols], rows_run.by_version[cols], check_dtype=False)
    cols = ["period", "model_version", "predictions", "labelled", "label_coverage", "accuracy"]
    pd.testing.assert_frame_equal(cells_run.trend[cols], rows_run.trend[cols], check_dtype=False)
    assert [f.sentence for f in cells_run.findings] == [f.sentence for f in rows_run.findings]
    assert any("base rate" in f.sentence for f in cells_run.findings)
    # CBPE: the realised metrics equal (counts); estimates from a calibration on the grid's midpoints
    got = cbpe.run_cells(cells_run.cells, cells_run.history_cells).to_frame()
    want = cbpe.run(rows_run.window_predictions, rows_run.history).to_frame()
    assert len(got) == len(want) > 0
    acc = lambda t: t[t["metric"] == "accuracy"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_series_equal(acc(got)["realised"], acc(want)["realised"], rtol=1e-12)
    np.testing.assert_allclose(got["estimated"], want["estimated"], atol=0.01)
    assert [f.sentence for f in cbpe.gap_findings(got)][0].startswith("Realised accuracy")
    # a section that needs the rows reads them on first use: the same rows
    pd.testing.assert_frame_equal(cells_run.window_predictions.reset_index(drop=True),
                                  rows_run.window_predictions.reset_index(drop=True), check_dtype=False)


def test_invalid_values_or_repeated_ids_in_the_window_fall_back_to_the_rows(data, tmp_path):
    df = data.df.copy()
    in_week = df.index[df["timestamp"] >= pd.Timestamp(WEEK.start)]
    df.loc[in_week[:3], "prediction_id"] = df.loc[in_week[3], "prediction_id"]
    url = _sqlite(tmp_path / "dup.db", df)
    run = core.review(_ctx(SimpleNamespace(root=tmp_path), SqliteStore(url, PARAMS)))
    assert run.cells is None and run.row_check.n_left_out == 3  # the finding counts rows, so rows are read
    bad = data.df.copy()
    bad.loc[in_week[:2], "probability"] = 1.5
    url = _sqlite(tmp_path / "bad.db", bad)
    run = core.review(_ctx(SimpleNamespace(root=tmp_path), SqliteStore(url, PARAMS)))
    assert run.cells is None and any("outside [0, 1] in 2 rows" in f.sentence for f in run.findings)


def test_weeks_back_zero_reviews_the_week_without_a_trend_history(data):
    """`performance.weeks_back: 0` (allowed by the schema) means no weeks before: both paths review the
    week alone instead of failing on an empty window."""
    cells_run = core.review(_ctx(data, SqliteStore(data.url, PARAMS), weeks_back=0))
    rows_run = core.review(_ctx(data, FrameSource(data.df, PARAMS), weeks_back=0))
    assert cells_run.cells is not None and rows_run.cells is None
    assert cells_run.history_cells.empty and rows_run.history.empty
    assert cells_run.summary.metrics["accuracy"] == pytest.approx(rows_run.summary.metrics["accuracy"], rel=1e-12)
    assert set(cells_run.trend["period"]) == set(rows_run.trend["period"])
    assert (pd.to_datetime(cells_run.trend["period"], utc=True) >= pd.Timestamp(WEEK.start)).all()  # the week only
