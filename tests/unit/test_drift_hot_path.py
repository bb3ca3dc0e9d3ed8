"""The in-memory drift path does no more work than its answers need (issue 21 item 0), and gives the
same answers: the automatic type equals the rule applied to every row, the KS distance is scipy's.

The work is counted (calls and their sizes), never timed: benchmarks/drift_bench.py times it."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.config import DriftDetection
from workbench.drift import core as drift
from workbench.drift import methods as dm
from workbench.drift import profile as prof
from workbench.drift.profile import CurrentSample, FeatureProfile, infer_kind


def _rule_on_every_row(s: pd.Series, max_codes: int = prof.MAX_CODES) -> tuple[str, str]:
    """infer_kind's documented rule applied to every row (the implementation before the fast paths)."""
    v = s.dropna()
    if pd.api.types.is_bool_dtype(v):
        return "categorical", "booleans"
    if not pd.api.types.is_numeric_dtype(v):
        num = pd.to_numeric(v.astype(str).str.strip(), errors="coerce") if len(v) else v
        if len(v) == 0 or num.isna().any():
            return "categorical", "text"
        v = num
    x = v.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    distinct = np.unique(x)
    if len(distinct) <= max_codes and len(x) and np.all(distinct == np.round(distinct)):
        return "categorical", f"coded: {len(distinct)} distinct whole numbers (<= {max_codes})"
    return "numeric", f"numbers, {len(distinct)} distinct" if len(distinct) <= 1000 else "numbers"


def _columns(rng) -> list[pd.Series]:
    many = rng.normal(size=6000)
    return [
        pd.Series([1, True, 1.0, "1"], dtype=object),  # equal as Python values, not as text
        pd.Series([True, False, None], dtype=object),
        pd.Series([" 1", "2 ", "3", None, np.nan]),
        pd.Series(["1", "nan", "2"]), pd.Series(["1", "inf"]), pd.Series(["0", "-0", "1"]),
        pd.Series([], dtype=object), pd.Series([None, None], dtype=object), pd.Series(["a", pd.NA]),
        pd.Series(["1", "2", None], dtype="string"), pd.Series([1, 2, None], dtype="Int64"),
        pd.Series([True, None], dtype="boolean"), pd.Series([np.inf, -np.inf, np.nan]),
        pd.Series([1.5, "2"], dtype=object), pd.Series([b"x", b"y"]), pd.Series(pd.Categorical(["a", "b"])),
        pd.Series([str(x) for x in np.linspace(0, 100, 3000)]),
        pd.Series(rng.choice(["1", "2", " 3", "4.0"], 20_000)),
        pd.Series(rng.choice(["Month-to-month", "One year", "Two year", None], 20_000)),
        pd.Series(many), pd.Series(np.r_[np.zeros(5000), many]),            # continuous after a constant head
        pd.Series(np.r_[np.full(5000, np.nan), np.arange(3000.0)]),          # continuous after a missing head
        pd.Series(np.r_[np.arange(1000.0), np.arange(1000.0), [0.5] * 3000]),  # 1001 distinct, the last late
        pd.Series(np.r_[np.arange(1000.0)] * 6), pd.Series(rng.integers(0, 5, 10_000)),
        pd.Series([0.0, -0.0, 1.0] * 10), pd.Series([np.str_("1"), np.str_(" 2")], dtype=object),
        pd.Series(pd.Categorical(["1", "2"], categories=["1", "2", "x"])),  # an unused category is no value
        pd.Series([f"id-{i}" for i in range(3000)]), pd.Series(["a", 1, "b"], dtype=object),
    ]


def test_automatic_type_equals_the_rule_on_every_row(rng):
    for s in _columns(rng):
        assert infer_kind(s) == _rule_on_every_row(s), s.head().tolist()


def test_text_column_is_typed_by_its_distinct_values(monkeypatch, rng):
    """Parsing and stripping a million strings was most of fitting a profile; a handful of distinct
    strings decide the same."""
    columns = [pd.Series(rng.choice(np.array(v, dtype=object), 50_000)) for v in (["a", "b", "c", None],
                                                                                 ["1", "2", " 3", "4.0"])]
    want = [_rule_on_every_row(s) for s in columns]
    sizes = []
    real = pd.to_numeric
    monkeypatch.setattr(pd, "to_numeric", lambda x, *a, **k: sizes.append(len(x)) or real(x, *a, **k))
    assert [infer_kind(s) for s in columns] == want
    assert sizes and max(sizes) <= 4


