"""MLflow with a local SQLite backend store: registering and reading model versions."""

import pytest

from workbench.demo import registry
from workbench.errors import ConfigError
from workbench.sources.model_registry import ModelRegistry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory, small_history):
    d = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    registry.register_models(small_history, uri, d / "artifacts", seed=11)
    return uri


def test_versions_reference_metrics_importances(mlflow_uri, small_history):
    reg = ModelRegistry(mlflow_uri)
    assert set(reg.versions("churn-predictor")) == {"1.2.0", "1.3.0"}
    ref = reg.reference("churn-predictor", "1.3.0")
    expected = small_history.references[("churn-predictor", "1.3.0")]
    assert ref.shape == expected.shape and ref["monthly_charges"].equals(expected["monthly_charges"])
    from sklearn.metrics import accuracy_score

    m = reg.training_metrics("churn-predictor", "1.3.0")
    assert m["accuracy"] == pytest.approx(accuracy_score(expected["target"], expected["prediction"]))
    imp = reg.feature_importances("revenue-predictor", "2.0.0")
    assert imp.index[0] == "monthly_charges" and imp.sum() == pytest.approx(1.0, abs=1e-3)


def test_unknown_version_lists_registered(mlflow_uri):
    with pytest.raises(ConfigError, match="registered: 1.2.0, 1.3.0"):
        ModelRegistry(mlflow_uri).reference("churn-predictor", "9.9.9")


def _answered(mlflow_uri, tmp_path, monkeypatch, models=("churn-predictor", "revenue-predictor")):
    from workbench.sources.model_registry import ANSWERS_ENV, Answers, fetch_answers

    path = fetch_answers(mlflow_uri, list(models), tmp_path / "answers.json")
    assert path is not None
    monkeypatch.setenv(ANSWERS_ENV, str(path))
    return ModelRegistry(mlflow_uri, answers=Answers.from_env(mlflow_uri))


def test_answers_fetched_once_give_what_mlflow_gives_without_opening_a_client(mlflow_uri, tmp_path, monkeypatch):
    """The runner's answers stand in for every read a drift or performance notebook makes, and the
    registry then never opens MLflow's client (that is the ~4 s per notebook they save)."""
    live = ModelRegistry(mlflow_uri)
    reg = _answered(mlflow_uri, tmp_path, monkeypatch)
    for model in ("churn-predictor", "revenue-predictor"):
        assert reg.versions(model) == live.versions(model)
        for version in live.versions(model):
            assert reg.training_metrics(model, version) == live.training_metrics(model, version)
            assert reg.reference(model, version).equals(live.reference(model, version))
            assert reg.feature_importances(model, version).equals(live.feature_importances(model, version))
    run_id = live.run_id("churn-predictor", "1.3.0")
    assert reg.read_artifact(run_id, "feature_importances.json") == live.read_artifact(run_id, "feature_importances.json")
    assert reg.read_artifact(run_id, "workbench/no-such.npz") is None
    assert live.read_artifact(run_id, "workbench/no-such.npz") is None
    assert getattr(reg, "_client", None) is None


def test_answers_leave_out_what_they_do_not_know(mlflow_uri, tmp_path, monkeypatch):
    """A model the runner did not ask about, or answers for another MLflow, go to MLflow itself."""
    from workbench.sources.model_registry import ANSWERS_ENV, Answers

    reg = _answered(mlflow_uri, tmp_path, monkeypatch, models=("churn-predictor",))
    assert set(reg.versions("revenue-predictor")) == {"2.0.0"}  # asked of MLflow
    assert reg._client is not None
    assert Answers.from_env(mlflow_uri + "?other=1") is None
    monkeypatch.setenv(ANSWERS_ENV, str(tmp_path / "gone.json"))
    assert Answers.from_env(mlflow_uri) is None


def test_answers_are_not_fetched_from_an_mlflow_that_is_not_there(tmp_path):
    from workbench.sources.model_registry import fetch_answers

    assert fetch_answers(f"sqlite:///{tmp_path / 'none.db'}", ["churn-predictor"], tmp_path / "a.json") is None
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "none.db").exists()


