"""The scheduler-facing functions: pairs, the week a run closes, retryable vs failed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from workbench import report, reviews, scheduling

ROOT = Path(__file__).resolve().parents[2]


def test_pairs_are_models_times_reviews_and_the_service_once():
    models = ("churn-predictor", "revenue-predictor")
    want = [{"model": m, "review": r} for r in ("drift", "performance") for m in models]
    want.append({"model": "service", "review": "infrastructure"})
    assert scheduling.pairs(ROOT / "params" / "weekly.yaml") == want
    assert scheduling.pairs(ROOT / "params") == want  # the params folder names the same set


@pytest.mark.parametrize("when, week", [
    (dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc), "2026-W47"),   # the scheduled Monday run
    (dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc), "2026-W47"),   # `dags test` at midnight
    (dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.timezone.utc), "2026-W46"),  # the week has not closed yet
    (dt.datetime(2027, 1, 4, 6, 0, tzinfo=dt.timezone.utc), "2026-W53"),     # a 53-week year
])
def test_week_closed_by(when, week):
    assert scheduling.week_closed_by(when) == week


def _fake_run(status):
    def run(*args, **kwargs):
        assert kwargs["index"] is False and kwargs["reviews"] == ["drift"] and kwargs["models"] == ["m"]
        return SimpleNamespace(results=[report.JobResult("01-drift-review", "m", status, problems=["x: y"])])
    return run


def test_unreachable_source_is_retryable(monkeypatch):
    monkeypatch.setattr(scheduling, "_sources_down", lambda source: ["prometheus: unreachable"])
    with pytest.raises(scheduling.SourceDown, match="prometheus: unreachable"):
        scheduling.run_review("p.yaml", "2026-W47", "out", "m", "drift")


def test_failed_notebook_is_not_retryable(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduling, "_sources_down", lambda source: [])
    monkeypatch.setattr(report, "run", _fake_run("failed"))
    with pytest.raises(scheduling.ReviewFailed, match="failed: x: y"):
        scheduling.run_review("p.yaml", "2026-W47", str(tmp_path), "m", "drift")


def test_incomplete_while_a_source_went_down_is_retryable(monkeypatch, tmp_path):
    calls = iter([[], ["prediction_db: unreachable"]])
    monkeypatch.setattr(scheduling, "_sources_down", lambda source: next(calls))
    monkeypatch.setattr(report, "run", _fake_run("incomplete"))
    with pytest.raises(scheduling.SourceDown, match="prediction_db"):
        scheduling.run_review("p.yaml", "2026-W47", str(tmp_path), "m", "drift")


def test_ok_review_returns_its_status(monkeypatch, tmp_path):
    monkeypatch.setattr(scheduling, "_sources_down", lambda source: [])
    monkeypatch.setattr(report, "run", _fake_run("ok"))
    st = scheduling.run_review("p.yaml", "2026-W47", str(tmp_path), "m", "drift")
    assert st["status"] == "ok" and st["model"] == "m"


def test_review_names():
    assert [reviews.review_name(n) for n in ("01-drift-review", "02-performance-review", "03-infrastructure-review")] \
        == ["drift", "performance", "infrastructure"]


def test_week_page_is_written_from_the_stored_status_and_notifies_only_when_configured(monkeypatch, tmp_path):
    import json

    from workbench import notify

    week = tmp_path / "2026-W47"
    week.mkdir()
    res = report.JobResult("01-drift-review", "m", "ok", html="m/01-drift-review.html")
    report.write_status(report.ReportRun("2026-W47", week, [res]))
    calls = []
    monkeypatch.setattr(notify, "notify", lambda *a, **k: calls.append(a) or SimpleNamespace(sent=["webhook"], problems=[]))
    for var in ("WORKBENCH_SLACK_WEBHOOK_URL", "WORKBENCH_SMTP_URL"):
        monkeypatch.delenv(var, raising=False)
    got = scheduling.write_week(ROOT / "params" / "weekly.yaml", "2026-W47", str(tmp_path))
    assert got["statuses"] == {"m/01-drift-review": "ok"} and calls == []
    assert (week / "index.html").is_file() and (tmp_path / "index.html").is_file()
    assert json.loads((week / "status.json").read_text())["results"][0]["status"] == "ok"
    monkeypatch.setenv("WORKBENCH_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    got = scheduling.write_week(ROOT / "params" / "weekly.yaml", "2026-W47", str(tmp_path))
    assert len(calls) == 1 and got["notified"] == ["webhook"]


def _start_a_pool(allow: bool, answers) -> None:
    """In a daemonic process (as a Celery prefork pool runs Airflow tasks): start a process pool."""
    from concurrent.futures import ProcessPoolExecutor

    if allow:
        scheduling._allow_children()
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            answers.put(pool.submit(abs, -3).result(timeout=60))
    except AssertionError as exc:
        answers.put(str(exc))


def test_a_review_task_in_a_daemonic_worker_may_start_the_runners_processes():
    """On Airflow's CeleryExecutor the task runs in a daemonic process; the runner's process pool
    then failed with 'daemonic processes are not allowed to have children' (found by
    tests/distributed): run_review clears the flag first."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    got = {}
    for allow in (False, True):
        answers = ctx.Queue()
        proc = ctx.Process(target=_start_a_pool, args=(allow, answers), daemon=True)
        proc.start()
        got[allow] = answers.get(timeout=120)
        proc.join(60)
    assert got[False] == "daemonic processes are not allowed to have children"
    assert got[True] == 3


