"""The runner's contract with the notebooks: params resolved once, sources optional, baselines
without MLflow, optional columns, typed -p values."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import config, context
from workbench.performance import core as performance
from workbench.errors import ConfigError, InsufficientData

UTC = dt.timezone.utc


def _params(folder, weekly="models:\n  - name: m1\n    type: classification\n"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weekly.yaml").write_text(weekly)
    return folder


def test_context_does_not_import_the_demo():
    code = "import sys, workbench.context; print('workbench.demo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_open_review_reads_the_given_folder_and_never_searches(tmp_path, monkeypatch):
    # a different params/weekly.yaml in the working folder must not be picked up
    _params(tmp_path / "cwd" / "params", "models:\n  - name: other\n    type: regression\n")
    given = _params(tmp_path / "mine" / "conf")
    (given / "monitoring.yaml").write_text("drift_detection:\n  models:\n    m1:\n      features:\n        x: {method: ks}\n")
    monkeypatch.chdir(tmp_path / "cwd")
    conns = config.Connections(None, "sqlite:///nowhere.db", None, demo=False)
    ctx = context.open_review("m1", "2026-W47", "env", str(given), connections=conns)
    assert ctx.model.name == "m1" and list(ctx.monitoring.drift_detection.features_for("m1")) == ["x"]
    assert ctx.root == tmp_path / "mine"  # relative reference paths are taken from the params folder's parent
    assert ctx.params_path("slos") == given / "slos.yaml"
    assert ctx.queries.panels == {}  # no queries.yaml: fine for drift and performance
    with pytest.raises(ConfigError, match="not configured"):
        ctx.prometheus  # noqa: B018


def test_params_files_from_a_folder_or_the_weekly_file(tmp_path):
    folder = _params(tmp_path / "p")
    assert config.params_files(folder).weekly == folder / "weekly.yaml"
    f = config.params_files(folder / "weekly.yaml")
    assert f.directory == folder and f.path("alerts") == folder / "alerts.yaml"
    with pytest.raises(ConfigError, match="no weekly.yaml"):
        config.params_files(tmp_path)


def test_partial_window_and_data_until():
    wed = dt.datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert config.resolve_window("2026-W47", wed).end == dt.datetime(2026, 11, 23, tzinfo=UTC)  # finished: whole
    w = config.resolve_window("2026-W48", wed, partial=True)
    assert w == config.window_until("2026-W48", w.end.isoformat())
    assert not config.window_until("2026-W48", "2026-11-30T00:00:00+00:00").partial
    with pytest.raises(ConfigError, match="not inside week"):
        config.window_until("2026-W48", "2026-12-05T00:00:00+00:00")


def test_papermill_typing_of_p_values():
    from workbench.report import resolve_parameter

    assert [resolve_parameter(v) for v in ("0", "0.5", "True", "None", "abc")] == [0, 0.5, True, None, "abc"]
    assert isinstance(resolve_parameter("0"), int)


class _Ctx:
    """The parts of a ReviewContext the performance helpers use."""

    def __init__(self, tmp_path, weekly_text, mlflow=None, prometheus=None):
        files = config.params_files(_params(tmp_path / "params", weekly_text))
        self.files, self.root = files, files.project
        self.params = config.load_weekly(files.weekly)
        self.model = self.params.models[0]
        self.connections = config.Connections(prometheus, "sqlite:///x.db", mlflow, demo=False)
        self.skipped: list[dict] = []
        self.window = config.iso_week("2026-W47")
        self.queries = config.load_queries(Path(__file__).resolve().parents[2] / "params" / "queries.yaml")

    def has(self, source):
        return context.ReviewContext.has(self, source)

    def params_path(self, kind):
        return self.files.path(kind)

    def skip(self, section, reason):
        self.skipped.append({"section": section, "reason": reason})


def test_baseline_from_the_reference_file(tmp_path):
    rng = __import__("numpy").random.default_rng(5)
    y = rng.integers(0, 2, 1500)
    pred = (y ^ (rng.random(1500) < 0.2)).astype(int)
    (tmp_path / "data").mkdir()
    pd.DataFrame({"prediction": pred, "actual_outcome": y, "x": rng.normal(size=1500)}).to_parquet(tmp_path / "data" / "ref.parquet")
    ctx = _Ctx(tmp_path, "models:\n  - name: m1\n    type: classification\n    reference: data/ref.parquet\n")
    metrics, source = performance.baseline(ctx)
    from sklearn.metrics import accuracy_score

    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert "roc_auc" not in metrics  # no probabilities in the reference
    assert source == "reference file data/ref.parquet: metrics on its 1,500 labelled rows"  # separators, as every count


def test_baseline_from_baselines_yaml_and_none_at_all(tmp_path):
    ctx = _Ctx(tmp_path, "models:\n  - name: m1\n    type: classification\n")
    with pytest.raises(ConfigError, match="no baseline to compare with: MLflow is not configured.*no baselines.yaml"):
        performance.baseline(ctx)
    (tmp_path / "params" / "baselines.yaml").write_text("m1:\n  '1.0': {accuracy: 0.9}\n  '2.0': {accuracy: 0.8}\n")
    preds = pd.DataFrame({"model_version": ["1.0", "1.0", "2.0"]})
    assert performance.baseline(ctx, preds) == ({"accuracy": 0.9}, "baselines.yaml: version 1.0")


def test_optional_columns_and_sources_skip_with_one_line(tmp_path):
    ctx = _Ctx(tmp_path, "models:\n  - name: m1\n    type: classification\n"
                         "store:\n  columns:\n    variant: null\n    probability: null\n")
    assert performance.skip_without(ctx, "A/B comparison", variant=True)
    assert performance.skip_without(ctx, "calibration", probability=True)
    assert performance.skip_without(ctx, "predictions by class", prometheus=True)
    assert not performance.skip_without(ctx, "trend")
    reasons = [s["reason"] for s in ctx.skipped]
    assert reasons == ["store.columns.variant is null (no A/B variant column)",
                       "store.columns.probability is null (no probability column)",
                       "Prometheus is not configured (WORKBENCH_PROMETHEUS_URL is not set)"]


def test_probability_metrics_say_why_without_a_probability_column():
    spec = config.ModelSpec(name="m", type="classification")
    df = pd.DataFrame({"prediction": [0, 1] * 20, "actual_outcome": [0, 1, 1, 0] * 10})
    s = performance.evaluate(df, spec)
    assert s.metrics["roc_auc"] is None and "no probability column" in s.notes["roc_auc"]
    assert s.metrics["accuracy"] == pytest.approx(0.5)


def test_prometheus_without_the_models_class_counts_is_not_a_logging_flag(tmp_path):
    ctx = _Ctx(tmp_path, "models:\n  - name: m1\n    type: classification\n", prometheus="http://p")

    class EmptyProm:
        def query(self, q, at=None):
            return pd.DataFrame(columns=["class", "value"])

    ctx.prometheus = EmptyProm()
    ctx.store = None  # never read: nothing to compare with
    with pytest.raises(InsufficientData, match="Prometheus has no model_predictions_by_class for m1"):
        performance.prometheus_class_counts(ctx)


def test_check_names_the_file_and_key_of_a_bad_params_file(tmp_path):
    from workbench import check

    folder = _params(tmp_path / "params", "models:\n  - name: m1\n    type: classification\n"
                                          "notebooks: [01-drift-review]\n")
    (folder / "monitoring.yaml").write_text("drift_detection:\n  psi_binz: 10\n")
    conns = config.Connections(None, None, None, demo=False)
    res = check.run_checks(folder, conns)
    assert not res.ok
    errors = res.errors_text()
    assert f"{folder / 'monitoring.yaml'}: drift_detection.psi_binz: unknown key" in errors
    # the database is not configured: drift is skipped, so its reference is not required
    assert "source database" in res.text() and "will be skipped" in res.text()


def test_canonical_category_forms():
    from workbench.check import canonical_category

    assert canonical_category(1) == canonical_category(1.0) == canonical_category("1") == "1"
    assert canonical_category("A") == "A" and canonical_category(2.5) == "2.5"


def test_check_warns_when_performance_has_no_baseline(tmp_path):
    from workbench import check

    folder = _params(tmp_path / "params", "models:\n  - name: m1\n    type: classification\n"
                                          "notebooks: [02-performance-review]\n")
    res = check.run_checks(folder, config.Connections(None, None, None, demo=False), reviews={"performance"})
    item = next(i for i in res.items if i.what == "baseline of m1")
    assert item.status == check.WARNING and "baselines.yaml lists no m1" in item.detail
    (folder / "baselines.yaml").write_text("m1:\n  '1': {accuracy: 0.9}\n")
    res = check.run_checks(folder, config.Connections(None, None, None, demo=False), reviews={"performance"})
    assert next(i for i in res.items if i.what == "baseline of m1").status == check.OK


def test_the_runner_starts_the_longest_reviews_first(tmp_path):
    """Jobs start in order of their time in the newest period's status.json, longest first; a job
    that never ran counts as longest; without any history the plan order stays."""
    import json

    from workbench import report

    jobs = [report.Job(nb, m, "", {}, "", "") for nb, m in
            [("01-drift-review", "a"), ("01-drift-review", "b"), ("02-performance-review", "a"),
             ("03-infrastructure-review", "service"), ("02-performance-review", "new")]]
    assert report.longest_first(jobs, report._last_seconds(tmp_path)) == [0, 1, 2, 3, 4]
    for period, secs in (("2026-W46", [50, 1, 1, 1]), ("2026-W47", [10, 7, 21, 13])):
        (tmp_path / period).mkdir()
        (tmp_path / period / "status.json").write_text(json.dumps({"results": [
            {"model": j.model, "notebook": j.notebook, "status": "ok", "seconds": s} for j, s in zip(jobs, secs)]}))
    last = report._last_seconds(tmp_path)  # the newest period wins
    assert last[("a", "02-performance-review")] == 21
    assert report.longest_first(jobs, last) == [2, 4, 3, 0, 1]


def _slow_answers(tracking_uri, models, work_dir, timeouts):
    """Stands in for report._fetch_answers against an MLflow that never answers: it records its pid,
    waits, then marks that it finished (the runner must not have waited for that)."""
    import os
    import time

    marks = Path(os.environ["SLOW_ANSWERS_MARKS"])
    (marks / "pid").write_text(str(os.getpid()))
    time.sleep(20)
    (marks / "finished").write_text("")
    return None


def test_a_failed_check_terminates_the_runners_mlflow_process(tmp_path, monkeypatch):
    """report.run starts its MLflow process before the checks; when a check fails the run stops at
    once: the process is terminated, not waited for (without the terminate, shutdown waits for it)."""
    import os
    import sqlite3
    import time

    from workbench import check, report

    folder = _params(tmp_path / "params", "models:\n  - name: m1\n    type: classification\n"
                                          "notebooks: [02-performance-review]\n"
                                          "store:\n  table: scored\n")
    db = tmp_path / "events.db"
    with sqlite3.connect(db) as c:  # a table without the columns the store mapping names: the check fails
        c.execute("CREATE TABLE scored (x INTEGER)")
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("SLOW_ANSWERS_MARKS", str(marks))
    monkeypatch.setenv(config.ENV_DATABASE, f"sqlite:///{db}")
    monkeypatch.setenv(config.ENV_MLFLOW, "http://127.0.0.1:9")  # configured: the runner's MLflow process starts
    monkeypatch.delenv(config.ENV_PROMETHEUS, raising=False)
    monkeypatch.setattr(report, "_fetch_answers", _slow_answers)  # workers are forked: they see the stand-in
    real_checks = check.run_checks

    def checks_once_mlflow_is_asked(*args, **kwargs):  # the check fails only after the process is busy
        for _ in range(600):
            if (marks / "pid").exists():
                break
            time.sleep(0.05)
        return real_checks(*args, **kwargs)

    monkeypatch.setattr(check, "run_checks", checks_once_mlflow_is_asked)
    with pytest.raises(ConfigError, match="is not a column of scored"):
        report.run(folder, week="2026-W47", out_dir=tmp_path / "reports", source="env")
    pid = int((marks / "pid").read_text())
    assert not (marks / "finished").exists()  # the run did not wait for MLflow
    with pytest.raises(ProcessLookupError):  # terminated, and reaped by the executor's shutdown
        os.kill(pid, 0)
    assert not (tmp_path / "reports").exists()  # nothing ran
