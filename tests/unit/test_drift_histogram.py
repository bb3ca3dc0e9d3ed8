"""A window too big to read (drift_detection.exact_max_rows) is tested on engine-counted fine bins:
its KS and Wasserstein statistics stay within their stated error bound of scipy's exact values on
seeded data of several shapes, the bound is small enough to use, verdicts on clear cases equal the exact
ones, and the drift review then counts the KS / Wasserstein features instead of reading them."""

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
from workbench.drift import core as drift, histogram, methods as dm
from workbench.drift.profile import CurrentSample, FeatureProfile
from workbench.sources.base import buckets, fold

N_REF, N_CUR = 200_000, 300_000


def _shape(name: str, rng):
    """(reference, window) values of one seeded shape."""
    if name == "normal shift":
        return rng.normal(0, 1, N_REF), rng.normal(0.1, 1, N_CUR)
    if name == "lognormal heavy tail":
        return rng.lognormal(0, 1, N_REF), rng.lognormal(0.05, 1.1, N_CUR)
    if name == "discrete tied":
        return rng.poisson(3, N_REF).astype(float), rng.poisson(3.2, N_CUR).astype(float)
    if name == "outside the reference range":
        return rng.uniform(0, 1, N_REF), rng.uniform(-0.2, 1.3, N_CUR)
    if name == "with NaNs":
        cur = rng.normal(0, 1.05, N_CUR)
        cur[rng.random(N_CUR) < 0.1] = np.nan
        return rng.normal(0, 1, N_REF), cur
    raise ValueError(name)


SHAPES = ["normal shift", "lognormal heavy tail", "discrete tied", "outside the reference range", "with NaNs"]


def counted(ref: FeatureProfile, values: np.ndarray) -> CurrentSample:
    """The window as the engine would count it (the same buckets a store's bin_counts makes)."""
    edges, reps = histogram.window_edges(ref)
    counts, missing, nonfinite = fold(zip(*np.unique(buckets(values, edges), return_counts=True)), len(edges) + 1)
    h = histogram.WindowHistogram(edges, reps, np.asarray(counts, dtype=np.int64))
    return CurrentSample("x", "numeric", h.n, missing, nonfinite, histogram=h, n_out_of_range=h.out_of_range(ref))


@pytest.mark.parametrize("shape", SHAPES)
def test_histogram_ks_and_wasserstein_are_within_their_bound_of_scipy(shape):
    ref_v, cur_v = _shape(shape, np.random.default_rng(SHAPES.index(shape) + 1))
    ref = FeatureProfile.fit("x", pd.Series(ref_v), kind="numeric")
    cur = counted(ref, cur_v)
    finite = cur_v[np.isfinite(cur_v)]

    ks = dm.ks(ref, cur)
    exact_d = stats.ks_2samp(ref_v, finite).statistic
    assert ks.statistic <= exact_d + 1e-12  # the lower bound at the edges: never flags more than the exact test
    assert abs(ks.statistic - exact_d) <= ks.error_bound + 1e-12
    assert ks.error_bound < 0.05  # not vacuous: at most the largest share of one bin (~1% here)

    w = dm.wasserstein(ref, cur)
    exact_w = stats.wasserstein_distance(ref_v, finite) / max(np.std(ref_v), dm.STD_FLOOR)
    assert abs(w.statistic - exact_w) <= w.error_bound + 1e-12
    assert w.error_bound < dm.METHODS["wasserstein"].default_threshold  # smaller than the decision's threshold
    if shape in ("normal shift", "discrete tied", "with NaNs"):
        assert w.error_bound < 0.05
    assert cur.n == len(finite) and cur.n_missing == len(cur_v) - len(finite)
    assert cur.out_of_range(ref) == int(np.sum((finite < ref_v.min()) | (finite > ref_v.max())))


@pytest.mark.parametrize("shape", SHAPES)
def test_the_bounds_obey_the_inequalities_docs_methods_md_proves(shape):
    """KS: D_high - D_low <= max_j max(p_j, q_j); Wasserstein: W_high - W_low <= sum_j q_j * width_j."""
    ref_v, cur_v = _shape(shape, np.random.default_rng(10 + SHAPES.index(shape)))
    ref = FeatureProfile.fit("x", pd.Series(ref_v), kind="numeric")
    h = counted(ref, cur_v).histogram
    p = np.bincount(np.searchsorted(h.edges, ref_v, side="right"), minlength=len(h.counts)) / len(ref_v)
    q = h.counts / h.n
    low, high = h.ks_bounds(ref)
    assert high - low <= np.max(np.maximum(p, q)) + 1e-12
    _, w_low, w_high = h.wasserstein(ref)
    width = np.r_[np.inf, np.diff(h.edges), np.inf]
    assert w_high - w_low <= np.sum(q[q > 0] * width[q > 0]) + 1e-9


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
@pytest.mark.parametrize("shift,drifted", [(0.0, False), (0.5, True)])
def test_verdicts_on_clear_cases_equal_the_exact_ones(method, shift, drifted):
    rng = np.random.default_rng(7)
    ref_v, cur_v = rng.gamma(2.0, 1.0, N_REF), rng.gamma(2.0, 1.0, N_CUR) + shift
    ref = FeatureProfile.fit("x", pd.Series(ref_v), kind="numeric")
    exact = drift.compare_feature(ref, CurrentSample.from_values("x", cur_v), method)
    binned = drift.compare_feature(ref, counted(ref, cur_v), method)
    assert exact.drifted is drifted and binned.drifted is drifted
    assert binned.error_bound is not None and exact.error_bound is None
    assert "reference-quantile bins" in binned.histogram_note and "other side" not in binned.histogram_note
    assert binned.out_of_range == exact.out_of_range and binned.n_current == exact.n_current


