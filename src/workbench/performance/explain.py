"""What the performance report's numbers are, in words, and the tables that say it.

The guide's precision, recall and F1 are *weighted* averages over both classes (weights = each
class's share of the outcomes): with two classes weighted recall equals accuracy, which reads like
a bug unless the report says so. A team usually cares about the positive class (the model's
`positive_class`, named by its `positive_label` in params/weekly.yaml): of the predictions of it,
how many were right (precision), and of its outcomes, how many were predicted (recall). Both are
shown, each named; no domain word is assumed. The label base rate (share of positive outcomes) of the window
against the reference says whether the population's outcomes moved: a shifted base rate changes
precision, PR AUC and accuracy without the model changing, so it is flagged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from workbench import config

# a base rate that moved by this much (absolute, in share of outcomes) against the reference is flagged
# the default of params `performance.base_rate_tolerance` (the same rule as the base-rate finding)
BASE_RATE_SHIFT = config.default_of(config.PerformanceParams, "base_rate_tolerance")

DEFINITIONS = {
    "classification": [
        ("accuracy", "share of labelled predictions that were right"),
        ("precision, recall, F1 (weighted)", "the monitoring guide's definitions: each class's value averaged with "
         "the class's share of the outcomes as weight; with two classes weighted recall equals accuracy"),
        ("precision, recall, F1 (positive class)", "for the positive class only, {positive}: precision = the "
         "share of its predictions whose outcome was {positive}; recall = the share of its outcomes that were "
         "predicted"),
        ("ROC AUC, PR AUC", "ranking quality of the probabilities; PR AUC depends on the base rate"),
        ("log loss, Brier", "error of the probabilities (lower is better)"),
    ],
    "regression": [
        ("MAE", "mean absolute error, in the target's unit"),
        ("RMSE", "root mean squared error, in the target's unit; weighs large errors more"),
        ("MAPE", "mean absolute percentage error: 8% means the prediction is off by 8% of the actual value on average"),
        ("R²", "share of the target's variance explained (1 is perfect, 0 is no better than the mean)"),
    ],
}


def positive_name(spec: Any) -> str:
    """The positive class in words from the model's params: 'employed (class 1)' with a positive_label,
    else 'class 1'."""
    value = getattr(spec, "positive_class", 1)
    label = getattr(spec, "positive_label", None)
    return f"{label} (class {value})" if label else f"class {value}"


def definitions_html(kind: str, positive: str = "class 1") -> Any:
    """A short list saying what each headline metric is (`positive`: the positive class in words, positive_name)."""
    from IPython.display import HTML

    from workbench.pages import render_snippet

    return HTML(render_snippet("definitions", [(k, v.replace("{positive}", positive)) for k, v in DEFINITIONS.get(kind, [])]))


def positive_class(summary: Any, positive_label: str = "class 1") -> pd.DataFrame:
    """Weighted and positive-class precision, recall and F1 side by side, with 95% intervals
    (`positive_label`: the positive class in words, positive_name)."""
    rows = []
    for m in ("precision", "recall", "f1"):
        for key, which in ((m, "weighted (guide)"), (f"{m}_1", f"positive class: {positive_label}")):
            v = summary.metrics.get(key)
            lo, hi = summary.ci.get(key, (np.nan, np.nan))
            rows.append({"metric": "F1" if m == "f1" else m, "average": which, "value": v, "ci_low": lo,
                         "ci_high": hi, "note": summary.notes.get(key, "")})
    return pd.DataFrame(rows)


def base_rate(window_predictions: pd.DataFrame, reference: pd.DataFrame | None = None,
              history: pd.DataFrame | None = None, target: str = "target",
              shift: float = BASE_RATE_SHIFT) -> pd.DataFrame:
    """Share of positive outcomes among the labelled predictions of the window, the weeks before it
    and the reference (training) data, each with its count and its change against the first row (a
    difference of shares, in percentage points once shown); flagged when the window moved by `shift` or more."""
    def rate(s: pd.Series) -> tuple[float, int]:
        s = pd.to_numeric(s, errors="coerce").dropna()
        return (float((s == 1).mean()) if len(s) else math.nan), int(len(s))

    rows = []
    if reference is not None and target in getattr(reference, "columns", []):
        r, n = rate(reference[target])
        rows.append({"data": "reference (training)", "base_rate": r, "outcomes": n})
    if history is not None and "actual_outcome" in history:
        r, n = rate(history["actual_outcome"])
        rows.append({"data": "weeks before the window", "base_rate": r, "outcomes": n})
    w, n = rate(window_predictions["actual_outcome"])
    rows.append({"data": "this window", "base_rate": w, "outcomes": n})
    out = pd.DataFrame(rows)
    ref = out["base_rate"].iloc[0] if len(out) > 1 else math.nan
    change = out["base_rate"] - ref
    out["flag"] = ["shifted" if (d == "this window" and np.isfinite(c) and abs(c) >= shift) else ""
                   for d, c in zip(out["data"], change)]
    change.iloc[0] = np.nan
    # a difference of two rates: kind "points" (performance.columns), shown as "+0.5 pp" like the findings
    out.insert(3, "base rate change", change)
    if history is not None and "actual_outcome" in history:  # the base-rate finding's own comparison
        from workbench.performance.core import base_rate_test

        w_out = pd.to_numeric(window_predictions["actual_outcome"], errors="coerce").dropna()
        h_out = pd.to_numeric(history["actual_outcome"], errors="coerce").dropna()
        if len(w_out) and len(h_out):
            pw, ph, p = base_rate_test(w_out, h_out)
            last = out["data"] == "this window"
            out.loc[last, "change vs weeks before"] = pw - ph
            out.loc[last, "p-value vs weeks before"] = p
    return out


def base_rate_sentence(frame: pd.DataFrame, shift: float = BASE_RATE_SHIFT) -> str:
    """One sentence on the base rate of the window against the first row (the reference); a change of
    `shift` or more (params `performance.base_rate_tolerance`) is called a shift."""
    from workbench import tables
    from workbench.findings import pp

    win = frame[frame["data"] == "this window"].iloc[0]
    if len(frame) < 2 or not np.isfinite(win["base_rate"]):
        return f"Label base rate this window: {tables.percent(win['base_rate'])} ({tables.count(win['outcomes'])} outcomes)."
    ref = frame.iloc[0]
    change = win["base_rate"] - ref["base_rate"]
    verdict = (f"shifted by {pp(change)}: precision, PR AUC and accuracy move with it even "
               "when the model is unchanged" if abs(change) >= shift else
               f"{pp(change)}, within {pp(shift, 0).lstrip('+')} of it")
    return (f"Label base rate (share of positive outcomes) this window: {tables.percent(win['base_rate'])} of "
            f"{tables.count(win['outcomes'])} labelled predictions, against {tables.percent(ref['base_rate'])} in the "
            f"{ref['data']}: {verdict}.")


def variants(window_predictions: pd.DataFrame) -> pd.DataFrame:
    """Predictions and labelled outcomes per model version and A/B variant in the window."""
    df = window_predictions
    keys = [k for k in ("variant", "model_version") if k in df.columns]
    if not keys:
        return pd.DataFrame()
    g = df.groupby(keys, dropna=False)
    out = pd.DataFrame({"predictions": g.size(), "labelled": g["actual_outcome"].count()}).reset_index()
    out["share_of_traffic"] = out["predictions"] / out["predictions"].sum()
    return out
