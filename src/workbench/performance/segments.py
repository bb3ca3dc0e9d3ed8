"""Weak segments: where the headline metric dropped, found among slices of one and two features.

A *slice* is one value of a feature (numeric features cut at quantiles of the reference window) or one
pair of values of two features. For every slice with enough support this week (`min_share` of the
labelled predictions and `min_rows` rows) the review asks two one-sided questions:

- did the slice get worse than in the reference window (the weeks before)? Fisher's exact test on its
  correct/wrong counts now and then (accuracy), the Mann-Whitney U test on its absolute errors now and
  then (MAE);
- did it get worse *by more than the rest did*? Woolf's test of the two odds ratios (accuracy) or a
  z-test of the two changes of the MAE; a two-feature slice is compared with the other rows of each of
  its one-feature parents, so a pair is flagged only for what its parents do not already carry. Without
  a reference window: is it worse than the rest of this week (Fisher / Mann-Whitney)?

The slice's p-value is the larger of the two (an intersection-union test: flagged only when both
hold), and Benjamini-Hochberg over all slices tried controls the false discovery rate at `alpha`.
Flagged values of one feature are merged into one segment ("contract = One year / Two year"); a segment
that another explains (no significant drop outside the other, which still dropped outside it) is left
out, and a two-feature slice is kept only when neither of its one-feature parents is flagged.

Segments are ranked by what they cost the whole: the metric the model would have kept had the segment
kept its reference value,

    cost = share of this week's predictions in the segment x (segment's reference metric - its metric now)

and "it accounts for X% of the drop" is that cost over the whole model's drop.

Everything is computed from *cells* (counts per slice x window x outcome), which the database counts in
one grouped query (workbench.sources.segment_counts); `cells_from_frames` builds the same cells from
DataFrames (tests, in-memory data). For MAE, absolute errors are counted on fine bins (quantiles of the
reference's errors): the Mann-Whitney test then runs on binned errors (ties by bin, with the tie
correction) and the bootstrap resamples bins with their mean error.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from workbench.findings import Finding

MISSING = "(missing)"
ANCHOR = "weak-segments"
CELL_COLUMNS = ["f1", "v1", "f2", "v2", "current", "y", "n", "err"]
BY_VALUE_COLUMNS = ["feature", "value", "rows", "rows_reference", "metric", "reference"]
# how tables.table formats the columns of segments_frame() and to_frame() (tables.KINDS)
KINDS: dict[str, str] = {"share": "ratio", "rows": "count", "accuracy": "metric", "mae": "metric", "metric": "metric",
                         "ci_low": "metric", "ci_high": "metric", "reference": "metric", "rest": "metric",
                         "share_of_drop": "ratio", "cost": "metric", "q_value": "p_value", "q": "p_value",
                         "p": "p_value", "p_reference": "p_value", "p_rest": "p_value"}

# segments_frame()'s metric and its interval, written with one number of decimals as the findings write them
INTERVALS: dict[str, tuple[str, str]] = {"accuracy": ("ci_low", "ci_high"), "mae": ("ci_low", "ci_high"),
                                         "metric": ("ci_low", "ci_high")}


# --- cells -------------------------------------------------------------------------------------------

def canonical(value: Any) -> str:
    """A category value as a label, the same whichever way a database returns it (1, 1.0, '1', '1.0')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    text = str(value)
    if text in ("", "NaN", "nan", "None"):
        return MISSING
    try:
        x = float(text)
    except ValueError:
        return text
    return str(int(x)) if math.isfinite(x) and x == int(x) else text


def quantile_edges(values, bins: int) -> list[float]:
    """Interior cut points of `bins` equal-count bins of the (reference) values, duplicates dropped."""
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), float)
    v = v[np.isfinite(v)]
    if not len(v) or bins < 2:
        return []
    return sorted({float(x) for x in np.quantile(v, np.arange(1, bins) / bins)})


def bin_label(code: Any, edges: list[float]) -> str:
    """The label of bin `code` (0: below the first edge, i: [edge_i-1, edge_i), -1: ±inf, -2: missing)."""
    from workbench.findings import num

    c = int(float(code)) if canonical(code) != MISSING else -2
    if c == -2:
        return MISSING
    if c == -1:
        return "±inf"
    if not edges:
        return "all"
    if c == 0:
        return f"< {num(edges[0])}"
    if c >= len(edges):
        return f"≥ {num(edges[-1])}"
    return f"[{num(edges[c - 1])}, {num(edges[c])})"


