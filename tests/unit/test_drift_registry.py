"""The method registry is the one source of truth: config validation, threshold resolution, the
verdict, the heatmap and the Evidently names all follow it, and adding a method touches only it."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.drift import core as drift, history as drift_history, methods as dm, plots as drift_plots
from workbench.config import DriftDetection, FeatureDrift, MonitoringParams
from workbench.errors import ConfigError


@pytest.fixture
def dummy_method(monkeypatch):
    """A method registered only for this test: the absolute difference of means (a distance)."""
    monkeypatch.setattr(dm, "METHODS", dict(dm.METHODS))

    @dm.register("meandiff", dm.DISTANCE, 0.3, categorical=False, effect="difference of means",
                 default_min_effect=0.25, evidently=None, label="mean difference")
    def meandiff(ref, cur):
        """Absolute difference of the means."""
        v = abs(float(np.mean(cur.sorted_values)) - float(np.mean(ref.sorted_values)))
        return dm.MethodResult(v, effect_size=v)

    return "meandiff"


@pytest.mark.parametrize("name", sorted(dm.METHODS) + ["meandiff"])
def test_every_registered_method_is_known_everywhere(name, dummy_method):
    m = dm.METHODS[name]
    kind = "numeric" if m.numeric else "categorical"
    # config validation accepts it by name, as a per-method threshold and as an effect-floor override
    cfg = MonitoringParams.model_validate({"drift_detection": {
        "thresholds": {name: m.default_threshold}, "min_effects": {name: 0.01},
        "models": {"m": {"features": {"x": {"method": name, "type": kind, "threshold": 0.5}}}}}}).drift_detection
    # threshold resolution: the feature's own value, else drift_detection's, else the registry's
    assert cfg.threshold_for(name, cfg.features_for("m")["x"]) == 0.5
    assert cfg.threshold_for(name) == m.default_threshold
    assert dm.resolve(name) == (m.default_threshold, m.default_min_effect)
    assert cfg.min_effect_for(name) == 0.01
    # the review and the heatmap take it
    rng = np.random.default_rng(3)
    ref = pd.Series(rng.normal(0, 1, 2000) if m.numeric else rng.choice(["a", "b"], 2000))
    cur = pd.Series(rng.normal(2, 1, 2000) if m.numeric else rng.choice(["a", "b"], 2000, p=[0.9, 0.1]))
    r = drift.feature_drift("x", ref, cur, name, kind=kind)
    assert r.drifted is True and r.threshold == m.default_threshold
    # the finding's sentence names the effect with the registry's label
    assert f"({m.label})" in drift.feature_sentence(r) and m.label
    s = drift_history.score(r.method, r.statistic, r.p_value, r.threshold, r.effect_size, r.min_effect)
    assert s > 1
    fig = drift_plots.heatmap(pd.DataFrame([{"feature": "x", "period": pd.Timestamp("2026-11-16", tz="UTC"),
                                               "score": s, "drifted": r.drifted}]))
    assert fig is not None


def test_unknown_method_is_rejected_with_the_registry_names(dummy_method):
    with pytest.raises(Exception) as e:
        FeatureDrift(method="nope")
    assert "meandiff" in str(e.value) and "ks" in str(e.value)
    with pytest.raises(Exception, match="unknown drift method 'nope'"):
        DriftDetection(thresholds={"nope": 0.1})


def test_registry_fields_are_complete():
    for name, m in dm.METHODS.items():
        assert m.kind in (dm.TEST, dm.DISTANCE) and m.effect and m.evidently and m.label, name
        if m.is_test:
            assert m.default_min_effect is not None, f"{name}: a test needs an effect floor"
    assert dm.test_methods() == ["chi2", "ks"]
    # binned methods are counted in the database; KS and Wasserstein need the values
    assert sorted(n for n in dm.METHODS if dm.counts_only(n)) == ["chi2", "js", "psi"]
    assert dm.effect_label("nope") == "effect" and not dm.counts_only("nope")
    assert dm.default_thresholds() == {"ks": 0.05, "chi2": 0.05, "psi": 0.1, "wasserstein": 0.2, "js": 0.1}


@pytest.mark.parametrize("seed", range(5))
def test_heatmap_score_agrees_with_the_decision(seed):
    """score > 1 exactly when decide() says drift, for every method, floors included."""
    rng = np.random.default_rng(seed)
    for name, m in dm.METHODS.items():
        for _ in range(200):
            p = float(rng.uniform(0, 0.2)) if m.is_test else None
            stat = float(rng.uniform(0, 2 * m.default_threshold))
            eff = float(rng.uniform(0, 0.2))
            thr, floor = dm.resolve(name, min_effect=float(rng.choice([0, 0.05, 0.1])))
            drifted, _ = dm.decide(name, dm.MethodResult(stat, p, eff), thr, floor)
            assert (dm.score(name, stat, p, thr, eff, floor) > 1) == drifted, (name, stat, p, eff, thr, floor)


def test_heatmap_colour_bar_matches_its_clip_and_marks_only_decided_drift():
    grid = pd.DataFrame([
        {"feature": "a", "period": pd.Timestamp("2026-11-16", tz="UTC"), "score": 7.0, "drifted": True},
        {"feature": "b", "period": pd.Timestamp("2026-11-16", tz="UTC"), "score": 0.4, "drifted": False},
    ])
    fig = drift_plots.heatmap(grid)
    cbar_ax = fig.axes[1]
    assert cbar_ax.get_ylabel() == "score (clipped at 2; × = drift)"
    assert cbar_ax.get_ylim()[1] == pytest.approx(2.0)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("×") == 1


def test_significant_tiny_shift_is_not_drift_in_the_heatmap_either():
    """The heatmap used to colour a significant chi-square red although min_effect said no drift."""
    rng = np.random.default_rng(7)
    ref = pd.Series(rng.choice(["Yes", "No"], 200_000, p=[0.59, 0.41]))
    cur = pd.Series(rng.choice(["Yes", "No"], 200_000, p=[0.60, 0.40]))
    r = drift.feature_drift("paperless_billing", ref, cur, "chi2")
    assert r.p_value < 0.05 and r.drifted is False
    assert drift_history.score(r.method, r.statistic, r.p_value, r.threshold, r.effect_size, r.min_effect) < 1


def test_benjamini_hochberg_is_scipys():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, 30)
    np.testing.assert_allclose(drift.benjamini_hochberg(p), stats.false_discovery_control(p), rtol=0, atol=0)


# --- effect sizes against scipy --------------------------------------------------------

def test_balanced_cramers_v_is_scipys_v_on_equal_rows():
    rng = np.random.default_rng(11)
    rc = rng.integers(1, 5000, 6)
    cc = rng.integers(1, 300, 6)
    total = 10**9  # both rows scaled to the same total
    table = np.vstack([np.round(rc / rc.sum() * total), np.round(cc / cc.sum() * total)]).astype(np.int64)
    want = stats.contingency.association(table, method="cramer", correction=False)
    assert dm.balanced_cramers_v(rc, cc) == pytest.approx(want, rel=1e-6)


def test_balanced_cramers_v_does_not_depend_on_the_sizes():
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.4, 0.35, 0.25])
    a = dm.balanced_cramers_v(p * 100_000, q * 10_000)
    b = dm.balanced_cramers_v(p * 100_000, q * 500_000)
    assert a == pytest.approx(b, rel=1e-12)
    # plain V changes with the ratio of sizes: why it is not used as the floor
    assert dm.cramers_v(p * 100_000, q * 10_000) != pytest.approx(dm.cramers_v(p * 100_000, q * 500_000), rel=0.1)


def test_magnitude_is_ks_d_for_numbers_and_total_variation_for_categories():
    from workbench.drift.profile import CurrentSample, FeatureProfile

    rng = np.random.default_rng(13)
    a, b = rng.normal(0, 1, 3000), rng.normal(0.3, 1, 2000)
    ref, cur = FeatureProfile.fit("x", pd.Series(a)), CurrentSample.from_series("x", pd.Series(b), "numeric")
    assert dm.magnitude(ref, cur) == pytest.approx(stats.ks_2samp(a, b).statistic, rel=1e-12)
    ca, cb = rng.choice(list("abc"), 3000, p=[0.5, 0.3, 0.2]), rng.choice(list("abcd"), 2000, p=[0.4, 0.3, 0.2, 0.1])
    ref = FeatureProfile.fit("c", pd.Series(ca), kind="categorical")
    cur = CurrentSample.from_series("c", pd.Series(cb), "categorical")
    pa = pd.Series(ca).value_counts(normalize=True)
    pb = pd.Series(cb).value_counts(normalize=True)
    tvd = 0.5 * (pa.reindex(list("abcd"), fill_value=0) - pb.reindex(list("abcd"), fill_value=0)).abs().sum()
    assert dm.magnitude(ref, cur) == pytest.approx(tvd, rel=1e-12)


def test_ranking_uses_the_shared_scale_not_each_methods_own_units():
    """Features with different methods are ranked on magnitude (KS D / total variation), not raw statistics."""
    rng = np.random.default_rng(17)
    big = drift.feature_drift("big", pd.Series(rng.normal(0, 1, 5000)), pd.Series(rng.normal(1.5, 1, 5000)), "ks")
    small = drift.feature_drift("small", pd.Series(rng.choice(list("ab"), 5000, p=[0.5, 0.5])),
                                pd.Series(rng.choice(list("ab"), 5000, p=[0.3, 0.7])), "psi")
    ranked = drift.DriftReport("m", [small, big]).ranked()
    assert ranked["feature"].tolist() == ["big", "small"]
    assert big.magnitude > small.magnitude


# --- typing and canonical categories --------------------------------------------------

@pytest.mark.parametrize("raw", [1, 1.0, "1", " 1", "1.0", np.int64(1), np.float32(1.0)])
def test_canonical_category_merges_forms_of_one(raw):
    from workbench.drift.profile import canonical_category

    assert canonical_category(raw) == "1"


def test_canonical_category_keeps_distinct_values_distinct():
    from workbench.drift.profile import canonical_category

    assert canonical_category(1.5) == "1.5" and canonical_category("1.50") == "1.5"
    assert canonical_category("Month-to-month ") == "Month-to-month"
    assert canonical_category(True) == "True" and canonical_category("abc") == "abc"


def test_codes_as_text_in_the_reference_and_numbers_now_are_the_same_categories():
    """The failure seen on real data: "1" in the reference and 1.0 in the store made every category new."""
    rng = np.random.default_rng(19)
    codes = rng.choice([1, 2, 3, 4], 20_000, p=[0.4, 0.3, 0.2, 0.1])
    ref = pd.Series(codes.astype(str))  # exported to Parquet as text
    cur = pd.Series(rng.choice([1.0, 2.0, 3.0, 4.0], 20_000, p=[0.4, 0.3, 0.2, 0.1]))  # JSON numbers
    r = drift.feature_drift("MAR", ref, cur, kind="categorical")
    assert r.new_categories == [] and r.drifted is False
    assert r.effect_size < 0.02
    assert r.canonical.startswith("reference 1 = this window 1.0; reference 2 = this window 2.0")
    # the same chi-square as scipy on the matched counts
    rc = pd.Series(codes).value_counts().sort_index().to_numpy()
    cc = cur.value_counts().sort_index().to_numpy()
    assert r.p_value == pytest.approx(stats.chi2_contingency(np.vstack([rc, cc])).pvalue, rel=1e-12)


@pytest.mark.parametrize("values,kind", [
    (pd.Series([0, 1, 1, 0] * 50), "categorical"),                     # flag
    (pd.Series(np.arange(20).repeat(3).astype(float)), "categorical"),  # 20 whole-number codes
    (pd.Series(np.arange(21).repeat(3)), "numeric"),                  # 21 distinct: numeric
    (pd.Series([0.5, 1.0, 1.5] * 30), "numeric"),                     # few, but not whole numbers
    (pd.Series(["1", "2", "3"] * 10), "categorical"),                 # numeric text, few codes
    (pd.Series([str(x) for x in np.linspace(0, 100, 300)]), "numeric"),  # numeric text, many values
    (pd.Series(["a", "b", None] * 10), "categorical"),
    (pd.Series([True, False] * 10), "categorical"),
])
def test_automatic_type_rule(values, kind):
    from workbench.drift.profile import infer_kind

    assert infer_kind(values)[0] == kind


def test_configured_type_overrides_the_rule():
    ref = pd.DataFrame({"tickets": np.random.default_rng(2).poisson(1.5, 3000).astype(float)})
    auto = drift.detect_drift(ref, ref, DriftDetection(models={"m": {"features": {"tickets": {}}}}), "m")
    typed = drift.detect_drift(ref, ref, DriftDetection(models={"m": {"features": {"tickets": {"type": "numeric"}}}}),
                               "m")
    assert auto.results[0].kind == "categorical" and auto.results[0].method == "chi2"
    assert typed.results[0].kind == "numeric" and typed.results[0].method == "ks"


def test_feature_with_defaults_syntax_and_type_validation(tmp_path):
    from workbench.config import load_monitoring

    p = tmp_path / "monitoring.yaml"
    p.write_text("drift_detection:\n  models:\n    m:\n      features:\n        tenure: {}\n        contract:\n"
                 "        MAR: {type: categorical}\n")
    feats = load_monitoring(p).drift_detection.features_for("m")
    assert set(feats) == {"tenure", "contract", "MAR"} and feats["MAR"].type == "categorical"
    p.write_text("drift_detection:\n  models:\n    m:\n      features:\n        MAR: {type: categorical, method: ks}\n")
    with pytest.raises(ConfigError) as e:
        load_monitoring(p)
    assert "drift_detection.models.m.features.MAR" in str(e.value) and "does not apply to categorical" in str(e.value)
    p.write_text("drift_detection:\n  models:\n    m:\n      features:\n        MAR: {type: ordinal}\n")
    with pytest.raises(ConfigError, match="MAR.type"):
        load_monitoring(p)


def test_categories_written_differently_are_noted_in_words_only_when_it_changed_the_comparison():
    """The drift table said "categories compared as 0.0 → '0'" for every float-coded feature, a
    developer's note: it is shown only where the reference and the window write a category differently
    (or one side writes it two ways), in words; floats on both sides (0.0 and 0.0) say nothing."""
    rng = np.random.default_rng(3)
    floats = pd.Series(rng.choice([0.0, 1.0], 2_000))
    same = drift.feature_drift("SeniorCitizen", floats, pd.Series(rng.choice([0.0, 1.0], 2_000)), kind="categorical")
    assert same.canonical == ""
    assert "same category, written differently" in drift.DriftReport("m", [same]).to_frame().columns
    ints_now = drift.feature_drift("SeniorCitizen", floats, pd.Series(rng.choice([0, 1], 2_000)), kind="categorical")
    assert ints_now.canonical == "reference 0.0 = this window 0; reference 1.0 = this window 1"
    spaced = drift.feature_drift("contract", pd.Series(["Yes", "No"] * 500),
                                 pd.Series([" Yes", "Yes", "No"] * 300), kind="categorical")
    assert spaced.canonical == "reference Yes = this window ' Yes'"
    new_only = drift.feature_drift("code", pd.Series(["1", "2"] * 500), pd.Series([1.0, 2.0, 3.5] * 300),
                                   kind="categorical")
    assert "3.5" not in new_only.canonical  # a category seen in the window only: nothing to say about it
