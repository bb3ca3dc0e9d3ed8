"""Drift: does this week's input data still look like the model's reference?

Public surface (what notebook 01 and the runner use):
  review(ctx) -> DriftReport        the week's per-feature verdicts and the dataset verdict (core)
  volume(ctx), freshness(ctx)       predictions per hour, newest prediction and empty hours (core)
  alert_agreement(ctx, report)      the Prometheus drift alerts replayed beside the verdict (core),
  agreement_table(result)           shown as a table
  history.over_time / week_over_week  the score per day, and this week against the last
  evidently.run / link              the Evidently side report
  multivariate.review(ctx)          PCA reconstruction error and a domain classifier over all features
  plots.volume / heatmap, DriftReport.plot()  the figures
Inside: methods (the registry: the only place that names drift methods, their kinds and default
thresholds), profile (reference profiles and binning), profile_cache (fitted profiles kept per
model version), daily (a day of the grid: exact KS up to daily_exact_max_rows rows, bounded above),
histogram (a week above exact_max_rows rows: KS / Wasserstein from engine counts, error bounded).

Submodules load on first use (PEP 562), so `workbench.config` can read the method registry
without importing the review, and importing the package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import lazy

_FROM_CORE = ("review", "DriftReport", "FeatureDriftResult", "volume", "freshness", "alert_agreement",
              "agreement_table")
_SUBMODULES = ("core", "columns", "daily", "evidently", "history", "methods", "multivariate", "plots", "profile",
               "profile_cache")
__all__ = [*_FROM_CORE, *_SUBMODULES]

if TYPE_CHECKING:
    from workbench.drift import (core, daily, evidently, history, methods, multivariate, plots, profile,  # noqa: F401
                                 profile_cache)
    from workbench.drift.core import (DriftReport, FeatureDriftResult, agreement_table, alert_agreement,  # noqa: F401
                                      freshness, review, volume)


__getattr__, __dir__ = lazy.package(__name__, globals(), _FROM_CORE, _SUBMODULES)
