"""Drills 2 and 3 (issue 10) and issue 8's Evidently crash: values from the prediction DB are data,
never script in a published file, never mathtext in a plot; a text column never crashes Evidently."""

from __future__ import annotations

import io
import json
import re

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from workbench import plots
from workbench.drift import core as drift, evidently as evidently_compare, plots as drift_plots

HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", '"><svg onload=alert(3)>',
           "$$", "a&b", "<b>bold</b>"]



def _frames(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"tier": rng.choice(HOSTILE, n), "x": rng.normal(size=n)})
    cur = pd.DataFrame({"tier": rng.choice(HOSTILE, n, p=[.3, .3, .1, .1, .1, .1]), "x": rng.normal(0.5, 1, size=n)})
    return ref, cur


def _drift_report(ref, cur, methods):
    results = [drift.feature_drift(f, ref[f], cur[f], method=m) for f, m in methods.items()]
    return drift.DriftReport(model="m", results=results)


def _script_blocks(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)


def test_evidently_html_carries_no_script_from_data(tmp_path):
    ref, cur = _frames(seed=1)
    ours = _drift_report(ref, cur, {"tier": "chi2", "x": "ks"})
    out = tmp_path / "ev.html"
    table = evidently_compare.compare(ours, ref, cur, out)
    page = out.read_text()
    for value in HOSTILE[:3] + ["<b>bold</b>"]:
        assert value not in page
        assert json.dumps(value)[1:-1] not in page  # not even JSON-quoted inside a script block
    data = [b for b in _script_blocks(page) if "var metric_" in b]
    assert data and all("<" not in b and ">" not in b for b in data)  # no markup can start inside the data
    # the data is still there, readable, and Evidently really compared both features
    assert "‹img src=x onerror=alert(1)›" in page
    assert set(table.to_frame()["evidently verdict"]) <= {"drift", "no drift"} and len(table.to_frame()) == 2


def test_embedded_json_is_escaped_so_a_value_cannot_close_the_script():
    page = '<script>\n var metric_ab12 = {"x": ["</script><script>alert(1)</script>", "a&b"]};\n</script>'
    safe = evidently_compare.escape_embedded_json(page)
    assert "</script><script>" not in safe and "\\u003c/script\\u003e" in safe and "a\\u0026b" in safe
    body = re.search(r"var metric_ab12 = (\{.*\});", safe).group(1)
    assert json.loads(body)["x"][0] == "</script><script>alert(1)</script>"  # same data for Evidently's JS


def test_text_column_in_numeric_feature_is_left_out_with_a_note_not_a_crash(tmp_path):
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=300), "mar": rng.normal(size=300)})
    cur = pd.DataFrame({"x": rng.normal(size=300), "mar": rng.normal(size=300)})
    ours = _drift_report(ref, cur, {"x": "ks", "mar": "ks"})
    ref_text = ref.assign(mar=ref["mar"].astype(object))
    ref_text.loc[5, "mar"] = "married"  # Evidently: "Column 'MAR' ... should contain numerical values only"
    table = evidently_compare.compare(ours, ref_text, cur, tmp_path / "ev.html")
    row = table.to_frame().set_index("feature").loc["mar"]
    assert row["evidently verdict"] == "left out"
    assert any("mar" in n and "left out" in n and "married" in n for n in table.notes)
    assert table.to_frame().set_index("feature").loc["x", "evidently verdict"] in ("drift", "no drift")


def test_numbers_stored_as_text_are_cast_and_codes_compare_equal(tmp_path):
    rng = np.random.default_rng(4)
    codes = rng.choice([1, 2, 3], 500)
    ref = pd.DataFrame({"x": rng.normal(size=500).astype(str), "code": [str(c) for c in codes]})
    cur = pd.DataFrame({"x": rng.normal(size=500), "code": codes.astype(float)})
    ours = _drift_report(ref.assign(x=ref["x"].astype(float)), cur.assign(code=cur["code"].astype(int).astype(str)),
                         {"x": "ks", "code": "chi2"})
    result = evidently_compare.compare(ours, ref, cur, tmp_path / "ev.html")
    table = result.to_frame().set_index("feature")
    # "1" and 1.0 are one category: same distribution, so Evidently must not see drift
    assert table.loc["code", "evidently verdict"] == "no drift"
    assert table.loc["x", "evidently verdict"] in ("drift", "no drift")
    assert any("cast to numbers" in n for n in result.notes)


def test_dollar_category_does_not_break_the_distribution_plot():
    ref, cur = _frames(seed=5)
    report = _drift_report(ref, cur, {"tier": "chi2", "x": "ks"})
    fig = drift_plots.drift_distributions(report)
    fig.savefig(io.BytesIO(), format="png")  # raised ParseException on "$$" before
    # as drawn: escaped `\$` shows as `$`, and the label is not parsed as mathtext
    labels = [t._preprocess_math(t.get_text()) for ax in fig.axes for t in ax.get_xticklabels()]
    assert ("$$", False) in labels and fig.problems == []


def test_a_plot_that_fails_costs_its_own_panel_naming_feature_and_value(monkeypatch):
    ref, cur = _frames(seed=6)
    report = _drift_report(ref, cur, {"tier": "chi2", "x": "ks"})
    real = drift_plots._draw_feature

    def broken(ax, r):
        if r.feature == "tier":
            raise ValueError("cannot draw value '$$'")
        real(ax, r)

    monkeypatch.setattr(drift_plots, "_draw_feature", broken)
    fig = drift_plots.drift_distributions(report)
    fig.savefig(io.BytesIO(), format="png")
    assert len(fig.problems) == 1 and "'tier'" in fig.problems[0] and "$$" in fig.problems[0]
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("x") for t in titles)  # the other feature is still drawn


def test_data_labels_are_escaped_from_mathtext_even_when_rendering_text():
    plots.plain_text_labels()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(plots.plain("price tier $$ and $x^2$"))
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_the_distribution_titles_print_the_statistic_as_the_table_does():
    """A title read 'psi 4.24e-05' above a table saying 4.2×10⁻⁵: one format (tables.effect) for both."""
    from workbench import tables

    ref, cur = _frames(seed=5)
    report = _drift_report(ref, cur, {"tier": "chi2", "x": "ks"})
    report.results[0].statistic = 4.24e-05  # a PSI of nearly identical shares, as internet_service's in the demo
    fig = drift_plots.drift_distributions(report)
    titles = {ax.get_title() for ax in fig.axes}
    for r in report.results:
        assert f"{r.feature} — {r.method} {tables.effect(r.statistic)} ({r.status})" in titles
    assert not any("e-0" in t for t in titles)
