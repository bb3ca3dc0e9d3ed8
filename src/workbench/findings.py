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
     "value": 0.725, "extra": {...}}

`headline` holds the review's headline numbers (e.g. "drift_share", "accuracy", "mae",
"label_coverage", "n_predictions", "slos_missed", "pages") and small daily series under
"series" ({"drift_share": {"2026-11-16": 0.33, ...}, "accuracy": {...}}) and time intervals under
"episodes" ([{"kind": "page" | "alert" | "outage", "subject": ..., "start": ISO, "end": ISO}]),
which the week page draws on its timeline without recomputing anything.

Anchors: the section ids (`<a id=...>`) the review notebooks carry, so a finding links to the exact
section of its report (`<report>.html#<anchor>`). Each review's anchors are in the catalogue
(`workbench.reviews.review(name).anchors()`: its sections' ids, then the per-item ones such as
"feature-<name>", "panel-<name>", "latency-<model>").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = 1
# reports/<period>/status.json (report.write_status): 2 adds "incidents" (workbench.incidents); 3 adds each
# incident's "span" (findings | days | week) and drift incidents timed by their drifted days
STATUS_SCHEMA_VERSION = 3
# worst first; "not computed" ranks between warning and ok: something could not be checked
LEVELS = ("alert", "warning", "not computed", "ok")
# a review not run because its source is not configured (run status "skipped"): no level at all, so it
# never lowers or greys the week's level; it is named beside it instead
NOT_CONFIGURED = "not configured"
SEVERITIES = ("alert", "warning", "info")
KINDS = ("dataset", "feature", "metric", "labels", "ab_test", "alert_rule", "slo", "outage",
         "dependency", "traffic", "data_quality", "comparison", "other")  # comparison: another tool's verdict differs


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
    """The worst of several levels ('ok' for none); unknown values (e.g. a failed run) rank as 'not computed'.

    'not configured' is left out (a review that was not set up found nothing and failed nothing); only
    when every level is 'not configured' is that the answer."""
    levels = list(levels)
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    found = [rank.get(lv, rank["not computed"]) for lv in levels if lv != NOT_CONFIGURED]
    if not found and levels:
        return NOT_CONFIGURED
    return LEVELS[min(found)] if found else "ok"


def result_level(result: Mapping[str, Any]) -> str:
    """A stored result's level: 'not configured' for a review skipped because its source is not set
    up (whatever level an older status.json stored for it), else its level ('not computed' if none)."""
    if result.get("status") == "skipped":
        return NOT_CONFIGURED
    return result.get("level") or "not computed"


def severity_rank(f: Finding) -> int:
    """0 for alerts, 1 for warnings, 2 for info: the order findings are listed in."""
    return SEVERITIES.index(f.severity)


def anchor_id(prefix: str, name: str) -> str:
    """A section id such as 'feature-monthly_charges': characters outside [A-Za-z0-9_-] become '-'."""
    import re

    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(name))


# --- numbers in sentences ----------------------------------------------------------

TINY = 1e-4  # below this a number reads in scientific notation, in tables and sentences alike


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def tiny(x: float) -> str:
    """A number below TINY in magnitude with two significant digits, as people write it: 2.3×10⁻⁷
    (never '0.000', '< 0.00000001', or a raw '2.3e-07' that reads as code)."""
    mantissa, exponent = f"{x:.1e}".split("e")
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def num(v: float | None, digits: int = 3) -> str:
    """A number for a sentence: 0.725, 12.3, 1,234 (`digits` significant digits below 1000; below
    TINY as `tiny` writes it, the same as the tables)."""
    import math

    if v is None:
        return "—"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    if abs(x) < TINY:
        return tiny(x)
    if abs(x) < 10 ** -digits:
        return f"{x:.{digits}g}"
    decimals = max(digits - int(math.floor(math.log10(abs(x)))) - 1, 0) if abs(x) >= 1 else digits
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimals(x: float, digits: int) -> int:
    """The decimals `num` writes `x` with (before dropping trailing zeros): `digits` below 1,
    `digits` significant digits from 1 to 1000 and below 10**-digits, none from 1000 up."""
    a = abs(x)
    if a == 0 or a >= 1000:
        return 0
    if a >= 1 or a < 10 ** -digits:
        return max(digits - int(math.floor(math.log10(a))) - 1, 0)
    return digits


