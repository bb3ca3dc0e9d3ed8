"""Figure helpers every capability shares (mathtext off for data labels, date axes, legends, byte
units, the could-not-draw note) and the infrastructure panels. Drift and performance figures live
beside their reviews (workbench.drift.plots, workbench.performance.plots); this module imports
neither, so no review and its plots import each other in a circle."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from workbench.infrastructure import InfrastructureReport

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
