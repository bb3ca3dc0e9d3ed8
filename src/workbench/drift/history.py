"""Drift over time: daily windows against the reference (a feature × day grid) and week over week."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench import approaching
from workbench.config import Window
from workbench.drift import methods as dm
from workbench.drift.core import (HISTORY_WEEKS, DriftReport, daily_edges, fine_bins, choose_method,
                                  compare_feature, detect_drift, preload, store_sample)
from workbench.drift.profile import CurrentSample
from workbench.result import TableResult

if TYPE_CHECKING:
    from workbench.context import ReviewContext


def score(method: str, statistic: float | None, p_value: float | None, threshold: float,
          effect_size: float | None = None, min_effect: float | None = None) -> float:
    """How far past the decision a result is, on one scale for all methods: > 1 means drift
    (drift.methods.score: significance and effect floor both count, as in the weekly verdict)."""
    return dm.score(method, statistic, p_value, threshold, effect_size, min_effect)


def over_time(ctx: "ReviewContext", weeks_back: int = HISTORY_WEEKS, freq: str | None = None) -> TableResult:
    """Each feature in each period (default daily) of the window and the weeks before it, against the
    reference (the configured columns read in one query with their timestamps)."""
    from workbench.drift.core import reference_profile

    dd = ctx.monitoring.drift_detection
    freq = freq or dd.daily_freq
    span = Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)
    profile = reference_profile(ctx)
    rows = []
    from workbench.drift.core import features_for

    feats = {f: c for f, c in features_for(ctx).items() if f in profile.features}
    preload(ctx, feats, weeks_back)
    if ctx.store.can_aggregate and freq in ("1D", "D"):  # every feature in one scan
        edges = {n: daily_edges(profile[n], c.method) for n, c in feats.items()}
        ctx.store.prefetch_counts(ctx.model.name, span, [(n, e) for n, e in edges.items() if e is not False],
                                  by_day=True)
    on_values = {}
    for name, fcfg in feats.items():
        ref = profile[name]
        method = _method(fcfg, ref)
        if _by_day_on_values(ctx.store, ref, method, freq):
            on_values[name] = fcfg
            continue
        for period, cur in _daily_samples(ctx, span, ref, method, freq):
            r = compare_feature(ref, cur, fcfg.method, fcfg.threshold, dd.min_samples, fcfg.min_effect,
                                dd.thresholds, dd.min_effects, distributions=False)
            rows.append(_cell(name, period, r))
    rows += _value_days(ctx, span, profile, on_values)
    order = {n: i for i, n in enumerate(feats)}
    rows.sort(key=lambda c: (order[c["feature"]], c["period"]))
    grid = pd.DataFrame(rows)
    drifted = {f.subject for f in getattr(ctx, "findings", ()) if f.kind == "feature" and f.severity != "info"}
    return TableResult(grid, headline={"series": {"drift_share": daily_share(grid, ctx.window)},
                                       **approaching.drift_headline(grid, ctx.window, drifted, dd.drift_share)})  # early warning, incidents


def _cell(name: str, period, r, exact: bool = True, statistic_max: float | None = None) -> dict:
    """One feature x day cell of the grid (`exact`: tested on the day's values; else on its bin counts,
    `statistic_max` then bounding the exact statistic from above: KS's D_high, see drift.daily;
    Wasserstein's statistic plus its error bound, see drift.histogram; None when unbounded)."""
    return {"feature": name, "period": period, "method": r.method, "statistic": r.statistic,
            "p_value": r.p_value, "threshold": r.threshold, "effect_size": r.effect_size,
            "min_effect": r.min_effect, "drifted": r.drifted, "n": r.n_current,
            "score": score(r.method, r.statistic, r.p_value, r.threshold, r.effect_size, r.min_effect),
            "exact": exact, "statistic_max": statistic_max}


def _by_day_on_values(store, ref, method: str, freq: str) -> bool:
    """A numeric feature tested on values (KS, Wasserstein) on a daily grid: its days are
    read in full up to daily_exact_max_rows, bigger ones counted in fine bins (see drift.daily)."""
    return (freq in ("1D", "D") and ref.kind == "numeric"
            and not dm.counts_only(method) and bool(len(ref.sorted_values)))


def _value_days(ctx: "ReviewContext", span: Window, profile, feats: dict) -> list[dict]:
    """The cells of the numeric features tested on values, day by day: a day of at most
    `daily_exact_max_rows` rows is read (all these features in one scan where the store can) and
    tested exactly; a bigger one on its counts over the fine bins, KS bounded (drift.daily)."""
    from workbench.drift import daily, histogram

    if not feats:
        return []
    dd, store, model = ctx.monitoring.drift_detection, ctx.store, ctx.model.name
    # a big day's bins: KS's 100 reference-quantile bins; Wasserstein's are the big window's (histogram's
    # window_edges: those bins and bounded tail bins beyond the reference range), so its error is bounded
    bins = {n: (histogram.window_edges(profile[n]) if _method(c, profile[n]) == "wasserstein" else fine_bins(profile[n]))
            for n, c in feats.items()}
    sizes = _day_sizes(store, model, span)
    counted: dict[str, dict] = {}
    if any(n > dd.daily_exact_max_rows for n in sizes.values()):  # some day is counted in bins
        counted = {n: {day: (c, m, nf) for day, c, m, nf in store.daily_counts(model, span, n, bins[n][0])}
                   for n in feats}
    rows = []
    for day in sorted(sizes):
        exact = sizes[day] <= dd.daily_exact_max_rows
        w = Window(max(day, span.start), min(day + pd.Timedelta(days=1), span.end), f"{day:%Y-%m-%d}")
        if exact and store.can_aggregate:
            store.prefetch_values(model, w, list(feats))
        for name, fcfg in feats.items():
            if not exact and day not in counted[name]:
                continue
            ref, (edges, reps) = profile[name], bins[name]
            if exact:
                values = (store.feature_values(model, w, name) if store.can_aggregate else
                          store.read_feature(model, w, name).to_numpy(dtype=float, na_value=np.nan))
                cur = CurrentSample.from_values(name, values)
                cur.from_bins = True  # KS p-value: the limiting distribution's, then scipy's near the threshold
            elif _method(fcfg, ref) == "wasserstein":  # bounded as a big window's (drift.histogram)
                counts, missing, nonfinite = counted[name][day]
                hist = histogram.WindowHistogram(edges, reps, np.asarray(counts, dtype=np.int64))
                cur = CurrentSample(name, "numeric", hist.n, missing, nonfinite, histogram=hist, from_bins=True,
                                    n_out_of_range=hist.out_of_range(ref))
            else:
                counts, missing, nonfinite = counted[name][day]
                values = np.repeat(reps, counts)  # sorted: the representatives increase
                cur = CurrentSample(name, "numeric", len(values), missing, nonfinite, sorted_values=values,
                                    from_bins=True)
            r = compare_feature(ref, cur, fcfg.method, fcfg.threshold, dd.min_samples, fcfg.min_effect,
                                dd.thresholds, dd.min_effects, distributions=False)
            high = None
            if r.method == "ks" and r.drifted is not None:
                if exact:
                    r = daily.with_ks(r, r.statistic)
                else:
                    low, high = daily.binned_ks_bounds(ref.sorted_values, edges, counts)
                    r = daily.with_ks(r, low, binned=True)
            elif r.error_bound is not None and np.isfinite(r.error_bound):  # a counted day's Wasserstein
                high = r.statistic + r.error_bound  # exact W <= statistic + bound (None: unbounded)
            rows.append(_cell(name, day, r, exact, high))
    return rows


def _method(fcfg, ref) -> str:
    """The drift method a feature is tested with (its own, else the default for its kind)."""
    return fcfg.method or choose_method(ref.kind == "categorical")


def _day_sizes(store, model: str, span: Window) -> dict:
    """Rows per UTC day of the span from the store's hourly counts (an index scan, no feature read)."""
    counts = store.hourly_counts(model, span)
    if counts.empty:
        return {}
    return {day: int(n) for day, n in counts.groupby(counts.index.floor("D")).sum().items() if n > 0}


def daily_share(grid: pd.DataFrame, window: Window) -> dict[str, float]:
    """Share of tested features that drifted, per day of `window` (approaching.daily_tested), keyed by
    ISO date, for the week page's timeline."""
    days = approaching.daily_tested(grid, window)
    return {f"{p:%Y-%m-%d}": round(float(r.drifted / r.tested), 4) for p, r in days.iterrows()}


def _daily_samples(ctx: "ReviewContext", span: Window, ref, method: str, freq: str):
    """(period, CurrentSample) per period, counted per day in the database (GROUP BY day and category
    or bin) when the method needs only counts (KS / Wasserstein days: _value_days). Without a daily
    count (other periods) the column is read once with its timestamps."""
    store = ctx.store
    if freq in ("1D", "D") and (ref.kind == "categorical" or dm.counts_only(method)):
        edges = None if ref.kind == "categorical" else ref.edges
        for day, counts, missing, nonfinite in store.daily_counts(ctx.model.name, span, ref.name, edges):
            if ref.kind == "categorical":
                yield day, CurrentSample.from_counts(ref.name, counts, missing)
            else:
                yield day, CurrentSample(ref.name, "numeric", int(counts.sum()), missing, nonfinite, bin_counts=counts)
        return
    df = store.read(ctx.model.name, span, features=[ref.name], core=["timestamp"])
    for period, g in df.groupby(df["timestamp"].dt.floor(freq)):
        yield period, CurrentSample.from_series(ref.name, g[ref.name], ref.kind)


def week_over_week(ctx: "ReviewContext", this_week: DriftReport) -> pd.DataFrame:
    """Each feature's verdict this window next to the previous window's: what changed."""
    from workbench.drift.core import reference_profile

    prev = ctx.window.previous()
    dd = ctx.monitoring.drift_detection
    from workbench.drift.core import features_for

    profile = reference_profile(ctx)
    feats = {f: c for f, c in features_for(ctx).items() if f in profile.features}
    from workbench.drift.core import counted_window, prefetch
    counted = counted_window(ctx.store, dd, ctx.store.count(ctx.model.name, prev)) if dd.exact_max_rows is not None else False
    prefetch(ctx, prev, profile, feats, counted)
    last = detect_drift(profile, lambda f, kind: store_sample(ctx.store, ctx.model.name, prev, profile[f],
                                                              feats[f].method, counted), dd, ctx.model.name, feats)
    a = last.to_frame().set_index("feature")[["method", "statistic", "status", "borderline"]]
    b = this_week.to_frame().set_index("feature")[["statistic", "status", "borderline"]]
    out = a.join(b, lsuffix="_last_week", rsuffix="_this_week").reset_index()
    out["change"] = [change(p, t, bool(bp) or bool(bt)) for p, t, bp, bt in zip(
        out["status_last_week"], out["status_this_week"], out["borderline_last_week"], out["borderline_this_week"])]
    return out.drop(columns=["borderline_last_week"]).rename(columns={"borderline_this_week": "borderline"})


def week_over_week_table(wow: pd.DataFrame | None, window: Window):
    """`week_over_week` as the report shows it: headed 'this week' / 'last week' / 'change' as every
    review's week-over-week table (tables.HEADERS), the weeks named in its caption."""
    from workbench import tables
    from workbench.drift.columns import KINDS

    if wow is None:
        return None
    return tables.table(wow, kinds=KINDS, caption=tables.week_over_week_caption(window),
                        empty="no comparison with last week")


def change(previous: str, this: str, borderline: bool = False) -> str:
    """What changed between two weekly verdicts: 'new drift', 'recovered', 'still drifting', '' — or,
    when the verdict flipped while the effect sat within drift_detection.borderline_tolerance (10%) of
    min_effect in either week, 'borderline (at min_effect)': hovering at the floor is not a new drift nor a recovery."""
    if (previous == "drift") != (this == "drift") and borderline and "insufficient data" not in (previous, this):
        return "borderline (at min_effect)"
    if previous != "drift" and this == "drift":
        return "new drift"
    if previous == "drift" and this != "drift":
        return "recovered"
    return "still drifting" if this == "drift" else ""


def previous_name(window: Window) -> str:
    """What a reader calls the window before `window`: 'last week (2026-W46)' for an ISO week
    (a partial one too), else 'previous window (2026-11-09 to 2026-11-15)' (never the internal 'W47-1')."""
    import datetime as dt
    import re

    prev = window.previous()
    if re.fullmatch(r"\d{4}-W\d{2}", window.label):
        y, w, _ = prev.start.isocalendar()
        return f"last week ({y}-W{w:02d})"
    return f"previous window ({prev.start:%Y-%m-%d} to {prev.end - dt.timedelta(seconds=1):%Y-%m-%d})"
