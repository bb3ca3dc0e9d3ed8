"""Findings grouped into incidents (workbench.incidents): by topic and time overlap, open or closed.

The demo week's tests read tests/fixtures/weeks/demo-2026-W48.status.json, the runner's status.json of
the demo week. Regenerate it when the reviews' sentences change (the integration test
test_published_week.py::test_the_demo_week_fixture_says_what_the_reviews_say_now says when):

    workbench demo up && workbench report --params params --out /tmp/demo-reports
    python scripts/demo_week_fixture.py /tmp/demo-reports/<week>/status.json
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from workbench import config, incidents, pages
from workbench.findings import Finding

START = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=7)
DEMO = Path(__file__).parents[1] / "fixtures" / "weeks" / "demo-2026-W48.status.json"


def at(day: int, hour: int, minute: int = 0) -> str:
    return (START + dt.timedelta(days=day, hours=hour, minutes=minute)).isoformat()


def timed(sev: str, subject: str, kind: str, start: str, end: str, labels: str = "") -> dict:
    return Finding(sev, subject, f"{subject} from {start} to {end}.", kind, "alerts",
                   extra={"start": start, "end": end, "labels": labels}).to_dict()


def week(sev: str, subject: str, kind: str) -> dict:
    return Finding(sev, subject, f"{subject} this week.", kind, "summary").to_dict()


def result(model: str, findings: list[dict], **headline) -> dict:
    return {"model": model, "notebook": "03-infrastructure-review" if model == "service" else "01-drift-review",
            "status": "ok", "html": f"{model}/report.html", "findings": findings, "headline": headline}


def group(*results: dict) -> list[incidents.Incident]:
    return incidents.group(results, START, END)


def test_a_page_its_alert_and_the_error_ratio_are_one_incident():
    found = group(result("service", [
        timed("alert", "/predict availability (non-5xx responses)", "slo", at(4, 10, 22), at(4, 10, 32)),
        timed("alert", "HighErrorRate", "alert_rule", at(4, 10, 6), at(4, 10, 32)),
        week("warning", "/predict error ratio (5xx / all)", "traffic")]))
    assert len(found) == 1
    inc = found[0]
    assert inc.category == "errors" and inc.level == "alert" and not inc.open
    assert (inc.start, inc.end) == (at(4, 10, 6), at(4, 10, 32))
    assert len(inc.findings) == 3 and all(f["report"] == "service/report.html" for f in inc.findings)


def test_error_spikes_on_two_days_are_two_incidents():
    found = group(result("service", [
        timed("alert", "HighErrorRate", "alert_rule", at(1, 3), at(1, 4)),
        timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 11)),
        week("warning", "/predict error ratio (5xx / all)", "traffic")]))
    assert len(found) == 2
    # the week's error ratio is told once, under one of them
    assert sorted(len(i.findings) for i in found) == [1, 2]


def test_a_page_a_minute_after_its_alerts_episode_joins_it_hours_later_it_does_not():
    """A page's interval and its alert's episode lie a replay step or a `for:` apart (join_gap)."""
    episode = timed("alert", "HighErrorRate", "alert_rule", at(4, 10, 6), at(4, 10, 20))
    minute = group(result("service", [episode, timed("alert", "/predict availability (non-5xx responses)", "slo",
                                                     at(4, 10, 21), at(4, 10, 32))]))
    assert len(minute) == 1 and (minute[0].start, minute[0].end) == (at(4, 10, 6), at(4, 10, 32))
    assert minute[0].span == "findings" and len(minute[0].findings) == 2
    hours = group(result("service", [episode, timed("alert", "/predict availability (non-5xx responses)", "slo",
                                                    at(4, 12, 20), at(4, 12, 32))]))
    assert len(hours) == 2
    # the gap is a parameter: with none, a minute apart is two incidents (only overlaps join)
    apart = incidents.group([result("service", [episode, timed("alert", "/predict availability (non-5xx responses)",
                                                               "slo", at(4, 10, 21), at(4, 10, 32))])],
                            START, END, join_gap=dt.timedelta(0))
    assert len(apart) == 2


def test_the_gap_is_measured_from_the_end_and_chains_join():
    ends = [timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 11))]
    # 15 minutes after the first one ends (the default join_gap) joins; 16 does not
    assert len(group(result("service", ends + [timed("alert", "HighErrorRate", "alert_rule", at(4, 11, 15),
                                                     at(4, 11, 20))]))) == 1
    assert len(group(result("service", ends + [timed("alert", "HighErrorRate", "alert_rule", at(4, 11, 16),
                                                     at(4, 11, 20))]))) == 2
    # A near B near C: one incident, though A and C are 50 minutes apart; listed in any order
    chain = [timed("alert", "HighErrorRate", "alert_rule", at(4, 12, 0), at(4, 12, 20)),
             timed("warning", "HighErrorRate", "alert_rule", at(4, 10, 0), at(4, 10, 20)),
             timed("alert", "/predict availability (non-5xx responses)", "slo", at(4, 10, 30), at(4, 11, 10)),
             timed("alert", "HighErrorRate", "alert_rule", at(4, 11, 20), at(4, 11, 50))]
    found = group(result("service", chain))
    assert len(found) == 1 and (found[0].start, found[0].end) == (at(4, 10), at(4, 12, 20))
    # a gap joins only findings of one topic
    mixed = group(result("service", [timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 11)),
                                     timed("alert", "mlflow", "outage", at(4, 11, 1), at(4, 11, 5))]))
    assert sorted(i.category for i in mixed) == ["errors", "outage"]


def test_the_join_gap_is_a_weekly_param(tmp_path):
    from workbench import report

    params = config.WeeklyParams.model_validate({"models": [{"name": "churn", "type": "classification"},
                                                            ], "incidents": {"join_gap": "0s"}})
    assert incidents.tolerances(params.incidents) == (dt.timedelta(0), dt.timedelta(minutes=5))
    assert incidents.tolerances(None) == (dt.timedelta(minutes=15), dt.timedelta(minutes=5))
    spike = [timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 10, 20)),
             timed("alert", "/predict availability (non-5xx responses)", "slo", at(4, 10, 21), at(4, 10, 30))]
    jobs = [report.JobResult("03-infrastructure-review", "service", "ok", level="alert", findings=spike)]
    assert len(json.loads(report.write_status(report.ReportRun("2026-W48", tmp_path, jobs)).read_text())
               ["incidents"]) == 1
    assert len(json.loads(report.write_status(report.ReportRun("2026-W48", tmp_path, jobs, params)).read_text())
               ["incidents"]) == 2
    with pytest.raises(ValueError, match="duration"):
        config.IncidentParams(join_gap="a while")


def test_different_topics_at_the_same_time_stay_apart():
    found = group(result("service", [
        timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 11)),
        timed("warning", "HighPredictionLatency", "alert_rule", at(4, 10), at(4, 11), "model=churn"),
        timed("alert", "mlflow", "outage", at(4, 10), at(4, 11))]))
    assert sorted(i.category for i in found) == ["errors", "latency", "outage"]


def test_a_service_page_joins_the_per_model_alerts_it_overlaps():
    found = group(result("service", [
        timed("warning", "HighPredictionLatency", "alert_rule", at(5, 14), at(5, 15), "model=churn"),
        timed("warning", "HighPredictionLatency", "alert_rule", at(5, 14), at(5, 15), "model=revenue"),
        timed("alert", "/predict requests served under 0.5 s", "slo", at(5, 14, 40), at(5, 14, 50))]))
    assert len(found) == 1 and found[0].level == "alert" and found[0].scope == "service"


def test_two_models_latency_alerts_without_a_service_page_are_two_incidents():
    found = group(result("service", [
        timed("warning", "HighPredictionLatency", "alert_rule", at(5, 14), at(5, 15), "model=churn"),
        timed("warning", "HighPredictionLatency", "alert_rule", at(5, 14), at(5, 15), "model=revenue")]))
    assert sorted(i.scope for i in found) == ["churn", "revenue"]


def test_a_features_drift_warning_and_its_alert_are_one_incident_per_model_and_feature():
    found = group(
        result("churn", [week("warning", "contract", "feature"), week("warning", "tenure", "feature")]),
        result("revenue", [week("warning", "contract", "feature")]),
        result("service", [
            timed("warning", "DataDriftDetected", "alert_rule", at(0, 18), at(7, 0, 1), "feature=contract, model=churn"),
            timed("warning", "DataDriftDetected", "alert_rule", at(0, 19), at(7, 0, 1),
                  "feature=contract, model=revenue")]))
    by = {i.subject: i for i in found}
    assert set(by) == {"drift of contract (churn)", "drift of tenure (churn)", "drift of contract (revenue)"}
    assert len(by["drift of contract (churn)"].findings) == 2
    assert {f["model"] for f in by["drift of contract (churn)"].findings} == {"churn", "service"}
    assert by["drift of contract (churn)"].open  # its alert was still firing at the window's end
    assert by["drift of tenure (churn)"].start is None  # week-level only: the whole window


def test_open_means_reaching_the_window_end():
    found = group(result("service", [
        timed("alert", "HighErrorRate", "alert_rule", at(6, 23), at(7, 0, 1)),
        timed("alert", "mlflow", "outage", at(2, 4), at(2, 5))]))
    state = {i.category: i.open for i in found}
    assert state == {"errors": True, "outage": False}
    # the open one is listed first
    assert found[0].category == "errors"
    # ending within the grace of the end counts as reaching it; an hour before does not
    near = group(result("service", [timed("alert", "HighErrorRate", "alert_rule", at(6, 22), at(6, 23, 58))]))
    early = group(result("service", [timed("alert", "HighErrorRate", "alert_rule", at(6, 22), at(6, 23))]))
    assert near[0].open and not early[0].open
    # the grace is the weekly params' incidents.open_grace
    tight = config.IncidentParams(open_grace="1m")
    ending = {"results": [result("service", [timed("alert", "HighErrorRate", "alert_rule", at(6, 22), at(6, 23, 58))])]}
    assert incidents.of_status(ending, START, END)[0]["open"]
    assert not incidents.of_status(ending, START, END, tight)[0]["open"]


def test_drift_is_open_when_the_feature_drifted_on_the_last_day():
    findings = [week("warning", "contract", "feature"), week("warning", "tenure", "feature")]
    found = group(result("churn", findings, drifted_last_day=["contract"]))
    assert {i.subject: i.open for i in found} == {"drift of contract (churn)": True, "drift of tenure (churn)": False}
    # without the drift review's last-day list, a week's verdict holds at the window's end
    assert all(i.open for i in group(result("churn", findings)))


def test_a_drift_incident_runs_over_the_days_its_feature_drifted():
    findings = [week("warning", "contract", "feature"), week("warning", "tenure", "feature"),
                week("warning", "age", "feature")]
    found = group(result("churn", findings, drifted_last_day=["contract"],
                         drifted_days={"contract": ["2026-11-25", "2026-11-29"], "tenure": ["2026-11-24", "2026-11-24"]}))
    by = {i.subject: i for i in found}
    contract, tenure, age = (by[f"drift of {f} (churn)"] for f in ("contract", "tenure", "age"))
    # from the start of its first drifted day to the end of its last one (the window's end): open
    assert (contract.start, contract.end, contract.span, contract.open) == (at(2, 0), at(7, 0), "days", True)
    # one day, the Tuesday: closed (it did not drift on the last day)
    assert (tenure.start, tenure.end, tenure.span, tenure.open) == (at(1, 0), at(2, 0), "days", False)
    # no day on the grid: about the whole window
    assert (age.start, age.end, age.span) == (None, None, "week")
    # the model's other reviews (no drifted_days in their headline) take nothing away, whatever their order
    perf = {**result("churn", []), "notebook": "02-performance-review"}
    again = group(result("churn", findings, drifted_days={"contract": ["2026-11-25", "2026-11-29"]}), perf)
    assert {i.subject: i.span for i in again}["drift of contract (churn)"] == "days"
    # a timed finding (the DataDriftDetected episode) says when more closely than the days do
    alert = timed("warning", "DataDriftDetected", "alert_rule", at(2, 18), at(7, 0, 1), "feature=contract, model=churn")
    both = group(result("churn", findings[:1], drifted_days={"contract": ["2026-11-25", "2026-11-29"]}),
                 result("service", [alert]))
    assert (both[0].start, both[0].end, both[0].span) == (at(2, 18), at(7, 0, 1), "findings")


def test_drifted_days_come_from_the_drift_over_time_grid():
    import pandas as pd

    from workbench import approaching

    window = config.iso_week("2026-W48")
    days = pd.date_range(START - dt.timedelta(days=2), END - dt.timedelta(days=1), freq="D")  # 2 days before too
    marks = {"contract": {-2, 2, 3, 5}, "tenure": {-1}, "age": set(), "plan": {6}}
    grid = pd.DataFrame([{"feature": f, "period": d, "drifted": (i - 2) in marks[f] if f != "age" else None}
                         for f in marks for i, d in enumerate(days)])
    head = {"drifted_days": approaching.drifted_days(grid, window.start, window.end),
            "drifted_last_day": approaching.drifted_on_last_day(grid, window.start, window.end)}
    # the window's days only (contract's drifted day before the window is not its first), first and last
    assert head["drifted_days"] == {"contract": ["2026-11-25", "2026-11-28"], "plan": ["2026-11-29", "2026-11-29"]}
    assert head["drifted_last_day"] == ["plan"]
    assert approaching.drifted_days(grid.iloc[:0], window.start, window.end) == {}
    # the incident of such a headline: Wednesday 00:00 to Sunday 00:00 (the end of Saturday)
    found = group(result("churn", [week("warning", "contract", "feature")], **head))
    assert (found[0].start, found[0].end, found[0].open) == (at(2, 0), at(6, 0), False)


def _share_grid(drifted: dict[str, list]) -> "pd.DataFrame":
    """A hand-made drift-over-time grid: per feature its verdict on each day of the window (None: not
    tested that day), and one drifted day of each feature the day before the window."""
    import pandas as pd

    days = pd.date_range(START, END - dt.timedelta(days=1), freq="D")
    rows = [{"feature": f, "period": START - dt.timedelta(days=1), "drifted": True} for f in drifted]
    rows += [{"feature": f, "period": d, "drifted": v} for f, marks in drifted.items() for d, v in zip(days, marks)]
    return pd.DataFrame(rows).assign(method="ks", effect_size=0.01, min_effect=0.05)


def test_dataset_drift_days_are_the_days_the_share_of_drifted_features_reached_the_threshold():
    from workbench import approaching

    window = config.iso_week("2026-W48")
    T, F, N = True, False, None
    # Mon..Sun; Tue: 1 of 2 tested (c untested) = 0.5 reaches 0.5; Thu 2 of 3; Sat 1 of 3 does not
    grid = _share_grid({"a": [F, T, F, T, F, F, F], "b": [F, F, F, T, F, T, F], "c": [F, N, F, F, F, F, F]})
    assert approaching.dataset_drift_days(grid, window, 0.5) == ["2026-11-24", "2026-11-26"]
    assert approaching.dataset_drift_days(grid, window, 0.6) == ["2026-11-26", "2026-11-26"]  # Tue's 0.5 < 0.6
    assert approaching.dataset_drift_days(grid, window, 0.7) == []      # tested, but no day reached it
    assert approaching.dataset_drift_days(grid.iloc[:0], window, 0.5) is None  # no tested day: no evidence
    head = approaching.drift_headline(grid, window, drift_share=0.5)
    assert head["dataset_drift_days"] == ["2026-11-24", "2026-11-26"]
    assert "dataset_drift_days" not in approaching.drift_headline(grid, window)  # no threshold given


def test_the_daily_and_the_weekly_dataset_rule_are_one():
    from workbench.drift.core import DriftReport, FeatureDriftResult, reaches_drift_share

    def report(verdicts):
        results = [FeatureDriftResult(f"f{i}", "numeric", "ks", 0.05, 0.1, 0.01, v, "", 100, 100, 0.0, 0.0)
                   for i, v in enumerate(verdicts)]
        return DriftReport("m", results, 0.5)

    for verdicts in ([True, False], [True, False, False], [None, None], [True, None, False, False]):
        n, d = sum(v is not None for v in verdicts), sum(bool(v) for v in verdicts)
        assert report(verdicts).dataset_drift == reaches_drift_share(d, n, 0.5) == (n > 0 and d / n >= 0.5)


def test_a_dataset_drift_incident_runs_over_its_days_or_says_all_week():
    dataset = week("alert", "dataset", "dataset")
    found = group(result("rev", [dataset], dataset_drift_days=["2026-11-24", "2026-11-26"]))
    assert found[0].subject == "dataset drift (rev)"
    # Tuesday 00:00 to the end of Thursday, closed: the share did not reach the threshold on the last day
    assert (found[0].start, found[0].end, found[0].span, found[0].open) == (at(1, 0), at(4, 0), "days", False)
    # reached on Sunday, the window's last day: open since its first day
    found = group(result("rev", [dataset], dataset_drift_days=["2026-11-25", "2026-11-29"]))
    assert (found[0].start, found[0].end, found[0].span, found[0].open) == (at(2, 0), at(7, 0), "days", True)
    # the week drifted pooled but no single day reached the share ([]), or no daily evidence: all week
    for head in ({"dataset_drift_days": []}, {"dataset_drift_days": None}, {}):
        found = group(result("rev", [dataset], **head))
        assert (found[0].start, found[0].end, found[0].span, found[0].open) == (None, None, "week", True)
    # ... and only the pooled case ([]: tested, no day reached the share) says why it is the week's
    notes = [group(result("rev", [dataset], **head))[0].span_note
             for head in ({"dataset_drift_days": []}, {"dataset_drift_days": None}, {})]
    assert notes == [incidents.pooled_note(), "", ""]
    # a feature's days are not the dataset's, nor the dataset's a feature's
    found = group(result("rev", [dataset, week("warning", "x", "feature")], drifted_days={"x": ["2026-11-23", "2026-11-23"]}))
    assert {i.subject: i.span for i in found} == {"dataset drift (rev)": "week", "drift of x (rev)": "days"}
    found = group(result("rev", [week("warning", "x", "feature")], dataset_drift_days=["2026-11-24", "2026-11-26"]))
    assert found[0].span == "week"
    # a multivariate finding alone (its own days, not the share's) is not timed by the share's days
    multi = week("warning", "multivariate", "dataset")
    found = group(result("rev", [multi], dataset_drift_days=["2026-11-24", "2026-11-26"]))
    assert (found[0].subject, found[0].span) == ("dataset drift (rev)", "week")
    found = group(result("rev", [multi, dataset], dataset_drift_days=["2026-11-24", "2026-11-26"]))
    assert [(i.start, i.span) for i in found] == [(at(1, 0), "days")]
    # a timed finding of the model's drift says when more closely than the days do
    alert = timed("warning", "DatasetDriftDetected", "alert_rule", at(2, 18), at(3, 1), "model=rev")
    found = group(result("rev", [dataset], dataset_drift_days=["2026-11-24", "2026-11-26"]), result("service", [alert]))
    assert [(i.start, i.end, i.span) for i in found] == [(at(2, 18), at(3, 1), "findings")]


def test_the_demo_weeks_dataset_drift_runs_all_its_days_and_a_multivariate_one_all_week():
    status = json.loads(DEMO.read_text())
    window = config.iso_week(status["period"])
    by = {i.subject: i for i in incidents.group(status["results"], window.start, window.end)}
    rev, churn = by["dataset drift (revenue-predictor)"], by["dataset drift (churn-predictor)"]
    # revenue-predictor: 3 of 4 features drifted on every day (0.75 >= 0.5), so Monday to Sunday, open
    assert (rev.start, rev.end, rev.span, rev.open) == (window.start.isoformat(), window.end.isoformat(), "days", True)
    # churn-predictor: 1 of 3 a day never reaches 0.5 (dataset_drift_days []); its multivariate warning: all week
    assert (churn.start, churn.span) == (None, "week") and {f["subject"] for f in churn.findings} == {"multivariate"}


def test_info_findings_are_no_incident_and_level_is_the_worst():
    found = group(result("churn", [week("info", "label coverage", "labels"), week("alert", "accuracy", "metric"),
                                   week("warning", "other metrics", "metric")]))
    assert len(found) == 1 and found[0].level == "alert" and found[0].category == "performance"
    assert [f["severity"] for f in found[0].findings] == ["alert", "warning"]


def test_dependency_availability_joins_its_outage():
    found = group(result("service", [timed("alert", "mlflow", "outage", at(2, 4), at(2, 5)),
                                     timed("alert", "ServiceDown", "alert_rule", at(2, 4), at(2, 5),
                                           "instance=mlflow:5000, job=mlflow"),
                                     week("warning", "MLflow availability (health gauge)", "traffic")]))
    assert len(found) == 1 and found[0].subject == "outage of mlflow" and len(found[0].findings) == 3


@pytest.mark.parametrize("subject, kind, expected", [
    ("HighErrorRate", "alert_rule", "errors"), ("/predict error ratio (5xx / all)", "traffic", "errors"),
    ("HighPredictionLatency", "alert_rule", "latency"), ("/predict requests served under 0.5 s", "slo", "latency"),
    ("churn serving latency", "metric", "latency"), ("ModelAccuracyDrop", "alert_rule", "performance"),
    ("DataDriftDetected", "alert_rule", "drift"), ("ServiceDown", "alert_rule", "outage"),
    ("tenure", "feature", "drift"), ("name", "metric", "performance"), ("label base rate", "labels", "labels"),
    ("Redis cache hit ratio", "traffic", "traffic")])
def test_categories(subject, kind, expected):
    assert incidents.category({"subject": subject, "kind": kind}) == expected


def test_labels_parse():
    assert incidents.parse_labels("feature=contract, model=churn-predictor") == {"feature": "contract",
                                                                                 "model": "churn-predictor"}
    assert incidents.parse_labels("") == {}


def test_the_demo_weeks_friday_error_spike_is_one_closed_incident():
    status = json.loads(DEMO.read_text())
    window = config.iso_week(status["period"])
    found = incidents.group(status["results"], window.start, window.end)
    friday = [i for i in found if i.start and i.start.startswith("2026-11-27")]
    assert len(friday) == 1
    spike = friday[0]
    assert spike.category == "errors" and spike.level == "alert" and not spike.open
    # the alert, the availability SLO's two pages (the fast burn, 14.4x over 1h/5m, and the slow one,
    # 6x over 6h/30m, which the spike also tripped) and the week's error ratio
    assert sorted((f["kind"], f["subject"]) for f in spike.findings) == [
        ("alert_rule", "HighErrorRate"), ("slo", "/predict availability (non-5xx responses)"),
        ("slo", "/predict availability (non-5xx responses)"), ("traffic", "/predict error ratio (5xx / all)")]
    assert (spike.start, spike.end) == ("2026-11-27T10:06:00+00:00", "2026-11-27T10:54:00+00:00")
    # every alert and warning of the week is in exactly one incident, and there are fewer incidents
    told = [f for i in found for f in i.findings]
    severe = [f for r in status["results"] for f in r["findings"] if f["severity"] in ("alert", "warning")]
    assert len(told) == len(severe) and len(found) < len(severe)
    by = {i.subject: i for i in found}
    # a drifted feature's review warning and its Prometheus alert: one incident, open (still firing)
    contract = by["drift of contract (churn-predictor)"]
    assert {f["kind"] for f in contract.findings} == {"feature", "alert_rule"} and contract.open
    assert not by["outage of mlflow"].open and len(by["outage of mlflow"].findings) == 2
    assert incidents.counts(i.to_dict() for i in found)["incidents"] == len(found)


def test_status_json_holds_the_incidents_under_schema_3(tmp_path):
    from workbench import report

    spike = [timed("alert", "HighErrorRate", "alert_rule", at(4, 10), at(4, 11)),
             week("warning", "/predict error ratio (5xx / all)", "traffic")]
    run_ = report.ReportRun("2026-W48", tmp_path, [
        report.JobResult("03-infrastructure-review", "service", "ok", level="alert", findings=spike),
        report.JobResult("01-drift-review", "churn", "ok", level="warning",
                         findings=[week("warning", "contract", "feature")], headline={"drifted_last_day": []})])
    doc = json.loads(report.write_status(run_).read_text())
    assert doc["schema"] == 3
    assert [(i["subject"], i["level"], i["open"], len(i["findings"]), i["span"]) for i in doc["incidents"]] == [
        ("errors (service)", "alert", False, 2, "findings"), ("drift of contract (churn)", "warning", False, 1, "week")]


# --- on the week page --------------------------------------------------------------------------------

def _page(status: dict, tmp_path) -> str:
    from workbench import weekpage

    return pages.render_week(weekpage.week_page(status, config.iso_week(status["period"]), tmp_path))


def _plain(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_week_page_counts_incidents_and_folds_their_findings(tmp_path):
    status = json.loads(DEMO.read_text())  # schema 3: the page shows the incidents stored with it
    window = config.iso_week(status["period"])
    found = incidents.of_status(status, window.start, window.end)
    assert found == status["incidents"]  # grouped now as when the fixture was written
    page = _page(status, tmp_path)
    banner = _plain(page[page.index('class="banner"'):page.index("</div>")])
    n = incidents.counts(found)
    assert f"{n['incidents']} incident(s), {n['open']} still open" in banner
    section = page[page.index("<h2>Incidents</h2>"):page.index("The week on one time axis")]
    assert section.count("<details>") == len(found)
    friday = next(d for d in section.split("<details>") if "errors (service)" in d)
    assert "closed" in _plain(friday) and "OPEN" not in friday and "Fri 27 Nov 10:06 to 10:54 UTC" in friday
    assert friday.count("<li") == 4 and 'href="service/03-infrastructure-review.html#alerts-timeline"' in friday
    contract = next(d for d in section.split("<details>") if "drift of contract (churn-predictor)" in d)
    assert "OPEN" in contract
    # stored incidents (schema 2 and later) are shown as stored, not regrouped; an older status.json is grouped
    stored = {**status, "schema": 2, "incidents": found[:1]}
    assert _page(stored, tmp_path).count("<details>") == 1
    older = {k: v for k, v in status.items() if k != "incidents"} | {"schema": 1}
    assert _page(older, tmp_path).count("<details>") == len(found)


def test_hostile_subjects_are_escaped_in_incidents_and_notes(tmp_path):
    hostile = "<script>alert(1)</script>"
    status = {"schema": 2, "period": "2026-W48", "results": [
        result("service", [timed("alert", hostile, "alert_rule", at(4, 10), at(4, 11), f"model={hostile}")]),
        result("churn", [], approaching=[{"kind": "feature", "subject": hostile, "sentence": f"{hostile} rose",
                                          "value": 0.045, "bound": 0.05}])]}
    window = config.iso_week("2026-W48")
    status["incidents"] = incidents.of_status(status, window.start, window.end)
    page = _page(status, tmp_path)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h2>Approaching</h2>" in page and "&lt;script&gt;alert(1)&lt;/script&gt; rose" in page


def test_approaching_notes_are_no_finding_and_change_no_count(tmp_path):
    note = {"kind": "metric", "subject": "accuracy", "sentence": "accuracy 0.76 [0.745, 0.775]: its interval "
            "reaches the alert threshold 0.75.", "value": 0.76, "bound": 0.75}
    status = {"schema": 2, "period": "2026-W48", "results": [result("churn", [], approaching=[note])],
              "incidents": []}
    page = _page(status, tmp_path)
    assert "its interval reaches the alert threshold 0.75" in _plain(page)
    banner = _plain(page[page.index('class="banner"'):page.index("</div>")])
    assert "0 alert(s), 0 warning(s)" in banner and "incident" not in banner


def test_a_pooled_dataset_drift_says_why_it_is_all_week_with_its_threshold():
    """Issue 20's leftover: a dataset drift verdict of the pooled week that no single day reached is an
    incident "all week" — the week page says why, so it does not read as "drifted every day"."""
    from workbench import weekpage

    dataset = Finding("alert", "dataset", "Dataset drift: 2 of 4 features drifted (share 0.5 ≥ the dataset "
                      "threshold 0.5): a, b.", "dataset", "summary", 0.5, {"threshold": 0.5}).to_dict()
    found = group(result("rev", [dataset], dataset_drift_days=[]))
    assert (found[0].span, found[0].start) == ("week", None)
    assert found[0].span_note == "no single day's share of drifted features reached the dataset threshold 0.5; " \
                                 "the week's pooled data did"
    shown = found[0].to_dict()
    when = "all week: no single day's share of drifted features reached the dataset threshold 0.5; the week's pooled data did"
    assert weekpage.incident_summary([shown]).lines[0].when == weekpage.incident_row(shown).span == when
    # a multivariate warning alone keeps plain "all week" (its own days, not the share's)
    multi = group(result("rev", [week("warning", "multivariate", "dataset")], dataset_drift_days=[]))
    assert multi[0].span_note == "" and weekpage.incident_row(multi[0].to_dict()).span == "all week"


def test_the_drift_reviews_dataset_verdict_carries_its_threshold_for_that_note():
    from workbench.drift.core import DriftReport, FeatureDriftResult

    results = [FeatureDriftResult(f"f{i}", "numeric", "ks", 0.05, 0.1, 0.01, v, "", 100, 100, 0.0, 0.0)
               for i, v in enumerate([True, True, False])]
    verdict = DriftReport("rev", results, 0.6).findings[0]
    assert (verdict.severity, verdict.subject, verdict.extra) == ("alert", "dataset", {"threshold": 0.6})
    found = group(result("rev", [verdict.to_dict()], dataset_drift_days=[]))
    assert found[0].span_note == incidents.pooled_note(0.6) and "threshold 0.6;" in found[0].span_note
