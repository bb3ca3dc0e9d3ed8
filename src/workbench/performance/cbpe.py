"""Performance before the labels arrive: confidence-based performance estimation (CBPE, as
NannyML does it).

The model's probabilities are calibrated (isotonic regression, `isotonic_fit`) on labelled history of the same
model version; the calibrated probability of each unlabelled prediction is then the expected
share of it being positive, which gives an expected confusion matrix and, from it, expected
accuracy, precision, recall and F1; ROC AUC comes from the expected ROC curve. The estimate
assumes that P(outcome | probability) has not changed: concept drift is invisible to it, which
is why the report shows estimate and realised side by side where labels exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench import config
from workbench.performance import metrics as wm
from workbench.result import TableResult

# the positive class's precision, recall and F1, not the support-weighted averages: weighted recall is
# accuracy by definition (sum over classes of share x recall = correct / all), and weighted precision
# and F1 differ from it only through the classes' error balance, so the table showed four equal columns
ESTIMATED = ("accuracy", "precision_1", "recall_1", "f1_1", "roc_auc")


def headline_position(metric: str) -> int:
    """Where `metric` (a per-class key such as 'f1_1' as its metric, 'f1') stands in the headline
    metrics table's order (the catalogue's, workbench.reviews.metrics), so the estimate table reads in
    the same order; a metric not in the headline goes last."""
    from workbench import reviews

    order = reviews.metrics("classification")
    key = metric[:-2] if metric[-2:] in ("_0", "_1") else metric
    return order.index(key) if key in order else len(order)


def estimate_table(est: pd.DataFrame) -> pd.DataFrame:
    """The estimated metrics per period and version, one column per metric in the headline table's
    order (a pivot alone sorts them alphabetically)."""
    wide = est.pivot_table(index=["period", "model_version"], columns="metric", values="estimated")
    return wide[sorted(wide.columns, key=headline_position)]


@dataclass
class CBPE:
    """fit(probabilities, outcomes) on labelled history; estimate(probabilities, predictions)."""

    threshold: float = 0.5

    def fit(self, prob, y, counts=None) -> "CBPE":
        """`counts`: how many rows each (prob, y) stands for (prediction cells); None: one each."""
        prob, y = np.asarray(prob, float), np.asarray(y, float)
        if len(np.unique(y if counts is None else y[np.asarray(counts) > 0])) < 2:
            raise ValueError("CBPE needs both classes among the labelled history to calibrate")
        self.x_, self.y_ = isotonic_fit(prob, y, counts)
        self.n_fit_ = len(y) if counts is None else int(np.sum(counts))
        return self

    def calibrated(self, prob) -> np.ndarray:
        # linear between the fitted points, clipped beyond them (sklearn's out_of_bounds="clip")
        return np.interp(np.asarray(prob, float), self.x_, self.y_)

    def estimate(self, prob, yhat=None, counts=None) -> dict[str, float]:
        """Expected metrics of predictions whose outcomes are unknown (`counts` as in fit)."""
        prob = np.asarray(prob, float)
        yhat = (prob >= self.threshold).astype(float) if yhat is None else np.asarray(yhat, float)
        w = np.ones(len(prob)) if counts is None else np.asarray(counts, float)
        c = self.calibrated(prob)
        counts = {"tp": np.array([np.sum(w * c * yhat)]), "fp": np.array([np.sum(w * (1 - c) * yhat)]),
                  "fn": np.array([np.sum(w * c * (1 - yhat))]), "tn": np.array([np.sum(w * (1 - c) * (1 - yhat))])}
        out = {k: float(v[0]) for k, v in wm.from_confusion(**counts).items() if k in ESTIMATED}
        out["roc_auc"] = expected_roc_auc(prob, c, w)
        return out


def isotonic_fit(x, y, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """The increasing isotonic regression of y on x, as sklearn.isotonic.IsotonicRegression fits it
    (tied x pooled into their weighted mean, then pool-adjacent-violators, bounded to [0, 1]): the
    distinct x and their fitted values, to interpolate between. scipy.optimize's solver, not
    scikit-learn's estimator, because importing scikit-learn cost a kernel ~2 s."""
    from scipy.optimize import isotonic_regression

    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones(len(x)) if counts is None else np.asarray(counts, float)
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    order = np.argsort(x, kind="mergesort")
    xs, ys, ws = x[order], y[order], w[order]
    starts = np.r_[0, np.flatnonzero(xs[1:] != xs[:-1]) + 1]
    counts = np.add.reduceat(ws, starts)
    means = np.add.reduceat(ws * ys, starts) / counts
    fitted = isotonic_regression(means, weights=counts, increasing=True).x
    return xs[starts], np.clip(fitted, 0.0, 1.0)


