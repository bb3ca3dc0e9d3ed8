"""The drift review: per-feature drift against the reference profile with the configured
methods, the dataset verdict, and the data-quality signals that come with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import pandas as pd

from workbench.config import DriftDetection, FeatureDrift, default_of
from workbench.drift import methods as dm
from workbench.errors import ConfigError
from workbench.result import TableResult
from workbench.drift.profile import (ABOVE, BELOW, OTHER, CurrentSample, FeatureProfile, ReferenceProfile,  # noqa: F401
                                     is_categorical, sorted_quantile)
from workbench.drift.profile_cache import features_for, load_or_fit  # noqa: F401 (features_for re-exported)
from workbench.drift import histogram
from workbench.drift.histogram import FINE_BINS, bin_medians, fine_bins  # noqa: F401 (re-exported: drift over time)

if TYPE_CHECKING:
    from workbench.context import ReviewContext
    from workbench.findings import Finding

def choose_method(categorical: bool, n_reference: int | None = None) -> str:
    """The automatic method for a feature without one (see drift.methods.choose_method)."""
    return dm.choose_method(categorical)


# the default of params `drift_detection.borderline_tolerance` (the schema in workbench.config holds the value):
# an effect within this share of min_effect (either side) is "borderline"
BORDERLINE = default_of(DriftDetection, "borderline_tolerance")


@dataclass
class FeatureDriftResult:
    """One feature's verdict, with what was measured and how much data it rests on."""

    feature: str
    kind: str
    method: str
    threshold: float
    statistic: float | None
    p_value: float | None
    drifted: bool | None
    status: str  # "drift", "no drift", "insufficient data"
    n_reference: int
    n_current: int
    missing_reference: float
    missing_current: float
    nonfinite_current: int = 0
    missing_count: int = 0  # NULL / NaN values of the window
    effect_size: float | None = None
    min_effect: float | None = None
    p_value_raw: float | None = None
    magnitude: float | None = None  # the shared ranking scale (drift.methods.magnitude)
    canonical: str = ""  # categories the reference and the window write differently, compared as one
    out_of_range: int = 0
    new_categories: list[str] = field(default_factory=list)
    new_category_rows: int = 0  # values of the window in those categories
    message: str = ""
    reference_dist: pd.Series | None = field(default=None, repr=False)
    current_dist: pd.Series | None = field(default=None, repr=False)
    borderline_tolerance: float = BORDERLINE  # params drift_detection.borderline_tolerance
    # the statistic came from the window's counts over fine bins (drift.histogram): |exact - statistic| <=
    # error_bound; histogram_note says so in words (and when the exact value could be decided otherwise)
    error_bound: float | None = None
    histogram_note: str = ""

    @property
    def borderline(self) -> bool:
        """Significant, with an effect within `borderline_tolerance` (default 10%) of min_effect on either
        side: the floor alone decides, so the verdict can flip week to week (drift / no drift) while
        nothing changes."""
        if self.drifted is None or self.min_effect is None or self.effect_size is None or self.statistic is None:
            return False
        if not dm.get_method(self.method).significant(dm.MethodResult(self.statistic, self.p_value,
                                                                      self.effect_size), self.threshold):
            return False
        return abs(self.effect_size - self.min_effect) <= self.borderline_tolerance * self.min_effect

    def borderline_note(self) -> str:
        """'borderline: effect 0.048 is within 10% of min_effect 0.05 (can flip week to week)' or ''."""
        from workbench.findings import num

        if not self.borderline:
            return ""
        return (f"borderline: effect {num(self.effect_size)} is within {self.borderline_tolerance:.0%} of min_effect "
                f"{num(self.min_effect)} (can flip week to week)")


PLOT_BINS = 30


def plot_edges(ref: FeatureProfile) -> np.ndarray:
    """Edges of the plotting bins: 30 equal bins over the reference's [min, max] (the last one closed),
    with everything below the minimum and above the maximum in a bin of its own on each side."""
    lo, hi = (ref.stats["min"], ref.stats["max"]) if ref.stats else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    e = np.linspace(lo, hi, PLOT_BINS + 1)
    e[-1] = np.nextafter(hi, np.inf)
    return e


def _distributions(ref: FeatureProfile, cur: CurrentSample) -> tuple[pd.Series, pd.Series]:
    """Shares for plotting. Categorical: the 15 largest categories (both windows together). Numeric:
    30 equal bins over the reference range, indexed by bin middle, plus "below reference min" and
    "above reference max" entries (first and last) so values outside the range are never piled into
    the edge bins."""
    if ref.kind == "categorical":
        from workbench.drift.profile import aligned_category_counts

        cats, rc, cc = aligned_category_counts(ref, cur)
        r = pd.Series(rc / max(rc.sum(), 1), index=cats)
        c = pd.Series(cc / max(cc.sum(), 1), index=cats)
        top = (r + c).sort_values(ascending=False).index[:15]
        return r[top], c[top]
    from workbench.drift.profile import counts_in_bins

    edges = plot_edges(ref)
    mids = list(((edges[:-1] + edges[1:]) / 2).round(6))
    index = [BELOW] + mids + [ABOVE]
    rc = counts_in_bins(ref.sorted_values, edges)
    if cur.sorted_values is not None:
        cc = counts_in_bins(cur.sorted_values, edges)
    elif cur.plot_counts is not None:
        cc = cur.plot_counts
    else:
        cc = np.zeros_like(rc)
    return pd.Series(rc / max(rc.sum(), 1), index=index), pd.Series(cc / max(cc.sum(), 1), index=index)



