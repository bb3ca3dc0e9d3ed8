"""The week page and the index over all periods, at the HTML level, from stored status.json only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench import pages, weekpage
from workbench.report import plan

HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
HOSTILE_CATEGORY = "</script><script>alert(1)</script>"


def _result(model, notebook, level, findings, status="ok", headline=None, html=None):
    return {"notebook": notebook, "model": model, "status": status, "level": level, "findings": findings,
            "headline": headline or {}, "problems": [] if status == "ok" else ["alert replay: Prometheus timed out"],
            "html": html if html is not None else f"{model}/{notebook}.html", "ipynb": "", "seconds": 1.0,
            "findings_file": ""}


def _f(sev, subject, sentence, kind="other", anchor=""):
    return {"severity": sev, "subject": subject, "sentence": sentence, "kind": kind, "anchor": anchor, "value": None,
            "extra": {}}


def _week(accuracy_alert=True):
    churn_perf = [_f("alert", "accuracy", "accuracy 0.725 [0.722, 0.728] is below 0.75.", "metric", "headline")] \
        if accuracy_alert else []
    return {"schema": 1, "period": "2026-W47", "generated": "2026-11-23 06:00 UTC", "results": [
        _result("churn-predictor", "01-drift-review", "warning",
                [_f("info", "dataset", "No dataset drift, but 3 of 9 features drifted.", "dataset", "summary"),
                 _f("warning", HOSTILE_CATEGORY, f"contract: new category {HOSTILE_CATEGORY}", "data_quality",
                    "data-quality"),
                 _f("warning", "tenure", "tenure drifted: ks p < 0.001 < threshold 0.05.", "feature", "feature-tenure")],
                headline={"drift_share": 0.333, "series": {"drift_share": {"2026-11-16": 0.1, "2026-11-18": 0.44}}}),
        _result("churn-predictor", "02-performance-review", "alert" if accuracy_alert else "ok", churn_perf,
                headline={"metric": "accuracy", "accuracy": 0.725,
                          "series": {"accuracy": {"2026-11-16": 0.83, "2026-11-19": 0.69}}}),
        _result("revenue-predictor", "02-performance-review", "alert",
                [_f("alert", "mae", "mae 12.3 [12, 12.6] 23.0% above the 2.0.0 baseline 10.", "metric", "headline")],
                headline={"metric": "mae", "mae": 12.3}),
        _result("service", "03-infrastructure-review", "alert",
                [_f("alert", "mlflow", "Outage: mlflow was down from Wed 2026-11-18 03:00 UTC for 45 min.", "outage",
                    "outages"),
                 _f("info", "avail", "SLO met — /predict availability: 61% of the rolling 28d budget left.", "slo",
                    "slos"),
                 _f("warning", HOSTILE_LABEL, f"HighLatency (job={HOSTILE_LABEL}) fired for 51 min.", "alert_rule",
                    "alerts")],
                status="incomplete", html="service/03-infrastructure-review.incomplete.html",
                headline={"pages": 2, "episodes": [
                    {"kind": "page", "subject": "predict-availability", "start": "2026-11-18T14:02:00+00:00",
                     "end": "2026-11-18T14:53:00+00:00"},
                    {"kind": "alert", "subject": f"HighLatency {HOSTILE_LABEL}", "severity": "warning",
                     "start": "2026-11-19T10:00:00+00:00", "end": "2026-11-19T10:51:00+00:00"}]}),
    ]}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    for week, st in (("2026-W46", _week(accuracy_alert=False)), ("2026-W47", _week())):
        (out / week).mkdir(parents=True)
        st = json.loads(json.dumps(st).replace("2026-W47", week))
        (out / week / "status.json").write_text(json.dumps(st))
    (out / "2026-W46" / "churn-predictor").mkdir()
    (out / "2026-W47" / "churn-predictor").mkdir()
    (out / "2026-W47" / "churn-predictor" / "01-drift-review.evidently.html").write_text("ev")
    return out


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_week_page_headline_matrix_and_links(out):
    page = weekpage.write_week(out, "2026-W47").read_text()
    head = page[:page.index("The week on one time axis")]
    text = _text(head)
    assert "▲ ALERT 3 alert(s), 3 warning(s) in churn-predictor, revenue-predictor, service" in text
    assert "reports run: 1 incomplete, 3 ok" in text  # run status apart from the level
    # cells: colour AND a word; findings as sentences linking to the exact section
    assert 'href="churn-predictor/02-performance-review.html#headline"' in head
    assert 'href="churn-predictor/01-drift-review.html#feature-tenure"' in head
    assert 'href="service/03-infrastructure-review.incomplete.html#outages"' in head
    assert "accuracy 0.725 [0.722, 0.728] is below 0.75." in text
    assert "Outage: mlflow was down from Wed 2026-11-18 03:00 UTC for 45 min." in text
    assert "61% of the rolling 28d budget left" in text  # SLO info is shown
    assert "run incomplete" in text
    # in a cell: alerts and warnings about metrics, SLOs and outages, then the dataset verdict and the
    # SLOs' budget left, then the other alerts and warnings
    assert text.index("No dataset drift") < text.index("tenure drifted")
    assert text.index("Outage: mlflow") < text.index("61% of the rolling 28d budget left") < text.index("HighLatency")
    assert "churn-predictor/01-drift-review.evidently.html" in page
    assert 'href="../index.html"' in page and 'href="../2026-W46/index.html"' in page


def test_week_page_escapes_hostile_values_and_loads_nothing(out):
    page = weekpage.write_week(out, "2026-W47").read_text()
    assert HOSTILE_LABEL not in page and HOSTILE_CATEGORY not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and not re.search(r"(src|href)=['\"]?(https?:)?//", page)


def test_new_and_resolved_since_last_week(out):
    page = weekpage.write_week(out, "2026-W47").read_text()
    section = _text(page[page.index("Since last week"):page.index("<h2>Reports")])
    new = section[section.index("New"):section.index("Resolved")]
    assert "churn-predictor · performance: accuracy 0.725" in new
    assert "tenure drifted" not in new  # it was there last week too
    assert "Resolved none" in section
    back = pages.render_week(weekpage.week_page(json.loads((out / "2026-W46" / "status.json").read_text()),
                                                __import__("workbench.config").config.iso_week("2026-W46"), out,
                                                json.loads((out / "2026-W47" / "status.json").read_text())))
    resolved = _text(back[back.index("Resolved"):back.index("<h2>Reports")])
    assert "accuracy 0.725" in resolved


def test_timeline_draws_the_stored_series_and_episodes_on_one_axis(out):
    from workbench import config

    svg = pages.render_timeline(weekpage.timeline(json.loads((out / "2026-W47" / "status.json").read_text()),
                                                  config.iso_week("2026-W47"), width=1100))
    assert svg.startswith("<svg") and "Mon 16 Nov" in svg and "Sun 22 Nov" in svg
    assert "drift share" in svg and "realised accuracy per day" in svg
    assert "realised MAE per day" in svg and "realised mae" not in svg  # the metric as the findings name it
    lanes = weekpage.timeline(json.loads((out / "2026-W47" / "status.json").read_text()), config.iso_week("2026-W47"),
                              width=1100).lanes
    # a lane's label sits in the 230 px gutter at ~6.5 px a character: 'drift share (share of features drifted,
    # 0–1)' was cut before its closing parenthesis
    assert lanes and all(len(lane.title) <= 30 for lane in lanes), [lane.title for lane in lanes]
    assert "0.44" in svg and "0.69" in svg  # the stored daily values are labelled
    # the page's rect starts at Wed 14:02: 2 days + 14h02 of 7 days along the 850 px axis after 230 px
    x = 230 + 850 * ((2 * 24 * 60 + 14 * 60 + 2) / (7 * 24 * 60))
    m = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="12" fill="#b03a2e"><title>page', svg)
    assert m and abs(float(m.group(1)) - x) < 0.1
    assert HOSTILE_LABEL not in svg


def test_root_index_levels_per_model_and_review_and_sparklines(out):
    page = weekpage.write_root(out).read_text()
    assert page.index("2026-W47") < page.index("2026-W46")  # newest first
    text = _text(page)
    assert "churn-predictor drift" in text and "service infrastructure" in text
    assert "run incomplete" in text
    assert page.count("<svg") >= 3  # drift share, accuracy, mae ... over the periods
    assert "<script" not in page


def test_infrastructure_runs_once_for_the_service(tmp_path):
    root = Path(__file__).resolve().parents[2]
    _, jobs = plan(root / "params" / "weekly.yaml", "2026-W47", tmp_path)
    infra = [j for j in jobs if j.notebook == "03-infrastructure-review"]
    assert [(j.model, j.parameters["model"]) for j in infra] == [("service", "")]
    assert sorted(j.model for j in jobs if j.notebook == "01-drift-review") == ["churn-predictor", "revenue-predictor"]
    _, jobs = plan(root / "params" / "weekly.yaml", "2026-W47", tmp_path, models=["churn-predictor"])
    assert all(j.model == "churn-predictor" for j in jobs)
    _, jobs = plan(root / "params" / "weekly.yaml", "2026-W47", tmp_path, models=["service"])
    assert [j.notebook for j in jobs] == ["03-infrastructure-review"]


def test_a_model_without_reference_or_mlflow_has_its_drift_review_skipped_not_failed(tmp_path):
    """Drift needs a reference: with no reference file and no MLflow to fetch one, the drift review of
    that model is planned as skipped with the reason; its performance review still runs."""
    from workbench.config import Connections

    root = Path(__file__).resolve().parents[2]
    db_only = Connections(prometheus_url="", database_url=f"sqlite:///{tmp_path / 'p.db'}", mlflow_uri="", demo=False)
    _, jobs = plan(root / "params" / "weekly.yaml", "2026-W47", tmp_path, connections=db_only)
    by = {(j.notebook, j.model): j.skip for j in jobs}
    assert by[("01-drift-review", "churn-predictor")] == (
        "no reference for churn-predictor: models[].reference is not set and MLflow is not configured")
    assert by[("02-performance-review", "churn-predictor")] == ""
    assert "Prometheus is not configured" in by[("03-infrastructure-review", "service")]
    with_mlflow = Connections(prometheus_url="", database_url=db_only.database_url, mlflow_uri="sqlite:///m.db", demo=False)
    _, jobs = plan(root / "params" / "weekly.yaml", "2026-W47", tmp_path, connections=with_mlflow)
    assert all(j.skip == "" for j in jobs if j.notebook == "01-drift-review")


def _healthy_week_without_infrastructure() -> dict:
    """Drift and performance found nothing; the infrastructure review was skipped (Prometheus not set up),
    stored as an older runner did, with level 'not computed'."""
    skipped = _result("service", "03-infrastructure-review", "not computed", [], status="skipped", html="")
    skipped["problems"] = ["Prometheus is not configured (WORKBENCH_PROMETHEUS_URL)"]
    return {"schema": 1, "period": "2026-W47", "generated": "2026-11-23 06:00 UTC", "results": [
        _result("churn-predictor", "01-drift-review", "ok",
                [_f("info", "dataset", "No drift: none of 9 features drifted.", "dataset", "summary")]),
        _result("churn-predictor", "02-performance-review", "ok", []), skipped]}


def test_not_configured_never_lowers_or_greys_a_healthy_week(tmp_path):
    from workbench.findings import worst

    assert worst(["ok", "not configured"]) == "ok"
    assert worst(["warning", "not configured"]) == "warning"
    assert worst(["ok", "not computed", "not configured"]) == "not computed"  # a failed part still counts
    assert worst(["not configured"]) == "not configured"
    out = tmp_path / "reports"
    (out / "2026-W47").mkdir(parents=True)
    (out / "2026-W47" / "status.json").write_text(json.dumps(_healthy_week_without_infrastructure()))
    page = weekpage.write_week(out, "2026-W47").read_text()
    banner = _text(page[page.index('class="banner"'):page.index("</div>")])
    assert "✓ OK" in banner and "nothing needs attention" in banner and "NOT COMPUTED" not in page
    assert "not configured: service · infrastructure — Prometheus is not configured" in banner
    assert "<title>Week 2026-W47: OK</title>" in page
    assert "run skipped" not in page  # not configured is not a bad run
    # nor shown in the failed run's red bold in the reports table: the muted run style, as 'ok' is
    assert "<td class='run'>skipped</td>" in page and "<td class='run bad'>skipped</td>" not in page
    root = weekpage.write_root(out).read_text()
    row = _text(root[root.index("<a href='2026-W47/index.html'>"):])
    assert row.split()[:3] == ["2026-W47", "✓", "OK"]  # the week's worst level in the history
    assert "NOT COMPUTED" not in row.split("generated")[0] and "NOT CONFIGURED" in row


def test_status_json_level_ignores_reviews_that_are_not_configured(tmp_path):
    from workbench import report

    run_ = report.ReportRun("2026-W47", tmp_path, [
        report.JobResult("01-drift-review", "m", "ok", level="ok"),
        report.JobResult("03-infrastructure-review", "service", "skipped", problems=["no Prometheus"],
                         level="not computed")])
    assert json.loads(report.write_status(run_).read_text())["level"] == "ok"


def test_notification_of_a_healthy_week_reads_ok_and_names_what_is_not_configured():
    from workbench import notify

    msg = notify.build(_healthy_week_without_infrastructure(), "2026-W47", "reports/2026-W47/index.html")
    assert msg.subject.startswith("[workbench] 2026-W47: OK")
    assert "Not configured (not reviewed): service infrastructure" in msg.text
    assert "Not complete" not in msg.text and "NOT COMPUTED" not in msg.text


def _week_with_a_failed_review(level: str) -> dict:
    """Drift found nothing; the performance review failed mid-way (its partial notebook kept)."""
    failed = _result("churn-predictor", "02-performance-review", level, [], status="failed", html="")
    failed["ipynb"] = "churn-predictor/failed/02-performance-review.ipynb"
    failed["problems"] = ["cell 14 raised KeyError"]
    return {"schema": 1, "period": "2026-W47", "generated": "2026-11-23 06:00 UTC", "results": [
        _result("churn-predictor", "01-drift-review", "ok",
                [_f("info", "dataset", "No drift: none of 9 features drifted.", "dataset", "summary")]), failed]}


@pytest.mark.parametrize("stored_level", ["not computed", "ok"])  # "ok": a level recorded before the run failed
def test_a_failed_review_never_reads_as_healthy_and_names_its_partial_notebook(tmp_path, stored_level):
    out = tmp_path / "reports"
    (out / "2026-W47").mkdir(parents=True)
    (out / "2026-W47" / "status.json").write_text(json.dumps(_week_with_a_failed_review(stored_level)))
    page = weekpage.write_week(out, "2026-W47").read_text()
    banner_html = page[page.index('class="banner"'):page.index("</div>")]
    banner = _text(banner_html).replace(" )", ")")
    assert "nothing needs attention" not in page and "✓ OK" not in banner
    assert "○ NOT COMPUTED" in banner and "<title>Week 2026-W47: NOT COMPUTED</title>" in page
    assert "did not complete: churn-predictor · performance (failed; partial notebook)" in banner
    assert 'href="churn-predictor/failed/02-performance-review.ipynb"' in banner_html
    root = weekpage.write_root(out).read_text()
    row_html = root[root.index("<a href='2026-W47/index.html'>"):]
    row = _text(row_html).replace(" )", ")")
    assert row.split()[:4] == ["2026-W47", "○", "NOT", "COMPUTED"]  # the week's worst, then drift's OK
    assert "✓ OK ○ NOT COMPUTED run failed partial notebook" in row  # the performance column
    assert "did not complete: churn-predictor · performance (failed; partial notebook)" in row
    assert "href='2026-W47/churn-predictor/failed/02-performance-review.ipynb'" in row_html
    assert 'href="2026-W47/churn-predictor/failed/02-performance-review.ipynb"' in row_html


def test_index_draws_every_metric_a_performance_review_can_warn_about(tmp_path):
    from workbench.performance.core import warning_metrics
    from workbench.reviews import CLASSIFICATION, REGRESSION

    out = tmp_path / "reports"
    for i, week in enumerate(("2026-W46", "2026-W47")):
        headline = {m: 0.1 * (j + 1) + i for kind in (CLASSIFICATION, REGRESSION) for j, m in enumerate(warning_metrics(kind))}
        st = {"schema": 1, "period": week, "results": [
            _result("m", "02-performance-review", "ok", [], headline=headline)]}
        (out / week).mkdir(parents=True)
        (out / week / "status.json").write_text(json.dumps(st))
    text = _text(weekpage.write_root(out).read_text())
    for kind in (CLASSIFICATION, REGRESSION):
        for m in warning_metrics(kind):
            assert f"m {m.replace('_', ' ')} " in text, m
    assert "mape" in warning_metrics("regression")


def test_an_incomplete_review_is_named_with_its_incomplete_report(out):
    page = weekpage.write_week(out, "2026-W47").read_text()
    banner_html = page[page.index('class="banner"'):page.index("</div>")]
    assert "did not complete: service · infrastructure (incomplete; " in _text(banner_html)
    assert 'href="service/03-infrastructure-review.incomplete.html">incomplete report</a>' in banner_html
    root = weekpage.write_root(out).read_text()
    assert 'href="2026-W47/service/03-infrastructure-review.incomplete.html">incomplete report</a>' in root
