"""The published-artifact checker on small hand-made week folders: a page that keeps the contract
passes, and each rule fails on the page that breaks it (workbench.artifact)."""

import json

import pandas as pd
import pytest

from workbench import artifact, reviews, tables

PERF = reviews.review("performance")


def _section(anchor: str, title: str, body: str) -> str:
    return f'<h2 id="{title}"><a id="{anchor}"></a>{title}</h2>{body}'


def _report(sections: dict[str, str], banner: str = "0 alerts, 1 warning", model_type: str = "classification") -> str:
    """A performance report: the verdict banner, then every section of a classifier (body per anchor)."""
    body = "".join(_section(s.anchor, s.title, sections.get(s.anchor, "<p>shown</p>"))
                   for s in PERF.sections_for(model_type) if s.anchor != "about")
    body += _section("about", "About this report", f"<p>model churn ({model_type})</p>")
    return (f'<html><body><div class="wb-verdict" id="verdict"><h1>Performance review</h1>'
            f'<div>{banner}</div><ul><li>accuracy 0.731 is below 0.75</li></ul></div>{body}</body></html>')


FIGURES = {s.anchor: '<p>figure</p><img src="data:image/png;base64,AAAA">' for s in PERF.sections if s.figure}
FINDINGS = [{"severity": "warning", "subject": "accuracy", "sentence": "accuracy 0.731 is below 0.75",
             "kind": "metric", "anchor": "headline"}]
GOOD_TABLE = tables.table(pd.DataFrame({"metric": ["accuracy"], "value": [0.731], "threshold": [0.75],
                                        "n_labelled": [88215]})).to_html()


def _week(tmp_path, report: str, findings=FINDINGS, banner_week: str = "0 alert(s), 1 warning(s)",
          runs: str = "1 ok", not_computed=()):
    week = tmp_path / "reports" / "2026-W47"
    (week / "churn").mkdir(parents=True)
    (week / "churn" / "02-performance-review.html").write_text(report)
    doc = {"schema": 1, "review": "performance", "model": "churn", "level": "warning", "findings": list(findings),
           "not_computed": list(not_computed)}
    (week / "churn" / "performance.findings.json").write_text(json.dumps(doc))
    status = {"schema": 1, "period": "2026-W47", "results": [
        {"notebook": "02-performance-review", "model": "churn", "status": "ok", "level": "warning",
         "html": "churn/02-performance-review.html", "findings_file": "churn/performance.findings.json",
         "findings": list(findings), "headline": {}}]}
    (week / "status.json").write_text(json.dumps(status))
    (week / "index.html").write_text(f"<html><body><h1>Week 2026-W47</h1><div class='banner'><b>{banner_week}</b> "
                                     f"<span>reports run: {runs} (the run status says)</span></div></body></html>")
    (week.parent / "index.html").write_text("<html><body><table><tr><td><a href='2026-W47/index.html'>2026-W47</a>"
                                            "</td><td>● WARNING</td></tr></table></body></html>")
    return week


def _good_sections(**changes):
    secs = dict(FIGURES)
    secs["headline"] = GOOD_TABLE
    secs.update(changes)
    return secs


def _check(week):
    return artifact.check_week(week, render=False)


def test_a_page_that_keeps_the_contract_passes(tmp_path):
    result = _check(_week(tmp_path, _report(_good_sections())))
    assert result.ok, [str(v) for v in result.violations]
    figured = [s for s in PERF.sections_for("classification") if s.figure]
    assert result.pages == 3 and result.figures == len(figured) and result.sections == len(PERF.sections_for("classification"))
    assert result.numbers == 2 and result.tables == 1 and result.cells == 4 and result.counts >= 6


def test_a_missing_figure_fails_unless_the_section_says_it_was_not_computed(tmp_path):
    result = _check(_week(tmp_path, _report(_good_sections(trend="<p>no plot here</p>"))))
    assert [(v.rule, v.section, "declares a figure" in v.what) for v in result.violations] == [("figures", "trend", True)]
    said = _good_sections(trend="<p><i>trend: not shown — no labelled history</i></p>")
    assert _check(_week(tmp_path / "b", _report(said))).ok


def test_a_regression_report_has_no_classifier_sections_and_a_missing_section_fails(tmp_path):
    secs = _good_sections()
    reg = _report(secs, model_type="regression")
    assert _check(_week(tmp_path, reg)).ok
    cls_as_reg = _report(secs).replace("(classification)", "(regression)")
    whats = [v.what for v in _check(_week(tmp_path / "b", cls_as_reg)).violations]
    assert any("#ab-test is not one a regression report has" in w for w in whats)
    assert any("'Model versions' is missing" in w for w in whats)


