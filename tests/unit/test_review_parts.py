"""Logging, A/B conversions, CBPE by period and the performance review over stand-in sources.

Numbers are checked against scikit-learn, statsmodels-free hand formulas or counts, never the code."""

import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from workbench import config, logs
from workbench.performance import abtest, cbpe, core as performance, plots
from workbench.config import ModelSpec
from workbench.errors import InsufficientData, SourceUnavailable
from workbench.sources.base import PredictionSource

CATALOG = config.load_queries(Path(__file__).resolve().parents[2] / "params" / "queries.yaml")

matplotlib.use("Agg")
WEEK = config.iso_week("2026-W47")


# --- logs ----------------------------------------------------------------------------------------

def _record(**extra):
    rec = logging.LogRecord("workbench.report", logging.WARNING, "report.py", 12, "ran %s", ("ok",), None, func="run")
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_json_lines_carry_message_level_and_context():
    line = json.loads(logs.JSONFormatter().format(_record(model_name="m1", seconds=1.5)))
    assert line["message"] == "ran ok" and line["level"] == "WARNING" and line["logger"] == "workbench.report"
    assert line["model_name"] == "m1" and line["seconds"] == 1.5 and line["line"] == 12
    assert line["timestamp"].endswith("+00:00")


def test_json_line_includes_the_exception():
    try:
        raise ValueError("bad value")
    except ValueError:
        import sys

        rec = _record()
        rec.exc_info = sys.exc_info()
    line = logs.JSONFormatter().format(rec)
    assert "ValueError: bad value" in " ".join(str(v) for v in json.loads(line).values())


def test_text_lines_are_readable():
    text = logs.TextFormatter().format(_record(model_name="m1"))
    assert text.endswith("WARNING: ran ok  model_name=m1")
    info = _record()
    info.levelno = logging.INFO
    assert "WARNING" not in logs.TextFormatter().format(info)


@pytest.mark.parametrize("fmt,check", [("json", lambda s: json.loads(s)["message"] == "hello"),
                                       ("text", lambda s: s.rstrip().endswith("hello"))])
def test_setup_writes_one_line_per_record_to_stderr(monkeypatch, fmt, check):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    logs.setup(fmt)
    logging.getLogger("workbench.test").info("hello")
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and check(lines[0])
    logs.setup("auto")  # not a terminal: JSON
    assert isinstance(logging.getLogger("workbench").handlers[0].formatter, logs.JSONFormatter)


# --- A/B -----------------------------------------------------------------------------------------

def test_bootstrap_auc_difference_finds_the_better_variant(rng):
    n = 2000
    y_a, y_b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    s_a = y_a * 0.3 + rng.normal(0, 0.5, n)  # weak model
    s_b = y_b * 1.5 + rng.normal(0, 0.5, n)  # strong model
    r = abtest.bootstrap_difference(s_a, y_a, s_b, y_b, resamples=300, names=("A", "B"))
    assert r["auc_A"] == pytest.approx(skm.roc_auc_score(y_a, s_a))
    assert r["auc_B"] == pytest.approx(skm.roc_auc_score(y_b, s_b))
    assert r["ci_low"] < r["difference"] < r["ci_high"] and r["ci_low"] > 0
    assert r["verdict"].startswith("B is better")
    one = abtest.bootstrap_difference(s_a, np.ones(n), s_b, y_b, resamples=50)
    assert one["verdict"] == "no decision yet: AUC undefined (one class)"
    assert np.isnan(abtest.mde_proportion(0.5, 1, 100)) and np.isnan(abtest.mde_proportion(1.0, 100, 100))


def test_two_proportions_edge_cases():
    assert abtest.two_proportions(0, 0, 5, 10)["verdict"] == "no decision yet: not enough data"
    all_success = abtest.two_proportions(100, 100, 100, 100)
    assert all_success["p_value"] == 1.0 and all_success["difference"] == 0


def test_equal_variants_with_power_say_no_difference():
    r = abtest.two_proportions(40_000, 50_000, 40_000, 50_000, min_effect=0.02)
    assert r["verdict"].startswith("no difference ≥") and r["p_value"] == pytest.approx(1.0)


class FakeProm:
    def __init__(self, frame):
        self.frame, self.asked = frame, []

    def query(self, q, at=None):
        self.asked.append(q)
        return self.frame


class FakeStore(PredictionSource):
    def __init__(self, df):
        self.df = df

    def read(self, model, window, features=(), core=None):
        keys = {"variant": "variant", "prediction": "prediction", "version": "model_version", "id": "prediction_id",
                "timestamp": "timestamp", "probability": "probability", "outcome": "actual_outcome",
                "outcome_timestamp": "outcome_timestamp"}
        cols = [keys[k] for k in core] if core is not None else list(self.df.columns)
        df = self.df
        if "timestamp" in df:  # as the store: the rows of the window only
            df = df[(df["timestamp"] >= window.start) & (df["timestamp"] < window.end)]
        return df[[c for c in cols if c in df]]

    def describe(self):
        return "prediction DB at sqlite:///x"

    def newest(self, model):
        return None

    def models(self):
        return ["m"]

    def feature_columns(self):
        return []


