"""Multivariate drift: a change in how features move together, which per-feature tests cannot see.

Two methods on the same encoded features (numeric standardised, categorical one-hot), both with one
value per day of the window:

- **PCA reconstruction error** (NannyML's data-reconstruction drift): PCA keeping `pca_variance` of
  the variance is fitted on one random half of the reference; a row's error is the Euclidean distance
  between it and its reconstruction from the kept components. The band is the mean ± `sigmas` sd of
  the mean error of the reference's own chunks (the other half, drawn in chunks of the size of the
  value it is compared with); outside the band is drift.
- **Domain classifier**: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) learn
  to tell reference rows from window rows on a bounded sample; the `folds`-fold cross-validated AUC
  of the out-of-fold scores, with a stratified bootstrap interval. 0.5: the two cannot be told apart;
  drift when the interval's lower bound is above `auc_threshold` (an effect floor, as min_effect is
  for the per-feature tests: at 20,000 rows a side an AUC of 0.52 is significant and harmless).
  A day's AUC is that of the day's out-of-fold scores against the reference's.

`multivariate_drift(reference, current, kinds, params)` works on DataFrames; `review(ctx)` reads a
bounded sample of the window day by day through the store and runs it. Bad input (too few rows, no
usable feature) is a problem on the result, never a traceback; missing values are imputed (reference
median, or a "missing" category) and said in a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from workbench.config import MultivariateDrift
    from workbench.context import ReviewContext
    from workbench.findings import Finding

ANCHOR = "multivariate-drift"
MISSING = "<missing>"
MIN_ROWS = 100  # fewer rows on either side (or fewer than MIN_DAY_ROWS in a day): not computed
MIN_DAY_ROWS = 30


def _params(params: "MultivariateDrift | None") -> "MultivariateDrift":
    from workbench.config import MultivariateDrift

    return params if params is not None else MultivariateDrift()


# --- encoding -----------------------------------------------------------------------

class FeatureEncoder:
    """Numeric features as floats (missing and ±inf imputed with the reference median), categorical
    ones one-hot (the `max_categories - 1` most frequent reference categories, the rest as one
    'infrequent' column, missing as its own category; categories never seen in the reference encode
    as all zeros)."""

    def __init__(self, kinds: dict[str, str], max_categories: int = 20):
        self.kinds = kinds
        self.max_categories = max_categories

    def fit(self, reference: pd.DataFrame) -> "FeatureEncoder":
        from sklearn.preprocessing import OneHotEncoder

        self.numeric_ = [f for f, k in self.kinds.items() if k == "numeric" and f in reference]
        self.categorical_ = [f for f, k in self.kinds.items() if k == "categorical" and f in reference]
        self.left_out_ = {}
        medians = {}
        for f in list(self.numeric_):
            x = self._floats(reference[f])
            if not np.isfinite(x).any():
                self.left_out_[f] = "no finite value in the reference"
                self.numeric_.remove(f)
            else:
                medians[f] = float(np.nanmedian(np.where(np.isfinite(x), x, np.nan)))
        self.medians_ = medians
        self.onehot_ = None
        if self.categorical_:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore", max_categories=self.max_categories,
                                         sparse_output=False, dtype=np.float64)
            self.onehot_.fit(self._texts(reference))
        return self

    @staticmethod
    def _floats(s: pd.Series) -> np.ndarray:
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def _texts(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([frame[f].astype(object).where(frame[f].notna(), MISSING).astype(str).to_numpy()
                                for f in self.categorical_])

    @property
    def features_(self) -> list[str]:
        return self.numeric_ + self.categorical_

    def column_features(self) -> list[str]:
        """The feature each column of `transform` encodes, in column order (a categorical feature has
        one column per kept category, plus its 'infrequent' column)."""
        out = list(self.numeric_)
        if self.onehot_ is not None:
            coded = [f"f{i}" for i in range(len(self.categorical_))]  # split at the first "_", names may hold "_"
            for name in self.onehot_.get_feature_names_out(coded):
                out.append(self.categorical_[int(name.split("_", 1)[0][1:])])
        return out

    def missing_share(self, frame: pd.DataFrame) -> dict[str, float]:
        """Share of missing (or non-finite numeric) values per feature in `frame` (only those above 0)."""
        out = {}
        for f in self.numeric_:
            share = float((~np.isfinite(self._floats(frame[f]))).mean()) if len(frame) else 0.0
            if share:
                out[f] = share
        for f in self.categorical_:
            share = float(frame[f].isna().mean()) if len(frame) else 0.0
            if share:
                out[f] = share
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        cols = []
        for f in self.numeric_:
            x = self._floats(frame[f])
            cols.append(np.where(np.isfinite(x), x, self.medians_[f]))
        parts = [np.column_stack(cols)] if cols else []
        if self.onehot_ is not None:
            parts.append(self.onehot_.transform(self._texts(frame)))
        return np.hstack(parts) if parts else np.empty((len(frame), 0))


# --- PCA reconstruction error ---------------------------------------------------------

class ReconstructionDrift:
    """PCA reconstruction error, NannyML's way: fit on one half of the (encoded) reference, band from
    the other half's chunks."""

    def __init__(self, variance: float = 0.65, sigmas: float = 3.0, n_chunks: int = 200, seed: int = 0):
        self.variance, self.sigmas, self.n_chunks, self.seed = variance, sigmas, n_chunks, seed

    def fit(self, reference: np.ndarray) -> "ReconstructionDrift":
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(reference))
        half = len(reference) // 2
        fit_rows, self.held_out_rows_ = order[:half], order[half:]
        self.scaler_ = StandardScaler().fit(reference[fit_rows])
        z = self.scaler_.transform(reference[fit_rows])
        # a variance share (0 < v < 1) keeps as many components as reach it; at least one is kept
        self.pca_ = PCA(n_components=self.variance, svd_solver="full", random_state=self.seed).fit(z)
        self.n_components_ = int(self.pca_.n_components_)
        self.held_out_errors_ = self.errors(reference[self.held_out_rows_])
        return self

    def errors(self, x: np.ndarray) -> np.ndarray:
        """Each row's distance to its reconstruction from the kept components (standardised units)."""
        z = self.scaler_.transform(x)
        back = self.pca_.inverse_transform(self.pca_.transform(z))
        return np.sqrt(((z - back) ** 2).sum(axis=1))

    def column_errors(self, x: np.ndarray) -> np.ndarray:
        """Mean squared residual per column over the rows of `x` (standardised units): the squared
        error of a row is their sum, so a column's share of a change in it is exact."""
        z = self.scaler_.transform(x)
        back = self.pca_.inverse_transform(self.pca_.transform(z))
        return ((z - back) ** 2).mean(axis=0)

    def band(self, n: int) -> tuple[float, float, float]:
        """(mean, lower, upper) for the mean error of `n` rows: the held-out half's mean ± `sigmas` sd,
        the sd being the spread of the mean error of `n_chunks` chunks of `n` rows drawn at random from
        the held-out half (without replacement inside a chunk while it holds `n` rows), widened by the
        standard error of the held-out mean itself (NannyML leaves it out; with a window as large as
        the held-out half it is as large as the chunks' spread and, left out, makes false alarms)."""
        e = self.held_out_errors_
        rng = np.random.default_rng(self.seed + n)
        replace = n > len(e)
        means = np.array([e[rng.choice(len(e), n, replace=replace)].mean() for _ in range(self.n_chunks)])
        mid = float(e.mean())
        sd = float(np.sqrt(means.var(ddof=1) + e.var(ddof=1) / len(e)))
        return mid, mid - self.sigmas * sd, mid + self.sigmas * sd