def compare_feature(ref: FeatureProfile, cur: CurrentSample, method: str | None = None,
                    threshold: float | None = None, min_samples: int = 30, min_effect: float | None = None,
                    default_thresholds: Mapping[str, float] | None = None,
                    default_min_effects: Mapping[str, float] | None = None, distributions: bool = True,
                    borderline_tolerance: float = BORDERLINE) -> FeatureDriftResult:
    """Drift of one feature from its reference profile and current sample.

    `threshold` and `min_effect` are the feature's own settings (None: drift_detection's
    `thresholds` / `min_effects`, else the registry's defaults; see drift.methods.resolve).
    `distributions` False leaves out the shares for plotting and the ranking magnitude (the daily
    grid draws and ranks neither; for a numeric feature the magnitude is a second KS pass).
    `borderline_tolerance`: params drift_detection.borderline_tolerance (see FeatureDriftResult.borderline)."""
    categorical = ref.kind == "categorical"
    name = method or choose_method(categorical)
    m = dm.get_method(name, ref.name)
    if not m.applies_to(ref.kind):
        raise ConfigError(f"feature {ref.name!r}: method {name!r} does not apply to {ref.kind} features; "
                          f"choose one of: {', '.join(k for k, v in sorted(dm.METHODS.items()) if v.applies_to(ref.kind))}")
    thr, floor = dm.resolve(name, threshold, min_effect, default_thresholds, default_min_effects)
    base = dict(feature=ref.name, kind=ref.kind, method=name, threshold=thr, n_reference=ref.n, n_current=cur.n,
                missing_reference=ref.missing_share, missing_current=cur.missing_share,
                nonfinite_current=cur.n_nonfinite, missing_count=cur.n_missing, min_effect=floor,
                out_of_range=0 if categorical else cur.out_of_range(ref),
                new_categories=cur.new_categories(ref) if categorical else [],
                new_category_rows=sum((cur.categories or {}).get(c, 0) for c in cur.new_categories(ref))
                if categorical else 0,
                canonical=_canonical_note(ref, cur), borderline_tolerance=borderline_tolerance)
    if ref.n < min_samples or cur.n < min_samples:
        return FeatureDriftResult(**base, statistic=None, p_value=None, drifted=None, status="insufficient data",
                                  message=f"needs {min_samples} values on each side; "
                                          f"reference has {ref.n}, current has {cur.n}")
    ident = identifier_like(ref, cur)
    if ident:
        return FeatureDriftResult(**base, statistic=None, p_value=None, drifted=None, status=IDENTIFIER,
                                  message=ident)
    r = m.func(ref, cur)
    drifted, base["message"] = dm.decide(name, r, thr, floor)
    if r.error_bound is not None:
        flip = r.extremes is not None and len({dm.decide(name, x, thr, floor)[0] for x in r.extremes}) > 1
        base.update(error_bound=r.error_bound, histogram_note=histogram.note(r.error_bound, flip))
    rd, cd = _distributions(ref, cur) if distributions else (None, None)
    out = FeatureDriftResult(**base, statistic=r.statistic, p_value=r.p_value, p_value_raw=r.p_value,
                             drifted=drifted, status="drift" if drifted else "no drift", effect_size=r.effect_size,
                             magnitude=dm.magnitude(ref, cur) if distributions else None,
                             reference_dist=rd, current_dist=cd)
    if cur.histogram is not None and name == "ks":  # scipy's finite-n p-value near the threshold, as for a day
        from workbench.drift import daily

        out = daily.with_ks(out, out.statistic, binned=True)
    return out


IDENTIFIER = "looks like an identifier"
IDENTIFIER_MIN_DISTINCT = 20  # fewer distinct values never look like an identifier


def identifier_like(ref: FeatureProfile, cur: CurrentSample) -> str:
    """Why a feature looks like an identifier (an id column configured by mistake), or "".

    Every value of the window is one the reference never held and the values are mostly distinct
    (at least half as many as the rows): categories (a truncated reference, top-k + other, would
    even call it "no drift") or whole numbers read as values (random integer ids pass a KS test).
    Comparing such values says nothing about drift."""
    if cur.n == 0:
        return ""
    if ref.kind == "categorical" and cur.categories and ref.categories:
        known = set(ref.categories) - {OTHER}
        matched = sum(v for k, v in cur.categories.items() if k in known)
        distinct = len(cur.categories)
    elif (ref.kind == "numeric" and cur.sorted_values is not None and not cur.from_bins
          and ref.sorted_values is not None and len(ref.sorted_values)):
        # whole numbers only: a measured quantity (charges, durations) takes new values every week
        v, rv = cur.sorted_values, ref.sorted_values
        if not (np.all(v == np.round(v)) and np.all(rv == np.round(rv))):
            return ""
        at = np.clip(np.searchsorted(rv, v), 0, len(rv) - 1)
        matched = int(np.count_nonzero(rv[at] == v))
        distinct = int(np.count_nonzero(np.diff(v))) + 1
    else:
        return ""
    if matched or distinct < max(IDENTIFIER_MIN_DISTINCT, cur.n / 2):
        return ""
    return (f"all {cur.n:,} values of the window ({distinct:,} distinct) are new to the reference: "
            "an identifier, not a feature to test for drift")


