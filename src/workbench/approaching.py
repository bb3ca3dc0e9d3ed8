"""Early warning: what is not a finding yet but is heading there ("approaching" notes).

Not a warning and no level: the week page lists these notes under the incidents, so next week's
warning is no surprise. Two kinds:

- a feature whose drift effect has risen `RISING_WEEKS` weeks in a row and now sits within
  `NEAR` (80%) to 100% of its effect floor (its min_effect; for a distance without one, its
  threshold), without having drifted. The weekly effect is the median of the daily effects of
  the drift-over-time grid (workbench.drift.history.over_time: the window and the HISTORY_WEEKS
  weeks before it, on one scale);
- a metric whose 95% interval touches its threshold while the estimate is still on the good side:
  accuracy above the alert threshold with its lower bound at or below it, or a metric within the
  relative tolerance of its baseline with its interval reaching past the tolerance.

Each note is a dict {"kind": "feature" | "metric", "subject", "sentence", "value", "bound"} (value:
the effect or the metric, bound: the floor or the threshold), stored in the review's headline under
"approaching" (so in status.json's results), and drawn by the week page.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

RISING_WEEKS = 3   # the effect rose in each of the last this many weeks
NEAR = 0.8         # ... and is at least this share of its floor (below 1: not drifted)


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def rising(values: Sequence[float | None], weeks: int = RISING_WEEKS) -> bool:
    """The last `weeks` week-over-week steps all rose (needs weeks + 1 finite values at the end)."""
    tail = list(values)[-(weeks + 1):]
    if len(tail) < weeks + 1 or not all(_finite(v) for v in tail):
        return False
    return all(float(b) > float(a) for a, b in zip(tail, tail[1:]))


def feature_notes(weekly: Mapping[str, Sequence[float | None]], floors: Mapping[str, float],
                  drifted: Iterable[str] = (), weeks: int = RISING_WEEKS, near: float = NEAR) -> list[dict]:
    """Features whose weekly effect (oldest first, this week last) rose `weeks` weeks in a row and is
    within [near, 1) of its floor; features in `drifted` are findings already and left out."""
    from workbench.findings import num, pct

    out, drifted = [], set(drifted)
    for name, effects in weekly.items():
        floor = floors.get(name)
        if name in drifted or not _finite(floor) or float(floor) <= 0 or not rising(effects, weeks):
            continue
        now = float(effects[-1])
        share = round(now / float(floor), 9)  # 0.04 / 0.05 is 0.7999…: at 80% is in the band
        if near <= share < 1:
            path = " → ".join(num(float(v)) for v in list(effects)[-(weeks + 1):])
            out.append({"kind": "feature", "subject": str(name), "value": now, "bound": float(floor),
                        "sentence": f"{name}: drift effect rose {weeks} weeks in a row ({path}, median of the "
                                    f"daily effects) and is at {pct(share, 0)} of its floor {num(float(floor))}."})
    return out


def weekly_effects(grid, window_start, weeks: int = RISING_WEEKS) -> tuple[dict[str, list], dict[str, float]]:
    """From the drift-over-time grid (one row per feature and day: effect_size, min_effect, threshold,
    method): per feature the median daily effect of each of the `weeks` + 1 weeks ending with the
    window (oldest first; None for a week without one), and its effect floor."""
    import pandas as pd

    from workbench.drift import methods as dm

    if grid is None or len(grid) == 0:
        return {}, {}
    start = pd.Timestamp(window_start)
    g = grid.assign(week=((pd.to_datetime(grid["period"]) - start) // pd.Timedelta(days=7)).astype(int))
    g = g[(g["week"] >= -weeks) & (g["week"] <= 0)]
    effects: dict[str, list] = {}
    floors: dict[str, float] = {}
    for name, cells in g.groupby("feature", sort=False):
        per = pd.to_numeric(cells["effect_size"], errors="coerce").groupby(cells["week"]).median()
        effects[str(name)] = [float(per[w]) if w in per and _finite(per[w]) else None for w in range(-weeks, 1)]
        last = cells.iloc[-1]
        floor = last.get("min_effect")
        if not _finite(floor):
            try:
                floor = None if dm.get_method(str(last["method"])).is_test else last.get("threshold")
            except (KeyError, ValueError):  # an unknown method: no floor to compare with
                floor = None
        if _finite(floor):
            floors[str(name)] = float(floor)
    return effects, floors


def _in_window(grid, window_start, window_end):
    """The grid's cells of the window's days, `period` as timestamps (empty without a grid)."""
    import pandas as pd

    if grid is None or len(grid) == 0:
        return pd.DataFrame(columns=["feature", "period", "drifted"])
    period = pd.to_datetime(grid["period"])
    return grid.assign(period=period)[(period >= pd.Timestamp(window_start)) & (period < pd.Timestamp(window_end))]


def _drifted(verdict) -> bool:
    """A grid cell's verdict is drift (True or 1; None: not tested)."""
    return verdict is True or verdict == 1


def drifted_on_last_day(grid, window_start, window_end) -> list[str]:
    """The features the grid calls drifted on the window's last day that has cells (incidents: open)."""
    inside = _in_window(grid, window_start, window_end)
    if inside.empty:
        return []
    last = inside[inside["period"] == inside["period"].max()]
    return sorted(str(f) for f, d in zip(last["feature"], last["drifted"]) if _drifted(d))


