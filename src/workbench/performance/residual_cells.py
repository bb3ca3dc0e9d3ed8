"""A regression model's review from residual cells the engine counts (sources.base.residual_cells):
MAE, RMSE, MAPE and R² exact from the cells' sums, intervals from a multinomial bootstrap over bins
of |e| and of the outcome (metrics.regression_cells; the bound on MAE's and RMSE's endpoints in
performance.cells.residual_bounds, the derivation in docs/methods.md). core.evaluate_cells (and so
by_version_cells and trend_cells) use it for a regression model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workbench.performance import metrics as wm

METRICS = ("mae", "rmse", "mape", "r2")  # core.REGRESSION_METRICS, as metrics.regression_cells names them

# the bins of a regression window's bootstrap (residual_widths): |e| on edges RMSE / RESIDUAL_BINS apart, the
# outcome on edges std / OUTCOME_BINS apart (docs/methods.md: what the bins bound)
RESIDUAL_BINS = 100
OUTCOME_BINS = 4
RESIDUAL_SUMS = ("n", "sum_abs_error", "sum_sq_error", "sum_ape", "n_nonzero", "sum_outcome", "sum_sq_outcome")


def residual_widths(cells: pd.DataFrame) -> tuple[float | None, float | None]:
    """(error_width, outcome_width) for residual_cells: the labelled rows' RMSE / RESIDUAL_BINS and
    outcome standard deviation / OUTCOME_BINS, from the unbinned cells' sums (None where it is 0)."""
    lab = cells[cells["status"] == 1]
    n = float(lab["n"].sum())
    if n == 0:
        return None, None
    rmse = math.sqrt(float(lab["sum_sq_error"].sum()) / n)
    var = float(lab["sum_sq_outcome"].sum()) / n - (float(lab["sum_outcome"].sum()) / n) ** 2
    std = math.sqrt(var) if var > 0 else 0.0
    return (rmse / RESIDUAL_BINS or None), (std / OUTCOME_BINS or None)


def residual_metrics(cells: pd.DataFrame, min_samples: int = 10, resamples: int = 0, seed: int = 0,
                     binned: pd.DataFrame | None = None) -> tuple[dict, dict, dict, int, int]:
    """(values, notes, intervals, predictions, labelled) of a regression model from its residual cells
    (valid ones: see core.review), as core.regression_metrics gives them from rows. MAE, RMSE, MAPE
    and R² are exact: functions of the cells' sums (up to the order of floating-point addition, and
    R²'s sum of squares as Σy² - (Σy)²/n). Intervals (with `binned`, the window's cells on
    residual_widths' bins, and `resamples` > 0): a multinomial bootstrap over the bins, each resampled
    row carrying its bin's means (metrics.regression_cells; the bound in docs/methods.md)."""
    lab = cells[cells["status"] == 1]
    n, n_predictions = int(lab["n"].sum()), int(cells["n"].sum())
    values: dict[str, float | None] = dict.fromkeys(METRICS)
    if n < min_samples:
        notes = {k: f"insufficient data: {n} labelled predictions, need {min_samples}" for k in values}
        return values, notes, {}, n_predictions, n
    t = {k: float(lab[k].sum()) for k in RESIDUAL_SUMS}
    ss_tot = t["sum_sq_outcome"] - t["sum_outcome"] ** 2 / n
    constant = float(lab["min_outcome"].min()) == float(lab["max_outcome"].max())
    values.update({"mae": t["sum_abs_error"] / n, "rmse": math.sqrt(t["sum_sq_error"] / n),
                   "mape": t["sum_ape"] / t["n_nonzero"] if t["n_nonzero"] else None,
                   "r2": None if constant or ss_tot <= 0 else 1 - t["sum_sq_error"] / ss_tot})
    values = {k: float(v) if v is not None and np.isfinite(v) else None for k, v in values.items()}
    notes: dict[str, str] = {}
    nonzero = int(t["n_nonzero"])
    if not nonzero:
        notes["mape"] = "undefined: every actual is zero"
    elif nonzero < n:
        notes["mape"] = f"over the {nonzero} non-zero actuals ({n - nonzero} zero actuals left out)"
    if values["r2"] is None:
        notes["r2"] = "undefined: actuals are constant"
    ci = {k: (np.nan, np.nan) for k in values}
    if binned is not None and resamples > 0:
        b = binned[binned["status"] == 1].groupby(["error_bin", "outcome_bin"], sort=True)[list(RESIDUAL_SUMS)].sum()
        cols = {k: b[k].to_numpy(dtype=float) for k in RESIDUAL_SUMS}
        ci.update(wm.bootstrap(lambda W: wm.regression_cells(**cols, W=W), n, resamples, seed, counts=cols["n"])[1])
        if values["r2"] is None:
            ci["r2"] = (np.nan, np.nan)
    return values, notes, ci, n_predictions, n