def _canonical_note(ref: FeatureProfile, cur: CurrentSample) -> str:
    """Where the reference and this window write one category differently ('1' there, 1.0 here; ' Yes'
    and 'Yes' on one side), in a reader's words: 'reference 1 = this window 1.0'. Only where it changed
    what was compared: a value written the same way on both sides (0.0 in both, shown as 0) or seen on
    one side only says nothing (see profile.canonical_category)."""
    if ref.kind != "categorical":
        return ""
    r, c = ref.raw_forms or {}, cur.raw_forms or {}
    both = set(ref.categories or {}) & set(cur.categories or {})
    parts = []
    for k in sorted(set(r.values()) | set(c.values())):
        rk, ck = sorted(x for x, v in r.items() if v == k), sorted(x for x, v in c.items() if v == k)
        if len(rk) > 1 or len(ck) > 1 or (k in both and rk != ck):
            parts.append(f"reference {' / '.join(rk) or k} = this window {' / '.join(ck) or k}")
    more = f" … ({len(parts) - 4} more)" if len(parts) > 4 else ""
    return "; ".join(parts[:4]) + more


def feature_drift(feature: str, reference: pd.Series, current: pd.Series, method: str | None = None,
                  threshold: float | None = None, n_bins: int = 10, min_samples: int = 30,
                  min_effect: float | None = None, kind: str | None = None) -> FeatureDriftResult:
    """Drift of one feature given two plain columns (profiles built on the fly; `kind` None: the
    automatic type of the reference column, see profile.infer_kind)."""
    kind = kind or ("categorical" if (is_categorical(reference) if reference.notna().any()
                                      else is_categorical(current)) else "numeric")
    ref = FeatureProfile.fit(feature, reference, kind=kind, n_bins=n_bins)
    return compare_feature(ref, CurrentSample.from_series(feature, current, kind), method, threshold,
                           min_samples, min_effect)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control)."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=float)
    return p if len(p) == 0 else false_discovery_control(p, method="bh")


def _apply_correction(results: list[FeatureDriftResult]) -> None:
    tested = [r for r in results if r.p_value is not None and r.drifted is not None]
    if not tested:
        return
    adj = benjamini_hochberg(np.array([r.p_value_raw for r in tested]))
    for r, q in zip(tested, adj):
        r.p_value = float(q)
        was = r.drifted
        r.drifted, msg = dm.decide(r.method, dm.MethodResult(r.statistic, float(q), r.effect_size),
                                   r.threshold, r.min_effect)
        r.status = "drift" if r.drifted else "no drift"
        if was and not r.drifted:
            r.message = msg or "not significant after the Benjamini-Hochberg correction"


def reaches_drift_share(n_drifted: int, n_tested: int, threshold: float) -> bool:
    """The dataset-drift rule: some features were tested and the share of them that drifted reaches
    `threshold` (drift_detection.drift_share). The week's verdict and each day's (drift over time) use it."""
    return n_tested > 0 and n_drifted / n_tested >= threshold


