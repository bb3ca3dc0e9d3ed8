"""What the Airflow tests share (tests/airflow in-process, tests/distributed on Celery workers): the
Airflow virtualenv, the environment of an Airflow process, a one-model params set, and the check that
a DAG run's reports and statuses equal `workbench report`'s for the same week."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def airflow_python() -> Path:
    """The Airflow virtualenv's python; fails (never skips) when `make airflow-venv` has not run."""
    venv = Path(os.environ.get("WORKBENCH_AIRFLOW_VENV", ROOT / ".venv-airflow"))
    py = venv / "bin" / "python"
    if not py.exists():
        pytest.fail(f"no Airflow virtualenv at {venv}: run `make airflow-venv` (make test does)")
    return py


def airflow_env(tmp_path: Path, demo_root: Path, params: Path, out: Path | str) -> dict[str, str]:
    """The environment of an Airflow process: a fresh AIRFLOW_HOME under `tmp_path`, this checkout's
    DAG folder and package, the demo source and the params/reports of the run."""
    home = tmp_path / "airflow-home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "WORKBENCH_DEMO_DIR": str(demo_root), "WORKBENCH_PARAMS": str(params), "WORKBENCH_REPORTS": str(out),
            "WORKBENCH_SOURCE": "demo", "PYTHONPATH": str(ROOT / "src")}


def one_model_params(tmp_path: Path, model: str) -> Path:
    """The project's params with only `model` (keeps the test's runtime down)."""
    folder = tmp_path / "params"
    shutil.copytree(ROOT / "params", folder)
    weekly = yaml.safe_load((folder / "weekly.yaml").read_text())
    weekly["models"] = [m for m in weekly["models"] if m["name"] == model]
    (folder / "weekly.yaml").write_text(yaml.safe_dump(weekly, sort_keys=False))
    return folder / "weekly.yaml"


def statuses(period_dir: Path) -> list[tuple]:
    """(model, notebook, status, html, problems) of every result in a period's status.json, sorted."""
    st = json.loads((period_dir / "status.json").read_text())
    return sorted((r["model"], r["notebook"], r["status"], r["html"], tuple(r["problems"])) for r in st["results"])


def assert_same_as_report(out: Path, week: str, direct_period: Path) -> None:
    """The DAG's output folder `out` holds the week page, the index of all weeks, and the same
    statuses and report files as `workbench report`'s period folder `direct_period`."""
    period = out / week
    assert (period / "index.html").exists() and (out / "index.html").exists()
    assert statuses(period) == statuses(direct_period)
    for _model, _notebook, _status, html, _problems in statuses(period):
        assert (period / html).is_file(), html
