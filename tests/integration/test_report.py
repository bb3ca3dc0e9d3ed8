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
params_dir = "../params"
data_until = ""
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

    # models carry a reference file (never read by these fixture notebooks): with no MLflow here, a model
    # without one would have its drift review skipped (tested in tests/unit/test_weekpage.py)
    def write_params(notebooks, models=("m1",), reference="data/reference.parquet"):
        ref = f"    reference: {reference}\n" if reference else ""
        models_yaml = "".join(f"  - name: {m}\n    type: classification\n{ref}" for m in models)
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
    with pytest.raises(ConfigError, match=r"-p colour: no notebook of this run declares it \(ok.ipynb\)"):
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


FINDINGS = '''import json
if status_file:
    open(status_file, "w").write(json.dumps({"complete": True, "problems": [], "level": "alert",
        "findings": [{"severity": "alert", "subject": "accuracy", "kind": "metric",
                      "sentence": "accuracy 0.70 is below 0.75", "anchor": "headline", "value": 0.7}],
        "headline": {"accuracy": 0.7}}))'''


def test_findings_are_written_beside_the_report_and_into_status(project):
    root, write = project
    nbformat.write(_notebook([FINDINGS]), root / "notebooks" / "02-performance-review.ipynb")
    run = report.run(write(["02-performance-review", "ok"]), week="2026-W47", out_dir=root / "reports", check=False)
    by_nb = {r.notebook: r for r in run.results}
    perf = by_nb["02-performance-review"]
    assert perf.status == "ok" and perf.level == "alert"  # it ran, and it found something
    doc = json.loads((root / "reports" / "2026-W47" / "m1" / "performance.findings.json").read_text())
    assert doc["schema"] == 1 and doc["review"] == "performance" and doc["level"] == "alert"
    assert doc["findings"][0]["sentence"] == "accuracy 0.70 is below 0.75" and doc["headline"] == {"accuracy": 0.7}
    st = json.loads((root / "reports" / "2026-W47" / "status.json").read_text())
    assert st["level"] == "alert"
    # a notebook that records no findings is "ok" only because it ran complete; its level says so
    assert by_nb["ok"].level == "ok"


def test_reviews_subset_and_deferred_indexes(project):
    root, write = project
    for nb in ("01-drift-review", "02-performance-review"):
        nbformat.write(_notebook([FINISH_OK]), root / "notebooks" / f"{nb}.ipynb")
    p = write(["01-drift-review", "02-performance-review"], models=("m1", "m2"))
    out = root / "reports"
    with pytest.raises(ConfigError, match="unknown review 'latency'"):
        report.run(p, week="2026-W47", out_dir=out, reviews=["latency"], check=False)
    # one model and review per call, as a scheduler task would, indexes written once at the end
    for m in ("m1", "m2"):
        # fixture notebooks named like the real reviews: the real reviews' source checks do not apply
        run = report.run(p, week="2026-W47", out_dir=out, models=[m], reviews=["drift"], index=False, check=False)
        assert [(r.model, r.review) for r in run.results] == [(m, "drift")]
    assert not (out / "2026-W47" / "index.html").exists()
    report.write_indexes(out, "2026-W47")
    index = (out / "2026-W47" / "index.html").read_text()
    assert "m1/01-drift-review.html" in index and "m2/01-drift-review.html" in index
    assert "02-performance-review" not in index


TYPED = '''import json
if status_file:
    open(status_file, "w").write(json.dumps({"complete": True, "problems": [],
        "headline": {"sample": evidently_sample, "is_int": isinstance(evidently_sample, int)}}))'''


def test_p_values_are_typed_and_go_only_to_the_notebooks_that_declare_them(project):
    from workbench import cli

    root, write = project
    nb = _notebook([TYPED])
    nb.cells[1].source += "\nevidently_sample = 20000"
    nbformat.write(nb, root / "notebooks" / "01-drift-review.ipynb")
    nbformat.write(_notebook([FINISH_OK]), root / "notebooks" / "02-performance-review.ipynb")
    extra = cli._params(["evidently_sample=0"])
    assert extra == {"evidently_sample": 0} and isinstance(extra["evidently_sample"], int)
    run = report.run(write(["01-drift-review", "02-performance-review"]), week="2026-W47", out_dir=root / "reports",
                     extra=extra, check=False)
    by = {r.review: r for r in run.results}
    assert run.ok and by["drift"].headline == {"sample": 0, "is_int": True}  # int 0, not the string "0"
    assert by["performance"].status == "ok"  # it does not declare evidently_sample and still ran