def feature_kinds(reference: pd.DataFrame, features: Iterable[str], bins: int, max_categories: int
                  ) -> dict[str, list[float] | None]:
    """Per feature: bin edges from the reference's quantiles (numeric with more than `max_categories`
    values), or None (categorical: one slice per value)."""
    out: dict[str, list[float] | None] = {}
    for f in features:
        s = reference[f]
        num = pd.to_numeric(s, errors="coerce") if s.dtype == object else s
        if pd.api.types.is_numeric_dtype(num) and not pd.api.types.is_bool_dtype(num) \
                and num.nunique(dropna=True) > max_categories:
            out[f] = quantile_edges(num, bins)
        else:
            out[f] = None
    return out


def _codes(values: pd.Series, edges: list[float] | None) -> np.ndarray:
    """Raw codes as the database writes them: the value (categorical) or the bin index (numeric: 0
    below the first edge, -1 ±inf, -2 missing); label_cells names them."""
    if edges is None:
        return values.to_numpy(dtype=object)
    v = np.asarray(pd.to_numeric(values, errors="coerce"), float)
    code = np.searchsorted(np.asarray(edges, float), v, side="right").astype(np.int64)
    code[np.isinf(v)] = -1
    code[np.isnan(v)] = -2
    return code


def label_cells(cells: pd.DataFrame, features: dict[str, list | None]) -> pd.DataFrame:
    """Cells with each code replaced by its label (canonical category, or the bin as '[a, b)'), cells
    whose codes label alike (1 and 1.0 of one category) added together."""
    if cells.empty:
        return cells.reindex(columns=CELL_COLUMNS)
    out = cells.copy()
    for f_col, v_col in (("f1", "v1"), ("f2", "v2")):
        labels = np.empty(len(out), dtype=object)
        for f, idx in out.groupby(f_col, sort=False).indices.items():
            if not f:
                labels[idx] = ""
                continue
            edges = features[f]
            raw = out[v_col].to_numpy(dtype=object)[idx]
            inv, uniq = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=False)
            names = [canonical(u) if edges is None else bin_label(u, edges) for u in uniq]
            labels[idx] = np.asarray(names, dtype=object)[inv]
        out[v_col] = labels
    return out.groupby(CELL_COLUMNS[:6], as_index=False, sort=False, dropna=False)[["n", "err"]].sum()[CELL_COLUMNS]


def _outcome(df: pd.DataFrame, kind: str, error_edges: list[float] | None):
    pred = pd.to_numeric(df["prediction"], errors="coerce").to_numpy(float)
    actual = pd.to_numeric(df["actual_outcome"], errors="coerce").to_numpy(float)
    if kind == "classification":
        return (pred == actual).astype(np.int64), np.zeros(len(df))
    err = np.abs(pred - actual)
    return np.searchsorted(np.asarray(error_edges or [], float), err, side="right").astype(np.int64), err


def cells_from_frames(current: pd.DataFrame, reference: pd.DataFrame | None, features: dict[str, list | None],
                      kind: str, error_edges: list[float] | None = None) -> pd.DataFrame:
    """The cells of every one- and two-feature slice from labelled rows in memory, labelled: the same
    table the database counts (sources.segment_counts.segment_cells, then label_cells). `features` maps
    each feature to its bin edges (None: categorical)."""
    parts = []
    for flag, df in ((1, current), (0, reference)):
        if df is None or df.empty:
            continue
        df = df[df["actual_outcome"].notna() & df["prediction"].notna()]
        y, err = _outcome(df, kind, error_edges)
        keep = np.isfinite(err)  # as the database: a missing or infinite error is in no cell
        parts.append((flag, df[keep], y[keep], err[keep]))
    if not parts:
        return pd.DataFrame(columns=CELL_COLUMNS)
    cur = np.concatenate([np.full(len(y), flag) for flag, _, y, _ in parts])
    y = np.concatenate([p[2] for p in parts])
    err = np.concatenate([p[3] for p in parts])
    n_y = int(y.max()) + 1 if len(y) else 1
    names = list(features)
    codes, uniques = [], []
    for f in names:  # each feature's raw codes factorized once; every slice set is one bincount
        raw = np.concatenate([np.asarray(_codes(df[f], features[f]), dtype=object) for _, df, _, _ in parts])
        c, u = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=False)
        codes.append(c.astype(np.int64))
        uniques.append(np.asarray(u, dtype=object))
    out = []
    for i, a in enumerate(names):
        for j in [-1, *range(i + 1, len(names))]:
            kb = len(uniques[j]) if j >= 0 else 1
            cb = codes[j] if j >= 0 else 0
            key = ((codes[i] * kb + cb) * 2 + cur) * n_y + y
            size = len(uniques[i]) * kb * 2 * n_y
            n = np.bincount(key, minlength=size)
            e = np.bincount(key, weights=err, minlength=size)
            hit = np.flatnonzero(n)
            rest, yy = np.divmod(hit, n_y)
            rest, cc = np.divmod(rest, 2)
            va, vb = np.divmod(rest, kb)
            out.append(pd.DataFrame({"f1": a, "v1": uniques[i][va], "f2": names[j] if j >= 0 else "",
                                     "v2": uniques[j][vb] if j >= 0 else "", "current": cc, "y": yy,
                                     "n": n[hit], "err": e[hit]}))
    return label_cells(pd.concat(out, ignore_index=True)[CELL_COLUMNS], features)


