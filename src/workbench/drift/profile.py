"""Reference profiles and current samples: each feature prepared once, compared many times.

A ReferenceProfile is learned once per model version from the reference (training) data: sorted
values (for KS and Wasserstein), quantile bin edges and their counts (PSI, JS, chi-square),
category counts, min/max, missing share and summary statistics. It is saved (an MLflow artifact
of the model version, or a file cache) and reused, so every week's PSI/JS uses the same bins and
the reference is not reloaded. A CurrentSample is one feature of the current window, cleaned and
sorted (or counted) once, built from a column of values or from counts computed in the database.
"""

from __future__ import annotations

import hashlib
import re
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

OTHER = "__other__"  # the bucket for categories beyond the top-k of a high-cardinality feature
MAX_CATEGORIES = 200  # a categorical with more distinct values keeps its top TOP_K and OTHER
TOP_K = 50
FORMAT_VERSION = 2  # 2: canonical category values, coded numerics typed categorical
MAX_CODES = 20  # a numeric column with at most this many distinct integer values is a coded categorical
HEAD = 4096  # infer_kind calls a numeric column continuous when its first HEAD rows hold > 1000 distinct values
# the outer plotting bins of a numeric feature (drift.core draws them, drift.plots labels them)
BELOW, ABOVE = "below reference min", "above reference max"


def is_categorical(s: pd.Series) -> bool:
    """The automatic type (see infer_kind) is categorical."""
    return infer_kind(s)[0] == "categorical"


def infer_kind(s: pd.Series, max_codes: int = MAX_CODES) -> tuple[str, str]:
    """The automatic type of a reference column, and why.

    - booleans and text that is not all numbers: categorical ("text");
    - numbers (or text that is all numbers) with at most `max_codes` (20) distinct values, all whole
      numbers: categorical ("coded": 0/1 flags, 1-4 contract codes compare as categories);
    - other numbers: numeric.
    Set `type:` on the feature in params/monitoring.yaml to override."""
    text = _distinct_text(s)
    if text is not None:
        # every value is text: its distinct strings give the same verdict as all of them, and a column
        # of a million rows has a handful (parsing and stripping each row was most of fitting a profile)
        s = text
    if pd.api.types.is_bool_dtype(s):
        return "categorical", "booleans"
    if pd.api.types.is_numeric_dtype(s):  # (no dropna: a million-row mask of the index costs more than the rule)
        head = s.iloc[:HEAD].to_numpy(dtype=float, na_value=np.nan)
        if len(np.unique(head[np.isfinite(head)])) > 1000:
            return "numeric", "numbers"  # more than 1000 distinct in the first rows: a continuous column
        x = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        v = s.dropna()
        num = pd.to_numeric(v.astype(str).str.strip(), errors="coerce") if len(v) else v
        if len(v) == 0 or num.isna().any():
            return "categorical", "text"
        x = num.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    distinct = np.unique(x)
    if len(distinct) <= max_codes and len(x) and np.all(distinct == np.round(distinct)):
        return "categorical", f"coded: {len(distinct)} distinct whole numbers (<= {max_codes})"
    return "numeric", f"numbers, {len(distinct)} distinct" if len(distinct) <= 1000 else "numbers"


