"""The drift review: per-feature drift against the reference with the configured methods,
plus the data-quality numbers that come with it (missing and non-finite shares)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import pandas as pd

from workbench.config import DriftDetection, FeatureDrift
from workbench.drift_methods import METHODS, get_method
from workbench.errors import ConfigError

if TYPE_CHECKING:
    from workbench.context import ReviewContext

MIN_SAMPLES = 30
AUTO_LARGE = 1000


def is_categorical(s: pd.Series) -> bool:
    """Strings, booleans and categoricals are categorical; numbers are numeric."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def choose_method(categorical: bool, n_reference: int) -> str:
    """Automatic method (Evidently's rule): large references get a distance, small ones a test.

    numeric: wasserstein if the reference has > 1000 values, else ks;
    categorical: js if > 1000, else chi2.
    """
    if categorical:
        return "js" if n_reference > AUTO_LARGE else "chi2"
    return "wasserstein" if n_reference > AUTO_LARGE else "ks"


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
    status: str  # "drift", "no drift", "insufficient data", "error"
    n_reference: int
    n_current: int
    missing_reference: float
    missing_current: float
    nonfinite_current: int = 0
    message: str = ""
    reference_dist: pd.Series | None = field(default=None, repr=False)
    current_dist: pd.Series | None = field(default=None, repr=False)


def _clean(s: pd.Series, categorical: bool) -> tuple[np.ndarray, float, int]:
    """Values without missing/non-finite ones, the missing share and the count of ±inf."""
    n = len(s)
    missing = s.isna()
    if categorical:
        vals = s[~missing].astype(str).to_numpy()
        return vals, (float(missing.mean()) if n else float("nan")), 0
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    inf = np.isinf(x)
    vals = x[np.isfinite(x)]
    return vals, (float(np.isnan(x).mean()) if n else float("nan")), int(inf.sum())


def _distributions(ref: np.ndarray, cur: np.ndarray, categorical: bool) -> tuple[pd.Series, pd.Series]:
    if categorical:
        r = pd.Series(ref).value_counts(normalize=True)
        c = pd.Series(cur).value_counts(normalize=True)
        idx = r.index.union(c.index)
        return r.reindex(idx, fill_value=0.0), c.reindex(idx, fill_value=0.0)
    lo, hi = np.quantile(ref, [0.005, 0.995]) if len(ref) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, 31)
    mids = (edges[:-1] + edges[1:]) / 2
    rc = np.histogram(np.clip(ref, lo, hi), edges)[0]
    cc = np.histogram(np.clip(cur, lo, hi), edges)[0]
    return (pd.Series(rc / max(rc.sum(), 1), index=mids.round(4)),
            pd.Series(cc / max(cc.sum(), 1), index=mids.round(4)))


def feature_drift(feature: str, reference: pd.Series, current: pd.Series, method: str | None = None,
                  threshold: float | None = None, n_bins: int = 10, min_samples: int = MIN_SAMPLES
                  ) -> FeatureDriftResult:
    """Drift of one feature: clean both sides, pick the method, compute, decide."""
    categorical = is_categorical(reference.dropna()) if reference.notna().any() else is_categorical(current)
    ref, miss_ref, _ = _clean(reference, categorical)
    cur, miss_cur, n_inf = _clean(current, categorical)
    name = method or choose_method(categorical, len(ref))
    m = get_method(name, feature)
    thr = m.default_threshold if threshold is None else threshold
    base = dict(feature=feature, kind="categorical" if categorical else "numeric", method=name, threshold=thr,
                n_reference=len(ref), n_current=len(cur), missing_reference=miss_ref, missing_current=miss_cur,
                nonfinite_current=n_inf)
    if len(ref) < min_samples or len(cur) < min_samples:
        return FeatureDriftResult(**base, statistic=None, p_value=None, drifted=None, status="insufficient data",
                                  message=f"needs {min_samples} values on each side; "
                                          f"reference has {len(ref)}, current has {len(cur)}")
    try:
        r = m.func(ref, cur, categorical=categorical, n_bins=n_bins)
    except ValueError as exc:
        raise ConfigError(f"feature {feature!r}: {exc}") from exc
    drifted = m.drifted(r, thr)
    rd, cd = _distributions(ref, cur, categorical)
    return FeatureDriftResult(**base, statistic=r.statistic, p_value=r.p_value, drifted=drifted,
                              status="drift" if drifted else "no drift", reference_dist=rd, current_dist=cd)


