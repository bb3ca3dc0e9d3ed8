"""The kind of every number column the drift review's tables show (tables.KINDS), declared once.

Why: a table used to guess a column's format from its name, and `min_effect` read as a count
('0') because it contains 'n_'. Notebook 01 passes `drift.columns.KINDS` to every drift table
(summary, verdicts, ranked, data quality, week over week, freshness, Evidently, the Prometheus drift
alerts, configuration);
the names do not clash across those frames, so one dict serves them all.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    # DriftReport.summary()
    "features checked": "count", "drifted": "count", "drift share": "effect",
    "dataset threshold": "effect",  # the share and its threshold as the dataset finding quotes them (findings.num)
    "insufficient data": "count",
    "missing-share changes": "count", "window rows": "count",
    # DriftReport.to_frame() / ranked(): the numbers the findings' sentences quote (findings.num)
    "statistic": "effect", "p_value": "p_value", "threshold": "effect", "effect_size": "effect",
    "min_effect": "effect", "magnitude": "effect", "n_reference": "count", "n_current": "count",
    # DriftReport.quality()
    "missing_reference": "ratio", "missing_current": "ratio", "missing_change": "points",
    "nonfinite_current": "count", "missing_values": "count", "out_of_range_share": "ratio",
    "new_category_count": "count",  # the finding's '1 category never seen in training', beside their names
    "new_category_values": "count", "new_category_share": "ratio",  # as the new-category finding quotes them
    # history.week_over_week()
    "statistic_last_week": "effect", "statistic_this_week": "effect",
    # freshness()
    "newest prediction (UTC)": "timestamp", "age": "duration", "predictions in window": "count",
    "empty hours in window": "count",
    # evidently.compare()
    "our value": "effect", "evidently value": "effect", "agree": "bool",
    # alert_agreement(): the firing time per feature its finding quotes (findings.duration)
    "episodes": "count", "firing_time": "duration", "series_time": "duration", "first_fired": "timestamp",
    # multivariate.MultivariateDriftResult.to_frame(): the numbers its findings quote
    "value": "effect", "low": "effect", "high": "effect", "days_outside": "count", "days": "count",
}

# multivariate.MultivariateDriftResult.to_frame(): a value and its band or interval, written with one number
# of decimals per row as its findings write them (tables.table(intervals=...))
INTERVALS: dict[str, tuple[str, str]] = {"value": ("low", "high")}
