"""Issue 22, point 4: escaping is the template engine's, not hand-written. No module of workbench but
redaction (which computes the escaped forms of the secrets it scrubs) imports `html` to escape or
builds HTML in an f-string (checked on the syntax tree), and a hostile value passed through each of the
reports' building blocks (tables, performance lines, drift's Evidently notice and link, multivariate's
caption, infrastructure's panels line, the context's skipped line and could-not-compute box) is text
in the HTML, never markup."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from workbench import config, context, tables  # noqa: E402
from workbench.drift import evidently  # noqa: E402
from workbench.infrastructure import core as infra  # noqa: E402
from workbench.performance import core as perf_core, explain, sections  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "workbench"
ALLOWED = {"redaction.py"}  # it escapes secrets to find them in a page, it builds no HTML
HOSTILE = "</script><script>alert(\"x\")</script> & 'q'"
TAG = re.compile(r"<[A-Za-z/]")


def _hand_escapes(path: Path, source: str | None = None) -> list[str]:
    """Where `path` (or `source`, the code read from it) escapes HTML by hand: importing `html` (the
    module, or `escape` from it, not html.parser), calling html.escape, importing markupsafe; or an
    f-string (or a `+` of a string) whose literal text holds an HTML tag, i.e. HTML built around values."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if a.name in ("html", "markupsafe")]
        elif isinstance(node, ast.ImportFrom) and node.module in ("html", "markupsafe", "xml.sax.saxutils"):
            found += [f"{where} from {node.module} import {a.name}" for a in node.names
                      if node.module != "html" or a.name == "escape"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "escape"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "html"):
            found.append(f"{where} html.escape()")
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if TAG.search(text):
                found.append(f"{where} f-string with HTML: {text[:60]!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            sides = [s for s in (node.left, node.right) if isinstance(s, ast.Constant) and isinstance(s.value, str)]
            if len(sides) == 1 and TAG.search(sides[0].value):
                found.append(f"{where} string + value with HTML: {sides[0].value[:60]!r}")
    return found


def test_no_module_but_redaction_escapes_html_by_hand_or_builds_it_in_an_f_string():
    files = [p for p in SRC.rglob("*.py") if p.name not in ALLOWED or p.parent != SRC]
    assert len(files) > 50 and (SRC / "redaction.py") not in files
    found = [f for p in files for f in _hand_escapes(p)]
    assert found == [], "escape in templates/snippets.html (pages.render_snippet) instead:\n" + "\n".join(found)
    assert _hand_escapes(SRC / "redaction.py")  # the one allowed module is seen by the finder


def test_no_notebook_escapes_html_by_hand():
    """The notebooks call the package for HTML too (their code cells, as one module each)."""
    import json

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 3
    found = []
    for nb in notebooks:
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        found += _hand_escapes(nb, code)
    assert found == [], "call the package (workbench.display) instead:\n" + "\n".join(found)


def test_the_finder_sees_each_way_of_escaping_by_hand_and_nothing_else(tmp_path):
    bad = {"import html\nx = html.escape(v)\n": 2, "from html import escape as e\n": 1, "import markupsafe\n": 1,
           "x = f'<p>{v}</p>'\n": 1, "x = '<a href=\"' + v\n": 1, "x = ('<p><i>' f'{v}' '</i></p>')\n": 1}
    good = ["from html.parser import HTMLParser\n", "x = f'< {v}'\n", "x = f'<{link}|Open>'\n", "x = '<p>' + '</p>'\n",
            "x = re.escape(v)\n", "x = 'a' + v\n"]
    for i, (code, n) in enumerate(bad.items()):
        (tmp_path / f"bad{i}.py").write_text(code)
        assert len(_hand_escapes(tmp_path / f"bad{i}.py")) == n, code
    for i, code in enumerate(good):
        (tmp_path / f"good{i}.py").write_text(code)
        assert _hand_escapes(tmp_path / f"good{i}.py") == [], code


# --- hostile values through each building block ---------------------------------------------------------

def _soup(html: str) -> BeautifulSoup:
    assert "<script>" not in html and "</script>" not in html, html
    return BeautifulSoup(html, "html.parser")


def _text(html: str) -> str:
    return _soup(html).get_text()


def test_a_table_keeps_hostile_values_text_in_its_empty_note_caption_and_declared_kinds():
    assert _text(tables.table(None, empty=HOSTILE).data) == HOSTILE
    assert _text(tables.table(pd.DataFrame(), empty=HOSTILE).data) == HOSTILE
    frame = pd.DataFrame({HOSTILE: [1.5, None], "n": [1.5, 2.0]})
    page = _soup(tables.table(frame, caption=HOSTILE, missing=HOSTILE).to_html())
    table = page.find("table")
    assert table["class"] == ["wb-table"]
    assert json.loads(table["data-kinds"]) == {HOSTILE: "number", "n": "number"}
    assert page.find("caption").get_text() == f"{HOSTILE} · * —: {HOSTILE}"
    # a column guessed as "count" whose values are not whole is named in data-rounded
    attrs = tables._declaration(frame, {HOSTILE: "count", "n": "number"}, {}, None)
    table = _soup(f"<table {attrs}></table>").find("table")
    assert json.loads(table["data-kinds"]) == {HOSTILE: "count", "n": "number"}
    assert json.loads(table["data-rounded"]) == [HOSTILE] and table["class"] == ["wb-table"]


def test_multivariates_caption_is_text_the_table_escapes():
    from workbench.drift import multivariate as mv

    result = mv.MultivariateDriftResult(model="m", notes=[HOSTILE])
    assert not result.computed and result.caption == HOSTILE
    shown = _soup(tables.table(pd.DataFrame({"x": [1]}), caption=result.caption).to_html())
    assert shown.find("caption").get_text() == HOSTILE


def _ctx(monkeypatch, model: str = "churn-predictor") -> context.ReviewContext:
    conns = config.Connections(None, None, None, demo=False)
    ctx = context.open_review(model, "2026-W47", "env", ROOT / "params", connections=conns)
    ctx.defer_problems = True
    return ctx


def test_the_performance_lines_and_definitions_keep_hostile_values_text(monkeypatch):
    ctx = _ctx(monkeypatch)
    shown: list[str] = []
    monkeypatch.setattr(sections, "_display", lambda *objs: shown.extend(
        o.data if hasattr(o, "data") else o.to_html() for o in objs))
    summary = SimpleNamespace(n_predictions=1000, n_labelled=400, label_coverage=0.4)
    perf = SimpleNamespace(summary=summary, baseline_source=HOSTILE, to_frame=pd.DataFrame, thresholds=lambda: {},
                           window_predictions=pd.DataFrame(), history=pd.DataFrame(), base_rate_tolerance=0.05)
    ctx.model = ctx.model.model_copy(update={"type": "regression", "positive_label": HOSTILE})
    sections.show_headline(sections.PerformanceSections(ctx, perf))
    assert _text(shown[0]) == ("1,000 predictions, 400 labelled (label coverage 40.0%): the metrics are computed on "
                               f"the labelled ones. Baseline: {HOSTILE}.")
    assert [b.get_text() for b in _soup(shown[0]).find_all("b")] == ["1,000", "400", "40.0%"]
    # the definitions list, with the positive class in words from params
    items = _soup(explain.definitions_html("classification", HOSTILE).data).find_all("li")
    assert len(items) == len(explain.DEFINITIONS["classification"])
    assert items[2].find("b").get_text() == "precision, recall, F1 (positive class)" and HOSTILE in items[2].get_text()
    # the base rate sentence (classifier only) and the weak-segment notes
    shown.clear()
    ctx.model = ctx.model.model_copy(update={"type": "classification"})
    from workbench.performance import labels, plots

    monkeypatch.setattr(explain, "base_rate", lambda *a, **k: pd.DataFrame())
    monkeypatch.setattr(explain, "base_rate_sentence", lambda rates: HOSTILE)
    monkeypatch.setattr(plots, "label_coverage", lambda *a: None)
    monkeypatch.setattr(labels, "coverage_by_day", lambda *a: None)
    sections.show_labels(sections.PerformanceSections(ctx, perf))
    assert [_text(s) for s in shown if "Base rate." in s] == [f"Base rate. {HOSTILE}"]
    shown.clear()
    seg = SimpleNamespace(notes=[HOSTILE], segments_frame=pd.DataFrame, plot=lambda: None)
    sections.show_weak_segments(sections.PerformanceSections(ctx, perf, {"weak segments": seg}))
    assert _text(shown[1]) == f"{HOSTILE}."


def test_the_mlflow_note_keeps_a_hostile_run_id_and_model_name_text(monkeypatch):
    ctx = _ctx(monkeypatch)
    assert _text(perf_core.mlflow_note(ctx, HOSTILE)) == f"MLflow run {HOSTILE} in experiment workbench-weekly-reviews."
    ctx.model = ctx.model.model_copy(update={"name": HOSTILE})
    ctx.outputs["mlflow_log"] = "yes"
    note = _soup(perf_core.mlflow_note(ctx, ""))
    assert f"“{HOSTILE} 2026-W47”" in note.get_text() and note.find("code").get_text() == "workbench report"
    ctx.outputs.clear()
    assert _text(perf_core.mlflow_note(ctx, None)) == "Not logged to MLflow."


def test_evidentlys_notice_and_link_keep_a_hostile_file_name_text(monkeypatch):
    ctx = _ctx(monkeypatch)
    ctx.files = config.ParamsFiles(ROOT / "params", ROOT / "params" / "weekly.yaml")
    monkeypatch.setattr(ctx, "params_path", lambda kind: Path("/x") / HOSTILE.replace("/", "|"))
    off = _soup(evidently.not_run(ctx, 20_000))
    assert f"the default, in {HOSTILE.replace('/', '|')}); set it to true" in off.get_text()
    assert [c.get_text() for c in off.find_all("code")] == ["drift_detection.evidently: false", "true", "DataDriftPreset"]
    ctx.monitoring.drift_detection.evidently = True
    assert _text(evidently.not_run(ctx, 0)) == ("Evidently's comparison was not run: the sample size is 0 "
                                                 "(-p evidently_sample=0).")
    assert _text(evidently.not_run(ctx, 100)).endswith("the drift review itself could not be computed.")
    name = HOSTILE.replace("/", "|")
    a = _soup(evidently.link(Path("/out") / name, HOSTILE)).find("a")
    assert a["href"] == name and a.get_text() == f"{HOSTILE} ({name})"


def test_the_panels_line_and_the_no_panel_note_keep_hostile_titles_text(monkeypatch):
    import IPython.display

    from workbench.infrastructure import plots

    shown: list[str] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(o.data for o in objs))
    fig, axes = plt.subplots(2, 1)
    axes[0].set_title(HOSTILE)
    axes[1].set_title("CPU")
    monkeypatch.setattr(plots, "infrastructure_panels", lambda *a: fig)
    monkeypatch.setattr(infra, "thresholds", lambda *a: {})
    report = SimpleNamespace(panels={"p": SimpleNamespace(section="traffic")})
    assert infra.draw_panels(None, report, "traffic") is fig
    line = _soup(shown[-1]).find("p")
    assert line["class"] == ["wb-panels"] and line.get_text() == f"Panels: {HOSTILE} · CPU"
    assert infra.draw_panels(None, report, HOSTILE) is None
    assert _text(shown[-1]) == f"No {HOSTILE} panel in params/queries.yaml."
    plt.close(fig)


