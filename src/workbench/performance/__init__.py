"""Performance: how good were this week's predictions, where outcomes are known, and what do the
probabilities say where they are not?

Public surface (what notebook 02 and the runner use):
  review(ctx) -> PerformanceReview  metrics with intervals, baseline comparison, trend, per version (core)
  sections   what notebook 02 computes and shows, one call per section (compute, show)
  skip_without, calibration, prometheus_class_counts, log_results, mlflow_note  (core)
  abtest     the A/B comparison of variants and Prometheus conversions
  cbpe       the estimate before labels arrive
  labels     label coverage, delay and maturity
  explain    metric definitions, the positive class, base rate and variants for readers
  metrics    the weighted metrics and the bootstrap behind all of the above
  segments   weak segments: where the headline metric dropped, with intervals and its share of the drop
  drift_join drifted features joined to the drop: which one, if any, carries it
  plots      the figures

Submodules load on first use (PEP 562): importing the package stays cheap (no matplotlib,
scikit-learn or statsmodels until a section needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import lazy

_FROM_CORE = ("review", "PerformanceReview", "PerformanceSummary", "skip_without", "calibration",
              "prometheus_class_counts", "log_results", "mlflow_note")
_SUBMODULES = ("core", "columns", "abtest", "cbpe", "explain", "labels", "metrics", "plots", "sections", "segments",
               "drift_join")
__all__ = [*_FROM_CORE, *_SUBMODULES]

if TYPE_CHECKING:
    from workbench.performance import (abtest, cbpe, core, drift_join, explain, labels, metrics,  # noqa: F401
                                       plots, sections, segments)
    from workbench.performance.core import (PerformanceReview, PerformanceSummary,  # noqa: F401
                                            calibration, log_results, mlflow_note, prometheus_class_counts,
                                            review, skip_without)


__getattr__, __dir__ = lazy.package(__name__, globals(), _FROM_CORE, _SUBMODULES)
