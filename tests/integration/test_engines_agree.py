"""The same prediction log in every engine gives the same findings: one seeded table, not shaped like the
demo (other column names, NaN, ±inf and None among the values, repeated ids, a version change), loaded
into SQLite, PostgreSQL and the Parquet layout by day read by DuckDB and by Spark (local[2], one session
for the module); the drift review (with its drift
over time and volume), the performance review of a classifier and of a regression model (`r`, from the
residual cells each engine counts) and the weak-segment search run on each. Findings text is
identical, statistics equal (to 1e-9), and the statistics are scipy's and scikit-learn's on the frame.

A new engine is one entry in ENGINES: a function (frame, folder, request) -> URL of that engine's copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy import stats
from sklearn import metrics as skm

from workbench import config
from workbench.config import DriftDetection, ModelSpec, MonitoringParams, StoreParams, Window
from workbench.drift import core as drift, history
from workbench.performance import core as performance, segments
from workbench.sources import parquet_layout
from workbench.sources.registry import open_store

pytestmark = pytest.mark.integration

# the seeded generator of the source-interface tests (3 weeks, amount and plan shift in the last one);
# that module imports its neighbour frame_source, so tests/unit goes on the path first
_UNIT = Path(__file__).resolve().parents[1] / "unit"
if str(_UNIT) not in sys.path:
    sys.path.append(str(_UNIT))
_spec = importlib.util.spec_from_file_location("source_interface_rows", _UNIT / "test_source_interface.py")
_gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gen)

WEEK, WEEKS_BACK, FEATURES = _gen.WEEK, _gen.WEEKS_BACK, _gen.FEATURES
RENAME = {"prediction_id": "req_id", "model_name": "mdl", "model_version": "mdl_ver", "timestamp": "scored_at",
          "prediction": "label", "probability": "p_churn", "actual_outcome": "truth", "outcome_timestamp": "truth_at"}
PARAMS = StoreParams(table="agreement_log", columns={
    "id": "req_id", "model": "mdl", "version": "mdl_ver", "variant": None, "timestamp": "scored_at",
    "prediction": "label", "probability": "p_churn", "outcome": "truth", "outcome_timestamp": "truth_at"})


def _sqlite(frame: pd.DataFrame, folder: Path, request) -> str:
    out = frame.copy()
    for c in ("scored_at", "truth_at"):
        out[c] = pd.to_datetime(out[c], utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(folder / "log.db") as con:
        out.to_sql(PARAMS.table, con, index=False)
    return f"sqlite:///{folder / 'log.db'}"


def _postgres(frame: pd.DataFrame, folder: Path, request) -> str:
    url = request.getfixturevalue("postgres_url")
    out = frame.copy()
    for c in ("scored_at", "truth_at"):
        out[c] = pd.to_datetime(out[c], utc=True)
    eng = sa.create_engine(url)
    out.to_sql(PARAMS.table, eng, index=False, chunksize=5_000)
    eng.dispose()
    return url


def _duckdb(frame: pd.DataFrame, folder: Path, request) -> str:
    for day in frame.groupby(pd.to_datetime(frame["scored_at"], utc=True).dt.date, sort=True).groups.values():
        # a day at a time, as a log is appended: several files per day folder over the run
        parquet_layout.write_days(frame.loc[day], folder / "lake", "scored_at", ("truth_at",))
    return f"duckdb+parquet://{folder / 'lake'}"


def _spark(frame: pd.DataFrame, folder: Path, request) -> str:
    request.getfixturevalue("spark_session")  # the module's one session, stopped after the module
    _duckdb(frame, folder, request)  # the same layout (write_days stores microseconds, as Spark needs)
    return f"spark+parquet://{folder / 'lake'}?master=local[2]&driver_memory=512m"


# engine -> loader
ENGINES = {"sqlite": _sqlite, "postgresql": _postgres, "duckdb": _duckdb, "spark": _spark}


@pytest.fixture(scope="module")
def spark_session():
    """One SparkSession for the module (start-up takes tens of seconds), stopped at its end."""
    from workbench.sources import store_spark

    yield
    if store_spark._SESSION is not None:
        store_spark.spark_session().stop()


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> SimpleNamespace:
    rng = np.random.default_rng(20261205)
    df = _gen._rows(rng).rename(columns=RENAME)
    root = tmp_path_factory.mktemp("engines")
    n = 5_000
    pd.DataFrame({"amount": np.round(rng.lognormal(3.0, 0.6, n), 1), "score": rng.normal(0, 1, n),
                  "usage": np.round(rng.gamma(2.0, 3.0, n)), "plan": rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]),
                  "region": rng.choice(["north", "south", "east"], n)}).to_csv(root / "ref.csv", index=False)
    df = pd.concat([df, _regression_rows(rng)], ignore_index=True)
    return SimpleNamespace(df=df, root=root)


class _Registry:
    def training_metrics(self, model, version):
        return {"mae": 3.0, "rmse": 4.0, "mape": 0.05, "r2": 0.99} if model == "r" else {"accuracy": 0.5}


def _regression_rows(rng) -> pd.DataFrame:
    """Regression model r over the same three weeks, in the same columns (label: its prediction, truth:
    the outcome): two versions, outcomes 1 day late (the week's last day unlabelled), a few zero actuals,
    and in the weeks before a NaN prediction and an infinite outcome (the trend leaves them out)."""
    start = WEEK.start - dt.timedelta(weeks=WEEKS_BACK)
    n = 7 * (WEEKS_BACK + 1) * 120
    ts = pd.to_datetime([start + dt.timedelta(seconds=float(x)) for x in np.sort(rng.uniform(0, n / 120 * 86_400, n))],
                        utc=True).floor("s")
    y = np.round(rng.lognormal(3.5, 0.5, n), 2)
    y[rng.random(n) < 0.01] = 0.0
    pred = y + 1.5 + rng.standard_t(4, n) * 4
    y[ts >= pd.Timestamp(WEEK.end) - pd.Timedelta(days=1)] = np.nan
    pred[5], y[9] = np.nan, np.inf
    return pd.DataFrame({"req_id": [f"r{i}" for i in range(n)], "mdl": "r",
                         "mdl_ver": np.where(ts < pd.Timestamp(WEEK.start) + pd.Timedelta(days=4), "1", "2"),
                         "scored_at": ts, "label": pred, "p_churn": np.nan, "truth": y,
                         "truth_at": ts + pd.Timedelta(days=1)})


def _ctx(root: Path, store, model: str = "m") -> SimpleNamespace:
    """A review context of classifier m (with drift) or regression model r (performance only)."""
    kind = "regression" if model == "r" else "classification"
    dd = DriftDetection(models={"m": {"features": {f: {"method": m} for f, m in FEATURES.items()}}})
    params = config.WeeklyParams.model_validate({"models": [{"name": model, "type": kind}],
                                                 "performance": {"bootstrap_resamples": 200, "weeks_back": WEEKS_BACK},
                                                 "store": PARAMS.model_dump(by_alias=True)})
    return SimpleNamespace(model=ModelSpec(name=model, type=kind, reference="ref.csv"), window=WEEK,
                           root=root, monitoring=MonitoringParams(drift_detection=dd), params=params, store=store,
                           registry=_Registry(), serving_version=lambda: "2", has=lambda s: s == "mlflow", outputs={})


def _run(root: Path, url: str, monkeypatch) -> dict:
    """Everything the reviews say about the week, as plain data."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(root / "cache"))
    ctx = _ctx(root, open_store(url, PARAMS))
    d, p = drift.review(ctx), performance.review(ctx)
    ref = Window(WEEK.start - dt.timedelta(weeks=WEEKS_BACK), WEEK.start, "before")
    seg = segments.search_store(ctx.store, "m", WEEK, ref, "classification", features=["plan", "amount", "region"])
    results = {r.feature: {f.name: getattr(r, f.name) for f in dataclasses.fields(r)
                           if f.name not in ("reference_dist", "current_dist")} for r in d.results}
    reg = performance.review(_ctx(root, ctx.store, "r"))
    # the regression findings keyed by position: their numbers compared to 1e-9 (each engine adds the
    # residual cells' sums in its own order), their words exactly
    regression = {"findings": dict(enumerate(f.to_dict() for f in reg.findings)), "from_cells": reg.cells is not None,
                  "metrics": reg.summary.metrics, "ci": reg.summary.ci, "n": reg.summary.n_predictions,
                  "labelled": reg.summary.n_labelled, "trend": reg.trend, "by_version": reg.by_version}
    return {"regression": regression, "findings": [f.to_dict() for f in [*d.findings, *p.findings, *seg.findings]],
            "drift": results, "over_time": history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame(),
            "volume": drift.volume(ctx, weeks_back=WEEKS_BACK), "metrics": p.summary.metrics, "ci": p.summary.ci,
            "n": p.summary.n_predictions, "versions": p.versions, "trend": p.trend, "by_version": p.by_version,
            "segments": seg.to_frame(), "newest": ctx.store.newest("m")}


@pytest.fixture(scope="module")
def reference_run(frame, tmp_path_factory):
    """SQLite's answers: what every other engine must give."""
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("sqlite-ref")
    try:
        return _run(frame.root, _sqlite(frame.df, folder, None), mp)
    finally:
        mp.undo()


def _equal(a, b, where: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12, obj=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _equal(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)) and not (a and isinstance(a[0], dict)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _equal(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, (float, int)):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), where
    else:
        assert a == b, where


@pytest.mark.parametrize("engine", list(ENGINES))
def test_the_same_findings_and_statistics_come_out_of_every_engine(engine, frame, reference_run, request,
                                                                 tmp_path, monkeypatch):
    url = ENGINES[engine](frame.df, tmp_path, request)
    got, want = _run(frame.root, url, monkeypatch), reference_run
    assert got["findings"] and [f["sentence"] for f in got["findings"]] == [f["sentence"] for f in want["findings"]]
    assert got["findings"] == want["findings"]
    for key in want:
        _equal(got[key], want[key], f"{engine}: {key}")


def test_the_statistics_are_scipys_and_sklearns_on_the_frame(frame, reference_run):
    got = reference_run  # every engine equals it (above)
    df = frame.df
    ts = pd.to_datetime(df["scored_at"], utc=True)
    week = df[(df["mdl"] == "m") & (ts >= WEEK.start) & (ts < WEEK.end)]
    ref = pd.read_csv(frame.root / "ref.csv")
    ks = stats.ks_2samp(ref["amount"], week["amount"].dropna())
    assert got["drift"]["amount"]["statistic"] == pytest.approx(ks.statistic, rel=1e-12)
    assert got["drift"]["amount"]["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    assert got["drift"]["plan"]["missing_count"] == int(week["plan"].isna().sum())
    assert got["drift"]["score"]["nonfinite_current"] == int(np.isinf(week["score"]).sum()) > 0
    kept = week[~week["req_id"].duplicated()]
    assert got["n"] == len(kept) == len(week) - 5
    assert got["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(kept["truth"], kept["label"]), rel=1e-12)
    assert got["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(kept["truth"], kept["p_churn"]), rel=1e-12)
    assert got["volume"]["predictions"].sum() == int((df["mdl"] == "m").sum())
    assert got["newest"] == ts[df["mdl"] == "m"].max()
    r = df[(df["mdl"] == "r") & (ts >= WEEK.start) & (ts < WEEK.end)]
    lab = r[r["truth"].notna()]
    reg = got["regression"]
    assert reg["from_cells"] and (reg["n"], reg["labelled"]) == (len(r), len(lab)) and len(lab) < len(r)
    assert reg["metrics"]["mae"] == pytest.approx(skm.mean_absolute_error(lab["truth"], lab["label"]), rel=1e-12)
    assert reg["metrics"]["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(lab["truth"], lab["label"])), rel=1e-12)
    assert reg["metrics"]["r2"] == pytest.approx(skm.r2_score(lab["truth"], lab["label"]), rel=1e-9)
    assert any(f["subject"] == "mae" and f["severity"] == "alert" for f in reg["findings"].values())



@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_lake_engines_count_the_performance_cells_themselves(engine, frame, request, tmp_path, monkeypatch):
    """Pushdown proved, not assumed: on a week the cells can answer (the frame without its repeated ids,
    which make the review read rows to keep each id's first), DuckDB's and Spark's performance reviews
    come from the cells they count, with no `read` of any rows, and equal SQLite's."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    clean = frame.df.drop_duplicates("req_id", ignore_index=True)
    reviews, reads = {}, []
    for name, load in (("sqlite", _sqlite), (engine, ENGINES[engine])):
        (tmp_path / name).mkdir()
        store = open_store(load(clean, tmp_path / name, request), PARAMS)
        real = store.read
        monkeypatch.setattr(store, "read", lambda *a, _r=real, _n=name, **k: reads.append(_n) or _r(*a, **k))
        reviews[name] = performance.review(_ctx(frame.root, store))
    got, want = reviews[engine], reviews["sqlite"]
    assert store.counts_cells and got.cells is not None and got.window_rows is None
    assert engine not in reads
    assert got.findings and [f.to_dict() for f in got.findings] == [f.to_dict() for f in want.findings]
    _equal(got.summary.metrics, want.summary.metrics, f"{engine}: metrics")
    _equal(got.summary.ci, want.summary.ci, f"{engine}: ci")
    _equal(got.trend, want.trend, f"{engine}: trend")
    ts = pd.to_datetime(clean["scored_at"], utc=True)
    week = clean[(clean["mdl"] == "m") & (ts >= WEEK.start) & (ts < WEEK.end)]
    assert got.summary.n_predictions == len(week)
    assert got.summary.metrics["accuracy"] == pytest.approx(skm.accuracy_score(week["truth"], week["label"]), rel=1e-12)
    # the regression model's review from the residual cells the engine counts: no `read` either
    reads.clear()
    reg = performance.review(_ctx(frame.root, store, "r"))
    assert reg.cells is not None and reg.binned is not None and reg.window_rows is None and engine not in reads
