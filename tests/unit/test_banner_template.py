"""A report's verdict banner from templates/banner.html (issue 22 item 4): the same text, tags and
attributes as the f-string HTML it replaced, and hostile values escaped by the template engine."""

from __future__ import annotations

from html.parser import HTMLParser

from bs4 import BeautifulSoup

from workbench import display, levels, pages
from workbench.findings import Finding

SCRIPT = "<script>alert('model')</script>"


class _Read(HTMLParser):
    """Every text node verbatim (whitespace kept, entities decoded) and every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, list]] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, sorted(attrs)))


def read(html: str) -> tuple[str, list]:
    p = _Read()
    p.feed(html)
    p.close()
    return "".join(p.text), p.tags


def contents(review: str, model_type: str = "") -> str:
    return "Contents: " + " · ".join(t for _, t in display.sections_for(review, model_type))


def test_the_banner_reads_word_for_word_as_the_f_string_banner_did():
    """The expected texts are what the f-string banner (before the template) showed for the same input,
    written down from its output; the contents line comes from the catalogue."""
    f = [Finding("warning", "tenure", "tenure drifted: KS p < 0.001, D = 0.12", "feature", "feature-tenure", 0.12),
         Finding("alert", "accuracy", "accuracy 0.725 [0.722, 0.728] is below 0.75", "metric", "headline", 0.725)]
    out = display.banner_html("performance", "churn-predictor", "2026-W47", "alert", f, [],
                              display.nav_links("performance", "churn-predictor", ["churn-predictor"]))
    assert read(out)[0] == (
        "week page · drift review · infrastructure (service)Performance review — churn-predictor — 2026-W47"
        "ALERT 1 alert, 1 warning"
        "alert · accuracy 0.725 [0.722, 0.728] is below 0.75 → details"
        "warning · tenure drifted: KS p < 0.001, D = 0.12 → details" + contents("performance"))

    many = [Finding(["alert", "warning", "info"][i % 3], f"s{i}", f"sentence {i} with 1.5% & <x>", "feature",
                    f"feature-s{i}" if i % 2 else "") for i in range(12)]
    problems = [{"section": f"sec{i}", "problem": f"problem {i}"} for i in range(6)]
    out = display.banner_html("infrastructure", "service", "2026-W48", "alert", many, problems,
                              display.nav_links("infrastructure", "", ["a", "b"]))
    assert read(out)[0] == (
        "week page · a: drift · a: performance · b: drift · b: performance"
        "Infrastructure review — service — 2026-W48ALERT 4 alerts, 4 warnings, 6 sections not computed"
        "alert · sentence 0 with 1.5% & <x>alert · sentence 3 with 1.5% & <x> → details"
        "alert · sentence 6 with 1.5% & <x>alert · sentence 9 with 1.5% & <x> → details"
        "warning · sentence 1 with 1.5% & <x> → detailswarning · sentence 4 with 1.5% & <x>"
        "warning · sentence 7 with 1.5% & <x> → detailswarning · sentence 10 with 1.5% & <x>"
        "… and 4 more findings in the sections below"
        "not computed · sec0: problem 0 → detailsnot computed · sec1: problem 1 → details"
        "not computed · sec2: problem 2 → detailsnot computed · sec3: problem 3 → details"
        "… and 2 more sections not computed" + contents("infrastructure"))

    out = display.banner_html("performance", "revenue-predictor", "2026-W47", "ok", [], [], [], "regression")
    assert read(out)[0] == ("Performance review — revenue-predictor — 2026-W47OK 0 alerts, 0 warnings"
                            "nothing found beyond the thresholds in this window" + contents("performance", "regression"))


def test_the_banner_keeps_its_tags_attributes_and_palette():
    out = display.banner_html("drift", "m", "2026-W47", "not computed",
                              [Finding("warning", "x", "x drifted", "feature", "feature-x")],
                              [{"section": "drift over time", "problem": "p" * 300}], [("week page", "../index.html")])
    text, tags = read(out)
    warn, grey, nc = (levels.look(x) for x in ("warning", levels.NOT_COMPUTED, "not computed"))
    assert tags[0] == ("div", sorted([
        ("class", "wb-verdict"), ("id", "verdict"), ("data-level", "not computed"),
        ("style", f"font-family:sans-serif;border:2px solid {nc.colour};border-left:14px solid {nc.colour};"
                  f"background:{nc.tint};padding:10px 16px;margin:4px 0 10px 0")]))
    assert ("b", [("style", f"color:{warn.colour}")]) in tags and ("b", [("style", f"color:{grey.colour}")]) in tags
    assert ("a", [("href", "#not-computed"), ("style", f"color:{levels.LINK}")]) in tags
    assert ("a", [("href", "#feature-x"), ("style", f"color:{levels.LINK}")]) in tags
    assert "drift over time: " + "p" * 240 + " → details" in text and "p" * 241 not in text  # cut at 240


def test_a_script_model_name_comes_out_escaped():
    f = [Finding("alert", SCRIPT, f"category {SCRIPT} is new", "feature", f"feature-{SCRIPT}")]
    out = display.banner_html("drift", SCRIPT, SCRIPT, "alert", f, [{"section": SCRIPT, "problem": SCRIPT}],
                              [(SCRIPT, f'{SCRIPT}".html')])
    assert "<script" not in out.lower()
    soup = BeautifulSoup(out, "html.parser")
    assert not soup.find_all("script")
    assert soup.get_text().count(SCRIPT) == 6  # nav label, subject, period, finding, problem section and text
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert f'{SCRIPT}".html' in hrefs and f"#feature-{SCRIPT}" in hrefs  # attribute values stay one value


def test_the_banner_is_the_pages_template_with_autoescape_on():
    env = pages.environment()
    assert env.autoescape("banner.html")
    assert "banner.html" in env.list_templates()
