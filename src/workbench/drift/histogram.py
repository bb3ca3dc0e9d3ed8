"""KS and Wasserstein of a window too big to read, from counts the engine makes, each with its error bound.

A window with more rows than `drift_detection.exact_max_rows` has its KS / Wasserstein features counted
in one GROUP BY over `window_edges(ref)`: the 100 reference-quantile bins of drift over time
(fine_bins, here), closed at the reference minimum and just above its maximum, and LADDER bins of
doubling width on each side of the reference range (values outside it). Memory is then flat in rows:
the window is ~140 counts, the reference stays the profile it already is.

What is proved (docs/methods.md, "Big windows: statistics from counts", has the derivation):

- KS: both empirical CDFs are known exactly just below every edge; between two edges each one moves by
  at most its share of the bin. So D_low <= D <= D_high <= D_low + max_j max(p_j, q_j) (p_j, q_j: the
  reference's and the window's share of bin j). D_low is the statistic (never above the exact D, so a
  window is never flagged that the exact test would not flag); D_high - D_low is its error bound.
- Wasserstein-1 = the integral of |F - G|. Inside bin j the window's CDF G is monotone between its
  known values g_a (at the bin's bottom) and g_b (at its top), F is the reference's own, so pointwise
  dist(F, [g_a, g_b]) <= |F - G| <= max(F - g_a, g_b - F): integrated, W_low <= W1 <= W_high, and
  W_high - W_low <= sum_j q_j * width_j. The statistic is W1 with each count at its bin's
  representative (the reference median inside the bin; a tail bin's middle), which obeys the same
  constraints, so |W1 - estimate| <= max(estimate - W_low, W_high - estimate). The open bin beyond
  the last tail bin on either side has no width: a count there makes the bound infinite (reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.drift.profile import sorted_quantile

LADDER = 16  # tail bins each side of the reference range, widths doubling from 1% of the range
TAIL_LEVELS = np.array([1e-3, 1e-4, 1e-5])  # extra reference quantiles at each end (and 1 - these)


FINE_BINS = 100


def fine_bins(ref) -> tuple[np.ndarray, np.ndarray]:
    """Edges of 100 reference-quantile bins and, per bin, the median of the reference values in it.

    A day of drift over time too big to read (daily_exact_max_rows) is counted over these bins in
    the database and tested on the counts: KS bounded at the edges, Wasserstein with each count at its
    bin's representative (see drift.daily; smaller days are tested on their values)."""
    sv = ref.sorted_values
    edges = np.unique(sorted_quantile(sv, np.linspace(0, 1, FINE_BINS + 1)[1:-1]))
    reps = bin_medians(sv, edges)
    empty = np.flatnonzero(np.isnan(reps))
    reps[empty] = np.where(empty > 0, edges[np.maximum(empty - 1, 0)], sv[0])
    return edges, np.maximum.accumulate(reps)