def expected_roc_auc(score, calibrated, counts=None) -> float:
    """ROC AUC of the expected ROC curve: each prediction counts as `calibrated` positive and
    1 - `calibrated` negative (`counts` times, when given)."""
    order = np.argsort(-np.asarray(score, float), kind="mergesort")
    s = np.asarray(score, float)[order]
    c = np.asarray(calibrated, float)[order]
    w = np.ones(len(s)) if counts is None else np.asarray(counts, float)[order]
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    P = np.add.reduceat(w * c, starts)
    N = np.add.reduceat(w * (1 - c), starts)
    if P.sum() == 0 or N.sum() == 0:
        return float("nan")
    return float(np.sum(N * (np.cumsum(P) - P + P / 2)) / (P.sum() * N.sum()))


def estimate_by_period(df: pd.DataFrame, history: pd.DataFrame, freq: str = "D", min_history: int = 100
                       ) -> pd.DataFrame:
    """Estimated metrics per period and model version, next to the realised ones where labels exist.

    `history` holds predictions before the periods: each version is calibrated on those of its
    predictions that have a probability and an outcome.
    """
    from workbench.frames import groups

    rows = []
    for version, g in groups(df, "model_version"):
        mine = ((history["model_version"] == version).to_numpy() & history["actual_outcome"].notna().to_numpy()
                & history["probability"].notna().to_numpy())
        y = history["actual_outcome"].to_numpy()[mine]
        if len(y) < min_history or len(np.unique(y)) < 2:
            continue
        est = CBPE().fit(history["probability"].to_numpy()[mine], y)
        del mine, y
        for period, p in groups(g, g["timestamp"].dt.floor(freq)):
            e = est.estimate(p["probability"], p["prediction"])
            lab = p[p["actual_outcome"].notna()]
            realised = {}
            if len(lab) >= 30 and lab["actual_outcome"].nunique() == 2:
                W = np.ones((1, len(lab)))
                r = wm.classification(lab["actual_outcome"], lab["prediction"], lab["probability"], W)
                realised = {k: float(r[k][0]) for k in ESTIMATED}
            for k in ESTIMATED:
                rows.append({"period": period, "model_version": version, "metric": k, "estimated": e[k],
                             "realised": realised.get(k, np.nan), "predictions": len(p),
                             "label_coverage": len(lab) / len(p)})
    return pd.DataFrame(rows)


def estimate_by_period_cells(cells: pd.DataFrame, history: pd.DataFrame, min_history: int = 100) -> pd.DataFrame:
    """`estimate_by_period` (daily) from prediction cells of the window and of the weeks before: the
    calibration fitted on the history's cells (weighted by their rows), estimates and realised metrics
    per day from the window's cells. Probabilities are the cells' grid midpoints."""
    rows = []
    usable = cells[cells["probability"].notna() & cells["prediction"].notna()]
    for version, g in usable.groupby("model_version", sort=True):
        h = history[(history["model_version"] == version) & history["actual_outcome"].notna()
                    & history["probability"].notna()]
        y, hn = h["actual_outcome"].to_numpy(dtype=float), h["n"].to_numpy(dtype=float)
        if hn.sum() < min_history or len(np.unique(y[hn > 0])) < 2:
            continue
        est = CBPE().fit(h["probability"].to_numpy(dtype=float), y, hn)
        for period, p in g.groupby("day", sort=True):
            w = p["n"].to_numpy(dtype=float)
            e = est.estimate(p["probability"].to_numpy(dtype=float), p["prediction"].to_numpy(dtype=float), w)
            lab = p[p["actual_outcome"].notna()]
            labelled = float(lab["n"].sum())
            realised = {}
            if labelled >= 30 and lab["actual_outcome"].nunique() == 2:
                r = wm.classification(lab["actual_outcome"], lab["prediction"], lab["probability"],
                                      lab["n"].to_numpy(dtype=float)[None, :])
                realised = {k: float(r[k][0]) for k in ESTIMATED}
            for k in ESTIMATED:
                rows.append({"period": period, "model_version": version, "metric": k, "estimated": e[k],
                             "realised": realised.get(k, np.nan), "predictions": int(w.sum()),
                             "label_coverage": labelled / w.sum()})
    return pd.DataFrame(rows)


def run_cells(cells: pd.DataFrame, history: pd.DataFrame, tolerance: float | None = None) -> TableResult:
    """`run` from prediction cells (the performance review's, when the engine counted them)."""
    from workbench.errors import InsufficientData

    if not (cells["probability"].notna() & cells["prediction"].notna()).any():
        raise InsufficientData("CBPE needs probabilities and predictions; none are logged in this window")
    try:
        est = estimate_by_period_cells(cells, history)
    except ValueError as exc:
        raise InsufficientData(f"CBPE: {exc}") from exc
    return TableResult(est, gap_findings(est, tolerance=GAP_TOLERANCE if tolerance is None else tolerance))


