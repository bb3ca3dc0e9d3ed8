"""Figure helpers every capability shares (data labels escaped from mathtext, date axes, legends, byte
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
    """Mathtext stays on for matplotlib's own text: log/symlog tick labels are mathtext
    (`$\\mathdefault{10^{1}}$`) and show raw without it. Data labels are escaped with `plain` instead."""
    matplotlib.rcParams["text.parse_math"] = True


def plain(value: object) -> str:
    """A data value as label text shown literally: every `$` escaped, so a category value such as "$$"
    (a price tier) is never parsed as mathtext (which raises ParseException deep inside savefig)."""
    return str(value).replace("$", r"\$")


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
    """A data value as a label, wrapped (never cut), its `$` escaped (see `plain`)."""
    import textwrap

    return plain("\n".join(textwrap.wrap(str(value), width) or [""]))


def metric_axis(ax, key: object, axis: str = "y") -> None:
    """Tick labels of an axis showing metric `key`'s values as its tables print them (tables.metric_value):
    MAPE as a percentage ('8%', not '0.08'); other metrics keep matplotlib's ticks."""
    from matplotlib.ticker import FuncFormatter

    from workbench.tables import is_percent_metric, percent

    if is_percent_metric(key):
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(lambda v, _: percent(v)))


def fit_ylabel(ax, min_chars: int = 12) -> None:
    """Wrap the y-axis label onto as many lines as it takes to be no taller than the axes (a label built
    from a long class name ran past the figure's edge and was cut off; tight_layout does not wrap)."""
    import textwrap

    fig = ax.figure
    text = ax.yaxis.label.get_text().replace("\n", " ")
    if not text:
        return
    renderer = fig.canvas.get_renderer()
    room = ax.get_window_extent(renderer).height
    width = len(text)
    while width > min_chars:
        ax.yaxis.label.set_text(textwrap.fill(text, width))
        if ax.yaxis.label.get_window_extent(renderer).height <= room:
            return
        width -= 4
    ax.yaxis.label.set_text(textwrap.fill(text, min_chars))