def test_conversions_per_variant_against_a_hand_z_test():
    exposed = pd.DataFrame({"variant": ["A"] * 1000 + ["B"] * 1000 + ["A"] * 50, "prediction": [1] * 2000 + [0] * 50})
    conv = pd.DataFrame({"variant": ["A", "B"], "value": [200.2, 260.0]})
    ctx = SimpleNamespace(window=WEEK, model=ModelSpec(name="m", type="classification"),
                          prometheus=FakeProm(conv), store=FakeStore(exposed), queries=CATALOG)
    r = abtest.conversions(ctx, "exp-1").iloc[0]
    assert (r["conversions_A"], r["exposed_A"], r["conversions_B"], r["exposed_B"]) == (200, 1000, 260, 1000)
    pool = 460 / 2000
    z = (0.26 - 0.20) / np.sqrt(pool * (1 - pool) * (2 / 1000))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert 'experiment="exp-1"' in ctx.prometheus.asked[0] and "[604800s]" in ctx.prometheus.asked[0]
    ctx.prometheus = FakeProm(pd.DataFrame(columns=["timestamp", "value"]))
    with pytest.raises(InsufficientData, match="no ab_test_conversions for experiment 'exp-1' in 2026-W47"):
        abtest.conversions(ctx, "exp-1")


# --- CBPE by period --------------------------------------------------------------------------------

def _frame(rng, n, start, versions=("1",)):
    prob = rng.random(n)
    y = (rng.random(n) < prob).astype(float)  # calibrated
    ts = start + pd.to_timedelta(np.sort(rng.uniform(0, 2 * 86400, n)), unit="s")
    return pd.DataFrame({"model_version": rng.choice(list(versions), n), "timestamp": ts, "probability": prob,
                         "prediction": (prob >= 0.5).astype(float), "actual_outcome": y})


def test_cbpe_by_period_puts_realised_metrics_beside_the_estimates(rng):
    history = _frame(rng, 4000, WEEK.start - pd.Timedelta(days=7))
    window = _frame(rng, 2000, WEEK.start)
    window.loc[window.index[::2], "actual_outcome"] = np.nan  # half the labels have not arrived
    result = cbpe.run(window, history)
    out = result.to_frame()
    acc = out[out["metric"] == "accuracy"].set_index("period")
    assert len(acc) == 2 and (acc["label_coverage"].between(0.4, 0.6)).all()
    day = window[window["timestamp"].dt.floor("D") == acc.index[0]].dropna(subset=["actual_outcome"])
    assert acc["realised"].iloc[0] == pytest.approx(skm.accuracy_score(day["actual_outcome"], day["prediction"]))
    assert (acc["estimated"] - acc["realised"]).abs().max() < 0.1


def test_cbpe_run_says_what_it_cannot_use(rng):
    window = _frame(rng, 100, WEEK.start).assign(probability=np.nan)
    with pytest.raises(InsufficientData, match="CBPE needs probabilities"):
        cbpe.run(window, window)
    few = cbpe.estimate_by_period(_frame(rng, 100, WEEK.start), _frame(rng, 50, WEEK.start))
    assert few.empty  # fewer than 100 labelled history rows: no calibration, no estimate


# --- the performance review over stand-in sources -----------------------------------------------------

class FakeRegistry:
    def __init__(self, metrics=None, fail=False):
        self.metrics, self.fail = metrics or {}, fail

    def training_metrics(self, model, version):
        if self.fail:
            raise SourceUnavailable("MLflow at file:///x is unreachable")
        return self.metrics


def _ctx(rng, registry):
    # unique ids: the store's repeated_ids (PredictionSource's default) would leave repeats out
    df = _frame(rng, 3000, WEEK.start - pd.Timedelta(days=14)).assign(prediction_id=[f"p{i}" for i in range(3000)],
                                                                      variant=None)
    df = pd.concat([df, _frame(rng, 1500, WEEK.start).assign(prediction_id=[f"q{i}" for i in range(1500)],
                                                              variant=None)], ignore_index=True)
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                 "performance": {"bootstrap_resamples": 50}})
    return SimpleNamespace(model=params.models[0], window=WEEK, params=params, store=FakeStore(df),
                           registry=registry, serving_version=lambda: "1", data=df, has=lambda s: s == "mlflow")


