"""The kind of every number column the performance review's tables show (tables.KINDS), declared once.

Why: formatting by name turned `median_h` into a count and a base-rate change of 0.5 percentage
points into '50.0%'. Notebook 02 passes `KINDS` to the review's own tables (headline, positive
class, base rate, label delay and maturity, versions, metrics, CBPE estimate, importance), and the
frames whose columns mean something else (A/B tests, conversions, class counts) their own dict.
"""

from __future__ import annotations

from workbench.performance.core import CLASSIFICATION_METRICS, REGRESSION_METRICS

_METRICS = dict.fromkeys((*CLASSIFICATION_METRICS, *REGRESSION_METRICS), "metric")

KINDS: dict[str, str] = {
    **_METRICS,  # by_version(), trend(), the CBPE estimate pivoted by metric
    # against_baseline() (the headline), summary.to_frame(), explain.positive_class()
    "this window": "metric", "ci_low": "metric", "ci_high": "metric", "training baseline": "metric",
    "change": "metric_change", "relative change": "ratio", "value": "metric",
    # explain.base_rate()
    "base_rate": "ratio", "outcomes": "count", "base rate change": "points",
    "change vs weeks before": "points", "p-value vs weeks before": "p_value",
    # labels.delay_summary() and labels.maturity() (share of a cohort labelled within n days)
    "labelled": "count", "unlabelled": "count", "median_h": "hours", "p90_h": "hours", "p99_h": "hours",
    "max_h": "hours", **{f"{k}d": "ratio" for k in range(1, 61)},
    # explain.variants(), by_version()
    "predictions": "count", "share_of_traffic": "ratio", "label_coverage": "ratio",
    # cbpe.gap_table(): realised against estimated, as the CBPE finding quotes them
    "realised accuracy": "metric", "estimated accuracy": "metric", "gap": "metric", "period": "timestamp",
    # the registry's feature importances
    "importance": "number",
}

# the columns holding a value and its 95% interval (tables.table(intervals=...)): written with one number of
# decimals per row, as the findings' sentences write them (0.728 [0.725, 0.730], not 0.73)
INTERVALS: dict[str, tuple[str, str]] = {"this window": ("ci_low", "ci_high"), "value": ("ci_low", "ci_high"),
                                         "difference": ("ci_low", "ci_high")}

# abtest.compare_variants(): metric values and their difference (accuracy or ROC AUC), as the verdict says them
AB_KINDS: dict[str, str] = {"value_A": "metric", "value_B": "metric", "n_A": "count", "n_B": "count",
                            "difference": "metric", "ci_low": "metric", "ci_high": "metric", "p_value": "p_value",
                            "mde_80": "metric"}

# abtest.conversions(): conversion rates and their difference in percentage points
CONVERSION_KINDS: dict[str, str] = {"conversions_A": "count", "exposed_A": "count", "conversions_B": "count",
                                    "exposed_B": "count", "rate_A": "ratio", "rate_B": "ratio",
                                    "difference": "points", "ci_low": "points", "ci_high": "points",
                                    "p_value": "p_value", "mde_80": "points"}

# prometheus_class_counts(): the DB's predictions per class against Prometheus' counter
CLASS_COUNT_KINDS: dict[str, str] = {"predictions": "count", "share": "ratio", "prometheus": "count",
                                     "difference": "count"}
