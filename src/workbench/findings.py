"""What a review found, as data: a level and sentences with numbers, next to every report.

A review decides its verdict once (in the review code) and returns `Finding`s; the notebook shows
them, the runner writes them to `<review>.findings.json` and the week's `status.json`, and the week
page only displays them. The *level* ("did it find something") is kept apart from the run *status*
("did it run": ok / incomplete / failed).

Schema (version `SCHEMA_VERSION`) of `<review>.findings.json`:

    {"schema": 1, "review": "drift", "model": "churn-predictor", "period": "2026-W47",
     "level": "alert", "findings": [Finding...], "headline": {"accuracy": 0.725, ...},
     "not_computed": ["section: reason", ...]}

and of one finding:

    {"severity": "alert" | "warning" | "info", "subject": "accuracy", "kind": "metric",
     "sentence": "accuracy 0.725 [0.722, 0.728] is below 0.75 ...", "anchor": "headline",
     "value": 0.725}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

SCHEMA_VERSION = 1
# worst first; "not computed" ranks between warning and ok: something could not be checked
LEVELS = ("alert", "warning", "not computed", "ok")
SEVERITIES = ("alert", "warning", "info")
KINDS = ("dataset", "feature", "metric", "labels", "ab_test", "alert_rule", "slo", "outage",
         "dependency", "traffic", "data_quality", "other")


@dataclass
class Finding:
    """One thing a review found: how bad, about what, one sentence with the number, and where."""

    severity: str            # alert | warning | info
    subject: str             # feature, metric, alert rule, SLO or dependency name
    sentence: str            # one sentence with the number, its interval/threshold and comparison
    kind: str = "other"      # one of KINDS
    anchor: str = ""         # id of the report section that shows it (without '#')
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding severity {self.severity!r} is not one of: {', '.join(SEVERITIES)}")
        if self.kind not in KINDS:
            raise ValueError(f"finding kind {self.kind!r} is not one of: {', '.join(KINDS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        known = {k: d[k] for k in ("severity", "subject", "sentence", "kind", "anchor", "value", "extra") if k in d}
        return cls(**known)


def level_of(findings: Iterable[Finding], not_computed: bool = False) -> str:
    """The review's level: its worst finding; 'not computed' when a part failed and nothing worse was found."""
    sev = {f.severity for f in findings}
    if "alert" in sev:
        return "alert"
    if "warning" in sev:
        return "warning"
    return "not computed" if not_computed else "ok"


def worst(levels: Iterable[str]) -> str:
    """The worst of several levels ('ok' for none); unknown values (e.g. a failed run) rank as 'not computed'."""
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    found = [rank.get(lv, rank["not computed"]) for lv in levels]
    return LEVELS[min(found)] if found else "ok"
