"""Drift methods: one small function per method in a plain registry.

Each takes the reference and current values (NaN/inf already removed) and returns a statistic
and, for tests, a p-value. Numeric PSI/JS/chi-square use bins learned from reference quantiles;
categorical ones use the categories of both windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats
from scipy.spatial import distance

PSI_EPS = 1e-4  # an empty bin counts as this share, so PSI stays finite when a bin empties or appears
STD_FLOOR = 1e-3  # Wasserstein normaliser for (near-)constant references, as Evidently does


@dataclass(frozen=True)
class MethodResult:
    statistic: float
    p_value: float | None = None


@dataclass(frozen=True)
class Method:
    name: str
    func: Callable[..., MethodResult]
    kind: str  # "p_value": drift when p < threshold; "distance": drift when statistic > threshold
    default_threshold: float
    description: str

    def drifted(self, result: MethodResult, threshold: float) -> bool:
        if self.kind == "p_value":
            return bool(result.p_value is not None and result.p_value < threshold)
        return bool(result.statistic > threshold)


METHODS: dict[str, Method] = {}


def register(name: str, kind: str, default_threshold: float):
    """Add a method to METHODS under `name`; its docstring is its description."""
    def wrap(func: Callable[..., MethodResult]) -> Callable[..., MethodResult]:
        METHODS[name] = Method(name, func, kind, default_threshold, (func.__doc__ or "").strip().splitlines()[0])
        return func
    return wrap


def get_method(name: str, feature: str | None = None) -> Method:
    """The registered method `name`, or a ValueError listing the valid ones."""
    if name not in METHODS:
        where = f" for feature {feature!r}" if feature else ""
        raise ValueError(f"unknown drift method {name!r}{where}; choose one of: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def quantile_edges(reference: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Interior bin edges at reference quantiles (duplicates dropped, so constant data gives 1 bin)."""
    qs = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(qs)


def binned_counts(reference: np.ndarray, current: np.ndarray, categorical: bool, n_bins: int = 10,
                  edges: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Counts of reference and current over the same bins (numeric) or categories (categorical)."""
    if categorical:
        cats, inverse = np.unique(np.concatenate([reference.astype(str), current.astype(str)]), return_inverse=True)
        ref_idx, cur_idx = inverse[: len(reference)], inverse[len(reference):]
        return np.bincount(ref_idx, minlength=len(cats)), np.bincount(cur_idx, minlength=len(cats))
    if edges is None:
        edges = quantile_edges(reference, n_bins)
    nb = len(edges) + 1
    ref_c = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=nb)
    cur_c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=nb)
    return ref_c, cur_c


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over shares, empty shares floored at `eps`."""
    ref_p = np.clip(ref_counts / ref_counts.sum(), eps, None)
    cur_p = np.clip(cur_counts / cur_counts.sum(), eps, None)
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


@register("ks", "p_value", 0.05)
def ks(reference: np.ndarray, current: np.ndarray, categorical: bool = False, n_bins: int = 10) -> MethodResult:
    """Two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp); drift when p < 0.05."""
    if categorical:
        raise ValueError("ks needs a numeric feature; use chi2, psi or js for categorical ones")
    r = stats.ks_2samp(reference, current)
    return MethodResult(float(r.statistic), float(r.pvalue))


@register("psi", "distance", 0.1)
def psi(reference: np.ndarray, current: np.ndarray, categorical: bool = False, n_bins: int = 10) -> MethodResult:
    """Population Stability Index on reference-quantile bins or categories; drift when PSI > 0.1."""
    return MethodResult(psi_from_counts(*binned_counts(reference, current, categorical, n_bins)))


@register("wasserstein", "distance", 0.2)
def wasserstein(reference: np.ndarray, current: np.ndarray, categorical: bool = False, n_bins: int = 10
                ) -> MethodResult:
    """Wasserstein-1 distance divided by the reference std (floor 0.001); drift when > 0.2."""
    if categorical:
        raise ValueError("wasserstein needs a numeric feature; use chi2, psi or js for categorical ones")
    norm = max(float(np.std(reference)), STD_FLOOR)
    return MethodResult(float(stats.wasserstein_distance(reference, current)) / norm)


@register("js", "distance", 0.1)
def js(reference: np.ndarray, current: np.ndarray, categorical: bool = False, n_bins: int = 10) -> MethodResult:
    """Jensen-Shannon distance (base 2) on the PSI bins or categories; drift when > 0.1."""
    ref_c, cur_c = binned_counts(reference, current, categorical, n_bins)
    return MethodResult(float(distance.jensenshannon(ref_c, cur_c, base=2)))


@register("chi2", "p_value", 0.05)
def chi2(reference: np.ndarray, current: np.ndarray, categorical: bool = True, n_bins: int = 10) -> MethodResult:
    """Chi-square test of homogeneity on the reference x current table; drift when p < 0.05."""
    ref_c, cur_c = binned_counts(reference, current, categorical, n_bins)
    keep = (ref_c + cur_c) > 0
    table = np.vstack([ref_c[keep], cur_c[keep]])
    if table.shape[1] < 2:
        return MethodResult(0.0, 1.0)  # one category in both windows: nothing to compare
    r = stats.chi2_contingency(table)
    return MethodResult(float(r.statistic), float(r.pvalue))
