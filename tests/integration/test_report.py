"""The report runner on fixture notebooks: papermill runs them, nbconvert exports, failures are kept."""

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench import report
from workbench.errors import ConfigError

pytestmark = pytest.mark.integration

PARAMS = '''model = "m1"
week = ""
source = "auto"
params_file = "params/weekly.yaml"
status_file = ""'''

FINISH_OK = '''import json
if status_file:
    open(status_file, "w").write(json.dumps({"complete": True, "problems": []}))'''

BODIES = {
    "ok": [FINISH_OK, 'print("value <b>escaped</b>")'],
    "raises": ['raise RuntimeError("boom in the notebook")', FINISH_OK],
    "exits": ["import sys\nsys.exit(1)", FINISH_OK],
    "incomplete": ['''import json
open(status_file, "w").write(json.dumps({"complete": False, "problems": [{"section": "latency", "problem": "Prometheus down"}]}))'''],
    "leaks": ['import os\nprint(os.environ["WORKBENCH_DATABASE_URL"])', FINISH_OK],
    "plot": ['import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);', FINISH_OK],
}


def _notebook(body: list[str], with_params: bool = True):
    cells = [new_markdown_cell("# fixture")]
    if with_params:
        c = new_code_cell(PARAMS)
        c.metadata["tags"] = ["parameters"]
        cells.append(c)
    cells += [new_code_cell(b) for b in body]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "notebooks").mkdir()
    for name, body in BODIES.items():
        nbformat.write(_notebook(body), tmp_path / "notebooks" / f"{name}.ipynb")
    nbformat.write(_notebook([FINISH_OK], with_params=False), tmp_path / "notebooks" / "noparams.ipynb")
    monkeypatch.setenv("WORKBENCH_PROMETHEUS_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", "postgresql://app:hunter2secret@127.0.0.1:1/preds")

    def write_params(notebooks, models=("m1",)):
        models_yaml = "".join(f"  - name: {m}\n    type: classification\n" for m in models)
        nbs = "".join(f"  - {n}\n" for n in notebooks)
        p = tmp_path / "params" / "weekly.yaml"
        p.write_text(f"models:\n{models_yaml}notebooks:\n{nbs}")
        return p
    return tmp_path, write_params


def test_good_notebooks_become_offline_html_and_an_index(project):
    root, write = project
    run = report.run(write(["ok", "plot"], models=("m1", "m2")), week="2026-W47", out_dir=root / "reports", jobs=2)
    assert run.ok and len(run.results) == 4
    html = (root / "reports" / "2026-W47" / "m1" / "plot.html").read_text()
    assert "data:image/png;base64," in html  # images embedded
    assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from a CDN
    assert "FINISH_OK" not in html and "plt.plot" not in html  # code hidden
    ok_html = (root / "reports" / "2026-W47" / "m2" / "ok.html").read_text()
    assert "value &lt;b&gt;escaped&lt;/b&gt;" in ok_html
    index = (root / "reports" / "2026-W47" / "index.html").read_text()
    assert "m1/ok.html" in index and "m2/plot.html" in index
    assert "2026-W47/index.html" in (root / "reports" / "index.html").read_text()


