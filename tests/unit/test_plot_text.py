"""Figure text as a reader sees it: log/symlog ticks rendered as mathtext (never raw `$\\mathdefault{..}$`),
data labels with `$` shown literally and never crashing savefig (PITFALLS: mathtext)."""

import datetime as dt
import io

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from workbench import plots  # noqa: E402
from workbench.config import SLOParams  # noqa: E402
from workbench.infrastructure import slo  # noqa: E402


def shown(text) -> str:
    """What a Text artist puts on the canvas: mathtext is rendered (its `$` and commands never shown)."""
    s, math = text._preprocess_math(text.get_text())
    return "" if math else s


def _burn_review(objective: str = "avail", title: str = ""):
    slos = SLOParams(period="28d", objectives=[{"name": objective, "objective": 0.99, "good": "good[$window]",
                                                "total": "total[$window]", "title": title}],
                     burn_alerts=[{"severity": "page", "long": "1h", "short": "5m", "factor": 14.4}])
    t0 = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
    burn = pd.DataFrame([{"timestamp": t0 + dt.timedelta(minutes=i), "value": v, "objective": objective,
                          "burn_window": w} for w in ("1h", "5m") for i, v in enumerate([0.5, 3.0, 40.0, 120.0])])
    return slo.SLOReview(pd.DataFrame(), burn, slo.burn_alerts(burn, slos), slos)


def test_symlog_burn_chart_ticks_are_rendered_not_raw_mathtext():
    plots.plain_text_labels()  # what every review's open_review does
    fig = _burn_review().plot()
    fig.canvas.draw()
    labels = [t for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    assert any("mathdefault" in t.get_text() for t in labels)  # matplotlib writes log ticks as mathtext
    raw = [shown(t) for t in labels if "$" in shown(t) or "mathdefault" in shown(t)]
    assert raw == []
    matplotlib.pyplot.close(fig)


def test_burn_chart_names_the_objective_as_the_tables_do_and_never_goes_below_zero():
    """The panel read 'predict-availability: ...' (the key) above a table saying '/predict availability',
    and its symlog axis showed '−10⁰' for a rate that cannot be negative."""
    fig = _burn_review("predict-availability", "/predict availability").plot()
    (ax,) = fig.axes
    assert ax.get_title().startswith("/predict availability: error budget burn rate")
    assert ax.get_ylim()[0] == 0 and ax.get_ylabel()
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("value", ["$$", "price $5 to $10", "$x^2$", "a\\$b"])
def test_data_labels_with_dollars_are_shown_literally_and_save(value):
    plots.plain_text_labels()
    fig = _burn_review(objective=value).plot()
    fig.savefig(io.BytesIO(), format="png")
    title = fig.axes[0].title
    assert shown(title).startswith(f"{value}: error budget burn rate")
    matplotlib.pyplot.close(fig)


def test_plain_escapes_every_dollar():
    assert plots.plain("$$") == r"\$\$" and plots.plain(3) == "3"
    assert plots._text("$$ tier", 40) == r"\$\$ tier"


def test_metric_trend_titles_and_axes_name_the_metric_not_its_key():
    """The trend's panels read 'mae', 'r2' (the keys) above a table that says MAE, R²."""
    from workbench.performance import plots as perf_plots

    days = pd.date_range("2026-11-23", periods=3, freq="D", tz="UTC")
    trend = pd.DataFrame({"period": days, "model_version": "2.0.0", "mae": [5.0, 5.2, 6.5], "r2": [0.94, 0.94, 0.93]})
    fig = perf_plots.metric_trend(trend, ["mae", "r2"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["MAE", "R²"]
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_visible()] == ["MAE", "R²"]
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("positive", ["churned (class 1)", "customer churned within 30 days of the prediction (class 1)"])
def test_calibration_y_label_stays_inside_the_figure_whatever_the_class_name(positive):
    """The reliability plot's y-label is built from the positive class's name: a long one ran past the
    figure's top and bottom (cut off); it is wrapped to the axes' height, every word still shown."""
    from workbench.performance import plots as perf_plots

    curve = pd.DataFrame({"mean_probability": [0.1, 0.5, 0.9], "observed_rate": [0.12, 0.45, 0.88]})
    fig = perf_plots.reliability(curve, 0.031, positive=positive)
    fig.canvas.draw()
    label = fig.axes[0].yaxis.label
    box = label.get_window_extent(fig.canvas.get_renderer())
    assert box.y0 >= 0 and box.y1 <= fig.bbox.height and box.x0 >= 0
    assert label.get_text().split() == f"observed rate of {positive}".split()
    matplotlib.pyplot.close(fig)