@pytest.mark.parametrize("text", [r"$\mathdefault{10^{1}}$", r"ticks $10^{2}$ here", r"\mathrm{x}"])
def test_raw_mathtext_in_text_fails(tmp_path, text):
    result = _check(_week(tmp_path, _report(_good_sections(labels=FIGURES["labels"] + f"<p>{text}</p>"))))
    assert [(v.rule, v.section) for v in result.violations] == [("mathtext", "labels")]


def test_dollars_that_are_data_are_not_mathtext(tmp_path):
    assert _check(_week(tmp_path, _report(_good_sections(labels=FIGURES["labels"] + "<p>tier $$ and $5 to $10</p>")))).ok


def test_a_finding_number_missing_or_formatted_otherwise_fails(tmp_path):
    findings = FINDINGS + [{"severity": "info", "subject": "labels", "sentence": "Label coverage 86.3%: 88,215 of "
                            "102,178 predictions on 2026-11-17 with 1.3.0 over 1h", "kind": "labels", "anchor": "labels"}]
    linked_to_table = [{**findings[1], "anchor": "headline"}]  # 88,215 is in the headline table
    result = _check(_week(tmp_path, _report(_good_sections(), banner="0 alerts, 1 warning"),
                          findings=FINDINGS + linked_to_table))
    missing = sorted(v.what.split("'")[1] for v in result.violations)
    assert missing == ["102,178", "86.3%"]  # dates, versions and windows are no numbers
    assert artifact.finding_numbers("ServiceDown (instance=redis-exporter:9121) fired at 03:02 for 14 min") == ["14 min"]
    assert artifact.finding_numbers("p < 0.001, gap −0.086 [-0.000462, 0.011] 14.4x") == [
        "0.001", "−0.086", "-0.000462", "0.011", "14.4"]


def test_a_duration_is_one_token_that_must_appear_whole(tmp_path):
    fired = {"severity": "info", "subject": "HighLatency", "sentence": "HighLatency fired for 6 d 13 h in 2 episodes",
             "kind": "alert_rule", "anchor": "labels"}
    assert artifact.finding_numbers(fired["sentence"]) == ["6 d 13 h", "2"]
    assert artifact.finding_numbers("45 s, 24 min, 1 h 05 min, −2 h, 3 days, 12 series") == [
        "45 s", "24 min", "1 h 05 min", "−2 h", "3", "12"]  # '3 days' is no duration written by findings.duration
    # the section shows '6 d 2 h' and a separate 13: each number is there, the duration is not
    apart = _good_sections(labels=FIGURES["labels"] + "<table><tr><td>6 d 2 h</td><td>13</td><td>2</td></tr></table>")
    result = _check(_week(tmp_path, _report(apart), findings=FINDINGS + [fired]))
    assert [(v.rule, v.section) for v in result.violations] == [("numbers", "labels")], [str(v) for v in result.violations]
    assert "finding number '6 d 13 h' is not in the report's tables or text" in result.violations[0].what
    # the duration whole passes (a cell, or wrapped across lines in text)
    whole = _good_sections(labels=FIGURES["labels"] + "<table><tr><td>6 d 13 h</td><td>2</td></tr></table>")
    assert _check(_week(tmp_path / "b", _report(whole), findings=FINDINGS + [fired])).ok
    # a shorter duration is not found at the start of a longer one, nor a number inside another
    assert not artifact._appears("6 d", "for 6 d 13 h") and artifact._appears("6 d", "for 6 d, then")
    assert not artifact._appears("6 d 13 h", "16 d 13 h") and artifact._appears("6 d 13 h", "6 d\n13 h")
    assert not artifact._appears("24 min", "took 2 h 24 min") and artifact._appears("24 min", "took 24 min")
    assert not artifact._appears("13 h", "6 d 13 h") and artifact._appears("13 h", "d: 13 h")
    assert artifact._appears("2 h", "longest 2 h 2 h fired")  # two cells side by side: 'h h' is no one duration


LABELS = {"severity": "info", "subject": "labels", "sentence": "Label coverage 86.3%: 88,215 of 102,178 predictions",
          "kind": "labels", "anchor": "labels"}
LABELS_TABLE = "<table><tr><td>coverage</td><td>86.3%</td><td>88,215</td><td>102,178</td></tr></table>"


