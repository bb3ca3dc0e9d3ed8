"""The performance review: metrics from predictions joined with their delayed outcomes.

Every metric comes with a bootstrap 95% interval (workbench.performance.metrics, equal to scikit-learn on the
same rows) and, where it cannot be computed, the reason instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import re
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from workbench import config, reviews
from workbench.performance import metrics as wm, residual_cells as rc, validity
from workbench.performance.validity import RowCheck
from workbench.config import ModelSpec
from workbench.result import TableResult
from workbench.sources.base import PROBABILITY_GRID

if TYPE_CHECKING:
    from workbench.context import ReviewContext
    from workbench.findings import Finding

# the default of params `performance.base_rate_tolerance` (the schema in workbench.config holds the value)
BASE_RATE_TOLERANCE = config.default_of(config.PerformanceParams, "base_rate_tolerance")

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier",
                          "precision_1", "recall_1", "f1_1", "precision_0", "recall_0", "f1_0")
PROBABILITY_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")


def warning_metrics(kind: str) -> tuple[str, ...]:
    """The metrics a review of a `kind` model can warn about (metric_findings compares every headline
    metric with its baseline): each one is drawn in the trend plot and kept in the stored history
    (headline_numbers), so a warning about MAPE has MAPE's trend to look at. They are the catalogue's
    performance headline entries marked `metric` (workbench.reviews)."""
    return reviews.metrics(kind)


@dataclass
class PerformanceSummary:
    """Metrics of one model (or version) over one window, with intervals and the notes that qualify them."""

    model: str
    kind: str
    n_predictions: int
    n_labelled: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_left_out: int = 0  # rows with invalid values left out of the metrics (performance.validity)

    def note_left_out(self, check: "RowCheck") -> None:
        """Say on every computed metric how many rows with invalid values were left out."""
        self.n_left_out = check.n_left_out
        text = check.note()
        if text:
            for k, v in self.metrics.items():
                if v is not None:
                    self.notes[k] = f"{self.notes[k]}; {text}" if self.notes.get(k) else text

    @property
    def label_coverage(self) -> float:
        return self.n_labelled / self.n_predictions if self.n_predictions else 0.0

    def to_frame(self, headline_only: bool = True) -> pd.DataFrame:
        """One row per metric: value and 95% CI, or why there is none."""
        return self._rows(warning_metrics(self.kind) if headline_only else list(self.metrics))

    def details(self) -> pd.DataFrame:
        """The metrics beyond the headline (a classifier's per-class ones: _1 the positive class, _0 the
        negative one), as `to_frame` writes them."""
        return self._rows([k for k in self.metrics if k not in warning_metrics(self.kind)])

    def _rows(self, keys) -> pd.DataFrame:
        return pd.DataFrame([{"metric": k, "value": self.metrics.get(k), "ci_low": self.ci.get(k, (np.nan,))[0],
                              "ci_high": self.ci.get(k, (np.nan, np.nan))[1], "note": self.notes.get(k, "")}
                             for k in keys])


def _finite(v) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def classification_metrics(y_true, y_pred, y_prob=None, min_samples: int = 10, resamples: int = 0, seed: int = 0,
                           counts=None) -> tuple[dict, dict, dict]:
    """Binary metrics (positive class 1) with bootstrap CIs, and reasons for the gaps. With `counts`,
    each entry is a cell of that many rows (prediction_cells): the same metrics, and the bootstrap
    draws the rows of each resample as a multinomial over the cells."""
    y, yhat = np.asarray(y_true, float), np.asarray(y_pred, float)
    prob = None if y_prob is None else np.asarray(y_prob, float)
    w = None if counts is None else np.asarray(counts, float)
    values: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    notes: dict[str, str] = {}
    nan_prob = np.zeros(len(y), bool) if prob is None else np.isnan(prob)
    missing_prob = int(nan_prob.sum() if w is None else w[nan_prob].sum())
    if prob is not None and missing_prob:
        prob = None  # probability metrics need every probability: say so instead of ranking NaNs
    n = len(y) if w is None else int(w.sum())
    if n < min_samples:
        return values, {k: f"insufficient data: {n} labelled predictions, need {min_samples}" for k in values}, {}
    if prob is not None:  # rows in ranking order once, so no resample re-sorts its weights (metrics._curves)
        order = wm.ranking_order(prob, y, yhat)
        y, yhat, prob = y[order], yhat[order], prob[order]
        w = None if w is None else w[order]
    if w is not None:  # already cells, counted by the engine
        point, ci = wm.bootstrap(lambda W: wm.classification(y, yhat, prob, W), n, resamples, seed, counts=w)
    else:
        # rows with the same (probability, outcome, prediction) share a weight: at rounded probabilities
        # a bootstrap of 500,000 predictions works on a few thousand cells (metrics.cells_of); with
        # probabilities, cells even when they do not halve the rows, so tied scores of one class are one column
        cells, first = wm.cells_of(*([prob, y, yhat] if prob is not None else [y, yhat]), always=prob is not None)
        yc, yhatc, probc = y[first], yhat[first], (None if prob is None else prob[first])
        point, ci = wm.bootstrap(lambda W: wm.classification(yc, yhatc, probc, W), n, resamples, seed, cells=cells)
    values.update({k: _finite(v) for k, v in point.items()})
    classes = np.unique(y if w is None else y[w > 0])
    for k in PROBABILITY_METRICS:
        if missing_prob:
            notes[k] = f"undefined: {missing_prob} labelled predictions have no probability"
        elif prob is None:
            notes[k] = "not computed: no probability column (store.columns.probability)"
        elif len(classes) < 2 and k in ("roc_auc", "pr_auc"):
            values[k] = None
            notes[k] = f"undefined: only one class ({classes[0]:g}) among the outcomes"
    return values, notes, ci


def regression_metrics(y_true, y_pred, min_samples: int = 10, resamples: int = 0, seed: int = 0
                       ) -> tuple[dict, dict, dict]:
    """MAE, RMSE, MAPE (over non-zero actuals only) and R², with bootstrap CIs and reasons for gaps."""
    y, yhat = np.asarray(y_true, float), np.asarray(y_pred, float)
    values: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    n = len(y)
    if n < min_samples:
        return values, {k: f"insufficient data: {n} labelled predictions, need {min_samples}" for k in values}, {}
    cells, first = wm.cells_of(y, yhat)  # repeated (actual, predicted) pairs share a weight
    point, ci = wm.bootstrap(lambda W: wm.regression(y[first], yhat[first], W), n, resamples, seed, cells=cells)
    values.update({k: _finite(v) for k, v in point.items()})
    notes: dict[str, str] = {}
    nz = y != 0
    if not nz.any():
        notes["mape"] = "undefined: every actual is zero"
    elif not nz.all():
        notes["mape"] = f"over the {int(nz.sum())} non-zero actuals ({int((~nz).sum())} zero actuals left out)"
    if values["r2"] is None:
        notes["r2"] = "undefined: actuals are constant"
    return values, notes, ci


def evaluate(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, resamples: int = 0, seed: int = 0,
             validated: bool = False) -> PerformanceSummary:
    """Metrics on the valid labelled predictions in `df` (standard store columns; see
    performance.validity for what is left out, and the notes for how many). `validated`: `df` is
    check_rows' output already (the review's frames), so it is not checked again."""
    df, check = (df, validity.RowCheck(np.ones(len(df), bool))) if validated else validity.check_rows(df, spec)
    labelled = df[df["actual_outcome"].notna()] if len(df) else df
    if spec.type == "classification":
        prob = labelled["probability"].to_numpy(dtype=float) if "probability" in labelled else None
        pos = float(spec.positive_class)  # metrics treat the configured positive class as 1
        y = (labelled["actual_outcome"].to_numpy() == pos).astype(float)
        yhat = (labelled["prediction"].to_numpy() == pos).astype(float)
        if prob is not None and pos != 1:
            prob = 1 - prob  # the logged probability is that of class 1 (predict_proba[:, 1])
        values, notes, ci = classification_metrics(y, yhat, prob, min_samples, resamples, seed)
    else:
        values, notes, ci = regression_metrics(labelled["actual_outcome"].to_numpy(), labelled["prediction"].to_numpy(),
                                               min_samples, resamples, seed)
    summary = PerformanceSummary(spec.name, spec.type, len(df), len(labelled), values, notes, ci)
    summary.note_left_out(check)
    return summary


def by_version(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, validated: bool = False) -> pd.DataFrame:
    """Headline metrics per model version (and A/B variant where logged)."""
    rows = []
    keys = ["model_version"] + (["variant"] if "variant" in df and df["variant"].notna().any() else [])
    for key, g in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = evaluate(g, spec, min_samples, validated=validated)
        rows.append({**dict(zip(keys, key)), "predictions": s.n_predictions, "labelled": s.n_labelled,
                     "label_coverage": round(s.label_coverage, 3),
                     **{k: s.metrics.get(k) for k in warning_metrics(spec.type)}})
    return pd.DataFrame(rows)


def trend(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, freq: str = "D", validated: bool = False
          ) -> pd.DataFrame:
    """Metrics per period (by prediction time) and version; gaps where a period has too few labels."""
    if df.empty:
        return pd.DataFrame()
    from workbench.frames import groups

    rows = []
    period = df["timestamp"].dt.floor(freq)
    for (p, v), g in groups(df, [period, "model_version"]):  # one day's rows at a time, no sorted copy of all
        s = evaluate(g, spec, min_samples, validated=validated)
        rows.append({"period": p, "model_version": v, "predictions": s.n_predictions, "labelled": s.n_labelled,
                     "label_coverage": s.label_coverage, **{k: s.metrics.get(k) for k in warning_metrics(spec.type)}})
    return pd.DataFrame(rows)


def trend_of(frames: list[pd.DataFrame], spec: ModelSpec, min_samples: int = 10, freq: str = "D",
             validated: bool = False) -> pd.DataFrame:
    """`trend` of frames that follow each other in time (the weeks before the window, the window),
    without putting their rows in one frame. A period cut by a frame boundary keeps one row per frame
    (never at the default daily trend: windows start at midnight UTC)."""
    parts = [t for t in (trend(f, spec, min_samples, freq, validated) for f in frames) if not t.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --- the same from prediction cells counted by the engine (sources.base.prediction_cells) ---------


def evaluate_cells(cells: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, resamples: int = 0, seed: int = 0,
                   has_probability: bool = True, binned: pd.DataFrame | None = None) -> PerformanceSummary:
    """`evaluate` of a classifier from its prediction cells (valid ones: see review). Accuracy,
    precision, recall and F1 are exact (they are counts); the probability metrics are those of each
    cell's grid midpoint, within the bounds of `rounding_bounds` (docs/methods.md). A regression
    model's cells are residual cells (sources.base.residual_cells): see
    performance.residual_cells.residual_metrics (`binned`: the window's cells on its bins)."""
    if spec.type != "classification":
        values, notes, ci, n_predictions, n_labelled = rc.residual_metrics(cells, min_samples, resamples, seed, binned)
        return PerformanceSummary(spec.name, spec.type, n_predictions, n_labelled, values, notes, ci)
    lab = cells[cells["actual_outcome"].notna()]
    pos = float(spec.positive_class)
    y = (lab["actual_outcome"].to_numpy(dtype=float) == pos).astype(float)
    yhat = (lab["prediction"].to_numpy(dtype=float) == pos).astype(float)
    prob = lab["probability"].to_numpy(dtype=float) if has_probability else None
    if prob is not None and pos != 1:
        prob = 1 - prob  # the logged probability is that of class 1
    # one cell per (probability, outcome, prediction): the days and versions summed
    keys = pd.DataFrame({"p": prob if prob is not None else 0.0, "y": y, "yhat": yhat, "n": lab["n"].to_numpy()})
    g = keys.groupby(["p", "y", "yhat"], dropna=False, sort=False)["n"].sum().reset_index()
    values, notes, ci = classification_metrics(g["y"].to_numpy(), g["yhat"].to_numpy(),
                                               None if prob is None else g["p"].to_numpy(), min_samples, resamples,
                                               seed, counts=g["n"].to_numpy())
    return PerformanceSummary(spec.name, spec.type, int(cells["n"].sum()), int(lab["n"].sum()), values, notes, ci)


def by_version_cells(cells: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, has_probability: bool = True
                     ) -> pd.DataFrame:
    """`by_version` from prediction cells."""
    rows = []
    keys = ["model_version"] + (["variant"] if cells["variant"].notna().any() else [])
    for key, g in cells.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = evaluate_cells(g, spec, min_samples, has_probability=has_probability)
        rows.append({**dict(zip(keys, key)), "predictions": s.n_predictions, "labelled": s.n_labelled,
                     "label_coverage": round(s.label_coverage, 3),
                     **{k: s.metrics.get(k) for k in warning_metrics(spec.type)}})
    return pd.DataFrame(rows)


def trend_cells(frames: list[pd.DataFrame], spec: ModelSpec, min_samples: int = 10, has_probability: bool = True
                ) -> pd.DataFrame:
    """`trend_of` at the daily trend from the prediction cells of windows that follow each other."""
    rows = []
    for cells in frames:
        for (day, v), g in cells.groupby(["day", "model_version"], sort=True):  # missing versions left out, as trend
            s = evaluate_cells(g, spec, min_samples, has_probability=has_probability)
            rows.append({"period": day, "model_version": v, "predictions": s.n_predictions, "labelled": s.n_labelled,
                         "label_coverage": s.label_coverage,
                         **{k: s.metrics.get(k) for k in warning_metrics(spec.type)}})
    return pd.DataFrame(rows)


def worse_than_baseline(metric: str, relative_change: float | None, tolerance: float | None) -> bool:
    """The one rule for "worse than the baseline": a relative change beyond `tolerance` in the bad
    direction (up for error metrics such as MAE or log loss, down for the others). No tolerance, or
    no finite change (no baseline, a zero baseline), is never worse. The baseline table's alert flags
    (and so the MLflow run's `workbench.status` tag) and the review's findings (its level) both use it."""
    if tolerance is None or relative_change is None or not np.isfinite(relative_change):
        return False
    return relative_change > tolerance if metric in wm.ERROR_METRICS else relative_change < -tolerance


def against_baseline(summary: PerformanceSummary, baseline: dict[str, float], accuracy_alert_below: float | None = None,
                     tolerance: float | None = None) -> pd.DataFrame:
    """Each metric next to the training baseline from MLflow, with the change and alert flags: accuracy
    below the guide's threshold, and a relative change for the worse beyond `tolerance`."""
    rows = []
    for k in warning_metrics(summary.kind):
        v, b = summary.metrics.get(k), baseline.get(k)
        flags = []
        if k == "accuracy" and v is not None and accuracy_alert_below is not None and v < accuracy_alert_below:
            flags.append(f"below alert threshold {accuracy_alert_below}")
        rel = None
        if v is not None and b is not None and b != 0:
            rel = (v - b) / abs(b)
            if worse_than_baseline(k, rel, tolerance):
                flags.append(f"{abs(rel):.1%} {'above' if k in wm.ERROR_METRICS else 'below'} baseline")
        lo, hi = summary.ci.get(k, (np.nan, np.nan))
        rows.append({"metric": k, "this window": v, "ci_low": lo, "ci_high": hi, "training baseline": b,
                     "change": (v - b) if (v is not None and b is not None) else None, "relative change": rel,
                     "alert": "; ".join(flags), "note": summary.notes.get(k, "")})
    return pd.DataFrame(rows)


def predictions_by_class(df: pd.DataFrame) -> pd.DataFrame:
    """Count and share of predictions per predicted class (finite numbers only: the rest are
    data-quality findings of the review, performance.validity)."""
    num = validity.as_number(df["prediction"])[0]
    counts = num[np.isfinite(num.to_numpy())].value_counts().sort_index()
    classes = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in counts.index]
    return pd.DataFrame({"class": classes, "predictions": counts.to_numpy(),
                         "share": (counts / counts.sum()).round(4).to_numpy()})