# --- statistics --------------------------------------------------------------------------------------

def _normal_sf(z: float) -> float:
    """P(Z > z) of a standard normal (scipy.stats.norm.sf without its per-call overhead)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def binned_mannwhitney_greater(h1: np.ndarray, h2: np.ndarray) -> float:
    """One-sided p of the Mann-Whitney U test that the values counted in histogram `h1` are larger than
    those in `h2`, from counts per (ordered) bin: tied by bin, normal approximation with the tie
    correction and continuity correction (equal to scipy.stats.mannwhitneyu(x, y, alternative='greater',
    method='asymptotic') on the bin indices)."""
    h1, h2 = np.asarray(h1, float), np.asarray(h2, float)
    n1, n2 = h1.sum(), h2.sum()
    if n1 == 0 or n2 == 0:
        return 1.0
    t = h1 + h2
    midrank = np.cumsum(t) - (t - 1) / 2
    u = float((h1 * midrank).sum() - n1 * (n1 + 1) / 2)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - float((t ** 3 - t).sum()) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return _normal_sf(z)


def _fisher_less(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact p that the share k1/n1 is below k2/n2."""
    from scipy.stats import fisher_exact

    return float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="less").pvalue)


@dataclass
class _Counts:
    """A slice's (or the whole's) counts per window: rows per outcome cell y, and summed absolute
    errors per cell (regression)."""

    cur: np.ndarray
    ref: np.ndarray
    err_cur: np.ndarray
    err_ref: np.ndarray

    @classmethod
    def zeros(cls, n_y: int) -> "_Counts":
        return cls(np.zeros(n_y), np.zeros(n_y), np.zeros(n_y), np.zeros(n_y))

    @property
    def n_cur(self) -> int:
        return int(self.cur.sum())

    @property
    def n_ref(self) -> int:
        return int(self.ref.sum())

    def metric(self, kind: str, current: bool = True) -> float | None:
        h, e = (self.cur, self.err_cur) if current else (self.ref, self.err_ref)
        n = h.sum()
        if not n:
            return None
        return float(h[1] / n) if kind == "classification" else float(e.sum() / n)

    def __add__(self, o: "_Counts") -> "_Counts":
        return _Counts(self.cur + o.cur, self.ref + o.ref, self.err_cur + o.err_cur, self.err_ref + o.err_ref)

    def __sub__(self, o: "_Counts") -> "_Counts":
        return _Counts(self.cur - o.cur, self.ref - o.ref, self.err_cur - o.err_cur, self.err_ref - o.err_ref)


def _counts_of(cells: pd.DataFrame, n_y: int) -> dict[tuple, _Counts]:
    """Counts per slice key (f1, v1, f2, v2) from the cells."""
    if cells.empty:
        return {}
    keys = cells[["f1", "v1", "f2", "v2"]].astype(str)
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    k = len(uniques)
    cur = cells["current"].to_numpy().astype(int)
    y = cells["y"].to_numpy().astype(int)
    n = cells["n"].to_numpy().astype(float)
    err = cells["err"].to_numpy().astype(float)
    grid = np.zeros((4, k, n_y))
    for j, (sel, w) in enumerate(((cur == 1, n), (cur == 0, n), (cur == 1, err), (cur == 0, err))):
        np.add.at(grid[j], (codes[sel], y[sel]), w[sel])
    return {tuple(u): _Counts(grid[0, i], grid[1, i], grid[2, i], grid[3, i]) for i, u in enumerate(uniques)}


def _worse_p(kind: str, s: _Counts, other_cur: np.ndarray, other_err: np.ndarray) -> float:
    """One-sided p that the slice's current metric is worse than `other` (the slice's reference, or the
    rest of this week); 1 when the point estimate is not worse (no test spent on it)."""
    n1, n2 = s.cur.sum(), other_cur.sum()
    if not n1 or not n2:
        return 1.0
    if kind == "classification":
        k1, k2 = s.cur[1], other_cur[1]
        if k1 / n1 >= k2 / n2:
            return 1.0
        return _fisher_less(int(k1), int(n1), int(k2), int(n2))
    if s.err_cur.sum() / n1 <= other_err.sum() / n2:
        return 1.0
    return binned_mannwhitney_greater(s.cur, other_cur)


