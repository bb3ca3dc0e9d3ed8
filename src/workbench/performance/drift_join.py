"""Drift joined to performance: which drifted feature, if any, carries the drop of the headline metric.

For every drifted feature (from the drift review: its effect, the magnitude it is ranked by) this
ranks two things side by side:

- **importance x effect**: the model's feature importance (MLflow, where logged) times the drift's
  effect: how much a shift of this feature could matter to the model;
- **performance across its bins**: the feature's values (numeric: the weak-segment search's
  reference-quantile bins) this week against the reference window, from the same cells the weak-segment
  search counted (`WeakSegments.by_value`). The change of the whole metric splits exactly into

      mix    = sum over bins of (share now - share then) x metric then      (the rows moved between bins)
      within = sum over bins of share now x (metric now - metric then)      (the bins themselves got worse)

  so "its shift explains X% of the drop" is the mix part over the drop, and the bin whose metric
  changed most is named.

The verdict for the model, one line: the drifted feature whose weak segment carries the drop (and
whether its shift or a change inside the segment does it), or the drifted feature whose shift alone
explains at least half of the drop, or "the drop is not explained by any drifted feature (concept
drift)", saying where the weak-segment search found it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np
import pandas as pd

from workbench.performance.segments import ANCHOR, WeakSegments

if TYPE_CHECKING:
    from workbench.findings import Finding

SHIFT_CARRIES = 0.5  # a drifted feature's shift "carries" the drop when it explains at least this share
EVIDENCE_ANCHOR = "performance-by-drifted-feature"  # its table inside the weak-segments section (ANCHOR)
WHY = "Why: "  # the verdict as the first line of the week page's performance cell and the report's banner
# how tables.table formats to_frame(): effects and drops as the findings print them, shares as percentages
KINDS: dict[str, str] = {"feature": "text", "effect": "effect", "importance": "effect", "importance_x_effect": "effect",
                         "drop_from_shift": "metric", "drop_within_bins": "metric", "share_of_drop_from_shift": "ratio",
                         "worst_bin": "text", "worst_bin_change": "metric", "segment": "text"}
COLUMNS = ["feature", "effect", "importance", "importance_x_effect", "drop_from_shift", "drop_within_bins",
           "share_of_drop_from_shift", "worst_bin", "worst_bin_change", "segment"]


def drifted_from_findings(findings: Iterable[Any]) -> dict[str, float]:
    """{feature: effect} of the drift review's feature warnings (Finding objects or their dicts, as in
    drift.findings.json): the features it found drifted, with the effect size it quoted."""
    out: dict[str, float] = {}
    for f in findings:
        d = f if isinstance(f, Mapping) else f.to_dict()
        if d.get("kind") == "feature" and d.get("severity") in ("alert", "warning") \
                and str(d.get("anchor", "")).startswith("feature-"):
            v = d.get("value", (d.get("extra") or {}).get("effect_size"))
            out[d["subject"]] = float(v) if v is not None else math.nan
    return out


def decompose(by_value: pd.DataFrame, feature: str, kind: str) -> dict[str, Any]:
    """The change of the whole metric split over one feature's bins into mix (rows moved between bins)
    and within (bins got worse), both as a *drop* (positive: worse), and the bin that changed most."""
    d = by_value[by_value["feature"] == feature]
    n, n_ref = d["rows"].sum(), d["rows_reference"].sum()
    if not n or not n_ref:
        return {"drop_from_shift": None, "drop_within_bins": None, "worst_bin": None, "worst_bin_change": None}
    w, w_ref = d["rows"] / n, d["rows_reference"] / n_ref
    whole_ref = float((w_ref * d["reference"].fillna(0)).sum())
    m_ref = d["reference"].fillna(whole_ref)  # a value new this week: the whole reference metric
    m_now = d["metric"].fillna(m_ref)
    sign = -1.0 if kind == "classification" else 1.0  # a drop: accuracy down, MAE up
    mix = sign * float(((w - w_ref) * m_ref).sum())
    within = sign * float((w * (m_now - m_ref)).sum())
    change = sign * (m_now - m_ref)
    ok = d["rows"] > 0
    worst = change[ok].idxmax() if ok.any() else None
    return {"drop_from_shift": mix, "drop_within_bins": within,
            "worst_bin": None if worst is None else str(d.loc[worst, "value"]),
            "worst_bin_change": None if worst is None else float(change[worst])}


@dataclass
class DriftPerformance:
    """Drifted features ranked by importance x effect, with what each explains of the drop, and the
    one-line verdict for the model."""

    kind: str
    table: pd.DataFrame
    verdict: str
    carrier: str | None  # the drifted feature that carries the drop, if any
    drop: float | None
    problems: list[str] = field(default_factory=list)

    @property
    def metric(self) -> str:
        return "accuracy" if self.kind == "classification" else "mae"

    @property
    def explains_a_drop(self) -> bool:
        """True when there is a drop to explain (the verdict is then the "why" line; else it says "no drop")."""
        return bool(self.verdict) and self.drop is not None and self.drop > 0

    @property
    def why(self) -> str:
        """The verdict as the "why" line the week page's cell and the report's banner start with; '' without a drop."""
        return why_line(self.verdict) if self.explains_a_drop else ""

    @property
    def findings(self) -> list["Finding"]:
        """The verdict as one info finding (the drop and its segment are warned about elsewhere); with
        a drop, marked `extra.why`: the report's banner shows it as its "why" line."""
        from workbench.findings import Finding

        if not self.verdict:
            return []
        return [Finding("info", self.carrier or f"{self.metric} drop", self.verdict, kind="metric", anchor=ANCHOR,
                        extra={"carrier": self.carrier, "drop": self.drop, "why": self.explains_a_drop})]

    @property
    def headline(self) -> dict:
        return {"drop_verdict": self.verdict, "drop_carried_by": self.carrier}

    @property
    def headline_numbers(self) -> dict:
        """The headline under the name ReviewContext.attempt collects."""
        return self.headline

    def to_frame(self) -> pd.DataFrame:
        """One row per drifted feature, largest importance x effect first."""
        return self.table.reset_index(drop=True)

    def plot(self, ax=None):
        """Per drifted feature: the drop its shift explains and the drop inside its bins."""
        import matplotlib.pyplot as plt

        from workbench.plots import plain
        from workbench.tables import metric_name

        t = self.table
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.5 * max(len(t), 2) + 1.2))
        y = np.arange(len(t))
        ax.barh(y - 0.2, t["drop_from_shift"].fillna(0), height=0.4, color="#2980b9", label="its shift (mix)")
        ax.barh(y + 0.2, t["drop_within_bins"].fillna(0), height=0.4, color="#c0392b", label="inside its bins")
        ax.set_yticks(y, [plain(f) for f in t["feature"]])
        ax.invert_yaxis()
        ax.axvline(0, color="#2c3e50", lw=0.8)
        ax.set_xlabel(f"drop of {metric_name(self.metric)} against the reference window")  # 'MAE', not 'mae'
        ax.set_title(self.verdict[:90] + ("…" if len(self.verdict) > 90 else ""), fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)  # beside the bars, never on them
        return ax.figure  # the protocol: a figure (workbench.result)