def test_a_finding_number_only_in_another_section_fails_where_its_link_lands(tmp_path):
    # the finding links to #labels; its numbers are in the report, but in #trend: the reader who
    # follows the link cannot check them
    elsewhere = _good_sections(trend=FIGURES["trend"] + LABELS_TABLE)
    result = _check(_week(tmp_path, _report(elsewhere), findings=FINDINGS + [LABELS]))
    assert [(v.rule, v.section) for v in result.violations] == [("numbers", "labels")] * 3
    assert [v.what.split("'")[1] for v in result.violations] == ["86.3%", "88,215", "102,178"]
    assert [v.what.split("(shown in ")[1].split(")")[0] for v in result.violations] == [
        "#trend", "#headline, #trend", "#trend"]  # 88,215 is in the headline table too
    assert all("is not in section #labels, where the finding links" in v.what for v in result.violations)
    # the same numbers in the section the link lands in pass
    there = _good_sections(labels=FIGURES["labels"] + LABELS_TABLE)
    assert _check(_week(tmp_path / "b", _report(there), findings=FINDINGS + [LABELS])).ok
    # an item anchor inside a section (a per-feature id) lands in the section that holds it
    item = _good_sections(labels=FIGURES["labels"] + '<a id="feature-x"></a>' + LABELS_TABLE)
    result = _check(_week(tmp_path / "c", _report(item), findings=FINDINGS + [{**LABELS, "anchor": "feature-x"}]))
    assert result.ok, [str(v) for v in result.violations]
    item_elsewhere = _good_sections(labels=FIGURES["labels"] + '<a id="feature-x"></a>', trend=FIGURES["trend"] + LABELS_TABLE)
    result = _check(_week(tmp_path / "d", _report(item_elsewhere), findings=FINDINGS + [{**LABELS, "anchor": "feature-x"}]))
    assert len(result.of("numbers")) == 3


def test_a_finding_without_an_anchor_is_checked_page_wide_and_a_dead_link_fails(tmp_path):
    elsewhere = _good_sections(trend=FIGURES["trend"] + LABELS_TABLE)
    unanchored = [{**LABELS, "anchor": ""}]
    assert _check(_week(tmp_path, _report(elsewhere), findings=FINDINGS + unanchored)).ok
    nowhere = _check(_week(tmp_path / "b", _report(_good_sections()), findings=FINDINGS + unanchored))
    assert sorted(v.what.split("'")[1] for v in nowhere.violations) == ["102,178", "86.3%"]  # 88,215: headline
    assert all("not in the report's tables or text" in v.what for v in nowhere.violations)
    dead = _check(_week(tmp_path / "c", _report(elsewhere), findings=FINDINGS + [{**LABELS, "anchor": "gone"}]))
    assert [v.what[:48] for v in dead.violations] == ["the finding links to #gone, which is not on the "]


def test_a_wrong_count_fails(tmp_path):
    result = _check(_week(tmp_path, _report(_good_sections(), banner="2 alerts, 1 warning"),
                          banner_week="0 alert(s), 3 warning(s)", runs="2 ok"))
    whats = sorted(v.what for v in result.violations)
    assert len(whats) == 3 and result.of("counts") == result.violations
    assert "the banner counts 2 alert(s); the findings have 0 distinct" in whats
    assert "the week page counts 3 warning(s); the reports found 1 distinct" in whats
    assert "the week page counts 2 report run(s); status.json has 1" in whats


def test_a_duplicate_finding_is_counted_once(tmp_path):
    result = _check(_week(tmp_path, _report(_good_sections()), findings=FINDINGS * 2))
    assert result.ok  # one thing listed twice is one warning


def test_a_count_column_holding_a_fraction_fails(tmp_path):
    bad = GOOD_TABLE.replace(">88,215<", ">0.05<")
    result = _check(_week(tmp_path, _report(_good_sections(headline=bad))))
    assert [v.what for v in result.violations] == [
        "table column 'labelled' declared count: cell '0.05' is not formatted as count"]


def test_a_count_guessed_for_fractions_fails(tmp_path):
    rounded = GOOD_TABLE.replace('class="wb-table"', 'class="wb-table" data-rounded="[&quot;labelled&quot;]"')
    result = _check(_week(tmp_path, _report(_good_sections(headline=rounded))))
    assert [v.what for v in result.violations] == [
        "table column 'labelled': kind guessed as count, so non-integer values are shown rounded to integers "
        "(declare its kind)"]


def test_tables_declare_each_column_kind_and_never_round_a_fraction_silently():
    frame = pd.DataFrame({"feature": ["tenure"], "rows": [0.05], "n": [3]})
    html = tables.table(frame, kinds={"n": "count"}).to_html()
    page = artifact.read_page(html)
    kinds = page.tables[0]["kinds"]
    assert kinds["n"] == "count" and kinds["feature"] == "text"
    # a fraction is shown as such, or its column is named as rounded (which the checker refuses)
    assert ("0.05" in page.tables[0]["rows"][0]) != ("rows" in page.tables[0]["rounded"])


@pytest.mark.parametrize("cell", ["&lt; 0.00000001", "1.5e+03", "0.73 ms"])
def test_a_number_column_holding_a_bound_or_another_unit_fails(tmp_path, cell):
    bad = GOOD_TABLE.replace(">0.731<", f">{cell}<")
    result = _check(_week(tmp_path, _report(_good_sections(headline=bad))))
    assert [v.what.split(":")[0] for v in result.violations if v.what.startswith("table")] == [
        "table column 'value' declared number"]