def calibration(df: pd.DataFrame, bins: int = 10) -> tuple[pd.DataFrame, float]:
    """Reliability curve (observed rate vs mean probability per bin) and the expected calibration error."""
    lab = df.dropna(subset=["actual_outcome", "probability"])
    if lab.empty or lab["actual_outcome"].nunique() < 2:
        return pd.DataFrame(columns=["mean_probability", "observed_rate"]), float("nan")
    true, pred = wm.reliability_curve(lab["probability"], lab["actual_outcome"], bins)
    ece = wm.expected_calibration_error(lab["probability"], lab["actual_outcome"], bins)
    return pd.DataFrame({"mean_probability": pred, "observed_rate": true}), ece


# --- the review as the notebook runs it -------------------------------------------

# the columns the review reads (not the prediction id: at a million rows a week its five weeks of
# unique strings were the largest part of the read and of the memory)
CORE = ["version", "variant", "timestamp", "prediction", "probability", "outcome", "outcome_timestamp"]
# of the weeks before the window, only what the trend, label coverage, base rate and CBPE use
HISTORY_CORE = ["version", "timestamp", "prediction", "probability", "outcome"]


@dataclass
class PerformanceReview:
    """Everything the performance notebook shows for one model and window."""

    summary: PerformanceSummary
    by_version: pd.DataFrame
    baseline: pd.DataFrame
    trend: pd.DataFrame
    window_rows: pd.DataFrame | None = field(repr=False)  # None: read when a section asks (window_predictions)
    history_rows: pd.DataFrame | None = field(repr=False)
    versions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    baseline_source: str = ""  # where the baseline came from (MLflow, the reference file, baselines.yaml)
    baseline_version: str = ""
    accuracy_alert_below: float | None = None
    relative_drop_tolerance: float | None = None
    min_samples: int = 10
    base_rate_tolerance: float = BASE_RATE_TOLERANCE
    window_start: pd.Timestamp | None = None
    row_check: RowCheck | None = None  # the window's invalid values (performance.validity)
    # computed from prediction cells counted by the engine (review): the window's and the weeks before's
    cells: pd.DataFrame | None = field(default=None, repr=False)
    history_cells: pd.DataFrame | None = field(default=None, repr=False)
    probability_grid: int = PROBABILITY_GRID
    # a regression window's residual cells on the bootstrap's bins (None: no interval asked, or rows)
    binned: pd.DataFrame | None = field(default=None, repr=False)
    read_rows: "Callable[[], tuple[pd.DataFrame, pd.DataFrame]] | None" = field(default=None, repr=False)

    def _rows(self) -> None:
        if self.window_rows is None or self.history_rows is None:
            self.window_rows, self.history_rows = self.read_rows()

    @property
    def window_predictions(self) -> pd.DataFrame:
        """The window's valid rows (read on first use when the metrics came from cells)."""
        self._rows()
        return self.window_rows

    @property
    def history(self) -> pd.DataFrame:
        """The valid rows of the weeks before the window (read on first use, as window_predictions)."""
        self._rows()
        return self.history_rows

    @property
    def findings(self) -> list["Finding"]:
        """The verdict as data: threshold and baseline flags with intervals, label coverage, the shift
        of the label base rate (workbench.findings)."""
        out = metric_findings(self.summary, self.baseline, self.baseline_version, self.accuracy_alert_below,
                              self.relative_drop_tolerance)
        out += coverage_findings(self.summary, self.min_samples)
        if self.row_check is not None:
            out += self.row_check.findings()
        if self.summary.kind == "classification":
            if self.cells is not None:
                out += base_rate_findings(self.cells, self.history_cells, self.base_rate_tolerance)
            else:
                out += base_rate_findings(self.window_predictions, self.history, self.base_rate_tolerance)
        return out

    @property
    def headline(self) -> dict:
        """Headline numbers and the daily realised headline metric for the index pages."""
        s = self.summary
        key = "accuracy" if s.kind == "classification" else "mae"
        out: dict = {"metric": key, key: s.metrics.get(key), "label_coverage": round(s.label_coverage, 4),
                     "n_predictions": s.n_predictions, "n_labelled": s.n_labelled}
        out |= {k: s.metrics.get(k) for k in warning_metrics(s.kind)}  # every metric that can warn, in the history
        lo, hi = s.ci.get(key, (None, None))
        if lo is not None and np.isfinite(lo):
            out[f"{key}_ci"] = [float(lo), float(hi)]
        t = self.trend
        if not t.empty and key in t and self.window_start is not None:
            t = t[(t["period"] >= self.window_start) & (t["labelled"] > 0)]
            series = {}
            for m in warning_metrics(s.kind):  # daily, weighted by labelled predictions
                d = t[t[m].notna()] if m in t else t.iloc[:0]
                daily = d.assign(w=d[m] * d["labelled"]).groupby("period")[["w", "labelled"]].sum()
                if len(daily):
                    series[m] = {f"{p:%Y-%m-%d}": round(float(r["w"] / r["labelled"]), 4) for p, r in daily.iterrows()}
            if series:
                out["series"] = series
        from workbench import approaching  # intervals reaching a threshold: the week page's early warning

        out["approaching"] = approaching.performance_notes(self.baseline, self.accuracy_alert_below,
                                                           self.relative_drop_tolerance)
        return out

    @property
    def status(self) -> str:
        alerts = ([f"{m}: {a}" for m, a in zip(self.baseline["metric"], self.baseline["alert"]) if a]
                  if not self.baseline.empty else [])
        return "ALERT: " + "; ".join(alerts) if alerts else "ok"

    def thresholds(self) -> list[tuple[str, str]]:
        """The settings the findings quote (alert threshold, relative tolerance, base-rate shift), each
        written as the sentences write it, for a small table beside the headline."""
        from workbench.findings import num, pct, pp

        out = []
        if self.accuracy_alert_below is not None:
            out.append(("accuracy alert below (accuracy_alert_below)", num(self.accuracy_alert_below)))
        if self.relative_drop_tolerance is not None:
            out.append(("change against the baseline tolerated (relative_drop_tolerance)",
                        pct(self.relative_drop_tolerance, 0)))
        if self.summary.kind == "classification":
            out.append(("label base rate shift flagged beyond", pp(self.base_rate_tolerance, 0).lstrip("+")))
        return out

    def to_frame(self) -> pd.DataFrame:
        """The headline metrics with CIs against the baseline, for the summary."""
        return self.baseline

    def plot(self):
        """Daily metrics per version (every metric that can warn), with the accuracy alert threshold."""
        from workbench.performance import plots

        thresholds = {"accuracy": self.accuracy_alert_below} if self.summary.kind == "classification" else None
        return plots.metric_trend(self.trend, warning_metrics(self.summary.kind), thresholds)

    def confusion_matrix(self) -> pd.DataFrame:
        lab = self.window_predictions.dropna(subset=["actual_outcome"])
        actual, predicted = lab["actual_outcome"].astype(int).to_numpy(), lab["prediction"].astype(int).to_numpy()
        labels = np.union1d(actual, predicted)  # sorted
        k = len(labels)
        if k > validity.MAX_CLASSES:  # k x k cells: bounded before allocating (see performance.validity)
            from workbench.errors import InsufficientData

            raise InsufficientData(f"a confusion matrix of {k:,} classes is not drawn (at most {validity.MAX_CLASSES})")
        cells = np.searchsorted(labels, actual) * k + np.searchsorted(labels, predicted)
        cm = np.bincount(cells, minlength=k * k).reshape(k, k)  # rows actual, columns predicted (as sklearn)
        return pd.DataFrame(cm, index=[f"actual {c}" for c in labels], columns=[f"predicted {c}" for c in labels])


