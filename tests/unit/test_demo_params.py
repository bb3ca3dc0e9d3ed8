"""`workbench demo up` from an installed wheel in a folder without params/: the demo's alert rules, queries
and SLOs come from the packaged default params (workbench.resources), not from the working folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench import config, resources
from workbench.demo import data, fleet, stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """As a wheel: default params inside the package, no checkout above it, cwd a folder without params/."""
    package = tmp_path / "site-packages" / "workbench"
    shutil.copytree(ROOT / "params", package / "default_params")
    monkeypatch.setattr(resources, "_PACKAGE", package)
    monkeypatch.setattr(resources, "_CHECKOUT", tmp_path / "no-checkout")
    work = tmp_path / "team"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(config.ConfigError):
        config.project_root()  # nothing to find from here
    return package / "default_params"


def test_demo_rules_and_fleet_params_come_from_the_packaged_defaults(installed, tmp_path):
    assert stack._rules_file() == installed / "alerts.yaml"
    weekly_file = fleet.write_params(tmp_path / "fleet-params", data.fleet_specs(3, seed=7))
    for name in fleet.SIBLINGS:
        assert (weekly_file.parent / name).read_bytes() == (installed / name).read_bytes()
    config.load_queries(weekly_file.parent / "queries.yaml")
    config.load_slos(weekly_file.parent / "slos.yaml")


def test_a_project_s_own_params_win_over_the_packaged_defaults(installed, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "params").mkdir(parents=True)
    (project / "params" / "weekly.yaml").write_text("models: []\n")
    (project / "params" / "alerts.yaml").write_text("groups: []\n")
    monkeypatch.chdir(project)
    assert stack._rules_file() == project / "params" / "alerts.yaml"
    assert fleet.params_file("slos.yaml") == installed / "slos.yaml"  # the project has none: the default
