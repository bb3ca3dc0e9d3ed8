import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from workbench.performance import abtest, cbpe, labels


def _log(rng, n=1000):
    ts = pd.Timestamp("2026-11-16", tz="UTC") + pd.to_timedelta(rng.uniform(0, 7 * 86400, n), unit="s")
    delay = pd.to_timedelta(rng.exponential(48, n), unit="h")
    out = (ts + delay).where(rng.random(n) > 0.1)
    return pd.DataFrame({"timestamp": ts, "outcome_timestamp": out, "actual_outcome": np.where(out.notna(), 1.0, np.nan)})


def test_coverage_and_delay(rng):
    df = _log(rng)
    cov = labels.coverage_by_day(df)
    assert cov["predictions"].sum() == len(df) and cov["labelled"].sum() == df["actual_outcome"].notna().sum()
    d = labels.delay_hours(df)
    manual = (df["outcome_timestamp"] - df["timestamp"]).dropna().dt.total_seconds() / 3600
    np.testing.assert_allclose(np.sort(d), np.sort(manual))
    s = labels.delay_summary(df).iloc[0]
    assert s["median_h"] == pytest.approx(np.median(manual))


def test_maturity_leaves_unreached_ages_empty(rng):
    df = _log(rng)
    now = pd.Timestamp("2026-11-24", tz="UTC")
    m = labels.maturity(df, now, max_age_days=10)
    last = m.index.max()
    reached = (now - last).days
    assert m.loc[last].iloc[reached:].isna().all()
    first = m.index.min()
    g = df[df["timestamp"].dt.floor("D") == first]
    age = (g["outcome_timestamp"] - g["timestamp"]).dt.total_seconds() / 86400
    assert m.loc[first, "3d"] == pytest.approx((age <= 3).mean())


def _simulated(rng, n, shift=0.0):
    """A model whose probabilities are miscalibrated in a known way (true p = prob ** 1.5)."""
    x = rng.normal(shift, 1.5, n)
    prob = 1 / (1 + np.exp(-x))
    y = (rng.random(n) < prob**1.5).astype(float)
    return prob, (prob >= 0.5).astype(float), y


