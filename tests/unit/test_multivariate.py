"""Multivariate drift (drift.multivariate): a flipped correlation with unchanged marginals is invisible
to every univariate method of the registry and caught by both multivariate methods; at the null both
stay quiet; the AUC equals scikit-learn's and the PCA error a direct numpy computation."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from workbench import tables  # noqa: E402
from workbench.config import MonitoringParams, MultivariateDrift  # noqa: E402
from workbench.drift import methods as dm  # noqa: E402
from workbench.drift import multivariate as mv  # noqa: E402
from workbench.findings import KINDS, SEVERITIES  # noqa: E402

KIND = {"x": "numeric", "y": "numeric", "z": "numeric", "plan": "categorical"}
DAYS = [f"2026-11-{16 + i}" for i in range(7)]


def frame(n: int, rho: float, seed: int) -> pd.DataFrame:
    """x, y standard normal with correlation rho; z and a categorical plan independent of them."""
    rng = np.random.default_rng(seed)
    xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "z": rng.normal(size=n),
                         "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])})


def days(n_per_day: int) -> pd.Series:
    return pd.Series(np.repeat(DAYS, n_per_day))


PARAMS = MultivariateDrift(sample_rows=5000, resamples=100)


@pytest.fixture(scope="module")
def flip():
    ref, cur = frame(5000, 0.8, 1), frame(3500, -0.8, 2)
    return ref, cur, mv.multivariate_drift(ref, cur, KIND, PARAMS, days=days(500), model="m")


@pytest.fixture(scope="module")
def null():
    ref, cur = frame(5000, 0.8, 3), frame(3500, 0.8, 4)
    return mv.multivariate_drift(ref, cur, KIND, PARAMS, days=days(500), model="m")


def test_univariate_methods_of_the_registry_flag_nothing_on_the_flip(flip):
    ref, cur, _ = flip
    checked = 0
    for name, method in dm.METHODS.items():
        for feature, kind in KIND.items():
            if not method.applies_to(kind):
                continue
            result = dm.compare(name, ref[feature], cur[feature], categorical=kind == "categorical")
            threshold, floor = dm.resolve(name)
            drifted, _ = dm.decide(name, result, threshold, floor)
            assert not drifted, (name, feature, result)
            checked += 1
    assert checked >= 4 * 3 + 3  # every numeric method on x, y, z; the categorical ones on plan


def test_both_multivariate_methods_flag_the_correlation_flip(flip):
    _, _, r = flip
    assert not r.problems
    assert r.reconstruction["drifted"] and r.reconstruction["value"] > r.reconstruction["upper"]
    assert r.classifier["drifted"] and r.classifier["low"] > PARAMS.auc_threshold
    assert r.drifted
    warnings = [f for f in r.findings if f.severity == "warning"]
    assert {f.extra["method"] for f in warnings} == {"pca_reconstruction", "domain_classifier"}
    for f in r.findings:
        assert f.kind in KINDS and f.severity in SEVERITIES and f.anchor == mv.ANCHOR
    assert r.daily["error_drifted"].all() and r.daily["auc_drifted"].all()
    assert list(r.daily["day"]) == DAYS and (r.daily["n"] == 500).all()


def test_at_the_null_both_stay_quiet(null):
    r = null
    assert not r.problems and not r.drifted
    rec = r.reconstruction
    assert rec["lower"] <= rec["value"] <= rec["upper"]
    assert r.classifier["low"] < 0.5 < r.classifier["high"] or abs(r.classifier["auc"] - 0.5) < 0.03
    assert [f.severity for f in r.findings] == ["info"]
    assert r.findings[0].sentence.startswith("No multivariate drift")
    assert not r.daily["auc_drifted"].any() and not r.daily["error_drifted"].any()


def test_daily_values_single_out_the_days_that_flipped():
    ref = frame(5000, 0.8, 5)
    cur = pd.concat([frame(2500, 0.8, 6), frame(1000, -0.8, 7)], ignore_index=True)
    r = mv.multivariate_drift(ref, cur, KIND, PARAMS, days=days(500))
    assert list(r.daily["auc_drifted"]) == [False] * 5 + [True] * 2
    assert list(r.daily["error_drifted"]) == [False] * 5 + [True] * 2


def test_auc_and_its_interval_equal_scikit_learn_on_the_same_predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    score = np.round(rng.normal(size=3000) + 0.4 * y, 1)  # rounded: ties, counted as halves by both
    assert mv.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert np.isnan(mv.auc(np.ones(10), np.arange(10)))  # one class: undefined, not an error
    # the interval is the percentile bootstrap of roc_auc_score with the same draws
    low, high = mv.auc_interval(y, score, resamples=50, seed=3)
    draw = np.random.default_rng(3)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    ref = []
    for _ in range(2):  # drawn 25 resamples at a time: the window rows of each, then the reference rows
        ps, ns = pos[draw.integers(0, len(pos), (25, len(pos)))], neg[draw.integers(0, len(neg), (25, len(neg)))]
        ref += [roc_auc_score(np.r_[np.ones(len(p)), np.zeros(len(n))], np.r_[score[p], score[n]])
                for p, n in zip(ps, ns)]
    assert (low, high) == pytest.approx((np.quantile(ref, 0.025), np.quantile(ref, 0.975)), abs=1e-12)


def test_result_auc_is_roc_auc_score_of_the_out_of_fold_predictions():
    ref, cur = frame(1500, 0.8, 8), frame(1000, -0.8, 9)
    enc = mv.FeatureEncoder(KIND).fit(ref)
    x = np.vstack([enc.transform(ref), enc.transform(cur)])
    y = np.r_[np.zeros(len(ref), int), np.ones(len(cur), int)]
    scores, fold_of = mv.out_of_fold_scores(x, y, folds=5, seed=0)
    assert set(fold_of) == set(range(5)) and np.isfinite(scores).all()
    r = mv.multivariate_drift(ref, cur, KIND, MultivariateDrift(sample_rows=5000, resamples=20))
    assert r.classifier["auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert r.classifier["fold_auc"][2] == pytest.approx(roc_auc_score(y[fold_of == 2], scores[fold_of == 2]))


def test_pca_reconstruction_error_equals_a_direct_numpy_computation():
    x = frame(4000, 0.8, 10)[["x", "y", "z"]].to_numpy()
    rec = mv.ReconstructionDrift(variance=0.65, seed=0).fit(x)
    a = x[np.random.default_rng(0).permutation(len(x))[: len(x) // 2]]  # the half it was fitted on
    mean, sd = a.mean(axis=0), a.std(axis=0)
    z = (a - mean) / sd
    _, s, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    share = np.cumsum(s ** 2) / np.sum(s ** 2)
    k = int(np.searchsorted(share, 0.65) + 1)  # the fewest components holding 65% of the variance
    assert rec.n_components_ == k == 2  # (x + y) and z hold 0.6 + 0.33 of the variance
    new = frame(500, -0.8, 11)[["x", "y", "z"]].to_numpy()
    zn = (new - mean) / sd
    centred = zn - z.mean(axis=0)
    back = centred @ vt[:k].T @ vt[:k] + z.mean(axis=0)
    assert rec.errors(new) == pytest.approx(np.linalg.norm(zn - back, axis=1), rel=1e-9, abs=1e-12)


def test_band_is_the_held_out_mean_plus_minus_sigmas_sd_of_chunk_means():
    x = frame(20000, 0.8, 12)[["x", "y", "z"]].to_numpy()
    rec = mv.ReconstructionDrift(variance=0.65, sigmas=3.0, seed=0).fit(x)
    e = rec.held_out_errors_
    mid, lo, hi = rec.band(1000)
    assert mid == pytest.approx(e.mean()) and hi - mid == pytest.approx(mid - lo)
    # random chunks of n rows: their mean's sd is about sd(e) sqrt(1/n), plus the held-out mean's error
    expected = e.std() * np.sqrt(1 / 1000 * (1 - 1000 / len(e)) + 1 / len(e))
    assert (hi - mid) / 3 == pytest.approx(expected, rel=0.15)


def test_too_few_rows_no_features_and_missing_values_are_problems_or_notes_never_tracebacks():
    ref, cur = frame(3000, 0.8, 13), frame(1000, 0.8, 14)
    small = mv.multivariate_drift(ref.head(50), cur, KIND, PARAMS)
    assert small.problems and "too few rows" in small.problems[0] and small.findings == []
    assert small.to_frame().empty and small.plot() is not None
    none = mv.multivariate_drift(ref, cur, {"name": "text"}, PARAMS)
    assert none.problems == ["no numeric or categorical feature to compare"]
    empty = mv.multivariate_drift(ref.assign(x=np.nan), cur, {"x": "numeric"}, PARAMS)
    assert empty.problems and "no usable feature" in empty.problems[0]

    def holes(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f.loc[::10, "x"] = np.nan
        f.loc[::7, "y"] = np.inf
        f.loc[::5, "plan"] = None
        return f

    # missing values appear only in the window: computed, said in a note, and a change in itself
    r = mv.multivariate_drift(ref, holes(cur), KIND, PARAMS)
    assert not r.problems and r.computed and r.drifted and r.classifier["auc"] > 0.55
    assert any("missing values in the window" in n and "x 10.0%" in n for n in r.notes)
    # the same holes on both sides: imputed alike, no drift
    same = mv.multivariate_drift(holes(ref), holes(cur), KIND, PARAMS)
    assert not same.problems and not same.drifted
    assert any("missing values in the reference" in n for n in same.notes)
    assert "'<missing>' category" in same.caption and "3,000 reference and 1,000 window rows" in same.caption
    # the caption is text: the table under it escapes it, as the notebook shows it
    shown = tables.table(same.to_frame(), caption=same.caption).to_html()
    assert "&#39;&lt;missing&gt;&#39; category" in shown and "<missing>" not in shown


def test_to_frame_headline_plot_and_config_defaults(flip):
    _, _, r = flip
    t = r.to_frame()
    assert list(t["verdict"]) == ["drift", "drift"] and t["value"].iloc[1] == pytest.approx(r.classifier["auc"])
    # the days the findings count ("7 of 7 days outside it") are in the table the report prints
    assert list(t["days_outside"]) == [int(r.daily["error_drifted"].sum()), int(r.daily["auc_drifted"].sum())]
    assert list(t["days"]) == [len(DAYS)] * 2
    assert r.headline["multivariate_auc"] == pytest.approx(r.classifier["auc"], abs=1e-4)
    assert list(r.headline["series"]["multivariate_auc"]) == DAYS
    fig = r.plot()
    assert len(fig.axes) == 2
    dd = MonitoringParams.model_validate({"drift_detection": {}}).drift_detection
    assert dd.multivariate.auc_threshold == 0.65 and dd.multivariate.pca_variance == 0.65
    assert dd.multivariate.sample_rows == 20_000 and dd.multivariate.enabled


def test_the_sentence_says_which_side_of_the_band_and_counts_encoded_columns(flip):
    """Above the band the features no longer move together as in the reference; below it they move
    together more tightly — the sentence must not say the first of the second. The components are of
    the encoded columns (x, y, z and one per plan category), which it names."""
    import copy

    _, _, r = flip
    above = [f.sentence for f in r.findings if f.extra.get("method") == "pca_reconstruction"][0]
    assert " is above its reference band " in above and "no longer move together as in the reference" in above
    assert r.reconstruction["n_columns"] == 3 + 3
    assert f"of the variance of the 6 columns encoding {len(r.features)} features" in above
    below = copy.copy(r)
    below.reconstruction = {**r.reconstruction, "value": r.reconstruction["lower"] / 2}
    text = [f.sentence for f in below.findings if f.extra.get("method") == "pca_reconstruction"][0]
    assert " is below its reference band " in text and "more tightly than in the reference" in text
    assert "no longer move together" not in text


def test_the_features_carrying_the_change_are_named_from_the_columns_residuals(flip):
    """Which features carry the change: the rise of the mean squared reconstruction error split by
    encoded column (exact: a row's squared error is the sum over columns), recomputed here with a
    direct numpy PCA projection; on the flip, x and y carry it and z and plan do not."""
    ref, cur, r = flip
    shares = r.reconstruction["by_feature"]
    assert list(shares)[:2] in (["x", "y"], ["y", "x"]) and shares["x"] + shares["y"] > 0.9
    assert sum(shares.values()) == pytest.approx(1.0) and max(shares.values()) <= 1  # parts of the features moving with it
    # independent check of the split: numpy SVD on the same standardised fit half
    enc = mv.FeatureEncoder(KIND).fit(mv._sample(ref, PARAMS.sample_rows, PARAMS.seed))
    assert enc.column_features() == ["x", "y", "z", "plan", "plan", "plan"]
    rec = mv.ReconstructionDrift(PARAMS.pca_variance, PARAMS.sigmas, seed=PARAMS.seed)
    xr = enc.transform(mv._sample(ref, PARAMS.sample_rows, PARAMS.seed))
    xc = enc.transform(mv._sample(cur, PARAMS.sample_rows, PARAMS.seed + 1))
    rec.fit(xr)
    comps = rec.pca_.components_
    def col_err(x):
        z = (x - rec.scaler_.mean_) / rec.scaler_.scale_
        zc = z - rec.pca_.mean_
        return ((zc - zc @ comps.T @ comps) ** 2).mean(axis=0)
    np.testing.assert_allclose(rec.column_errors(xc), col_err(xc), rtol=1e-9, atol=1e-12)
    assert mv.carried_by(np.array([0.5, 0.3, -0.1, 0.05, 0.05, 0.0]), enc.column_features()) == pytest.approx(
        {"x": 0.5 / 0.9, "y": 0.3 / 0.9, "plan": 0.1 / 0.9})  # z moved against the total: left out
    assert mv.carried_by(np.array([-0.5, 0.2, -0.1, 0, 0, 0]), enc.column_features()) == pytest.approx(
        {"x": 0.5 / 0.6, "z": 0.1 / 0.6})  # a fall: the features that fell
    sentence = [f.sentence for f in r.findings if f.extra.get("method") == "pca_reconstruction"][0]
    assert "most of the rise is in " in sentence and "x (" in sentence and "y (" in sentence
    table = r.to_frame().set_index("method")
    carried = table.loc["PCA reconstruction error", "carried by"]
    assert carried in sentence and "z (" not in carried