def test_the_skipped_line_and_the_could_not_compute_box_keep_hostile_values_text(monkeypatch):
    import IPython.display

    shown: list[str] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(o.data for o in objs))
    ctx = _ctx(monkeypatch)
    ctx.defer_problems = False
    ctx.skip(HOSTILE, HOSTILE)
    from workbench import display

    assert shown == [display.skipped_note(ctx, HOSTILE).data]  # the same line the section shows later
    assert _soup(shown[0]).find("i").get_text() == f"{HOSTILE}: not shown — {HOSTILE}"
    context._show_problem(HOSTILE, HOSTILE)
    box = _soup(shown[-1]).find("div")
    assert box.find("b").get_text() == f"Could not compute {HOSTILE}" and box.find("code").get_text() == HOSTILE


def _snippet_calls() -> dict[str, list[tuple]]:
    """Every macro of templates/snippets.html with HOSTILE in every argument (lists of it where the macro
    takes a list; a heading's level and Evidently's reason are chosen by code, not by data)."""
    from workbench.pages import environment

    module = environment().get_template("snippets.html").module
    lists = {"skipped": [([{"section": HOSTILE, "reason": HOSTILE}],)],
             "problems": [([{"section": HOSTILE, "problem": HOSTILE}],)], "anchors": [([HOSTILE, HOSTILE],)],
             "caption": [([HOSTILE, HOSTILE],)], "definitions": [([(HOSTILE, HOSTILE)],)], "panels": [([HOSTILE],)],
             "heading": [(HOSTILE, HOSTILE, HOSTILE, 2)], "evidently_not_run": [("off", HOSTILE)],
             "mlflow_note": [(HOSTILE, HOSTILE, ""), ("", HOSTILE, HOSTILE)]}
    macros = {n: m for n, m in vars(module).items() if callable(m) and not n.startswith("_")}
    return {n: lists.get(n, [(HOSTILE,) * len(m.arguments)]) for n, m in macros.items()}


@pytest.mark.parametrize("name", sorted(_snippet_calls()))
def test_each_snippet_escapes_every_value_it_is_given(name):
    """Each macro, a hostile value in every argument: no tag, quote or ampersand of it comes out raw
    (one `|safe` on any of them fails this)."""
    from workbench.pages import render_snippet

    for args in _snippet_calls()[name]:
        out = render_snippet(name, *args)
        assert "&lt;script&gt;" in out, out  # the value is there, as text
        for raw in ("<script>", "</script>", '"x"', "'q'", " & "):
            assert raw not in out, (name, raw, out)


def test_paragraphs_keep_a_hostile_prometheus_warning_text():
    from workbench import display as show

    html = show.paragraphs([f"Warnings from Prometheus: {HOSTILE}", "second"]).data
    assert [p.get_text() for p in _soup(html).find_all("p")] == [f"Warnings from Prometheus: {HOSTILE}", "second"]
    assert _soup(html).find("script") is None
