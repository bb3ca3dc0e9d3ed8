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

ESTIMATED = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass
class CBPE:
    """fit(probabilities, outcomes) on labelled history; estimate(probabilities, predictions)."""

    threshold: float = 0.5

    def fit(self, prob, y) -> "CBPE":
        prob, y = np.asarray(prob, float), np.asarray(y, float)
        if len(np.unique(y)) < 2:
            raise ValueError("CBPE needs both classes among the labelled history to calibrate")
        self.x_, self.y_ = isotonic_fit(prob, y)
        self.n_fit_ = len(y)
        return self

    def calibrated(self, prob) -> np.ndarray:
        # linear between the fitted points, clipped beyond them (sklearn's out_of_bounds="clip")
        return np.interp(np.asarray(prob, float), self.x_, self.y_)

    def estimate(self, prob, yhat=None) -> dict[str, float]:
        """Expected metrics of predictions whose outcomes are unknown."""
        prob = np.asarray(prob, float)
        yhat = (prob >= self.threshold).astype(float) if yhat is None else np.asarray(yhat, float)
        c = self.calibrated(prob)
        counts = {"tp": np.array([np.sum(c * yhat)]), "fp": np.array([np.sum((1 - c) * yhat)]),
                  "fn": np.array([np.sum(c * (1 - yhat))]), "tn": np.array([np.sum((1 - c) * (1 - yhat))])}
        out = {k: float(v[0]) for k, v in wm.from_confusion(**counts).items() if k in ESTIMATED}
        out["roc_auc"] = expected_roc_auc(prob, c)
        return out


def isotonic_fit(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The increasing isotonic regression of y on x, as sklearn.isotonic.IsotonicRegression fits it
    (tied x pooled into their weighted mean, then pool-adjacent-violators, bounded to [0, 1]): the
    distinct x and their fitted values, to interpolate between. scipy.optimize's solver, not
    scikit-learn's estimator, because importing scikit-learn cost a kernel ~2 s."""
    from scipy.optimize import isotonic_regression

    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x, kind="mergesort")
    xs, ys = x[order], y[order]
    starts = np.r_[0, np.flatnonzero(xs[1:] != xs[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(xs)]).astype(float)
    means = np.add.reduceat(ys, starts) / counts
    fitted = isotonic_regression(means, weights=counts, increasing=True).x
    return xs[starts], np.clip(fitted, 0.0, 1.0)


def expected_roc_auc(score, calibrated) -> float:
    """ROC AUC of the expected ROC curve: each prediction counts as `calibrated` positive and
    1 - `calibrated` negative."""
    order = np.argsort(-np.asarray(score, float), kind="mergesort")
    s = np.asarray(score, float)[order]
    c = np.asarray(calibrated, float)[order]
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    P = np.add.reduceat(c, starts)
    N = np.add.reduceat(1 - c, starts)
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
