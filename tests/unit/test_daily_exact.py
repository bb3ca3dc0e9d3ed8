"""The daily drift grid agrees with the exact test: on real-shaped data (skewed, tied, rounded values;
not the demo generator) a day is tested on its values (scipy.stats.ks_2samp's D and verdict), and a
day too big to read is tested on bin counts with a KS D bounded by the exact one from both sides, so
no day is flagged that the exact test does not flag."""

from __future__ import annotations

import datetime as dt
import sqlite3
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import config
from workbench.config import DriftDetection, ModelSpec, MonitoringParams
from workbench.drift import core as drift, daily, history
from workbench.drift.profile import counts_in_bins
from workbench.sources.store import PredictionStore

WEEK = config.iso_week("2026-W47")
WEEKS_BACK = 3  # 28 days x 2 features = 56 numeric day cells
THRESHOLD, FLOOR = 0.05, 0.05


def _prices(rng, n, scale=1.0):
    """Basket values: lognormal, rounded to 10 cents, with 8% at the 9.99 price point (many ties)."""
    v = np.round(rng.lognormal(3.0, 0.7, n) * scale, 1)
    v[rng.random(n) < 0.08] = 9.99
    return v


def _tenure(rng, n, p=0.04):
    """Months as a customer: geometric, whole numbers (heavily tied), capped at 72."""
    return np.minimum(rng.geometric(p, n), 72).astype(float)


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    rng = np.random.default_rng(20261116)
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    ref = pd.DataFrame({"basket": _prices(rng, 20_000), "tenure": _tenure(rng, 20_000)})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    rows, start = [], WEEK.start - dt.timedelta(weeks=WEEKS_BACK)
    for d in range(7 * (WEEKS_BACK + 1)):
        day = start + dt.timedelta(days=d)
        n = int(rng.integers(1_500, 4_000))
        ts = [day + dt.timedelta(seconds=int(s)) for s in np.sort(rng.uniform(0, 86_399, n))]
        rows.append(pd.DataFrame({
            "prediction_id": [f"{d}-{i}" for i in range(n)], "model_name": "m", "model_version": "1",
            "timestamp": [t.strftime("%Y-%m-%d %H:%M:%S") for t in ts], "prediction": 1.0,
            # a slow drift of a few percent: many days sit near the significance line and the effect floor
            "basket": _prices(rng, n, 1.0 + 0.004 * d), "tenure": _tenure(rng, n, 0.04 * (1 + 0.006 * d))}))
    preds = pd.concat(rows, ignore_index=True)
    with sqlite3.connect(tmp_path / "p.db") as con:
        preds.to_sql("predictions", con, index=False)
    params = config.StoreParams(columns={"variant": None, "probability": None, "outcome": None,
                                         "outcome_timestamp": None})
    dd = DriftDetection(thresholds={"ks": THRESHOLD}, min_effects={"ks": FLOOR},
                        models={"m": {"features": {"basket": {"method": "ks"}, "tenure": {"method": "ks"}}}})
    return SimpleNamespace(model=ModelSpec(name="m", type="classification", reference="ref.csv"), window=WEEK,
                           root=tmp_path, monitoring=MonitoringParams(drift_detection=dd),
                           store=PredictionStore(f"sqlite:///{tmp_path / 'p.db'}", params),
                           reference=pd.read_csv(tmp_path / "ref.csv"), predictions=preds)


def _exact(ctx):
    """Per (feature, day): scipy.stats.ks_2samp on the reference and the day's raw values."""
    ts = pd.to_datetime(ctx.predictions["timestamp"], utc=True).dt.floor("D")
    out = {}
    for f in ("basket", "tenure"):
        for day, g in ctx.predictions.groupby(ts):
            r = stats.ks_2samp(ctx.reference[f], g[f])
            flagged = bool(r.pvalue < THRESHOLD and r.statistic >= FLOOR)
            out[(f, day)] = (r.statistic, r.pvalue, flagged, g[f].to_numpy())
    return out


def test_day_cells_are_exact_ks_on_real_shaped_data(ctx):
    grid = history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame()
    exact = _exact(ctx)
    assert len(grid) == len(exact) == 56 and grid["exact"].all()
    for _, c in grid.iterrows():
        d, p, flagged, values = exact[(c["feature"], c["period"])]
        assert c["statistic"] == pytest.approx(d, rel=1e-12, abs=1e-15)
        assert c["p_value"] == pytest.approx(p, rel=1e-9)  # en < EXACT_P_MAX_EN here: scipy's own
        assert bool(c["drifted"]) == flagged, (c["feature"], c["period"])
    flagged = {k for k, v in exact.items() if v[2]}
    assert 0 < len(flagged) < 56  # the data set has days either side of the line
    assert {(c["feature"], c["period"]) for _, c in grid[grid["drifted"]].iterrows()} == flagged