def test_a_missing_artifact_is_the_same_error_with_answers(mlflow_uri, tmp_path, monkeypatch):
    import shutil

    from workbench.errors import SourceUnavailable

    reg = _answered(mlflow_uri, tmp_path, monkeypatch)
    local = reg.answers.local_artifacts(reg.run_id("revenue-predictor", "2.0.0"))
    assert local is not None and (local / "feature_importances.json").is_file()
    backup = tmp_path / "imp.json"
    shutil.copy(local / "feature_importances.json", backup)
    (local / "feature_importances.json").unlink()
    try:
        with pytest.raises(SourceUnavailable, match="downloading feature_importances.json of run"):
            reg.feature_importances("revenue-predictor", "2.0.0")
    finally:
        shutil.copy(backup, local / "feature_importances.json")


def test_a_review_kernel_with_the_runners_answers_never_imports_mlflow(demo_stack, tmp_path, monkeypatch):
    """What a drift and a performance notebook ask MLflow (serving version, baseline metrics, the
    reference profile, reference data, importances), answered in a fresh interpreter from the
    runner's answers: the same values as MLflow's, and the mlflow package is never imported."""
    import json
    import os
    import subprocess
    import sys

    from workbench import config, context
    from workbench.drift import profile_cache
    from workbench.performance import core as perf
    from workbench.sources.model_registry import ANSWERS_ENV, fetch_answers

    root, conns = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    params = config.project_root() / "params"
    live = context.open_review("churn-predictor", source="demo", params_dir=params)
    profile_cache.load_or_fit(live)  # the first review ever fits and stores the profile (that one writes to MLflow)
    expected = {"baseline": perf.baseline(live)[0], "version": live.serving_version(),
                "features": list(profile_cache.load_or_fit(live).features),
                "reference": live.registry.reference("churn-predictor", live.serving_version()).shape[0],
                "importances": live.registry.feature_importances("churn-predictor", live.serving_version()).to_dict()}
    answers = fetch_answers(conns.mlflow_uri, ["churn-predictor"], tmp_path / "answers.json")
    code = f"""
import json, sys
from workbench import context
from workbench.drift import profile_cache
from workbench.performance import core as perf
ctx = context.open_review("churn-predictor", source="demo", params_dir={str(params)!r})
v = ctx.serving_version()
print(json.dumps({{"baseline": perf.baseline(ctx)[0], "version": v,
                  "features": list(profile_cache.load_or_fit(ctx).features),
                  "reference": ctx.registry.reference("churn-predictor", v).shape[0],
                  "importances": ctx.registry.feature_importances("churn-predictor", v).to_dict(),
                  "mlflow": sorted(m for m in sys.modules if m == "mlflow" or m.startswith("mlflow."))}}))
"""
    env = {**os.environ, ANSWERS_ENV: str(answers), "PYTHONPATH": str(config.project_root() / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got.pop("mlflow") == []
    assert got == json.loads(json.dumps(expected))
    env.pop(ANSWERS_ENV)  # and the check can fail: without the answers the kernel opens MLflow
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "mlflow" in json.loads(out.stdout.strip().splitlines()[-1])["mlflow"]


def test_the_runner_hands_its_answers_to_drift_and_performance_kernels_only(mlflow_uri, tmp_path, monkeypatch):
    import json
    import os

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from workbench import config, report, reviews
    from workbench.sources.model_registry import ANSWERS_ENV

    conns = config.Connections(None, "sqlite:///unused.db", mlflow_uri, False)

    def job(nb, model):
        return report.Job(nb, model, "", {}, str(tmp_path / "out"), str(tmp_path))

    jobs = [job("01-drift-review", "churn-predictor"), job("02-performance-review", "revenue-predictor"),
            job("03-infrastructure-review", reviews.SERVICE)]
    wanting = report._mlflow_jobs(conns, jobs)  # as report.run does, in its MLflow process
    report._hand_answers(wanting, report._fetch_answers(mlflow_uri, sorted({j.model for j in wanting}), tmp_path, {}))
    assert [bool(j.env) for j in jobs] == [True, True, False]
    from workbench.results_log import BY_RUNNER_ENV  # the runner, not the kernel, logs the performance metrics

    assert [BY_RUNNER_ENV in j.env for j in jobs] == [False, True, False]
    assert set(json.loads(open(jobs[0].env[ANSWERS_ENV]).read())["versions"]) == {"churn-predictor", "revenue-predictor"}
    no_mlflow = [job("01-drift-review", "churn-predictor")]
    report._hand_answers(report._mlflow_jobs(config.Connections(None, "sqlite:///unused.db", None, False), no_mlflow), None)
    assert no_mlflow[0].env == {}

    # the kernel sees it; the runner's own environment is left as it was
    monkeypatch.delenv(ANSWERS_ENV, raising=False)
    cell = new_code_cell('model = ""\nweek = ""\nsource = "auto"\nparams_dir = ""\nstatus_file = ""')
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, new_code_cell(
        "import json, os\nopen(status_file, 'w').write(json.dumps({'complete': True, 'problems': [], "
        f"'headline': {{'answers': os.environ.get({ANSWERS_ENV!r}, '')}}}}))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "02-performance-review.ipynb")
    j = report.Job("02-performance-review", "revenue-predictor", str(tmp_path / "02-performance-review.ipynb"),
                   {"model": "revenue-predictor", "week": "2026-W47", "source": "auto", "params_dir": str(tmp_path)},
                   str(tmp_path / "out" / "2026-W47"), str(tmp_path), env={ANSWERS_ENV: jobs[1].env[ANSWERS_ENV]})
    result = report._run_job(j)
    assert result.status == "ok", result.problems
    assert result.headline["answers"] == jobs[1].env[ANSWERS_ENV]
    assert ANSWERS_ENV not in os.environ
    # the same in a reused kernel (the runner's default): the job's env arrives with its fresh session
    from workbench import kernels

    j.reuse_kernel = True
    try:
        result = report._run_job(j)
    finally:
        kernels.discard()
    assert result.status == "ok", result.problems
    assert result.headline["answers"] == jobs[1].env[ANSWERS_ENV] and ANSWERS_ENV not in os.environ


def test_the_runner_logs_a_performance_kernels_metrics_and_attaches_its_report(mlflow_uri, tmp_path):
    """A performance kernel under `workbench report` hands its metrics over (performance.log_results);
    the runner logs them to the period's run with the published report attached, as the kernel did."""
    import json

    from mlflow.tracking import MlflowClient

    from workbench import config, report, results_log

    period = tmp_path / "2026-W47"
    (period / "m-runner").mkdir(parents=True)
    (period / "m-runner" / "02-performance-review.html").write_text("<p>the report</p>")
    request = {"model": "m-runner", "period": "2026-W47", "versions": ["3"],
               "metrics": {"accuracy": 0.8, "accuracy_ci_low": 0.7, "roc_auc": float("nan")},
               "tags": {"workbench.status": "ok"}}
    r = report.JobResult("02-performance-review", "m-runner", "ok", html="m-runner/02-performance-review.html",
                         mlflow_log=dict(request))
    report._log_to_mlflow(r, config.Connections(None, "sqlite:///unused.db", mlflow_uri, False), period, {})
    assert (r.status, r.problems, r.mlflow_log) == ("ok", [], {})
    client = MlflowClient(mlflow_uri)
    rid = results_log.find_run(client, "m-runner", "2026-W47")
    run = client.get_run(rid)
    assert run.data.metrics == {"accuracy": 0.8, "accuracy_ci_low": 0.7}  # NaN is not logged
    assert run.data.tags["model_version"] == "3" and run.info.run_name == "m-runner 2026-W47"
    assert [a.path for a in client.list_artifacts(rid, "reports")] == ["reports/02-performance-review.html"]
    # the hand-over is not written to status.json
    assert "mlflow_log" not in json.loads(report.write_status(report.ReportRun("2026-W47", period, [r])).read_text()
                                          )["results"][0]

    # MLflow down: the run is incomplete, says where, and the review's findings file says so too
    (period / "m-runner" / "performance.findings.json").write_text("{}")
    r = report.JobResult("02-performance-review", "m-runner", "ok", html="m-runner/02-performance-review.html",
                         findings_file="m-runner/performance.findings.json", mlflow_log=dict(request))
    dead = config.Connections(None, "sqlite:///unused.db", "http://127.0.0.1:1", False)
    report._log_to_mlflow(r, dead, period, {"mlflow_request": "2s", "mlflow_retries": 0})
    assert r.status == "incomplete"
    assert r.problems and r.problems[0].startswith("MLflow logging: MLflow at http://127.0.0.1:1: "), r.problems
    doc = json.loads((period / "m-runner" / "performance.findings.json").read_text())
    assert doc["status"] == "incomplete" and doc["not_computed"] == r.problems