def review(ctx: "ReviewContext") -> PerformanceReview:
    """Metrics for the window with CIs, per version, against the MLflow baseline, and the trend."""
    from workbench.config import Window
    from workbench.errors import WorkbenchError

    spec, mp = ctx.model, ctx.params.performance
    # the weeks before the window, for the trend; none with weeks_back 0 (an empty window is not a Window)
    before = (Window(ctx.window.start - pd.Timedelta(weeks=mp.weeks_back), ctx.window.start, ctx.window.label)
              if mp.weeks_back > 0 else None)
    from_cells = _from_cells(ctx, before)
    if from_cells is not None:
        cells, history_cells, has_probability = from_cells
        binned = None
        if spec.type != "classification" and mp.bootstrap_resamples > 0:  # the bootstrap's bins: a second count
            binned = ctx.store.residual_cells(spec.name, ctx.window, *rc.residual_widths(cells))
        summary = evaluate_cells(cells, spec, mp.min_samples, mp.bootstrap_resamples, mp.bootstrap_seed,
                                 has_probability, binned)
        row_check = validity.RowCheck(np.ones(0, bool))
        served = cells.groupby("model_version")["n"].sum()
        df = pd.DataFrame({"model_version": [served.idxmax()] if len(served) else []})  # the version served most
        table = by_version_cells(cells, spec, mp.min_samples, has_probability)
        daily = trend_cells([history_cells, cells], spec, mp.min_samples, has_probability)
        versions = sorted(cells["model_version"].dropna().unique())
        history = None
    else:
        cells = history_cells = binned = None
        df, row_check, history = _read_rows(ctx, before)
        summary = evaluate(df, spec, mp.min_samples, mp.bootstrap_resamples, mp.bootstrap_seed, validated=True)
        table = by_version(df, spec, mp.min_samples, validated=True)
        daily = trend_of([history, df], spec, mp.min_samples, mp.trend_freq, validated=True)
        versions = sorted(df["model_version"].dropna().unique()) if "model_version" in df else []
    summary.note_left_out(row_check)
    problems = []
    baseline_version = ""
    try:
        baseline_metrics, source = baseline(ctx, df)
        m = re.search(r"version (\S+)$", source) if source.startswith("MLflow") else None
        baseline_version = m.group(1) if m else ""
    except WorkbenchError as exc:
        baseline_metrics, source, problems = {}, "none", [f"baseline: {exc}"]
    return PerformanceReview(
        summary=summary,
        by_version=table,
        baseline=against_baseline(summary, baseline_metrics,
                                  mp.accuracy_alert_below if spec.type == "classification" else None,
                                  mp.relative_drop_tolerance),
        trend=daily,
        window_rows=None if cells is not None else df,
        history_rows=history,
        cells=cells,
        history_cells=history_cells,
        binned=binned,
        read_rows=lambda: _read_rows(ctx, before)[::2],
        versions=versions,
        problems=problems,
        baseline_source=source,
        baseline_version=baseline_version,
        accuracy_alert_below=mp.accuracy_alert_below if spec.type == "classification" else None,
        relative_drop_tolerance=mp.relative_drop_tolerance,
        base_rate_tolerance=mp.base_rate_tolerance,
        min_samples=mp.min_samples,
        window_start=pd.Timestamp(ctx.window.start),
        row_check=row_check,
    )


