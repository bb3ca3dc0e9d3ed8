"""What the performance report says about its metrics, the base rate and the variants."""

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from workbench import plots
from workbench.performance import explain
from workbench.performance.core import classification_metrics


def test_positive_class_and_weighted_metrics_side_by_side_match_sklearn():
    rng = np.random.default_rng(21)
    y = (rng.random(3000) < 0.3).astype(int)
    yhat = np.where(rng.random(3000) < 0.8, y, 1 - y)
    values, notes, ci = classification_metrics(y, yhat, min_samples=10, resamples=0)

    class S:  # the summary shape the notebook passes
        metrics, notes, ci = values, {}, {}

    t = explain.positive_class(S)
    got = {(r.metric, r.average.split(" ")[0]): r.value for r in t.itertuples()}
    assert np.isclose(got[("recall", "positive")], skm.recall_score(y, yhat, pos_label=1))
    assert np.isclose(got[("precision", "positive")], skm.precision_score(y, yhat, pos_label=1))
    assert np.isclose(got[("recall", "weighted")], skm.recall_score(y, yhat, average="weighted"))
    assert np.isclose(got[("F1", "positive")], skm.f1_score(y, yhat, pos_label=1))


def test_base_rate_is_flagged_when_it_shifts():
    rng = np.random.default_rng(22)
    ref = pd.DataFrame({"target": (rng.random(5000) < 0.33).astype(int)})
    window = pd.DataFrame({"actual_outcome": np.where(rng.random(4000) < 0.9, (rng.random(4000) < 0.5), np.nan)})
    out = explain.base_rate(window, ref)
    w = out[out["data"] == "this window"].iloc[0]
    assert np.isclose(w["base_rate"], window["actual_outcome"].dropna().mean())
    assert w["outcomes"] == window["actual_outcome"].notna().sum()
    assert w["flag"] == "shifted"
    assert "shifted by +" in explain.base_rate_sentence(out)
    same = pd.DataFrame({"actual_outcome": ref["target"].sample(2000, random_state=1).astype(float).to_numpy()})
    assert explain.base_rate(same, ref)["flag"].eq("").all()


def test_variant_counts():
    df = pd.DataFrame({"variant": ["A", "A", "B"], "model_version": ["1.2.0", "1.2.0", "1.3.0"],
                       "actual_outcome": [1.0, np.nan, 0.0]})
    out = explain.variants(df).set_index("variant")
    assert out.loc["A", "predictions"] == 2 and out.loc["A", "labelled"] == 1
    assert np.isclose(out["share_of_traffic"].sum(), 1.0)


def test_byte_scale():
    assert plots.byte_scale(512) == (1.0, "bytes")
    assert plots.byte_scale(300 * 2**20) == (2**20, "MiB")
    assert plots.byte_scale(3 * 2**30) == (2**30, "GiB")