def excess_drop_p(kind: str, s: _Counts, rest: _Counts) -> float:
    """One-sided p that the slice got worse (this week vs its reference) by more than the rest did.
    Accuracy: Woolf's test of the two odds ratios (correct now vs in the reference; log odds ratios
    with 0.5 added to every cell, their variances summed); MAE: a z-test of the difference of the two
    changes of the mean absolute error (variances from the error bins' means)."""
    if min(s.cur.sum(), s.ref.sum(), rest.cur.sum(), rest.ref.sum()) == 0:
        return 1.0
    if kind == "classification":
        def log_or(c: _Counts) -> tuple[float, float]:
            a, b, cc, d = c.cur[1] + .5, c.cur[0] + .5, c.ref[1] + .5, c.ref[0] + .5
            return math.log(a * d / (b * cc)), 1 / a + 1 / b + 1 / cc + 1 / d

        (ls, vs), (lr, vr) = log_or(s), log_or(rest)
        return _normal_sf((lr - ls) / math.sqrt(vs + vr))

    def mean_var(h: np.ndarray, e: np.ndarray) -> tuple[float, float]:
        n = h.sum()
        m = np.divide(e, h, out=np.zeros(len(h)), where=h > 0)
        mean = e.sum() / n
        return mean, max(float((h * m ** 2).sum() / n - mean ** 2), 0.0) / n

    parts = [mean_var(h, e) for h, e in ((s.cur, s.err_cur), (s.ref, s.err_ref),
                                           (rest.cur, rest.err_cur), (rest.ref, rest.err_ref))]
    diff = (parts[0][0] - parts[1][0]) - (parts[2][0] - parts[3][0])
    var = sum(v for _, v in parts)
    return 1.0 if var <= 0 else _normal_sf(diff / math.sqrt(var))


def bootstrap_interval(kind: str, hist: np.ndarray, err: np.ndarray, resamples: int, rng: np.random.Generator,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the slice's metric from its outcome cells: accuracy by resampling
    correct/wrong counts (a binomial draw equals resampling the rows), MAE by resampling the slice's error
    bins, each carrying its rows' mean error `err / hist` (the bootstrap MAEs average to the slice's MAE)."""
    n = int(hist.sum())
    if not n or resamples < 1:
        return (math.nan, math.nan)
    a = (1 - level) / 2
    if kind == "classification":
        draws = rng.binomial(n, hist[1] / n, resamples) / n
    else:
        means = np.divide(err, hist, out=np.zeros(len(hist)), where=hist > 0)
        draws = rng.multinomial(n, hist / n, resamples) @ means / n
    lo, hi = np.quantile(draws, [a, 1 - a])
    return float(lo), float(hi)


# --- the search --------------------------------------------------------------------------------------

@dataclass
class Segment:
    """A reported weak segment: one feature's flagged values merged, or one two-feature slice."""

    features: tuple[str, ...]
    label: str
    share: float
    n: int
    metric: float
    ci: tuple[float, float]
    reference: float | None
    rest: float | None
    cost: float | None
    share_of_drop: float | None
    q_value: float
    members: list[str] = field(default_factory=list)