def test_values_beyond_the_tail_bins_make_the_wasserstein_bound_unbounded_and_say_so():
    rng = np.random.default_rng(3)
    ref_v = rng.normal(0, 1, 20_000)
    cur_v = np.r_[rng.normal(0, 1, 20_000), [1e9]]  # one value far past the last tail bin
    ref = FeatureProfile.fit("x", pd.Series(ref_v), kind="numeric")
    r = drift.compare_feature(ref, counted(ref, cur_v), "wasserstein")
    assert r.error_bound == np.inf and "error unbounded" in r.histogram_note


# --- the drift review on a store: counted, not read, above the limit ------------------------

WEEK = config.iso_week("2026-W47")


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    rng = np.random.default_rng(2026)
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    ref = pd.DataFrame({"amount": rng.lognormal(3, 0.7, 5_000), "age": rng.normal(40, 10, 5_000),
                        "score": rng.uniform(0, 1, 5_000)})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    n = 3_000
    ts = [WEEK.start + dt.timedelta(seconds=int(s)) for s in np.sort(rng.uniform(0, 7 * 86_400 - 1, n))]
    preds = pd.DataFrame({"prediction_id": [str(i) for i in range(n)], "model_name": "m", "model_version": "1",
                          "timestamp": [t.strftime("%Y-%m-%d %H:%M:%S") for t in ts], "prediction": 1.0,
                          "amount": rng.lognormal(3.4, 0.7, n),  # drifted
                          "age": rng.normal(40, 10, n), "score": rng.uniform(0, 1, n)})
    with sqlite3.connect(tmp_path / "p.db") as con:
        preds.to_sql("predictions", con, index=False)
    params = config.StoreParams(columns={"variant": None, "probability": None, "outcome": None,
                                         "outcome_timestamp": None})
    feats = {"amount": {"method": "ks"}, "age": {"method": "wasserstein"}, "score": {"method": "psi"}}
    from workbench.sources.store import PredictionStore

    def make(limit):
        dd = DriftDetection(exact_max_rows=limit, models={"m": {"features": feats}})
        return SimpleNamespace(model=ModelSpec(name="m", type="classification", reference="ref.csv"), window=WEEK,
                               root=tmp_path, monitoring=MonitoringParams(drift_detection=dd),
                               store=PredictionStore(f"sqlite:///{tmp_path / 'p.db'}", params))
    return make


def _counting(store):
    """Record the calls of the store's bin_counts / feature_values (feature, number of edges) and what
    prefetch_counts was asked to fetch in its one scan."""
    calls = {"bin_counts": [], "feature_values": [], "prefetch_counts": []}
    for name in calls:
        real = getattr(store, name)

        def wrapped(*a, _real=real, _name=name, **k):
            if _name == "prefetch_counts":
                calls[_name] += [(f, None if e is None else len(e)) for f, e in a[2]]
            else:
                calls[_name].append((a[2], len(a[3]) if _name == "bin_counts" else None))
            return _real(*a, **k)
        setattr(store, name, wrapped)
    return calls


def test_the_review_above_the_limit_counts_ks_and_wasserstein_features_and_decides_as_the_exact_one(ctx):
    exact_ctx, binned_ctx = ctx(None), ctx(1_000)
    exact_calls, binned_calls = _counting(exact_ctx.store), _counting(binned_ctx.store)
    exact, binned = drift.review(exact_ctx), drift.review(binned_ctx)

    assert {f for f, _ in exact_calls["feature_values"]} == {"amount", "age"}  # limit off: read
    assert binned_calls["feature_values"] == []  # above the limit: nothing read
    fine = {f: len(histogram.window_edges(drift.reference_profile(binned_ctx)[f])[0]) for f in ("amount", "age")}
    for f in ("amount", "age"):
        assert (f, fine[f]) in binned_calls["bin_counts"]
        assert (f, fine[f]) in binned_calls["prefetch_counts"]  # asked for in the one prefetch scan
        assert (f, fine[f]) not in exact_calls["prefetch_counts"] + exact_calls["bin_counts"]
    assert ("score", None) not in binned_calls["prefetch_counts"]  # PSI's own bins, as before

    verdicts = lambda rep: {r.feature: r.drifted for r in rep.results}  # noqa: E731
    assert verdicts(binned) == verdicts(exact) == {"amount": True, "age": False, "score": False}
    by = {r.feature: r for r in binned.results}
    ex = {r.feature: r for r in exact.results}
    for f in ("amount", "age"):
        assert abs(by[f].statistic - ex[f].statistic) <= by[f].error_bound + 1e-12
        assert by[f].histogram_note and not ex[f].histogram_note
    assert by["score"].error_bound is None  # PSI counts its own bins either way

    amount = next(x for x in binned.findings if x.subject == "amount")
    assert amount.extra["from_histogram"] is True and amount.extra["error_bound"] == by["amount"].error_bound
    assert "reference-quantile bins" in amount.sentence
    info = next(x for x in binned.findings if x.subject == "histogram")
    assert "age" in info.sentence and "exact_max_rows" in info.sentence
    assert "reference-quantile bins" in binned.to_frame().set_index("feature").loc["age", "note"]
    assert not any(x.subject == "histogram" for x in exact.findings)
