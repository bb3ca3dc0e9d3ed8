"""Drift methods: the one registry that knows every method, and the one drift decision.

Each method compares a reference FeatureProfile with a CurrentSample (both prepared once, see
profile.py) and returns a statistic, a p-value for tests, and its effect size. The registry entry
holds everything else that depends on the method: its kind (test or distance), the feature types
it applies to, its default threshold, its default effect floor, what its effect size is, and
Evidently's name for it. Config validation, threshold resolution, the drift verdict, the daily
heatmap and the Evidently comparison all read it from here, so adding a method means one
`@register` here (and its test). Results equal scipy's on the same data
(tests/unit/test_drift_methods.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from workbench import lazy
from workbench.drift.profile import CurrentSample, FeatureProfile, aligned_category_counts

stats = lazy.module("scipy.stats")  # imported when a test is computed, not when config reads the registry
distance = lazy.module("scipy.spatial.distance")

PSI_EPS = 1e-4  # an empty bin counts as this share, so PSI stays finite when a bin empties or appears
STD_FLOOR = 1e-3  # Wasserstein normaliser for (near-)constant references, as Evidently does
KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp(method="auto") switches to the asymptotic p-value above this
TEST, DISTANCE = "test", "distance"


@dataclass(frozen=True)
class MethodResult:
    statistic: float
    p_value: float | None = None
    effect_size: float | None = None  # the method's effect size (see Method.effect)
    # a statistic from a window's counts (drift.histogram): |exact - statistic| <= error_bound, and the
    # results at the two ends of the interval the exact value lies in (compare_feature decides both)
    error_bound: float | None = None
    extremes: tuple["MethodResult", "MethodResult"] | None = None


@dataclass(frozen=True)
class Method:
    """A drift method and everything that depends on it."""

    name: str
    func: Callable[[FeatureProfile, CurrentSample], MethodResult]
    kind: str  # "test": drift when p < threshold; "distance": drift when statistic > threshold
    default_threshold: float
    numeric: bool
    categorical: bool
    description: str
    effect: str = ""  # what the effect size is
    # effect floor: a verdict of drift also needs effect_size >= this (None: the threshold is the floor)
    default_min_effect: float | None = None
    evidently: str | None = None  # Evidently 0.7's stattest name (None: not compared)
    label: str = ""  # the effect size's short name in sentences ("KS D"); empty: "effect"
    # True when the method needs only the counts per reference bin (or category), never the values:
    # the store then counts numeric features in the database instead of streaming them
    counts_only: bool = False

    @property
    def is_test(self) -> bool:
        return self.kind == TEST

    def applies_to(self, kind: str) -> bool:
        return self.categorical if kind == "categorical" else self.numeric

    def significant(self, result: MethodResult, threshold: float) -> bool:
        """The statistical half of the verdict: p < threshold (tests), statistic > threshold (distances)."""
        if self.is_test:
            return bool(result.p_value is not None and result.p_value < threshold)
        return bool(result.statistic > threshold)

    drifted = significant  # kept for callers of the old name


METHODS: dict[str, Method] = {}


def register(name: str, kind: str, default_threshold: float, numeric: bool = True, categorical: bool = True,
             effect: str = "", default_min_effect: float | None = None, evidently: str | None = None,
             label: str = "", counts_only: bool = False):
    """Add a method to METHODS under `name`; the first docstring line is its description."""
    if kind not in (TEST, DISTANCE):
        raise ValueError(f"method kind must be {TEST!r} or {DISTANCE!r}, not {kind!r}")

    def wrap(func):
        METHODS[name] = Method(name, func, kind, default_threshold, numeric, categorical,
                               (func.__doc__ or "").strip().splitlines()[0], effect, default_min_effect, evidently,
                               label, counts_only)
        return func
    return wrap


def get_method(name: str, feature: str | None = None) -> Method:
    """The registered method `name`, or a ValueError listing the valid ones."""
    if name not in METHODS:
        where = f" for feature {feature!r}" if feature else ""
        raise ValueError(f"unknown drift method {name!r}{where}; choose one of: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def counts_only(name: str) -> bool:
    """Whether `name` needs only bin (or category) counts, so a numeric feature can be counted in the database."""
    return name in METHODS and METHODS[name].counts_only


def effect_label(name: str) -> str:
    """The effect size's short name in sentences ("KS D", "PSI"); "effect" when the method gives none."""
    m = METHODS.get(name)
    return (m.label if m else "") or "effect"


