"""Classification and regression metrics as functions of row weights, and the bootstrap built on them.

Every metric here takes a weight matrix W (resamples x rows): row weights of 1 give the plain
metric (equal to scikit-learn's), the counts of a bootstrap resample give that resample's metric
(equal to scikit-learn's with `sample_weight`). Computing whole batches of resamples as matrix
products makes a 1,000-resample bootstrap of 100,000 predictions take seconds, not minutes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

LOG_EPS = np.finfo(np.float64).eps
ERROR_METRICS = {"log_loss", "brier", "mae", "rmse", "mape", "ece"}  # lower is better


def _div(a: np.ndarray, b: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """a / b with `empty` where b == 0 (scikit-learn's zero_division)."""
    out = np.full(np.broadcast(a, b).shape, empty, dtype=float)
    np.divide(a, b, out=out, where=b != 0)
    return out


def confusion(y: np.ndarray, yhat: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted confusion counts of a binary classifier (positive class 1), one per row of W."""
    pos, pred = (y == 1).astype(float), (yhat == 1).astype(float)
    return {"tp": W @ (pos * pred), "fp": W @ ((1 - pos) * pred), "fn": W @ (pos * (1 - pred)),
            "tn": W @ ((1 - pos) * (1 - pred))}


def from_confusion(tp, fp, fn, tn) -> dict[str, np.ndarray]:
    """Accuracy, per-class and support-weighted precision/recall/F1 (the guide's 'weighted')."""
    n = tp + fp + fn + tn
    p1, r1 = _div(tp, tp + fp), _div(tp, tp + fn)
    p0, r0 = _div(tn, tn + fn), _div(tn, tn + fp)
    f1_1, f1_0 = _div(2 * p1 * r1, p1 + r1), _div(2 * p0 * r0, p0 + r0)
    s1, s0 = tp + fn, tn + fp
    return {
        "accuracy": _div(tp + tn, n, np.nan),
        "precision": _div(s1 * p1 + s0 * p0, n, np.nan),
        "recall": _div(s1 * r1 + s0 * r0, n, np.nan),
        "f1": _div(s1 * f1_1 + s0 * f1_0, n, np.nan),
        "precision_1": p1, "recall_1": r1, "f1_1": f1_1,
        "precision_0": p0, "recall_0": r0, "f1_0": f1_0,
    }


def ranking_order(score: np.ndarray, y: np.ndarray, *then: np.ndarray) -> np.ndarray:
    """The row order the curves take: highest score first and, among tied scores, negatives before
    positives (the order `_curves` reads ties from); rows tied on both are ordered by `then`."""
    return np.lexsort((*reversed(then), np.asarray(y) == 1, -np.asarray(score, float)))


def _in_ranking_order(score: np.ndarray, pos: np.ndarray) -> bool:
    if len(score) < 2:
        return True
    higher, tied = score[:-1] > score[1:], score[:-1] == score[1:]
    return bool(np.all(higher | (tied & (pos[:-1] <= pos[1:]))))


def _ties(score: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where tied scores need care, for columns in ranking order: the columns of groups of tied scores
    holding both classes (and where each such group starts among them), and the positive columns
    that are not the last of their group (with that last column)."""
    k = len(score)
    new = np.ones(k, bool)
    new[1:] = score[1:] != score[:-1]
    gid = np.cumsum(new) - 1
    last = np.r_[np.flatnonzero(new)[1:], k] - 1  # last column of each group
    n_pos = np.bincount(gid, weights=pos, minlength=len(last))
    n_all = np.bincount(gid, minlength=len(last))
    mixed = np.flatnonzero(((n_pos > 0) & (n_pos < n_all))[gid])
    starts = np.flatnonzero(np.r_[True, gid[mixed][1:] != gid[mixed][:-1]]) if len(mixed) else mixed
    inner = np.flatnonzero(pos & (np.arange(k) != last[gid]))
    return mixed, starts, inner, last[gid[inner]]


def _curves(score: np.ndarray, y: np.ndarray, W: np.ndarray, auc: bool = True, ap: bool = True
            ) -> dict[str, np.ndarray]:
    """ROC AUC (ties count half) and average precision (scikit-learn's: one threshold per distinct
    score) for each row of W, whose columns are in `ranking_order` (others are sorted first).

    One cumulative sum of positives serves both: a negative column, placed before the positives
    of its tied score, counts the positives ranked strictly above it; a positive column, placed
    last, sees the precision of its whole tie. Only groups of tied scores holding both classes
    (and several positive columns of one score) are corrected, on those columns alone, so no
    pass merges ties over the whole r x n matrix."""
    score = np.asarray(score, float)
    pos = np.asarray(y) == 1
    if not _in_ranking_order(score, pos):
        order = ranking_order(score, pos)
        score, pos, W = score[order], pos[order], W[:, order]
    mixed, starts, inner, inner_last = _ties(score, pos)
    out = {}
    P = W * pos
    tp = np.cumsum(P, axis=1)
    p_tot = tp[:, -1].copy() if tp.shape[1] else np.zeros(len(W))
    if auc:  # sum over negatives of N_k * (positives ranked above k + half the positives tied with k)
        N = W - P
        num = np.einsum("ij,ij->i", N, tp)
        if len(mixed):
            Wm = W[:, mixed]
            Pm = Wm * pos[mixed]
            num += 0.5 * np.einsum("ij,ij->i", np.add.reduceat(Pm, starts, axis=1),
                                   np.add.reduceat(Wm - Pm, starts, axis=1))
        out["roc_auc"] = _div(num, p_tot * (W.sum(axis=1) - p_tot), np.nan)
    if ap:  # sum over positives of P_k * precision at k's score; where P_k > 0 the cumulative weight is > 0
        seen = np.cumsum(W, axis=1)
        np.maximum(seen, np.finfo(np.float64).tiny, out=seen)
        precision = np.divide(tp, seen, out=seen)
        num = np.einsum("ij,ij->i", P, precision)
        if len(inner):
            num += np.einsum("ij,ij->i", P[:, inner], precision[:, inner_last] - precision[:, inner])
        out["pr_auc"] = _div(num, p_tot, np.nan)
    return out


def roc_auc(score: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """ROC AUC (ties count half), NaN where a resample holds one class only."""
    return _curves(score, y, W, ap=False)["roc_auc"]


def average_precision(score: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """PR AUC as scikit-learn's average_precision_score: sum of (R_k - R_k-1) * P_k."""
    return _curves(score, y, W, auc=False)["pr_auc"]


def log_loss(prob: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    p = np.clip(prob, LOG_EPS, 1 - LOG_EPS)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return _div(W @ losses, W.sum(axis=1), np.nan)


def brier(prob: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    return _div(W @ (prob - y) ** 2, W.sum(axis=1), np.nan)


def classification(y, yhat, prob, W: np.ndarray) -> dict[str, np.ndarray]:
    """Every binary metric for each row of W (prob may be None: probability metrics are left out).
    The sums linear in the weights (confusion counts, log loss, Brier) come from one product of W."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    pos, pred = (y == 1).astype(float), (yhat == 1).astype(float)
    cols = [pos * pred, (1 - pos) * pred, pos * (1 - pred), (1 - pos) * (1 - pred)]
    if prob is not None:
        prob = np.asarray(prob, float)
        p = np.clip(prob, LOG_EPS, 1 - LOG_EPS)
        cols += [-(y * np.log(p) + (1 - y) * np.log(1 - p)), (prob - y) ** 2]
    sums = W @ np.column_stack(cols)
    tp, fp, fn, tn = sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3]
    out = from_confusion(tp, fp, fn, tn)
    if prob is not None:
        n = tp + fp + fn + tn
        out.update(_curves(prob, y, W))  # one ranking for both curves
        out["log_loss"] = _div(sums[:, 4], n, np.nan)
        out["brier"] = _div(sums[:, 5], n, np.nan)
    return out


def regression(y, yhat, W: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, RMSE, MAPE over non-zero actuals, R², for each row of W."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    e = y - yhat
    sw = W.sum(axis=1)
    mean_y = _div(W @ y, sw, np.nan)
    ss_tot = np.sum(W * (y[None, :] - mean_y[:, None]) ** 2, axis=1)
    nz = y != 0
    ape = np.where(nz, np.abs(e) / np.where(nz, np.abs(y), 1.0), 0.0)
    return {
        "mae": _div(W @ np.abs(e), sw, np.nan),
        "rmse": np.sqrt(_div(W @ e**2, sw, np.nan)),
        "mape": _div(W @ ape, W @ nz.astype(float), np.nan),
        "r2": 1 - _div(W @ e**2, ss_tot, np.nan),  # NaN when the actuals are constant
    }


def regression_cells(n, sum_abs_error, sum_sq_error, sum_ape, n_nonzero, sum_outcome, sum_sq_outcome,
                     W: np.ndarray) -> dict[str, np.ndarray]:
    """`regression` from residual cells (sources.base.residual_cells: per cell its `n` rows and their
    sums) for each row of W, counts per cell: a cell counted m times stands for m rows each carrying
    the cell's mean |e|, e², |e|/|y|, y and y². With W = the cells' own counts these are the exact
    metrics of the rows (sums are sums); for a bootstrap resample they are the cell-mean approximation
    whose error docs/methods.md bounds (residual cells)."""
    n = np.asarray(n, float)
    per = lambda s: W @ (np.asarray(s, float) / n)  # noqa: E731 - resampled rows x the cell's mean
    sw = W.sum(axis=1)
    sse = per(sum_sq_error)
    mean_y = _div(per(sum_outcome), sw, np.nan)
    ss_tot = per(sum_sq_outcome) - sw * mean_y**2
    return {
        "mae": _div(per(sum_abs_error), sw, np.nan),
        "rmse": np.sqrt(_div(sse, sw, np.nan)),
        "mape": _div(per(sum_ape), per(n_nonzero), np.nan),
        "r2": 1 - _div(sse, ss_tot, np.nan),
    }


def _calibration_bins(prob, y, bins: int, counts=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin (binned as sklearn.calibration.calibration_curve bins them): count,
    summed probability and summed outcome (`counts`: how many rows each value stands for)."""
    prob, y = np.asarray(prob, float), np.asarray(y, float)
    w = np.ones(len(prob)) if counts is None else np.asarray(counts, float)
    idx = np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], prob)
    return (np.bincount(idx, weights=w, minlength=bins), np.bincount(idx, weights=w * prob, minlength=bins),
            np.bincount(idx, weights=w * y, minlength=bins))


def reliability_curve(prob, y, bins: int = 10, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """Observed rate and mean predicted probability of each non-empty bin: what
    sklearn.calibration.calibration_curve returns, without importing scikit-learn into the kernel."""
    n, conf, obs = _calibration_bins(prob, y, bins, counts)
    keep = n > 0
    return obs[keep] / n[keep], conf[keep] / n[keep]


def expected_calibration_error(prob, y, bins: int = 10, counts=None) -> float:
    """ECE: share-weighted |observed rate - mean predicted probability| over equal-width bins."""
    n, conf, obs = _calibration_bins(prob, y, bins, counts)
    keep = n > 0
    return float(np.sum(np.abs(obs[keep] - conf[keep])) / max(int(n.sum()), 1))


# With cells, a resample's per-cell counts are drawn as one multinomial over the cells (numpy draws
# it as one binomial per cell) when there are at most this share of cells per row; else as n row
# indices counted per cell. Both are the same bootstrap: n rows drawn with replacement, counted per
# cell (Multinomial(n, cell sizes / n)). Per resample the multinomial costs ~25 ns per cell, the
# indices ~16 ns per row (measured; the break-even is near one cell per 5 rows).
MULTINOMIAL_CELL_SHARE = 1 / 8


def multinomial_counts(cells: np.ndarray | None, n: int) -> np.ndarray | None:
    """The cell sizes when `draws` takes the multinomial path for these `cells` (see
    MULTINOMIAL_CELL_SHARE), else None."""
    if cells is None or n == 0:
        return None
    sizes = np.bincount(cells)
    return sizes if len(sizes) <= MULTINOMIAL_CELL_SHARE * n else None


def resample_weights(rng: np.random.Generator, r: int, n: int, cells: np.ndarray | None = None,
                     sizes: np.ndarray | None = None) -> np.ndarray:
    """r bootstrap resamples of n rows, as row-count weights (r x n); with `cells` (each row's cell,
    see `cells_of`), the same draws counted per cell (r x number of cells); with the cells' `sizes`
    too, those counts drawn directly as a multinomial over the cells (the same distribution, in
    work per cell instead of per row)."""
    if sizes is not None:
        return rng.multinomial(n, sizes / n, size=r).astype(float)
    idx = rng.integers(0, n, size=(r, n))
    k = n if cells is None else int(cells.max()) + 1 if len(cells) else 0
    W = np.empty((r, k))
    for i in range(r):  # one resample at a time: its counters stay in cache (5x faster than one r*n bincount)
        W[i] = np.bincount(idx[i] if cells is None else cells[idx[i]], minlength=k)
    return W


def cells_of(*columns: np.ndarray, always: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
    """Rows that agree on every column (e.g. probability, outcome, prediction) as cells: each row's
    cell, and the first row of each cell in row order. A metric of count weights is a sum over rows,
    so rows of one cell can share a weight: a resample's metric from its per-cell counts equals the
    metric from its per-row counts. (None, all rows) when grouping would not halve the rows, unless
    `always` (the curves want cells even then: ties of one class in one column each).
    Cells follow the row order (rows sorted by score stay sorted)."""
    n = len(columns[0])
    if n == 0:
        return None, np.arange(0)
    keys = [np.asarray(c) for c in columns]
    order = np.lexsort(keys[::-1])  # the first column is the primary key
    new = np.ones(n, bool)
    new[1:] = np.any([k[order][1:] != k[order][:-1] for k in keys], axis=0)
    k = int(new.sum())
    if k > n // 2 and not always:
        return None, np.arange(n)
    cell_sorted = np.cumsum(new) - 1
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, cell_sorted, order)
    # renumber the cells in the order of their first row, so cell order keeps the row order
    rank = np.empty(k, np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(k)
    cells = np.empty(n, np.int64)
    cells[order] = rank[cell_sorted]
    return cells, np.sort(first)


def draws(compute: Callable[[np.ndarray], dict[str, np.ndarray]], n: int, resamples: int = 1000, seed: int = 0,
          max_cells: int = 4_000_000, cells: np.ndarray | None = None, counts: np.ndarray | None = None
          ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Every metric `compute` returns on the sample itself and on each of `resamples` bootstrap
    resamples (n rows drawn with replacement, as row-count weights, in batches of at most
    `max_cells` draws). With `cells` (cells_of), `compute` gets the counts per cell instead of per
    row: the same resamples, the same metrics, in less work when many rows share a cell; with few
    cells per row the counts are drawn as a multinomial over the cells (MULTINOMIAL_CELL_SHARE): the
    same bootstrap, other random draws. With `counts` (rows already grouped into cells, e.g. counted
    by the database: the size of each cell, n their sum), the resamples are drawn as that multinomial."""
    if counts is not None:
        ones = np.asarray(counts, float)[None, :]
    else:
        ones = np.ones((1, n)) if cells is None else np.bincount(cells, minlength=int(cells.max()) + 1)[None, :].astype(float)
    point = {k: float(v[0]) for k, v in compute(ones).items()}
    if resamples <= 0 or n == 0:
        return point, {}
    rng = np.random.default_rng(seed)
    sizes = np.asarray(counts, float) if counts is not None else multinomial_counts(cells, n)
    width = n if sizes is None else len(sizes)  # a batch draws r x n indices, or r x cells counts
    batch = max(1, min(resamples, max_cells // max(width, 1)))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in point}
    done = 0
    while done < resamples:
        r = min(batch, resamples - done)
        for k, v in compute(resample_weights(rng, r, n, cells, sizes)).items():
            parts[k].append(v)
        done += r
    return point, {k: np.concatenate(v) for k, v in parts.items()}


def bootstrap(compute: Callable[[np.ndarray], dict[str, np.ndarray]], n: int, resamples: int = 1000, seed: int = 0,
              level: float = 0.95, max_cells: int = 4_000_000, cells: np.ndarray | None = None,
              counts: np.ndarray | None = None) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Point estimates and percentile bootstrap intervals of every metric `compute` returns (the
    resamples of `draws`). Resamples where a metric is undefined (e.g. one class) are left out of
    its interval.
    """
    point, drawn = draws(compute, n, resamples, seed, max_cells, cells, counts)
    if not drawn:
        return point, {k: (np.nan, np.nan) for k in point}
    alpha = (1 - level) / 2
    ci = {}
    for k, v in drawn.items():
        v = v[np.isfinite(v)]
        ci[k] = (float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))) if len(v) else (np.nan, np.nan)
    return point, ci
