"""Drift methods: one small function per method in a plain registry.

Each compares a reference FeatureProfile with a CurrentSample (both prepared once, see
profile.py) and returns a statistic, a p-value for tests, and an effect size. Results equal
scipy's on the same data (tests/unit/test_drift_methods.py); the work is arranged so that the
reference is sorted and binned once and each current column is sorted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from workbench.profile import CurrentSample, FeatureProfile, aligned_category_counts

PSI_EPS = 1e-4  # an empty bin counts as this share, so PSI stays finite when a bin empties or appears
STD_FLOOR = 1e-3  # Wasserstein normaliser for (near-)constant references, as Evidently does
KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp(method="auto") switches to the asymptotic p-value above this


@dataclass(frozen=True)
class MethodResult:
    statistic: float
    p_value: float | None = None
    effect_size: float | None = None  # KS D or normalised Wasserstein (numeric), Cramér's V (categorical)


@dataclass(frozen=True)
class Method:
    name: str
    func: Callable[[FeatureProfile, CurrentSample], MethodResult]
    kind: str  # "p_value": drift when p < threshold; "distance": drift when statistic > threshold
    default_threshold: float
    numeric: bool
    categorical: bool
    description: str

    def drifted(self, result: MethodResult, threshold: float) -> bool:
        if self.kind == "p_value":
            return bool(result.p_value is not None and result.p_value < threshold)
        return bool(result.statistic > threshold)


METHODS: dict[str, Method] = {}


def register(name: str, kind: str, default_threshold: float, numeric: bool = True, categorical: bool = True):
    """Add a method to METHODS under `name`; the first docstring line is its description."""
    def wrap(func):
        METHODS[name] = Method(name, func, kind, default_threshold, numeric, categorical,
                               (func.__doc__ or "").strip().splitlines()[0])
        return func
    return wrap


def get_method(name: str, feature: str | None = None) -> Method:
    """The registered method `name`, or a ValueError listing the valid ones."""
    if name not in METHODS:
        where = f" for feature {feature!r}" if feature else ""
        raise ValueError(f"unknown drift method {name!r}{where}; choose one of: {', '.join(sorted(METHODS))}")
    return METHODS[name]


# --- shared pieces ------------------------------------------------------------------

def _merged_cdfs(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge two sorted samples: merged values and, after each position, the count of reference
    and of current values at or before it. A stable sort of two sorted runs is a linear merge
    (timsort), and equal values keep reference before current, as searchsorted(side='right') would."""
    n1 = len(ref_sorted)
    both = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    c2 = np.cumsum(order >= n1)
    c1 = np.arange(1, len(both) + 1) - c2
    return merged, c1, c2


def _ks_statistic(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """max |F_ref - F_cur| over all data points, with right-continuous CDFs (as scipy computes it)."""
    n1, n2 = len(ref_sorted), len(cur_sorted)
    merged, c1, c2 = _merged_cdfs(ref_sorted, cur_sorted)
    ends = np.r_[merged[1:] != merged[:-1], True]  # last position of each run of equal values
    diffs = c1[ends] / n1 - c2[ends] / n2
    min_s = float(np.clip(-diffs.min(), 0, 1))
    max_s = float(diffs.max())
    return min_s if min_s > max_s else max_s


def _wasserstein(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """Wasserstein-1 distance: the area between the two empirical CDFs."""
    n1, n2 = len(ref_sorted), len(cur_sorted)
    merged, c1, c2 = _merged_cdfs(ref_sorted, cur_sorted)
    deltas = np.diff(merged)
    return float(np.sum(np.multiply(np.abs(c1[:-1] / n1 - c2[:-1] / n2), deltas)))


def _norm(ref: FeatureProfile) -> float:
    return max(float(ref.stats.get("std", 0.0)), STD_FLOOR)


def _counts(ref: FeatureProfile, cur: CurrentSample) -> tuple[np.ndarray, np.ndarray]:
    if ref.kind == "categorical":
        _, rc, cc = aligned_category_counts(ref, cur)
        return rc, cc
    return ref.bin_counts, cur.binned(ref)


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over shares, empty shares floored at `eps`."""
    ref_p = np.clip(ref_counts / ref_counts.sum(), eps, None)
    cur_p = np.clip(cur_counts / cur_counts.sum(), eps, None)
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


def _effect(ref: FeatureProfile, cur: CurrentSample) -> float | None:
    """Effect size for a test's verdict: normalised Wasserstein for numeric features, Cramér's V
    for categorical ones and for numeric bins counted in the database."""
    if ref.kind == "numeric" and cur.sorted_values is not None:
        return _wasserstein(ref.sorted_values, cur.sorted_values) / _norm(ref)
    rc, cc = _counts(ref, cur)
    return cramers_v(rc, cc)


def cramers_v(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Cramér's V of the 2 x k reference x current table (0: same mix, 1: disjoint)."""
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    if table.shape[1] < 2:
        return 0.0
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    return float(np.sqrt(chi2 / table.sum()))


# --- the methods ----------------------------------------------------------------------

@register("ks", "p_value", 0.05, categorical=False)
def ks(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Two-sample Kolmogorov-Smirnov test (as scipy.stats.ks_2samp); drift when p < 0.05."""
    a, b = ref.sorted_values, cur.sorted_values
    if max(len(a), len(b)) <= KS_EXACT_MAX_N:
        r = stats.ks_2samp(a, b)  # scipy's exact p-value for small samples
        d, p = float(r.statistic), float(r.pvalue)
    else:
        d = _ks_statistic(a, b)
        m, n = sorted([float(len(a)), float(len(b))], reverse=True)
        p = float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
    return MethodResult(d, p, effect_size=d)


@register("psi", "distance", 0.1)
def psi(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Population Stability Index on reference-quantile bins or categories; drift when PSI > 0.1."""
    return MethodResult(psi_from_counts(*_counts(ref, cur)))


@register("wasserstein", "distance", 0.2, categorical=False)
def wasserstein(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Wasserstein-1 distance divided by the reference std (floor 0.001); drift when > 0.2."""
    w = _wasserstein(ref.sorted_values, cur.sorted_values) / _norm(ref)
    return MethodResult(w, effect_size=w)


@register("js", "distance", 0.1)
def js(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Jensen-Shannon distance (base 2) on the PSI bins or categories; drift when > 0.1."""
    return MethodResult(float(distance.jensenshannon(*_counts(ref, cur), base=2)))


@register("chi2", "p_value", 0.05)
def chi2(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Chi-square test of homogeneity on the reference x current table; drift when p < 0.05."""
    rc, cc = _counts(ref, cur)
    keep = (rc + cc) > 0
    table = np.vstack([rc[keep], cc[keep]])
    if table.shape[1] < 2:
        return MethodResult(0.0, 1.0, effect_size=0.0)  # one category in both windows: nothing to compare
    r = stats.chi2_contingency(table)
    return MethodResult(float(r.statistic), float(r.pvalue), effect_size=_effect(ref, cur))


def compare(name: str, reference, current, categorical: bool = False, n_bins: int = 10) -> MethodResult:
    """Convenience: run method `name` on two plain arrays (profiles built on the fly)."""
    kind = "categorical" if categorical else "numeric"
    ref = FeatureProfile.fit("x", pd.Series(reference), kind=kind, n_bins=n_bins)
    cur = CurrentSample.from_series("x", pd.Series(current), kind)
    m = get_method(name)
    if (kind == "numeric" and not m.numeric) or (kind == "categorical" and not m.categorical):
        raise ValueError(f"{name} does not apply to {kind} features")
    return m.func(ref, cur)