@pytest.mark.parametrize("bad", ["raises", "exits"])
def test_failing_notebook_is_kept_and_does_not_replace_the_good_report(project, bad):
    root, write = project
    out = root / "reports"
    # an earlier good report of the same name
    good = out / "2026-W47" / "m1" / f"{bad}.html"
    good.parent.mkdir(parents=True)
    good.write_text("earlier good report")
    run = report.run(write([bad, "ok"]), week="2026-W47", out_dir=out)
    assert not run.ok
    by_nb = {r.notebook: r for r in run.results}
    assert by_nb["ok"].status == "ok"  # the others still produce their reports
    failed = by_nb[bad]
    assert failed.status == "failed" and failed.html == ""
    assert good.read_text() == "earlier good report"
    partial = out / "2026-W47" / failed.ipynb
    assert partial.exists() and "failed" in failed.ipynb
    executed = nbformat.read(partial, as_version=4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    index = (out / "2026-W47" / "index.html").read_text()
    assert "last good report" in index and "partial notebook" in index
    if bad == "raises":
        assert "boom in the notebook" in failed.problems[0]


def test_incomplete_run_is_marked_and_kept_apart(project):
    root, write = project
    run = report.run(write(["incomplete"]), week="2026-W47", out_dir=root / "reports")
    r = run.results[0]
    assert r.status == "incomplete" and r.html.endswith("incomplete.incomplete.html")
    assert r.problems == ["latency: Prometheus down"]
    assert not run.ok


def test_password_in_output_is_redacted_and_the_report_published(project):
    root, write = project
    run = report.run(write(["leaks"]), week="2026-W47", out_dir=root / "reports")
    assert run.results[0].status == "ok"  # withheld only when redaction cannot hide it (issue 8)
    assert "postgresql://app:***@127.0.0.1:1/preds" in (root / "reports" / "2026-W47" / "m1" / "leaks.html").read_text()
    for f in (root / "reports").rglob("*"):
        if f.is_file():
            assert "hunter2secret" not in f.read_text(errors="replace"), f


def test_unknown_parameter_is_rejected_before_anything_runs(project):
    root, write = project
    with pytest.raises(ConfigError, match="colour not declared by ok.ipynb"):
        report.run(write(["ok"]), week="2026-W47", out_dir=root / "reports", extra={"colour": "red"})
    assert not (root / "reports").exists()


def test_notebook_without_parameters_cell_is_rejected(project):
    root, write = project
    with pytest.raises(ConfigError, match="no cell tagged 'parameters'"):
        report.run(write(["noparams"]), week="2026-W47", out_dir=root / "reports")


def test_unknown_model_and_bad_week_are_rejected(project):
    root, write = project
    with pytest.raises(ConfigError, match="unknown model 'zz'; choose one of: m1"):
        report.run(write(["ok"]), week="2026-W47", out_dir=root / "reports", models=["zz"])
    with pytest.raises(ConfigError, match="ISO week"):
        report.run(write(["ok"]), week="last week", out_dir=root / "reports")


def test_status_json_summarises_the_run(project):
    root, write = project
    report.run(write(["ok", "raises"]), week="2026-W47", out_dir=root / "reports")
    st = json.loads((root / "reports" / "2026-W47" / "status.json").read_text())
    assert st["ok"] is False
    assert sorted(r["status"] for r in st["results"]) == ["failed", "ok"]


def test_a_run_for_one_model_keeps_the_others_in_the_index(project):
    root, write = project
    p = write(["ok"], models=("m1", "m2"))
    report.run(p, week="2026-W47", out_dir=root / "reports")
    report.run(p, week="2026-W47", out_dir=root / "reports", models=["m1"])
    st = json.loads((root / "reports" / "2026-W47" / "status.json").read_text())
    assert sorted(r["model"] for r in st["results"]) == ["m1", "m2"]
    assert "m2/ok.html" in (root / "reports" / "2026-W47" / "index.html").read_text()
    assert not list((root / "reports" / "2026-W47").glob(".work*"))


def test_errors_are_scrubbed_of_passwords(project):
    root, write = project
    nbformat.write(_notebook(['import os\\nraise RuntimeError("cannot reach " + os.environ["WORKBENCH_DATABASE_URL"])']),
                   root / "notebooks" / "rude.ipynb")
    run = report.run(write(["rude"]), week="2026-W47", out_dir=root / "reports")
    r = run.results[0]
    assert r.status == "failed" and "hunter2secret" not in " ".join(r.problems)
    for f in (root / "reports").rglob("*"):
        if f.is_file():
            assert "hunter2secret" not in f.read_text(errors="replace"), f
