"""Infrastructure: is the serving stack healthy? Reviewed once per period for the whole service.

Public surface (what notebook 03, notebook 02's latency section and the CLI use):
  review(ctx) -> ServiceReview       SLOs, alert replay, panels, availability, outages, latency, findings (core)
  draw_panels(ctx, infra, section)   the catalog's panels of one section; timeline_series(infra) (core)
  serving_latency(ctx)               p95 per model this week and last (core)
  slo, alerts                        error budgets and burn rates; the alert rules replayed over the window
  health                             `workbench health`: are the sources up now?
  plots                              the stacked panel figure
Every PromQL query comes from the catalog in params/queries.yaml (core.catalog_query).

Attributes load on first use (PEP 562): any name of `core` is reachable as infrastructure.<name>.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import lazy

_SUBMODULES = ("core", "columns", "queries", "slo", "alerts", "health", "plots")
_FROM_CORE = ("review", "ServiceReview", "InfrastructureReport", "draw_panels", "timeline_series", "serving_latency",
              "latency_table", "availability", "outage_table", "coverage", "render", "catalog_query")
__all__ = [*_FROM_CORE, *_SUBMODULES]

if TYPE_CHECKING:
    from workbench.infrastructure import alerts, core, health, plots, slo  # noqa: F401
    from workbench.infrastructure.core import *  # noqa: F401,F403


__getattr__, __dir__ = lazy.package(__name__, globals(), _FROM_CORE, _SUBMODULES, any_core_name=True)
