"""The kind of every number column the infrastructure review's tables show (tables.KINDS), declared once.

Why: a table used to guess formats from column names (anything with 'ratio' or 'budget' as a
percentage, 'bad' as a count). Notebook 03 passes `KINDS` to every infrastructure table (SLO status,
alerts fired and their episodes, availability, outages, noisy rules, burn-rate pages, coverage);
the names do not clash across those frames.
"""

from __future__ import annotations

KINDS: dict[str, str] = {
    # slo.status()
    "target": "ratio", "sli": "sli", "requests": "count", "bad": "count", "budget_consumed": "ratio",
    "budget_remaining": "ratio",
    # alerts: AlertReview.fired(), episodes, noisy()
    "episodes": "count", "firing_time": "duration", "series_time": "duration",
    "longest": "duration", "first_fired": "timestamp",
    "last_fired": "timestamp",
    "pending_since": "timestamp", "start": "timestamp", "end": "timestamp", "duration": "duration",
    "still_firing": "bool", "firings": "count",
    # availability(), coverage()
    "availability": "ratio", "downtime": "duration", "coverage": "ratio", "series": "count",
}