def _distinct_text(s: pd.Series) -> pd.Series | None:
    """The distinct values of a text column (object or string dtype) when every value present is a str,
    else None. (Hashing keeps 1, 1.0 and True as one key, but never a str with a non-str.)"""
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return None
    counts = s.value_counts(sort=False)
    keys = counts.index[counts.to_numpy() > 0]
    if not all(isinstance(k, str) for k in keys):
        return None
    return pd.Series(list(keys), dtype=object)


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def canonical_category(value) -> str:
    """The form categories are compared in: 1, 1.0, "1", " 1 " and "1.0" are all "1".

    Whole numbers lose their ".0", other numbers are written shortest-exact (repr), numeric-looking
    text is read as a number, other text is stripped of surrounding spaces. Booleans stay "True"/"False"."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return str(int(x)) if x.is_integer() else repr(x)
    text = str(value).strip()
    if _NUMBER.match(text):
        return canonical_category(float(text))
    return text


def canonical_counts(raw: dict) -> tuple[dict[str, int], dict[str, str]]:
    """Counts per raw value merged by canonical form (largest first), and the raw values that changed
    form (repr of the raw value -> canonical), for the report to show."""
    counts: dict[str, int] = {}
    changed: dict[str, str] = {}
    for k, v in raw.items():
        key = canonical_category(k)
        counts[key] = counts.get(key, 0) + int(v)
        if not (isinstance(k, str) and k == key):
            if not isinstance(k, str) and str(k) == key:
                continue  # 3 -> "3": a number written as itself is no change worth showing
            changed[repr(k) if isinstance(k, str) else str(k)] = key
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])), changed


def sorted_quantile(sorted_values: np.ndarray, q) -> np.ndarray:
    """np.quantile(..., method='linear') of an already sorted array, without re-partitioning it
    (the same index and interpolation arithmetic as numpy)."""
    q = np.asarray(q, dtype=float)
    n = len(sorted_values)
    virtual = (n - 1) * q
    lo = np.floor(virtual)
    gamma = virtual - lo
    lo_i = np.clip(lo.astype(np.int64), 0, n - 1)
    hi_i = np.clip(lo_i + 1, 0, n - 1)
    a, b = sorted_values[lo_i], sorted_values[hi_i]
    diff = b - a
    out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return out


def quantile_edges(sorted_values: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Interior bin edges at reference quantiles (duplicates dropped: constant data gives one bin).

    Bins are [edge_i, edge_i+1), the first open below and the last open above.
    """
    if len(sorted_values) == 0:
        return np.array([], dtype=float)
    return np.unique(sorted_quantile(sorted_values, np.linspace(0, 1, n_bins + 1)[1:-1]))


def counts_in_bins(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many of the (sorted) values fall in each bin [edge_i, edge_i+1) (len(edges) + 1 bins)."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate([[0], cuts, [len(sorted_values)]])).astype(np.int64)


def _sorted_copy(fresh: np.ndarray) -> np.ndarray:
    """Sort a freshly made array in place and return it."""
    fresh.sort()
    return fresh


def _clean_numeric(s: pd.Series) -> tuple[np.ndarray, int, int]:
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x)
    n_missing = int(np.isnan(x).sum())
    n_inf = int(len(x) - finite.sum() - n_missing)
    return _sorted_copy(x[finite]), n_missing, n_inf  # x[finite] is a new array: sorting it in place saves a copy


def split_nonfinite(raw: dict) -> tuple[dict, int, int]:
    """Counts per raw category value without the values that are no category: (the rest, missing
    count of NaN / NULL values, count of ±inf numbers). A categorical column holding NaN or ±inf is
    a data-quality problem to count, not a category "nan" or "inf" to compare."""
    rest: dict = {}
    missing = nonfinite = 0
    for k, v in raw.items():
        if k is None or (isinstance(k, (float, np.floating)) and np.isnan(k)) or k is pd.NA or k is pd.NaT:
            missing += int(v)
        elif isinstance(k, (float, np.floating)) and np.isinf(k):
            nonfinite += int(v)
        else:
            rest[k] = rest.get(k, 0) + int(v)
    return rest, missing, nonfinite


def _category_counts(s: pd.Series) -> tuple[dict[str, int], int, dict[str, str], int]:
    """Counts per canonical category, the missing count, the raw values that changed form, and the
    ±inf count."""
    vc = s.value_counts(sort=False, dropna=False)
    raw, missing, nonfinite = split_nonfinite({k: int(v) for k, v in vc.items()})
    counts, changed = canonical_counts(raw)
    return counts, missing, changed, nonfinite