def test_reviews_running_side_by_side_on_a_url_output_all_reach_the_week_page(monkeypatch):
    """Two review tasks writing to the same fsspec URL at once (two Celery workers): the second
    finishes while the first is still staged, and the first one's upload used to replace the
    second's status.json, so the week page lost a review (found by tests/distributed on S3)."""
    import json
    import uuid

    import fsspec

    out = f"memory://wb-{uuid.uuid4().hex[:8]}/reports"
    week = "2026-W47"

    def run(params, week_, local, source, models, jobs, reviews, index):
        nb = {"drift": "01-drift-review", "performance": "02-performance-review"}[reviews[0]]
        if reviews[0] == "drift":  # the other task runs, start to end, while this one is staged
            scheduling.run_review("p.yaml", week, out, "m", "performance")
        period = Path(local) / week_
        (period / "m").mkdir(parents=True, exist_ok=True)
        (period / "m" / f"{nb}.html").write_text(nb)
        res = report.JobResult(nb, "m", "ok", html=f"m/{nb}.html")
        with report._status_lock(period):  # as report.run writes it
            report.write_status(report.ReportRun(week_, period, report._merge_previous(period, [res])))
        return SimpleNamespace(results=[res])

    monkeypatch.setattr(scheduling, "_sources_down", lambda source: [])
    monkeypatch.setattr(report, "run", run)
    for var in ("WORKBENCH_SLACK_WEBHOOK_URL", "WORKBENCH_SMTP_URL"):
        monkeypatch.delenv(var, raising=False)
    scheduling.run_review("p.yaml", week, out, "m", "drift")
    got = scheduling.write_week(ROOT / "params" / "weekly.yaml", week, out)
    assert got["statuses"] == {"m/01-drift-review": "ok", "m/02-performance-review": "ok"}
    fs, root = fsspec.core.url_to_fs(out)
    stored = json.loads(fs.cat(f"{root}/{week}/status.json"))
    assert sorted(r["notebook"] for r in stored["results"]) == ["01-drift-review", "02-performance-review"]
    assert fs.cat(f"{root}/{week}/m/02-performance-review.html") == b"02-performance-review"
    assert fs.exists(f"{root}/{week}/index.html") and fs.exists(f"{root}/index.html")
    assert not [k for k in fs.find(root) if k.endswith(".status.lock")]  # the local flock file stays local


def test_the_merged_status_groups_its_incidents_with_the_weekly_join_gap(tmp_path):
    """A scheduled week's status.json is grouped with the params' incidents.join_gap, like a report run's."""
    import json

    from workbench import config
    from workbench.findings import Finding

    week = tmp_path / "2026-W48"
    (week / scheduling.STATUS_PARTS).mkdir(parents=True)
    spike = [Finding("alert", "HighErrorRate", "fired.", "alert_rule", "alerts",
                     extra={"start": "2026-11-27T10:08:00+00:00", "end": "2026-11-27T10:20:00+00:00"}).to_dict(),
             Finding("alert", "/predict availability (non-5xx responses)", "paged.", "slo", "slos",
                     extra={"start": "2026-11-27T10:21:00+00:00", "end": "2026-11-27T10:32:00+00:00"}).to_dict()]
    part = vars(report.JobResult("03-infrastructure-review", "service", "ok", level="alert", findings=spike))
    (week / scheduling.STATUS_PARTS / "service--03-infrastructure-review.json").write_text(json.dumps([part]))
    weekly = config.load_weekly(ROOT / "params" / "weekly.yaml")
    scheduling._merge_status_parts(week, "2026-W48", weekly)
    assert len(json.loads((week / "status.json").read_text())["incidents"]) == 1  # a minute apart: one
    scheduling._merge_status_parts(week, "2026-W48", weekly.model_copy(update={"incidents": config.IncidentParams(join_gap="0s")}))
    assert len(json.loads((week / "status.json").read_text())["incidents"]) == 2