def test_continuous_numeric_column_is_typed_without_sorting_all_of_it(monkeypatch, rng):
    sizes = []
    real = np.unique
    monkeypatch.setattr(np, "unique", lambda x, *a, **k: sizes.append(len(x)) or real(x, *a, **k))
    assert infer_kind(pd.Series(rng.normal(size=100_000))) == ("numeric", "numbers")
    assert sizes and max(sizes) <= 10_000  # the first rows (profile.HEAD, 4096) suffice


@pytest.mark.parametrize("method", ["ks", "wasserstein", "psi"])
def test_each_feature_merges_reference_and_current_once(monkeypatch, rng, method):
    """The ks statistic, the Wasserstein distance and the ranking magnitude (KS D) come from one merge
    of the two samples, not one each."""
    calls = []
    real = dm._merged_cdfs
    monkeypatch.setattr(dm, "_merged_cdfs", lambda a, b: calls.append(len(a)) or real(a, b))
    ref = pd.DataFrame({"x": rng.normal(0, 1, 30_000)})
    cur = pd.DataFrame({"x": rng.normal(0.05, 1, 20_000)})
    cfg = DriftDetection(models={"m": {"features": {"x": {"method": method}}}})
    r = drift.detect_drift(ref, cur, cfg, "m").results[0]
    assert len(calls) == 1
    assert r.magnitude == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).statistic, rel=1e-12)


def test_ks_distance_shared_by_methods_is_scipy_and_bit_equal_across_paths(rng):
    a = np.round(rng.normal(0, 1, 40_000), 2)  # many ties, within and across the samples
    b = np.round(rng.normal(0.02, 1, 25_000), 2)
    want = stats.ks_2samp(a, b).statistic
    for method in ("ks", "wasserstein", "psi"):
        ref = FeatureProfile.fit("x", pd.Series(a), kind="numeric")
        cur = CurrentSample.from_series("x", pd.Series(b), "numeric")
        dm.METHODS[method].func(ref, cur)
        assert dm.magnitude(ref, cur) == dm._ks_statistic(ref.sorted_values, cur.sorted_values)
        assert dm.magnitude(ref, cur) == pytest.approx(want, rel=1e-12)


def test_memo_belongs_to_one_reference(rng):
    """A current sample compared with two references gets each one's own D."""
    cur = CurrentSample.from_series("x", pd.Series(rng.normal(0, 1, 20_000)), "numeric")
    for shift in (0.0, 0.3):
        ref = FeatureProfile.fit("x", pd.Series(rng.normal(shift, 1, 20_000)), kind="numeric")
        want = stats.ks_2samp(ref.sorted_values, cur.sorted_values).statistic
        assert dm.magnitude(ref, cur) == pytest.approx(want, rel=1e-12)
        assert dm.ks(ref, cur).statistic == pytest.approx(want, rel=1e-12)


# --- the bench's goals -------------------------------------------------------------------

def _bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "drift_bench.py"
    spec = importlib.util.spec_from_file_location("drift_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_prints_each_goal_beside_its_ratio_and_names_misses():
    bench = _bench()
    assert bench.GOALS == {"evidently / workbench": ("min", 20.0), "workbench / numpy floor": ("max", 1.5)}
    missed, line = bench.ratio_line("psi", {"scipy loop / workbench": 3.0, "workbench / numpy floor": 0.7,
                                            "evidently / workbench": 45.0})
    assert missed == []
    assert "workbench / numpy floor 0.70x (goal <= 1.5x: ok)" in line
    assert "evidently / workbench 45.00x (goal >= 20x: ok)" in line
    assert "scipy loop / workbench 3.00x;" in line and "scipy loop / workbench 3.00x (" not in line
    missed, line = bench.ratio_line("ks", {"workbench / numpy floor": 1.9, "evidently / workbench": 9.6})
    assert missed == ["ks: workbench / numpy floor 1.90x", "ks: evidently / workbench 9.60x"]
    assert line.count("MISSED") == 2
    assert bench.check_goal("workbench / numpy floor", 1.5)[0] and bench.check_goal("evidently / workbench", 20.0)[0]


def test_bench_exits_nonzero_when_a_goal_is_missed(monkeypatch):
    bench = _bench()
    small = bench.make_data(2000)
    monkeypatch.setattr(bench, "make_data", lambda rows: small)
    monkeypatch.setattr("sys.argv", ["drift_bench.py", "--rows", "2000", "--methods", "psi", "--repeat", "1",
                                     "--skip-evidently", "--jobs", "1"])
    monkeypatch.setattr(bench, "GOALS", {"workbench / numpy floor": ("max", 1e-9)})
    assert bench.main() == 1
    monkeypatch.setattr(bench, "GOALS", {"workbench / numpy floor": ("max", 1e9)})
    assert bench.main() == 0