class WeakSegments:
    """The weak-segment search of one model and window: every slice tried (`to_frame`), the segments
    reported (`segments`), their findings, headline and problems, and a plot."""

    def __init__(self, kind: str, slices: pd.DataFrame, segments: list[Segment], overall: float | None,
                 overall_reference: float | None, n: int, alpha: float, problems: list[str] | None = None,
                 by_value: pd.DataFrame | None = None, notes: list[str] | None = None) -> None:
        self.kind = kind
        self.metric = "accuracy" if kind == "classification" else "mae"
        self.slices = slices
        self.segments = segments
        self.overall = overall
        self.overall_reference = overall_reference
        self.n = n
        self.alpha = alpha
        self.problems = list(problems or [])  # what could not be computed (the report is then incomplete)
        self.notes = list(notes or [])  # how the search was limited (features cut, no reference, too few rows)
        # every value (bin) of every feature searched: rows and metric this week and in the reference
        self.by_value = by_value if by_value is not None else pd.DataFrame(columns=BY_VALUE_COLUMNS)

    @property
    def drop(self) -> float | None:
        """How much worse the whole is than in the reference window (positive: worse)."""
        if self.overall is None or self.overall_reference is None:
            return None
        d = self.overall_reference - self.overall
        return d if self.kind == "classification" else -d

    @property
    def findings(self) -> list["Finding"]:
        """A sentence per reported segment, costliest first: a warning for the costliest, the others
        as info (one drop, one warning); an info sentence when no slice is flagged."""
        from workbench.findings import Finding, interval, num, pct
        from workbench.tables import percent

        out = []
        for s in self.segments:
            verb = "fell to" if self.kind == "classification" else "rose to"
            shown, low, high = interval(s.metric, s.ci[0], s.ci[1])  # as segments_frame()'s row reads
            text = (f"{'accuracy' if self.kind == 'classification' else 'MAE'} on {s.label} ({percent(s.share)} of "
                    f"predictions) {verb} {shown} [{low}, {high}]")
            if s.reference is not None:
                text += f" from {num(s.reference)}"
            if s.share_of_drop is not None:
                text += f"; it accounts for {percent(s.share_of_drop)} of the drop"  # as its table cell reads
            elif s.rest is not None:
                text += f" while the rest of the week is at {num(s.rest)}"
            severity = "warning" if s is self.segments[0] else "info"  # the costliest warns; the rest inform
            out.append(Finding(severity, s.label, text, kind="metric", anchor=ANCHOR, value=s.metric,
                               extra={"metric": self.metric, "share": s.share, "n": s.n, "ci": list(s.ci),
                                      "reference": s.reference, "rest": s.rest, "cost": s.cost,
                                      "share_of_drop": s.share_of_drop, "q_value": s.q_value,
                                      "features": list(s.features)}))
        if not self.segments and len(self.slices):
            out.append(Finding("info", f"{self.metric} by segment",
                               f"No segment's {self.metric} is worse than both its reference and the rest of "
                               f"the week among {len(self.slices):,} slices tried (false discovery rate "
                               f"{pct(self.alpha, 0)})", kind="metric", anchor=ANCHOR))
        return out

    @property
    def headline(self) -> dict:
        """The worst segment (by cost) for the index pages, and what the week page needs to join the
        drift review's findings to this search (performance.drift_join.from_status): the metric, the
        whole this week and in the reference, and `by_value` as compact rows
        [feature, value, rows, rows_reference, metric, reference] (metrics rounded, JSON-able)."""
        out: dict = {"weak_segments": len(self.segments), "weak_segments_metric": self.metric,
                     "weak_segments_overall": _rounded(self.overall),
                     "weak_segments_overall_reference": _rounded(self.overall_reference),
                     "by_value": [[str(f), str(v), int(n), int(n_ref), _rounded(m), _rounded(m_ref)]
                                  for f, v, n, n_ref, m, m_ref in self.by_value[BY_VALUE_COLUMNS].itertuples(index=False)]}
        if self.segments:
            s = self.segments[0]
            out |= {"weak_segment": s.label, "weak_segment_features": list(s.features),
                    "weak_segment_share_of_drop": None if s.share_of_drop is None else round(s.share_of_drop, 4)}
        return out

    @property
    def headline_numbers(self) -> dict:
        """The headline under the name ReviewContext.attempt collects."""
        return self.headline

    def to_frame(self) -> pd.DataFrame:
        """Every slice tried: support, metric now, in the reference and in the rest, p- and q-values,
        whether flagged; worst cost first."""
        return self.slices.reset_index(drop=True)

    def segments_frame(self) -> pd.DataFrame:
        """The reported segments, one row each."""
        return pd.DataFrame([{"segment": s.label, "share": s.share, "rows": s.n, self.metric: s.metric,
                              "ci_low": s.ci[0], "ci_high": s.ci[1], "reference": s.reference, "rest": s.rest,
                              "share_of_drop": s.share_of_drop, "q_value": s.q_value} for s in self.segments])

    def plot(self, top: int = 10, ax=None):
        """The reported segments and the worst other slices: metric now with its interval, against the
        reference (open marker) and the whole model (line)."""
        import matplotlib.pyplot as plt

        from workbench.plots import plain
        from workbench.tables import metric_name

        rows = [(s.label, s.metric, s.ci, s.reference, True) for s in self.segments]
        shown = {s.label for s in self.segments} | {_slice_label(s.features[0], m) for s in self.segments for m in s.members}
        inside = self.slices["label"].map(lambda x: x in shown or any(p in shown for p in str(x).split(" & ")))
        rest = self.slices[~inside].head(max(0, top - len(rows)))  # not a reported segment, nor inside one
        rows += [(r.label, r.metric, (r.ci_low, r.ci_high), r.reference, False) for r in rest.itertuples()]
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.45 * max(len(rows), 2) + 1.2))
        for i, (label, m, ci, ref, hit) in enumerate(rows):
            color = "#c0392b" if hit else "#7f8c8d"
            if ci[0] == ci[0]:
                ax.plot(ci, [i, i], color=color, lw=2)
            ax.plot([m], [i], "o", color=color)
            if ref is not None:
                ax.plot([ref], [i], "o", mfc="none", color="#2c3e50")
        if self.overall is not None:
            ax.axvline(self.overall, color="#2c3e50", ls="--", lw=1, label="whole model this week")
            ax.legend(loc="best", fontsize=8)
        ax.set_yticks(range(len(rows)), [plain(r[0]) for r in rows])
        ax.invert_yaxis()
        from workbench.plots import metric_axis

        metric_axis(ax, self.metric, "x")
        ax.set_xlabel(f"{metric_name(self.metric)} (filled: this week with 95% interval; open: reference window)")
        ax.set_title(f"Weak segments: {len(self.segments)} reported (red) of {len(self.slices):,} slices tried; "
                     "grey: the costliest other slices", fontsize=10)
        return ax.figure  # the protocol: a figure (workbench.result)


