"""Figure helpers every capability shares (mathtext off for data labels, date axes, legends, byte
units, the could-not-draw note). Each capability's figures live beside its review
(workbench.drift.plots, workbench.performance.plots, workbench.infrastructure.plots); this module
imports none of them, so no review and its plots import each other in a circle."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt

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
