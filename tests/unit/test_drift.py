"""The drift review on awkward data: missing, infinite, empty, constant, new categories."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.drift import core as drift
from workbench.config import DriftDetection, FeatureDrift
from workbench.errors import ConfigError


def test_nan_counted_as_missing_and_excluded(rng):
    ref = pd.Series(rng.normal(0, 1, 500))
    cur_vals = rng.normal(0, 1, 400)
    cur = pd.Series(np.concatenate([cur_vals, [np.nan] * 100]))
    r = drift.feature_drift("x", ref, cur, "ks")
    assert r.missing_current == pytest.approx(0.2)
    assert r.n_current == 400
    assert r.p_value == pytest.approx(stats.ks_2samp(ref, cur_vals).pvalue)


def test_infinities_counted_and_excluded(rng):
    ref = pd.Series(rng.normal(0, 1, 500))
    vals = rng.normal(0, 1, 300)
    cur = pd.Series(np.concatenate([vals, [np.inf, -np.inf, np.inf]]))
    r = drift.feature_drift("x", ref, cur, "wasserstein")
    assert r.nonfinite_current == 3 and r.n_current == 300
    assert r.statistic == pytest.approx(stats.wasserstein_distance(ref, vals) / np.std(ref))


def test_empty_window_is_insufficient_data_not_a_crash(rng):
    ref = pd.Series(rng.normal(0, 1, 500))
    r = drift.feature_drift("x", ref, pd.Series([], dtype=float), "ks")
    assert r.status == "insufficient data" and r.drifted is None
    assert "current has 0" in r.message
    report = drift.DriftReport("m", [r, drift.feature_drift("y", ref, ref, "ks")])
    assert report.drift_share == 0.0  # never NaN: the empty feature is not counted
    assert report.summary()["insufficient data"].iloc[0] == 1


def test_all_nan_feature_is_insufficient_data(rng):
    ref = pd.Series(rng.normal(0, 1, 500))
    r = drift.feature_drift("x", ref, pd.Series([np.nan] * 50), "psi")
    assert r.status == "insufficient data" and r.missing_current == 1.0


def test_constant_feature_has_no_drift():
    r = drift.feature_drift("c", pd.Series([1.0] * 200), pd.Series([1.0] * 150), "psi")
    assert r.statistic == pytest.approx(0.0) and r.drifted is False


def test_new_category_keeps_psi_finite(rng):
    ref = pd.Series(rng.choice(["a", "b"], 1000))
    cur = pd.Series(rng.choice(["a", "b", "zzz"], 1000))
    r = drift.feature_drift("cat", ref, cur, "psi")
    assert np.isfinite(r.statistic) and r.drifted
    assert "zzz" in r.current_dist.index


def test_automatic_method_choice(rng):
    """A test plus its effect floor whatever the reference size (the guide's distances miss moderate shifts)."""
    assert drift.choose_method(categorical=False, n_reference=5000) == "ks"
    assert drift.choose_method(categorical=True, n_reference=5000) == "chi2"
    r = drift.feature_drift("s", pd.Series(rng.choice(["x", "y"], 200)), pd.Series(rng.choice(["x", "y"], 200)))
    assert r.method == "chi2" and r.kind == "categorical"


def test_method_not_fitting_the_type_is_a_config_error():
    with pytest.raises(ConfigError, match="feature 'cat'"):
        drift.feature_drift("cat", pd.Series(["a"] * 100), pd.Series(["b"] * 100), "ks")


def test_detect_drift_with_config_and_column_reader(rng):
    n = 3000
    ref = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n), "c": rng.choice(["x", "y"], n)})
    cur = pd.DataFrame({"a": rng.normal(1.0, 1, n), "b": rng.normal(0, 1, n), "c": rng.choice(["x", "y"], n)})
    cfg = DriftDetection(models={"m": {"features": {"a": {"method": "ks"}, "b": {"method": "wasserstein"},
                                                     "c": {"method": "psi", "threshold": 0.2}}}})
    calls = []

    def read(col, kind):
        calls.append(col)
        return cur[col]

    report = drift.detect_drift(ref, read, cfg, "m")
    assert calls == ["a", "b", "c"]  # one column at a time
    assert report.drifted_features == ["a"]
    assert report.drift_share == pytest.approx(1 / 3)
    assert not report.dataset_drift
    frame = report.to_frame()
    assert frame["feature"].iloc[0] == "a"
    assert frame.set_index("feature").loc["c", "threshold"] == 0.2