class _Counted:
    """Row counts shared by reference profiles and current samples."""

    n: int
    n_missing: int
    n_nonfinite: int

    @property
    def n_rows(self) -> int:
        return self.n + self.n_missing + self.n_nonfinite

    @property
    def missing_share(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else float("nan")


@dataclass
class FeatureProfile(_Counted):
    """What the drift methods need to know about one reference feature."""

    name: str
    kind: str  # "numeric" | "categorical"
    n: int  # usable values (finite numbers, non-missing categories)
    n_missing: int
    n_nonfinite: int = 0
    sorted_values: np.ndarray | None = field(default=None, repr=False)
    edges: np.ndarray | None = None
    bin_counts: np.ndarray | None = None
    categories: dict[str, int] | None = None
    truncated: bool = False  # categories hold the top-k plus OTHER
    stats: dict[str, float] = field(default_factory=dict)
    raw_forms: dict[str, str] | None = None  # raw category values that were canonicalised
    kind_reason: str = ""  # why the feature has its type (configured, or the automatic rule)


    @classmethod
    def fit(cls, name: str, values: pd.Series, kind: str | None = None, n_bins: int = 10,
            max_categories: int = MAX_CATEGORIES, top_k: int = TOP_K) -> "FeatureProfile":
        """Learn the profile of one reference column (`kind` None: the automatic rule, infer_kind)."""
        reason = "configured"
        if kind is None:
            kind, reason = infer_kind(values)
        if kind == "categorical":
            counts, missing, changed, n_inf = _category_counts(values)
            truncated = len(counts) > max_categories
            if truncated:
                items = list(counts.items())
                counts = dict(items[:top_k]) | {OTHER: sum(v for _, v in items[top_k:])}
            n = sum(counts.values())
            return cls(name, kind, n, missing, n_inf, categories=counts, truncated=truncated,
                       stats={"distinct": float(len(counts))}, raw_forms=changed or None, kind_reason=reason)
        sv, missing, n_inf = _clean_numeric(values)
        edges = quantile_edges(sv, n_bins)
        st = {}
        if len(sv):
            p01, median, p99 = sorted_quantile(sv, [0.01, 0.5, 0.99])
            st = {"min": float(sv[0]), "max": float(sv[-1]), "mean": float(sv.mean()), "std": float(sv.std()),
                  "p01": float(p01), "median": float(median), "p99": float(p99)}
        return cls(name, kind, len(sv), missing, n_inf, sorted_values=sv, edges=edges,
                   bin_counts=counts_in_bins(sv, edges), stats=st, kind_reason=reason)


@dataclass
class CurrentSample(_Counted):
    """One feature of the current window, cleaned once: sorted values, or counts from the database."""

    name: str
    kind: str
    n: int
    n_missing: int
    n_nonfinite: int = 0
    sorted_values: np.ndarray | None = field(default=None, repr=False)
    bin_counts: np.ndarray | None = None  # over the reference profile's edges (numeric, from SQL)
    categories: dict[str, int] | None = None
    n_out_of_range: int | None = None  # from SQL when the values were not read
    plot_counts: np.ndarray | None = None  # over the plotting bins (numeric, from SQL)
    raw_forms: dict[str, str] | None = None  # raw category values that were canonicalised
    from_bins: bool = False  # sorted_values are bin representatives (a day of drift over time), not the values
    histogram: object | None = None  # a big window's counts over fine bins (drift.histogram.WindowHistogram)
    # statistics of this sample against a reference, computed once (drift.methods._pair_memo)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_counts(cls, name: str, raw: dict, n_missing: int) -> "CurrentSample":
        """A categorical sample from counts per raw value (a GROUP BY in the database); NaN and ±inf
        values are counted as missing and non-finite, never as categories."""
        raw, nan, n_inf = split_nonfinite(raw)
        counts, changed = canonical_counts(raw)
        return cls(name, "categorical", sum(counts.values()), n_missing + nan, n_inf, categories=counts,
                   raw_forms=changed or None)

    @classmethod
    def from_values(cls, name: str, values: np.ndarray) -> "CurrentSample":
        """A numeric sample from a float array (NaN = missing)."""
        finite = np.isfinite(values)
        n_missing = int(np.isnan(values).sum())
        return cls(name, "numeric", int(finite.sum()), n_missing, int(len(values) - finite.sum() - n_missing),
                   sorted_values=_sorted_copy(values[finite]))

    @classmethod
    def from_series(cls, name: str, values: pd.Series, kind: str) -> "CurrentSample":
        if kind == "categorical":
            counts, missing, changed, n_inf = _category_counts(values)
            return cls(name, kind, sum(counts.values()), missing, n_inf, categories=counts,
                       raw_forms=changed or None)
        sv, missing, n_inf = _clean_numeric(values)
        return cls(name, kind, len(sv), missing, n_inf, sorted_values=sv)

    def binned(self, profile: FeatureProfile) -> np.ndarray:
        """Counts over the profile's bins (numeric)."""
        if self.bin_counts is not None:
            return self.bin_counts
        return counts_in_bins(self.sorted_values, profile.edges)

    def out_of_range(self, profile: FeatureProfile) -> int:
        """Values below the reference minimum or above its maximum (numeric)."""
        if self.n_out_of_range is not None:
            return self.n_out_of_range
        if self.sorted_values is None or not profile.stats:
            return 0
        lo = np.searchsorted(self.sorted_values, profile.stats["min"], side="left")
        hi = len(self.sorted_values) - np.searchsorted(self.sorted_values, profile.stats["max"], side="right")
        return int(lo + hi)

    def new_categories(self, profile: FeatureProfile) -> list[str]:
        """Categories seen now but never in the reference (unknowable when the reference was truncated)."""
        if self.categories is None or profile.categories is None or profile.truncated:
            return []
        return sorted(set(self.categories) - set(profile.categories))


def aligned_category_counts(profile: FeatureProfile, current: CurrentSample) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Reference and current counts over the same categories (the reference's, then new ones).

    With a truncated reference, current categories outside its top-k are counted as OTHER.
    """
    ref = dict(profile.categories or {})
    cur: dict[str, int] = {}
    for k, v in (current.categories or {}).items():
        key = k if (k in ref or not profile.truncated) else OTHER
        cur[key] = cur.get(key, 0) + v
    cats = list(ref) + sorted(set(cur) - set(ref))
    return cats, np.array([ref.get(c, 0) for c in cats], dtype=np.int64), np.array([cur.get(c, 0) for c in cats], dtype=np.int64)


@dataclass
class ReferenceProfile:
    """Profiles of every monitored feature of one model version's reference data."""

    features: dict[str, FeatureProfile]
    n_bins: int = 10
    source: str = ""

    @classmethod
    def fit(cls, reference: pd.DataFrame, features: list[str] | None = None, n_bins: int = 10,
            source: str = "", n_jobs: int = 1, kinds: dict[str, str | None] | None = None) -> "ReferenceProfile":
        """Profile each feature (`kinds`: configured types; others by infer_kind); `n_jobs` threads
        share the work (numpy's sorts release the GIL)."""
        cols = features or list(reference.columns)
        kinds = kinds or {}
        fit = lambda c: FeatureProfile.fit(c, reference[c], kind=kinds.get(c), n_bins=n_bins)  # noqa: E731
        if n_jobs > 1 and len(cols) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(n_jobs, len(cols))) as pool:
                return cls(dict(zip(cols, pool.map(fit, cols))), n_bins, source)
        return cls({c: fit(c) for c in cols}, n_bins, source)

    def __getitem__(self, name: str) -> FeatureProfile:
        return self.features[name]

    def summary(self) -> pd.DataFrame:
        """One row per feature: type, size, missing share, range or distinct count."""
        return pd.DataFrame([{"feature": f.name, "type": f.kind, "why": f.kind_reason, "n": f.n, "missing_share": f.missing_share,
                              **{k: f.stats.get(k) for k in ("min", "median", "max", "mean", "std")},
                              "categories": len(f.categories) if f.categories else None}
                             for f in self.features.values()])

    # --- persistence ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT_VERSION, "n_bins": self.n_bins, "source": self.source, "features": {}}
        arrays = {}
        for i, (name, f) in enumerate(self.features.items()):
            meta["features"][name] = {"kind": f.kind, "n": f.n, "n_missing": f.n_missing,
                                      "n_nonfinite": f.n_nonfinite, "categories": f.categories,
                                      "truncated": f.truncated, "stats": f.stats, "index": i,
                                      "raw_forms": f.raw_forms, "kind_reason": f.kind_reason}
            if f.kind == "numeric":
                arrays[f"v{i}"] = f.sorted_values
                arrays[f"e{i}"] = f.edges
                arrays[f"c{i}"] = f.bin_counts
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ReferenceProfile":
        z = np.load(io.BytesIO(data), allow_pickle=False)
        meta = json.loads(z["__meta__"].tobytes().decode())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"profile format {meta.get('format')} is not {FORMAT_VERSION}")
        feats = {}
        for name, m in meta["features"].items():
            i = m["index"]
            numeric = m["kind"] == "numeric"
            feats[name] = FeatureProfile(
                name, m["kind"], m["n"], m["n_missing"], m["n_nonfinite"],
                sorted_values=z[f"v{i}"] if numeric else None, edges=z[f"e{i}"] if numeric else None,
                bin_counts=z[f"c{i}"] if numeric else None, categories=m["categories"],
                truncated=m["truncated"], stats=m["stats"], raw_forms=m.get("raw_forms"),
                kind_reason=m.get("kind_reason", ""))
        return cls(feats, meta["n_bins"], meta["source"])

    def save(self, path: str | Path) -> Path:
        from workbench import atomic

        return atomic.write_bytes(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> "ReferenceProfile":
        return cls.from_bytes(Path(path).read_bytes())


def profile_key(model: str, version: str, features: list[str], n_bins: int, source: str) -> str:
    """A stable name for a profile: changes when the features, bins or reference change."""
    h = hashlib.sha256(json.dumps([model, version, sorted(features), n_bins, source, FORMAT_VERSION]).encode())
    return h.hexdigest()[:16]