def why_line(verdict: str) -> str:
    """'Why: <verdict>': the one wording of the why line (week page and report banner alike)."""
    return f"{WHY}{verdict}"


def join(segments: WeakSegments, drifted: Mapping[str, float] | pd.DataFrame,
         importances: Mapping[str, float] | pd.Series | None = None) -> DriftPerformance:
    """Join the drift review's drifted features ({feature: effect}, or DriftReport.ranked() with its
    `magnitude`) with the weak-segment search of the same window (see module doc)."""
    from workbench.findings import pct

    if isinstance(drifted, pd.DataFrame):
        drifted = dict(zip(drifted["feature"], drifted["magnitude"]))
    imp = {} if importances is None else {str(k): float(v) for k, v in dict(importances).items()}
    kind, drop = segments.kind, segments.drop
    problems = []
    rows = []
    searched = set(segments.by_value["feature"]) if len(segments.by_value) else set()
    for f, effect in drifted.items():
        seg = next((s for s in segments.segments if f in s.features), None)
        row = {"feature": f, "effect": effect, "importance": imp.get(f),
               "importance_x_effect": imp[f] * effect if f in imp and effect == effect else None,
               "segment": seg.label if seg else ""}
        if f in searched:
            row |= decompose(segments.by_value, f, kind)
        else:
            row |= {"drop_from_shift": None, "drop_within_bins": None, "worst_bin": None, "worst_bin_change": None}
            problems.append(f"drift joined to performance: {f} was not among the features searched for segments")
        mix = row["drop_from_shift"]
        row["share_of_drop_from_shift"] = mix / drop if mix is not None and drop and drop > 0 else None
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    if len(table):
        key = pd.to_numeric(table["importance_x_effect"], errors="coerce").fillna(
            pd.to_numeric(table["effect"], errors="coerce").fillna(0) * (0 if imp else 1))
        table = table.assign(_k=key).sort_values("_k", ascending=False, kind="stable").drop(columns="_k")
    verdict, carrier = _verdict(segments, table, drop)
    return DriftPerformance(kind, table.reset_index(drop=True), verdict, carrier, drop, problems)