def test_detect_drift_unknown_feature_names_it():
    cfg = DriftDetection(models={"m": {"features": {"nope": {}}}})
    with pytest.raises(ConfigError, match="nope"):
        drift.detect_drift(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [1.0]}), cfg, "m")


def test_dataset_drift_share_threshold(rng):
    ref = pd.Series(rng.normal(0, 1, 2000))
    shifted = pd.Series(rng.normal(2, 1, 2000))
    results = [drift.feature_drift("a", ref, shifted, "ks"), drift.feature_drift("b", ref, ref, "ks")]
    assert drift.DriftReport("m", results, 0.5).dataset_drift
    assert not drift.DriftReport("m", results, 0.6).dataset_drift


def test_min_effect_turns_a_tiny_significant_shift_into_no_drift(rng):
    ref = pd.Series(rng.normal(0, 1, 200_000))
    cur = pd.Series(rng.normal(0.02, 1, 200_000))
    assert stats.ks_2samp(ref, cur).pvalue < 0.05  # significant...
    plain = drift.feature_drift("x", ref, cur, "ks", min_effect=0)  # floor switched off
    assert plain.drifted and plain.effect_size < 0.05
    guarded = drift.feature_drift("x", ref, cur, "ks")  # the default floor (KS D >= 0.05)
    assert guarded.min_effect == 0.05
    assert guarded.drifted is False and "below min_effect" in guarded.message


def test_benjamini_hochberg_matches_scipy(rng):
    from scipy.stats import false_discovery_control

    p = rng.uniform(0, 0.1, 25)
    np.testing.assert_allclose(drift.benjamini_hochberg(p), false_discovery_control(p), rtol=1e-12)


def test_bh_correction_in_detect_drift(rng):
    n = 400
    ref = pd.DataFrame({f"f{i}": rng.normal(0, 1, n) for i in range(10)})
    cur = pd.DataFrame({f"f{i}": rng.normal(0, 1, n) for i in range(10)})
    feats = {f"f{i}": {"method": "ks"} for i in range(10)}
    cfg = DriftDetection(correction="bh", models={"m": {"features": feats}})
    rep = drift.detect_drift(ref, cur, cfg, "m")
    from scipy.stats import false_discovery_control

    raw = np.array([r.p_value_raw for r in rep.results])
    np.testing.assert_allclose([r.p_value for r in rep.results], false_discovery_control(raw), rtol=1e-12)


def test_quality_signals_missing_out_of_range_new_categories(rng):
    ref = pd.DataFrame({"x": rng.uniform(0, 10, 1000), "c": rng.choice(["a", "b"], 1000)})
    x = rng.uniform(0, 12, 1000)
    x[:200] = np.nan
    cur = pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "new"], 1000)})
    cfg = DriftDetection(models={"m": {"features": {"x": {"method": "psi"}, "c": {"method": "psi"}}}})
    rep = drift.detect_drift(ref, cur, cfg, "m")
    q = rep.quality().set_index("feature")
    assert q.loc["x", "missing_flag"] == "changed" and rep.missing_drift == ["x"]
    finite = x[np.isfinite(x)]
    expected = np.mean((finite < ref["x"].min()) | (finite > ref["x"].max()))
    assert q.loc["x", "out_of_range_share"] == pytest.approx(expected)
    assert q.loc["c", "new_categories"] == "'new'"  # quoted as the finding: a category '10' is no count of 10


def test_one_new_category_value_reads_singular_and_the_table_quotes_it_as_the_finding(rng):
    ref = pd.DataFrame({"c": rng.choice(["0", "1"], 1000)})
    cur = pd.DataFrame({"c": np.r_[rng.choice(["0", "1"], 999), ["10"]]})
    cfg = DriftDetection(models={"m": {"features": {"c": {"method": "psi"}}}})
    rep = drift.detect_drift(ref, cur, cfg, "m")
    (f,) = [f for f in rep.findings if "never seen" in f.sentence]
    assert "(1 value, " in f.sentence and f.sentence.endswith(": '10'.")
    q = rep.quality().set_index("feature")
    # the finding's count ('1 category') is in the table its link lands in, beside the names
    assert q.loc["c", "new_categories"] == "'10'" and q.loc["c", "new_category_count"] == 1


def test_small_window_is_flagged(rng):
    ref = pd.DataFrame({"x": rng.normal(0, 1, 500)})
    cfg = DriftDetection(min_window_rows=1000, models={"m": {"features": {"x": {"method": "ks"}}}})
    rep = drift.detect_drift(ref, pd.DataFrame({"x": rng.normal(0, 1, 300)}), cfg, "m")
    assert rep.small_window and rep.summary()["small window"].iloc[0] == "yes"
