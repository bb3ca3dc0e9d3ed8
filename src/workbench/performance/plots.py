"""Performance figures: metric trends per version, confusion matrix, residuals, reliability curve,
label coverage and CBPE's estimate vs the realised metric, in plain matplotlib (seaborn would import
scipy.stats into every performance kernel, ~1.5 s). Shared helpers come from workbench.plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.plots import _dates, _legend_outside, fit_ylabel, metric_axis, plain
from workbench.tables import metric_name


def metric_trend(trend: pd.DataFrame, metrics: list[str], threshold: dict[str, float] | None = None,
                 title: str = "Daily metrics by model version"):
    """One line per version for each metric (rows of up to four panels), with alert thresholds dashed."""
    metrics = [m for m in metrics if m in trend and trend[m].notna().any()]
    if trend.empty or not metrics:
        return None
    cols = min(len(metrics), 4)
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, m in zip(axes.flat, metrics):
        for version, g in trend.groupby("model_version", sort=True):  # one point per day and version
            ax.plot(g["period"], g[m], marker="o", ms=4, label=plain(version))
        if threshold and m in threshold:
            ax.axhline(threshold[m], color="#c0392b", ls="--", lw=1, label=f"alert < {threshold[m]}")
        ax.set_title(plain(metric_name(m)))
        ax.set_ylabel(plain(metric_name(m)), fontsize=8)
        metric_axis(ax, m)
        _dates(ax, "prediction day (UTC)")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=7, title="version", title_fontsize=7)
    fig.suptitle(plain(title))
    fig.tight_layout()
    return fig


def confusion(cm: pd.DataFrame, title: str = "Confusion matrix (labelled predictions)"):
    fig, ax = plt.subplots(figsize=(3.8, 3.2))
    values = cm.to_numpy()
    ax.imshow(values, cmap="Blues", aspect="auto")
    ax.set_xticks(range(values.shape[1]), [plain(c) for c in cm.columns])
    ax.set_yticks(range(values.shape[0]), [plain(i) for i in cm.index], rotation=90, va="center")
    light = values.max() / 2 if values.size else 0
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:,}", ha="center", va="center", color="white" if v > light else "black")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def residuals(df: pd.DataFrame, title: str = "Residuals (actual − predicted)"):
    lab = df[df["actual_outcome"].notna()]
    res = lab["actual_outcome"] - lab["prediction"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    axes[0].hist(res, bins=60, color="#2980b9", edgecolor="white", linewidth=0.3)
    axes[0].set_title(title)
    axes[0].set_xlabel("residual (target unit)", fontsize=8)
    axes[0].set_ylabel("labelled predictions", fontsize=8)
    daily = res.groupby(lab["timestamp"].dt.floor("D")).agg(["mean", "std"])
    axes[1].errorbar(daily.index, daily["mean"], yerr=daily["std"], fmt="o-", ms=3)
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].set_title("Mean residual per day (± 1 sd)")
    axes[1].set_ylabel("residual (target unit)", fontsize=8)
    _dates(axes[1], "prediction day (UTC)")
    fig.tight_layout()
    return fig


def reliability(curve: pd.DataFrame, ece: float, title: str = "Calibration (reliability curve)",
                positive: str = "the positive class"):
    """Observed rate of the positive class (`positive`, in words: explain.positive_name) against the mean
    predicted probability, per probability bin."""
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="perfectly calibrated")
    ax.plot(curve["mean_probability"], curve["observed_rate"], marker="o", color="#2980b9", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel(f"observed rate of {positive}", parse_math=False)
    ax.set_title(f"{title}\nECE = {ece:.3f}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fit_ylabel(ax)  # a long positive class name: wrapped to the axes' height, never cut off
    fig.tight_layout()
    return fig


def label_coverage(cov: pd.DataFrame, delays: pd.Series | None, title: str = "Label coverage per day"):
    """Coverage per prediction day, and the label delay's histogram (None: no outcome time to compute it)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    axes[0].bar(cov["period"], cov["label_coverage"], width=0.8, color="#16a085")
    axes[0].set_ylim(0, 1)
    axes[0].set_title(title)
    axes[0].set_ylabel("share labelled", fontsize=8)
    _dates(axes[0], "prediction day (UTC)")
    if delays is None:
        axes[1].text(0.5, 0.5, "not computed: no outcome time", ha="center", va="center", transform=axes[1].transAxes)
    elif len(delays):
        axes[1].hist(delays / 24, bins=60, color="#8e44ad", edgecolor="white", linewidth=0.3)
    axes[1].set_title("Label delay (days)")
    axes[1].set_ylabel("labelled predictions", fontsize=8)
    axes[1].set_xlabel("days from prediction to outcome")
    fig.tight_layout()
    return fig


def estimated_vs_realised(est: pd.DataFrame, metric: str = "accuracy"):
    """CBPE's estimate per day next to the realised value where outcomes arrived."""
    d = est[est["metric"] == metric]
    if d.empty:
        return None
    fig, ax = plt.subplots(figsize=(11, 3))
    for v, g in d.groupby("model_version"):
        line = ax.plot(g["period"], g["estimated"], ls="--", marker="o", ms=3, label=plain(f"{v} estimated (CBPE)"))
        ax.plot(g["period"], g["realised"], marker="s", ms=3, color=line[0].get_color(), label=plain(f"{v} realised"))
    ax.set_title(plain(f"{metric_name(metric)}: estimated before labels vs realised"))
    ax.set_ylabel(plain(metric_name(metric)), fontsize=8)
    metric_axis(ax, metric)
    _legend_outside(ax)
    _dates(ax, "prediction day (UTC)")
    fig.tight_layout()
    return fig
