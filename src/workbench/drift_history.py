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
    reference (the configured columns read in one query with their timestamps)."""
    from workbench.drift import reference_profile

    dd = ctx.monitoring.drift_detection
    freq = freq or dd.daily_freq
    span = Window(ctx.window.start - pd.Timedelta(weeks=weeks_back), ctx.window.end, ctx.window.label)
    profile = reference_profile(ctx)
    rows = []
    feats = dd.features_for(ctx.model.name)
    wide = ctx.store.read(ctx.model.name, span, features=list(feats), core=["timestamp"])  # one query, not one per feature
    for name, fcfg in feats.items():
        ref = profile[name]
        df = wide[["timestamp", name]]
        for period, g in df.groupby(df["timestamp"].dt.floor(freq)):
            r = compare_feature(ref, CurrentSample.from_series(name, g[name], ref.kind), fcfg.method,
                                _threshold(dd, fcfg), dd.min_samples, fcfg.min_effect, dd.thresholds)
            rows.append({"feature": name, "period": period, "method": r.method, "statistic": r.statistic,
                         "p_value": r.p_value, "threshold": r.threshold, "drifted": r.drifted, "n": r.n_current,
                         "score": score(r.method, r.statistic, r.p_value, r.threshold)})
    return pd.DataFrame(rows)


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
    m = grid.pivot(index="feature", columns="period", values="score").clip(upper=3)
    m.columns = [c.strftime("%m-%d") for c in m.columns]
    fig, ax = plt.subplots(figsize=(min(0.42 * m.shape[1] + 3, 16), 0.45 * m.shape[0] + 1.5))
    sns.heatmap(m, cmap="RdYlGn_r", vmin=0, vmax=2, center=1, ax=ax, cbar_kws={"label": "score (clipped at 3)"},
                linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig
