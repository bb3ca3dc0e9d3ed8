"""Drift figures: reference vs current distributions per feature, the feature x day score heatmap
and predictions per hour. Shared figure helpers (mathtext off, dates, the could-not-draw note) come
from workbench.plots; nothing here imports the review, so the review can import this lazily."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from workbench.drift.profile import ABOVE, BELOW
from workbench.plots import _could_not_draw, _dates, _text, plain

if TYPE_CHECKING:
    from workbench.drift.core import DriftReport

REF_COLOR, CUR_COLOR = "#7f8c8d", "#e67e22"


def _draw_feature(ax, r) -> None:
    """One feature. Numeric: shares per bin over the reference's [min, max], with values below its
    minimum / above its maximum as labelled hatched bars at the ends (never piled into the edge bins)."""
    import numpy as np

    ref, cur = r.reference_dist, r.current_dist
    if r.kind == "categorical":
        x = np.arange(len(ref))
        ax.bar(x - 0.2, ref.to_numpy(), width=0.4, color=REF_COLOR, label="reference")
        ax.bar(x + 0.2, cur.to_numpy(), width=0.4, color=CUR_COLOR, label="current")
        ax.set_xticks(list(x))
        ax.set_xticklabels([_text(i, 14) for i in ref.index], rotation=35, ha="right", fontsize=7)
        ax.set_xlabel(f"{_text(r.feature, 40)} (category)", fontsize=8)
    else:
        inner_r, inner_c = ref.drop([BELOW, ABOVE]), cur.drop([BELOW, ABOVE])
        mids = np.asarray(inner_r.index, dtype=float)
        step = mids[1] - mids[0] if len(mids) > 1 else 1.0
        ax.step(mids, inner_r.to_numpy(), where="mid", color=REF_COLOR, label="reference")
        ax.step(mids, inner_c.to_numpy(), where="mid", color=CUR_COLOR, label="current")
        ax.fill_between(mids, inner_c.to_numpy(), step="mid", color=CUR_COLOR, alpha=0.25)
        for label, share, xpos in ((BELOW, cur[BELOW], mids[0] - 2.5 * step), (ABOVE, cur[ABOVE], mids[-1] + 2.5 * step)):
            if share > 0:
                ax.bar([xpos], [share], width=2 * step, color="none", edgecolor="#c0392b", hatch="//", lw=1)
                ax.annotate(plain(f"{label}\n{share:.1%}"), (xpos, share), fontsize=6, color="#c0392b",
                            ha="center", va="bottom")
        ax.set_xlabel(f"{_text(r.feature, 40)} (value)", fontsize=8)
    from workbench.tables import effect  # as the per-feature table and the findings print it ('4.2×10⁻⁵')

    stat = effect(r.statistic) if r.statistic is not None else "n/a"
    ax.set_title(plain(f"{r.feature} — {r.method} {stat} ({r.status})"), fontsize=9,
                 color="#c0392b" if r.drifted else "black")
    ax.set_ylabel("share of values", fontsize=8)
    ax.tick_params(labelsize=7)


def drift_distributions(report: "DriftReport", max_features: int | None = None):
    """Reference vs current distribution of every feature, drifted first; with `max_features` the rest
    are left out and the figure says how many."""
    results = [r for r in report.results if r.reference_dist is not None]
    results.sort(key=lambda r: (not r.drifted, r.feature))
    left_out = 0
    if max_features is not None and len(results) > max_features:
        left_out = len(results) - max_features
        results = results[:max_features]
    if not results:
        return None
    cols = 3
    rows = math.ceil(len(results) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.3 * rows), squeeze=False)
    problems: list[str] = []  # one feature that cannot be drawn costs its own panel, never the figure
    for ax, r in zip(axes.flat, results):
        try:
            _draw_feature(ax, r)
        except Exception as exc:  # noqa: BLE001
            problems.append(_could_not_draw(ax, f"{r.feature!r} (values {list(map(str, r.reference_dist.index[:5]))})", exc))
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    labelled = [ax for ax in axes.flat if ax.get_legend_handles_labels()[0]]
    if labelled:
        labelled[0].legend(fontsize=7)
    try:
        fig.tight_layout()
        fig.canvas.draw()  # rendering errors show up here, not later in the notebook's display hook
    except Exception:  # noqa: BLE001 - find the panel(s) that cannot be rendered and replace them
        renderer = fig.canvas.get_renderer()
        for ax, r in zip(axes.flat, results):
            try:
                ax.draw(renderer)
            except Exception as exc:  # noqa: BLE001
                problems.append(_could_not_draw(ax, f"{r.feature!r} (values {list(map(str, r.reference_dist.index[:5]))})", exc))
        fig.canvas.draw()
    if left_out:
        fig.suptitle(f"{left_out} more feature(s) not plotted: see the per-feature table", fontsize=9)
    fig.problems = problems  # ctx.attempt records them as "could not compute"
    return fig


def volume(counts: pd.DataFrame, title: str = "Predictions per hour"):
    """Bar-like line of prediction counts per period."""
    fig, ax = plt.subplots(figsize=(11, 2.8))
    values = counts["predictions"].astype(float)
    seen = (values > 0).cumsum() > 0  # hours before the first prediction have no data, not zero traffic
    ax.plot(counts["period"], values.where(seen), color="#2c3e50", lw=1)
    ax.set_title(title)
    ax.set_ylabel("predictions per hour")
    _dates(ax)
    fig.tight_layout()
    return fig


def heatmap(grid: pd.DataFrame, title: str = "Drift score per day (above 1 is drift)", vmax: float = 2.0):
    """Feature × period heatmap of the score (the weekly verdict's rule, effect floor included);
    cells the decision calls drift carry a ×."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if grid.empty:
        return None
    m = grid.pivot(index="feature", columns="period", values="score").clip(upper=vmax)
    marks = grid.pivot(index="feature", columns="period", values="drifted").reindex_like(m)
    labels = marks.map(lambda v: "×" if v is True else "")
    m.columns = [c.strftime("%m-%d") for c in m.columns]
    fig, ax = plt.subplots(figsize=(min(0.42 * m.shape[1] + 3, 16), 0.45 * m.shape[0] + 1.5))
    sns.heatmap(m, cmap="RdYlGn_r", vmin=0, vmax=vmax, center=1, ax=ax, annot=labels.to_numpy(), fmt="",
                annot_kws={"fontsize": 7}, cbar_kws={"label": f"score (clipped at {vmax:g}; × = drift)"},
                linewidths=0.3)
    for t in ax.get_yticklabels():
        t.set_parse_math(False) if hasattr(t, "set_parse_math") else None
    ax.set_title(title)
    ax.set_xlabel("day (UTC)")
    ax.set_ylabel("feature")
    fig.tight_layout()
    return fig
