"""Matplotlib figures for the reviews (imported lazily by the result objects' .plot())."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd

if TYPE_CHECKING:
    from workbench.drift import DriftReport
    from workbench.infrastructure import InfrastructureReport

REF_COLOR, CUR_COLOR = "#7f8c8d", "#e67e22"
BYTE_UNITS = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def _dates(ax, label: str = "time (UTC)") -> None:
    """Readable dates on a time axis ('Nov 17', hours only when zoomed in) and the axis named."""
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.set_xlabel(label, fontsize=8)


def _legend_outside(ax, **kw) -> None:
    """A legend right of the axes, so it never covers data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kw)


def byte_scale(max_value: float) -> tuple[float, str]:
    """The divisor and unit (MiB, GiB, ...) to show byte values up to `max_value`."""
    for factor, unit in BYTE_UNITS:
        if max_value >= factor:
            return float(factor), unit
    return 1.0, "bytes"


def plain_text_labels() -> None:
    """Never parse labels as mathtext: a category value such as "$$" (a price tier) is data, and
    mathtext would raise ParseException on it deep inside savefig."""
    matplotlib.rcParams["text.parse_math"] = False


plain_text_labels()


def _could_not_draw(ax, what: str, exc: BaseException) -> str:
    """Replace one axis by a note naming what could not be drawn and why; the note's text."""
    note = f"could not draw {what}: {type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else ''}"
    ax.cla()
    ax.set_xticks([])
    ax.set_yticks([])
    import textwrap

    # wrapped by hand: matplotlib's wrap=True measures the text as mathtext even with parse_math off
    ax.text(0.5, 0.5, textwrap.fill(note, 60), ha="center", va="center", fontsize=7, color="#c0392b",
            transform=ax.transAxes, parse_math=False)
    return note


def _text(value, width: int = 18) -> str:
    """A data value as a label, wrapped (never cut); labels are plain text (plain_text_labels)."""
    import textwrap

    return "\n".join(textwrap.wrap(str(value), width) or [""])


def _draw_feature(ax, r) -> None:
    """One feature. Numeric: shares per bin over the reference's [min, max], with values below its
    minimum / above its maximum as labelled hatched bars at the ends (never piled into the edge bins)."""
    import numpy as np

    from workbench.drift import ABOVE, BELOW

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
                ax.annotate(f"{label}\n{share:.1%}", (xpos, share), fontsize=6, color="#c0392b",
                            ha="center", va="bottom")
        ax.set_xlabel(f"{_text(r.feature, 40)} (value)", fontsize=8)
    stat = f"{r.statistic:.3g}" if r.statistic is not None else "n/a"
    ax.set_title(f"{r.feature} — {r.method} {stat} ({r.status})", fontsize=9,
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


def metric_trend(trend: pd.DataFrame, metrics: list[str], threshold: dict[str, float] | None = None,
                 title: str = "Daily metrics by model version"):
    """One line per version for each metric, with alert thresholds dashed."""
    metrics = [m for m in metrics if m in trend and trend[m].notna().any()]
    if trend.empty or not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.0), squeeze=False)
    for ax, m in zip(axes.flat, metrics):
        import seaborn as sns

        sns.lineplot(data=trend, x="period", y=m, hue="model_version", marker="o", ax=ax)
        if threshold and m in threshold:
            ax.axhline(threshold[m], color="#c0392b", ls="--", lw=1, label=f"alert < {threshold[m]}")
        ax.set_title(m)
        ax.set_ylabel(m, fontsize=8)
        _dates(ax, "prediction day (UTC)")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=7, title="version", title_fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(cm: pd.DataFrame, title: str = "Confusion matrix (labelled predictions)"):
    fig, ax = plt.subplots(figsize=(3.8, 3.2))
    import seaborn as sns

    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def residuals(df: pd.DataFrame, title: str = "Residuals (actual − predicted)"):
    lab = df[df["actual_outcome"].notna()]
    res = lab["actual_outcome"] - lab["prediction"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    import seaborn as sns

    sns.histplot(res, bins=60, ax=axes[0], color="#2980b9")
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


def infrastructure_panels(report: "InfrastructureReport", names: list[str] | None = None,
                          thresholds: dict[str, float] | None = None):
    """Stacked time series, one axis per panel; empty panels say why."""
    names = names or list(report.panels)
    panels = [report.panels[n] for n in names if n in report.panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.3 * len(panels)), sharex=True, squeeze=False)
    for ax, p in zip(axes.flat, panels):
        df = p.data
        unit = p.unit
        if p.problem:
            import textwrap

            ax.text(0.5, 0.5, textwrap.fill(p.problem[:160], 110), ha="center", va="center", fontsize=8,
                    color="#c0392b", transform=ax.transAxes, parse_math=False)
        else:
            wide = p.gridded(report.window)  # on the full grid: missing data shows as gaps, never as zeros
            factor, unit = (byte_scale(float(wide.abs().max().max())) if p.unit == "bytes" and wide.notna().any().any()
                            else (1.0, p.unit))
            for col in wide.columns:
                ax.plot(wide.index, wide[col].to_numpy() / factor, lw=1, label=str(col))
            if len(wide.columns) > 1 or str(wide.columns[0]) != "value":
                _legend_outside(ax)
        if thresholds and p.name in thresholds:
            ax.axhline(thresholds[p.name], color="#c0392b", ls="--", lw=1)
        ax.set_title(p.title, fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        _dates(ax)
    fig.tight_layout()
    return fig


def reliability(curve: pd.DataFrame, ece: float, title: str = "Calibration (reliability curve)"):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], color="#999", ls="--", lw=1, label="perfectly calibrated")
    ax.plot(curve["mean_probability"], curve["observed_rate"], marker="o", color="#2980b9", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed churn rate")
    ax.set_title(f"{title}\nECE = {ece:.3f}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def label_coverage(cov: pd.DataFrame, delays: pd.Series, title: str = "Label coverage per day"):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3))
    axes[0].bar(cov["period"], cov["label_coverage"], width=0.8, color="#16a085")
    axes[0].set_ylim(0, 1)
    axes[0].set_title(title)
    axes[0].set_ylabel("share labelled", fontsize=8)
    _dates(axes[0], "prediction day (UTC)")
    if len(delays):
        import seaborn as sns

        sns.histplot(delays / 24, bins=60, ax=axes[1], color="#8e44ad")
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
        line = ax.plot(g["period"], g["estimated"], ls="--", marker="o", ms=3, label=f"{v} estimated (CBPE)")
        ax.plot(g["period"], g["realised"], marker="s", ms=3, color=line[0].get_color(), label=f"{v} realised")
    ax.set_title(f"{metric}: estimated before labels vs realised")
    ax.set_ylabel(metric, fontsize=8)
    _legend_outside(ax)
    _dates(ax, "prediction day (UTC)")
    fig.tight_layout()
    return fig
