"""The incidents in short under the week page's banner (issue 20: on the first screen, the week's
findings grouped into incidents marked open or closed): open first, by level then start, capped so the
matrix stays on the first screen, each line linking to the incident in the full list below.

The demo week is tests/fixtures/weeks/demo-2026-W48.status.json; regenerate it with
`workbench demo up && workbench report --params params --out /tmp/demo-reports &&
python scripts/demo_week_fixture.py /tmp/demo-reports/<week>/status.json` (see test_incidents.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bs4 import BeautifulSoup

from workbench import config, incidents, pages, weekpage

DEMO = Path(__file__).parents[1] / "fixtures" / "weeks" / "demo-2026-W48.status.json"


def inc(subject: str, scope: str, level: str, is_open: bool, start: str | None = None, end: str | None = None,
        category: str = "errors", n: int = 1) -> dict:
    return {"subject": subject, "category": category, "scope": scope, "level": level, "start": start, "end": end,
            "open": is_open, "findings": [{"severity": level, "sentence": f"{subject} {k}"} for k in range(n)]}


def T(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00+00:00"


MIXED = [  # in a scrambled order: the summary sorts them itself
    inc("latency (service)", "service", "warning", False, T(28, 14, 3), T(28, 14, 54), "latency"),
    inc("drift of contract (churn)", "churn/contract", "warning", True, T(23, 18, 40), T(30, 0, 1), "drift", 2),
    inc("errors (service)", "service", "alert", False, T(27, 10, 8), T(27, 10, 55), n=4),
    inc("performance (churn)", "churn", "alert", True, T(23, 16, 8), T(30, 0, 1), "performance", 6),
    inc("dataset drift (revenue)", "revenue", "alert", True, None, None, "drift", 3),
    inc("outage of mlflow", "mlflow", "alert", False, T(25, 23, 50), T(26, 0, 10), "outage", 2),
    inc("labels (churn)", "churn", "warning", True, None, None, "labels"),
]


def test_open_incidents_come_first_then_by_level_then_start():
    s = weekpage.incident_summary(MIXED, limit=10)
    assert [(ln.open, ln.level, ln.who, ln.title) for ln in s.lines] == [
        (True, "alert", "revenue", "dataset drift"),          # about the whole window: no start, first
        (True, "alert", "churn", "performance"),
        (True, "warning", "churn", "labels"),
        (True, "warning", "churn", "drift of contract"),
        (False, "alert", "service", "outage of mlflow"),     # an outage is the service's; its title names what was down
        (False, "alert", "service", "errors"),
        (False, "warning", "service", "latency")]
    assert s.more == 0 and s.more_href == ""
    by = {ln.title: ln for ln in s.lines}
    assert by["performance"].when == "since Mon 23 Nov 16:08 UTC" and by["performance"].findings == 6
    assert by["errors"].when == "Fri 27 Nov 10:08 to 10:55 UTC"
    assert by["outage of mlflow"].when == "Wed 25 Nov 23:50 to Thu 26 Nov 00:10 UTC"  # over midnight: both days
    assert by["dataset drift"].when == "all week"
    # each line links to its incident's place in the full list (numbered from 1 in the order given)
    assert by["errors"].href == "#incident-3" and by["labels"].href == "#incident-7"


def test_when_an_incident_ran_by_day_or_all_week_and_the_full_list_says_the_same():
    days = {**inc("drift of tenure (churn)", "churn/tenure", "warning", False, T(24, 0), T(27, 0), "drift"),
            "span": "days"}
    one = {**days, "end": T(25, 0)}
    still = {**days, "open": True, "end": T(30, 0)}
    week = {**inc("drift of age (churn)", "churn/age", "warning", True, category="drift"), "span": "week"}
    closed_week = {**week, "open": False}
    s = weekpage.incident_summary([days, one, still, week, closed_week], limit=10)
    by_href = {ln.href: ln.when for ln in s.lines}
    assert by_href == {"#incident-1": "Tue 24 Nov to Thu 26 Nov",  # the end is Friday 00:00: Thursday was the last day
                       "#incident-2": "Tue 24 Nov", "#incident-3": "since Tue 24 Nov",
                       "#incident-4": "all week", "#incident-5": "all week"}
    # the incident list below the matrix says when in the same words, from the same stored start and end
    for i in (days, one, still, week, closed_week, MIXED[2]):
        assert weekpage.incident_row(i).span == weekpage.incident_summary([i]).lines[0].when
    assert weekpage.incident_row(MIXED[2]).span == "Fri 27 Nov 10:08 to 10:55 UTC"


def test_the_cap_keeps_the_worst_and_counts_the_rest():
    s = weekpage.incident_summary(MIXED, limit=4)
    # the four alerts, open or closed (a closed page outranks an open warning), still shown open first
    assert [(ln.open, ln.title) for ln in s.lines] == [
        (True, "dataset drift"), (True, "performance"), (False, "outage of mlflow"), (False, "errors")]
    assert (s.more, s.more_open, s.more_href) == (3, 2, "#incident-1")
    assert weekpage.incident_summary([]) is None


def _demo_page(tmp_path) -> tuple[weekpage.WeekPage, str]:
    status = json.loads(DEMO.read_text())
    page = weekpage.week_page(status, config.iso_week(status["period"]), tmp_path)
    return page, pages.render_week(page)


def test_the_demo_week_lists_its_open_incidents_and_the_services_closed_ones_first(tmp_path):
    page, _ = _demo_page(tmp_path)
    status = json.loads(DEMO.read_text())
    window = config.iso_week(status["period"])
    found = incidents.of_status(status, window.start, window.end)
    s = page.summary
    assert len(s.lines) == weekpage.MAX_SUMMARY < len(found)
    assert s.more == len(found) - weekpage.MAX_SUMMARY
    assert s.more_open == incidents.counts(found)["open"] - sum(ln.open for ln in s.lines)
    flags = [ln.open for ln in s.lines]
    assert flags == sorted(flags, reverse=True) and any(flags) and not all(flags)  # open first, then closed
    closed = [(ln.who, ln.title) for ln in s.lines if not ln.open]
    assert ("service", "errors") in closed  # the Friday error spike: one closed incident, on the first screen
    for ln in s.lines:  # within open and within closed: alerts first
        assert ln.level in ("alert", "warning")
    ranks = [(not ln.open, ln.level != "alert") for ln in s.lines]
    assert ranks == sorted(ranks)


def test_the_summary_sits_between_the_banner_and_the_matrix_and_links_to_each_incident(tmp_path):
    page, html = _demo_page(tmp_path)
    assert html.index('class="banner"') < html.index('class="incidents"') < html.index('class="matrix"')
    soup = BeautifulSoup(html, "html.parser")
    summary = soup.find("table", class_="incidents")
    rows = summary.find_all("tr")
    assert len(rows) == weekpage.MAX_SUMMARY + 1  # the lines and "… and N more incident(s) below"
    assert f"and {page.summary.more} more incident(s) below ({page.summary.more_open} open)" in rows[-1].get_text()
    for row, ln in zip(rows, page.summary.lines):
        text = re.sub(r"\s+", " ", row.get_text(" "))
        assert ("OPEN" if ln.open else "closed") in text and ln.when in text and f"{ln.findings} finding(s)" in text
        assert ("▲ ALERT" if ln.level == "alert" else "● WARNING") in text  # a mark and a word, not colour alone
        target = soup.find(id=row.find("a")["href"][1:])
        assert target is not None and target.name == "summary"
        assert f"{ln.who} ·" in text and ln.title in target.get_text()  # it links to the incident it names
    assert html.count('id="incident-') == len(page.incidents)


def test_a_hostile_model_name_in_the_summary_stays_text(tmp_path):
    hostile = "<script>alert(1)</script>"
    s = weekpage.incident_summary([inc(f"performance ({hostile})", hostile, "alert", True, category="performance")])
    assert s.lines[0].who == hostile
    page, _ = _demo_page(tmp_path)
    from dataclasses import replace

    html = pages.render_week(replace(page, summary=s))
    assert "<script>alert(1)" not in html and f"<b>{hostile.replace('<', '&lt;').replace('>', '&gt;')}</b>" in html
