"""A value and its interval read with one number of decimals (findings.interval), in the findings'
sentences and in the tables beside them: 'accuracy 0.728 [0.725, 0.730]', never '[0.725, 0.73]' (a
bound that reads less precise than its value) or 'RMSE 8.7 [8.61, 8.79]' (a value less precise than
its own interval); the published-artifact rule 'numbers' still finds each sentence's number in its table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench import artifact, tables
from workbench.drift import columns as drift_columns
from workbench.drift.multivariate import MultivariateDriftResult
from workbench.findings import TINY, interval
from workbench.performance import columns, core as performance, segments
from workbench.performance.sections import _named_metrics, _table


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _text(*shown) -> str:
    html = "".join(s.to_html() for s in shown)
    return artifact.read_page(html).all_text()


def _missing(findings, text: str) -> list[str]:
    return [f"{tok} ({f.sentence})" for f in findings for tok in artifact.finding_numbers(f.sentence)
            if not artifact._appears(tok, text)]


def test_a_value_and_its_bounds_share_their_decimals():
    assert interval(0.7281, 0.7252, 0.7299) == ("0.728", "0.725", "0.730")
    assert interval(8.7, 8.61, 8.79) == ("8.70", "8.61", "8.79")
    assert interval(6.52, 6.45, 6.59) == ("6.52", "6.45", "6.59")
    assert interval(1234.5, 987.6, 1500.2) == ("1,234", "988", "1,500")  # as findings.num writes thousands


def test_a_narrow_interval_gets_the_decimals_its_width_needs_and_a_bound_near_zero_no_more():
    assert interval(0.7281, 0.72805, 0.72815) == ("0.7281", "0.7280", "0.7281")  # bounds differ as written
    assert interval(0.002, -0.0001, 0.0051) == ("0.002", "-0.000", "0.005")  # not 0.002000 [-0.000100, …]


def test_without_both_bounds_or_with_tiny_numbers_each_reads_as_num_writes_it():
    assert interval(0.5, float("nan"), 0.6) == ("0.5", "—", "0.6")  # no interval: as num writes each
    assert interval(None, None, None) == ("—", "—", "—")
    assert interval(2e-7, 1e-7, 3e-7) == ("2×10⁻⁷", "1×10⁻⁷", "3×10⁻⁷")


def test_random_intervals_have_one_number_of_decimals_each_within_half_a_last_digit():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        scale = 10.0 ** rng.integers(-3, 4)
        v = rng.uniform(0.01, 1.0) * scale
        lo, hi = sorted((v - rng.exponential(0.05) * scale, v + rng.exponential(0.05) * scale))
        if min(abs(v), abs(lo), abs(hi)) < TINY:
            continue  # written as num writes it (2.3×10⁻⁷): another test
        shown = interval(v, lo, hi)
        assert len({_decimals(s) for s in shown}) == 1, (v, lo, hi, shown)
        d = _decimals(shown[0])
        for s, x in zip(shown, (v, lo, hi)):
            assert math.isclose(float(s.replace(",", "")), x, abs_tol=0.5 * 10 ** -d + 1e-12), (s, x)
        if lo != hi:
            assert shown[1] != shown[2], (lo, hi, shown)


def test_the_performance_finding_and_headline_table_write_the_interval_alike():
    s = performance.PerformanceSummary("m", "classification", 100_000, 60_000, {"accuracy": 0.7281})
    s.ci = {"accuracy": (0.7252, 0.7299)}
    base = performance.against_baseline(s, {"accuracy": 0.80}, None, 0.05)
    found = performance.metric_findings(s, base, "2.0.0", 0.75, 0.05)
    assert found and found[0].sentence.startswith("accuracy 0.728 [0.725, 0.730] is below 0.75"), found[0].sentence
    shown = _table(_named_metrics(base))  # as the performance report's headline section calls it
    row = _text(shown)
    assert "0.728 0.725 0.730" in " ".join(row.split()), row
    assert _missing(found, row + " 0.75") == []  # the threshold is in the thresholds table beside it


def test_a_regression_value_keeps_the_zero_its_interval_needs():
    s = performance.PerformanceSummary("m", "regression", 100_000, 60_000, {"mae": 6.52, "rmse": 8.7})
    s.ci = {"mae": (6.45, 6.59), "rmse": (8.61, 8.79)}
    base = performance.against_baseline(s, {"mae": 5.0, "rmse": 7.0}, None, 0.05)
    found = performance.metric_findings(s, base, "2.0.0", None, 0.05)
    sentences = " ".join(f.sentence for f in found)
    assert "MAE 6.52 [6.45, 6.59]" in sentences and "RMSE 8.70 [8.61, 8.79]" in sentences, sentences
    assert _missing(found, _text(_table(_named_metrics(base))) + " 5%") == []  # the tolerance: thresholds table


def test_the_other_metrics_warning_quotes_each_value_as_the_table_shows_it():
    """'Also worse than the baseline: … Brier 0.2 vs 0.106' beside a table cell 0.200 (the value with its
    interval's decimals) broke the artifact contract on a CI demo week: the listed values are the table's."""
    s = performance.PerformanceSummary("m", "classification", 100_000, 60_000,
                                       {"accuracy": 0.80, "brier": 0.19996, "precision": 0.7412})
    s.ci = {"accuracy": (0.795, 0.805), "brier": (0.1982, 0.2017), "precision": (0.7381, 0.7443)}
    base = performance.against_baseline(s, {"accuracy": 0.81, "brier": 0.106, "precision": 0.844}, None, 0.05)
    found = performance.metric_findings(s, base, "2.0.0", 0.75, 0.05)
    other = next(f for f in found if f.subject == "other metrics")
    assert "Brier 0.200 vs 0.106" in other.sentence and "precision 0.741 vs 0.844" in other.sentence, other.sentence
    assert _missing([other], _text(_table(_named_metrics(base))) + " 5%") == []


def test_mape_keeps_its_percentages_in_sentence_and_table():
    assert tables.metric_interval("mape", 0.083, 0.079, 0.088) == ("8.3%", "7.9%", "8.8%")
    assert tables.metric_interval("MAPE", 0.083, np.nan, 0.088) == ("8.3%", "—", "8.8%")


def test_a_weak_segment_sentence_and_its_row_write_the_interval_alike():
    seg = segments.Segment(("plan",), "plan = basic", 0.2, 20_000, 0.61, (0.5952, 0.6298), 0.8, 0.75, 0.01,
                           0.4, 0.001)
    weak = segments.WeakSegments("classification", pd.DataFrame(), [seg], 0.72, 0.8, 100_000, 0.05)
    found = [f for f in weak.findings if "plan = basic" in f.sentence]
    assert "0.610 [0.595, 0.630]" in found[0].sentence, found[0].sentence
    row = _text(_table(weak.segments_frame(), kinds=segments.KINDS, intervals=segments.INTERVALS))
    assert "0.610 0.595 0.630" in " ".join(row.split()), row
    assert _missing(found, row) == []


def test_the_multivariate_auc_finding_and_table_write_the_interval_alike():
    r = MultivariateDriftResult(model="m", features=["a", "b"], n_reference=5000, n_current=5000,
                                classifier={"auc": 0.6, "low": 0.5851, "high": 0.6149, "threshold": 0.55,
                                            "drifted": True, "folds": 5, "fold_auc": []})
    found = r.findings
    assert "AUC 0.600 [0.585, 0.615]" in found[0].sentence, found[0].sentence
    row = _text(tables.table(r.to_frame(), kinds=drift_columns.KINDS, intervals=drift_columns.INTERVALS))
    assert "0.600 0.585 0.615" in " ".join(row.split()), row
    assert _missing(found, row + " 0.5") == []  # 0.5, 'indistinguishable', is a constant of the sentence


@pytest.mark.parametrize("kind", ["points", "ratio"])
def test_intervals_leave_columns_of_other_kinds_to_their_own_formatter(kind):
    df = pd.DataFrame({"difference": [0.005], "ci_low": [0.001], "ci_high": [0.009]})
    shown = tables.table(df, kinds=dict.fromkeys(df.columns, kind), intervals=columns.INTERVALS)
    expected = [tables.format_value(v, kind) for v in df.iloc[0]]
    assert " ".join(expected) in " ".join(_text(shown).split())
