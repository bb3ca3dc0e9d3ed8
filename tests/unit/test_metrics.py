"""Weighted metrics against scikit-learn (plain and with sample_weight), and bootstrap coverage."""

import numpy as np
import pytest
from sklearn import metrics as skm

from workbench.performance import metrics as wm


def _clf(rng, n=2000):
    y = rng.integers(0, 2, n).astype(float)
    prob = np.clip(0.3 * y + rng.beta(2, 3, n) * 0.7, 0, 1).round(2)  # rounded: many tied scores
    return y, (prob >= 0.5).astype(float), prob


@pytest.mark.parametrize("weighted", [False, True])
def test_classification_metrics_equal_sklearn(weighted, rng):
    y, yhat, prob = _clf(rng)
    w = rng.integers(0, 4, len(y)).astype(float) if weighted else np.ones(len(y))
    got = {k: v[0] for k, v in wm.classification(y, yhat, prob, w[None, :]).items()}
    sw = w if weighted else None
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat, sample_weight=sw), rel=1e-12)
    assert got["precision"] == pytest.approx(skm.precision_score(y, yhat, average="weighted", sample_weight=sw), rel=1e-12)
    assert got["recall"] == pytest.approx(skm.recall_score(y, yhat, average="weighted", sample_weight=sw), rel=1e-12)
    assert got["f1"] == pytest.approx(skm.f1_score(y, yhat, average="weighted", sample_weight=sw), rel=1e-12)
    p, r, f, _ = skm.precision_recall_fscore_support(y, yhat, sample_weight=sw)
    assert [got["precision_0"], got["precision_1"]] == pytest.approx(p, rel=1e-12)
    assert [got["recall_0"], got["recall_1"]] == pytest.approx(r, rel=1e-12)
    assert [got["f1_0"], got["f1_1"]] == pytest.approx(f, rel=1e-12)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, prob, sample_weight=sw), rel=1e-12)
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, prob, sample_weight=sw), rel=1e-12)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, prob, sample_weight=sw), rel=1e-12)
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, prob, sample_weight=sw), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_equal_sklearn(weighted, rng):
    y = rng.gamma(2, 10, 1500)
    yhat = y + rng.normal(0, 3, 1500)
    w = rng.integers(0, 4, len(y)).astype(float) if weighted else np.ones(len(y))
    sw = w if weighted else None
    got = {k: v[0] for k, v in wm.regression(y, yhat, w[None, :]).items()}
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, yhat, sample_weight=sw), rel=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, yhat, sample_weight=sw)), rel=1e-12)
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, yhat, sample_weight=sw), rel=1e-12)
    assert got["r2"] == pytest.approx(skm.r2_score(y, yhat, sample_weight=sw), rel=1e-9)


def test_ece_against_calibration_curve(rng):
    from sklearn.calibration import calibration_curve

    y, _, prob = _clf(rng, 5000)
    true, pred = calibration_curve(y, prob, n_bins=10, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], prob), minlength=10)
    counts = counts[counts > 0]
    assert wm.expected_calibration_error(prob, y) == pytest.approx(np.sum(counts / len(y) * np.abs(true - pred)))


@pytest.mark.parametrize("decimals", [2, 6])
def test_reliability_curve_equals_sklearn_calibration_curve(rng, decimals):
    """Probabilities on the bin edges (2 decimals) fall in the bin sklearn puts them in."""
    from sklearn.calibration import calibration_curve

    y, _, prob = _clf(rng, 5000)
    prob = np.round(prob, decimals)
    true, pred = calibration_curve(y, prob, n_bins=10, strategy="uniform")
    got_true, got_pred = wm.reliability_curve(prob, y, 10)
    np.testing.assert_allclose(got_true, true, rtol=1e-12)
    np.testing.assert_allclose(got_pred, pred, rtol=1e-12)


def test_curves_of_rows_already_in_score_order_equal_sklearn(rng):
    """classification_metrics hands the rows over sorted by score (ties included) so no resample
    re-sorts: that path skips the sort and must give scikit-learn's curves for any weights."""
    y, _, prob = _clf(rng)
    order = np.argsort(-prob, kind="mergesort")
    y, prob = y[order], prob[order]
    W = np.vstack([np.ones(len(y)), rng.integers(0, 4, len(y)).astype(float)])
    got = wm.classification(y, (prob >= 0.5).astype(float), prob, W)
    for i, sw in enumerate([None, W[1]]):
        assert got["roc_auc"][i] == pytest.approx(skm.roc_auc_score(y, prob, sample_weight=sw), rel=1e-12)
        assert got["pr_auc"][i] == pytest.approx(skm.average_precision_score(y, prob, sample_weight=sw), rel=1e-12)