def drifted_days(grid, window_start, window_end) -> dict[str, list[str]]:
    """Each feature the grid calls drifted on some day of the window: [its first, its last drifted day]
    as ISO dates (incidents: when a drift ran; days in between need not all have drifted)."""
    inside = _in_window(grid, window_start, window_end)
    hit = inside[inside["drifted"].map(_drifted).astype(bool)]
    return {str(f): [f"{g['period'].min():%Y-%m-%d}", f"{g['period'].max():%Y-%m-%d}"]
            for f, g in hit.groupby("feature", sort=False)}


def daily_tested(grid, window) -> "pd.DataFrame":
    """Per day of `window` with tested cells: how many features were tested ("tested": a verdict, not
    None) and how many of them drifted ("drifted"), indexed by period (the grid's verdicts: thresholds
    and min_effect applied). The week page's daily share and the dataset-drift days count these."""
    import pandas as pd

    inside = _in_window(grid, window.start, window.end)
    g = inside[inside["drifted"].notna()]
    if g.empty:
        return pd.DataFrame({"tested": [], "drifted": []}, dtype=int)
    d = g["drifted"].map(_drifted)
    return pd.DataFrame({"tested": d.groupby(g["period"]).size(), "drifted": d.groupby(g["period"]).sum()}).astype(int)


def dataset_drift_days(grid, window, drift_share: float) -> list[str] | None:
    """[first, last] ISO date of the window's days on which the share of drifted features (of those
    tested that day) reached `drift_share` (the weekly dataset-drift rule, drift.core.reaches_drift_share,
    day by day on the grid); [] when features were tested on some day but no day reached it (a weekly
    dataset-drift verdict then comes from the pooled week alone); None without a tested day."""
    from workbench.drift.core import reaches_drift_share

    days = daily_tested(grid, window)
    if days.empty:
        return None
    hit = [p for p, r in days.iterrows() if reaches_drift_share(int(r.drifted), int(r.tested), drift_share)]
    return [f"{min(hit):%Y-%m-%d}", f"{max(hit):%Y-%m-%d}"] if hit else []


def drift_headline(grid, window, drifted: Iterable[str] = (), drift_share: float | None = None) -> dict:
    """The drift review's headline additions: "approaching" notes, "drifted_last_day", "drifted_days"
    and, given the dataset threshold `drift_share`, "dataset_drift_days" (incidents: when)."""
    effects, floors = weekly_effects(grid, window.start)
    out = {"approaching": feature_notes(effects, floors, drifted),
           "drifted_last_day": drifted_on_last_day(grid, window.start, window.end),
           "drifted_days": drifted_days(grid, window.start, window.end)}
    if drift_share is not None:
        out["dataset_drift_days"] = dataset_drift_days(grid, window, drift_share)
    return out


def metric_note(metric: str, value: float | None, ci: Sequence[float | None] | None, bound: float | None,
                worse: str, what: str) -> dict | None:
    """A note when `value` is still on the good side of `bound` but its interval reaches it: `worse`
    is 'below' (accuracy: lower is worse) or 'above' (MAE); `what` names the bound in the sentence."""
    if not (_finite(value) and _finite(bound) and ci is not None and len(ci) == 2 and all(_finite(c) for c in ci)):
        return None
    v, b, (lo, hi) = float(value), float(bound), (float(ci[0]), float(ci[1]))
    if worse == "below":
        touches = v >= b and lo <= b
    elif worse == "above":
        touches = v <= b and hi >= b
    else:
        raise ValueError(f"worse must be 'below' or 'above', not {worse!r}")
    if not touches:
        return None
    from workbench.tables import metric_interval, metric_value  # MAPE as a percentage, as the headline table

    shown, low, high = metric_interval(metric, v, lo, hi)  # one number of decimals, as the headline table
    return {"kind": "metric", "subject": metric, "value": v, "bound": b,
            "sentence": f"{metric} {shown} [{low}, {high}]: its interval reaches {what} {metric_value(metric, b)}."}


def performance_notes(baseline, accuracy_alert_below: float | None = None,
                      tolerance: float | None = None) -> list[dict]:
    """Metric notes from the performance review's baseline table (metric, this window, ci_low, ci_high,
    training baseline, alert): the alert threshold of accuracy and the baseline's relative tolerance,
    for the metrics not already flagged."""
    from workbench.findings import pct
    from workbench.performance import metrics as wm

    out = []
    for _, row in baseline.iterrows() if baseline is not None and len(baseline) else []:
        if row.get("alert"):
            continue
        k, v, ci, b = row["metric"], row["this window"], (row["ci_low"], row["ci_high"]), row["training baseline"]
        worse = "above" if k in wm.ERROR_METRICS else "below"
        note = None
        if k == "accuracy" and accuracy_alert_below is not None:
            note = metric_note(k, v, ci, accuracy_alert_below, "below", "the alert threshold")
        if note is None and tolerance is not None and _finite(b) and float(b) != 0:
            bound = float(b) + (1 if worse == "above" else -1) * tolerance * abs(float(b))
            note = metric_note(k, v, ci, bound, worse, f"{pct(tolerance, 0)} {worse} the baseline,")
        if note is not None:
            out.append(note)
    return out