def method_names() -> list[str]:
    return sorted(METHODS)


def test_methods() -> list[str]:
    """Names of the p-value tests."""
    return sorted(n for n, m in METHODS.items() if m.is_test)


test_methods.__test__ = False  # not a pytest test


def default_thresholds() -> dict[str, float]:
    return {n: m.default_threshold for n, m in METHODS.items()}


def choose_method(categorical: bool) -> str:
    """The automatic method: a test plus its effect floor (chi2 for categorical, ks for numeric).

    A test alone flags almost everything at tens of thousands of rows, and the guide's distance
    thresholds miss moderate shifts; the test's p-value plus the effect floor does neither."""
    return "chi2" if categorical else "ks"


def resolve(method: str, threshold: float | None = None, min_effect: float | None = None,
            thresholds: Mapping[str, float] | None = None, min_effects: Mapping[str, float] | None = None
            ) -> tuple[float, float | None]:
    """The one place a feature's threshold and effect floor are decided.

    threshold: the feature's own, else drift_detection.thresholds[method], else the registry default;
    effect floor: the feature's `min_effect`, else drift_detection.min_effects[method], else the
    registry default. A floor of 0 switches it off (returned as None)."""
    m = get_method(method)
    thr = threshold if threshold is not None else (thresholds or {}).get(method, m.default_threshold)
    floor = min_effect if min_effect is not None else (min_effects or {}).get(method, m.default_min_effect)
    return float(thr), (float(floor) if floor else None)


def decide(method: str, result: MethodResult, threshold: float, min_effect: float | None) -> tuple[bool, str]:
    """The one drift decision: significant (p < threshold, or statistic > threshold) AND an effect size
    at or above the floor. Returns the verdict and, when the floor overruled significance, why."""
    m = get_method(method)
    if not m.significant(result, threshold):
        return False, ""
    if min_effect is not None and result.effect_size is not None and result.effect_size < min_effect:
        return False, f"significant, but effect {result.effect_size:.3g} is below min_effect {min_effect:g}"
    return True, ""


def score(method: str, statistic: float | None, p_value: float | None, threshold: float,
          effect_size: float | None = None, min_effect: float | None = None) -> float:
    """How far past the decision a result is, on one scale for all methods: > 1 means drift.

    The smaller of significance (distances: statistic / threshold; tests: log p / log threshold)
    and strength (effect / min_effect), so a significant but tiny shift stays below 1, as decide() says."""
    if get_method(method).is_test:
        if p_value is None:
            return float("nan")
        sig = float(np.log(max(p_value, 1e-300)) / np.log(threshold))
    else:
        if statistic is None:
            return float("nan")
        sig = float(statistic / threshold)
    if min_effect and effect_size is not None:
        return min(sig, float(effect_size / min_effect) * (1 + 1e-12))
    return sig


# --- shared pieces ------------------------------------------------------------------

