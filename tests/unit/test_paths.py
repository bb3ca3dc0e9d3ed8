"""Drills 4 and 9 (issue 10): every output path stays under the output folder; a failed write
leaves no temporary file and no 0-byte report or notebook behind."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from workbench import atomic, config, report
from workbench.errors import ConfigError


@pytest.mark.parametrize("name", ["../../escaped-model", "..", ".", "a/b", "a\\b", "-rf", "", "m\x00", " m", "m name"])
def test_model_names_that_are_not_plain_folder_names_are_refused(name):
    with pytest.raises(Exception, match="model name|at least 1 character"):
        config.ModelSpec(name=name, type="regression")


@pytest.mark.parametrize("name", ["churn-predictor", "revenue_predictor.v2", "M1"])
def test_ordinary_model_names_pass(name):
    assert config.ModelSpec(name=name, type="regression").name == name


def test_weekly_params_with_escaping_model_name_name_file_and_key(tmp_path):
    p = tmp_path / "weekly.yaml"
    p.write_text("models:\n  - name: ../../escaped-model\n    type: regression\n")
    with pytest.raises(ConfigError, match=r"weekly.yaml: models.0.name: .*letters, digits"):
        config.load_weekly(p)


def test_under_refuses_paths_leaving_the_output_folder(tmp_path):
    assert report.under(tmp_path, "m1", "01.html") == (tmp_path / "m1" / "01.html").resolve()
    for parts in (("../../escaped-model", "01.html"), ("..", "x"), ("/etc", "passwd")):
        with pytest.raises(ConfigError, match="would leave the output folder"):
            report.under(tmp_path, *parts)


def test_a_job_for_an_escaping_model_writes_nothing_anywhere(tmp_path):
    out = tmp_path / "reports" / "2026-W47"
    out.mkdir(parents=True)
    job = report.Job("01-drift-review", "../../escaped-model", str(tmp_path / "none.ipynb"), {}, str(out),
                     str(tmp_path), work_dir=str(out / ".work-x"))
    r = report._run_job(job)
    assert r.status == "failed" and "model name" in r.problems[0]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["reports", "reports/2026-W47"]


def _disk_full(monkeypatch, after: int = 10):
    real = Path.write_text

    def write_text(self, data, *a, **k):
        if self.name.endswith(".tmp"):
            real(self, data[:after], *a, **k)  # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)


def test_failed_atomic_write_leaves_neither_tmp_nor_empty_file(tmp_path, monkeypatch):
    target = tmp_path / "m1" / "01.html"
    target.parent.mkdir()
    target.write_text("the last good report")
    _disk_full(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_text(target, "<html>new</html>")
    assert target.read_text() == "the last good report"
    assert [p.name for p in target.parent.iterdir()] == ["01.html"]


def test_atomic_writes_replace_whole_files_through_a_per_process_temporary(tmp_path, monkeypatch):
    target = tmp_path / "cache" / "profile.npz"
    assert atomic.write_bytes(target, b"\x00\x01") == target and target.read_bytes() == b"\x00\x01"
    atomic.write_text(target, "é")
    assert target.read_bytes() == "é".encode() and [p.name for p in target.parent.iterdir()] == ["profile.npz"]
    assert atomic.temp_path(target, 42).name == ".profile.npz.42.tmp"
    (target.parent / ".profile.npz.42.tmp").write_text("left by a killed worker")
    assert atomic.leftovers(tmp_path, 42) == [target.parent / ".profile.npz.42.tmp"]
    assert atomic.leftovers(tmp_path, 43) == [] and atomic.leftovers(tmp_path / "none", 42) == []
    real = Path.write_bytes

    def full(self, data):
        real(self, data[:1])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_bytes(target, b"new and longer")
    assert target.read_text(encoding="utf-8") == "é"


def test_empty_partial_notebook_is_neither_kept_nor_linked(tmp_path):
    period = tmp_path / "2026-W47"
    work = period / ".work" / "m1"
    work.mkdir(parents=True)
    empty = work / "01.ipynb"
    empty.write_text("")
    failed = period / "failed" / "m1" / "01.ipynb"
    failed.parent.mkdir(parents=True)
    failed.write_text("{}")  # an older run's notebook must not be linked as this run's
    result = report.JobResult("01", "m1", "failed")
    report._keep_partial(empty, failed, period, result, [])
    assert result.ipynb == "" and not failed.exists()
    assert any("no partial notebook" in p for p in result.problems)


def test_partial_notebook_is_kept_scrubbed(tmp_path):
    period = tmp_path / "2026-W47"
    period.mkdir()
    nb = tmp_path / "01.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "x = 'Sl4sh/S3cr3tPw'", "metadata": {},
                                         "outputs": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    failed = period / "failed" / "m1" / "01.ipynb"
    result = report.JobResult("01", "m1", "failed")
    report._keep_partial(nb, failed, period, result, report.secrets_from_env(
        {config.ENV_DATABASE: "postgresql://u:Sl4sh/S3cr3tPw@h/db"}))
    assert result.ipynb == "failed/m1/01.ipynb" and "S3cr3tPw" not in failed.read_text()
    assert json.loads(failed.read_text())["cells"][0]["source"] == "x = '***'"