@dataclass
class DriftReport:
    """Per-feature drift results and the dataset verdict."""

    model: str
    results: list[FeatureDriftResult]
    drift_share_threshold: float = 0.5
    window_rows: int | None = None
    min_window_rows: int = 0
    missing_tolerance: float = 0.05
    correction: str = "none"

    @property
    def evaluated(self) -> list[FeatureDriftResult]:
        return [r for r in self.results if r.drifted is not None]

    @property
    def drifted_features(self) -> list[str]:
        return [r.feature for r in self.results if r.drifted]

    @property
    def drift_share(self) -> float:
        """Share of evaluated features that drifted (features without enough data are not counted)."""
        ev = self.evaluated
        return len(self.drifted_features) / len(ev) if ev else 0.0

    @property
    def dataset_drift(self) -> bool:
        return reaches_drift_share(len(self.drifted_features), len(self.evaluated), self.drift_share_threshold)

    @property
    def small_window(self) -> bool:
        return self.window_rows is not None and self.window_rows < self.min_window_rows

    @property
    def missing_drift(self) -> list[str]:
        """Features whose missing share moved by more than the tolerance."""
        return [r.feature for r in self.results
                if np.isfinite(r.missing_current) and np.isfinite(r.missing_reference)
                and abs(r.missing_current - r.missing_reference) > self.missing_tolerance]

    def summary(self) -> pd.DataFrame:
        """One-row verdict for the top of the report."""
        return pd.DataFrame([{
            "model": self.model,
            "features checked": len(self.evaluated),
            "drifted": len(self.drifted_features),
            "drift share": self.drift_share,
            "dataset threshold": self.drift_share_threshold,  # the sentence quotes it: shown beside the share
            "dataset drift": "yes" if self.dataset_drift else "no",
            "insufficient data": sum(r.status == "insufficient data" for r in self.results),
            "missing-share changes": len(self.missing_drift),
            "window rows": self.window_rows,
            "small window": "yes" if self.small_window else "no",
        }])

    def ranked(self) -> pd.DataFrame:
        """Drifted features, largest shift first on the one scale shared by every method
        (`magnitude`: KS distance for numeric features, total variation for categorical ones)."""
        df = self.to_frame()
        d = df[df["status"] == "drift"].copy()
        return d.sort_values("magnitude", ascending=False, na_position="last")[
            ["feature", "method", "statistic", "p_value", "effect_size", "min_effect", "borderline", "magnitude"]
        ].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, drifted first (largest shift first)."""
        rows = [{
            "feature": r.feature, "type": r.kind, "method": r.method,
            "statistic": r.statistic, "p_value": r.p_value, "threshold": r.threshold,
            "rule": ("p < threshold" if dm.METHODS[r.method].is_test else "statistic > threshold")
                    + (" and effect ≥ min_effect" if r.min_effect else ""),
            "effect_size": r.effect_size, "min_effect": r.min_effect, "magnitude": r.magnitude,
            "status": r.status, "borderline": "yes" if r.borderline else "",
            "n_reference": r.n_reference, "n_current": r.n_current,
            "same category, written differently": r.canonical,
            "note": "; ".join(x for x in (r.message, r.borderline_note(), r.histogram_note) if x),
        } for r in self.results]
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        order = df["status"].map({"drift": 0, "no drift": 1}).fillna(2)
        return (df.assign(_o=order, _e=-df["magnitude"].fillna(-1)).sort_values(["_o", "_e", "feature"])
                .drop(columns=["_o", "_e"]).reset_index(drop=True))

    def quality(self) -> pd.DataFrame:
        """Missing share vs reference, non-finite values, out-of-range share, new categories."""
        return pd.DataFrame([{
            "feature": r.feature, "missing_reference": r.missing_reference, "missing_current": r.missing_current,
            "missing_change": r.missing_current - r.missing_reference, "missing_values": r.missing_count,
            "missing_flag": "changed" if r.feature in self.missing_drift else "",
            "nonfinite_current": r.nonfinite_current,
            "out_of_range_share": (r.out_of_range / r.n_current) if (r.kind == "numeric" and r.n_current) else None,
            # quoted as the finding quotes them: a new category '10' must not read as a count of 10
            "new_category_count": len(r.new_categories) if r.kind != "numeric" else None,
            "new_categories": ", ".join(repr(c) for c in r.new_categories[:10]) + (" …" if len(r.new_categories) > 10 else ""),
            "new_category_values": r.new_category_rows,
            "new_category_share": (r.new_category_rows / r.n_current) if r.n_current else None,
            "n_current": r.n_current,
        } for r in self.results])

    def quality_caption(self) -> str:
        """The quality table's caption: the missing-share tolerance the data-quality findings quote."""
        from workbench.tables import percent

        return (f"threshold: a missing share that moves by more than missing_tolerance "
                f"{percent(self.missing_tolerance, 0)} is flagged")

    @property
    def findings(self) -> list["Finding"]:
        """The review's verdict as data: the dataset verdict, every drifted feature with method,
        statistic, threshold and effect size, and the data-quality signals (workbench.findings)."""
        from workbench.findings import Finding, anchor_id, num, pct
        from workbench.tables import percent  # the quality table's ratio format, so the sentence matches it

        out: list[Finding] = []
        ev, drifted = self.evaluated, [r for r in self.results if r.drifted]
        drifted.sort(key=lambda r: -(r.effect_size or 0))
        names = ", ".join(r.feature for r in drifted)
        share = (f"{len(drifted)} of {len(ev)} features drifted (share {num(self.drift_share)}"
                 f"{' ≥' if self.dataset_drift else ' <'} the dataset threshold {num(self.drift_share_threshold)})")
        if self.dataset_drift:
            out.append(Finding("alert", "dataset", f"Dataset drift: {share}: {names}.", "dataset", "summary",
                               self.drift_share, {"threshold": self.drift_share_threshold}))
        elif drifted:
            out.append(Finding("info", "dataset", f"No dataset drift, but {share}: {names}.", "dataset", "summary",
                               self.drift_share, {"threshold": self.drift_share_threshold}))
        elif ev:
            out.append(Finding("info", "dataset", f"No drift: none of {len(ev)} features drifted.", "dataset",
                               "summary", 0.0))
        for r in drifted:
            note = f" Borderline: {r.borderline_note().removeprefix('borderline: ')}." if r.borderline else ""
            note += f" Statistic {r.histogram_note}." if r.histogram_note else ""
            out.append(Finding("warning", r.feature, feature_sentence(r) + note, "feature",
                               anchor_id("feature", r.feature),
                               r.effect_size, {"method": r.method, "statistic": r.statistic, "p_value": r.p_value,
                                               "threshold": r.threshold, "effect_size": r.effect_size,
                                               "n_current": r.n_current, "n_reference": r.n_reference,
                                               "borderline": r.borderline, **_histogram_extra(r)}))
        for r in self.results:  # not drifted, but only just: said, so next week's "drift" is no surprise
            if r.borderline and not r.drifted:
                out.append(Finding("info", r.feature, f"{r.feature} is borderline (no drift): significant, but "
                                   f"effect size {num(r.effect_size)} ({dm.effect_label(r.method)}) is just below "
                                   f"min_effect {num(r.min_effect)}, within {r.borderline_tolerance:.0%}: it can flip to drift "
                                   "week to week.", "feature", anchor_id("feature", r.feature),
                                   r.effect_size, {"method": r.method, "statistic": r.statistic,
                                                   "p_value": r.p_value, "effect_size": r.effect_size,
                                                   "min_effect": r.min_effect, "borderline": True}))
        binned = [r for r in self.results if r.histogram_note and not r.drifted]
        if binned:
            worst = max(binned, key=lambda r: ("other side" in r.histogram_note, r.error_bound))
            out.append(Finding("info", "histogram", f"{len(binned)} feature{'s' if len(binned) > 1 else ''} without "
                               f"drift ({', '.join(r.feature for r in binned)}) tested on counts: the window has "
                               f"{self.window_rows or 0:,} rows, more than drift_detection.exact_max_rows; "
                               f"{worst.feature}: {worst.histogram_note}.", "dataset", "summary",
                               float(len(binned)), {"features": {r.feature: _histogram_extra(r) for r in binned}}))
        if self.small_window:
            out.append(Finding("warning", "window", f"Small window: {self.window_rows:,} predictions, fewer than "
                               f"min_window_rows {self.min_window_rows:,}: verdicts are less reliable.", "data_quality",
                               "summary", float(self.window_rows or 0)))
        short = [r.feature for r in self.results if r.status == "insufficient data"]
        if short:
            out.append(Finding("info", "insufficient data", f"Not tested for lack of data: {', '.join(short)}.",
                               "data_quality", "summary", float(len(short))))
        for r in self.results:
            if r.status == IDENTIFIER:
                out.append(Finding("warning", r.feature, f"{r.feature} looks like an identifier: {r.message}; "
                                   "remove it from the drift features.", "data_quality", "data-quality",
                                   float(r.n_current), {"column": r.feature, "count": r.n_current}))
            if r.feature in self.missing_drift:
                count = f"{r.missing_count:,} NULL or NaN values; " if r.missing_count else ""
                out.append(Finding("warning", r.feature, f"{r.feature}: missing share moved from "
                                   f"{percent(r.missing_reference)} in the reference to {percent(r.missing_current)} "
                                   f"({count}tolerance {pct(self.missing_tolerance, 0)}): check the upstream join.",
                                   "data_quality", "data-quality", r.missing_current - r.missing_reference,
                                   {"column": r.feature, "count": r.missing_count}))
            elif r.missing_count:
                out.append(Finding("info", r.feature, f"{r.feature}: {r.missing_count:,} missing values (NULL or NaN) "
                                   f"in the window ({percent(r.missing_current)}; "
                                   f"reference {percent(r.missing_reference)}, "
                                   f"within the tolerance {pct(self.missing_tolerance, 0)}): left out of the test.",
                                   "data_quality", "data-quality", float(r.missing_count),
                                   {"column": r.feature, "count": r.missing_count}))
            if r.new_categories and r.status != IDENTIFIER:
                shown = ", ".join(repr(c) for c in r.new_categories[:5]) + (" …" if len(r.new_categories) > 5 else "")
                rows = (f" ({r.new_category_rows:,} value{'' if r.new_category_rows == 1 else 's'}, {percent(r.new_category_rows / r.n_current)} of the window)"
                        if r.n_current and r.new_category_rows else "")
                out.append(Finding("warning", r.feature, f"{r.feature}: {len(r.new_categories)} categor"
                                   f"{'y' if len(r.new_categories) == 1 else 'ies'} never seen in training{rows}: "
                                   f"{shown}.", "data_quality", "data-quality", float(len(r.new_categories)),
                                   {"column": r.feature, "count": r.new_category_rows}))
            if r.nonfinite_current:
                out.append(Finding("warning", r.feature, f"{r.feature}: {r.nonfinite_current:,} infinite values "
                                   "(±inf) in the window: left out of the test.", "data_quality", "data-quality",
                                   float(r.nonfinite_current), {"column": r.feature, "count": r.nonfinite_current}))
        return out

    @property
    def problems(self) -> list[str]:
        """Nothing of a computed drift report is left uncomputed: a feature without enough data is a
        finding ("not tested for lack of data"), a review that cannot run raises instead."""
        return []

    @property
    def headline(self) -> dict:
        """Headline numbers for the index pages."""
        return {"drift_share": round(self.drift_share, 4), "n_drifted": len(self.drifted_features),
                "n_features": len(self.evaluated), "dataset_drift": int(self.dataset_drift),
                "window_rows": self.window_rows}

    def plot(self, max_features: int | None = None):
        """Reference vs current distributions of every feature (or the first `max_features`, the figure
        saying how many are left out), drifted ones first."""
        from workbench.drift import plots

        return plots.drift_distributions(self, max_features=max_features)