def _read_rows(ctx: "ReviewContext", before) -> tuple[pd.DataFrame, RowCheck, pd.DataFrame]:
    """The window's valid rows, their row check, and the weeks before's valid rows."""
    from workbench.errors import InsufficientData

    spec, mp = ctx.model, ctx.params.performance
    # the window and the weeks before it are read apart, the weeks before with fewer columns: at a
    # million predictions a week, one five-week frame sliced in two held the rows twice
    df = ctx.store.read(spec.name, ctx.window, core=CORE)
    if df.empty:
        raise InsufficientData(f"no predictions of {spec.name!r} in {ctx.window.label} in the {ctx.store.describe()}")
    if ctx.store.repeated_ids(spec.name, ctx.window):  # the ids only when some repeat
        df = ctx.store.read(spec.name, ctx.window, core=["id", *CORE])
    # the rows with invalid values are left out of every section, and counted as findings
    df, row_check = validity.check_rows(df, spec)
    df = df.drop(columns=["prediction_id"], errors="ignore")
    history = ctx.store.read(spec.name, before, core=HISTORY_CORE) if mp.weeks_back > 0 else df.iloc[:0]
    history = validity.check_rows(history, spec, guard=False)[0]
    return df, row_check, history


def _from_cells(ctx: "ReviewContext", before) -> tuple[pd.DataFrame, pd.DataFrame, bool] | None:
    """(window cells, valid cells of the weeks before, probability mapped) when the review can be
    computed from cells the engine counts: a daily trend, an engine that counts cells
    (PredictionSource.counts_cells), and a window without invalid values (else the row checks'
    findings need the rows: None, and the review reads them). A classifier's are prediction cells,
    a regression model's residual cells (without bins: the bootstrap's come from review)."""
    from workbench.errors import InsufficientData

    spec, mp, store = ctx.model, ctx.params.performance, ctx.store
    cols = ctx.params.store.columns
    if not (store.counts_cells and pd.Timedelta(mp.trend_freq) == pd.Timedelta("1D")
            and cols.version is not None and cols.outcome is not None):
        return None
    if spec.type != "classification":
        cells = store.residual_cells(spec.name, ctx.window)
        if cells.empty:
            raise InsufficientData(f"no predictions of {spec.name!r} in {ctx.window.label} in the {store.describe()}")
        if cells["early"].any() or (cells["status"] == 2).any() or store.repeated_ids(spec.name, ctx.window):
            return None
        history = store.residual_cells(spec.name, before) if mp.weeks_back > 0 else cells.iloc[:0]
        return cells, history[history["status"] != 2], False  # the weeks before's invalid rows left out
    cells = store.prediction_cells(spec.name, ctx.window, PROBABILITY_GRID)
    if cells.empty:
        raise InsufficientData(f"no predictions of {spec.name!r} in {ctx.window.label} in the {store.describe()}")
    if (cells["early"].any() or validity.check_rows(cells, spec)[1].problems
            or store.repeated_ids(spec.name, ctx.window)):
        return None
    cells = cells.assign(probability=cells["probability"].astype(float), prediction=cells["prediction"].astype(float),
                         actual_outcome=cells["actual_outcome"].astype(float))
    if mp.weeks_back > 0:
        history = store.prediction_cells(spec.name, before, PROBABILITY_GRID)
        history = validity.check_rows(history, spec, guard=False)[0]  # the weeks before's invalid cells left out
    else:
        history = cells.iloc[:0]
    return cells, history, cols.probability is not None


