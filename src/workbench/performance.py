"""The performance review: metrics from predictions joined with their delayed outcomes.

scikit-learn computes every metric; this module decides when a metric can be computed and says
why not otherwise (too few labelled predictions, one class only, no probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from workbench.config import ModelSpec

if TYPE_CHECKING:
    from workbench.context import ReviewContext

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")


@dataclass
class PerformanceSummary:
    """Metrics of one model (or version) over one window, with the notes that qualify them."""

    model: str
    kind: str
    n_predictions: int
    n_labelled: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def label_coverage(self) -> float:
        return self.n_labelled / self.n_predictions if self.n_predictions else 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: value, or why there is none."""
        return pd.DataFrame([{"metric": k, "value": v, "note": self.notes.get(k, "")} for k, v in self.metrics.items()])


def classification_metrics(y_true, y_pred, y_prob=None, min_samples: int = 10) -> tuple[dict, dict]:
    """accuracy, weighted precision/recall/F1 (as the guide does) and ROC AUC, with reasons for gaps."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    values: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRICS)
    notes: dict[str, str] = {}
    n = len(y_true)
    if n < min_samples:
        for k in values:
            notes[k] = f"insufficient data: {n} labelled predictions, need {min_samples}"
        return values, notes
    values["accuracy"] = float(skm.accuracy_score(y_true, y_pred))
    values["precision"] = float(skm.precision_score(y_true, y_pred, average="weighted", zero_division=0))
    values["recall"] = float(skm.recall_score(y_true, y_pred, average="weighted", zero_division=0))
    values["f1"] = float(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0))
    classes = np.unique(y_true)
    if y_prob is None or np.all(pd.isna(y_prob)):
        notes["roc_auc"] = "undefined: no probabilities logged"
    elif len(classes) < 2:
        notes["roc_auc"] = f"undefined: only one class ({classes[0]:g}) among the outcomes"
    else:
        values["roc_auc"] = float(skm.roc_auc_score(y_true, np.asarray(y_prob, dtype=float)))
    return values, notes


def regression_metrics(y_true, y_pred, min_samples: int = 10) -> tuple[dict, dict]:
    """MAE, RMSE, MAPE (over non-zero actuals only) and R², with reasons for gaps."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    values: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    notes: dict[str, str] = {}
    n = len(y_true)
    if n < min_samples:
        for k in values:
            notes[k] = f"insufficient data: {n} labelled predictions, need {min_samples}"
        return values, notes
    values["mae"] = float(skm.mean_absolute_error(y_true, y_pred))
    values["rmse"] = float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))
    nz = y_true != 0
    if nz.any():
        values["mape"] = float(skm.mean_absolute_percentage_error(y_true[nz], y_pred[nz]))
        if not nz.all():
            notes["mape"] = f"over the {int(nz.sum())} non-zero actuals ({int((~nz).sum())} zero actuals left out)"
    else:
        notes["mape"] = "undefined: every actual is zero"
    if np.var(y_true) > 0:
        values["r2"] = float(skm.r2_score(y_true, y_pred))
    else:
        notes["r2"] = "undefined: actuals are constant"
    return values, notes


def evaluate(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10) -> PerformanceSummary:
    """Metrics on the labelled predictions in `df` (standard store columns)."""
    labelled = df[df["actual_outcome"].notna()] if len(df) else df
    if spec.type == "classification":
        prob = labelled["probability"].to_numpy() if "probability" in labelled else None
        values, notes = classification_metrics(labelled["actual_outcome"].to_numpy(), labelled["prediction"].to_numpy(),
                                               prob, min_samples)
    else:
        values, notes = regression_metrics(labelled["actual_outcome"].to_numpy(), labelled["prediction"].to_numpy(),
                                           min_samples)
    return PerformanceSummary(spec.name, spec.type, len(df), len(labelled), values, notes)


def by_version(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10) -> pd.DataFrame:
    """Headline metrics per model version (and A/B variant where logged)."""
    rows = []
    keys = ["model_version"] + (["variant"] if "variant" in df and df["variant"].notna().any() else [])
    for key, g in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = evaluate(g, spec, min_samples)
        rows.append({**dict(zip(keys, key)), "predictions": s.n_predictions, "labelled": s.n_labelled,
                     "label_coverage": round(s.label_coverage, 3), **s.metrics})
    return pd.DataFrame(rows)


def trend(df: pd.DataFrame, spec: ModelSpec, min_samples: int = 10, freq: str = "D") -> pd.DataFrame:
    """Metrics per period (by prediction time) and version; gaps where a period has too few labels."""
    if df.empty:
        return pd.DataFrame()
    rows = []
    period = df["timestamp"].dt.floor(freq)
    for (p, v), g in df.groupby([period, "model_version"]):
        s = evaluate(g, spec, min_samples)
        rows.append({"period": p, "model_version": v, "predictions": s.n_predictions, "labelled": s.n_labelled,
                     "label_coverage": s.label_coverage, **s.metrics})
    return pd.DataFrame(rows)