def test_curves_of_tied_cells_equal_sklearn_on_the_rows(rng):
    """The columns classification_metrics builds: cells of (probability, outcome, prediction) in
    ranking order, so a tied score holds a negative and a positive column, and sometimes two
    positive columns (predictions differ at one probability). Each resample's curves equal
    scikit-learn's on the rows with the resample's counts as sample weights."""
    n = 4000
    y = rng.integers(0, 2, n).astype(float)
    prob = np.clip(0.3 * y + rng.beta(2, 3, n) * 0.7, 0, 1).round(1)  # 11 scores: every tie mixed
    yhat = np.where(rng.random(n) < 0.2, 1 - (prob >= 0.5), prob >= 0.5).astype(float)
    order = np.lexsort((yhat, y == 1, -prob))
    y, yhat, prob = y[order], yhat[order], prob[order]
    cells, first = wm.cells_of(prob, y, yhat, always=True)
    mixed, _, inner, _ = wm._ties(prob[first], y[first] == 1)
    assert len(mixed) and len(inner)  # both corrections are exercised
    W_rows = np.vstack([np.ones(n), rng.integers(0, 4, n).astype(float), rng.poisson(1.0, n).astype(float)])
    W_cells = np.vstack([np.bincount(cells, weights=w, minlength=len(first)) for w in W_rows])
    got = wm._curves(prob[first], y[first], W_cells)
    for i, sw in enumerate(W_rows):
        assert got["roc_auc"][i] == pytest.approx(skm.roc_auc_score(y, prob, sample_weight=sw), rel=1e-12)
        assert got["pr_auc"][i] == pytest.approx(skm.average_precision_score(y, prob, sample_weight=sw), rel=1e-12)


def test_curves_of_rows_in_any_order_equal_sklearn(rng):
    y, _, prob = _clf(rng)
    shuffled = rng.permutation(len(y))
    y, prob = y[shuffled], prob[shuffled]
    sw = rng.integers(0, 4, len(y)).astype(float)
    assert wm.roc_auc(prob, y, sw[None, :])[0] == pytest.approx(skm.roc_auc_score(y, prob, sample_weight=sw), rel=1e-12)
    assert wm.average_precision(prob, y, sw[None, :])[0] == pytest.approx(
        skm.average_precision_score(y, prob, sample_weight=sw), rel=1e-12)


def test_one_class_resample_gives_nan_auc_not_an_error():
    y = np.ones(50)
    out = wm.classification(y, y, np.linspace(0.1, 0.9, 50), np.ones((1, 50)))
    assert np.isnan(out["roc_auc"][0]) and out["accuracy"][0] == 1.0


def test_bootstrap_interval_matches_resampling_by_hand(rng):
    y, yhat, prob = _clf(rng, 300)
    point, ci = wm.bootstrap(lambda W: wm.classification(y, yhat, prob, W), len(y), resamples=400, seed=1)
    # the same resamples drawn by hand, metric from scikit-learn
    r = np.random.default_rng(1)
    idx = r.integers(0, len(y), size=(400, len(y)))
    accs = [skm.accuracy_score(y[i], yhat[i]) for i in idx]
    assert ci["accuracy"] == pytest.approx(tuple(np.quantile(accs, [0.025, 0.975])), rel=1e-12)
    assert point["accuracy"] == pytest.approx(skm.accuracy_score(y, yhat))


def test_bootstrap_ci_covers_the_truth_at_about_the_nominal_rate():
    """Seeded simulation: 200 samples of 400 predictions from a known population (accuracy 0.8)."""
    r = np.random.default_rng(7)
    covered = {"accuracy": 0, "roc_auc": 0}
    # a population where accuracy is exactly 0.8 and AUC is known in closed form
    from scipy.stats import norm

    true_auc = norm.cdf(1.5 / np.sqrt(2))
    for i in range(200):
        y = r.integers(0, 2, 400).astype(float)
        correct = r.random(400) < 0.8
        yhat = np.where(correct, y, 1 - y)
        score = r.normal(1.5 * y, 1.0)
        _, ci = wm.bootstrap(lambda W: {"accuracy": wm.from_confusion(**wm.confusion(y, yhat, W))["accuracy"],
                                        "roc_auc": wm.roc_auc(score, y, W)}, 400, resamples=300, seed=i)
        covered["accuracy"] += ci["accuracy"][0] <= 0.8 <= ci["accuracy"][1]
        covered["roc_auc"] += ci["roc_auc"][0] <= true_auc <= ci["roc_auc"][1]
    for k, v in covered.items():
        assert 0.90 <= v / 200 <= 0.99, (k, v)


