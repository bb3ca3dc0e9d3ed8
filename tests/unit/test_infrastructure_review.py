"""infrastructure.review(ctx): one entry, one result shape, partial failure per part; per-model
serving latency against the 1 s threshold; panels drawn from what the catalog declares."""

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from workbench import config, context, infrastructure
from workbench.errors import SourceUnavailable

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[2]


class Prom:
    """Instant answers keyed by a substring of the query; every query containing `fail` is refused."""

    def __init__(self, instant=None, fail=None):
        self.instant, self.fail, self.asked, self.warnings = instant or {}, fail, [], []

    def query(self, promql, at=None):
        self.asked.append(promql)
        if self.fail and self.fail in promql:
            raise SourceUnavailable(f"Prometheus at http://x: query failed: {self.fail}")
        for key, value in self.instant.items():
            if key in promql:
                return value(at) if callable(value) else value
        return pd.DataFrame(columns=["timestamp", "value"])

    def query_range(self, promql, start, end, step=60):
        self.asked.append(promql)
        if self.fail and self.fail in promql:
            raise SourceUnavailable(f"Prometheus at http://x: query failed: {self.fail}")
        return pd.DataFrame(columns=["timestamp", "value"])


def _ctx(prom, model="", tmp_path=None):
    conns = config.Connections("http://x", None, None, demo=False)
    ctx = context.open_review(model, "2026-W47", "env", ROOT / "params", connections=conns, service=not model)
    ctx.__dict__["prometheus"] = prom  # the cached property, answered by the fake
    ctx.defer_problems = True
    return ctx


def _latency(at):
    week = at.isoformat() > "2026-11-23"  # this window or the one before
    return pd.DataFrame({"model": ["a", "b"], "value": [1.4 if week else 0.2, 0.1], "timestamp": [at, at]})


def test_service_latency_has_one_row_per_model_and_flags_the_slow_one():
    ctx = _ctx(Prom({"prediction_duration_seconds_bucket": _latency}))
    result = infrastructure.serving_latency(ctx)
    lat = result.to_frame().set_index("model")
    assert list(lat.index) == ["a", "b"]
    assert lat.loc["a", "p95_seconds"] == 1.4 and lat.loc["a", "previous_p95_seconds"] == 0.2
    assert lat.loc["a", "status"] == "above 1 s" and lat.loc["b", "status"] == "ok"
    (f,) = result.findings
    assert f.severity == "warning" and f.anchor == "latency-a" and "above the 1 s threshold" in f.sentence
    assert 'model!=""' in ctx.prometheus.asked[0]  # the service selects every model


def test_a_models_own_latency_row_links_to_its_section():
    ctx = _ctx(Prom({'model="b"': _latency}), model="churn-predictor")
    ctx.prometheus.instant = {'model="churn-predictor"': lambda at: pd.DataFrame(
        {"model": ["churn-predictor"], "value": [0.3], "timestamp": [at]})}
    lat = infrastructure.serving_latency(ctx)
    assert lat.to_frame()["model"].tolist() == ["churn-predictor"] and lat.to_frame()["status"].tolist() == ["ok"]
    assert lat.findings == [] and lat.headline == {"p95_latency_seconds": 0.3}
    ctx.prometheus.instant = {}
    assert infrastructure.serving_latency(ctx).to_frame().empty  # nothing in Prometheus: no row, no finding


def test_review_keeps_every_part_that_could_be_computed():
    """The ALERTS query fails: the alert replay is not computed and named with its reason; every other
    part is there (the fake answers nothing else, so those parts name their empty queries too)."""
    ctx = _ctx(Prom({"prediction_duration_seconds_bucket": _latency}, fail="ALERTS"))
    rev = infrastructure.review(ctx)
    assert isinstance(rev, infrastructure.ServiceReview)
    assert rev.alerts is None
    assert "alert replay: Prometheus at http://x: query failed: ALERTS" in rev.problems
    assert rev.problems == [f"{p['section']}: {p['problem']}" for p in ctx.problems]
    assert rev.slos is not None and rev.infra is not None and rev.outages is not None
    assert rev.latency is not None and len(rev.latency.to_frame()) == 2
    assert rev.coverage is not None and set(rev.panels) == set(ctx.queries.panels)
    assert ctx.level == "warning"  # the slow model warns; nothing pages
    assert [f for f in rev.findings if f.anchor == "latency-a"]
    assert all(f in ctx.findings for f in rev.findings)


def test_review_without_prometheus_names_every_part():
    conns = config.Connections(None, None, None, demo=False)
    ctx = context.open_review("", "2026-W47", "env", ROOT / "params", connections=conns, service=True)
    ctx.defer_problems = True
    rev = infrastructure.review(ctx)
    assert [p.split(":")[0] for p in rev.problems] == ["SLOs", "alert replay", "infrastructure", "availability",
                                                         "outages", "serving latency per model"]
    assert rev.infra is None and rev.coverage is None and rev.panels == {} and rev.findings == []
    assert infrastructure.draw_panels(ctx, rev.infra, "traffic") is None
    assert infrastructure.timeline_series(rev.infra) == {}


def test_panels_carry_section_threshold_and_timeline_from_the_catalog():
    ctx = _ctx(Prom())
    rep = infrastructure.run(ctx)
    assert [n for n, p in rep.panels.items() if p.timeline] == ["error_ratio", "prediction_latency"]
    assert infrastructure.thresholds(ctx, rep) == {"error_ratio": 0.05, "prediction_latency": 1.0}
    assert {p.section for p in rep.panels.values()} == {"traffic", "resources"}
    series = infrastructure.timeline_series(rep)
    assert list(series) == ["/predict error ratio (ratio)", "all models' prediction latency p95 (seconds)"]


def test_a_hostile_model_label_is_shown_as_text():
    hostile = "<img src=x onerror=alert(1)>"
    ctx = _ctx(Prom({"prediction_duration_seconds_bucket": lambda at: pd.DataFrame(
        {"model": [hostile], "value": [2.0], "timestamp": [at]})}))
    lat = infrastructure.serving_latency(ctx)
    html = infrastructure.latency_table(lat).to_html()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert lat.findings[0].anchor == "latency--img-src-x-onerror-alert-1--"
