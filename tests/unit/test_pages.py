"""The pages from templates (workbench.pages): autoescaping is the engine's, undefined names are errors,
hostile values stay data through the full week page, index and notification, and the templates ship."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from jinja2 import UndefinedError

from workbench import config, notify, pages, weekpage

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "workbench" / "templates"
MODEL = "<script>alert('model')</script>"
LABEL = "<script>alert('label')</script>"
WEEK = "2026-W47"


def _hostile_week() -> dict:
    """A week whose model name and Prometheus label value are script tags, wherever a page shows them:
    the matrix, the banner, a cell's findings and links, the timeline, the reports table."""
    def result(model, notebook, level, findings, headline, status="ok"):
        return {"notebook": notebook, "model": model, "status": status, "level": level, "findings": findings,
                "headline": headline, "problems": [] if status == "ok" else [f"could not read {LABEL}"],
                "html": f"{model}/{notebook}.html", "ipynb": f"{model}/failed/{notebook}.ipynb" if status != "ok" else "",
                "seconds": 1.0, "findings_file": ""}

    def finding(sev, subject, sentence, kind, anchor):
        return {"severity": sev, "subject": subject, "sentence": sentence, "kind": kind, "anchor": anchor,
                "value": None, "extra": {}}

    return {"schema": 1, "period": WEEK, "generated": "2026-11-23 06:00 UTC", "results": [
        result(MODEL, "01-drift-review", "warning",
               [finding("warning", LABEL, f"{LABEL} drifted: ks p < 0.001.", "feature", f"feature-{LABEL}")],
               {"drift_share": 0.5, "series": {"drift_share": {"2026-11-16": 0.5}}}),
        result(MODEL, "02-performance-review", "not computed", [], {"metric": "accuracy"}, status="failed"),
        result("service", "03-infrastructure-review", "warning",
               [finding("warning", LABEL, f"HighLatency (job={LABEL}) fired for 51 min.", "alert_rule", "alerts")],
               {"episodes": [{"kind": "alert", "subject": f"HighLatency {LABEL}", "severity": "warning",
                              "start": "2026-11-19T10:00:00+00:00", "end": "2026-11-19T10:51:00+00:00"}]}),
    ]}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    (out / WEEK).mkdir(parents=True)
    (out / WEEK / "status.json").write_text(json.dumps(_hostile_week()))
    return out


def test_autoescape_is_on_for_html_and_svg_and_off_for_plain_text():
    env = pages.environment()
    assert env.autoescape("week.html") and env.autoescape("timeline.svg") and env.autoescape("index.html")
    assert env.autoescape("notify.html") and not env.autoescape("notify.txt")
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"  # strings, too


def test_an_undefined_name_is_an_error_not_an_empty_string(out):
    page = weekpage.week_page(_hostile_week(), config.iso_week(WEEK), out)
    with pytest.raises(UndefinedError):
        pages.environment().from_string("{{ page.no_such_field }}").render(page=page)
    with pytest.raises(UndefinedError):
        pages.environment().get_template("week.html").render()


def test_a_script_model_name_and_label_value_stay_text_through_the_full_week_page(out):
    page = weekpage.write_week(out, WEEK).read_text()
    assert "<script" not in page.lower()
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all("script")
    text = re.sub(r"\s+", " ", soup.get_text())
    # shown as what they are, in the banner, the matrix, a finding, the timeline and the reports table
    assert text.count(MODEL) >= 5 and f"{LABEL} drifted" in text and f"job={LABEL}" in text
    assert f"alert: HighLatency {LABEL}" in soup.find("svg").get_text(" ")
    assert f"did not complete: {MODEL} · performance (failed; partial notebook)" in text
    # links carry the names percent-encoded, never as markup
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert any(h.startswith("%3Cscript%3E") and h.endswith("#feature-%3Cscript%3Ealert%28%27label%27%29%3C%2Fscript%3E")
               for h in hrefs), hrefs
    assert all("<" not in h and '"' not in h for h in hrefs)
    index = weekpage.write_root(out).read_text()
    assert "<script" not in index.lower()
    assert BeautifulSoup(index, "html.parser").get_text(" ").count(MODEL) >= 2


