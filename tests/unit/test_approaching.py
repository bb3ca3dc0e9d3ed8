"""Early warning (workbench.approaching): rising effects near their floor, intervals touching thresholds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench import approaching, config

WINDOW = config.iso_week("2026-W48")


def grid(effects: dict[str, list[float]], method: str = "ks", min_effect: float | None = 0.05,
         threshold: float = 0.05, last_day_drifted: tuple[str, ...] = ()) -> pd.DataFrame:
    """A drift-over-time grid: per feature one cell per day over the window and the 3 weeks before,
    each week's days scattered around that week's effect (their median is the week's effect)."""
    rows = []
    days = pd.date_range(WINDOW.start - dt.timedelta(weeks=3), WINDOW.end - dt.timedelta(days=1), freq="D")
    for name, weekly in effects.items():
        for i, day in enumerate(days):
            week = i // 7
            wobble = (-0.004, 0.0, 0.004, -0.002, 0.002, -0.001, 0.001)[i % 7]
            rows.append({"feature": name, "period": day, "method": method, "statistic": weekly[week] + wobble,
                         "p_value": 0.5, "threshold": threshold, "effect_size": weekly[week] + wobble,
                         "min_effect": min_effect, "n": 1000,
                         "drifted": name in last_day_drifted and day == days[-1]})
    return pd.DataFrame(rows)


def test_rising():
    assert approaching.rising([0.01, 0.02, 0.03, 0.04])
    assert approaching.rising([0.05, 0.01, 0.02, 0.03, 0.04])
    assert not approaching.rising([0.01, 0.02, 0.02, 0.04])  # a flat step is no rise
    assert not approaching.rising([0.02, 0.03, 0.04])  # three values are two rises
    assert not approaching.rising([0.01, None, 0.03, 0.04])
    assert approaching.rising([0.03, 0.04], weeks=1)


def test_weekly_effects_are_the_median_of_each_weeks_days():
    g = grid({"tenure": [0.01, 0.02, 0.03, 0.045]})
    effects, floors = approaching.weekly_effects(g, WINDOW.start)
    assert effects["tenure"] == pytest.approx([0.01, 0.02, 0.03, 0.045])
    week0 = g[g["period"] >= WINDOW.start]["effect_size"]
    assert effects["tenure"][-1] == pytest.approx(float(np.median(week0)))
    assert floors == {"tenure": 0.05}


def test_a_feature_rising_three_weeks_within_80_to_100_percent_of_its_floor_is_approaching():
    g = grid({"tenure": [0.01, 0.02, 0.03, 0.045],   # 90% of 0.05, rising: a note
              "age": [0.01, 0.02, 0.03, 0.035],      # rising, but 70% of the floor
              "income": [0.03, 0.02, 0.04, 0.045],   # 90%, but fell in the first week
              "plan": [0.02, 0.03, 0.04, 0.06]})     # above the floor: a finding, not a note
    notes = approaching.drift_headline(g, WINDOW)["approaching"]
    assert [n["subject"] for n in notes] == ["tenure"]
    n = notes[0]
    assert n["kind"] == "feature" and n["value"] == pytest.approx(0.045) and n["bound"] == 0.05
    assert "90%" in n["sentence"] and "3 weeks" in n["sentence"]


def test_edges_of_the_band_and_features_already_drifted():
    effects = {"at80": [0.01, 0.02, 0.03, 0.04], "below80": [0.01, 0.02, 0.03, 0.0399],
               "at100": [0.01, 0.02, 0.03, 0.05]}
    floors = dict.fromkeys(effects, 0.05)
    assert [n["subject"] for n in approaching.feature_notes(effects, floors)] == ["at80"]
    assert approaching.feature_notes(effects, floors, drifted={"at80"}) == []


def test_a_distance_without_min_effect_uses_its_threshold_as_floor():
    g = grid({"contract": [0.05, 0.06, 0.07, 0.09]}, method="psi", min_effect=None, threshold=0.1)
    effects, floors = approaching.weekly_effects(g, WINDOW.start)
    assert floors == {"contract": 0.1}
    assert [n["subject"] for n in approaching.feature_notes(effects, floors)] == ["contract"]
    # a test (KS) without an effect floor has nothing to approach
    _, none = approaching.weekly_effects(grid({"x": [0.1] * 4}, method="ks", min_effect=None), WINDOW.start)
    assert none == {}


def test_drifted_on_the_last_day():
    g = grid({"tenure": [0.06] * 4, "age": [0.01] * 4}, last_day_drifted=("tenure",))
    assert approaching.drifted_on_last_day(g, WINDOW.start, WINDOW.end) == ["tenure"]
    assert approaching.drifted_on_last_day(g.iloc[:0], WINDOW.start, WINDOW.end) == []


@pytest.mark.parametrize("value, ci, bound, worse, expected", [
    (0.76, (0.745, 0.775), 0.75, "below", True),    # above the threshold, interval reaches below it
    (0.76, (0.752, 0.768), 0.75, "below", False),   # interval clear of it
    (0.74, (0.73, 0.755), 0.75, "below", False),    # already below: a finding, not a note
    (0.75, (0.74, 0.76), 0.75, "below", True),      # exactly at the threshold, not below it
    (5.2, (5.0, 5.4), 5.3, "above", True),          # MAE under its bound, interval above it
    (5.2, (5.0, 5.25), 5.3, "above", False),
])
def test_metric_interval_touching_its_threshold(value, ci, bound, worse, expected):
    note = approaching.metric_note("m", value, ci, bound, worse, "the threshold")
    assert (note is not None) == expected
    if note:
        assert note["kind"] == "metric" and note["bound"] == bound


def test_metric_note_needs_an_interval():
    assert approaching.metric_note("accuracy", 0.76, (np.nan, np.nan), 0.75, "below", "x") is None
    with pytest.raises(ValueError, match="below"):
        approaching.metric_note("accuracy", 0.76, (0.7, 0.8), 0.75, "sideways", "x")


def test_performance_notes_from_the_baseline_table():
    table = pd.DataFrame([
        # accuracy above the alert threshold 0.75, its interval reaching below it
        {"metric": "accuracy", "this window": 0.755, "ci_low": 0.748, "ci_high": 0.762, "training baseline": 0.77,
         "alert": ""},
        # MAE within 5% of its baseline 5.0 (bound 5.25), interval past it
        {"metric": "mae", "this window": 5.2, "ci_low": 5.1, "ci_high": 5.3, "training baseline": 5.0, "alert": ""},
        # flagged already: no note
        {"metric": "rmse", "this window": 9.0, "ci_low": 8.0, "ci_high": 10.0, "training baseline": 6.0,
         "alert": "50.0% above baseline"},
        # clear of every bound
        {"metric": "recall", "this window": 0.8, "ci_low": 0.79, "ci_high": 0.81, "training baseline": 0.8,
         "alert": ""}])
    notes = approaching.performance_notes(table, accuracy_alert_below=0.75, tolerance=0.05)
    assert [(n["subject"], n["bound"]) for n in notes] == [("accuracy", 0.75), ("mae", pytest.approx(5.25))]
    assert "alert threshold 0.75" in notes[0]["sentence"]


def test_a_mape_note_reads_as_a_percentage_as_its_table_does():
    """The week page's 'approaching' note quoted MAPE as a fraction (0.084); it uses the metric's format."""
    note = approaching.metric_note("mape", 0.084, (0.079, 0.091), 0.09, "above", "the baseline")
    assert note["sentence"] == "mape 8.4% [7.9%, 9.1%]: its interval reaches the baseline 9.0%."
    assert approaching.metric_note("mae", 6.5, (6.4, 6.6), 6.55, "above", "x")["sentence"].startswith("mae 6.50 [6.40, 6.60]")
