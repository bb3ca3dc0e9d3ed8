"""Weak segments (workbench.performance.segments): the tests against scipy, the search on seeded data with
one degraded slice and at the null, and the demo's contract segment."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.config import SegmentParams
from workbench.performance import segments as sg


def _frame(rng, n, degrade=None, flip=0.35, base=0.1):
    """Rows with 6 features (3 categorical, 3 numeric); a classifier wrong with probability `base`,
    and `flip` inside the rows `degrade(df)` selects."""
    df = pd.DataFrame({
        "region": rng.choice(["north", "south", "east", "west"], n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "channel": rng.choice(["web", "app"], n),
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "visits": rng.poisson(20, n).astype(float),
    })
    wrong = rng.random(n) < base
    if degrade is not None:
        sel = degrade(df).to_numpy()
        wrong[sel] = rng.random(sel.sum()) < flip
    y = rng.integers(0, 2, n).astype(float)
    df["actual_outcome"] = y
    df["prediction"] = np.where(wrong, 1 - y, y)
    return df


FEATURES = ["region", "plan", "channel", "age", "income", "visits"]


def _run(cur, ref, params=None, kind="classification"):
    params = params or SegmentParams()
    kinds = sg.feature_kinds(ref, FEATURES, params.bins, params.max_categories)
    err_edges = None
    if kind == "regression":
        err_edges = sg.quantile_edges((ref["prediction"] - ref["actual_outcome"]).abs(), params.error_bins)
    cells = sg.cells_from_frames(cur, ref, kinds, kind, err_edges)
    return sg.search(cells, kind, params, seed=1)


def test_binned_mann_whitney_equals_scipy_on_tied_values():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 12, 300), rng.integers(1, 12, 500)
    h1, h2 = np.bincount(x, minlength=12), np.bincount(y, minlength=12)
    expected = stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic").pvalue
    assert sg.binned_mannwhitney_greater(h1, h2) == pytest.approx(expected, rel=1e-9)
    expected = stats.mannwhitneyu(y, x, alternative="greater", method="asymptotic").pvalue
    assert sg.binned_mannwhitney_greater(h2, h1) == pytest.approx(expected, rel=1e-9)


def test_degraded_slice_is_found_with_fisher_p_values_bh_and_its_share_of_the_drop():
    rng = np.random.default_rng(11)
    ref = _frame(rng, 20_000)
    cur = _frame(rng, 20_000, degrade=lambda d: d["plan"] == "pro")
    res = _run(cur, ref)
    assert [s.label for s in res.segments] == ["plan = pro"]
    seg = res.segments[0]
    # the numbers the sentence quotes, recomputed by hand
    lab = cur[cur["plan"] == "pro"]
    acc = float((lab["prediction"] == lab["actual_outcome"]).mean())
    acc_ref = float((ref.loc[ref["plan"] == "pro", "prediction"] == ref.loc[ref["plan"] == "pro", "actual_outcome"]).mean())
    whole = float((cur["prediction"] == cur["actual_outcome"]).mean())
    whole_ref = float((ref["prediction"] == ref["actual_outcome"]).mean())
    assert seg.metric == pytest.approx(acc) and seg.reference == pytest.approx(acc_ref)
    assert seg.share == pytest.approx(len(lab) / len(cur))
    assert seg.share_of_drop == pytest.approx(len(lab) / len(cur) * (acc_ref - acc) / (whole_ref - whole))
    assert seg.ci[0] < acc < seg.ci[1] and seg.ci[1] - seg.ci[0] < 0.05
    # the slice's p-values are scipy's Fisher exact tests, and q is scipy's BH over every slice tried
    row = res.to_frame().set_index("label").loc["plan = pro"]
    k, n = int((lab["prediction"] == lab["actual_outcome"]).sum()), len(lab)
    kr = int(round(acc_ref * (ref["plan"] == "pro").sum()))
    nr = int((ref["plan"] == "pro").sum())
    assert row["p_reference"] == pytest.approx(stats.fisher_exact([[k, n - k], [kr, nr - kr]], alternative="less").pvalue)
    # "worse than the rest": Woolf's test of the slice's odds ratio (now vs reference) against the rest's,
    # the log odds ratios and their standard errors from statsmodels (0.5 added to every cell)
    from statsmodels.stats.contingency_tables import Table2x2

    def table(now, before):
        ok_now, ok_before = now["prediction"] == now["actual_outcome"], before["prediction"] == before["actual_outcome"]
        return Table2x2(np.array([[ok_now.sum(), (~ok_now).sum()], [ok_before.sum(), (~ok_before).sum()]]) + 0.5)

    ts, tr = table(lab, ref[ref["plan"] == "pro"]), table(cur[cur["plan"] != "pro"], ref[ref["plan"] != "pro"])
    z = (tr.log_oddsratio - ts.log_oddsratio) / np.hypot(ts.log_oddsratio_se, tr.log_oddsratio_se)
    assert row["p_rest"] == pytest.approx(stats.norm.sf(z), rel=1e-9)
    tried = res.to_frame()
    assert tried["q"].to_numpy() == pytest.approx(stats.false_discovery_control(tried["p"].to_numpy(), method="bh"))
    f = res.findings[0]
    assert f.severity == "warning" and f.anchor == "weak-segments"
    assert f.sentence.startswith("accuracy on plan = pro (") and "accounts for" in f.sentence
    assert res.headline["weak_segment"] == "plan = pro"


def test_two_feature_slice_is_found_when_neither_parent_is_flagged_alone():
    rng = np.random.default_rng(5)
    ref = _frame(rng, 40_000)
    cur = _frame(rng, 40_000, degrade=lambda d: (d["region"] == "east") & (d["channel"] == "app"), flip=0.45)
    res = _run(cur, ref, SegmentParams(min_share=0.05))
    labels = [s.label for s in res.segments]
    assert "region = east & channel = app" in labels or labels[:1] in (["region = east"], ["channel = app"])
    assert res.segments[0].share_of_drop > 0.5


def test_numeric_bins_next_to_each_other_merge_into_one_range():
    rng = np.random.default_rng(8)
    ref = _frame(rng, 30_000)
    cur = _frame(rng, 30_000, degrade=lambda d: d["age"] > 48.5)  # ~ the top two quintiles
    res = _run(cur, ref)
    assert res.segments and res.segments[0].label.startswith("age ≥ ")
    assert "/" not in res.segments[0].label


def test_at_the_null_no_slice_is_flagged():
    rng = np.random.default_rng(21)
    res = _run(_frame(rng, 20_000), _frame(rng, 20_000))
    assert res.segments == [] and len(res.to_frame()) > 50
    assert [f.severity for f in res.findings] == ["info"]


def test_a_slice_always_worse_than_the_rest_is_not_flagged_when_it_did_not_drop():
    rng = np.random.default_rng(2)
    hard = lambda d: d["plan"] == "pro"  # noqa: E731
    res = _run(_frame(rng, 20_000, degrade=hard), _frame(rng, 20_000, degrade=hard))
    row = res.to_frame().set_index("label").loc["plan = pro"]
    assert row["rest"] - row["metric"] > 0.15  # far worse than the rest, in both windows
    assert row["p_rest"] > 0.01 and not row["flagged"] and res.segments == []


def test_mae_segment_by_binned_mann_whitney():
    rng = np.random.default_rng(4)

    def reg(degrade=False):
        df = _frame(rng, 15_000)
        noise = rng.normal(0, 1, len(df))
        if degrade:
            noise[(df["region"] == "west").to_numpy()] *= 2.5
        df["actual_outcome"] = df["income"] / 1000
        df["prediction"] = df["actual_outcome"] + noise
        return df

    res = _run(reg(True), reg(), kind="regression")
    assert res.metric == "mae" and [s.label for s in res.segments] == ["region = west"]
    s = res.segments[0]
    assert s.metric > 1.5 * s.reference and s.ci[0] < s.metric < s.ci[1]
    assert "rose to" in res.findings[0].sentence


def test_support_limits_leave_small_slices_untried():
    rng = np.random.default_rng(6)
    res = _run(_frame(rng, 5_000), _frame(rng, 5_000), SegmentParams(min_rows=1_000, min_share=0.1))
    assert (res.to_frame()["rows"] >= 1_000).all()


def test_a_table_too_small_for_any_slice_is_a_note_not_a_problem():
    """No slice reaching the minimum support is a limit of the data, said in the section: the report
    is complete (a problem would mark the whole performance review incomplete and exit non-zero)."""
    rng = np.random.default_rng(8)
    res = _run(_frame(rng, 150), _frame(rng, 150))
    assert res.to_frame().empty and not res.segments and not res.problems
    assert res.notes and "no slice has 200 rows and 2%" in res.notes[0]


def test_seeded_intervals_repeat():
    rng = np.random.default_rng(9)
    cur, ref = _frame(rng, 10_000, degrade=lambda d: d["plan"] == "pro"), _frame(rng, 10_000)
    assert _run(cur, ref).segments[0].ci == _run(cur, ref).segments[0].ci


def test_demo_churn_model_drop_sits_in_the_contract_segment():
    from workbench.config import last_full_week
    from workbench.demo import data

    end = dt.datetime(2026, 11, 25, 12, tzinfo=dt.timezone.utc)
    hist = data.generate(end, weekly_volume=20_000)
    week = last_full_week(end)
    churn = hist.predictions[hist.predictions["model_name"] == data.CHURN]
    ts = churn["timestamp"]
    cur = churn[(ts >= pd.Timestamp(week.start)) & (ts < pd.Timestamp(week.end))]
    ref = churn[(ts >= pd.Timestamp(week.start) - pd.Timedelta(weeks=2)) & (ts < pd.Timestamp(week.start))]
    params = SegmentParams()
    kinds = sg.feature_kinds(ref, data.FEATURES, params.bins, params.max_categories)
    res = sg.search(sg.cells_from_frames(cur, ref, kinds, "classification"), "classification", params)
    top = res.segments[0]
    assert top.label == "contract = One year / Two year"
    assert top.share_of_drop > 0.5 and top.reference - top.metric > 0.2


def test_without_a_reference_window_slices_are_compared_with_the_rest_of_the_week():
    rng = np.random.default_rng(12)
    cur = _frame(rng, 20_000, degrade=lambda d: d["plan"] == "pro")
    params = SegmentParams()
    kinds = sg.feature_kinds(cur, FEATURES, params.bins, params.max_categories)
    res = sg.search(sg.cells_from_frames(cur, None, kinds, "classification"), "classification", params)
    assert [s.label for s in res.segments] == ["plan = pro"] and res.segments[0].reference is None
    assert any("no labelled predictions in the reference window" in n for n in res.notes) and not res.problems
    assert "while the rest of the week is at" in res.findings[0].sentence
    row = res.to_frame().set_index("label").loc["plan = pro"]
    lab, rest = cur[cur["plan"] == "pro"], cur[cur["plan"] != "pro"]
    k, kk = int((lab["prediction"] == lab["actual_outcome"]).sum()), int((rest["prediction"] == rest["actual_outcome"]).sum())
    assert row["p"] == pytest.approx(stats.fisher_exact([[k, len(lab) - k], [kk, len(rest) - kk]], alternative="less").pvalue)


def test_plot_draws_reported_segments_and_escapes_dollar_labels():
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(13)
    ref, cur = _frame(rng, 10_000), _frame(rng, 10_000, degrade=lambda d: d["plan"] == "pro")
    for df in (ref, cur):
        df["plan"] = df["plan"].replace({"pro": "$$"})
    res = _run(cur, ref)
    ax = res.plot().axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == r"plan = \$\$" and len(labels) == 10
    ax.figure.canvas.draw()  # mathtext would raise on an unescaped "$$"


def test_intervals_do_not_depend_on_the_processs_string_hashing():
    """Reused and fresh kernels must publish the same intervals: a slice's bootstrap draws come from the
    seed and its label, not from the order a set of slices is visited in (PYTHONHASHSEED differs per
    process)."""
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import datetime as dt, json
        import pandas as pd
        from workbench.config import SegmentParams, last_full_week
        from workbench.demo import data
        from workbench.performance import segments as sg
        end = dt.datetime(2026, 11, 25, 12, tzinfo=dt.timezone.utc)
        hist = data.generate(end, weekly_volume=20_000)
        week = last_full_week(end)
        churn = hist.predictions[hist.predictions["model_name"] == data.CHURN]
        ts = churn["timestamp"]
        cur = churn[(ts >= pd.Timestamp(week.start)) & (ts < pd.Timestamp(week.end))]
        ref = churn[(ts >= pd.Timestamp(week.start) - pd.Timedelta(weeks=2)) & (ts < pd.Timestamp(week.start))]
        params = SegmentParams()
        kinds = sg.feature_kinds(ref, data.FEATURES, params.bins, params.max_categories)
        res = sg.search(sg.cells_from_frames(cur, ref, kinds, "classification"), "classification", params)
        print(json.dumps([[s.label, list(s.ci)] for s in res.segments]
                         + res.slices[["label", "ci_low", "ci_high"]].dropna().values.tolist()))
    """)
    out = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out.append(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                  check=True).stdout)
    assert out[0] and len(json.loads(out[0])) >= 3
    assert out[0] == out[1] == out[2]


def test_overlapping_segments_whose_shares_pass_100_percent_say_so():
    """Two degraded slices that share rows (plan = pro, region = north): each one's share of the drop is
    of the whole drop, so together they pass 100%; a note says why instead of leaving the reader to doubt
    the arithmetic. One degraded slice: no such note."""
    rng = np.random.default_rng(5)
    ref = _frame(rng, 40_000)
    cur = _frame(rng, 40_000, degrade=lambda d: (d["plan"] == "pro") | (d["region"] == "north"))
    res = _run(cur, ref)
    assert {s.label for s in res.segments} >= {"plan = pro", "region = north"}
    total = sum(s.share_of_drop for s in res.segments if s.share_of_drop is not None)
    assert total > 1
    note = [n for n in res.notes if "overlap" in n]
    assert len(note) == 1 and f"add up to {total:.0%}, not 100%" in note[0]
    single = _run(_frame(rng, 40_000, degrade=lambda d: d["plan"] == "pro"), ref)
    assert not [n for n in single.notes if "overlap" in n]