def bin_medians(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per bin of `edges` (below the first, [edges[i-1], edges[i]), from the last up), the median
    (lower middle) of the sorted values in it; NaN for a bin without any."""
    cuts = np.r_[0, np.searchsorted(sorted_values, edges, side="left"), len(sorted_values)]
    lo, hi = cuts[:-1], cuts[1:]
    out = np.full(len(lo), np.nan)
    full = hi > lo
    out[full] = sorted_values[(lo[full] + hi[full] - 1) // 2]
    return out



def window_edges(ref) -> tuple[np.ndarray, np.ndarray]:
    """The edges a big window is counted over, and each bin's representative (len(edges) + 1 bins:
    below the first edge, [edges[i-1], edges[i]), from the last edge up)."""
    sv = ref.sorted_values
    lo, hi = float(sv[0]), float(sv[-1])
    step = (hi - lo) / FINE_BINS or max(abs(lo), 1.0) / FINE_BINS
    ladder = step * 2.0 ** np.arange(LADDER)
    top = np.nextafter(hi, np.inf)
    fine = fine_bins(ref)[0]
    # the reference's own tails in finer steps (its outermost 1% spans most of a heavy tail's range)
    tails = sorted_quantile(sv, np.r_[TAIL_LEVELS, 1 - TAIL_LEVELS])
    # a tied reference value (a discrete feature's atom) gets a bin of its own, [v, next float): the
    # CDFs are then known exactly there and a count in it sits exactly at v (no error)
    left, right = np.searchsorted(sv, fine, side="left"), np.searchsorted(sv, fine, side="right")
    atoms = fine[right - left > 1]
    edges = np.unique(np.r_[lo - ladder[::-1], lo, fine, tails, atoms, np.nextafter(atoms, np.inf), top, top + ladder])
    reps = bin_medians(sv, edges)
    mids = np.r_[edges[0], (edges[:-1] + edges[1:]) / 2, edges[-1]]  # the open end bins: their finite edge
    return edges, np.where(np.isnan(reps), mids, reps)


@dataclass(frozen=True)
class WindowHistogram:
    """A numeric feature of a window known by its counts over `edges` (finite values only)."""

    edges: np.ndarray
    reps: np.ndarray
    counts: np.ndarray

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def out_of_range(self, ref) -> int:
        """Values below the reference minimum or above its maximum."""
        below = int(np.searchsorted(self.edges, ref.sorted_values[0]))  # bins 0..below end at the minimum
        above = int(np.searchsorted(self.edges, np.nextafter(ref.sorted_values[-1], np.inf)))
        return int(self.counts[:below + 1].sum() + self.counts[above + 1:].sum())

    def ks_bounds(self, ref) -> tuple[float, float]:
        """(D_low, D_high) around the exact two-sample KS distance (drift.daily.binned_ks_bounds)."""
        from workbench.drift.daily import binned_ks_bounds

        return binned_ks_bounds(ref.sorted_values, self.edges, self.counts)

    def wasserstein(self, ref) -> tuple[float, float, float]:
        """(estimate, W_low, W_high) of the raw Wasserstein-1 distance (not normalised)."""
        sv, e, c = ref.sorted_values, self.edges, self.counts
        n1, n2 = len(sv), self.n
        keep = c > 0
        estimate = _weighted_w1(sv, self.reps[keep], c[keep])
        # breakpoints: the reference values and the edges; F and the bin are constant between two
        xs = np.unique(np.r_[sv, e])
        x = xs[:-1]
        f = np.searchsorted(sv, x, side="right") / n1
        b = np.searchsorted(e, x, side="right")  # the bin each piece lies in
        before = np.r_[0, np.cumsum(c)] / n2
        ga, gb = before[b], before[b + 1]
        dx = np.diff(xs)
        low = float(np.sum(np.maximum(np.maximum(ga - f, f - gb), 0) * dx))
        high = float(np.sum(np.maximum(f - ga, gb - f) * dx))
        if c[0] or c[-1]:  # values in an open end bin: no width to bound their distance
            high = float("inf")
        return estimate, min(low, estimate), max(high, estimate)  # equal but for rounding


def _weighted_w1(ref_sorted: np.ndarray, points: np.ndarray, weights: np.ndarray) -> float:
    """Wasserstein-1 between the reference values and `weights` at sorted `points`: the area between the CDFs."""
    n1, n2 = len(ref_sorted), weights.sum()
    xs = np.sort(np.r_[ref_sorted, points])
    x = xs[:-1]
    f = np.searchsorted(ref_sorted, x, side="right") / n1
    g = np.r_[0, np.cumsum(weights)][np.searchsorted(points, x, side="right")] / n2
    return float(np.sum(np.abs(f - g) * np.diff(xs)))


def applies(ref, method: str) -> bool:
    """A numeric feature tested on values (KS, Wasserstein) with a reference to bin by."""
    from workbench.drift import methods as dm

    return (ref.kind == "numeric" and not dm.counts_only(method) and ref.sorted_values is not None
            and len(ref.sorted_values) > 0 and bool(ref.stats))


def note(bound: float | None, flip: bool) -> str:
    """'from 100 reference-quantile bins counted by the engine, error ≤ 0.0031' (+ why it may be loose)."""
    from workbench.findings import num

    if bound is None:
        return ""
    err = "error unbounded (values beyond the tail bins)" if not np.isfinite(bound) else f"error ≤ {num(bound)}"
    loose = ("; the exact value may lie on the other side of the decision (values in the tails loosen "
             "the bound): set drift_detection.exact_max_rows higher to read it exactly") if flip else ""
    return f"from {FINE_BINS} reference-quantile bins counted by the engine, {err}{loose}"