def search(cells: pd.DataFrame, kind: str, params=None, seed: int = 0, resamples: int | None = None,
           problems: list[str] | None = None, notes: list[str] | None = None) -> WeakSegments:
    """Test every one- and two-feature slice in `cells` (see module doc) and report the weak segments.
    `params`: a SegmentParams (config: performance.segments)."""
    from scipy.stats import false_discovery_control

    if params is None:
        from workbench.config import SegmentParams

        params = SegmentParams()
    resamples = params.resamples if resamples is None else resamples
    problems, notes = list(problems or []), list(notes or [])
    n_y = 2 if kind == "classification" else int(cells["y"].max()) + 1 if len(cells) else 1
    counts = _counts_of(cells, n_y)
    singles = [k for k in counts if not k[2]]
    if not singles:
        return WeakSegments(kind, pd.DataFrame(columns=["label"]), [], None, None, 0, params.alpha,
                            problems + ["weak segments: no labelled predictions"])
    features = list(dict.fromkeys(k[0] for k in singles))
    total = sum((counts[k] for k in singles if k[0] == features[0]), _Counts.zeros(n_y))
    n_total = total.n_cur
    has_ref = total.n_ref > 0
    if not has_ref:
        notes.append("weak segments: no labelled predictions in the reference window; slices are "
                        "compared with the rest of the week only")
    metric = (lambda c, cur=True: c.metric(kind, cur))
    by_value = pd.DataFrame([(k[0], k[1], counts[k].n_cur, counts[k].n_ref, metric(counts[k]), metric(counts[k], False))
                             for k in singles], columns=BY_VALUE_COLUMNS)
    rows, keys = [], []
    for key, c in counts.items():
        n = c.n_cur
        if n < params.min_rows or n < params.min_share * n_total or n >= n_total:
            continue
        rest = total - c
        p_ref = _worse_p(kind, c, c.ref, c.err_ref) if has_ref else 0.0
        # "worse relative to the rest": its drop beyond the rest's drop, or (no reference) its level; a
        # two-feature slice against the rest of each of its one-feature parents (worse than its parents'
        # other rows, not only carried by a parent or by another segment it overlaps)
        others = [rest] if not key[2] else [counts[(key[0], key[1], "", "")] - c, counts[(key[2], key[3], "", "")] - c]
        p_rest = max(excess_drop_p(kind, c, o) if has_ref else _worse_p(kind, c, o.cur, o.err_cur) for o in others)
        label = _slice_label(key[0], key[1]) + (f" & {_slice_label(key[2], key[3])}" if key[2] else "")
        ref_m = metric(c, False)
        cost = _cost(kind, n / n_total, ref_m, metric(c))
        rows.append({"label": label, "features": (key[0], key[2]) if key[2] else (key[0],), "rows": n,
                     "share": n / n_total, "metric": metric(c), "reference": ref_m, "rest": metric(rest),
                     "cost": cost, "p_reference": p_ref, "p_rest": p_rest, "p": max(p_ref, p_rest)})
        keys.append(key)
    slices = pd.DataFrame(rows, columns=["label", "features", "rows", "share", "metric", "reference", "rest",
                                         "cost", "p_reference", "p_rest", "p"])
    if slices.empty:
        notes.append(f"weak segments: no slice has {params.min_rows:,} rows and {params.min_share:.0%} "
                     "of the labelled predictions (performance.segments.min_rows, min_share): nothing to search")
        return WeakSegments(kind, slices.assign(q=[], flagged=[], ci_low=[], ci_high=[]), [], metric(total),
                            metric(total, False), n_total, params.alpha, problems, by_value, notes)
    slices["q"] = false_discovery_control(slices["p"].to_numpy(), method="bh")
    slices["flagged"] = slices["q"] <= params.alpha
    def interval(c: _Counts, label: str) -> tuple[float, float]:
        # a generator per slice, from the seed and the slice's label: the same interval whatever order
        # the slices are visited in (a set's order changes with each process's string hashing)
        rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        return bootstrap_interval(kind, c.cur, c.err_cur, resamples, rng)

    # reported segments: flagged one-feature values merged per feature; two-feature slices whose
    # one-feature parents are both unflagged
    flagged = {keys[i] for i in np.flatnonzero(slices["flagged"].to_numpy())}
    segments: list[Segment] = []
    qs = dict(zip(keys, slices["q"]))
    overall, overall_ref = metric(total), metric(total, False)
    drop = None if overall is None or overall_ref is None else (
        overall_ref - overall if kind == "classification" else overall - overall_ref)
    for f in features:
        members = sorted((k for k in singles if k[0] == f and k in flagged), key=lambda k: _order(k[1]))
        if not members:
            continue
        c = sum((counts[k] for k in members), _Counts.zeros(n_y))
        label = _slice_label(f, _join([k[1] for k in members]))
        segments.append(_segment(kind, (f,), label, c, total, drop,
                                 min(qs[k] for k in members), interval(c, label), [k[1] for k in members]))
    segments = _explained_away(kind, segments, counts, params.alpha, params.min_rows)
    single_flagged = {(k[0], k[1]) for k in flagged if not k[2]}
    for k in sorted(flagged, key=repr):  # a set: visited in a fixed order
        if k[2] and (k[0], k[1]) not in single_flagged and (k[2], k[3]) not in single_flagged:
            c, label = counts[k], f"{_slice_label(k[0], k[1])} & {_slice_label(k[2], k[3])}"
            segments.append(_segment(kind, (k[0], k[2]), label, c, total, drop, qs[k], interval(c, label), []))
    segments.sort(key=lambda s: -(s.cost if s.cost is not None else -math.inf))
    segments = segments[:params.max_segments]
    shares = [sg.share_of_drop for sg in segments if sg.share_of_drop is not None]
    if len(shares) > 1 and sum(shares) > 1:
        notes.append(f"weak segments: the segments overlap (a prediction can be in more than one), so each share of "
                     f"the drop is of the whole drop and together they add up to {sum(shares):.0%}, not 100%")
    slices = slices.sort_values(["flagged", "cost"], ascending=[False, False], na_position="last")
    # intervals for the slices shown beside the segments (the plot's grey rows)
    shown = slices.head(10).index
    slices["ci_low"], slices["ci_high"] = math.nan, math.nan
    for i in shown:
        lo, hi = interval(counts[keys[i]], str(slices.loc[i, "label"]))
        slices.loc[i, ["ci_low", "ci_high"]] = lo, hi
    return WeakSegments(kind, slices, segments, overall, overall_ref, n_total, params.alpha, problems, by_value,
                        notes)


