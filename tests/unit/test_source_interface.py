"""The source interface (workbench.sources.base) is sufficient and its defaults are right: the drift
and performance reviews on a source that implements only the abstract methods (FrameSource, over a
DataFrame) give the same statistics as on SQLite over the same rows, with and without SQLite's
preloaded span; the statistics themselves are checked against scipy and scikit-learn. Also: the
registry chooses a backend by URL scheme, and no review reaches into a store's private parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from frame_source import FrameSource, write_sqlite
from scipy import stats
from sklearn import metrics as skm

from workbench import config
from workbench.config import DriftDetection, ModelSpec, MonitoringParams, StoreParams
from workbench.drift import core as drift, history
from workbench.errors import ConfigError
from workbench.performance import core as performance
from workbench.sources import registry
from workbench.sources.base import PredictionSource
from workbench.sources.store import PredictionStore
from workbench.sources.store_postgres import PostgresStore
from workbench.sources.store_sqlite import SqliteStore

WEEK = config.iso_week("2026-W47")
WEEKS_BACK = 2
SRC = Path(__file__).resolve().parents[2] / "src" / "workbench"
PARAMS = StoreParams(columns={"variant": None})
FEATURES = {"amount": "ks", "score": "psi", "usage": "wasserstein", "plan": "chi2", "region": "js"}


def _rows(rng) -> pd.DataFrame:
    """3 weeks of model m (amount and plan shift in the week; NaN, ±inf and None among the values;
    a few repeated ids) and a few rows of another model."""
    parts, start = [], WEEK.start - dt.timedelta(weeks=WEEKS_BACK)
    for d in range(7 * (WEEKS_BACK + 1)):
        day, late = start + dt.timedelta(days=d), d >= 7 * WEEKS_BACK
        n = int(rng.integers(150, 400))
        ts = [day + dt.timedelta(seconds=int(s)) for s in np.sort(rng.uniform(0, 86_399, n))]
        amount = np.round(rng.lognormal(3.0 + (0.25 if late else 0.0), 0.6, n), 1)
        amount[rng.random(n) < 0.03] = np.nan
        score = rng.normal(0, 1, n)
        score[rng.random(n) < 0.01] = np.inf
        plan = rng.choice(["basic", "plus", "pro", None], n, p=[0.3, 0.5, 0.15, 0.05] if late else [0.5, 0.3, 0.15, 0.05])
        prob = rng.random(n)
        parts.append(pd.DataFrame({
            "prediction_id": [f"{d}-{i}" for i in range(n)], "model_name": "m",
            "model_version": "1" if d < 7 * WEEKS_BACK + 3 else "2", "timestamp": ts,
            "prediction": (prob > 0.5).astype(float), "probability": prob,
            "actual_outcome": (rng.random(n) < prob).astype(float),
            "outcome_timestamp": [t + dt.timedelta(hours=20) for t in ts],
            "amount": amount, "score": score, "usage": np.round(rng.gamma(2.0, 3.0, n)),
            "plan": plan, "region": rng.choice(["north", "south", "east"], n)}))
    df = pd.concat(parts, ignore_index=True)
    df.loc[df.index[-5:], "prediction_id"] = df["prediction_id"].iloc[-6]  # 5 repeats in the week
    other = df.head(20).assign(model_name="other", prediction_id=[f"o{i}" for i in range(20)])
    return pd.concat([df, other], ignore_index=True)




class _NoPreload(SqliteStore):
    """SQLite answering every count with its own SQL (GROUP BY, CASE bins), never the numpy span."""

    def preload(self, model, span, features, max_cells=None) -> bool:
        return False


class _Registry:
    def training_metrics(self, model, version):
        return {"accuracy": 0.5}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(20261121)
    root = tmp_path_factory.mktemp("sources")
    df = _rows(rng)
    n = 5_000
    pd.DataFrame({"amount": np.round(rng.lognormal(3.0, 0.6, n), 1), "score": rng.normal(0, 1, n),
                  "usage": np.round(rng.gamma(2.0, 3.0, n)), "plan": rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]),
                  "region": rng.choice(["north", "south", "east"], n)}).to_csv(root / "ref.csv", index=False)
    return SimpleNamespace(root=root, df=df, url=write_sqlite(root / "p.db", df))


def _ctx(data, store, monkeypatch) -> SimpleNamespace:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(data.root / "cache"))
    dd = DriftDetection(models={"m": {"features": {f: {"method": m} for f, m in FEATURES.items()}}})
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                 "performance": {"bootstrap_resamples": 50, "weeks_back": WEEKS_BACK},
                                                 "store": PARAMS.model_dump(by_alias=True)})
    return SimpleNamespace(model=ModelSpec(name="m", type="classification", reference="ref.csv"), window=WEEK,
                           root=data.root, monitoring=MonitoringParams(drift_detection=dd), params=params,
                           store=store, registry=_Registry(), serving_version=lambda: "2",
                           has=lambda s: s == "mlflow", outputs={})


def _results(report) -> dict:
    out = {}
    for r in report.results:
        fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)
                  if f.name not in ("reference_dist", "current_dist")}
        out[r.feature] = (fields, r.current_dist)
    return out


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-15, nan_ok=True)
    return a == b


@pytest.mark.parametrize("sqlite_kind", [SqliteStore, _NoPreload], ids=["sqlite-preloaded", "sqlite-sql"])
def test_drift_review_on_only_the_interface_equals_sqlite(data, monkeypatch, sqlite_kind):
    lite = _ctx(data, sqlite_kind(data.url, PARAMS), monkeypatch)
    frame = _ctx(data, FrameSource(data.df, PARAMS), monkeypatch)
    want, got = _results(drift.review(lite)), _results(drift.review(frame))
    assert set(want) == set(got) == set(FEATURES)
    for f in FEATURES:
        (w, wd), (g, gd) = want[f], got[f]
        assert w["n_current"] > 0 and w["statistic"] is not None
        bad = {k: (w[k], g[k]) for k in w if not _same(w[k], g[k])}
        assert not bad, (f, bad)
        if wd is not None:
            pd.testing.assert_series_equal(gd, wd, check_exact=False, rtol=1e-12)
    # the statistics are the right ones, not only the same: KS and chi-square of the week by scipy
    week = data.df[(data.df["model_name"] == "m") & (data.df["timestamp"] >= WEEK.start)
                   & (data.df["timestamp"] < WEEK.end)]
    ref = pd.read_csv(data.root / "ref.csv")
    ks = stats.ks_2samp(ref["amount"], week["amount"].dropna())
    assert got["amount"][0]["statistic"] == pytest.approx(ks.statistic, rel=1e-12)
    assert got["amount"][0]["missing_count"] == int(week["amount"].isna().sum())
    assert got["plan"][0]["missing_count"] == int(week["plan"].isna().sum())
    assert got["amount"][0]["drifted"] and got["plan"][0]["drifted"] and not got["region"][0]["drifted"]
    assert got["score"][0]["nonfinite_current"] == int(np.isinf(week["score"]).sum()) > 0


@pytest.mark.parametrize("sqlite_kind", [SqliteStore, _NoPreload], ids=["sqlite-preloaded", "sqlite-sql"])
def test_drift_over_time_and_volume_on_only_the_interface_equal_sqlite(data, monkeypatch, sqlite_kind):
    lite = _ctx(data, sqlite_kind(data.url, PARAMS), monkeypatch)
    frame = _ctx(data, FrameSource(data.df, PARAMS), monkeypatch)
    want = history.over_time(lite, weeks_back=WEEKS_BACK).to_frame()
    got = history.over_time(frame, weeks_back=WEEKS_BACK).to_frame()
    assert len(want) == 7 * (WEEKS_BACK + 1) * len(FEATURES)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    vol = drift.volume(frame, weeks_back=WEEKS_BACK)
    pd.testing.assert_frame_equal(vol, drift.volume(lite, weeks_back=WEEKS_BACK))
    m = data.df[data.df["model_name"] == "m"]
    assert vol["predictions"].sum() == len(m)  # every row of the span, in some hour
    assert frame.store.newest("m") == lite.store.newest("m") == m["timestamp"].max()


def test_performance_review_on_only_the_interface_equals_sqlite(data, monkeypatch):
    lite = _ctx(data, SqliteStore(data.url, PARAMS), monkeypatch)
    frame = _ctx(data, FrameSource(data.df, PARAMS), monkeypatch)
    want, got = performance.review(lite), performance.review(frame)
    assert got.summary.n_predictions == want.summary.n_predictions
    assert got.summary.metrics == pytest.approx(want.summary.metrics, rel=1e-12)
    assert got.summary.ci == want.summary.ci
    assert got.versions == want.versions == ["1", "2"]
    pd.testing.assert_frame_equal(got.by_version, want.by_version)
    pd.testing.assert_frame_equal(got.trend, want.trend)
    # the repeated ids were found by the default repeated_ids and left out, as SQLite's count did
    np.testing.assert_array_equal(got.row_check.valid, want.row_check.valid)
    assert got.row_check.problems == want.row_check.problems and got.row_check.n_left_out == 5
    week = data.df[(data.df["model_name"] == "m") & (data.df["timestamp"] >= WEEK.start)
                   & (data.df["timestamp"] < WEEK.end)]
    kept = week[~week["prediction_id"].duplicated()]  # the first of an id is kept
    assert got.summary.n_predictions == len(kept) == len(week) - 5
    assert got.summary.metrics["accuracy"] == pytest.approx(
        skm.accuracy_score(kept["actual_outcome"], kept["prediction"]), rel=1e-12)


def test_each_default_answers_as_sqlite_answers(data):
    lite, frame = _NoPreload(data.url, PARAMS), FrameSource(data.df, PARAMS)
    w = WEEK
    assert frame.count("m", w) == lite.count("m", w) > 0
    assert frame.versions("m", w) == lite.versions("m", w)
    assert frame.repeated_ids("m", w) == lite.repeated_ids("m", w) == 5
    assert frame.models() == lite.models() == ["m", "other"]
    for f in ("plan", "region"):
        assert frame.category_counts("m", w, f) == lite.category_counts("m", w, f)
    edges = [-1.0, 0.0, 0.5, 2.0]
    # values on the edges (whole numbers, tenths): each edge opens its bin, [edge_i, edge_i+1)
    on_edges = {"amount": [15.0, 20.5, 30.0, 45.1], "score": edges, "usage": [1.0, 2.0, 5.0, 8.0]}
    for f, e in on_edges.items():
        a, b = frame.bin_counts("m", w, f, e), lite.bin_counts("m", w, f, e)
        np.testing.assert_array_equal(a["counts"], b["counts"])
        assert (a["missing"], a["nonfinite"]) == (b["missing"], b["nonfinite"])
        np.testing.assert_array_equal(frame.feature_values("m", w, f), lite.feature_values("m", w, f))
    usage = data.df.loc[(data.df["model_name"] == "m") & (data.df["timestamp"] >= w.start)
                        & (data.df["timestamp"] < w.end), "usage"]
    np.testing.assert_array_equal(frame.bin_counts("m", w, "usage", on_edges["usage"])["counts"],
                                  [(usage < 1).sum(), (usage == 1).sum(), ((usage >= 2) & (usage < 5)).sum(),
                                   ((usage >= 5) & (usage < 8)).sum(), (usage >= 8).sum()])
    for f, e in (("plan", None), ("score", edges)):
        a, b = list(frame.daily_counts("m", w, f, e)), list(lite.daily_counts("m", w, f, e))
        assert [x[0] for x in a] == [x[0] for x in b] and len(a) == 7
        for x, y in zip(a, b):
            if e is None:
                assert x[1:] == y[1:]
            else:
                np.testing.assert_array_equal(x[1], y[1])
                assert x[2:] == y[2:]
    pd.testing.assert_series_equal(frame.hourly_counts("m", w), lite.hourly_counts("m", w),
                                   check_names=False, check_index_type=False)
    pd.testing.assert_frame_equal(frame.sample("m", w, ["prediction", "probability"], limit=7),
                                  lite.sample("m", w, ["prediction", "probability"], limit=7))


def test_the_interface_declares_five_plain_methods_and_defaults_for_the_rest():
    assert PredictionSource.__abstractmethods__ == {"describe", "read", "newest", "models", "feature_columns"}

    class OnlyRead(PredictionSource):
        def read(self, model, window, features=(), core=None):
            return pd.DataFrame()

    with pytest.raises(TypeError, match="abstract"):
        OnlyRead()
    src = FrameSource(pd.DataFrame({"model_name": ["m"], "timestamp": [WEEK.start]}))
    assert src.preload("m", WEEK, ["x"]) is False and src.prefetch_counts("m", WEEK, [("x", None)]) == 0
    assert src.can_aggregate and not src.keeps_daily_counts


def test_registry_chooses_the_backend_by_url_scheme(tmp_path):
    assert registry.backend_for("sqlite:///x.db") is SqliteStore
    assert registry.backend_for("postgresql://u@h/db") is PostgresStore
    assert registry.backend_for("postgresql+psycopg://u:secret@h/db") is PostgresStore
    for url, scheme in (("oracle:///x", "oracle"), ("mysql+pymysql://u:hunter2@h/db", "mysql")):
        with pytest.raises(ConfigError, match=rf"unknown prediction DB scheme '{scheme}'.*choose one of: duckdb, postgresql, spark, sqlite") as e:
            registry.open_store(url)
        assert "hunter2" not in str(e.value)
    with pytest.raises(ConfigError, match="is not a URL"):
        registry.backend_for("predictions.db")
    path = tmp_path / "p.db"
    sqlite3.connect(path).close()
    store = PredictionStore(f"sqlite:///{path}", PARAMS, scan_workers=1)  # the old name opens the same way
    assert type(store) is SqliteStore and store.params == PARAMS and store.scan_workers == 1
    assert isinstance(registry.open_store(f"sqlite:///{path}"), PredictionSource)


def test_no_review_calls_a_private_store_method_or_probes_it():
    """Outside sources/, a store is asked only through PredictionSource's public methods."""
    pattern = re.compile(r"store\._\w|getattr\(\s*[\w.]*store\b")
    hits = [f"{p.relative_to(SRC)}:{i}: {line.strip()}"
            for p in SRC.rglob("*.py") if "sources" not in p.relative_to(SRC).parts
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits
    assert pattern.search("ctx.store._where()") and pattern.search('getattr(ctx.store, "preload", None)')
