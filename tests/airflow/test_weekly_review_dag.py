"""The Airflow DAG for real: it imports without errors and `airflow dags test` against the demo
stack gives the same reports and statuses as `workbench report` for the same week.

Needs the Airflow virtualenv (`make airflow-venv`, which `make test` runs first); without it the
test fails and says so, it is never skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from airflow_run import ROOT, airflow_env, airflow_python, assert_same_as_report, one_model_params
from workbench import config, report

pytestmark = pytest.mark.integration


def test_dag_imports_without_errors(tmp_path):
    py = airflow_python()
    code = ("from airflow.dag_processing.dagbag import DagBag\n"
            f"b = DagBag({str(ROOT / 'dags')!r})\n"
            "import json; print(json.dumps({'errors': {k: str(v) for k, v in b.import_errors.items()}, "
            "'dags': sorted(b.dags), 'schedule': str(b.dags['weekly_review'].schedule) if 'weekly_review' in b.dags else '', "
            "'catchup': b.dags['weekly_review'].catchup if 'weekly_review' in b.dags else None}))")
    env = airflow_env(tmp_path, tmp_path, ROOT / "params" / "weekly.yaml", tmp_path / "out")
    p = subprocess.run([str(py), "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    assert out["dags"] == ["weekly_review"]
    assert out["schedule"] == "0 6 * * 1" and out["catchup"] is False


def test_dags_test_matches_workbench_report(demo_stack, tmp_path, monkeypatch):
    py = airflow_python()
    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    week = config.last_full_week()
    params = one_model_params(tmp_path, "revenue-predictor")

    direct = report.run(params, week.label, tmp_path / "direct", source="demo", jobs=2)
    assert direct.results and all(r.status == "ok" for r in direct.results), [r.problems for r in direct.results]

    out = tmp_path / "airflow-out"
    env = airflow_env(tmp_path, root, params, out)
    airflow = str(py.parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=900)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    # the run at Monday 00:00 after the week closes that week (the schedule's Monday 06:00 maps the same way)
    logical = week.end.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    run = subprocess.run([airflow, "dags", "test", "weekly_review", logical], env=env, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])

    assert_same_as_report(out, week.label, direct.directory)


def test_a_broken_params_file_fails_the_run_and_keeps_last_weeks_page(tmp_path):
    """A params file that does not validate fails the DAG run, with no notification channel configured
    too (week_page, the leaf task, used to rewrite last run's page and succeed) (19.8.6)."""
    py = airflow_python()
    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    (params / "weekly.yaml").write_text("models:\n  - {name: m, type: regresion}\n")  # not a model type
    out = tmp_path / "out"
    week = config.last_full_week()
    (out / week.label).mkdir(parents=True)
    (out / week.label / "status.json").write_text(json.dumps({"period": week.label, "ok": True, "results": []}))
    (out / week.label / "index.html").write_text("last run's page")
    env = airflow_env(tmp_path, tmp_path, params / "weekly.yaml", out)
    for var in ("WORKBENCH_SLACK_WEBHOOK_URL", "WORKBENCH_SMTP_URL"):
        env.pop(var, None)
    airflow = str(py.parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=900)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    logical = week.end.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    run = subprocess.run([airflow, "dags", "test", "weekly_review", logical], env=env, capture_output=True,
                         text=True, timeout=1800)
    runs = subprocess.run([airflow, "dags", "list-runs", "weekly_review", "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert runs.returncode == 0, runs.stderr[-3000:]
    listed = [line for line in runs.stdout.splitlines() if line.startswith("[")][-1]  # after any warnings
    states = [r["state"] for r in json.loads(listed)]
    assert states == ["failed"]
    assert "the week page was not rewritten: " in run.stdout + run.stderr
    assert (out / week.label / "index.html").read_text() == "last run's page"