# --- domain classifier ------------------------------------------------------------------

def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of `score` for the label y = 1 (Mann-Whitney U / n1 n0, ties as
    halves, as sklearn.metrics.roc_auc_score); NaN with one class."""
    from scipy.stats import rankdata

    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_interval(y: np.ndarray, score: np.ndarray, resamples: int = 200, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the AUC from a stratified bootstrap (each class resampled on its own).

    The scores are sorted once; a resample is a count per distinct score, and its AUC the weighted
    Mann-Whitney sum over the distinct scores (ties as halves), so each resample costs O(n), no sort."""
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if not n1 or not n0 or resamples <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values, inv = np.unique(np.asarray(score, dtype=float), return_inverse=True)
    pos_at, neg_at, v = inv[y], inv[~y], len(values)
    out = []
    for start in range(0, resamples, 25):  # 25 resamples at a time: one bincount each side, bounded memory
        b = min(25, resamples - start)
        shift = (np.arange(b) * v)[:, None]
        wp = np.bincount((pos_at[rng.integers(0, n1, (b, n1))] + shift).ravel(), minlength=b * v).reshape(b, v)
        wn = np.bincount((neg_at[rng.integers(0, n0, (b, n0))] + shift).ravel(), minlength=b * v).reshape(b, v)
        below = np.cumsum(wn, axis=1) - wn / 2  # negatives under each distinct score, ties counted as halves
        out.append(np.einsum("ij,ij->i", wp.astype(float), below) / (n1 * n0))
    out = np.concatenate(out)
    a = (1 - level) / 2
    return float(np.quantile(out, a)), float(np.quantile(out, 1 - a))