def metric_findings(summary: PerformanceSummary, baseline: pd.DataFrame, baseline_version: str = "",
                    accuracy_alert_below: float | None = None, tolerance: float | None = None) -> list["Finding"]:
    """Threshold and baseline flags, one sentence per metric with its interval: the headline metric
    (accuracy; MAE and RMSE for regression) is an alert, other metrics worse than baseline warnings."""
    from workbench.findings import Finding, num, pct
    from workbench.tables import metric_interval, metric_name, metric_value, percent  # the headline table's formats

    out, others = [], []
    main = ("accuracy",) if summary.kind == "classification" else ("mae", "rmse")
    of = f"the {baseline_version} baseline" if baseline_version else "the training baseline"
    for _, row in baseline.iterrows() if not baseline.empty else []:
        k, v, b = row["metric"], row["this window"], row["training baseline"]
        if v is None or not np.isfinite(v):
            continue
        lo, hi = row["ci_low"], row["ci_high"]
        if np.isfinite(lo) and np.isfinite(hi):  # value and bounds with one number of decimals, as the table
            shown, low, high = metric_interval(k, v, lo, hi)
            value = f"{metric_name(k)} {shown} [{low}, {high}]"
        else:
            shown = metric_value(k, v)
            value = f"{metric_name(k)} {shown}"
        parts = []
        below_threshold = k == "accuracy" and accuracy_alert_below is not None and v < accuracy_alert_below
        if below_threshold:
            parts.append(f"is below {num(accuracy_alert_below)}")
        rel = row["relative change"]
        worse = worse_than_baseline(k, rel, tolerance)
        if worse:
            parts.append(f"{percent(abs(rel))} {'above' if k in wm.ERROR_METRICS else 'below'} {of} {metric_value(k, b)}")
        if not parts:
            continue
        if not (below_threshold or k in main):  # the other metrics share one warning
            others.append((k, v, shown, b, rel))  # the value as the table shows it (its interval's decimals)
            continue
        tol = f" (tolerance {pct(tolerance, 0)})" if worse and not below_threshold else ""
        out.append(Finding("alert", k, f"{value} {' and '.join(parts)}{tol}.", "metric", "headline", float(v),
                           {"ci": [lo, hi], "baseline": b, "baseline_version": baseline_version}))
    if others:
        listed = ", ".join(f"{metric_name(k)} {shown} vs {metric_value(k, b)} ({'+' if rel > 0 else ''}{percent(rel)})"
                           for k, _, shown, b, rel in others)
        out.append(Finding("warning", "other metrics", f"Also worse than {of} beyond {pct(tolerance, 0)}: {listed}.",
                           "metric", "headline", None, {k: v for k, v, _, _, _ in others}))
    return out