def interval(value: float | None, lo: float | None, hi: float | None, digits: int = 3) -> tuple[str, str, str]:
    """A value and its interval as three strings with the same decimals, in sentences and tables alike
    (tables.metric_interval): 0.728 [0.725, 0.730], 8.70 [8.61, 8.79]; the decimals are the most
    `num` needs for any of the three at `digits` significant digits (a number nearer 0 than the
    interval is wide counts as the width), one more while the bounds would read the same although
    they differ, so no bound reads less precise than its value. With a number missing ("—") or below
    TINY, each is written as `num` writes it."""
    xs = []
    for v in (value, lo, hi):
        try:
            x = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            x = math.nan
        xs.append(x)
    finite = [x for x in xs if math.isfinite(x)]
    if len(finite) < 3 or any(0 < abs(x) < TINY for x in finite):  # no interval to match: as num writes each
        return num(value, digits), num(lo, digits), num(hi, digits)
    # a number much closer to 0 than the interval is wide (a bound just below 0) needs no more decimals
    # than the width itself: 0.002 [-0.000, 0.005], not 0.002000 [-0.000100, 0.005100]
    width = abs(xs[2] - xs[1])
    decimals = max(_decimals(max(abs(x), width), digits) for x in xs)

    def write(x: float) -> str:
        return f"{x:,.{decimals}f}"

    if xs[1] != xs[2]:
        while write(xs[1]) == write(xs[2]) and decimals < digits + 6:
            decimals += 1  # a narrow interval: enough decimals for its width to show
    return write(xs[0]), write(xs[1]), write(xs[2])


def pp(diff: float | None, digits: int = 1) -> str:
    """A difference of two shares in percentage points, signed: 0.005 -> '+0.5 pp' (tables.points too);
    a difference below 0.1 pp keeps one significant digit (-0.0004 -> '-0.04 pp', not '0.0 pp')."""
    if diff is None or diff != diff:
        return "—"
    x = 100 * float(diff)
    if 0 < abs(x) < 0.1:
        digits = max(digits, min(6, -math.floor(math.log10(abs(x)))))
    text = f"{x:+.{digits}f}"
    if float(text) == 0:
        text = text[1:]
    return f"{text} pp"


def pct(v: float | None, digits: int = 1) -> str:
    """A share as a percentage: 0.146 -> '14.6%'."""
    if v is None or v != v:
        return "—"
    return f"{100 * float(v):.{digits}f}%"


def p_value(p: float | None) -> str:
    """'p < 0.001' or 'p = 0.023'."""
    if p is None or p != p:
        return "p —"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def duration(td) -> str:
    """A duration in words, the one wording of sentences and tables (tables.duration adds "—" for a
    missing value): '45 s', '51 min', '2 h 05 min', '1 d 15 h'. From a day on, minutes are dropped (39 h
    45 min reads '1 d 16 h'), so a finding's duration appears verbatim in its report's table."""
    import pandas as pd

    secs = float(td) if isinstance(td, (int, float)) else pd.Timedelta(td).total_seconds()
    sign, s = ("-" if secs < 0 else ""), round(abs(secs))
    if s < 60:
        return f"{sign}{s} s"
    mins = round(s / 60)
    if mins < 60:
        return f"{sign}{mins} min"
    if mins < 24 * 60:
        h, m = divmod(mins, 60)
        return f"{sign}{h} h" + (f" {m:02d} min" if m else "")
    d, h = divmod(round(s / 3600), 24)
    return f"{sign}{d} d" + (f" {h} h" if h else "")


def when(ts) -> str:
    """A time in UTC for a sentence: 'Tue 2026-11-17 14:02 UTC'."""
    import pandas as pd

    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%a %Y-%m-%d %H:%M UTC")


def iso(ts) -> str:
    """An ISO 8601 UTC time for the stored JSON."""
    import pandas as pd

    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.isoformat()
