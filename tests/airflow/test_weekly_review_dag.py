"""The Airflow DAG for real: it imports without errors and `airflow dags test` against the demo
stack gives the same reports and statuses as `workbench report` for the same week.

Needs the Airflow virtualenv (`make airflow-venv`, which `make test` runs first); without it the
test fails and says so, it is never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from workbench import config, report

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _airflow_python() -> Path:
    venv = Path(os.environ.get("WORKBENCH_AIRFLOW_VENV", ROOT / ".venv-airflow"))
    py = venv / "bin" / "python"
    if not py.exists():
        pytest.fail(f"no Airflow virtualenv at {venv}: run `make airflow-venv` (make test does)")
    return py


def _env(tmp_path: Path, demo_root: Path, params: Path, out: Path) -> dict[str, str]:
    home = tmp_path / "airflow-home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "WORKBENCH_DEMO_DIR": str(demo_root), "WORKBENCH_PARAMS": str(params), "WORKBENCH_REPORTS": str(out),
            "WORKBENCH_SOURCE": "demo", "PYTHONPATH": str(ROOT / "src")}


def _one_model_params(tmp_path: Path, model: str) -> Path:
    """The project's params with only `model` (keeps the test's runtime down)."""
    folder = tmp_path / "params"
    shutil.copytree(ROOT / "params", folder)
    weekly = yaml.safe_load((folder / "weekly.yaml").read_text())
    weekly["models"] = [m for m in weekly["models"] if m["name"] == model]
    (folder / "weekly.yaml").write_text(yaml.safe_dump(weekly, sort_keys=False))
    return folder / "weekly.yaml"


def _statuses(period_dir: Path) -> list[tuple]:
    st = json.loads((period_dir / "status.json").read_text())
    return sorted((r["model"], r["notebook"], r["status"], r["html"], tuple(r["problems"])) for r in st["results"])


def test_dag_imports_without_errors(tmp_path):
    py = _airflow_python()
    code = ("from airflow.dag_processing.dagbag import DagBag\n"
            f"b = DagBag({str(ROOT / 'dags')!r})\n"
            "import json; print(json.dumps({'errors': {k: str(v) for k, v in b.import_errors.items()}, "
            "'dags': sorted(b.dags), 'schedule': str(b.dags['weekly_review'].schedule) if 'weekly_review' in b.dags else '', "
            "'catchup': b.dags['weekly_review'].catchup if 'weekly_review' in b.dags else None}))")
    env = _env(tmp_path, tmp_path, ROOT / "params" / "weekly.yaml", tmp_path / "out")
    p = subprocess.run([str(py), "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    assert out["dags"] == ["weekly_review"]
    assert out["schedule"] == "0 6 * * 1" and out["catchup"] is False


def test_dags_test_matches_workbench_report(demo_stack, tmp_path, monkeypatch):
    py = _airflow_python()
    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    week = config.last_full_week()
    params = _one_model_params(tmp_path, "revenue-predictor")

    direct = report.run(params, week.label, tmp_path / "direct", source="demo", jobs=2)
    assert direct.results and all(r.status == "ok" for r in direct.results), [r.problems for r in direct.results]

    out = tmp_path / "airflow-out"
    env = _env(tmp_path, root, params, out)
    airflow = str(py.parent / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=900)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    # the run at Monday 00:00 after the week closes that week (the schedule's Monday 06:00 maps the same way)
    logical = week.end.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    run = subprocess.run([airflow, "dags", "test", "weekly_review", logical], env=env, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])

    period = out / week.label
    assert (period / "index.html").exists() and (out / "index.html").exists()
    assert _statuses(period) == _statuses(direct.directory)
    for model, notebook, status, html, _ in _statuses(period):
        assert (period / html).is_file(), html


def test_a_broken_params_file_fails_the_run_and_keeps_last_weeks_page(tmp_path):
    """A params file that does not validate fails the DAG run, with no notification channel configured
    too (week_page, the leaf task, used to rewrite last run's page and succeed) (19.8.6)."""
    py = _airflow_python()
    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    (params / "weekly.yaml").write_text("models:\n  - {name: m, type: regresion}\n")  # not a model type
    out = tmp_path / "out"
    week = config.last_full_week()
    (out / week.label).mkdir(parents=True)
    (out / week.label / "status.json").write_text(json.dumps({"period": week.label, "ok": True, "results": []}))
    (out / week.label / "index.html").write_text("last run's page")
    env = _env(tmp_path, tmp_path, params / "weekly.yaml", out)
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