@pytest.mark.parametrize("owned", ["week=2026-W45", "model=m2", "params_dir=/tmp", "status_file=x", "output_dir=/tmp"])
def test_runner_owned_parameters_cannot_be_set_with_p(project, owned):
    from workbench import cli

    root, write = project
    good = root / "reports" / "2026-W47" / "m1" / "ok.html"
    good.parent.mkdir(parents=True)
    good.write_text("the good W47 report")
    with pytest.raises(ConfigError, match=f"-p {owned.split('=')[0]}: set by the runner"):
        report.run(write(["ok"]), week="2026-W47", out_dir=root / "reports", extra=cli._params([owned]))
    assert good.read_text() == "the good W47 report"
    assert not (root / "reports" / "2026-W45").exists()


def test_a_review_whose_source_is_not_configured_is_skipped_not_failed(project, monkeypatch):
    root, write = project
    monkeypatch.delenv("WORKBENCH_PROMETHEUS_URL")  # the database alone is a valid configuration
    for nb in ("01-drift-review", "03-infrastructure-review"):
        nbformat.write(_notebook([FINISH_OK]), root / "notebooks" / f"{nb}.ipynb")
    run = report.run(write(["01-drift-review", "03-infrastructure-review"]), week="2026-W47",
                     out_dir=root / "reports", check=False)
    by = {r.review: r for r in run.results}
    assert by["drift"].status == "ok"
    assert by["infrastructure"].status == "skipped" and "WORKBENCH_PROMETHEUS_URL" in by["infrastructure"].problems[0]
    assert run.ok  # not an error: exit 0
    st = json.loads((root / "reports" / "2026-W47" / "status.json").read_text())
    skipped = [r for r in st["results"] if r["status"] == "skipped"]
    assert len(skipped) == 1 and "Prometheus is not configured" in skipped[0]["problems"][0]
    index = (root / "reports" / "2026-W47" / "index.html").read_text()
    assert "skipped" in index and "Prometheus is not configured" in index
    assert not (root / "reports" / "2026-W47" / "m1" / "03-infrastructure-review.html").exists()


def test_unfinished_week_needs_partial_and_a_future_week_is_refused(project):
    import datetime as dt

    root, write = project
    p = write(["ok"])
    wednesday = dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.timezone.utc)  # in 2026-W48
    with pytest.raises(ConfigError, match="2026-W48 is not finished.*--partial"):
        report.plan(p, "2026-W48", root / "reports", now=wednesday)
    with pytest.raises(ConfigError, match="2026-W49 has not started"):
        report.plan(p, "2026-W49", root / "reports", now=wednesday, partial=True)
    window, jobs = report.plan(p, "2026-W48", root / "reports", now=wednesday, partial=True)
    assert window.partial and window.end == dt.datetime(2026, 11, 25, 14, tzinfo=dt.timezone.utc)
    assert window.partial_note == "partial: data until 2026-11-25 14:00 UTC"
    assert jobs[0].parameters["data_until"] == "2026-11-25T14:00:00+00:00"
    # week over week compares the same elapsed span of the previous week, not the whole week
    prev = window.previous()
    assert (prev.start, prev.end) == (dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc),
                                      dt.datetime(2026, 11, 18, 14, tzinfo=dt.timezone.utc))
    assert not (root / "reports").exists()


def test_params_are_resolved_once_and_passed_as_an_absolute_folder(project, tmp_path_factory):
    root, write = project
    p = write(["ok"])
    _, jobs = report.plan(p, "2026-W47", root / "reports")
    assert jobs[0].parameters["params_dir"] == str((root / "params").resolve())
    _, jobs = report.plan(root / "params", "2026-W47", root / "reports")  # the folder itself
    assert jobs[0].parameters["params_dir"] == str((root / "params").resolve())
    other = tmp_path_factory.mktemp("elsewhere") / "weekly-alt.yaml"
    other.write_text(p.read_text())
    _, jobs = report.plan(other, "2026-W47", root / "reports", notebooks_dir=root / "notebooks")
    assert jobs[0].parameters["params_dir"] == str(other.resolve())


