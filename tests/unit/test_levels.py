"""One level vocabulary and palette (workbench.levels): every level has a word, a mark and colours that
pass WCAG 2 AA contrast, and the pages and the report banner take them from there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench import display, levels
from workbench.findings import LEVELS, NOT_CONFIGURED, SEVERITIES

SRC = Path(__file__).resolve().parents[2] / "src" / "workbench"
AA = 4.5  # WCAG 2 AA, normal text


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of #rgb or #rrggbb."""
    h = hex_colour.lstrip("#")
    h = "".join(c * 2 for c in h) if len(h) == 3 else h
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio (L1 + 0.05) / (L2 + 0.05), lighter over darker."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_formula_gives_the_published_ratios():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest grey passing AA on white
    assert contrast("#777777", "#ffffff") < AA


def test_every_level_and_severity_has_one_look_with_its_own_word_and_mark():
    names = [*LEVELS, NOT_CONFIGURED, *SEVERITIES]
    assert set(names) <= set(levels.LOOKS)
    shown = [levels.LOOKS[n] for n in dict.fromkeys(names)]
    assert len({lk.word for lk in shown}) == len(shown) and len({lk.mark for lk in shown}) == len(shown)
    assert [levels.word(lv) for lv in LEVELS] == ["ALERT", "WARNING", "NOT COMPUTED", "OK"]
    assert levels.word(NOT_CONFIGURED) == "NOT CONFIGURED"
    # a value the vocabulary does not know (a run status) looks like not computed, in its own word
    assert levels.look("failed") == levels.LOOKS["not computed"] and levels.word("failed") == "FAILED"


@pytest.mark.parametrize("name", list(levels.LOOKS))
def test_each_colour_passes_aa_as_text_on_its_tint_on_white_and_under_white_text(name):
    lk = levels.LOOKS[name]
    assert contrast(lk.colour, lk.tint) >= AA, (name, contrast(lk.colour, lk.tint))
    assert contrast(lk.colour, "#ffffff") >= AA, (name, contrast(lk.colour, "#ffffff"))
    assert contrast("#ffffff", lk.colour) >= AA  # the report banner's solid badge


def test_links_pass_aa_on_white_and_on_every_tint():
    for lk in levels.LOOKS.values():
        assert contrast(levels.LINK, lk.tint) >= AA, lk.name


def test_the_report_banner_uses_the_pages_palette_and_words():
    page = display.banner_html("drift", "m", "2026-W47", "warning", [], [], [])
    lk = levels.LOOKS["warning"]
    assert lk.colour in page and lk.tint in page and ">WARNING<" in page


def test_no_other_module_or_template_keeps_a_palette_of_its_own():
    """The level colours are written once, in levels.py: the pages, the banner and the templates name them."""
    colours = {c.lower() for lk in levels.LOOKS.values() for c in (lk.colour, lk.tint)} - {"#ffffff"}
    files = [SRC / "weekpage.py", SRC / "display.py", SRC / "notify.py", SRC / "pages.py",
             *sorted((SRC / "templates").iterdir())]
    for path in files:
        found = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", path.read_text())} & colours
        assert not found, f"{path.name} writes the level colours {sorted(found)} itself"
