"""The infrastructure review's figure: the catalog's panels stacked on one time axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt

from workbench.plots import _dates, _legend_outside, byte_scale, plain

if TYPE_CHECKING:
    from workbench.infrastructure.core import InfrastructureReport


def _utc_naive(index):
    """A time index as naive UTC datetime64 values (the axes are labelled UTC)."""
    tz = getattr(index, "tz", None)
    return (index.tz_convert("UTC").tz_localize(None) if tz is not None else index).to_numpy()


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
            x = _utc_naive(wide.index)  # converted once per panel, not once per line
            for col in wide.columns:
                ax.plot(x, wide[col].to_numpy() / factor, lw=1, label=plain(col))
            if len(wide.columns) > 1 or str(wide.columns[0]) != "value":
                _legend_outside(ax)
        if thresholds and p.name in thresholds:
            ax.axhline(thresholds[p.name], color="#c0392b", ls="--", lw=1)
        ax.set_title(plain(p.title), fontsize=9)
        ax.set_ylabel(plain(unit), fontsize=8)
        _dates(ax)
    # fixed margins, not tight_layout: its extra layout pass over a dozen date axes was ~0.5 s per
    # figure; the notebook saves figures with a tight bounding box, which takes in outside legends
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.3 / len(panels), top=1 - 0.12 / len(panels), hspace=0.5)
    return fig