@dataclass
class DriftReport:
    """Per-feature drift results and the dataset verdict."""

    model: str
    results: list[FeatureDriftResult]
    drift_share_threshold: float = 0.5

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
        return bool(self.evaluated) and self.drift_share >= self.drift_share_threshold

    def summary(self) -> pd.DataFrame:
        """One-row verdict for the top of the report."""
        return pd.DataFrame([{
            "model": self.model,
            "features checked": len(self.evaluated),
            "drifted": len(self.drifted_features),
            "drift share": round(self.drift_share, 3),
            "dataset drift": "yes" if self.dataset_drift else "no",
            "insufficient data": sum(r.status == "insufficient data" for r in self.results),
        }])

    def to_frame(self) -> pd.DataFrame:
        """One row per feature, drifted first."""
        rows = [{
            "feature": r.feature, "type": r.kind, "method": r.method,
            "statistic": r.statistic, "p_value": r.p_value, "threshold": r.threshold,
            "rule": "p < threshold" if METHODS[r.method].kind == "p_value" else "statistic > threshold",
            "status": r.status, "n_reference": r.n_reference, "n_current": r.n_current,
            "missing_reference": r.missing_reference, "missing_current": r.missing_current,
            "nonfinite_current": r.nonfinite_current, "note": r.message,
        } for r in self.results]
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        order = df["status"].map({"drift": 0, "no drift": 1}).fillna(2)
        return df.assign(_o=order).sort_values(["_o", "feature"]).drop(columns="_o").reset_index(drop=True)

    def quality(self) -> pd.DataFrame:
        """Missing share per feature, current vs reference, and non-finite counts."""
        return pd.DataFrame([{
            "feature": r.feature, "missing_reference": r.missing_reference, "missing_current": r.missing_current,
            "missing_change": r.missing_current - r.missing_reference, "nonfinite_current": r.nonfinite_current,
            "n_current": r.n_current,
        } for r in self.results])

    def plot(self, max_features: int = 12):
        """Reference vs current distributions per feature, drifted ones first."""
        from workbench import plots

        return plots.drift_distributions(self, max_features=max_features)


def detect_drift(reference: pd.DataFrame, current: pd.DataFrame | Callable[[str], pd.Series],
                 config: DriftDetection, model: str, features: Mapping[str, FeatureDrift] | None = None
                 ) -> DriftReport:
    """Drift of every configured feature of `model`.

    `current` is a frame or a function returning one feature's values, so a store can be read one
    column at a time. Features without configuration get the automatic method (see choose_method).
    """
    feats = dict(features if features is not None else config.features_for(model))
    if not feats:
        raise ConfigError(f"drift_detection.models.{model}: no features configured")
    get = current.__getitem__ if isinstance(current, pd.DataFrame) else current
    results = []
    for name, fcfg in feats.items():
        if name not in reference.columns:
            raise ConfigError(f"drift_detection.models.{model}.features.{name}: not in the reference data; "
                              f"reference columns: {', '.join(reference.columns)}")
        thr = None
        if fcfg.method is not None:
            thr = config.threshold_for(fcfg.method, fcfg)
        elif fcfg.threshold is not None:
            thr = fcfg.threshold
        results.append(feature_drift(name, reference[name], get(name), fcfg.method, thr, config.psi_bins))
    return DriftReport(model, results, config.drift_share)


# --- the review as the notebook runs it -------------------------------------------

def review(ctx: "ReviewContext", reference_version: str = "") -> DriftReport:
    """Drift of `ctx.model` over `ctx.window` against its reference in MLflow, one column at a time."""
    if ctx.model.reference:
        from workbench.sources.model_registry import load_reference_file

        reference = load_reference_file(ctx.root / ctx.model.reference)
    else:
        reference = ctx.registry.reference(ctx.model.name, reference_version or ctx.latest_version())
    features = ctx.monitoring.drift_detection.features_for(ctx.model.name)
    if ctx.store.count(ctx.model.name, ctx.window) == 0:
        from workbench.errors import InsufficientData

        raise InsufficientData(f"no predictions of {ctx.model.name!r} in {ctx.window.label} "
                               f"({ctx.window.start:%Y-%m-%d} to {ctx.window.end:%Y-%m-%d}) in the {ctx.store._where()}")
    return detect_drift(reference, lambda f: ctx.store.read_feature(ctx.model.name, ctx.window, f),
                        ctx.monitoring.drift_detection, ctx.model.name, features)


def volume(ctx: "ReviewContext", freq: str = "h", weeks_back: int = 3) -> pd.DataFrame:
    """Predictions per period over the window and the `weeks_back` weeks before it."""
    from workbench.config import Window

    w = Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)
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