def _rounded(v: Any, digits: int = 6) -> float | None:
    """A metric for status.json: rounded, None where it is undefined (no rows, NaN)."""
    return None if v is None or v != v else round(float(v), digits)


def _restricted(counts: dict[tuple, _Counts], x: Segment, y: Segment, n_y: int) -> _Counts:
    """Counts of the rows in segment `x` and outside segment `y` (one feature each), from the pair cells."""
    (f,), (g,) = x.features, y.features
    vx, vy = set(x.members), set(y.members)
    out = _Counts.zeros(n_y)
    for (f1, v1, f2, v2), c in counts.items():
        if (f1, f2) == (f, g) and v1 in vx and v2 not in vy or (f1, f2) == (g, f) and v2 in vx and v1 not in vy:
            out = out + c
    return out


def _explained_away(kind: str, segments: list[Segment], counts: dict[tuple, _Counts], alpha: float,
                    min_rows: int) -> list[Segment]:
    """Drop a segment that another explains: outside that other segment it shows no significant drop
    (or too few rows to show one) while the other still dropped outside it: the bins of a numeric
    feature correlated with a degraded category look worse only because that category's rows sit there."""
    single = [s for s in segments if len(s.features) == 1]
    if len(single) < 2:
        return segments
    n_y = len(next(iter(counts.values())).cur)

    def still_dropped(x: Segment, y: Segment) -> bool:
        c = _restricted(counts, x, y, n_y)
        return c.n_cur >= min_rows and _worse_p(kind, c, c.ref, c.err_ref) <= alpha

    explained = {id(x) for x in single for y in single
                 if x is not y and x.features != y.features and not still_dropped(x, y) and still_dropped(y, x)}
    return [s for s in segments if id(s) not in explained]


def _cost(kind: str, share: float, reference: float | None, now: float | None) -> float | None:
    if reference is None or now is None:
        return None
    return share * ((reference - now) if kind == "classification" else (now - reference))


def _slice_label(feature: str, value: str) -> str:
    """'contract = One year', 'tenure < 8', 'tenure ≥ 47', 'tenure in [8, 17)' (a bin), 'x = a / b' (merged)."""
    if " / " not in value:
        if value.startswith(("< ", "≥ ")):
            return f"{feature} {value}"
        if value.startswith("[") and value.endswith(")"):
            return f"{feature} in {value}"
    return f"{feature} = {value}"