def out_of_fold_scores(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, threads: int = 1,
                       max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities that a row is from the window (y = 1), from `folds` stratified folds of
    HistGradientBoostingClassifier (no class weights: they cost a weighted binning and the AUC
    needs none), BLAS/OpenMP limited to `threads` threads.
    Returns the scores and each row's fold."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    scores, fold_of = np.full(len(y), np.nan), np.zeros(len(y), dtype=int)
    with threadpool_limits(limits=threads):
        for k, (train, test) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y)):
            clf = HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed)
            clf.fit(x[train], y[train])
            scores[test] = clf.predict_proba(x[test])[:, 1]
            fold_of[test] = k
    return scores, fold_of


# --- the result -------------------------------------------------------------------------

@dataclass
class MultivariateDriftResult:
    """Both methods over the window and per day. `daily` has one row per day of the window: n,
    reconstruction_error with its band and verdict, auc with its interval and verdict."""

    model: str = ""
    features: list[str] = field(default_factory=list)
    n_reference: int = 0
    n_current: int = 0
    reconstruction: dict[str, Any] = field(default_factory=dict)
    classifier: dict[str, Any] = field(default_factory=dict)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        return bool(self.reconstruction or self.classifier)

    @property
    def drifted(self) -> bool:
        return bool(self.reconstruction.get("drifted") or self.classifier.get("drifted"))

    def _days_out(self, column: str) -> list[str]:
        if self.daily.empty or column not in self.daily:
            return []
        return [str(d) for d in self.daily.loc[self.daily[column].astype(bool), "day"]]

    @property
    def findings(self) -> list["Finding"]:
        """A warning per method that flags drift, else one info sentence saying both stayed quiet."""
        from workbench.findings import Finding, interval, num

        out = []
        r, c = self.reconstruction, self.classifier
        extra = {"n_reference": self.n_reference, "n_current": self.n_current, "features": len(self.features)}
        # a value and its band or interval with one number of decimals, as to_frame()'s row reads
        err, err_lo, err_hi = interval(r["value"], r["lower"], r["upper"]) if r else ("", "", "")
        auc, auc_lo, auc_hi = interval(c["auc"], c["low"], c["high"]) if c else ("", "", "")
        if r:
            days = self._days_out("error_drifted")
            side = "above" if r["value"] > r["upper"] else "below"
            text = (f"PCA reconstruction error {err} is {side} its reference band "
                    f"[{err_lo}, {err_hi}] ({self._components()})")
            if r["drifted"]:
                when = f"; {len(days)} of {len(self.daily)} days outside it" if days else ""
                # above: the reference's components no longer describe the rows; below: the rows sit
                # closer to them than the reference's own did (less independent variation)
                how = ("the features no longer move together as in the reference" if side == "above" else
                       "the features move together more tightly than in the reference (less independent variation)")
                carried = self._carried()
                how += f"; {'most of the rise' if side == 'above' else 'most of the fall'} is in {carried}" \
                    if carried else ""
                out.append(Finding("warning", "multivariate", f"Multivariate drift: {text}{when}: {how}.",
                                   "dataset", ANCHOR, r["value"],
                                   {**extra, "method": "pca_reconstruction", **_plain(r), "days_outside": days}))
        if c and c["drifted"]:
            days = self._days_out("auc_drifted")
            when = f"; {len(days)} of {len(self.daily)} days above the threshold" if days else ""
            out.append(Finding("warning", "multivariate", f"Multivariate drift: a classifier tells the window from the "
                               f"reference with AUC {auc} [{auc_lo}, {auc_hi}] "
                               f"(lower bound above {num(c['threshold'])}; 0.5 means indistinguishable){when}.",
                               "dataset", ANCHOR, c["auc"], {**extra, "method": "domain_classifier", **_plain(c),
                                                             "days_above": days}))
        if self.computed and not out:
            parts = []
            if r:
                parts.append(f"PCA reconstruction error {err} within its band [{err_lo}, {err_hi}]")
            if c:
                parts.append(f"domain classifier AUC {auc} [{auc_lo}, {auc_hi}], "
                             f"not above {num(c['threshold'])}")
            out.append(Finding("info", "multivariate", "No multivariate drift: " + "; ".join(parts) + ".",
                               "dataset", ANCHOR, c.get("auc") if c else r.get("value"), extra))
        return out

    @property
    def headline(self) -> dict[str, Any]:
        """The window's AUC and reconstruction error, and the daily AUC as a series."""
        out: dict[str, Any] = {}
        if self.classifier:
            out["multivariate_auc"] = round(self.classifier["auc"], 4)
        if self.reconstruction:
            out["reconstruction_error"] = round(self.reconstruction["value"], 4)
        if not self.daily.empty and "auc" in self.daily:
            out["series"] = {"multivariate_auc": {str(d): (None if pd.isna(v) else round(float(v), 4))
                                                  for d, v in zip(self.daily["day"], self.daily["auc"])}}
        return out

    headline_numbers = headline  # the name ReviewContext.attempt collects

    @property
    def caption(self) -> str:
        """What the table rests on, for its caption (plain text: tables.table escapes every caption, and
        feature names come from the data): the sample sizes, the features, and the notes (missing values
        imputed, features left out)."""
        if not self.computed:
            return "; ".join(self.notes)
        head = (f"{self.n_reference:,} reference and {self.n_current:,} window rows (sampled), "
                f"{len(self.features)} features: {', '.join(self.features)}")
        return "; ".join([head, *self.notes])

    def _components(self) -> str:
        """'10 components keep 67.2% of the variance of the 23 columns encoding 9 features' (numeric
        features one column each, categorical ones one per category), as the finding and the table say it."""
        from workbench.tables import percent

        r = self.reconstruction
        columns = r.get("n_columns", len(self.features))
        of = (f"{len(self.features)} features" if columns == len(self.features) else
              f"the {columns} columns encoding {len(self.features)} features")  # one-hot: a column per category
        return f"{r['n_components']} components keep {percent(r['variance'])} of the variance of {of}"

    def _carried(self, top: int = 3) -> str:
        """'x (49.6%), y (48.9%)': the features carrying the change of the reconstruction error (at
        most `top`, those with 10% of it or more), as the finding and the table say it."""
        from workbench.tables import percent

        shares = (self.reconstruction or {}).get("by_feature") or {}
        return ", ".join(f"{f} ({percent(v)})" for f, v in list(shares.items())[:top] if v >= 0.1)

    def to_frame(self) -> pd.DataFrame:
        """One row per method over the window: value, its band or interval (low, high), the rule, verdict,
        and for the reconstruction error the features carrying its change."""
        rows = []
        r, c = self.reconstruction, self.classifier
        if r:
            rows.append({"method": "PCA reconstruction error", "value": r["value"], "low": r["lower"],
                         "high": r["upper"],
                         "rule": f"outside the reference band (±{r['sigmas']:g} sd); {self._components()}",
                         "verdict": "drift" if r["drifted"] else "no drift",
                         "carried by": self._carried() or "—",
                         "days_outside": len(self._days_out("error_drifted")), "days": len(self.daily)})
        if c:
            rows.append({"method": f"domain classifier AUC ({c['folds']}-fold)", "value": c["auc"], "low": c["low"],
                         "high": c["high"], "rule": f"lower bound > {c['threshold']:g}",
                         "verdict": "drift" if c["drifted"] else "no drift", "carried by": "—",
                         "days_outside": len(self._days_out("auc_drifted")), "days": len(self.daily)})
        # the days counted as the findings count them ("7 of 7 days outside it")
        return pd.DataFrame(rows, columns=["method", "value", "low", "high", "rule", "verdict", "carried by",
                                           "days_outside", "days"])

    def plot(self):
        """Per day: the reconstruction error against its band, and the AUC with its interval against
        the threshold; drifted days in red."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
        d = self.daily
        if d.empty:
            for ax in axes:
                ax.text(0.5, 0.5, "not computed", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
            return fig
        x = np.arange(len(d))
        labels = [str(v)[5:] for v in d["day"]]
        ax = axes[0]
        ax.fill_between(x, d["error_lower"], d["error_upper"], color="#bdc3c7", alpha=0.6, label="reference band")
        ax.plot(x, d["reconstruction_error"], "o-", color="#2c3e50", label="window")
        bad = d["error_drifted"].astype(bool).to_numpy()
        ax.plot(x[bad], d["reconstruction_error"][bad], "o", color="#c0392b", zorder=4)
        ax.set_title("PCA reconstruction error per day", fontsize=9)
        ax = axes[1]
        ax.errorbar(x, d["auc"], yerr=[d["auc"] - d["auc_low"], d["auc_high"] - d["auc"]], fmt="o-",
                    color="#2c3e50", capsize=3)
        bad = d["auc_drifted"].astype(bool).to_numpy()
        ax.plot(x[bad], d["auc"][bad], "o", color="#c0392b", zorder=4)  # above the error bars
        thr = self.classifier.get("threshold")
        if thr is not None:
            ax.axhline(thr, color="#c0392b", ls="--", lw=1, label=f"threshold {thr:g}")
        ax.axhline(0.5, color="#7f8c8d", lw=0.8, label="0.5: no difference")
        ax.set_title("domain classifier AUC per day", fontsize=9)
        for ax in axes:
            ax.set_xticks(list(x))
            ax.set_xticklabels(labels, fontsize=7)
            ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def _plain(d: dict) -> dict:
    return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in d.items()}


# --- the computation -------------------------------------------------------------------

def carried_by(change: np.ndarray, columns: list[str]) -> dict[str, float]:
    """Each feature's share of a change in the mean squared reconstruction error (`change` per
    encoded column, window minus held-out reference; `columns` the feature of each column): among the
    features that moved the way the total did, each one's part of their sum (so the shares add to 1
    and none passes 100% when another feature moved against the total), largest first."""
    per: dict[str, float] = {}
    for f, v in zip(columns, change):
        per[f] = per.get(f, 0.0) + float(v)
    total = sum(per.values())
    if not total or not np.isfinite(total):
        return {}
    same = {f: v for f, v in per.items() if v * total > 0}
    whole = sum(same.values())
    return dict(sorted(((f, v / whole) for f, v in same.items()), key=lambda kv: -kv[1]))


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    idx = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return frame.iloc[idx].reset_index(drop=True)


def multivariate_drift(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str],
                       params: "MultivariateDrift | None" = None, days: pd.Series | None = None,
                       model: str = "") -> MultivariateDriftResult:
    """Both methods on `reference` vs `current` (the features in `kinds`: name -> numeric|categorical);
    `days` (one label per current row) gives the daily values. Each side is sampled down to
    `params.sample_rows` rows first."""
    p = _params(params)
    out = MultivariateDriftResult(model=model)
    kinds = {f: k for f, k in kinds.items() if k in ("numeric", "categorical")}
    absent = [f for f in kinds if f not in reference or f not in current]
    if absent:
        out.notes.append(f"left out (not in both samples): {', '.join(absent)}")
    kinds = {f: k for f, k in kinds.items() if f not in absent}
    if not kinds:
        out.problems.append("no numeric or categorical feature to compare")
        return out
    cur = current.assign(__day=days.to_numpy() if days is not None else "window")
    ref = _sample(reference, p.sample_rows, p.seed)
    cur = _sample(cur, p.sample_rows, p.seed + 1)
    out.n_reference, out.n_current = len(ref), len(cur)
    if len(ref) < 2 * MIN_ROWS or len(cur) < MIN_ROWS:
        out.problems.append(f"too few rows ({len(ref):,} reference, {len(cur):,} window; "
                            f"needs {2 * MIN_ROWS} and {MIN_ROWS})")
        return out
    enc = FeatureEncoder(kinds, p.max_categories).fit(ref)
    out.features = enc.features_
    for f, why in enc.left_out_.items():
        out.notes.append(f"{f}: left out ({why})")
    if not enc.features_:
        out.problems.append("no usable feature (every numeric feature is missing in the reference)")
        return out
    for side, frame in (("reference", ref), ("window", cur)):
        miss = enc.missing_share(frame)
        if miss:
            out.notes.append(f"missing values in the {side}, imputed (median / '{MISSING}' category): "
                             + ", ".join(f"{f} {v:.1%}" for f, v in miss.items()))
    xr, xc = enc.transform(ref), enc.transform(cur)
    day = cur["__day"].to_numpy()
    labels = list(dict.fromkeys(day))
    if p.reconstruction:
        rec = ReconstructionDrift(p.pca_variance, p.sigmas, seed=p.seed).fit(xr)
        errors = rec.errors(xc)
        mid, lo, hi = rec.band(len(errors))
        value = float(errors.mean())
        out.reconstruction = {"value": value, "mean": mid, "lower": lo, "upper": hi, "drifted": not lo <= value <= hi,
                              "n_components": rec.n_components_, "n_columns": int(xr.shape[1]), "sigmas": p.sigmas,
                              "variance": float(rec.pca_.explained_variance_ratio_.sum()),
                              "by_feature": carried_by(rec.column_errors(xc) - rec.column_errors(xr[rec.held_out_rows_]),
                                                       enc.column_features())}
    if p.classifier:
        x = np.vstack([xr, xc])
        y = np.r_[np.zeros(len(xr), int), np.ones(len(xc), int)]
        scores, fold_of = out_of_fold_scores(x, y, p.folds, p.seed, p.threads, p.max_iter)
        a = auc(y, scores)
        low, high = auc_interval(y, scores, p.resamples, seed=p.seed)
        fold_auc = [auc(y[fold_of == k], scores[fold_of == k]) for k in range(p.folds)]
        out.classifier = {"auc": a, "low": low, "high": high, "threshold": p.auc_threshold,
                          "drifted": bool(low > p.auc_threshold), "folds": p.folds, "fold_auc": fold_auc}
    rows = []
    for d in labels:
        mask = day == d
        row: dict[str, Any] = {"day": d, "n": int(mask.sum())}
        if row["n"] < MIN_DAY_ROWS:
            out.notes.append(f"{d}: {row['n']} rows in the sample, fewer than {MIN_DAY_ROWS}: no daily value")
            rows.append(row)
            continue
        if out.reconstruction:
            v = float(errors[mask].mean())
            _, lo, hi = rec.band(row["n"])
            row.update(reconstruction_error=v, error_lower=lo, error_upper=hi, error_drifted=not lo <= v <= hi)
        if out.classifier:
            ref_idx = np.flatnonzero(y == 0)
            idx = np.r_[ref_idx, len(xr) + np.flatnonzero(mask)]
            a_d = auc(y[idx], scores[idx])
            lo_d, hi_d = auc_interval(y[idx], scores[idx], p.resamples, seed=p.seed)
            row.update(auc=a_d, auc_low=lo_d, auc_high=hi_d, auc_drifted=bool(lo_d > p.auc_threshold))
        rows.append(row)
    cols = ["day", "n", "reconstruction_error", "error_lower", "error_upper", "error_drifted",
            "auc", "auc_low", "auc_high", "auc_drifted"]
    out.daily = pd.DataFrame(rows).reindex(columns=cols) if days is not None else pd.DataFrame(columns=cols)
    for c in ("error_drifted", "auc_drifted"):
        out.daily[c] = out.daily[c].astype("boolean").fillna(False).astype(bool)
    return out


def review(ctx: "ReviewContext") -> MultivariateDriftResult:
    """Multivariate drift of `ctx.model` over `ctx.window`: the reference (as the drift review reads it)
    against a bounded sample of the window, read one day at a time through the store (each day
    sampled in proportion to its rows, `sample_rows` in all)."""
    from workbench.config import Window
    from workbench.drift.core import reference_profile
    from workbench.drift.profile_cache import features_for
    from workbench.sources.model_registry import load_reference_file

    p = ctx.monitoring.drift_detection.multivariate
    if not p.enabled:
        return MultivariateDriftResult(model=ctx.model.name, notes=["switched off (drift_detection.multivariate."
                                                                    "enabled: false)"])
    profile = reference_profile(ctx)
    kinds = {f: profile[f].kind for f in features_for(ctx) if f in profile.features}
    if ctx.model.reference:
        reference = load_reference_file(ctx.root / ctx.model.reference)
    else:
        reference = ctx.registry.reference(ctx.model.name, ctx.serving_version())
    reference = _sample(reference[[f for f in kinds if f in reference]], p.sample_rows, p.seed)
    start, end = pd.Timestamp(ctx.window.start), pd.Timestamp(ctx.window.end)
    spans = [Window(max(s, start), min(s + pd.Timedelta(days=1), end), ctx.window.label)
             for s in pd.date_range(start.floor("D"), end, freq="1D") if s < end]
    counts = [ctx.store.count(ctx.model.name, w) for w in spans]
    total = sum(counts)
    parts, labels = [], []
    for k, (w, n) in enumerate(zip(spans, counts)):
        if not n:
            continue
        frame = ctx.store.read(ctx.model.name, w, features=list(kinds), core=[])
        frame = _sample(frame, max(1, round(p.sample_rows * n / total)), p.seed + 10 + k)
        parts.append(frame)
        labels += [f"{w.start:%Y-%m-%d}"] * len(frame)
    if not parts:
        return MultivariateDriftResult(model=ctx.model.name, problems=[
            f"no predictions of {ctx.model.name!r} in {ctx.window.label}"])
    current = pd.concat(parts, ignore_index=True)
    return multivariate_drift(reference, current, kinds, p, days=pd.Series(labels), model=ctx.model.name)