def run(window_predictions: pd.DataFrame, history: pd.DataFrame, freq: str = "D",
        tolerance: float | None = None) -> TableResult:
    """estimate_by_period for the notebook: data it cannot use becomes an InsufficientData error; its
    findings flag a gap beyond `tolerance` (params `performance.cbpe_gap_tolerance`; default GAP_TOLERANCE)."""
    from workbench.errors import InsufficientData

    w = window_predictions
    cols = [c for c in ("model_version", "timestamp", "probability", "prediction", "actual_outcome") if c in w]
    usable = w.loc[w["probability"].notna() & w["prediction"].notna(), cols]  # the columns CBPE uses, not a copy of all
    if usable.empty:
        raise InsufficientData("CBPE needs probabilities and predictions; none are logged in this window")
    try:  # the history is not copied: each version's labelled probabilities are taken as arrays
        est = estimate_by_period(usable, history, freq)
    except ValueError as exc:
        raise InsufficientData(f"CBPE: {exc}") from exc
    return TableResult(est, gap_findings(est, tolerance=GAP_TOLERANCE if tolerance is None else tolerance))


# realised minus estimated accuracy beyond this is flagged as concept drift: the default of params
# `performance.cbpe_gap_tolerance` (the schema in workbench.config holds the value)
GAP_TOLERANCE = config.default_of(config.PerformanceParams, "cbpe_gap_tolerance")


def gap_table(est: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Realised against estimated `metric` on every period and version with outcomes, then all of them
    (weighted by predictions): the numbers `gap_findings` quotes, for the report's table."""
    if est.empty:
        return pd.DataFrame()
    e = est[(est["metric"] == metric) & est["realised"].notna() & est["estimated"].notna()]
    if e.empty:
        return pd.DataFrame()
    rows = e[["period", "model_version", "realised", "estimated"]].copy() if "model_version" in e else \
        e[["period", "realised", "estimated"]].copy()
    w = e["predictions"].astype(float)
    total = {"period": "all days with outcomes",
             "realised": float((e["realised"] * w).sum() / w.sum()),
             "estimated": float((e["estimated"] * w).sum() / w.sum())}
    out = pd.concat([rows, pd.DataFrame([total])], ignore_index=True)
    out["gap"] = out["realised"] - out["estimated"]
    return out.rename(columns={"realised": f"realised {metric}", "estimated": f"estimated {metric}"})


def gap_caption(est: pd.DataFrame, metric: str = "accuracy", tolerance: float = GAP_TOLERANCE) -> str:
    """The gap table's caption: how many days it covers and the tolerance `gap_findings` applies."""
    from workbench.findings import num

    days = est.loc[(est["metric"] == metric) & est["realised"].notna() & est["estimated"].notna(), "period"].nunique() \
        if not est.empty else 0
    return (f"realised against estimated {metric} on the {days} days with outcomes (all of them: weighted by "
            f"predictions); flagged as concept drift when the realised {metric} is more than {num(tolerance)} "
            "below the estimate")


def gap_findings(est: pd.DataFrame, metric: str = "accuracy", tolerance: float = GAP_TOLERANCE) -> list:
    """The gap between the CBPE estimate and the realised metric over the periods that have both
    (weighted by predictions): beyond `tolerance`, inputs-to-outcome changed (concept drift). The
    sentence names the day with the largest shortfall (realised furthest below estimated), if any."""
    from workbench.findings import Finding, num

    if est.empty:
        return []
    e = est[(est["metric"] == metric) & est["realised"].notna() & est["estimated"].notna()]
    if e.empty:
        return []
    w = e["predictions"].astype(float)
    realised = float((e["realised"] * w).sum() / w.sum())
    estimated = float((e["estimated"] * w).sum() / w.sum())
    gap = realised - estimated
    days = e.assign(g=e["realised"] - e["estimated"]).sort_values("g")
    worst = days.iloc[0]
    if worst["g"] < 0:  # the day the realised metric fell furthest below its estimate
        extreme = (f"largest shortfall (realised below estimated) on {pd.Timestamp(worst['period']):%Y-%m-%d}: "
                   f"{num(worst['realised'])} vs {num(worst['estimated'])}, {num(worst['g'])}")
    else:
        extreme = "no day fell short of its estimate"
    text = (f"Realised {metric} {num(realised)} vs {num(estimated)} estimated by CBPE on the {e['period'].nunique()} "
            f"days with outcomes (gap {'+' if gap > 0 else ''}{num(gap)}; {extreme})")
    if gap < -tolerance:
        return [Finding("warning", f"{metric} estimate", text + f": beyond {num(tolerance)}, the relation between "
                        "inputs and outcomes changed (concept drift); the estimate cannot see it.", "metric",
                        "estimate", gap, {"realised": realised, "estimated": estimated})]
    return [Finding("info", f"{metric} estimate", text + ".", "metric", "estimate", gap,
                    {"realised": realised, "estimated": estimated})]