def _histogram_extra(r: FeatureDriftResult) -> dict:
    """A finding's extra for a statistic computed from counts (drift.histogram): {} for an exact one."""
    if r.error_bound is None:
        return {}
    return {"from_histogram": True, "error_bound": r.error_bound if np.isfinite(r.error_bound) else None,
            "histogram_note": r.histogram_note}


def feature_sentence(r: FeatureDriftResult) -> str:
    """'tenure drifted: ks p < 0.001 < threshold 0.05, effect size 0.12 (KS D) ≥ min_effect 0.1.'"""
    from workbench.findings import num, p_value

    if dm.METHODS[r.method].is_test:
        test = f"{r.method} {p_value(r.p_value)} < threshold {num(r.threshold)}"
    else:
        test = f"{r.method} {num(r.statistic)} > threshold {num(r.threshold)}"
    effect = f", effect size {num(r.effect_size)} ({dm.effect_label(r.method)})" \
        if r.effect_size is not None else ""
    floor = f" ≥ min_effect {num(r.min_effect)}" if r.min_effect is not None and effect else ""
    return f"{r.feature} drifted: {test}{effect}{floor}."


def detect_drift(reference: pd.DataFrame | ReferenceProfile, current: pd.DataFrame | Callable[[str, str], CurrentSample | pd.Series],
                 config: DriftDetection, model: str, features: Mapping[str, FeatureDrift] | None = None,
                 window_rows: int | None = None, n_jobs: int = 1) -> DriftReport:
    """Drift of every configured feature of `model`.

    `reference` is a frame or a ReferenceProfile; `current` a frame or a function (feature, kind)
    returning that feature's values or CurrentSample, so a store is read one column at a time.
    Features without a configured method get the automatic choice (see choose_method).
    `n_jobs` threads compare features side by side (memory grows with n_jobs, not with features).
    """
    feats = dict(features if features is not None else config.features_for(model))
    if not feats:
        raise ConfigError(f"drift_detection.models.{model}: no features configured")
    if isinstance(reference, pd.DataFrame):
        missing = [f for f in feats if f not in reference.columns]
        if missing:
            raise ConfigError(f"drift_detection.models.{model}.features.{missing[0]}: not in the reference data; "
                              f"reference columns: {', '.join(reference.columns)}")
        profile = ReferenceProfile.fit(reference, list(feats), config.psi_bins, n_jobs=n_jobs,
                                       kinds={f: c.kind for f, c in feats.items()})
    else:
        profile = reference
        missing = [f for f in feats if f not in profile.features]
        if missing:
            raise ConfigError(f"drift_detection.models.{model}.features.{missing[0]}: not in the reference profile; "
                              f"profiled: {', '.join(profile.features)}")
    if isinstance(current, pd.DataFrame):
        frame = current
        current = lambda f, kind: frame[f]  # noqa: E731
        window_rows = len(frame) if window_rows is None else window_rows

    def one(item: tuple[str, FeatureDrift]) -> FeatureDriftResult:
        name, fcfg = item
        ref = profile[name]
        cur = current(name, ref.kind)
        if isinstance(cur, pd.Series):
            cur = CurrentSample.from_series(name, cur, ref.kind)
        return compare_feature(ref, cur, fcfg.method, fcfg.threshold, config.min_samples, fcfg.min_effect,
                               config.thresholds, config.min_effects, borderline_tolerance=config.borderline_tolerance)

    if n_jobs > 1 and len(feats) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(n_jobs, len(feats))) as pool:
            results = list(pool.map(one, feats.items()))
    else:
        results = [one(item) for item in feats.items()]
    if config.correction == "bh":
        _apply_correction(results)
    return DriftReport(model, results, config.drift_share, window_rows, config.min_window_rows,
                       config.missing_tolerance, config.correction)