def against_baseline(summary: PerformanceSummary, baseline: dict[str, float], accuracy_alert_below: float | None = None
                     ) -> pd.DataFrame:
    """Each metric next to the training baseline from MLflow, with the change and alert flags."""
    rows = []
    for k, v in summary.metrics.items():
        b = baseline.get(k)
        flag = ""
        if k == "accuracy" and v is not None and accuracy_alert_below is not None and v < accuracy_alert_below:
            flag = f"below alert threshold {accuracy_alert_below}"
        rows.append({"metric": k, "this window": v, "training baseline": b,
                     "change": (v - b) if (v is not None and b is not None) else None, "alert": flag,
                     "note": summary.notes.get(k, "")})
    return pd.DataFrame(rows)


def predictions_by_class(df: pd.DataFrame) -> pd.DataFrame:
    """Count and share of predictions per predicted class."""
    counts = df["prediction"].value_counts().sort_index()
    return pd.DataFrame({"class": counts.index.astype(int).astype(str), "predictions": counts.to_numpy(),
                         "share": (counts / counts.sum()).round(4).to_numpy()})


# --- the review as the notebook runs it -------------------------------------------

@dataclass
class PerformanceReview:
    """Everything the performance notebook shows for one model and window."""

    summary: PerformanceSummary
    by_version: pd.DataFrame
    baseline: pd.DataFrame
    trend: pd.DataFrame
    window_predictions: pd.DataFrame = field(repr=False)
    problems: list[str] = field(default_factory=list)

    def confusion_matrix(self) -> pd.DataFrame:
        lab = self.window_predictions.dropna(subset=["actual_outcome"])
        labels = sorted(set(lab["actual_outcome"].astype(int)) | set(lab["prediction"].astype(int)))
        cm = skm.confusion_matrix(lab["actual_outcome"].astype(int), lab["prediction"].astype(int), labels=labels)
        return pd.DataFrame(cm, index=[f"actual {c}" for c in labels], columns=[f"predicted {c}" for c in labels])


def review(ctx: "ReviewContext", weeks_back: int = 3) -> PerformanceReview:
    """Metrics for the window, per version, against the MLflow baseline, and daily over the last weeks."""
    from workbench.config import Window
    from workbench.errors import InsufficientData

    spec, mp = ctx.model, ctx.params.performance
    core = ["id", "version", "variant", "timestamp", "prediction", "probability", "outcome", "outcome_timestamp"]
    longer = Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)
    history = ctx.store.read(spec.name, longer, core=core)
    df = history[history["timestamp"] >= ctx.window.start]
    if df.empty:
        raise InsufficientData(f"no predictions of {spec.name!r} in {ctx.window.label} in the {ctx.store._where()}")
    summary = evaluate(df, spec, mp.min_samples)
    problems = []
    try:
        baseline_metrics = ctx.registry.training_metrics(spec.name, ctx.latest_version())
    except Exception as exc:  # noqa: BLE001 - the report shows the gap; the cause is kept in the text
        from workbench.errors import WorkbenchError

        if not isinstance(exc, WorkbenchError):
            raise
        baseline_metrics, problems = {}, [f"baseline: {exc}"]
    return PerformanceReview(
        summary=summary,
        by_version=by_version(df, spec, mp.min_samples),
        baseline=against_baseline(summary, baseline_metrics,
                                  mp.accuracy_alert_below if spec.type == "classification" else None),
        trend=trend(history, spec, mp.min_samples),
        window_predictions=df,
        problems=problems,
    )


def prometheus_class_counts(ctx: "ReviewContext") -> pd.DataFrame:
    """model_predictions_by_class over the window from Prometheus, next to the DB's counts."""
    from workbench.infrastructure import promql_string

    secs = int((ctx.window.end - ctx.window.start).total_seconds())
    q = (f'sum by (class) (increase(model_predictions_by_class{{model="{promql_string(ctx.model.name)}"}}[{secs}s]))')
    prom = ctx.prometheus.query(q, at=ctx.window.end)
    df = ctx.store.read(ctx.model.name, ctx.window, core=["prediction"])
    db = predictions_by_class(df)
    prom = prom.rename(columns={"value": "prometheus"})[["class", "prometheus"]] if not prom.empty else \
        pd.DataFrame(columns=["class", "prometheus"])
    out = db.merge(prom, on="class", how="outer")
    out["prometheus"] = out["prometheus"].astype(float).round()
    out["difference"] = out["predictions"] - out["prometheus"]
    return out
