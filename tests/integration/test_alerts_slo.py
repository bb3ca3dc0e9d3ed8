"""Alert replay and SLO burn against the real Prometheus over the small backfilled history."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import config
from workbench.infrastructure import alerts, slo
from workbench.demo import prometheus as prom

ROOT = Path(__file__).resolve().parents[2]
WEEK = config.iso_week("2026-W47")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def episodes(prometheus):
    rules = config.load_alert_rules(ROOT / "params" / "alerts.yaml")
    eps, problems = alerts.replay(prometheus, rules, WEEK)
    assert problems == []
    return eps


def _overlapping(eps, name, a, b):
    e = eps[eps["alert"] == name]
    return e[(e["start"] < b) & (e["end"] > a)]


def test_latency_incident_replays_as_high_prediction_latency(episodes, small_history):
    a, b = small_history.incidents.latency
    hit = _overlapping(episodes, "HighPredictionLatency", a, b + pd.Timedelta(minutes=10))
    assert len(hit) >= 1
    # fires once the 5m rate window and the 2m `for` have passed, resolves within minutes of the end
    assert a + pd.Timedelta(minutes=2) <= hit["start"].min() <= a + pd.Timedelta(minutes=9)
    assert b <= hit["end"].max() <= b + pd.Timedelta(minutes=8)
    elsewhere = episodes[(episodes["alert"] == "HighPredictionLatency") & ((episodes["end"] < a) | (episodes["start"] > b + pd.Timedelta(minutes=10)))]
    assert elsewhere.empty


def test_error_spike_replays_as_high_error_rate(episodes, small_history):
    a, b = small_history.incidents.errors
    hit = _overlapping(episodes, "HighErrorRate", a, b + pd.Timedelta(minutes=10))
    assert len(hit) >= 1 and hit["start"].min() >= a + pd.Timedelta(minutes=5)  # for: 5m
    assert episodes[(episodes["alert"] == "HighErrorRate") & (episodes["start"] > b + pd.Timedelta(minutes=10))].empty


def test_outage_replays_as_service_down_with_its_length(episodes, small_history):
    a, b = small_history.incidents.outages["mlflow"]
    down = episodes[(episodes["alert"] == "ServiceDown") & episodes["labels"].str.contains("job=mlflow")]
    assert len(down) == 1
    # pending for 1m, then firing until one interval after the last failed scrape
    assert abs(down["start"].iloc[0] - (a + pd.Timedelta(minutes=1))) <= pd.Timedelta(minutes=1)
    assert abs(down["end"].iloc[0] - b) <= pd.Timedelta(minutes=1)


def test_for_semantics_drop_short_conditions(prometheus, small_history):
    a, b = small_history.incidents.outages["mlflow"]  # 20 minutes down
    short = alerts.replay_rule(prometheus, "T", "up == 0", 30 * 60, 60, WEEK)  # for: 30m
    assert short.empty
    longer = alerts.replay_rule(prometheus, "T", 'up{job="mlflow"} == 0', 5 * 60, 60, WEEK)
    assert len(longer) == 1 and longer["pending_since"].iloc[0] + pd.Timedelta(minutes=5) == longer["start"].iloc[0]


def test_noisy_rules_are_listed():
    rules = config.AlertRules.model_validate({"groups": [{"name": "g", "rules": [
        {"alert": "Flappy", "expr": "x", "for": "2m"}, {"alert": "Calm", "expr": "y", "for": "2m"}]}]})
    t = pd.Timestamp("2026-11-16", tz="UTC")
    eps = pd.DataFrame([{"alert": "Flappy", "severity": "", "labels": "", "pending_since": t + pd.Timedelta(hours=i),
                         "start": t + pd.Timedelta(hours=i, minutes=2), "end": t + pd.Timedelta(hours=i, minutes=2, seconds=30),
                         "duration": pd.Timedelta(seconds=30)} for i in range(12)]
                       + [{"alert": "Calm", "severity": "", "labels": "", "pending_since": t, "start": t + pd.Timedelta(minutes=2),
                           "end": t + pd.Timedelta(hours=1), "duration": pd.Timedelta(minutes=58)}])
    out = alerts.noisy(eps, rules, max_firings=10).set_index("alert")
    assert list(out.index) == ["Flappy"] and "fired 12 times" in out.loc["Flappy", "reasons"]


def test_slo_status_and_burn_pages_on_the_error_spike(prometheus, small_history):
    slos = config.load_slos(ROOT / "params" / "slos.yaml")
    st = slo.status(prometheus, slos, WEEK)
    week = st[st["window"] == "2026-W47"].set_index("objective")
    avail = week.loc["/predict availability (non-5xx responses)"]
    # the SLI is good / total: check it against the raw counters
    good = prometheus.query('sum(increase(http_requests_total{endpoint="/predict",status!~"5.."}[604800s]))', at=WEEK.end)
    total = prometheus.query('sum(increase(http_requests_total{endpoint="/predict"}[604800s]))', at=WEEK.end)
    assert avail["sli"] == pytest.approx(good["value"].iloc[0] / total["value"].iloc[0])
    assert avail["budget_consumed"] == pytest.approx((1 - avail["sli"]) / 0.005)
    # the backfilled history is 10 days long: the rolling 28 days say how few of them have data
    rolling = st[st["window"] == "rolling 28d"].set_index("objective").loc["/predict availability (non-5xx responses)"]
    start = pd.Timestamp(small_history.predictions["timestamp"].min())
    covered = (pd.Timestamp(WEEK.end) - start).total_seconds() / 86400
    cov = rolling["data_coverage"]
    assert cov.startswith("data covers ") and " of 28 days (from " in cov and rolling["note"] == "", cov
    assert float(cov.split()[2]) == pytest.approx(covered, abs=0.1)
    burn = slo.burn_rates(prometheus, slos, WEEK, config.load_queries(ROOT / "params" / "queries.yaml"))
    pages = slo.burn_alerts(burn, slos)
    a, b = small_history.incidents.errors
    spike = pages[(pages["objective"] == "predict-availability") & (pages["severity"] == "page")
                  & (pages["start"] < b + pd.Timedelta(minutes=10)) & (pages["end"] > a)]
    assert len(spike) >= 1


def test_health_fails_clearly_with_prometheus_stopped(tmp_path):
    dead = f"http://127.0.0.1:{prom.free_port(0)}"
    env = {**os.environ, "WORKBENCH_PROMETHEUS_URL": dead, "WORKBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    (tmp_path / "x.db").write_bytes(b"")
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "health"], env=env, capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 1
    assert "prometheus: unreachable" in p.stdout and "Overall Health: UNHEALTHY" in p.stdout


def test_availability_per_job_matches_the_outage(prometheus, small_history):
    secs = int((WEEK.end - WEEK.start).total_seconds())
    up = prometheus.query(f"avg by (job) (avg_over_time(up[{secs}s]))", at=WEEK.end).set_index("job")["value"]
    a, b = small_history.incidents.outages["mlflow"]
    assert up["mlflow"] == pytest.approx(1 - (b - a).total_seconds() / secs, abs=60 / secs)
    assert up["mlops-api"] == 1.0
