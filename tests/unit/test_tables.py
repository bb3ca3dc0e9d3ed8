"""The report tables' formatting: what a reader sees for counts, shares, durations, p-values, gaps."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from workbench import tables


@pytest.mark.parametrize("value, text", [
    (133183.2126, "133,183"), (0, "0"), (1234567, "1,234,567"), (np.int64(42), "42"), (None, "—"), (np.nan, "—"),
])
def test_count(value, text):
    assert tables.count(value) == text


@pytest.mark.parametrize("value, text", [
    (0.0981, "9.8%"), (0.556, "55.6%"), (1.0, "100%"), (0.0, "0.0%"), (0.00012, "0.012%"), (0.0042, "0.42%"),
    (-0.05, "-5.0%"), (np.nan, "—"),
])
def test_percent(value, text):
    assert tables.percent(value) == text


@pytest.mark.parametrize("value, text", [
    (0.0, "< 0.001"), (1e-40, "< 0.001"), (0.00099, "< 0.001"), (0.001, "0.001"), (0.0456, "0.046"), (0.5, "0.500"),
    (None, "—"),
])
def test_p_value(value, text):
    assert tables.p_value(value) == text


@pytest.mark.parametrize("value, text", [
    (pd.Timedelta(minutes=20), "20 min"), (pd.Timedelta(minutes=51, seconds=10), "51 min"), (45, "45 s"),
    (dt.timedelta(hours=2, minutes=5), "2 h 05 min"), (pd.Timedelta(hours=3), "3 h"),
    (pd.Timedelta(days=6, hours=12), "6 d 12 h"), (pd.NaT, "—"), (3599, "1 h"), (86399, "1 d"),
    (pd.Timedelta(hours=38, minutes=45), "1 d 15 h"), (-90, "-2 min"),
])
def test_duration(value, text):
    assert tables.duration(value) == text


@pytest.mark.parametrize("seconds", [0, 59.6, 3599, 3600 + 5 * 60, 38 * 3600 + 45 * 60, 47 * 3600 + 59 * 60, 86399,
                                     6.5 * 86400, 10 * 86400 + 1800])
def test_a_finding_writes_a_duration_as_its_table_does(seconds):
    """One formatter: a finding's "fired for 1 d 15 h" is the table's cell verbatim (38 h 45 min was
    "38 h 45 min" in the sentence and "1 d 15 h" in the table)."""
    from workbench import findings

    td = pd.Timedelta(seconds=seconds)
    assert findings.duration(td) == tables.duration(td) == tables.duration(seconds)
    assert findings.duration(pd.Timedelta(hours=38, minutes=45)) == "1 d 15 h"


@pytest.mark.parametrize("value, text", [
    (0.72531, "0.7253"), (133183.2126, "133,183"), (0.000123, "0.000123"), (2.5e7, "25,000,000"),
    (-0.0123456, "-0.01235"), (3.0, "3"), (np.inf, "∞"), (True, "yes"), (np.nan, "—"),
])
def test_number_is_plain_above_tiny(value, text):
    assert tables.number(value) == text
    assert not re.search(r"\de[+-]?\d", tables.number(value))


@pytest.mark.parametrize("value, text", [(2.3e-07, "2.3×10⁻⁷"), (1.5e-05, "1.5×10⁻⁵"), (-4.2e-09, "-4.2×10⁻⁹"),
                                         (1e-40, "1×10⁻⁴⁰"), (9.96e-05, "1×10⁻⁴")])
def test_tiny_numbers_read_the_same_in_tables_and_findings(value, text):
    """Below 1e-4 a number was '< 0.00000001' in a table and '2.3e-07' in a sentence: now one text,
    written as people write it (no raw e-notation, which the browser test rejects in tables)."""
    from workbench import findings

    assert tables.number(value) == findings.num(value) == tables.effect(value) == text
    mantissa, exponent = text.split("×10")
    power = int(exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    assert float(mantissa) * 10.0 ** power == pytest.approx(value, rel=0.05)
    assert not re.search(r"\de[+-]?\d", text)


def test_effects_and_metrics_read_as_the_findings_print_them():
    from workbench import findings

    for v in (0.05, 0.0074740, 0.725312, 12.345, 1234.5):
        assert tables.format_value(v, "effect") == tables.format_value(v, "metric") == findings.num(v)


def test_points_are_a_difference_of_shares_as_findings_say_it():
    from workbench import findings

    assert tables.points(0.005) == findings.pp(0.005) == "+0.5 pp"
    assert tables.points(-0.004) == "-0.4 pp" and tables.points(0.0) == "0.0 pp" and tables.points(np.nan) == "—"
    # 32.8% vs 32.9% is not "0.0 pp": a difference below 0.1 pp keeps a significant digit
    assert tables.points(-0.0004) == findings.pp(-0.0004) == "-0.04 pp" and tables.points(3e-6) == "+0.0003 pp"


def test_header_words_and_units():
    assert tables.header("p_value") == "p-value"
    assert tables.header("effect_size") == "effect size"
    assert tables.header("firing_time") == "firing time"
    assert tables.header("latency", {"latency": "s"}) == "latency (s)"


def test_undeclared_columns_go_by_dtype_alone():
    df = pd.DataFrame({"p_value": [0.1], "drift_share": [0.3], "n_current": [10.0], "duration": [pd.Timedelta("1h")],
                       "start": [pd.Timestamp("2026-11-17", tz="UTC")], "statistic": [0.12], "feature": ["a"],
                       "rows": [3], "ok": [True]})
    kinds = {c: tables.dtype_kind(df[c]) for c in df}
    assert kinds == {"p_value": "number", "drift_share": "number", "n_current": "number", "duration": "duration",
                     "start": "timestamp", "statistic": "number", "feature": "text", "rows": "count", "ok": "bool"}


@pytest.mark.parametrize("name", ["min_effect", "n_current", "median_h", "p_value", "share", "missing_change",
                                  "relative_change", "change vs reference (percentage points)", "bad", "firing_time"])
def test_a_column_name_never_decides_its_format(name):
    """`min_effect` 0.05 read as a count ('0') because its name contains 'n_': only a declaration decides."""
    values = [0.05, 0.5, 71.7, np.nan]
    plain = re.findall(r"<td[^>]*>([^<]*)</td>", _html(tables.table(pd.DataFrame({"x": values}))))
    named = re.findall(r"<td[^>]*>([^<]*)</td>", _html(tables.table(pd.DataFrame({name: values}))))
    assert named == plain == ["0.05", "0.5", "71.7", "—"]


def test_declared_kinds_format_each_column():
    df = pd.DataFrame({"min_effect": [0.05], "p_value": [1e-9], "n_current": [1234.4], "share": [0.0981],
                       "change": [0.005], "latency": [0.2069], "delay_h": [71.7], "last": ["still firing"]})
    kinds = {"min_effect": "effect", "p_value": "p_value", "n_current": "count", "share": "ratio",
             "change": "points", "latency": "seconds", "delay_h": "hours", "last": "timestamp", "absent": "count"}
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", _html(tables.table(df, kinds=kinds)))
    assert cells == ["0.05", "&lt; 0.001", "1,234", "9.8%", "+0.5 pp", "207 ms", "3 d", "still firing"]


def test_an_unknown_kind_names_the_column_and_the_choices():
    with pytest.raises(ValueError, match=r"unknown column kind 'percentage' for column 'share'; choose one of: count"):
        tables.table(pd.DataFrame({"share": [0.1]}), kinds={"share": "percentage"})


def _html(styler) -> str:
    return styler.to_html()


def test_table_drops_range_index_and_empty_columns_and_shows_gaps_with_reason():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"feature": ["a", "b", "c"], "p_value": [1e-30, 0.2, np.nan], "empty": [np.nan] * 3,
                       "blank": ["", "", ""], "n_current": rng.integers(1000, 100000, 3).astype(float),
                       "statistic": [1.234e-3, 12345.6789, 0.5]})
    out = _html(tables.table(df, kinds={"p_value": "p_value", "n_current": "count"},
                             missing={"p_value": "distance method: no p-value"}))
    assert "empty" not in out and "blank" not in out
    assert ">0<" not in out and "row0" in out  # no index cell with 0; Styler's own cell ids are fine
    assert "p-value" in out and "values (current)" in out
    assert "&lt; 0.001" in out and "—*" in out and "distance method: no p-value" in out
    assert "NaN" not in out and "nan" not in out
    assert not re.search(r"\d\.?\d*e[+-]\d", out)
    assert "0.001234" in out and "12,346" in out


def test_table_keeps_a_meaningful_index_as_a_column():
    df = pd.DataFrame({"value": [1.0, 2.0]}, index=pd.Index(["x", "y"], name="metric"))
    out = _html(tables.table(df))
    assert "metric" in out and ">x<" in out


def test_table_escapes_values_and_headers():
    hostile = "</script><script>alert(1)</script>"
    df = pd.DataFrame({"<img src=x onerror=alert(1)>": [hostile]})
    out = _html(tables.table(df))
    assert "<script>" not in out and "<img" not in out
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_record_reads_one_row_downwards():
    df = pd.DataFrame([{"features checked": 9, "drift share": 0.556, "window rows": 100000, "note": ""}])
    out = _html(tables.record(df, kinds={"drift share": "ratio"}))
    assert "55.6%" in out and "100,000" in out and "note" not in out


def test_values_in_their_rows_unit():
    df = pd.DataFrame({"title": ["availability", "requests", "p95", "memory"], "unit": ["ratio", "requests", "seconds", "bytes"],
                       "value": [0.998, 133183.2, 0.2069, 3 * 2**30], "previous": [1.0, 132634.0, 1.5, 2**29],
                       "change": [-0.002, 549.2, -1.29, 2.5 * 2**30]})
    out = tables.unit_rows(df)
    assert list(out["value"]) == ["99.80%", "133,183", "207 ms", "3 GiB"]
    assert list(out["previous"]) == ["100%", "132,634", "1.5 s", "512 MiB"]
    assert list(out["change"]) == ["-0.20 pp", "+549", "-1.29 s", "+2.5 GiB"]
    assert "unit" not in out


def test_a_small_mean_of_a_count_keeps_its_decimals_so_value_change_and_relative_change_agree():
    """'Database connections, mean': 10 vs 10, change '+0', relative change 0.50% read as a contradiction."""
    df = pd.DataFrame({"title": ["connections, mean", "requests"], "unit": ["connections", "requests"],
                       "value": [10.05, 133183.2], "previous": [10.0, 132634.0], "change": [0.05, 549.2]})
    out = tables.unit_rows(df)
    assert list(out["value"]) == ["10.05", "133,183"] and list(out["previous"]) == ["10", "132,634"]
    assert list(out["change"]) == ["+0.05", "+549"]


def test_fractional_prometheus_counts_are_whole_events_when_declared():
    out = _html(tables.table(pd.DataFrame({"bad": [802.1, 3.0]}), kinds={"bad": "count"}))
    assert ">802<" in out and ">3<" in out


def test_label_delay_headers_say_delay_not_hours_next_to_values_in_days():
    """'median h' over a cell reading '2 d' contradicted itself: the values are durations, the header says so."""
    from workbench.performance.columns import KINDS

    html = _html(tables.table(pd.DataFrame({"median_h": [48.0], "p90_h": [102.0], "max_h": [293.0]}), kinds=KINDS))
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert headers == ["median delay", "p90 delay", "max delay"]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", html)[0] == "2 d"


def test_metric_keys_read_as_names_everywhere():
    assert [tables.metric_name(k) for k in ("mae", "mape", "r2", "roc_auc", "log_loss", "brier", "accuracy")] == [
        "MAE", "MAPE", "R²", "ROC AUC", "log loss", "Brier", "accuracy"]
    # the per-class metrics of the errors section read '(class 1)', not '_1' decoded by a footnote
    assert [tables.metric_name(k) for k in ("precision_1", "recall_0", "f1_1", "mde_80")] == [
        "precision (class 1)", "recall (class 0)", "F1 (class 1)", "MDE (80% power)"]