def coverage_findings(summary: PerformanceSummary, min_samples: int) -> list["Finding"]:
    """Label coverage: how many predictions the metrics rest on (a warning when too few)."""
    from workbench.findings import Finding
    from workbench.tables import percent  # as the labels section's table cell reads

    s = summary
    text = (f"Label coverage {percent(s.label_coverage)}: {s.n_labelled:,} of {s.n_predictions:,} predictions have "
            "their outcome; the metrics rest on those")
    if s.n_labelled < min_samples:
        return [Finding("warning", "label coverage", f"{text}, fewer than min_samples {min_samples}: "
                        "metrics not computed.", "labels", "labels", s.label_coverage)]
    return [Finding("info", "label coverage", text + ".", "labels", "labels", s.label_coverage)]


def base_rate_test(window: pd.Series, history: pd.Series, positive: float = 1.0) -> tuple[float, float, float]:
    """The positive rate of two sets of outcomes and the two-sided p-value of their difference (pooled
    two-proportion z-test), shared by the base-rate finding and the base-rate table."""
    return base_rate_counts_test(int((window == positive).sum()), len(window), int((history == positive).sum()),
                                 len(history))


def base_rate_counts_test(k_window: int, n_window: int, k_history: int, n_history: int
                          ) -> tuple[float, float, float]:
    """`base_rate_test` from the counts of positives `k` among `n` labelled outcomes."""
    pw, ph = k_window / n_window, k_history / n_history
    pooled = (pw * n_window + ph * n_history) / (n_window + n_history)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_window + 1 / n_history))
    # two-sided normal p-value, 2 * norm.sf(z) = erfc(z / sqrt 2) (scipy.stats costs ~1.5 s to import)
    p = math.erfc(abs(pw - ph) / se / math.sqrt(2)) if se > 0 else (0.0 if pw != ph else 1.0)
    return pw, ph, p


