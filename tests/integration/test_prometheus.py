"""The Prometheus reader and the catalog's PromQL against a real server over a backfilled TSDB."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import config, infrastructure
from workbench.demo import prometheus as prom
from workbench.errors import DemoError, SourceUnavailable
from workbench.sources.prometheus import PrometheusSource

ROOT = Path(__file__).resolve().parents[2]
WEEK = config.iso_week("2026-W47")
pytestmark = pytest.mark.integration


def test_seven_days_at_15s_is_split_under_the_limit(prometheus, small_history):
    df = prometheus.query_range('sum(prediction_requests_total{status="success"})', WEEK.start, WEEK.end, 15)
    # 7 days at 15 s = 40,321 points: a single request would be refused with a 400
    assert len(df) == 7 * 86400 // 15 + 1
    assert df["timestamp"].is_monotonic_increasing and df["timestamp"].is_unique
    assert (df["timestamp"].diff().dropna() == pd.Timedelta(seconds=15)).all()


def test_request_counts_match_the_prediction_log(prometheus, small_history):
    p = small_history.predictions
    first = p["timestamp"].min().ceil("h")
    at = WEEK.end
    logged = int(((p["timestamp"] >= first) & (p["timestamp"] < at)).sum())
    # counters are sampled at the end of each minute; compare the exact counter values at both ends
    q = 'sum(prediction_requests_total{status="success"})'
    v_end = prometheus.query(q, at=at - dt.timedelta(seconds=1))["value"].iloc[0]
    v_start = prometheus.query(q, at=first - dt.timedelta(seconds=1))["value"].iloc[0]
    assert v_end - v_start == logged


def test_catalog_summary_and_panels_return_data(prometheus):
    cat = config.load_queries(ROOT / "params" / "queries.yaml")
    rep = infrastructure.collect(prometheus, cat, WEEK, "churn-predictor", "5m", "60s")
    assert rep.summary["note"].eq("").all(), rep.summary[["name", "note"]]
    for name, panel in rep.panels.items():
        assert panel.problem == "" and not panel.data.empty, name
    assert set(rep.panels["service_up"].data["job"]) == {"mlops-api", "mlflow", "postgres-exporter", "redis-exporter"}
    assert set(rep.panels["api_latency"].data["quantile"]) == {"p50", "p95", "p99"}


def test_latency_incident_and_error_spike_are_visible(prometheus, small_history):
    cat = config.load_queries(ROOT / "params" / "queries.yaml")
    inc = small_history.incidents
    lat = infrastructure.panel(prometheus, "prediction_latency", cat.panels["prediction_latency"], WEEK,
                               "churn-predictor", "5m", "60s").data
    during = lat[(lat["timestamp"] > inc.latency[0] + dt.timedelta(minutes=5)) & (lat["timestamp"] <= inc.latency[1])]
    outside = lat[lat["timestamp"] < inc.latency[0] - dt.timedelta(hours=1)]
    assert during["value"].min() > 1.0  # the guide's HighPredictionLatency threshold
    assert outside["value"].median() < 0.2
    spike = cat.panels["error_ratio"].promql.replace("$rate", "30m")
    assert prometheus.query(spike, at=inc.errors[1])["value"].iloc[0] > 0.05  # the guide's HighErrorRate threshold
    assert prometheus.query(spike, at=inc.errors[0] - dt.timedelta(hours=2))["value"].iloc[0] < 0.02


def test_outage_length_matches_the_injected_one(prometheus, small_history):
    a, b = small_history.incidents.outages["mlflow"]
    up = prometheus.query_range("min by (job) (up)", WEEK.start, WEEK.end, 60)
    out = infrastructure.outages(up)
    out = out[out["job"] == "mlflow"]
    assert len(out) == 1
    # sampled once a minute, so the measured outage is exact to one step
    assert abs(out["duration"].iloc[0] - (b - a)) <= pd.Timedelta(minutes=1)
    assert abs(out["start"].iloc[0] - a) <= pd.Timedelta(minutes=1)


def test_nan_values_are_parsed(prometheus):
    df = prometheus.query("0/0", at=WEEK.end)
    assert np.isnan(df["value"].iloc[0])
    df = prometheus.query("1/0", at=WEEK.end)
    assert df["value"].iloc[0] == np.inf


def test_bad_query_names_query_and_server(prometheus):
    with pytest.raises(SourceUnavailable) as e:
        prometheus.query("sum(", at=WEEK.end)
    assert "sum(" in str(e.value) and prometheus.url in str(e.value)


def test_unreachable_server_is_a_clear_error():
    port = prom.free_port(0)
    src = PrometheusSource(f"http://user:hunter2@127.0.0.1:{port}", timeout=2)
    with pytest.raises(SourceUnavailable) as e:
        src.query("up")
    assert f"127.0.0.1:{port}" in str(e.value) and "'up'" in str(e.value)
    assert "hunter2" not in str(e.value)


def test_alert_rules_pass_promtool_and_a_broken_rule_is_named(tmp_path):
    prom.check_rules(ROOT / "params" / "alerts.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: histogram_quantile(0.95,\n")
    with pytest.raises(DemoError, match="bad.yaml"):
        prom.check_rules(bad)


def test_guides_uncorrected_latency_query_selects_nothing(prometheus):
    """Why the guide's expression was corrected: the bare histogram name has no series."""
    assert prometheus.query("histogram_quantile(0.95, prediction_duration_seconds)", at=WEEK.end).empty