def _order(label: str) -> tuple:
    """Bins in value order ('< a', '[a, b)', ..., '≥ z'), categories alphabetically."""
    def number(text: str) -> float:
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return math.nan

    if label.startswith("< "):
        return (0, -math.inf, label)
    if label.startswith("[") and label.endswith(")"):
        return (0, number(label[1:].split(", ")[0]), label)
    if label.startswith("≥ "):
        return (0, math.inf, label)
    return (1, 0.0, label)


def _join(values: list[str]) -> str:
    """'One year / Two year'; numeric bins next to each other as one range ('[12, 24)' and '[24, 36)'
    -> '[12, 36)'; '< 5' and '[5, 9)' -> '< 9'; '[5, 9)' and '≥ 9' -> '≥ 5')."""
    def bounds(label: str) -> tuple[str | None, str | None] | None:
        if label.startswith("< "):
            return None, label[2:]
        if label.startswith("≥ "):
            return label[2:], None
        if label.startswith("[") and label.endswith(")") and ", " in label:
            lo, hi = label[1:-1].split(", ", 1)
            return lo, hi
        return None

    def text(lo: str | None, hi: str | None) -> str:
        if lo is None and hi is None:
            return "all"
        return f"< {hi}" if lo is None else f"≥ {lo}" if hi is None else f"[{lo}, {hi})"

    out: list[str] = []
    for v in values:
        prev, cur = (bounds(out[-1]) if out else None), bounds(v)
        if prev and cur and prev[1] is not None and prev[1] == cur[0]:
            out[-1] = text(prev[0], cur[1])
        else:
            out.append(v)
    return " / ".join(out)


def _segment(kind: str, features: tuple[str, ...], label: str, c: _Counts, total: _Counts, drop: float | None,
             q: float, ci: tuple[float, float], members: list[str]) -> Segment:
    n_total = total.n_cur
    share = c.n_cur / n_total
    ref, now = c.metric(kind, False), c.metric(kind)
    rest = (total - c).metric(kind)
    cost = _cost(kind, share, ref, now)
    share_of_drop = cost / drop if cost is not None and drop is not None and drop > 0 else None
    return Segment(features, label, share, c.n_cur, now, ci, ref, rest, cost, share_of_drop, float(q), members)


# --- from the prediction DB --------------------------------------------------------------------------

def search_store(store, model: str, window, reference, kind: str, params=None, features: list[str] | None = None,
                 seed: int = 0) -> WeakSegments:
    """The search over a prediction store: bin edges from a sample of the reference window's labelled
    rows (`params.sample_rows`), then every slice's cells counted by the database in one statement
    (workbench.sources.segment_counts). `features`: the features to slice by, most important first
    (default: the store's feature columns), at most `params.max_features`."""
    from workbench.sources import segment_counts

    if params is None:
        from workbench.config import SegmentParams

        params = SegmentParams()
    notes: list[str] = []
    names = list(features or store.feature_columns())
    if len(names) > params.max_features:
        notes.append(f"weak segments: {len(names)} features, the first {params.max_features} searched "
                        "(performance.segments.max_features)")
        names = names[:params.max_features]
    sample = segment_counts.reference_sample(store, model, reference, names, params.sample_rows) \
        if reference is not None else pd.DataFrame()
    if sample.empty:
        notes.append("weak segments: no labelled predictions in the reference window; bins are placed "
                        "on this week's rows")
        sample = segment_counts.reference_sample(store, model, window, names, params.sample_rows)
    kinds = feature_kinds(sample, names, params.bins, params.max_categories)
    error_edges = None
    if kind != "classification":
        err = (pd.to_numeric(sample["prediction"], errors="coerce")
               - pd.to_numeric(sample["actual_outcome"], errors="coerce")).abs()
        error_edges = quantile_edges(err, params.error_bins)
    cells = segment_counts.segment_cells(store, model, window, reference, kinds, kind, error_edges)
    return search(label_cells(cells, kinds), kind, params, seed=seed, notes=notes)


def review(ctx, features: list[str] | None = None) -> WeakSegments:
    """Weak segments of the review's model and window against the weeks before it
    (`performance.weeks_back`, at least one), with the performance review's bootstrap seed."""
    from workbench.config import Window

    mp = ctx.params.performance
    weeks = max(mp.weeks_back, 1)
    reference = Window(ctx.window.start - pd.Timedelta(weeks=weeks), ctx.window.start, ctx.window.label)
    return search_store(ctx.store, ctx.model.name, ctx.window, reference, ctx.model.type, mp.segments,
                        features=features, seed=mp.bootstrap_seed)