def test_big_days_on_bin_counts_are_bounded_by_the_exact_ks_and_never_flag_more(ctx):
    ctx.monitoring.drift_detection.daily_exact_max_rows = 0  # every day too big to read: its bin counts
    grid = history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame()
    exact = _exact(ctx)
    profile = drift.reference_profile(ctx)
    assert len(grid) == 56 and not grid["exact"].any()
    for _, c in grid.iterrows():
        d, p, flagged, values = exact[(c["feature"], c["period"])]
        edges, _ = drift.fine_bins(profile[c["feature"]])
        assert c["statistic"] <= d + 1e-12 <= c["statistic_max"] + 2e-12  # low <= exact D <= high
        ref_share = counts_in_bins(profile[c["feature"]].sorted_values, edges) / profile[c["feature"]].n
        cur_share = counts_in_bins(np.sort(values), edges) / len(values)
        assert c["statistic_max"] - c["statistic"] <= max(ref_share.max(), cur_share.max()) + 1e-12
        assert c["p_value"] >= p * (1 - 1e-9) or not c["drifted"]
        assert not c["drifted"] or flagged, (c["feature"], c["period"])  # never flags what exact does not


def test_binned_ks_bounds_against_scipy_on_tied_rounded_samples():
    rng = np.random.default_rng(3)
    ref = np.sort(np.round(rng.gamma(2.0, 3.0, 5_000)))
    edges, _ = drift.fine_bins(SimpleNamespace(sorted_values=ref))
    for shift in (0.0, 0.2, 0.5, 1.0):
        cur = np.round(rng.gamma(2.0, 3.0, 3_000) + shift)
        low, high = daily.binned_ks_bounds(ref, edges, counts_in_bins(np.sort(cur), edges))
        want = stats.ks_2samp(ref, cur).statistic
        assert low <= want + 1e-12 <= high + 2e-12


def test_ks_p_value_is_scipys_near_the_threshold():
    n_ref, n_cur = 200_000, 60_000  # en ~ 46,000: the limiting distribution away from the threshold
    en = n_ref * n_cur / (n_ref + n_cur)
    for d in (0.004, 0.006, 0.0063, 0.007, 0.01):
        want = stats.kstwo.sf(d, np.round(en))  # what ks_2samp gives above 10,000 values
        got = daily.ks_p_value(d, n_ref, n_cur, 0.05)
        if 0.05 / daily.NEAR <= got <= 0.05 * daily.NEAR:
            assert got == pytest.approx(want, rel=1e-12)
        else:
            assert got == pytest.approx(want, rel=0.02) and (got < 0.05) == (want < 0.05)


def test_big_days_wasserstein_on_bin_counts_is_within_its_bound_of_scipys(ctx):
    """A day too big to read, tested with Wasserstein: counted over the big window's bins
    (drift.histogram.window_edges) and bounded as a big window is: |W - scipy's W| <= the bound, which
    the cell carries as statistic_max - statistic, finite (no day beyond the tail bins) and well under
    the method's threshold; days read in full are scipy's exactly."""
    ctx.monitoring = MonitoringParams(drift_detection=DriftDetection(
        models={"m": {"features": {"basket": {"method": "wasserstein"}, "tenure": {"method": "wasserstein"}}}}))
    profile = drift.reference_profile(ctx)
    ts = pd.to_datetime(ctx.predictions["timestamp"], utc=True).dt.floor("D")
    exact = {(f, day): stats.wasserstein_distance(ctx.reference[f], g[f]) / profile[f].stats["std"]
             for f in ("basket", "tenure") for day, g in ctx.predictions.groupby(ts)}
    read = history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame()
    assert len(read) == 56 and read["exact"].all()
    for _, c in read.iterrows():
        assert c["statistic"] == pytest.approx(exact[(c["feature"], c["period"])], rel=1e-9)
    ctx.monitoring.drift_detection.daily_exact_max_rows = 0  # every day too big to read: its bin counts
    grid = history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame()
    assert len(grid) == 56 and not grid["exact"].any()
    errors, bounds = [], []
    for _, c in grid.iterrows():
        bound = c["statistic_max"] - c["statistic"]
        err = abs(c["statistic"] - exact[(c["feature"], c["period"])])
        assert np.isfinite(bound) and err <= bound + 1e-12, (c["feature"], c["period"], err, bound)
        errors.append(err)
        bounds.append(bound)
    assert 0 < max(bounds) < c["threshold"]  # a bound that decides: far below 0.2
    assert max(errors) > 0  # the counts are not the values: the bound has something to hold
    # a value past the last tail bin (beyond ~330 reference ranges) leaves its day without a bound
    day = WEEK.start + dt.timedelta(days=2)
    with sqlite3.connect(ctx.root / "p.db") as con:
        con.execute("INSERT INTO predictions (prediction_id, model_name, model_version, timestamp, prediction, basket, "
                    "tenure) VALUES ('far', 'm', '1', ?, 1.0, 1e12, 5.0)", (f"{day:%Y-%m-%d} 12:00:00",))
    ctx.store = PredictionStore(f"sqlite:///{ctx.root / 'p.db'}", ctx.store.params)
    grid = history.over_time(ctx, weeks_back=WEEKS_BACK).to_frame().set_index(["feature", "period"])
    assert pd.isna(grid.loc[("basket", pd.Timestamp(day)), "statistic_max"])
    assert grid.drop(("basket", pd.Timestamp(day)))["statistic_max"].notna().all()
