import numpy as np
import pandas as pd
import pytest

from workbench.drift.profile import OTHER, CurrentSample, FeatureProfile, ReferenceProfile, aligned_category_counts, profile_key


def test_profile_round_trip_keeps_everything(rng):
    ref = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 500), [np.nan, np.inf]], "c": rng.choice(["a", "b", None], 502)})
    p = ReferenceProfile.fit(ref, n_bins=8, source="test")
    q = ReferenceProfile.from_bytes(p.to_bytes())
    assert q.n_bins == 8 and q.source == "test"
    for name in ("x", "c"):
        a, b = p[name], q[name]
        assert (a.kind, a.n, a.n_missing, a.n_nonfinite, a.categories, a.stats) == \
               (b.kind, b.n, b.n_missing, b.n_nonfinite, b.categories, b.stats)
    np.testing.assert_array_equal(p["x"].sorted_values, q["x"].sorted_values)
    np.testing.assert_array_equal(p["x"].edges, q["x"].edges)
    assert p["x"].n_nonfinite == 1 and p["x"].n_missing == 1 and p["x"].n == 500


def test_bins_are_quantiles_of_the_reference():
    x = np.arange(1000, dtype=float)
    f = FeatureProfile.fit("x", pd.Series(x), n_bins=10)
    np.testing.assert_allclose(f.edges, np.quantile(x, np.linspace(0, 1, 11)[1:-1]))
    assert f.bin_counts.tolist() == [100] * 10


def test_high_cardinality_keeps_top_k_and_other(rng):
    vals = pd.Series([f"id{i}" for i in rng.integers(0, 5000, 20000)])
    f = FeatureProfile.fit("ids", vals, max_categories=200, top_k=50)
    assert f.truncated and len(f.categories) == 51 and OTHER in f.categories
    assert sum(f.categories.values()) == 20000
    cur = CurrentSample.from_series("ids", pd.Series(["id1", "never-seen"] * 10), "categorical")
    cats, rc, cc = aligned_category_counts(f, cur)
    assert cc.sum() == 20 and "never-seen" not in cats  # counted in OTHER
    assert cur.new_categories(f) == []  # unknowable against a truncated reference


def test_profile_key_changes_with_inputs():
    a = profile_key("m", "1", ["x", "y"], 10, "run1")
    assert a == profile_key("m", "1", ["y", "x"], 10, "run1")
    assert a != profile_key("m", "1", ["x"], 10, "run1") and a != profile_key("m", "1", ["x", "y"], 5, "run1")
    assert a != profile_key("m", "2", ["x", "y"], 10, "run1")


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 12345])
def test_sorted_quantile_equals_numpy(n, rng):
    from workbench.drift.profile import sorted_quantile

    x = np.sort(rng.normal(0, 1, n))
    q = np.linspace(0, 1, 23)
    np.testing.assert_array_equal(sorted_quantile(x, q), np.quantile(x, q))


def test_category_counts_merge_equal_labels_and_count_missing():
    f = FeatureProfile.fit("c", pd.Series(["1", 1, None, "a", np.nan], dtype=object), kind="categorical")
    assert f.categories == {"1": 2, "a": 1} and f.n_missing == 2
