"""Notebook 03 draws whatever params/queries.yaml declares: a panel added there, and nowhere else,
is queried against the real demo Prometheus and drawn in its section of the infrastructure report."""

import re
import shutil

import pytest
import yaml

from workbench import config

pytestmark = pytest.mark.integration

NEW_PANEL = {"title": "Scrapes up per job (added in queries.yaml only)", "unit": "up",
             "section": "resources", "threshold": 0.5,
             "promql": "sum by (job) (up)"}


def _params_with_a_new_panel(tmp_path):
    params = tmp_path / "params"
    shutil.copytree(config.project_root() / "params", params)
    q = params / "queries.yaml"
    data = yaml.safe_load(q.read_text())
    data["panels"]["extra_panel"] = NEW_PANEL
    q.write_text(yaml.safe_dump(data, sort_keys=False))
    return params


def test_a_panel_added_to_the_catalog_is_drawn_in_its_section(demo_stack, tmp_path, monkeypatch):
    from workbench import report

    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    params = _params_with_a_new_panel(tmp_path)
    run = report.run(params / "weekly.yaml", out_dir=tmp_path / "reports", reviews=["infrastructure"],
                     notebooks_dir=config.project_root() / "notebooks", check=False)
    r = run.results[0]
    assert (r.model, r.review, r.status) == ("service", "infrastructure", "ok"), r.problems
    html = (run.directory / r.html).read_text()
    # the resources section lists what it drew: the new panel is there, after the shipped ones
    resources = html[html.index("Dependencies and resources"):html.index("Data coverage and server warnings")]
    drawn = re.search(r'<p class="wb-panels">Panels: (.*?)</p>', resources).group(1)
    assert "Scrapes up per job (added in queries.yaml only)" in drawn
    assert drawn.index("Process CPU (cores)") < drawn.index("Scrapes up per job")
    assert 'id="panel-extra_panel"' in resources  # findings can link to it
    # and it is not drawn among the traffic panels
    traffic = html[html.index('id="panels"'):html.index("Dependencies and resources")]
    assert "Scrapes up per job" not in traffic


def test_draw_panels_draws_each_catalog_panel_of_a_section_with_its_threshold(demo_stack, tmp_path, monkeypatch):
    from workbench import context, infrastructure

    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    params = _params_with_a_new_panel(tmp_path)
    ctx = context.open_review("", "", "demo", params, service=True)
    ctx.defer_problems = True
    rev = infrastructure.review(ctx)
    assert rev.problems == [] and rev.infra is not None
    fig = infrastructure.draw_panels(ctx, rev.infra, "resources")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[-1] == NEW_PANEL["title"] and "Process CPU (cores)" in titles
    new_ax = fig.axes[-1]
    assert any(list(line.get_ydata()) == [0.5, 0.5] for line in new_ax.get_lines())  # the literal threshold
    traffic = infrastructure.draw_panels(ctx, rev.infra, "traffic")
    by_title = {ax.get_title(): ax for ax in traffic.axes}
    assert NEW_PANEL["title"] not in by_title
    ratio = by_title["/predict error ratio"]  # threshold: error_ratio_alert of weekly.yaml
    assert any(list(line.get_ydata()) == [0.05, 0.05] for line in ratio.get_lines())
    # the per-model serving latency: one row per model of the demo, under the guide's 1 s
    latency = rev.latency.to_frame()
    assert set(latency["model"]) == {"churn-predictor", "revenue-predictor"}
    assert (latency["threshold_seconds"] == 1.0).all() and (latency["p95_seconds"] < 1.0).all()