def _verdict(segments: WeakSegments, table: pd.DataFrame, drop: float | None) -> tuple[str, str | None]:
    from workbench.findings import num, pct

    metric = segments.metric
    if drop is None:
        return "", None
    if drop <= 0:
        return (f"no drop: {metric} {num(segments.overall)} against {num(segments.overall_reference)} in the "
                "reference window"), None
    top = segments.segments[0] if segments.segments else None
    shares = {r.feature: r.share_of_drop_from_shift for r in table.itertuples() if r.share_of_drop_from_shift is not None}
    where = (f"; it sits in {top.label} ({pct(top.share_of_drop, 0)} of the drop)"
             if top is not None and top.share_of_drop is not None else "")
    if top is not None:
        carried = [f for f in top.features if f in set(table["feature"])]
        if carried:
            f = carried[0]
            s = shares.get(f)
            how = (f"its shift explains {pct(s, 0)}" if s is not None and s >= SHIFT_CARRIES else
                   f"inside that segment the model got worse (concept drift there); the shift of {f} itself "
                   f"explains {pct(s if s > 0 else 0.0, 0) if s is not None else 'an unknown share'}")  # not -0%
            share = f" ({pct(top.share_of_drop, 0)} of the drop)" if top.share_of_drop is not None else ""
            return f"drifted feature {f} carries the drop: it sits in {top.label}{share}; {how}", f
    if shares:
        f, s = max(shares.items(), key=lambda kv: kv[1])
        if s >= SHIFT_CARRIES:
            return (f"drifted feature {f} carries the drop: its shift explains {pct(s, 0)} of it (rows moved to "
                    f"values where the model was already weaker){where}"), f
    return f"the drop is not explained by any drifted feature (concept drift){where}", None


def from_status(drift: Mapping[str, Any] | None, performance: Mapping[str, Any] | None) -> DriftPerformance | None:
    """The join from two stored results of one model (status.json's entries, as the week page reads
    them): the drift review's drifted features from its findings (`drifted_from_findings`) and the
    weak-segment search from the performance review's headline (`WeakSegments.headline`: `by_value`,
    the whole metric now and in the reference, the top segment). None when it cannot be said: either
    review did not run ok, the search was not recorded, or there is no drop (nothing to explain)."""
    if not drift or not performance or drift.get("status") != "ok" or performance.get("status") != "ok":
        return None
    h = performance.get("headline") or {}
    rows, metric = h.get("by_value"), h.get("weak_segments_metric")
    if not rows or metric not in ("accuracy", "mae"):
        return None
    segments = _segments_from_headline(h, "classification" if metric == "accuracy" else "regression")
    if segments.drop is None or segments.drop <= 0:
        return None
    return join(segments, drifted_from_findings(drift.get("findings") or []))


def _segments_from_headline(h: Mapping[str, Any], kind: str) -> WeakSegments:
    """A WeakSegments rebuilt from its stored headline: what `join` reads (by_value, the whole, the
    top segment's features, label and share of the drop); the slices themselves are not stored."""
    from workbench.performance.segments import BY_VALUE_COLUMNS, Segment

    by_value = pd.DataFrame([list(r) for r in h["by_value"]], columns=BY_VALUE_COLUMNS)
    for c in ("metric", "reference"):
        by_value[c] = pd.to_numeric(by_value[c], errors="coerce")
    top = []
    if h.get("weak_segment") and h.get("weak_segment_features"):
        top = [Segment(tuple(h["weak_segment_features"]), str(h["weak_segment"]), math.nan, 0, math.nan,
                       (math.nan, math.nan), None, None, None, h.get("weak_segment_share_of_drop"), math.nan)]
    n = int(by_value.loc[by_value["feature"] == by_value["feature"].iloc[0], "rows"].sum()) if len(by_value) else 0
    return WeakSegments(kind, pd.DataFrame(columns=["label"]), top, h.get("weak_segments_overall"),
                        h.get("weak_segments_overall_reference"), n, math.nan, by_value=by_value)
