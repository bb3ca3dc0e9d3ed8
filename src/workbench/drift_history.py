"""Drift over time: daily windows against the reference (a feature × day grid) and week over week."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.config import Window
from workbench.drift import DriftReport, _threshold, compare_feature, detect_drift
from workbench.drift_methods import METHODS
from workbench.profile import CurrentSample

if TYPE_CHECKING:
    from workbench.context import ReviewContext


def score(method: str, statistic: float | None, p_value: float | None, threshold: float) -> float:
    """How far past its threshold a result is, on one scale for all methods: >= 1 means drift.

    distances: statistic / threshold; p-value tests: log(p) / log(threshold).
    """
    if METHODS[method].kind == "p_value":
        if p_value is None:
            return float("nan")
        return float(np.log(max(p_value, 1e-300)) / np.log(threshold))
    return float("nan") if statistic is None else float(statistic / threshold)


def over_time(ctx: "ReviewContext", weeks_back: int = 3, freq: str | None = None) -> pd.DataFrame:
    """Each feature in each period (default daily) of the window and the weeks before it, against the
    reference: one column read at a time, with its timestamps."""
    from workbench.drift import reference_profile

    dd = ctx.monitoring.drift_detection
    freq = freq or dd.daily_freq
    span = Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)
    profile = reference_profile(ctx)
    rows = []
    for name, fcfg in dd.features_for(ctx.model.name).items():
        ref = profile[name]
        df = ctx.store.read(ctx.model.name, span, features=[name], core=["timestamp"])
        for period, g in df.groupby(df["timestamp"].dt.floor(freq)):
            r = compare_feature(ref, CurrentSample.from_series(name, g[name], ref.kind), fcfg.method,
                                _threshold(dd, fcfg), dd.min_samples, fcfg.min_effect, dd.thresholds)
            rows.append({"feature": name, "period": period, "method": r.method, "statistic": r.statistic,
                         "p_value": r.p_value, "threshold": r.threshold, "drifted": r.drifted, "n": r.n_current,
                         "score": score(r.method, r.statistic, r.p_value, r.threshold)})
    grid = pd.DataFrame(rows)
    grid.attrs["headline"] = {"series": {"drift_share": daily_share(grid, ctx.window)}}
    return grid


def daily_share(grid: pd.DataFrame, window: Window) -> dict[str, float]:
    """Share of tested features that drifted, per day of `window` (the same verdicts as the grid:
    thresholds and min_effect applied), keyed by ISO date, for the week page's timeline."""
    if grid.empty:
        return {}
    g = grid[(grid["period"] >= window.start) & (grid["period"] < window.end) & grid["drifted"].notna()]
    share = g.assign(d=g["drifted"].astype(bool)).groupby("period")["d"].mean()
    return {f"{p:%Y-%m-%d}": round(float(v), 4) for p, v in share.items()}


def week_over_week(ctx: "ReviewContext", this_week: DriftReport) -> pd.DataFrame:
    """Each feature's verdict this window next to the previous window's: what changed."""
    from workbench.drift import reference_profile

    prev = ctx.window.previous()
    dd = ctx.monitoring.drift_detection
    last = detect_drift(reference_profile(ctx), lambda f, kind: ctx.store.read_feature(ctx.model.name, prev, f),
                        dd, ctx.model.name)
    a = last.to_frame().set_index("feature")[["method", "statistic", "status"]]
    b = this_week.to_frame().set_index("feature")[["statistic", "status"]]
    out = a.join(b, lsuffix="_previous", rsuffix="_this").reset_index()

    def change(r):
        if r["status_previous"] != "drift" and r["status_this"] == "drift":
            return "new drift"
        if r["status_previous"] == "drift" and r["status_this"] != "drift":
            return "recovered"
        return "still drifting" if r["status_this"] == "drift" else ""
    out["change"] = out.apply(change, axis=1)
    return out.rename(columns={"status_previous": f"{prev.label[:8]}-1 status"})


def heatmap(grid: pd.DataFrame, title: str = "Drift score per day (>= 1 is drift)"):
    """Feature × period heatmap of the score."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if grid.empty:
        return None
    # the colour follows the verdict: a day that is significant but below min_effect is not drift,
    # so its score is held just under 1 (the same verdict as the summary and the findings)
    g = grid.assign(score=grid["score"].where(grid["drifted"].fillna(False).astype(bool) | (grid["score"] < 1), 0.99))
    m = g.pivot(index="feature", columns="period", values="score").clip(upper=2)
    m.columns = [c.strftime("%m-%d") for c in m.columns]
    fig, ax = plt.subplots(figsize=(min(0.42 * m.shape[1] + 3, 16), 0.45 * m.shape[0] + 1.5))
    sns.heatmap(m, cmap="RdYlGn_r", vmin=0, vmax=2, center=1, ax=ax,
                cbar_kws={"label": "score (≥ 1 is drift; clipped at 2)"}, linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig
