"""What prediction cells (sources.base.prediction_cells: counts per version, day, probability grid
cell, outcome and prediction) give beyond the metrics (core.evaluate_cells): the calibration curve,
and how far the grid can move each probability metric from its value on the exact probabilities
(`rounding_bounds`; the derivation in docs/methods.md); of a regression model's residual cells, how far
the bootstrap over their bins can move MAE and RMSE (`residual_bounds`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.config import ModelSpec
from workbench.performance import metrics as wm


def rounding_bounds(cells: pd.DataFrame, spec: ModelSpec, grid: int, bins: int = 10) -> dict[str, float]:
    """How far each probability metric computed from the cells (each probability replaced by the
    midpoint of its grid cell, at most d = 0.5 / grid away) can be from the same metric on the exact
    probabilities, from the cells alone (derivations in docs/methods.md):
    roc_auc: pairs of a positive and a negative in one grid cell may have been ordered, now tied
    (rounding never reverses an order): 0.5 * sum_c pos_c neg_c / (P N).
    pr_auc: only the precision seen by the positives of a cell changes, within the precisions its
    rows could reach inside the cell. brier: per row |(p-y)^2 - (p~-y)^2| <= d |p + p~ - 2y| <= 2d.
    log_loss: per row the loss ranges over the cell [p~ - d, p~ + d] (clipped as the metric clips).
    ece (of `bins` equal bins): the mean probability of a bin moves by <= d; a row whose exact
    probability lies on a bin edge may sit in the neighbouring bin of its cell: 2 / N each."""
    lab = cells[cells["actual_outcome"].notna() & cells["probability"].notna()]
    pos = float(spec.positive_class)
    y = (lab["actual_outcome"].to_numpy(dtype=float) == pos)
    logged = lab["probability"].to_numpy(dtype=float)  # class 1's, as calibration bins it
    p = 1 - logged if pos != 1 else logged
    w = lab["n"].to_numpy(dtype=float)
    d = 0.5 / grid
    n, P = w.sum(), w[y].sum()
    N = n - P
    if n == 0:
        return {}
    out = {"brier": 2 * d}
    lo, hi = np.clip(p - d, wm.LOG_EPS, 1 - wm.LOG_EPS), np.clip(p + d, wm.LOG_EPS, 1 - wm.LOG_EPS)
    mid = np.clip(p, wm.LOG_EPS, 1 - wm.LOG_EPS)
    loss = lambda q: np.where(y, -np.log(q), -np.log(1 - q))  # noqa: E731
    out["log_loss"] = float(np.sum(w * np.maximum(np.abs(loss(mid) - loss(lo)), np.abs(loss(mid) - loss(hi)))) / n)
    per = pd.DataFrame({"p": p, "pos": w * y, "neg": w * ~y}).groupby("p", sort=True)[["pos", "neg"]].sum()
    per = per.iloc[::-1]  # highest score first
    if P > 0 and N > 0:
        out["roc_auc"] = float(0.5 * np.sum(per["pos"] * per["neg"]) / (P * N))
        seen_before = np.r_[0.0, np.cumsum((per["pos"] + per["neg"]).to_numpy())[:-1]]
        tp_before = np.r_[0.0, np.cumsum(per["pos"].to_numpy())[:-1]]
        pc, nc = per["pos"].to_numpy(), (per["pos"] + per["neg"]).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            at_end = (tp_before + pc) / (seen_before + nc)
            low = (tp_before + 1) / (seen_before + nc - pc + 1)
            high = (tp_before + pc) / (seen_before + pc)
        move = np.where(pc > 0, pc * np.maximum(np.abs(at_end - low), np.abs(high - at_end)), 0.0)
        out["pr_auc"] = float(np.nansum(move) / P)
    step = grid // bins if grid % bins == 0 else 0
    cell = np.floor(logged * grid + 1e-9).astype(int)  # the midpoint's cell
    on_edge = (cell % step == 0) & (cell > 0) if step else np.ones(len(p), bool)
    out["ece"] = float(d + 2 * w[on_edge].sum() / n)
    return out


def calibration_cells(cells: pd.DataFrame, bins: int = 10) -> tuple[pd.DataFrame, float]:
    """`calibration` from prediction cells (each probability its grid cell's midpoint; the bound on
    the ECE in rounding_bounds)."""
    lab = cells[cells["actual_outcome"].notna() & cells["probability"].notna()]
    if lab.empty or lab["actual_outcome"].nunique() < 2:
        return pd.DataFrame(columns=["mean_probability", "observed_rate"]), float("nan")
    p, y, n = lab["probability"], lab["actual_outcome"], lab["n"]
    true, pred = wm.reliability_curve(p, y, bins, counts=n)
    ece = wm.expected_calibration_error(p, y, bins, counts=n)
    return pd.DataFrame({"mean_probability": pred, "observed_rate": true}), ece


def residual_bounds(binned: pd.DataFrame) -> dict[str, float]:
    """How far a regression bootstrap resample's MAE and RMSE from the bins of `binned` (residual cells
    on residual_cells.residual_widths' bins; each resampled row carries its bin's mean |e| and mean e²) can be
    from the row bootstrap's with the same counts per bin (its rows drawn inside each bin): at most the
    widest spread max |e| - min |e| of a bin, for both (docs/methods.md), and so can the interval's
    endpoints. MAPE and R² have no such bound (the outcome varies inside a bin)."""
    lab = binned[binned["status"] == 1]
    if lab.empty:
        return {}
    g = lab.groupby(["error_bin", "outcome_bin"]).agg(lo=("min_abs_error", "min"), hi=("max_abs_error", "max"))
    spread = float((g["hi"] - g["lo"]).max())
    return {"mae": spread, "rmse": spread}