def base_rate_findings(window: pd.DataFrame, history: pd.DataFrame, tolerance: float = BASE_RATE_TOLERANCE,
                       positive: float = 1.0) -> list["Finding"]:
    """The labelled positive rate of the window against the weeks before it: a shift beyond
    `tolerance` (absolute) changes what precision, PR AUC and accuracy mean, so it is a warning.
    `window` and `history` are rows, or prediction cells (their `n` counts the rows)."""
    from workbench.findings import Finding, p_value, pct, pp

    def counted(frame: pd.DataFrame) -> tuple[int, int]:  # (positives, labelled): of rows, or of cells (`n`)
        if "actual_outcome" not in frame:
            return 0, 0
        y = frame["actual_outcome"]
        n = frame["n"].to_numpy() if "n" in frame else np.ones(len(frame), np.int64)
        return int(n[(y == positive).to_numpy()].sum()), int(n[y.notna().to_numpy()].sum())

    (kw, nw), (kh, nh) = counted(window), counted(history)
    if nw < 30 or nh < 30:
        return []
    pw, ph, p = base_rate_counts_test(kw, nw, kh, nh)
    shifted = abs(pw - ph) > tolerance and p < 0.05
    text = (f"Label base rate {pct(pw)} of {nw:,} labelled predictions vs {pct(ph)} of {nh:,} in the weeks "
            f"before ({pp(pw - ph)}, {p_value(p)})")
    if shifted:
        return [Finding("warning", "label base rate", text + f": beyond {pp(tolerance, 0).lstrip('+')}, so precision, PR AUC "
                        "and accuracy are not comparable with the baseline.", "labels", "labels", pw,
                        {"window": pw, "before": ph})]
    return [Finding("info", "label base rate", text + ".", "labels", "labels", pw, {"window": pw, "before": ph})]


def baseline(ctx: "ReviewContext", window_predictions: pd.DataFrame | None = None) -> tuple[dict[str, float], str]:
    """The training metrics to compare with, and where they came from: MLflow (the serving version's
    logged metrics) when it is configured; else the reference file when it carries predictions and
    outcomes (metrics computed on it); else params/baselines.yaml. ConfigError when there is none."""
    from workbench.errors import ConfigError
    from workbench.sources.connections import not_configured

    spec = ctx.model
    if ctx.has("mlflow"):
        version = ctx.serving_version()
        return ctx.registry.training_metrics(spec.name, version), f"MLflow: training metrics of version {version}"
    tried = [not_configured("mlflow")]
    if spec.reference:
        from workbench.sources.model_registry import load_reference_file

        path = ctx.root / spec.reference
        ref = load_reference_file(path)
        cols = ctx.params.store.columns
        names = {"prediction": next((c for c in (cols.prediction, "prediction") if c in ref), None),
                 "actual_outcome": next((c for c in (cols.outcome, "actual_outcome") if c and c in ref), None)}
        if all(names.values()):
            prob = next((c for c in (cols.probability, "probability") if c and c in ref), None)
            frame = pd.DataFrame({k: ref[c] for k, c in names.items()})
            if prob:
                frame["probability"] = ref[prob]
            s = evaluate(frame, spec, 1)
            return ({k: v for k, v in s.metrics.items() if v is not None},
                    f"reference file {spec.reference}: metrics on its {s.n_labelled:,} labelled rows")
        tried.append(f"the reference file {spec.reference} has no prediction and outcome columns")
    path = ctx.params_path("baselines")
    if path.is_file():
        from workbench import config

        version = None
        if window_predictions is not None and "model_version" in window_predictions:
            served = window_predictions["model_version"].dropna()
            version = str(served.mode().iloc[0]) if len(served) else None
        found = config.load_baselines(path).for_model(spec.name, version)
        if found:
            return found[1], f"{path.name}: version {found[0]}"
        tried.append(f"{path.name} lists no baseline for {spec.name}")
    else:
        tried.append(f"no {path.name} in {path.parent}")
    raise ConfigError("no baseline to compare with: " + "; ".join(tried))