SESSION = '''import json, os
import matplotlib
seen = {"pid": os.getpid(), "leaked_name": "leak" in globals(), "leaked_env": os.environ.get("WB_TEST_LEAK"),
        "count": get_ipython().execution_count, "dpi": float(matplotlib.rcParams["figure.dpi"]), "cwd": os.getcwd()}
leak = 1
os.environ["WB_TEST_LEAK"] = "set by the notebook before"
matplotlib.rcParams["figure.dpi"] = 17
open(status_file, "w").write(json.dumps({"complete": True, "problems": [], "headline": seen}))'''


def _sessions(root, write, models, notebooks=("session",), **kw):
    nbformat.write(_notebook([SESSION]), root / "notebooks" / "session.ipynb")
    run = report.run(write(list(notebooks), models=models), week="2026-W47", out_dir=root / "reports", jobs=1, **kw)
    return [r.headline for r in run.results if r.notebook == "session"], run


def test_a_worker_reuses_its_kernel_with_a_fresh_session_for_each_notebook(project):
    """One worker, three notebooks: one kernel process, and nothing of one notebook reaches the next
    (names, environment, matplotlib settings, execution count, folder)."""
    root, write = project
    seen, run = _sessions(root, write, ("m1", "m2", "m3"))
    assert run.ok and len(seen) == 3
    assert len({s["pid"] for s in seen}) == 1  # reused
    first = seen[0]
    for s in seen[1:]:
        assert s["leaked_name"] is False and s["leaked_env"] is None
        assert s["dpi"] == first["dpi"] != 17 and s["count"] == first["count"] and s["cwd"] == first["cwd"]


def test_a_failed_notebook_takes_its_kernel_with_it(project):
    root, write = project
    nbformat.write(_notebook([SESSION]), root / "notebooks" / "session.ipynb")
    run = report.run(write(["session", "raises", "session"], models=("m1",)), week="2026-W47",
                     out_dir=root / "reports", jobs=1)
    # one worker runs the plan in order: the notebook that raised sits between the two sessions
    by = [(r.notebook, r.status, r.headline.get("pid")) for r in run.results]
    assert [(n, s) for n, s, _ in by] == [("session", "ok"), ("raises", "failed"), ("session", "ok")]
    assert by[0][2] != by[2][2]


def test_fresh_kernels_give_every_notebook_its_own_kernel(project):
    root, write = project
    seen, run = _sessions(root, write, ("m1", "m2"), fresh_kernels=True)
    assert run.ok and seen[0]["pid"] != seen[1]["pid"]


def test_a_kernel_inherited_through_fork_is_left_to_its_parent(project):
    """A worker forked from a process that holds a kernel (a test session, a notebook calling the
    runner) finds the parent's kernel in workbench.kernels: it starts its own and never touches that
    one (using the parent's sockets from the child spun forever)."""
    import os

    from workbench import kernels

    root, _ = project
    parents = object()  # any use of it (is_alive, shutdown) would raise
    kernels._held = kernels._Held(km=parents, pid=os.getpid() + 1)
    try:
        km = kernels.kernel_for({"WB_X": "1"}, str(root))
        assert km is not parents and kernels._held.pid == os.getpid() and kernels._held.used == 1
    finally:
        kernels.discard()
    assert kernels._held is None


def test_reused_kernels_show_the_figures_of_every_notebook_they_run(project):
    """The 2nd and 3rd notebook of a reused kernel publish their figures like the 1st: restoring the
    first session's matplotlib settings (`interactive` among them) once left the inline backend silent."""
    root, write = project
    run = report.run(write(["plot"], models=("m1", "m2", "m3")), week="2026-W47", out_dir=root / "reports", jobs=1)
    assert run.ok and len(run.results) == 3
    images = {m: (root / "reports" / "2026-W47" / m / "plot.html").read_text().count("<img ")
              for m in ("m1", "m2", "m3")}
    assert images == {"m1": 1, "m2": 1, "m3": 1}