# --- the review as the notebook runs it -------------------------------------------

def reference_profile(ctx: "ReviewContext", reference_version: str = "") -> ReferenceProfile:
    """The model's reference profile: from the cache if learned before, else learned and saved."""
    return load_or_fit(ctx, reference_version)


def store_sample(store, model: str, window, ref: FeatureProfile, method: str | None,
                 counted: bool = False) -> CurrentSample:
    """One feature of the window from the store: counted in the database when the method needs only
    counts (categorical features; PSI, JS, chi-square on numeric ones), else streamed as a float array;
    KS / Wasserstein of a window too big to read (`counted`, see counted_window) counted in fine bins."""
    name = ref.name
    method = method or choose_method(ref.kind == "categorical")
    if counted and store.can_aggregate and histogram.applies(ref, method):
        return histogram_sample(store, model, window, ref)
    if store.can_aggregate and ref.kind == "categorical":
        counts, missing = store.category_counts(model, window, name)
        return CurrentSample.from_counts(name, counts, missing)
    if store.can_aggregate and dm.counts_only(method):
        b = store.bin_counts(model, window, name, ref.edges)
        rng = store.bin_counts(model, window, name, [ref.stats["min"], np.nextafter(ref.stats["max"], np.inf)]) \
            if ref.stats else None
        plot = store.bin_counts(model, window, name, plot_edges(ref)) if ref.stats else None
        n = int(b["counts"].sum())
        return CurrentSample(name, "numeric", n, b["missing"], b["nonfinite"], bin_counts=b["counts"],
                             n_out_of_range=int(rng["counts"][0] + rng["counts"][2]) if rng else 0,
                             plot_counts=plot["counts"] if plot else None)
    if store.can_aggregate:
        return CurrentSample.from_values(name, store.feature_values(model, window, name))
    return CurrentSample.from_series(name, store.read_feature(model, window, name), ref.kind)


def histogram_sample(store, model: str, window, ref):
    """One numeric feature of a big window as a CurrentSample known by its counts (window_edges) and
    the plotting bins' counts, both from the engine (prefetched in one scan, see count_requests)."""
    edges, reps = histogram.window_edges(ref)
    b = store.bin_counts(model, window, ref.name, edges)
    hist = histogram.WindowHistogram(edges, reps, np.asarray(b["counts"], dtype=np.int64))
    plot = store.bin_counts(model, window, ref.name, plot_edges(ref))
    return CurrentSample(ref.name, "numeric", hist.n, b["missing"], b["nonfinite"], histogram=hist,
                         n_out_of_range=hist.out_of_range(ref), plot_counts=plot["counts"])


def histogram_requests(ref) -> list[tuple[str, object]]:
    """What `histogram_sample` asks the store for, as (feature, edges) for prefetch_counts."""
    return [(ref.name, histogram.window_edges(ref)[0]), (ref.name, plot_edges(ref))]