def skip_without(ctx: "ReviewContext", section: str, *, variant: bool = False, probability: bool = False,
                 prometheus: bool = False, mlflow: bool = False) -> bool:
    """True (after one line saying why, via `ctx.skip`) when `section` needs a column or a source this
    run does not have: a variant or probability column mapped to null, Prometheus or MLflow not configured."""
    from workbench.sources.connections import not_configured

    cols = ctx.params.store.columns
    reasons = []
    if variant and cols.variant is None:
        reasons.append("store.columns.variant is null (no A/B variant column)")
    if probability and cols.probability is None:
        reasons.append("store.columns.probability is null (no probability column)")
    if prometheus and not ctx.has("prometheus"):
        reasons.append(not_configured("prometheus"))
    if mlflow and not ctx.has("mlflow"):
        reasons.append(not_configured("mlflow"))
    if reasons:
        ctx.skip(section, "; ".join(reasons))
    return bool(reasons)


def prometheus_class_counts(ctx: "ReviewContext") -> TableResult:
    """model_predictions_by_class over the window from Prometheus next to the DB's counts, with a flag
    when they differ by more than the tolerance (prediction logging is broken)."""
    from workbench.infrastructure.queries import catalog_query, seconds

    q = catalog_query(ctx.queries, "predictions_by_class", {"model": ctx.model.name}, window=seconds(ctx.window))
    prom = ctx.prometheus.query(q, at=ctx.window.end)
    if prom.empty:  # a Prometheus that does not serve this model: nothing to compare, not a logging fault
        from workbench.errors import InsufficientData

        raise InsufficientData(f"Prometheus has no model_predictions_by_class for {ctx.model.name} "
                               f"in {ctx.window.label}")
    db = predictions_by_class(ctx.store.read(ctx.model.name, ctx.window, core=["prediction"]))
    prom = prom.rename(columns={"value": "prometheus"})[["class", "prometheus"]] if not prom.empty else \
        pd.DataFrame(columns=["class", "prometheus"])
    out = db.merge(prom, on="class", how="outer")
    out["prometheus"] = out["prometheus"].astype(float).round()
    out["difference"] = out["predictions"] - out["prometheus"]
    tol = ctx.params.performance.class_count_tolerance
    rel = (out["difference"].abs() / out["predictions"].clip(lower=1))
    out["flag"] = np.where(rel.isna() | (rel > tol), f"differs by more than {tol:.0%}: check prediction logging", "")
    return TableResult(out, class_count_findings(out, tol))


def class_count_findings(table: pd.DataFrame, tol: float) -> list["Finding"]:
    """A warning per predicted class whose DB and Prometheus counts differ beyond the tolerance."""
    from workbench.findings import Finding, num

    out = []
    for _, r in table[table["flag"] != ""].iterrows():
        out.append(Finding("warning", f"class {r['class']}", f"Predictions of class {r['class']}: {num(r['predictions'])} "
                           f"in the DB vs {num(r['prometheus'])} in Prometheus (more than {tol:.0%} apart): check "
                           "prediction logging.", "data_quality", "class-counts",
                           float(r["difference"]) if pd.notna(r["difference"]) else None))
    return out


def log_results(ctx: "ReviewContext", perf: PerformanceReview) -> str:
    """Log the window's metrics to MLflow (one run per model and period); returns the run id.

    Under `workbench report` (results_log.BY_RUNNER_ENV set) the kernel does not open MLflow: it hands
    the same request to the runner, which already holds a client and logs it, with the exported report
    attached, once the report is published; the return value is then "" (see mlflow_note)."""
    import os

    from workbench import results_log

    metrics = {k: v for k, v in perf.summary.metrics.items() if v is not None}
    metrics |= {f"{k}_ci_low": v[0] for k, v in perf.summary.ci.items() if np.isfinite(v[0])}
    metrics |= {f"{k}_ci_high": v[1] for k, v in perf.summary.ci.items() if np.isfinite(v[1])}
    metrics |= {"predictions": perf.summary.n_predictions, "labelled": perf.summary.n_labelled,
                "label_coverage": perf.summary.label_coverage}
    tags = {"workbench.status": perf.status[:250],  # a partial week is marked (a later full run sets "false")
            "workbench.partial": "true" if ctx.window.partial else "false",
            "workbench.data_until": ctx.window.end.isoformat()}
    if os.environ.get(results_log.BY_RUNNER_ENV):
        ctx.outputs["mlflow_log"] = {"model": ctx.model.name, "period": ctx.window.label,
                                     "versions": [str(v) for v in perf.versions],
                                     "metrics": {k: float(v) for k, v in metrics.items()}, "tags": tags}
        return ""
    from workbench.errors import WorkbenchError

    try:
        run_id = results_log.log_period(ctx.registry.client, ctx.model.name, ctx.window.label, perf.versions, metrics,
                                        tags)
    except WorkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's, with its message
        raise ctx.registry.error("logging the period's metrics", exc) from exc
    ctx.outputs["mlflow_run_id"] = run_id
    return run_id


def mlflow_note(ctx: "ReviewContext", run_id: str | None) -> str:
    """One HTML line: where this period's metrics went in MLflow (or that they were not logged)."""
    from workbench import results_log
    from workbench.pages import render_snippet

    pending = results_log.run_name(ctx.model.name, ctx.window.label) if "mlflow_log" in ctx.outputs else ""
    return render_snippet("mlflow_note", run_id or "", results_log.EXPERIMENT, pending)
