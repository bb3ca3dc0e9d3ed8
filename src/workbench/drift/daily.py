"""One day of drift over time tested like the week: exact where the day is cheap to read, bounded where not.

A numeric feature tested on values (KS, Wasserstein): each day's size comes from the store's hourly
counts; a day with at most `drift_detection.daily_exact_max_rows` rows (default 200,000) is read and
tested on its own values, so its KS D and verdict are scipy.stats.ks_2samp's (see ks_p_value for the
p-value). A bigger day is tested on its counts over 100 reference-percentile bins (core.fine_bins,
counted per day in the database): its KS D is the largest CDF gap at the bin edges, where both CDFs
are known exactly (binned_ks_bounds), so it is never above the exact D and at most the largest share
of either sample in one bin below it (about 1% of the reference; the grid keeps the upper bound per
cell in `statistic_max`), and such a day is never flagged when the exact test would not flag it.
(Placing each count at its bin's median, as before, biased D upward: +0.001 to +0.008 on real-shaped
data, turning days into drift the exact test does not call.) Wasserstein on a big day is counted over
a big window's bins (drift.histogram.window_edges: the same quantile bins, the reference's tail
quantiles and bounded tail bins beyond its range) and bounded as a big window is: |W - statistic| <=
the error bound, the grid's `statistic_max` being the statistic plus that bound (None when a value lies
beyond the last tail bin: unbounded).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from workbench.drift import methods as dm

NEAR = 2.0  # a p-value within this factor of its threshold is recomputed with scipy's finite-n distribution
EXACT_P_MAX_EN = 5_000  # up to this effective size scipy's finite-n p-value is cheap (a few ms): always used


def binned_ks_bounds(ref_sorted: np.ndarray, edges: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """(low, high) with low <= D <= high for the KS distance D between the reference values and a sample
    known by its counts over `edges` (counts[0] below edges[0], counts[i] in [edges[i-1], edges[i]),
    the last at or above edges[-1]).

    low: max |F_ref - F_cur| just below each edge, where both CDFs are exact; high: the largest gap
    possible inside a bin (F_ref at the bin's top against F_cur at its bottom, and the reverse), so
    high - low <= the largest share of either sample in one bin; a bin [v, next float after v) holds
    one value, so it adds no gap (drift.histogram gives tied reference values such bins)."""
    n1, n2 = len(ref_sorted), int(np.sum(counts))
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    fr = np.r_[0, np.searchsorted(ref_sorted, edges, side="left"), n1] / n1
    fc = np.r_[0, np.cumsum(counts)[:-1], n2] / n2
    low = float(np.max(np.abs(fr - fc)))
    # a bin [v, next float after v) holds the one value v: both CDFs are exact in it, no gap to add
    point = np.r_[False, edges[1:] == np.nextafter(edges[:-1], np.inf), False]
    high = float(max(low, np.max(np.where(point, 0, fr[1:] - fc[:-1])), np.max(np.where(point, 0, fc[1:] - fr[:-1]))))
    return low, high


def ks_p_value(d: float, n_ref: int, n_cur: int, threshold: float) -> float:
    """The two-sided KS p-value of D as scipy.stats.ks_2samp gives it above 10,000 values (kstwo at
    en = round(n m / (n + m))): scipy's own up to EXACT_P_MAX_EN and within a factor NEAR of the
    threshold (the verdict is always scipy's), else the limiting distribution's (~0.1 ms instead of
    50 ms to ~1 s at 100,000s of rows; the two differ by ~1-2% of p there)."""
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    en = m * n / (m + n)
    p = float(np.clip(stats.kstwobign.sf(d * np.sqrt(en)), 0, 1))
    if en <= EXACT_P_MAX_EN or threshold / NEAR <= p <= threshold * NEAR:
        p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return p


def with_ks(r, d: float, binned: bool = False):
    """`r` (a FeatureDriftResult of method 'ks') with KS distance `d`, its p-value (ks_p_value) and the
    verdict decided again (drift.methods.decide): the exact D of a day read in full, or the lower bound
    of a day counted in bins (`binned`)."""
    if r.drifted is None or r.method != "ks":
        return r
    if max(r.n_reference, r.n_current) > dm.KS_EXACT_MAX_N or binned:
        p = ks_p_value(d, r.n_reference, r.n_current, r.threshold)
        res = dm.MethodResult(d, p, effect_size=d)
        r.statistic, r.p_value, r.p_value_raw, r.effect_size = d, p, p, d
        r.drifted, r.message = dm.decide("ks", res, r.threshold, r.min_effect)
        r.status = "drift" if r.drifted else "no drift"
    return r