@pytest.mark.parametrize("decimals", [2, 4])
def test_bootstrap_over_cells_is_the_same_bootstrap_as_over_rows(rng, decimals, monkeypatch):
    """Rows sharing (probability, outcome, prediction) share a weight: the per-cell counts of the same
    draws give every metric and interval the per-row bootstrap gives (not just the same distribution).
    At 2 decimals a few hundred cells; at 4 nearly one cell per row (kept as cells: `always`). The
    row indices are drawn here, not the multinomial (tested below)."""
    monkeypatch.setattr(wm, "MULTINOMIAL_CELL_SHARE", 0)
    y, yhat, _ = _clf(rng, 3000)
    prob = np.clip(0.3 * y + rng.beta(2, 3, len(y)) * 0.7, 0, 1).round(decimals)
    order = np.lexsort((yhat, y == 1, -prob))
    y, yhat, prob = y[order], yhat[order], prob[order]
    cells, first = wm.cells_of(prob, y, yhat, always=True)
    assert cells is not None and (len(first) < 400 if decimals == 2 else len(first) > 1500)
    assert (prob[first][cells] == prob).all() and (y[first][cells] == y).all() and (yhat[first][cells] == yhat).all()
    assert (np.diff(prob[first]) <= 0).all()  # cells keep the score order
    by_row = wm.bootstrap(lambda W: wm.classification(y, yhat, prob, W), len(y), 300, seed=5)
    by_cell = wm.bootstrap(lambda W: wm.classification(y[first], yhat[first], prob[first], W), len(y), 300,
                           seed=5, cells=cells)
    for k, v in by_row[0].items():
        assert by_cell[0][k] == pytest.approx(v, rel=1e-12), k
        assert by_cell[1][k] == pytest.approx(by_row[1][k], rel=1e-12), k
    # rows that are all different are left as rows
    assert wm.cells_of(rng.random(100), rng.random(100))[0] is None


def test_multinomial_cell_counts_are_the_row_bootstraps_distribution():
    """With few cells per row the per-cell counts are drawn as Multinomial(n, sizes / n): checked
    against the moments of n rows drawn with replacement (mean n*p, covariance n*(diag(p) - p p')),
    and every metric's interval against the per-row bootstrap (the same up to Monte Carlo error)."""
    r = np.random.default_rng(11)
    n = 4000
    y = r.integers(0, 2, n).astype(float)
    prob = np.clip(0.35 * y + r.beta(2, 3, n) * 0.65, 0, 1).round(1)  # ~20 cells for 4,000 rows
    yhat = (prob >= 0.5).astype(float)
    order = wm.ranking_order(prob, y, yhat)
    y, yhat, prob = y[order], yhat[order], prob[order]
    cells, first = wm.cells_of(prob, y, yhat, always=True)
    sizes = wm.multinomial_counts(cells, n)
    assert sizes is not None and len(sizes) == len(first) and sizes.sum() == n  # this takes the multinomial path
    W = wm.resample_weights(np.random.default_rng(3), 20_000, n, cells, sizes)
    assert (W.sum(axis=1) == n).all()
    p = sizes / n
    assert W.mean(axis=0) == pytest.approx(n * p, rel=0.02, abs=0.5)
    cov = np.cov(W, rowvar=False)
    want = n * (np.diag(p) - np.outer(p, p))
    assert np.abs(cov - want).max() < 0.06 * np.abs(want).max()
    # the metrics' intervals: the multinomial over cells vs n row indices per resample
    by_row = wm.bootstrap(lambda W: wm.classification(y, yhat, prob, W), n, 3000, seed=5)
    by_cell = wm.bootstrap(lambda W: wm.classification(y[first], yhat[first], prob[first], W), n, 3000,
                           seed=5, cells=cells)
    for k, v in by_row[0].items():
        assert by_cell[0][k] == pytest.approx(v, rel=1e-12), k  # the point estimate is exact
        lo, hi = by_row[1][k]
        assert by_cell[1][k] == pytest.approx((lo, hi), abs=0.08 * (hi - lo)), k
    # many cells per row: the row indices, as before
    assert wm.multinomial_counts(np.arange(n), n) is None and wm.multinomial_counts(None, n) is None
