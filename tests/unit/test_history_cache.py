"""Drift over time and week over week on a SQLite prediction log, and where reference profiles are
kept (file cache, MLflow artifact through a stand-in registry). Statistics are checked against scipy."""

import datetime as dt
import logging
import sqlite3
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import config
from workbench.drift import core as drift, history as drift_history, plots as drift_plots, profile_cache
from workbench.config import DriftDetection, ModelSpec, MonitoringParams
from workbench.errors import ConfigError
from workbench.drift.profile import ReferenceProfile
from workbench.sources.store import PredictionStore

matplotlib.use("Agg")
WEEK = config.iso_week("2026-W47")
SHIFT_FROM = WEEK.start + dt.timedelta(days=3)  # x moves by +1 from Thursday of W47 on


def _normal(rng, n, mean=0.0, offset=0.5):
    """n values spread exactly like N(mean, 1) (quantile grid, shuffled): no chance drift between samples."""
    return rng.permutation(stats.norm.ppf((np.arange(n) + offset) / n) + mean)


def _categories(rng, n):
    """a, b, c in exactly 50/30/20 proportions, shuffled."""
    return rng.permutation(np.repeat(["a", "b", "c"], [n // 2, 3 * n // 10, n - n // 2 - 3 * n // 10]))


def _reference(rng, n=3000):
    return pd.DataFrame({"x": _normal(rng, n), "c": _categories(rng, n)})


def _predictions(rng, per_day=200):
    rows = []
    start = WEEK.start - dt.timedelta(days=7)
    for d in range(14):
        day = start + dt.timedelta(days=d)
        ts = [day + dt.timedelta(seconds=int(s)) for s in np.sort(rng.uniform(0, 86399, per_day))]
        shift = 1.0 if day >= SHIFT_FROM else 0.0
        rows.append(pd.DataFrame({"prediction_id": [f"{d}-{i}" for i in range(per_day)], "model_name": "m",
                                  "model_version": "1", "timestamp": [t.strftime("%Y-%m-%d %H:%M:%S") for t in ts],
                                  "prediction": 1.0, "x": _normal(rng, per_day, shift, offset=0.37),  # no value tied with the reference
                                  "c": _categories(rng, per_day)}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def ctx(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    ref = _reference(rng)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    preds = _predictions(rng)
    with sqlite3.connect(tmp_path / "p.db") as con:
        preds.to_sql("predictions", con, index=False)
    params = config.StoreParams(columns={"variant": None, "probability": None, "outcome": None,
                                         "outcome_timestamp": None})
    dd = DriftDetection(models={"m": {"features": {"x": {"method": "ks"}, "c": {"method": "chi2"}}}})
    return SimpleNamespace(model=ModelSpec(name="m", type="classification", reference="ref.csv"), window=WEEK,
                           root=tmp_path, monitoring=MonitoringParams(drift_detection=dd),
                           store=PredictionStore(f"sqlite:///{tmp_path / 'p.db'}", params),
                           reference=ref, predictions=preds)


def _reference_as_read(ctx):
    """The reference file as pandas parses it (its CSV parser may differ from the written value by
    an ulp, which matters for the exact ties of the quantile grids)."""
    return pd.read_csv(ctx.root / "ref.csv")


def _day(preds, day):
    ts = pd.to_datetime(preds["timestamp"], utc=True)
    return preds[ts.dt.floor("D") == day]


def test_score_puts_p_values_and_distances_on_one_scale():
    assert drift_history.score("ks", 0.3, 0.05, 0.05) == pytest.approx(1.0)
    assert drift_history.score("ks", 0.3, 0.0025, 0.05) == pytest.approx(2.0)  # 0.05 ** 2
    assert drift_history.score("psi", 0.25, None, 0.1) == pytest.approx(2.5)
    assert np.isnan(drift_history.score("ks", 0.3, None, 0.05))
    assert np.isnan(drift_history.score("psi", None, None, 0.1))
    assert np.isfinite(drift_history.score("chi2", 1.0, 0.0, 0.05))  # p == 0 does not give infinity


def test_drift_over_time_matches_scipy_per_day(ctx):
    grid = drift_history.over_time(ctx, weeks_back=1).to_frame()
    x = grid[grid["feature"] == "x"].set_index("period")
    assert len(x) == 14 and set(grid["feature"]) == {"x", "c"}
    for day, row in x.iterrows():
        cur = _day(ctx.predictions, day)["x"]
        want = stats.ks_2samp(_reference_as_read(ctx)["x"], cur)
        # the reference is kept as a profile (a quantile sketch), so D is scipy's within its resolution
        assert row["statistic"] == pytest.approx(want.statistic, abs=0.005)
        assert row["drifted"] == (want.pvalue < 0.05)
        assert row["n"] == len(cur)
    # a +1 sd shift with 200 values a day is found on every shifted day
    assert x.loc[x.index >= SHIFT_FROM, "drifted"].all()
    assert x.loc[x.index >= SHIFT_FROM, "score"].min() > 1
    assert not x.loc[x.index < SHIFT_FROM, "drifted"].any()  # same distribution: no drift
    c = grid[grid["feature"] == "c"].set_index("period").iloc[0]
    cur = _day(ctx.predictions, c.name)["c"].value_counts()
    ref = _reference_as_read(ctx)["c"].value_counts()
    table = np.vstack([ref.reindex(["a", "b", "c"]).to_numpy(), cur.reindex(["a", "b", "c"]).to_numpy()])
    assert c["p_value"] == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-6)


def test_week_over_week_names_new_drift(ctx):
    dd = ctx.monitoring.drift_detection
    profile = drift.reference_profile(ctx)
    this = drift.detect_drift(profile, lambda f, kind: ctx.store.read_feature("m", WEEK, f), dd, "m")
    wow = drift_history.week_over_week(ctx, this).set_index("feature")
    assert wow.loc["x", "status_this_week"] == "drift" and wow.loc["x", "change"] == "new drift"
    prev = wow.loc["x", "status_last_week"]
    assert prev == "no drift"
    assert wow.loc["c", "status_this_week"] == "no drift" and wow.loc["c", "change"] == ""
    # the previous week's statistic is scipy's on the previous week's rows
    ts = pd.to_datetime(ctx.predictions["timestamp"], utc=True)
    last_week = ctx.predictions[ts < WEEK.start]["x"]
    want = stats.ks_2samp(_reference_as_read(ctx)["x"], last_week).statistic
    assert wow.loc["x", "statistic_last_week"] == pytest.approx(want, abs=0.005)


def test_previous_window_is_named_as_a_reader_says_it():
    assert drift_history.previous_name(WEEK) == "last week (2026-W46)"
    assert drift_history.previous_name(config.iso_week("2026-W01")) == "last week (2025-W52)"
    days = config.Window(WEEK.start, WEEK.start + dt.timedelta(days=3), "three days")
    assert drift_history.previous_name(days) == "previous window (2026-11-13 to 2026-11-15)"


def test_heatmap_draws_the_grid(ctx):
    assert drift_plots.heatmap(pd.DataFrame()) is None
    fig = drift_plots.heatmap(drift_history.over_time(ctx, weeks_back=0).to_frame())
    assert fig.axes[0].get_title().startswith("Drift score per day")


# --- profile cache --------------------------------------------------------------------------

def test_file_reference_is_fitted_once_then_read_from_the_cache(ctx, monkeypatch):
    first = profile_cache.load_or_fit(ctx)
    cached = list((ctx.root / "cache" / "profiles" / "m").glob("*.npz"))
    assert len(cached) == 1
    assert first["x"].n == 3000 and first.source.endswith("ref.csv")

    def no_fit(*a, **k):
        raise AssertionError("fitted again although the cache holds the profile")
    monkeypatch.setattr(ReferenceProfile, "fit", no_fit)
    again = profile_cache.load_or_fit(ctx)
    assert again["x"].stats == first["x"].stats


def test_a_changed_reference_file_is_fitted_again(ctx):
    profile_cache.load_or_fit(ctx)
    ctx.reference.head(100).to_csv(ctx.root / "ref.csv", index=False)
    assert profile_cache.load_or_fit(ctx)["x"].n == 100
    assert len(list((ctx.root / "cache" / "profiles" / "m").glob("*.npz"))) == 2


def test_missing_feature_in_the_reference_names_it_and_the_file(ctx):
    ctx.reference[["c"]].to_csv(ctx.root / "ref.csv", index=False)
    with pytest.raises(ConfigError, match=r"feature\(s\) x configured in params/monitoring.yaml are not in the "
                                          r"reference data \(.*ref.csv\); its columns: c"):
        profile_cache.load_or_fit(ctx)


class FakeRegistry:
    """Stands in for MLflow: one run per version, artifacts in a dict."""

    def __init__(self, reference, writable=True):
        self.reference_df, self.writable, self.artifacts, self.reads = reference, writable, {}, 0

    def run_id(self, model, version):
        return f"run-{version}"

    def read_artifact(self, run_id, path):
        return self.artifacts.get((run_id, path))

    def write_artifact(self, run_id, local_path, artifact_dir):
        if self.writable:
            self.artifacts[(run_id, f"{artifact_dir}/{local_path.name}")] = local_path.read_bytes()
        return self.writable

    def reference(self, model, version):
        self.reads += 1
        return self.reference_df


def test_mlflow_reference_profile_is_stored_as_an_artifact_and_reused(ctx, caplog):
    ctx.model = ModelSpec(name="m", type="classification")
    ctx.registry = FakeRegistry(ctx.reference)
    p = profile_cache.load_or_fit(ctx, reference_version="1")
    assert ctx.registry.reads == 1 and p.source == "mlflow run run-1"
    [(run, path)] = ctx.registry.artifacts
    assert run == "run-1" and path.startswith("workbench/profile-")
    # another machine (empty file cache) reads the artifact instead of the reference data
    for f in (ctx.root / "cache").rglob("*.npz"):
        f.unlink()
    again = profile_cache.load_or_fit(ctx, reference_version="1")
    assert ctx.registry.reads == 1 and again["x"].stats == p["x"].stats
    # a store that refuses artifacts keeps the profile in the file cache and says so
    ctx.registry = FakeRegistry(ctx.reference, writable=False)
    with caplog.at_level(logging.WARNING, logger="workbench.drift.profile_cache"):
        profile_cache.load_or_fit(ctx, reference_version="2")
    assert "kept in the file cache only" in caplog.text