def _hanley_mcneil_se(auc, n_pos, n_neg):
    """Standard error of an empirical ROC AUC (Hanley & McNeil 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return np.sqrt((auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg))


def test_cbpe_estimates_are_close_to_the_truth_under_covariate_shift(rng):
    """The realised metrics of 20,000 predictions scatter around CBPE's expectation by sampling noise;
    a large reference (200,000) makes the calibration error small next to it. The tolerance is 5
    standard errors of the realised metric (binomial for the confusion metrics, Hanley-McNeil for
    AUC), so it holds for any seed (over 450 fresh draws, 150 seeds, the largest deviation was 3.6 SE)."""
    n = 20_000
    p_ref, _, y_ref = _simulated(rng, 200_000)
    est = cbpe.CBPE().fit(p_ref, y_ref)
    for shift in (0.0, 0.8, -0.8):
        p, yhat, y = _simulated(rng, n, shift)
        e = est.estimate(p, yhat)
        true_p = p**1.5
        se = np.sqrt(np.sum(true_p * (1 - true_p))) / n  # of the realised share of correct predictions
        assert e["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat), abs=5 * se)
        # the positive class's precision (its denominator, the predicted positives, is known) and recall
        # and F1 (ratios of sums: a looser delta-method bound, a sixth of the predictions being positive at least)
        pp_ = yhat == 1
        se_p = np.sqrt(np.sum(true_p[pp_] * (1 - true_p[pp_]))) / pp_.sum()
        assert e["precision_1"] == pytest.approx(skm.precision_score(y, yhat), abs=5 * se_p)
        se_r = np.sqrt(np.sum(true_p * (1 - true_p))) / true_p.sum()
        assert e["recall_1"] == pytest.approx(skm.recall_score(y, yhat), abs=5 * se_r)
        assert e["f1_1"] == pytest.approx(skm.f1_score(y, yhat), abs=5 * (se_p + se_r))
        assert 5 * se_p < 0.04 and 5 * se_r < 0.06  # tight enough to tell the positive class from a weighted average
        auc = skm.roc_auc_score(y, p)
        assert e["roc_auc"] == pytest.approx(auc, abs=5 * _hanley_mcneil_se(auc, y.sum(), n - y.sum()))
        assert 5 * se < 0.02  # the check stays tight enough to catch a wrong estimate


@pytest.mark.parametrize("decimals", [2, 8])
def test_isotonic_calibration_equals_sklearn(rng, decimals):
    """CBPE's calibration map (scipy's solver) predicts what sklearn's IsotonicRegression(y_min=0,
    y_max=1, out_of_bounds="clip") predicts: tied probabilities pooled, linear between fitted
    points, clipped outside them."""
    from sklearn.isotonic import IsotonicRegression

    p, _, y = _simulated(rng, 20_000)
    p = np.round(p * 0.8 + 0.1, decimals)  # the history covers [0.1, 0.9]: new values fall outside it
    new = np.r_[rng.random(5000), 0.0, 1.0, p[:100]]
    want = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y).predict(new)
    got = cbpe.CBPE().fit(p, y).calibrated(new)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert len(np.unique(got)) > 5  # a real map, not a constant


def test_cbpe_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        cbpe.CBPE().fit([0.2, 0.3], [1, 1])


def test_two_proportions_matches_a_hand_z_test_and_mde_has_80_percent_power():
    r = abtest.two_proportions(800, 1000, 840, 1000)
    p_pool = 1640 / 2000
    z = (0.84 - 0.80) / np.sqrt(p_pool * (1 - p_pool) * (2 / 1000))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert r["ci_low"] < r["difference"] < r["ci_high"]
    # power of the z-test at the MDE (normal approximation, computed independently)
    p1, p2 = 0.80, 0.80 + r["mde_80"]
    h = 2 * np.arcsin(np.sqrt(p2)) - 2 * np.arcsin(np.sqrt(p1))
    power = stats.norm.sf(1.959963984540054 - h * np.sqrt(1000 * 1000 / 2000))
    assert power == pytest.approx(0.8, abs=0.005)


def test_underpowered_comparison_says_no_decision_yet():
    r = abtest.two_proportions(40, 50, 42, 50)
    assert r["verdict"].startswith("no decision yet") and r["mde_80"] > 0.1
    big = abtest.two_proportions(80_000, 100_000, 84_000, 100_000)
    assert "is better" in big["verdict"]


def test_compare_variants_on_one_class_does_not_crash(rng):
    df = pd.DataFrame({"variant": ["A"] * 30 + ["B"] * 30, "model_version": ["1"] * 30 + ["2"] * 30,
                       "actual_outcome": 1.0, "prediction": 1.0, "probability": rng.random(60)})
    out = abtest.compare_variants(df, resamples=50).to_frame().set_index("metric")
    assert "AUC undefined" in out.loc["roc_auc", "verdict"]


def test_without_an_outcome_time_the_label_delay_is_a_problem_not_a_traceback(rng):
    """store.columns.outcome_timestamp: null — the frame has no outcome time: coverage is still counted,
    the delay and maturity say why they cannot be computed, and a review records that as a problem."""
    from workbench import config
    from workbench.context import ReviewContext
    from workbench.errors import InsufficientData

    df = _log(rng).drop(columns="outcome_timestamp")
    cov = labels.coverage_by_day(df)
    assert cov["labelled"].sum() == df["actual_outcome"].notna().sum()
    for compute in (labels.delay_hours, labels.delay_summary,
                    lambda d: labels.maturity(d, pd.Timestamp("2026-11-24", tz="UTC"))):
        with pytest.raises(InsufficientData, match="without an outcome time: store.columns.outcome_timestamp"):
            compute(df)
    ctx = ReviewContext.__new__(ReviewContext)
    ctx.problems, ctx.findings, ctx.headline, ctx.defer_problems = [], [], {}, True
    assert ctx.attempt("label delay", labels.delay_hours, df) is None
    assert ctx.problems == [{"section": "label delay", "problem": labels.NO_OUTCOME_TIME}]
    assert ctx.level == "not computed"
    import matplotlib

    matplotlib.use("Agg")
    from workbench.performance import plots

    fig = plots.label_coverage(cov, None)
    assert "not computed: no outcome time" in [t.get_text() for t in fig.axes[1].texts]


def test_cbpe_estimates_the_positive_class_not_weighted_averages_equal_to_accuracy(rng):
    """The CBPE table showed accuracy, F1, precision and recall all 0.825: support-weighted recall is
    accuracy by definition (sklearn agrees), weighted precision and F1 differ from it only through the
    classes' error balance. The estimate now gives the positive class's precision, recall and F1."""
    p_ref, _, y_ref = _simulated(rng, 50_000)
    p, yhat, y = _simulated(rng, 20_000, 0.5)
    assert skm.recall_score(y, yhat, average="weighted") == pytest.approx(skm.accuracy_score(y, yhat), abs=1e-12)
    e = cbpe.CBPE().fit(p_ref, y_ref).estimate(p, yhat)
    assert set(cbpe.ESTIMATED) == set(e) == {"accuracy", "precision_1", "recall_1", "f1_1", "roc_auc"}
    values = [round(e[k], 3) for k in cbpe.ESTIMATED]
    assert len(set(values)) == len(values), values  # no two columns the same number
    from workbench import tables

    assert [tables.header(k) for k in cbpe.ESTIMATED] == ["accuracy", "precision (class 1)", "recall (class 1)",
                                                          "F1 (class 1)", "ROC AUC"]


def test_the_estimate_table_orders_its_metrics_as_the_headline_table_does():
    """The pivot sorted the estimate's columns alphabetically (accuracy, F1, precision, recall, ROC AUC);
    they follow the headline metrics' order (the catalogue's), whatever order the rows come in."""
    from workbench import reviews

    metrics = ["roc_auc", "f1_1", "recall_1", "accuracy", "precision_1"]
    est = pd.DataFrame([{"period": pd.Timestamp("2026-11-23"), "model_version": v, "metric": m, "estimated": 0.5 + i / 100}
                        for v in ("1.2.0", "1.3.0") for i, m in enumerate(metrics)])
    wide = cbpe.estimate_table(est)
    assert list(wide.columns) == ["accuracy", "precision_1", "recall_1", "f1_1", "roc_auc"]
    headline = reviews.metrics("classification")
    assert [headline.index(k.removesuffix("_1")) for k in wide.columns] == sorted(
        headline.index(k.removesuffix("_1")) for k in wide.columns)
    assert wide.loc[(pd.Timestamp("2026-11-23"), "1.3.0"), "f1_1"] == pytest.approx(0.51)  # values kept by metric
