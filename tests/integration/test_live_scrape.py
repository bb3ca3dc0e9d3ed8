"""The metrics contract end to end: ModelMonitor behind a real /metrics endpoint, scraped live by a
real Prometheus, read back with the review's own queries."""

import datetime as dt
import time
from pathlib import Path

import pytest

from workbench import config, infrastructure
from workbench.demo import prometheus as prom
from workbench.instrumentation import ModelMonitor
from workbench.sources.prometheus import PrometheusSource

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_emitted_metrics_are_what_the_review_queries(tmp_path):
    mon = ModelMonitor()
    server = mon.serve(0)
    port = server.server_port
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                   f"  - job_name: mlops-api\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    state = prom.start(tmp_path / "tsdb", cfg, prom.free_port(0), tmp_path / "log")
    try:
        src = PrometheusSource(state.url, timeout=10)
        for _ in range(100):  # wait for the first scrape, bounded (10 s)
            if not src.query('up{job="mlops-api"}').empty:
                break
            time.sleep(0.1)
        start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        for i in range(240):  # ~6 s of traffic, bounded
            mon.log_prediction("churn-predictor", "1.3.0", 0.02 + (i % 10) * 0.01, success=i % 20 != 0,
                               predicted_class=i % 2)
            mon.log_http_request("POST", "/predict", 500 if i % 20 == 0 else 200, 0.03)
            time.sleep(0.025)
        time.sleep(3)  # a few more scrapes
        end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        window = config.Window(start, end, "live")
        total = src.query('sum(prediction_requests_total{model="churn-predictor"})', at=end)["value"].iloc[0]
        assert total == 240
        cat = config.load_queries(ROOT / "params" / "queries.yaml")
        for name in ("request_rate", "error_ratio", "api_latency", "prediction_latency", "service_up"):
            p = infrastructure.panel(src, name, cat.panels[name], window, "churn-predictor", "5s", "1s")
            assert p.problem == "" and not p.data.empty, (name, p.problem)
        lat = infrastructure.panel(src, "prediction_latency", cat.panels["prediction_latency"], window,
                                   "churn-predictor", "5s", "1s").data["value"].dropna()
        assert 0.05 < lat.max() <= 0.25  # p95 of 20-110 ms observations, bucket-interpolated
        err = src.query(cat.panels["error_ratio"].promql.replace("$rate", "30s"), at=end)["value"].iloc[0]
        assert err == pytest.approx(0.05, abs=0.03)
    finally:
        prom.stop_pid(state.pid)
        server.shutdown()