def count_requests(profile, features: dict[str, FeatureDrift], counted: bool = False) -> list[tuple[str, object]]:
    """The (feature, edges) counts store_sample will ask the store for (edges None: categories), so
    a store can fetch them all in one scan first (PredictionSource.prefetch_counts); `counted`: the
    KS / Wasserstein features' fine bins too (a window too big to read, see counted_window)."""
    out: list[tuple[str, object]] = []
    for name, fcfg in features.items():
        ref = profile[name]
        if counted and histogram.applies(ref, fcfg.method or choose_method(ref.kind == "categorical")):
            out += histogram_requests(ref)
        elif ref.kind == "categorical":
            out.append((name, None))
        elif dm.counts_only(fcfg.method or choose_method(False)):
            out.append((name, ref.edges))
            if ref.stats:
                out += [(name, [ref.stats["min"], np.nextafter(ref.stats["max"], np.inf)]), (name, plot_edges(ref))]
    return out


def daily_edges(ref, method: str | None):
    """What a feature is counted over per day: None for categories, the reference's bins for
    count methods; False for KS / Wasserstein, whose days are read instead (up to
    daily_exact_max_rows; a bigger day is counted over fine_bins when it comes, see drift.daily)."""
    method = method or choose_method(ref.kind == "categorical")
    if ref.kind == "categorical":
        return None
    if dm.counts_only(method):
        return ref.edges
    return False


HISTORY_WEEKS = 3  # drift over time covers the window and this many weeks before it


def history_span(ctx: "ReviewContext", weeks_back: int = HISTORY_WEEKS):
    """The window and the `weeks_back` weeks before it: what the drift review's sections read."""
    from workbench.config import Window

    return Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)


def preload(ctx: "ReviewContext", features, weeks_back: int = HISTORY_WEEKS) -> None:
    """Let the store read the features over the whole history span once (SQLite; see
    PredictionSource.preload), so the week, the week before and the daily grid are cut from memory."""
    ctx.store.preload(ctx.model.name, history_span(ctx, weeks_back), list(features))


def counted_window(store, config: DriftDetection, n_rows: int) -> bool:
    """Whether a window of `n_rows` rows has its KS / Wasserstein features counted in fine bins by the
    engine instead of read (more rows than drift_detection.exact_max_rows; see drift.histogram)."""
    return store.can_aggregate and config.exact_max_rows is not None and n_rows > config.exact_max_rows


def prefetch(ctx: "ReviewContext", window, profile, features: dict[str, FeatureDrift], counted: bool = False) -> None:
    """Count every feature of `window` in one scan where the store can (see count_requests). A store
    that keeps per-day counts also counts, in the same scan, what the daily grid will ask of these
    days (history.over_time), so the grid finds the window's days kept instead of scanning again.
    `counted`: the window is too big to read (counted_window), its KS / Wasserstein features are counted too."""
    preload(ctx, features)
    if ctx.store.can_aggregate:
        requests = count_requests(profile, features, counted)
        if ctx.store.keeps_daily_counts:
            grid = [(n, daily_edges(profile[n], c.method)) for n, c in features.items()]
            requests += [(n, e) for n, e in grid if e is not False]
        ctx.store.prefetch_counts(ctx.model.name, window, requests)
        # KS / Wasserstein features: their values, in one scan
        if not counted:
            ctx.store.prefetch_values(ctx.model.name, window, [n for n, c in features.items() if profile[n].kind == "numeric"
                                                               and not dm.counts_only(c.method or choose_method(False))])


def review(ctx: "ReviewContext", reference_version: str = "") -> DriftReport:
    """Drift of `ctx.model` over `ctx.window` against its reference profile, one column at a time."""
    from workbench.errors import InsufficientData

    n = ctx.store.count(ctx.model.name, ctx.window)
    if n == 0:
        raise InsufficientData(f"no predictions of {ctx.model.name!r} in {ctx.window.label} "
                               f"({ctx.window.start:%Y-%m-%d} to {ctx.window.end:%Y-%m-%d}) in the {ctx.store.describe()}")
    profile = reference_profile(ctx, reference_version)
    features = {f: c for f, c in features_for(ctx).items() if f in profile.features}
    counted = counted_window(ctx.store, ctx.monitoring.drift_detection, n)
    prefetch(ctx, ctx.window, profile, features, counted)
    return detect_drift(profile, lambda f, kind: store_sample(ctx.store, ctx.model.name, ctx.window, profile[f],
                                                              features[f].method, counted),
                        ctx.monitoring.drift_detection, ctx.model.name, features, window_rows=n)


# the section that shows the comparisons with other tools (Evidently, the Prometheus drift alerts):
# where the alerts' table and the finding on where they disagree with this review are shown
AGREEMENT_ANCHOR = "evidently"
AGREEMENT_COLUMNS = ["feature", "alert", "episodes", "firing_time", "series_time", "first_fired", "this_review"]