def test_an_unknown_kind_fails(tmp_path):
    odd = GOOD_TABLE.replace("&#34;value&#34;: &#34;number&#34;", "&#34;value&#34;: &#34;colour&#34;")  # as the engine escapes it
    assert "colour" in odd
    result = _check(_week(tmp_path, _report(_good_sections(headline=odd))))
    assert [v.what for v in result.violations] == ["table column 'value': kind 'colour' is not one the checker knows"]


def test_a_points_column_formatted_as_a_percentage_fails(tmp_path):
    frame = pd.DataFrame({"class": ["1"], "change (percentage points)": [0.223]})
    bad = tables.table(frame, kinds={"change (percentage points)": "ratio"}).to_html()
    result = _check(_week(tmp_path, _report(_good_sections(headline=GOOD_TABLE + bad))))
    assert [v.what for v in result.violations] == [
        "table column 'change (percentage points)' is headed in percentage points but formatted as ratio (a share, '%')"]


@pytest.mark.parametrize("value", [6.6e-5, -4.2e-7, 3e-12])
def test_a_tiny_value_as_the_tables_write_it_passes(tmp_path, value):
    frame = pd.DataFrame({"feature": ["tenure"], "statistic": [value]})
    shown = tables.table(frame, kinds={"statistic": "effect"}).to_html()
    assert "×10⁻" in shown
    result = _check(_week(tmp_path, _report(_good_sections(headline=GOOD_TABLE + shown))))
    assert [str(v) for v in result.violations] == []


@pytest.mark.parametrize("cell", ["6.6×10⁻⁴", "6.6×10⁻³", "6.6×10⁵", "6.6×10⁻"])
def test_a_power_of_ten_not_below_the_tiny_limit_fails(tmp_path, cell):
    bad = GOOD_TABLE.replace(">0.731<", f">{cell}<")
    result = _check(_week(tmp_path, _report(_good_sections(headline=bad))))
    assert [v.what for v in result.violations if v.what.startswith("table")] == [
        f"table column 'value' declared number: cell {cell!r} is not formatted as number"]


def test_an_sli_column_is_checked_as_a_percentage(tmp_path):
    frame = pd.DataFrame({"objective": ["availability"], "sli": [0.99791]})
    shown = tables.table(frame, kinds={"sli": "sli"}).to_html()
    assert ">99.79%<" in shown
    assert _check(_week(tmp_path, _report(_good_sections(headline=GOOD_TABLE + shown)))).ok
    bad = shown.replace(">99.79%<", ">99.79<")
    result = _check(_week(tmp_path / "bad", _report(_good_sections(headline=GOOD_TABLE + bad))))
    assert [v.what for v in result.violations] == ["table column 'SLI' declared sli: cell '99.79' is not formatted as sli"]


def _index_row(week, shown: str, status: str, level: str) -> None:
    path = week / "status.json"
    doc = json.loads(path.read_text())
    doc["results"][0].update(status=status, level=level)
    path.write_text(json.dumps(doc))
    (week.parent / "index.html").write_text("<html><body><table><tr><td><a href='2026-W47/index.html'>2026-W47</a>"
                                            f"</td><td>● {shown}</td></tr></table></body></html>")


def test_the_index_level_follows_the_level_rules_for_failed_and_skipped_reviews(tmp_path):
    def index_violations(week):
        return [v.what for v in _check(week).of("counts") if "the index shows" in v.what]

    week = _week(tmp_path, _report(_good_sections()))
    _index_row(week, "OK", "failed", "ok")  # a failed review that had recorded 'ok' never reads as healthy
    assert index_violations(week) == ["the index shows OK for 2026-W47; its reports' worst level is NOT COMPUTED"]
    _index_row(week, "NOT COMPUTED", "failed", "ok")
    assert index_violations(week) == []
    _index_row(week, "NOT CONFIGURED", "skipped", "not configured")  # nothing configured is not an error
    assert index_violations(week) == []


def test_a_missing_or_empty_week_folder_is_one_clear_line_and_a_failure(tmp_path, capsys):
    assert artifact.main([str(tmp_path / "no-such-week")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"no week folder at {tmp_path / 'no-such-week'}"
    (tmp_path / "empty").mkdir()
    assert artifact.main([str(tmp_path / "empty")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"no reports in {tmp_path / 'empty'}"


def test_a_week_with_reports_or_a_status_file_is_not_taken_for_missing(tmp_path):
    week = _week(tmp_path, _report(_good_sections()))
    (week / "status.json").unlink()  # a report alone is something to check (the contract will flag the status)
    assert artifact.missing_week(week) == ""
    (tmp_path / "all-failed").mkdir()
    (tmp_path / "all-failed" / "status.json").write_text("{}")
    assert artifact.missing_week(tmp_path / "all-failed") == ""