def test_review_compares_with_the_baseline_and_flags_a_drop(rng):
    ctx = _ctx(rng, FakeRegistry({"accuracy": 0.99, "roc_auc": 0.75}))
    r = performance.review(ctx)
    win = ctx.data[ctx.data["timestamp"] >= WEEK.start]
    assert r.summary.n_predictions == len(win)
    assert r.summary.metrics["accuracy"] == pytest.approx(skm.accuracy_score(win["actual_outcome"], win["prediction"]))
    assert r.status.startswith("ALERT: accuracy:")  # a calibrated random model is far below 0.99
    cm = r.confusion_matrix()
    np.testing.assert_array_equal(cm.to_numpy(), skm.confusion_matrix(win["actual_outcome"], win["prediction"]))
    assert len(r.history) == len(ctx.data) - len(win) and r.versions == ["1"]


def test_review_without_baseline_records_the_problem(rng):
    r = performance.review(_ctx(rng, FakeRegistry(fail=True)))
    assert r.problems == ["baseline: MLflow at file:///x is unreachable"]


def test_review_of_an_empty_window_is_insufficient_data(rng):
    ctx = _ctx(rng, FakeRegistry())
    ctx.store = FakeStore(ctx.data.iloc[:0])
    with pytest.raises(InsufficientData, match="no predictions of 'm' in 2026-W47 in the prediction DB"):
        performance.review(ctx)


def test_prometheus_class_counts_flag_a_logging_gap():
    db = pd.DataFrame({"prediction": [0.0] * 90 + [1.0] * 10})
    prom = pd.DataFrame({"class": ["0", "1"], "value": [90.4, 20.0]})
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}]})
    ctx = SimpleNamespace(window=WEEK, model=params.models[0], params=params, prometheus=FakeProm(prom),
                          store=FakeStore(db), queries=CATALOG)
    out = performance.prometheus_class_counts(ctx).to_frame().set_index("class")
    assert out.loc["0", "difference"] == 0 and out.loc["0", "flag"] == ""
    assert out.loc["1", "difference"] == -10 and "check prediction logging" in out.loc["1", "flag"]


# --- plots -------------------------------------------------------------------------------------------

def test_performance_plots_draw_what_they_are_given(rng):
    df = _frame(rng, 500, WEEK.start)
    curve, ece = performance.calibration(df)
    fig = plots.reliability(curve, ece)
    assert len(fig.axes[0].lines) >= 1
    t = performance.trend(df, ModelSpec(name="m", type="classification"))
    fig = plots.metric_trend(t, ["accuracy", "roc_auc"], {"accuracy": 0.75})
    assert len(fig.axes) >= 1
    cm = pd.DataFrame([[5, 1], [2, 7]], index=["actual 0", "actual 1"], columns=["predicted 0", "predicted 1"])
    assert plots.confusion(cm).axes[0].get_title().startswith("Confusion matrix")
    reg = df.assign(actual_outcome=rng.normal(10, 2, 500), prediction=rng.normal(10, 2, 500))
    assert len(plots.residuals(reg).axes) == 2
    est = cbpe.estimate_by_period(df, _frame(rng, 1000, WEEK.start - pd.Timedelta(days=7)))
    assert plots.estimated_vs_realised(est) is not None
    from workbench.performance import labels

    lab = df.assign(outcome_timestamp=df["timestamp"] + pd.Timedelta(hours=5))
    assert plots.label_coverage(labels.coverage_by_day(lab), labels.delay_hours(lab)) is not None


def test_weeks_before_and_window_are_counted_apart_as_if_together(rng):
    """The trend and the label coverage of the weeks before the window and of the window, computed
    per frame (no five-week frame is built), equal those of the two frames put together."""
    before = _frame(rng, 3000, WEEK.start - pd.Timedelta(days=14), versions=("1", "2"))
    window = _frame(rng, 2000, WEEK.start, versions=("2",))
    window.loc[window.index[::3], "actual_outcome"] = np.nan
    both = pd.concat([before, window], ignore_index=True)
    spec = ModelSpec(name="m", type="classification")
    pd.testing.assert_frame_equal(performance.trend_of([before, window], spec), performance.trend(both, spec))
    want = both.groupby(both["timestamp"].dt.floor("D")).agg(predictions=("timestamp", "size"),
                                                            labelled=("actual_outcome", "count"))
    from workbench.performance import labels

    got = labels.coverage_by_day(before, window).set_index("period")
    assert got[["predictions", "labelled"]].to_dict() == want.to_dict()
    assert np.allclose(got["label_coverage"], want["labelled"] / want["predictions"])
    assert len(got) == 4  # two days before, two days in the window
    assert labels.coverage_by_day(before.iloc[:0], window.iloc[:0]).empty


def test_review_reads_the_window_and_fewer_columns_of_the_weeks_before(rng):
    ctx = _ctx(rng, FakeRegistry({"accuracy": 0.9}))
    r = performance.review(ctx)
    assert (r.history["timestamp"] < WEEK.start).all() and (r.window_predictions["timestamp"] >= WEEK.start).all()
    assert set(r.history.columns) == {"model_version", "timestamp", "prediction", "probability", "actual_outcome"}
    assert "variant" in r.window_predictions
