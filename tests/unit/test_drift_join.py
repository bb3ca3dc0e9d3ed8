"""Drift joined to performance (workbench.performance.drift_join) on seeded data: the split of the drop
over a feature's bins is exact, and the verdict names the drifted feature that carries the drop or says
that none does."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.config import SegmentParams
from workbench.findings import Finding
from workbench.performance import drift_join as dj
from workbench.performance import segments as sg

FEATURES = ["plan", "region", "age"]


def frame(rng, n, plan_p=(0.6, 0.3, 0.1), wrong=lambda d: np.full(len(d), 0.1)):
    df = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], n, p=list(plan_p)),
                       "region": rng.choice(["n", "s", "e", "w"], n), "age": rng.normal(40, 10, n)})
    y = rng.integers(0, 2, n).astype(float)
    df["actual_outcome"] = y
    df["prediction"] = np.where(rng.random(n) < wrong(df), 1 - y, y)
    return df


def search(cur, ref):
    kinds = sg.feature_kinds(ref, FEATURES, 5, 10)
    return sg.search(sg.cells_from_frames(cur, ref, kinds, "classification"), "classification", SegmentParams(),
                     resamples=100)


def hard_pro(d):
    return np.where(d["plan"] == "pro", 0.35, 0.08)  # pro is always hard: no concept change


def test_mix_and_within_add_up_to_the_drop_and_match_a_hand_computation():
    rng = np.random.default_rng(1)
    ref, cur = frame(rng, 20_000, wrong=hard_pro), frame(rng, 20_000, plan_p=(0.3, 0.3, 0.4), wrong=hard_pro)
    res = search(cur, ref)
    d = dj.decompose(res.by_value, "plan", "classification")
    assert d["drop_from_shift"] + d["drop_within_bins"] == pytest.approx(res.drop, abs=1e-12)
    acc = lambda x: float((x["prediction"] == x["actual_outcome"]).mean())  # noqa: E731
    mix = -sum((np.mean(cur["plan"] == v) - np.mean(ref["plan"] == v)) * acc(ref[ref["plan"] == v])
               for v in ("basic", "plus", "pro"))
    assert d["drop_from_shift"] == pytest.approx(mix, abs=1e-12)


def test_a_shift_towards_values_the_model_always_found_hard_carries_the_drop():
    rng = np.random.default_rng(2)
    ref, cur = frame(rng, 20_000, wrong=hard_pro), frame(rng, 20_000, plan_p=(0.3, 0.3, 0.4), wrong=hard_pro)
    out = dj.join(search(cur, ref), {"plan": 0.3, "age": 0.06})
    assert out.carrier == "plan"
    assert out.verdict.startswith("drifted feature plan carries the drop: its shift explains")
    row = out.to_frame().set_index("feature").loc["plan"]
    assert row["share_of_drop_from_shift"] > 0.8


def test_concept_drift_in_a_feature_that_did_not_drift_is_said_to_be_unexplained():
    rng = np.random.default_rng(3)
    ref = frame(rng, 20_000)
    cur = frame(rng, 20_000, wrong=lambda d: np.where(d["region"] == "e", 0.35, 0.1))
    out = dj.join(search(cur, ref), {"age": 0.08, "plan": 0.05}, importances={"age": 0.5, "plan": 0.1})
    assert out.carrier is None
    assert out.verdict.startswith("the drop is not explained by any drifted feature (concept drift); it sits in "
                                  "region = e (")
    assert list(out.to_frame()["feature"]) == ["age", "plan"]  # importance x effect: 0.04 before 0.005
    assert out.to_frame()["importance_x_effect"].tolist() == pytest.approx([0.04, 0.005])
    assert out.findings[0].severity == "info" and out.findings[0].anchor == "weak-segments"


def test_concept_drift_inside_a_drifted_features_segment_names_it():
    rng = np.random.default_rng(4)
    ref = frame(rng, 20_000)
    cur = frame(rng, 20_000, plan_p=(0.5, 0.3, 0.2), wrong=lambda d: np.where(d["plan"] == "pro", 0.4, 0.1))
    out = dj.join(search(cur, ref), {"plan": 0.1})
    assert out.carrier == "plan"
    assert "it sits in plan = pro" in out.verdict and "inside that segment the model got worse" in out.verdict


def test_no_drop_says_so():
    rng = np.random.default_rng(5)
    out = dj.join(search(frame(rng, 10_000), frame(rng, 10_000)), {"plan": 0.1})
    assert out.carrier is None and (out.verdict.startswith("no drop") or "not explained" in out.verdict)


def test_drifted_features_from_the_drift_reviews_findings():
    fs = [Finding("warning", "tenure", "tenure drifted", "feature", "feature-tenure", 0.21, {"effect_size": 0.21}),
          Finding("info", "contract", "borderline", "feature", "feature-contract", 0.04),
          Finding("alert", "dataset", "Dataset drift", "dataset", "summary", 0.5)]
    assert dj.drifted_from_findings(fs) == {"tenure": 0.21}
    assert dj.drifted_from_findings([f.to_dict() for f in fs]) == {"tenure": 0.21}


def test_the_figure_names_the_metric_as_people_do_and_keeps_its_legend_off_the_bars():
    import matplotlib.pyplot as plt

    table = pd.DataFrame([{"feature": "tenure", "effect": 0.1, "importance": None, "importance_x_effect": None,
                           "drop_from_shift": 0.2, "drop_within_bins": 1.3, "share_of_drop_from_shift": 0.13,
                           "worst_bin": "[17, 30)", "worst_bin_change": 1.4, "segment": ""}], columns=dj.COLUMNS)
    fig = dj.DriftPerformance("regression", table, "the drop is not explained by any drifted feature (concept drift)",
                              None, 1.5).plot()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "drop of MAE against the reference window"
    fig.canvas.draw()
    legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= frame.x1  # beside the axes, not over the longest bar
    plt.close(fig)