def test_the_notification_keeps_hostile_values_as_text_and_escapes_them_in_its_html(out):
    msg = notify.build(_hostile_week(), WEEK, "https://reports.example.com/2026-W47/index.html")
    assert f"{MODEL} · drift: WARNING" in msg.text and f"- {LABEL} drifted: ks p < 0.001." in msg.text
    assert "<script" not in msg.html.lower()
    html_text = BeautifulSoup(msg.html, "html.parser").get_text(" ")
    assert f"{LABEL} drifted" in html_text and "Not complete" in html_text
    assert 'href="https://reports.example.com/2026-W47/index.html"' in msg.html


def test_the_notification_text_keeps_its_shape():
    msg = notify.build(_hostile_week(), WEEK, "reports/2026-W47/index.html")
    assert msg.text.splitlines() == [
        f"[workbench] {WEEK}: WARNING — 0 alert(s), 2 warning(s)",
        f"Not complete: {MODEL} performance (failed)",
        "",
        f"{MODEL} · drift: WARNING",
        f"- {LABEL} drifted: ks p < 0.001.",
        "",
        f"{MODEL} · performance: NOT COMPUTED",
        "",
        "service · infrastructure: WARNING",
        f"- HighLatency (job={LABEL}) fired for 51 min.",
        "",
        "Week page: reports/2026-W47/index.html"]
    assert msg.subject == msg.text.splitlines()[0]


def test_the_timeline_is_drawn_from_data_in_the_template(out):
    """weekpage.timeline computes positions; timeline.svg draws them (no markup built in Python)."""
    tl = weekpage.timeline(_hostile_week(), config.iso_week(WEEK))
    (bar,) = tl.episodes[0].bars
    assert bar.x == pytest.approx(230 + 850 * (3 * 24 * 60 + 10 * 60) / (7 * 24 * 60))
    svg = pages.render_timeline(tl)
    assert re.search(rf'<rect x="{bar.x:.1f}" y="\d+" width="{bar.width:.1f}" height="12" fill="{bar.colour}">', svg)
    for name in ("weekpage.py", "notify.py", "pages.py"):
        source = (ROOT / "src" / "workbench" / name).read_text()
        assert not re.search(r"<(svg|rect|text|td|tr|li|div|span)\b", source), name


def test_the_templates_ship_with_the_package():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["workbench"]
    shipped = [p.relative_to(TEMPLATES.parent).as_posix() for p in TEMPLATES.iterdir()]
    assert {"templates/week.html", "templates/timeline.svg", "templates/index.html", "templates/notify.txt",
            "templates/notify.html"} <= set(shipped)
    assert all(any(fnmatch.fnmatch(f, pat) for pat in data) for f in shipped), (shipped, data)


def test_the_report_snippets_come_from_the_template_and_keep_hostile_values_text():
    """display's section heading, skipped / not-computed notes and finding anchors are rendered by
    templates/snippets.html: a script tag in a feature name or a problem stays text."""
    from types import SimpleNamespace

    from workbench import display

    ctx = SimpleNamespace(skipped=[{"section": "Drift", "reason": f"no column {LABEL}"}],
                          problems=[{"section": "Drift", "problem": f"could not read {LABEL}"},
                                    {"section": "Other", "problem": "not this section"}])
    parts = {"heading": display.section_heading(f"feature-{MODEL}", MODEL, LABEL, 3).data,
             "skipped": display.skipped_note(ctx, "Drift").data,
             "problems": display.problem_note(ctx, "Drift").data,
             "anchors": display.section_anchors("feature-", [MODEL]).data}
    for name, text in parts.items():
        assert "<script>" not in text, name
    soup = BeautifulSoup("".join(parts.values()), "html.parser")
    assert soup.find("h3").get_text() == MODEL and soup.find("h3").find_next("p").get_text() == LABEL
    assert soup.find("i").get_text() == f"Drift: not shown — no column {LABEL}"
    assert [b.get_text() for b in soup.find_all("b")] == ["Drift: not computed"]  # the other section's is not here
    assert soup.find("span")["id"].startswith("feature-") and "<" not in soup.find("span")["id"]
    assert display.skipped_note(SimpleNamespace(), "Drift").data == ""  # nothing skipped: nothing shown
    assert "snippets.html" in {p.name for p in TEMPLATES.iterdir()}
