"""The demo stack used from a folder without params/ (an installed wheel): the runner finds the stack in
the folder it runs in, and its kernels (started in the notebooks' folder) use that same stack."""

import shutil
from pathlib import Path

import pytest

from workbench import config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_report_from_a_folder_without_params_uses_the_demo_stack_found_there(demo_stack, tmp_path, monkeypatch):
    from workbench import report

    root, _ = demo_stack
    team = tmp_path / "team"
    (team / "data").mkdir(parents=True)
    (team / "data" / "demo").symlink_to(root)  # `workbench demo up` run in this folder
    # the notebooks live elsewhere (as in site-packages), under a folder whose own data/demo is not running
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "notebooks", elsewhere / "notebooks", ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(ROOT / "params", elsewhere / "params")
    for var in (config.ENV_DEMO_DIR, "WORKBENCH_PROMETHEUS_URL", "WORKBENCH_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(team)
    run = report.run(ROOT / "params" / "weekly.yaml", out_dir=team / "reports", reviews=["infrastructure"],
                     notebooks_dir=elsewhere / "notebooks", jobs=1)
    [result] = run.results
    assert (result.model, result.status) == ("service", "ok"), result.problems
    assert not any("not running" in p for p in result.problems)