def _merged_cdfs(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge two sorted samples: merged values and, after each position, the count of reference
    and of current values at or before it. A stable sort of two sorted runs is a linear merge
    (timsort), and equal values keep reference before current, as searchsorted(side='right') would."""
    n1 = len(ref_sorted)
    both = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    # a running count of booleans into int32 is several times faster than into int64 (the default), and exact
    c2 = np.cumsum(order >= n1, dtype=np.int32 if len(both) < 2**31 else np.int64)
    c1 = np.arange(1, len(both) + 1)
    c1 -= c2  # in place: at a million rows a side every temporary is 16 MB of fresh pages
    return merged, c1, c2


def _runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and, for each, how many values are at or below it."""
    last = np.flatnonzero(np.r_[x[1:] != x[:-1], True])
    return x[last], last + 1


def _n_distinct(x: np.ndarray) -> int:
    """How many distinct values a sorted array holds (one pass, nothing gathered)."""
    return int(np.count_nonzero(x[1:] != x[:-1])) + 1 if len(x) else 0


def _count_at_or_below(values: np.ndarray, cum: np.ndarray, points: np.ndarray) -> np.ndarray:
    i = np.searchsorted(values, points, "right")
    return np.where(i > 0, cum[np.maximum(i - 1, 0)], 0)


def _ks_statistic(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """max |F_ref - F_cur| over all data points, with right-continuous CDFs (as scipy computes it).

    When one side has few distinct values (the daily grid's counts placed at 100 bin
    representatives) both CDFs are evaluated at each side's distinct values by binary search, with
    no merge sort of the two samples: the same points and counts, so the same D to the last bit."""
    n1, n2 = len(ref_sorted), len(cur_sorted)
    if n1 and n2 and min(_n_distinct(ref_sorted), _n_distinct(cur_sorted)) * 4 < min(n1, n2):
        ua, ca = _runs(ref_sorted)
        ub, cb = _runs(cur_sorted)
        diffs = np.concatenate([ca / n1 - _count_at_or_below(ub, cb, ua) / n2,
                                _count_at_or_below(ua, ca, ub) / n1 - cb / n2])
        min_s = float(np.clip(-diffs.min(), 0, 1))
        max_s = float(diffs.max())
        return min_s if min_s > max_s else max_s
    return _ks_from_merge(n1, n2, *_merged_cdfs(ref_sorted, cur_sorted))


def _ks_from_merge(n1: int, n2: int, merged: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> float:
    """D from the merged samples (see _merged_cdfs), evaluated at the last position of each run of equal values."""
    ends = merged[1:] != merged[:-1]
    if not ends.all():  # ties; continuous data has none, and then no copy is made
        ends = np.r_[ends, True]
        c1, c2 = c1[ends], c2[ends]
    diffs = np.divide(c1, n1)
    diffs -= np.divide(c2, n2)  # in place: the same c1 / n1 - c2 / n2, one temporary fewer
    min_s = float(np.clip(-diffs.min(), 0, 1))
    max_s = float(diffs.max())
    return min_s if min_s > max_s else max_s


def _wasserstein(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """Wasserstein-1 distance: the area between the two empirical CDFs."""
    return _wasserstein_and_ks(ref_sorted, cur_sorted)[0]


def _wasserstein_and_ks(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float]:
    """Wasserstein-1 distance and KS distance D from one merge of the two samples."""
    n1, n2 = len(ref_sorted), len(cur_sorted)
    merged, c1, c2 = _merged_cdfs(ref_sorted, cur_sorted)
    deltas = np.diff(merged)
    w = float(np.sum(np.multiply(np.abs(c1[:-1] / n1 - c2[:-1] / n2), deltas)))
    return w, (_ks_from_merge(n1, n2, merged, c1, c2) if n1 and n2 else float("nan"))


def _pair_memo(ref: FeatureProfile, cur: CurrentSample, key: str, compute: Callable[[], float]) -> float:
    """A statistic of (reference, current) computed once per pair and kept on the current sample: the ks
    method's D is also the ranking magnitude, so a feature's two million values are merged once, not twice."""
    hit = cur.memo.get(key)
    if hit is not None and hit[0] is ref.sorted_values:
        return hit[1]
    value = compute()
    cur.memo[key] = (ref.sorted_values, value)
    return value


def ks_distance(ref: FeatureProfile, cur: CurrentSample) -> float:
    """The KS distance D between a numeric reference profile and current sample (values; for a window
    counted in fine bins, the lower bound at the edges, see drift.histogram)."""
    if cur.histogram is not None:
        return _pair_memo(ref, cur, "ks", lambda: cur.histogram.ks_bounds(ref)[0])
    return _pair_memo(ref, cur, "ks", lambda: _ks_statistic(ref.sorted_values, cur.sorted_values))


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


def cramers_v(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Cramér's V of the 2 x k reference x current table as counted (0: same mix, 1: disjoint)."""
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    if table.shape[1] < 2:
        return 0.0
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    return float(np.sqrt(chi2 / table.sum()))


def balanced_cramers_v(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Cramér's V of the reference x current table with both rows scaled to the same total.

    Plain V shrinks when one side is much larger than the other (V^2 = chi2 / N weighs the sides by
    their sizes), so the same shift would read smaller in a small week against a big reference.
    On shares it depends only on the two mixes: sqrt(sum((p - q)^2 / (p + q)) / 2)."""
    rs, cs = ref_counts.sum(), cur_counts.sum()
    if rs == 0 or cs == 0:
        return 0.0
    p, q = ref_counts / rs, cur_counts / cs
    keep = (p + q) > 0
    if keep.sum() < 2:
        return 0.0
    p, q = p[keep], q[keep]
    return float(np.sqrt(np.sum((p - q) ** 2 / (p + q)) / 2))


def magnitude(ref: FeatureProfile, cur: CurrentSample) -> float:
    """The ranking scale shared by all methods: the largest share of the population that moved.

    Numeric: the KS distance D = max |F_ref - F_cur| (over the reference's bin edges when the values
    were counted in the database, a lower bound); categorical: the total variation distance
    1/2 sum |p - q|. Both lie in [0, 1] and mean the same thing, so features compare across methods."""
    if ref.kind == "numeric" and cur.sorted_values is not None and len(cur.sorted_values) and len(ref.sorted_values):
        return ks_distance(ref, cur)
    if cur.histogram is not None:
        return ks_distance(ref, cur) if cur.n else float("nan")
    rc, cc = _counts(ref, cur)
    if rc.sum() == 0 or cc.sum() == 0:
        return float("nan")
    p, q = rc / rc.sum(), cc / cc.sum()
    if ref.kind == "numeric":
        return float(np.max(np.abs(np.cumsum(p) - np.cumsum(q))))
    return float(np.abs(p - q).sum() / 2)


# --- the methods ----------------------------------------------------------------------
# To add a method: one @register here (kind, types, threshold, effect floor, Evidently's name, the
# effect's short label, whether counts suffice)
# and its scipy check in tests/unit/test_drift_methods.py. Nothing else names methods.

@register("ks", TEST, 0.05, categorical=False, effect="KS distance D", default_min_effect=0.05,
          evidently="ks", label="KS D")
def ks(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Two-sample Kolmogorov-Smirnov test (as scipy.stats.ks_2samp); drift when p < 0.05."""
    if cur.histogram is not None:
        return _ks_from_histogram(ref, cur)
    a, b = ref.sorted_values, cur.sorted_values
    if max(len(a), len(b)) <= KS_EXACT_MAX_N:
        r = stats.ks_2samp(a, b)  # scipy's exact p-value for small samples
        d, p = float(r.statistic), float(r.pvalue)
    else:
        d = ks_distance(ref, cur)
        m, n = sorted([float(len(a)), float(len(b))], reverse=True)
        en = m * n / (m + n)
        if cur.from_bins:  # a day of drift over time: its values are bin representatives, so its p-value is
            # the limiting (Kolmogorov) distribution's, ~0.1 ms, not scipy's finite-n one (up to ~1 s a call at
            # 100,000s of rows, once per feature and day); both agree to ~1e-3, far inside the binning's error
            p = float(np.clip(stats.kstwobign.sf(d * np.sqrt(en)), 0, 1))
        else:
            p = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return MethodResult(d, p, effect_size=d)


def _ks_from_histogram(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """KS of a window known by its counts over fine bins: D is the lower bound at the edges (never above
    the exact D), error bound D_high - D_low (drift.histogram). The p-value is the limiting distribution's
    (scipy's finite-n one takes seconds at a million rows); compare_feature recomputes it with scipy's
    near the threshold (drift.daily.with_ks), so the verdict is the one scipy's p-value gives."""
    low, high = cur.histogram.ks_bounds(ref)
    _pair_memo(ref, cur, "ks", lambda: low)
    m, n = sorted([float(len(ref.sorted_values)), float(cur.n)], reverse=True)
    en = m * n / (m + n)
    p_of = lambda d: float(np.clip(stats.kstwobign.sf(d * np.sqrt(en)), 0, 1))  # noqa: E731
    p = p_of(low)
    return MethodResult(low, p, effect_size=low, error_bound=high - low,
                        extremes=(MethodResult(low, p, low), MethodResult(high, min(p_of(high), p), high)))


@register("psi", DISTANCE, 0.1, effect="PSI itself", evidently="psi", label="PSI", counts_only=True)
def psi(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Population Stability Index on reference-quantile bins or categories; drift when PSI > 0.1."""
    v = psi_from_counts(*_counts(ref, cur))
    return MethodResult(v, effect_size=v)


@register("wasserstein", DISTANCE, 0.2, categorical=False, effect="Wasserstein-1 / reference std (itself)",
          evidently="wasserstein", label="normalised Wasserstein")
def wasserstein(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Wasserstein-1 distance divided by the reference std (floor 0.001); drift when > 0.2."""
    if cur.histogram is not None:
        raw, low, high = cur.histogram.wasserstein(ref)
        norm = _norm(ref)
        w = raw / norm
        return MethodResult(w, effect_size=w, error_bound=max(raw - low, high - raw) / norm,
                            extremes=(MethodResult(low / norm, effect_size=low / norm),
                                      MethodResult(high / norm, effect_size=high / norm)))
    raw, d = _wasserstein_and_ks(ref.sorted_values, cur.sorted_values)
    _pair_memo(ref, cur, "ks", lambda: d)  # the ranking magnitude, from the same merge
    w = raw / _norm(ref)
    return MethodResult(w, effect_size=w)


@register("js", DISTANCE, 0.1, effect="Jensen-Shannon distance itself", evidently="jensenshannon",
          label="JS distance", counts_only=True)
def js(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Jensen-Shannon distance (base 2) on the PSI bins or categories; drift when > 0.1."""
    v = float(distance.jensenshannon(*_counts(ref, cur), base=2))
    return MethodResult(v, effect_size=v)


@register("chi2", TEST, 0.05, effect="Cramér's V on shares (both sides weighted equally)",
          default_min_effect=0.05, evidently="chisquare", label="Cramér's V", counts_only=True)
def chi2(ref: FeatureProfile, cur: CurrentSample) -> MethodResult:
    """Chi-square test of homogeneity on the reference x current table; drift when p < 0.05."""
    rc, cc = _counts(ref, cur)
    keep = (rc + cc) > 0
    table = np.vstack([rc[keep], cc[keep]])
    if table.shape[1] < 2:
        return MethodResult(0.0, 1.0, effect_size=0.0)  # one category in both windows: nothing to compare
    r = stats.chi2_contingency(table)
    return MethodResult(float(r.statistic), float(r.pvalue), effect_size=balanced_cramers_v(rc, cc))


def compare(name: str, reference, current, categorical: bool = False, n_bins: int = 10) -> MethodResult:
    """Convenience: run method `name` on two plain arrays (profiles built on the fly)."""
    kind = "categorical" if categorical else "numeric"
    ref = FeatureProfile.fit("x", pd.Series(reference), kind=kind, n_bins=n_bins)
    cur = CurrentSample.from_series("x", pd.Series(current), kind)
    m = get_method(name)
    if not m.applies_to(kind):
        raise ValueError(f"{name} does not apply to {kind} features")
    return m.func(ref, cur)