def alert_agreement(ctx: "ReviewContext", report: DriftReport, hint: str = "drift") -> TableResult:
    """The Prometheus drift alert rules (params/alerts.yaml, names containing `hint`) replayed over the
    window for this model: per feature, the alerts that fired, their episodes, firing time (wall time,
    `alerts.wall_time`) and series-time (summed over series), and
    this review's verdict with its reason, then the features drifted here that no alert fired for
    (0 episodes; the table; its note names each rule's condition).
    Where they disagree, one info finding says why (they watch a different score, window and threshold),
    quoting the table's firing times."""
    import re

    from workbench import config
    from workbench.infrastructure import alerts
    from workbench.findings import Finding, duration

    if not ctx.has("prometheus") or not ctx.params_path("alerts").is_file():
        return TableResult(pd.DataFrame(columns=AGREEMENT_COLUMNS))  # nothing to compare
    rules = config.load_alert_rules(ctx.params_path("alerts"))
    interval = config.parse_duration(ctx.params.infrastructure.scrape_interval)
    rows, exprs = [], {}
    for g in rules.groups:
        for r in g.rules:
            if r.alert and hint in r.alert.lower():
                exprs[r.alert] = (r.expr, r.for_)
                eps = alerts.replay_rule(ctx.prometheus, r.alert, r.expr, config.parse_duration(r.for_),
                                         config.parse_duration(g.interval) if g.interval else interval, ctx.window)
                for _, e in eps.iterrows():
                    labels = dict(re.findall(r"(\w+)=([^,]*)(?:, |$)", str(e["labels"])))
                    if labels.get("model", ctx.model.name) == ctx.model.name:
                        rows.append({"alert": r.alert, "feature": labels.get("feature", ""), "start": e["start"],
                                     "end": e["end"], "duration": e["duration"]})
    ours = set(report.drifted_features)
    episodes = pd.DataFrame(rows, columns=["alert", "feature", "start", "end", "duration"])
    table = (episodes.groupby("feature").agg(alert=("alert", lambda a: ", ".join(sorted(set(a)))),
                                             episodes=("start", "size"), series_time=("duration", "sum"),
                                             first_fired=("start", "min")).reset_index()
             if len(episodes) else pd.DataFrame(columns=AGREEMENT_COLUMNS[:-1]))
    # firing time as wall time (any series of the feature firing, within the window), never the
    # series' durations summed, which can exceed the week (kept as series-time)
    table["firing_time"] = [alerts.wall_time(g["start"], g["end"], ctx.window)
                            for g in (episodes[episodes["feature"] == f] for f in table["feature"])]
    fired = set(table["feature"]) - {""}
    if exprs and ours - fired:  # the features drifted here that no alert fired for: 0 episodes, side by side
        silent = pd.DataFrame({"feature": sorted(ours - fired), "alert": "", "episodes": 0,
                               "firing_time": pd.Timedelta(0), "series_time": pd.Timedelta(0),
                               "first_fired": pd.NaT})
        table = pd.concat([table, silent], ignore_index=True) if len(table) else silent
    reasons = {x.feature: x.message or x.status for x in report.results}  # why a feature is no drift here
    table["this_review"] = ["drift" if f in ours else f"no drift ({reasons[f]})" if f in reasons else "not checked"
                            for f in table["feature"]]
    table = table[AGREEMENT_COLUMNS]
    names = ", ".join(f"{a} (when {e} for {fr})" for a, (e, fr) in exprs.items())  # read as text: no backticks
    notes = [f"Prometheus drift alert rules replayed on this window for this model: {names}."] if exprs else []
    findings = []
    if exprs and fired != ours:  # the alert and this review disagree: one sentence says why
        firing = table.set_index("feature")["firing_time"]
        alerted = ", ".join(f"{f} ({duration(firing[f])})" for f in sorted(fired)) or "no feature"
        only_alert = sorted(fired - ours)
        only_ours = sorted(ours - fired)
        why = []
        for f in only_alert:
            why.append(f"{f} is no drift here ({reasons[f]})" if f in reasons else f"{f} is not checked here")
        if only_ours:
            why.append(f"not for {', '.join(only_ours)}, which drift{'s' if len(only_ours) == 1 else ''} here")
        findings = [Finding(
            "info", "Prometheus alert", f"{names} fired for {alerted}; {'; '.join(why)}: the alert watches the "
            "serving app's own score per feature with a fixed threshold, this review the whole week against the "
            "reference with each feature's method, threshold and min_effect.", "comparison", AGREEMENT_ANCHOR,
            float(len(fired)), {"alert_features": sorted(fired)})]
    return TableResult(table, findings, notes=notes)


def agreement_table(result: TableResult | None):
    """`alert_agreement`'s table as the report shows it (kinds declared, the rules' conditions as its
    caption), or None when no drift alert rule was replayed (no Prometheus, no such rule)."""
    from workbench import tables
    from workbench.drift.columns import KINDS

    if result is None or not result.notes:
        return None
    return tables.table(result.to_frame(), kinds=KINDS, caption=" ".join(result.notes),
                        empty="no drift alert rule fired for this model")


def volume(ctx: "ReviewContext", freq: str = "h", weeks_back: int = HISTORY_WEEKS) -> pd.DataFrame:
    """Predictions per period over the window and the `weeks_back` weeks before it."""
    w = history_span(ctx, weeks_back)
    if pd.tseries.frequencies.to_offset(freq) == pd.tseries.frequencies.to_offset("h"):
        counts = ctx.store.hourly_counts(ctx.model.name, w)
    else:
        ts = ctx.store.read(ctx.model.name, w, core=["timestamp"])["timestamp"]
        counts = ts.dt.floor(freq).value_counts().sort_index()
    full = pd.date_range(w.start, w.end, freq=freq, inclusive="left")
    counts = counts.reindex(full, fill_value=0)
    return pd.DataFrame({"period": counts.index, "predictions": counts.to_numpy()})


def freshness(ctx: "ReviewContext") -> pd.DataFrame:
    """Newest prediction, its age, and hours without any prediction inside the window."""
    newest = ctx.store.newest(ctx.model.name)
    counts = volume(ctx, "h", 0)
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{
        "newest prediction (UTC)": newest, "age": (now - newest) if newest is not None else None,
        "predictions in window": int(counts["predictions"].sum()),
        "empty hours in window": int((counts["predictions"] == 0).sum()),
    }])
