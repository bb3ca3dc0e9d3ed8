"""What the week page (`reports/<week>/index.html`) and the index over all periods
(`reports/index.html`) say, as data: workbench.pages renders it through the templates in
workbench/templates (which escape every value: model names, Prometheus labels and category values
can be hostile), and `write_week` / `write_root` write the pages.

Both are computed from the stored `status.json` files only (levels, findings and headline numbers
the reviews recorded, see workbench.findings): nothing is recomputed, so the page says exactly
what the reports say. Static HTML and CSS, no script and no external resource.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from workbench import atomic, config, incidents, levels, pages, reviews, tables
from workbench.findings import result_level, worst
from workbench.reviews import SERVICE

REVIEW_ORDER = tuple(reviews.REVIEWS)  # the columns' order: the catalogue's (workbench.reviews)
MAX_PER_CELL = 5
MAX_SERVICE = 8
MAX_CHANGES = 12
MAX_SUMMARY = 6  # incidents listed under the banner: the matrix's first row stays on a 1400x900 first screen
# within one severity, the kinds a reader needs first
KIND_ORDER = ("dataset", "metric", "slo", "outage", "feature", "labels", "alert_rule", "data_quality", "dependency",
              "traffic", "ab_test", "other")
FIRST_KINDS = ("dataset", "metric", "slo", "outage")
# info findings worth showing on the week page (the SLOs' budget left, the dataset verdict, disagreements)
SHOWN_INFO_KINDS = ("dataset", "slo")


def href(path: str, anchor: str = "") -> str:
    """A relative link to a report (and a section of it), percent-encoded (the template escapes it)."""
    url = quote(path, safe="/._-")
    return url + (f"#{quote(anchor, safe='-_.')}" if anchor else "")


@dataclass(frozen=True)
class Link:
    """A link's text and its (percent-encoded, relative) address."""

    text: str
    href: str


@dataclass(frozen=True)
class Line:
    """One line of a list of findings: its severity (the marker's colour: alert, warning or info), its
    text and where it links to ('' for no link)."""

    severity: str
    text: str
    href: str = ""


@dataclass(frozen=True)
class Unfinished:
    """A review that failed or did not complete, and its partial notebook or incomplete report."""

    model: str
    review: str
    status: str
    link: Link | None = None


def load_status(period_dir: Path) -> dict | None:
    """A period's status.json, or None if it has none (or it is unreadable)."""
    try:
        return json.loads((Path(period_dir) / "status.json").read_text())
    except (OSError, ValueError):
        return None


def run_level(r: dict) -> str:
    """A result's level on the pages: a review that failed or did not complete is at least 'not
    computed' (its level only covers what ran), so an unfinished review never reads as healthy."""
    level = result_level(r)
    if not levels.bad_run(r.get("status", "failed")):
        return level
    return worst([level, "not computed"])


def unfinished(status: dict) -> list[dict]:
    """The results whose review failed or did not complete (not the ones skipped as not configured)."""
    return [r for r in status.get("results", []) if levels.bad_run(r.get("status", "failed"))]


def unfinished_items(status: dict, base: str = "") -> list[Unfinished]:
    """What did not complete, for a banner or an index row: each such review with a link to its partial
    notebook or its incomplete report (`base`: the period's folder, relative to the page)."""
    items = []
    for r in unfinished(status):
        link = (Link("partial notebook", href(base + r["ipynb"])) if r.get("ipynb") else
                Link("incomplete report", href(base + r["html"])) if r.get("html") else None)
        items.append(Unfinished(r["model"], review_of(r), r.get("status", "failed"), link))
    return items


def review_of(r: dict) -> str:
    """The review a stored result belongs to (drift, performance, infrastructure)."""
    return reviews.review_name(r["notebook"])


def _sorted_findings(findings: list[dict]) -> list[dict]:
    sev = {"alert": 0, "warning": 1, "info": 2}
    kind = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(findings, key=lambda f: (sev.get(f.get("severity"), 3), kind.get(f.get("kind"), 99)))


def top_findings(findings: list[dict], limit: int = MAX_PER_CELL) -> tuple[list[dict], int]:
    """The findings a cell shows, at most `limit`, and how many are left out: first the alerts and
    warnings about what a reader asks first (dataset, metrics, SLOs, outages), then the informative
    ones worth a line (the dataset verdict, the SLOs' budget left), then the other alerts and warnings,
    then why another tool (Evidently, a Prometheus alert) disagrees."""
    sev = {"alert": 0, "warning": 1}

    def group(f: dict) -> int:
        if f.get("severity") in sev:
            return 0 if f.get("kind") in FIRST_KINDS else 2
        if f.get("kind") == "comparison":  # another tool disagrees: after the findings themselves
            return 3
        return 1 if f.get("kind") in SHOWN_INFO_KINDS else 9

    ordered = [f for f in _sorted_findings(findings) if group(f) < 9]
    shown = sorted(ordered, key=group)[:limit]  # stable: severity and kind order kept within a group
    return shown, len(findings) - len(shown)


def _rows(status: dict) -> tuple[list[str], dict[tuple[str, str], dict]]:
    """Row names (models, then the service) and the result per (row, review)."""
    cells: dict[tuple[str, str], dict] = {}
    for r in status.get("results", []):
        cells[(r["model"], review_of(r))] = r
    models = sorted({m for m, _ in cells if m != SERVICE})
    return models + ([SERVICE] if any(m == SERVICE for m, _ in cells) else []), cells


def _counts(status: dict) -> dict[str, int]:
    out = {"alert": 0, "warning": 0}
    for r in status.get("results", []):
        for f in r.get("findings") or []:
            if f.get("severity") in out:
                out[f["severity"]] += 1
    return out


@dataclass(frozen=True)
class Cell:
    """One (row, review) cell of the matrix: the level, the run status when the run was not ok (the
    level only covers what ran), and the findings as lines linking to their sections."""

    level: str
    lines: list[Line] = field(default_factory=list)
    bad_run: str = ""       # "failed", "incomplete", ...: shown as "run failed" beside the level
    not_run: bool = False   # no result for this (row, review) this week
    colspan: int = 1
    why: Line | None = None  # performance: which drifted feature, if any, carries the drop (shown first)


def cell(r: dict | None, limit: int = MAX_PER_CELL, colspan: int = 1) -> Cell:
    """A result's cell: its level, then at most `limit` findings (see top_findings), a line for the
    rest, "nothing found", or why it could not compute."""
    if r is None:
        return Cell(level="not computed", not_run=True, colspan=colspan)
    status = r.get("status", "failed")
    link = r.get("html") or ""
    shown, more = top_findings(r.get("findings") or [], limit)
    lines = [Line(f.get("severity", "info"), f.get("sentence", ""), href(link, f.get("anchor", "")) if link else "")
             for f in shown]
    if more > 0 and link:
        lines.append(Line("info", f"{more} more finding(s) in the report", href(link)))
    if not shown and status == "ok":
        lines.append(Line("info", "nothing found"))
    for p in (r.get("problems") or [])[:2] if status != "ok" else []:
        what = "not configured" if status == "skipped" else "could not compute"
        lines.append(Line("info" if status == "skipped" else "warning", f"{what}: {p}"))
    return Cell(run_level(r), lines, "" if not levels.bad_run(status) else status,  # skipped: "not configured"
                colspan=colspan)


def why_line(drift: dict | None, performance: dict | None) -> Line | None:
    """The performance cell's first line: which drifted feature, if any, carries the drop of the
    headline metric (performance.drift_join.from_status, from the two stored results), linking to the
    weak-segment section; None when either review did not run ok or there is no drop."""
    from workbench.performance import drift_join, segments

    joined = drift_join.from_status(drift, performance)
    if joined is None or not joined.why:
        return None
    link = (performance or {}).get("html") or ""
    return Line("info", joined.why, href(link, segments.ANCHOR) if link else "")  # the report's banner says it alike


def _with_why(c: Cell, cells: dict[tuple[str, str], dict], model: str) -> Cell:
    why = why_line(cells.get((model, "drift")), cells.get((model, "performance")))
    return c if why is None else replace(c, why=why)


def not_configured(status: dict) -> list[tuple[str, str, str]]:
    """(model, review, why) of each review not run because its source is not configured."""
    return [(r["model"], review_of(r), (r.get("problems") or [""])[0])
            for r in status.get("results", []) if r.get("status") == "skipped"]


# --- the timeline --------------------------------------------------------------------

def _day_keys(window: config.Window) -> list[str]:
    days = int(round(window.days))
    return [(window.start + dt.timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]


@dataclass(frozen=True)
class Point:
    """A daily value on a lane: where it is drawn, its tooltip and its label."""

    x: float
    y: float
    title: str
    label: str


@dataclass(frozen=True)
class Lane:
    """One model's daily series (drift share, or the realised headline metric) at height `y`."""

    y: float
    model: str
    title: str
    colour: str
    points: list[Point]


@dataclass(frozen=True)
class Bar:
    """An episode (a page, an outage, an alert firing) from x to x + width."""

    x: float
    width: float
    colour: str
    title: str


@dataclass(frozen=True)
class EpisodeRow:
    """The episodes of one (kind, subject) at height `y`, named by `label` (shortened to `short`)."""

    y: float
    label: str
    short: str
    bars: list[Bar]


@dataclass(frozen=True)
class Timeline:
    """The week on one time axis (templates/timeline.svg draws it): the day grid, a lane per model and
    series, then the service's pages, outages and alert episodes as bars; every position in pixels."""

    width: float
    height: float
    left: float
    plot_width: float
    lane_height: float
    episode_height: float
    days: list[tuple[float, str]]   # (x, "Mon 16 Nov")
    grid: list[float]               # x of each day boundary
    grid_bottom: float
    lanes: list[Lane]
    episodes: list[EpisodeRow]
    episodes_y: float | None = None  # the "service: ..." heading, None without episodes


def timeline(status: dict, window: config.Window, width: int = 1100) -> Timeline:
    """One time axis for the week: per model its daily drift share and daily realised headline metric,
    then the service's pages, outages and alert episodes as bars (from the stored headline only)."""
    rows, cells = _rows(status)
    left, right, lane_h, ep_h = 230, 20, 46, 16
    plot_w = width - left - right
    span = (window.end - window.start).total_seconds()
    days = _day_keys(window)

    def x_of(ts: dt.datetime) -> float:
        return left + plot_w * max(0.0, min(1.0, (ts - window.start).total_seconds() / span))

    def x_day(i: float) -> float:
        return left + plot_w * (i / len(days))

    y = 24
    day_labels = [(x_day(i), dt.datetime.strptime(d, "%Y-%m-%d").strftime("%a %d %b")) for i, d in enumerate(days)]
    series: list[tuple[str, str, dict[str, float], str, str]] = []
    for m in rows:
        if m == SERVICE:
            continue
        d = (cells.get((m, "drift")) or {}).get("headline") or {}
        p = (cells.get((m, "performance")) or {}).get("headline") or {}
        ds = (d.get("series") or {}).get("drift_share") or {}
        series.append((m, "drift share per day (0–1)", ds, levels.DRIFT_LINE, ""))
        key = p.get("metric") or ("accuracy" if "accuracy" in (p.get("series") or {}) else "mae")
        ms = (p.get("series") or {}).get(key) or {}
        series.append((m, f"realised {tables.metric_name(key)} per day", ms, levels.LINK, key))  # 'MAE', not 'mae'
    lanes = []
    for model, title, values, colour, metric in series:
        vals = [values.get(d) for d in days]
        finite = [v for v in vals if isinstance(v, (int, float))]
        points = []
        if finite:
            lo, hi = (0.0, 1.0) if "drift share" in title else (min(finite), max(finite))
            if hi - lo < 1e-9:
                lo, hi = lo - 0.5, hi + 0.5
            for i, v in enumerate(vals):
                if isinstance(v, (int, float)):
                    points.append(Point(x_day(i + 0.5), y + (lane_h - 12) - (lane_h - 16) * (v - lo) / (hi - lo),
                                        *((tables.metric_value(metric, v),) * 2 if tables.is_percent_metric(metric)
                                          else (f"{v:.3g}", f"{v:.2f}" if abs(v) < 10 else f"{v:,.0f}"))))
        lanes.append(Lane(y, model, title, colour, points))
        y += lane_h
    # the service's intervals: pages, outages, alert episodes, one row per subject
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in status.get("results", []):
        for ep in (r.get("headline") or {}).get("episodes") or []:
            groups.setdefault((ep.get("kind", ""), ep.get("subject", "")), []).append(ep)
    order = {"page": 0, "outage": 1, "ticket": 2, "alert": 3}
    y += 6
    episodes_y = None
    if groups:
        episodes_y = y
        y += 16
    rows_out = []
    for (kind, subject), items in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])):
        label = f"{kind}: {subject}"
        bars = []
        for ep in items:
            try:
                s = dt.datetime.fromisoformat(ep["start"])
                t = dt.datetime.fromisoformat(ep["end"])
            except (KeyError, TypeError, ValueError):
                continue
            if t <= window.start or s >= window.end:
                continue
            x0, x1 = x_of(s), x_of(t)
            bars.append(Bar(x0, max(x1 - x0, 2), levels.episode_colour(kind, ep.get("severity", "alert")),
                            f"{label}: {ep['start']} to {ep['end']}"))
        rows_out.append(EpisodeRow(y, label, label if len(label) <= 38 else label[:36] + "…", bars))
        y += ep_h
    return Timeline(width, y + 6, left, plot_w, lane_h, ep_h, day_labels, [x_day(i) for i in range(len(days) + 1)],
                    y, lanes, rows_out, episodes_y)


# --- new and resolved ------------------------------------------------------------------

def _keys(status: dict | None) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for r in (status or {}).get("results", []):
        for f in r.get("findings") or []:
            if f.get("severity") in ("alert", "warning"):
                out.setdefault((r["model"], review_of(r), f.get("kind"), f.get("subject")), {**f, "model": r["model"],
                                                                                           "review": review_of(r)})
    return out


def borderline(status: dict | None) -> dict[tuple, dict]:
    """Findings marked borderline (an effect within 10% of its min_effect, see drift.core), by
    (model, review, kind, subject), whatever their severity."""
    out: dict[tuple, dict] = {}
    for r in (status or {}).get("results", []):
        for f in r.get("findings") or []:
            if (f.get("extra") or {}).get("borderline"):
                out.setdefault((r["model"], review_of(r), f.get("kind"), f.get("subject")),
                               {**f, "model": r["model"], "review": review_of(r)})
    return out


def changes(status: dict, previous: dict | None) -> tuple[list[dict], list[dict]]:
    """Alerts and warnings new since the previous week, and those of the previous week now gone
    (matched by model, review, kind and subject). A finding borderline in either week is neither:
    hovering at its effect floor flips drift / no drift without anything changing (see borderline)."""
    now, before = _keys(status), _keys(previous)
    hovering = set(borderline(status)) | set(borderline(previous))
    return ([f for k, f in now.items() if k not in before and k not in hovering],
            [f for k, f in before.items() if k not in now and k not in hovering])


# --- pages ----------------------------------------------------------------------------------

def nav(out: Path, window: config.Window) -> list[Link]:
    """All periods, and the previous and next weeks where they have pages."""
    prev_label = _week_label(window.start - dt.timedelta(days=7))
    next_label = _week_label(window.end)
    links = [Link("all periods", "../index.html")]
    if (out / prev_label / "index.html").exists() or (out / prev_label / "status.json").exists():
        links.append(Link(f"← {prev_label}", f"../{href(prev_label)}/index.html"))
    if (out / next_label / "status.json").exists():
        links.append(Link(f"{next_label} →", f"../{href(next_label)}/index.html"))
    return links


def _week_label(day: dt.datetime) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


@dataclass(frozen=True)
class Banner:
    """The week's verdict: its worst level, the alerts and warnings and the rows they are in, what did
    not complete, the runs by status, what is not configured, and a partial week's note."""

    level: str
    alerts: int
    warnings: int
    flagged: list[str]
    unfinished: list[Unfinished]
    runs: str                   # "1 incomplete, 3 ok"
    bad_runs: bool
    not_configured: list[tuple[str, str, str]]
    partial: list[str]
    incidents: int = 0          # the week's findings grouped into incidents (workbench.incidents)
    open: int = 0               # of which still open at the window's end


@dataclass(frozen=True)
class Row:
    """A row of the matrix: a model (or the service with `note` naming its review), its level and cells."""

    name: str
    level: str
    cells: list[Cell]
    note: str = ""


@dataclass(frozen=True)
class Changes:
    """A list of 'since last week': the first MAX_CHANGES findings as lines and how many are left out."""

    lines: list[Line]
    more: int = 0


@dataclass(frozen=True)
class ReportRow:
    """A line of the reports table: the result's level and run status, its links and its problems."""

    model: str
    review: str
    level: str
    status: str
    links: list[Link]
    problems: str


@dataclass(frozen=True)
class WeekPage:
    """Everything the week page shows (templates/week.html)."""

    label: str
    level: str
    first_day: str
    last_day: str
    nav: list[Link]
    banner: Banner
    reviews: list[str]          # the matrix's columns
    rows: list[Row]
    timeline: Timeline
    previous_label: str
    new: Changes | None         # None: no stored results for the previous week
    resolved: Changes | None
    borderline: Changes
    reports: list[ReportRow]
    generated: str
    schema: str
    incidents: list["IncidentRow"] = field(default_factory=list)
    approaching: list[Line] = field(default_factory=list)  # early-warning notes (workbench.approaching)
    summary: "IncidentSummary | None" = None  # the incidents in short, under the banner (None: no incident)


@dataclass(frozen=True)
class IncidentRow:
    """One incident of the week: its level, whether it is still open at the window's end, its subject,
    its span in words, and its findings folded under it; `anchor` is the id the summary links to."""

    level: str
    open: bool
    subject: str
    span: str
    lines: list[Line]
    anchor: str = ""


def incident_row(i: dict, anchor: str = "") -> IncidentRow:
    """An incident of status.json (workbench.incidents) as the week page shows it."""
    span = _incident_when(i)  # the same words as the summary's, from the same stored start and end
    lines = [Line(f.get("severity", "info"), f"{f.get('model', '')}: {f.get('sentence', '')}",
                  href(f["report"], f.get("anchor", "")) if f.get("report") else "")
             for f in i.get("findings", [])]
    return IncidentRow(i.get("level", "warning"), bool(i.get("open")), str(i.get("subject", "")), span, lines,
                       anchor)


@dataclass(frozen=True)
class IncidentLine:
    """One incident in the summary under the banner: its level, open or closed, who it is about (a
    model or the service), a short title, when (since when; from when to when if closed), how many
    findings are folded under it, and the link to it in the full list."""

    level: str
    open: bool
    who: str       # "churn-predictor", "service"
    title: str     # "drift of contract", "performance", "outage of mlflow"
    when: str      # "since Mon 23 Nov 16:08 UTC", "Fri 27 Nov 10:08 to 10:55 UTC", "all week"
    findings: int
    href: str      # "#incident-3"


@dataclass(frozen=True)
class IncidentSummary:
    """The week's incidents in short (at most MAX_SUMMARY lines), and how many more the full list has
    (and of those how many are open)."""

    lines: list[IncidentLine]
    more: int = 0
    more_open: int = 0
    more_href: str = ""


_LEVEL_RANK = {"alert": 0, "warning": 1}


def _incident_who(i: dict) -> str:
    """The model (or the service) an incident is about: its scope without a feature; an outage (scoped
    by the dependency that was down) is the service's."""
    if i.get("category") == "outage":
        return SERVICE
    scope = str(i.get("scope") or SERVICE)
    return scope.partition("/")[0] if i.get("category") == "drift" else scope  # drift: "<model>/<feature>"


def _incident_title(i: dict, who: str) -> str:
    """'drift of contract (churn-predictor)' without the ' (churn-predictor)' the summary shows apart."""
    subject = str(i.get("subject", ""))
    scope = str(i.get("scope") or "")
    for suffix in (f" ({who})", f" ({scope})"):
        if subject.endswith(suffix) and len(subject) > len(suffix):
            return subject[: -len(suffix)]
    return subject


def _clock(value: str | None) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def _incident_when(i: dict) -> str:
    """Since when an open incident runs, or from when to when a closed one ran (by day for one timed by
    the drift review's daily grid: `span` "days"); 'all week' for one told by week-level findings only
    (no start and end: about the whole window, open or not), with why when the incident says it (a
    dataset drift of the pooled week that no single day reached: `span_note`)."""
    start, end = _clock(i.get("start")), _clock(i.get("end"))
    if start is None or end is None:
        return f"all week: {i['span_note']}" if i.get("span_note") else "all week"
    if i.get("span") == "days":  # [start of the first day, end of the last day)
        last = end - dt.timedelta(microseconds=1)
        if i.get("open"):
            return f"since {start:%a %d %b}"
        return f"{start:%a %d %b}" + ("" if last.date() == start.date() else f" to {last:%a %d %b}")
    if i.get("open"):
        return f"since {start:%a %d %b %H:%M} UTC"
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %H:%M}"
    return f"{start:%a %d %b %H:%M} to {until} UTC"


def incident_order(i: dict) -> tuple:
    """The summary's order: open incidents first, then by level (alerts first), then by start (an
    incident about the whole window, with no start, first), then by subject."""
    return (not i.get("open"), _LEVEL_RANK.get(i.get("level"), 2), str(i.get("start") or ""), str(i.get("subject", "")))


def incident_summary(incs: list[dict], limit: int = MAX_SUMMARY) -> IncidentSummary | None:
    """The incidents under the banner, one line each, open first (incident_order), linking to
    `#incident-<n>` (n: the incident's place in `incs`, the full list below). When there are more than
    `limit`, the worst are kept, open or not (a closed page outranks an open warning: the service's
    incidents of the week stay on the first screen), and the rest are counted."""
    if not incs:
        return None
    numbered = list(enumerate(incs, start=1))
    kept = sorted(numbered, key=lambda ni: (_LEVEL_RANK.get(ni[1].get("level"), 2), not ni[1].get("open"),
                                            str(ni[1].get("start") or "")))[:limit]
    lines = []
    for n, i in sorted(kept, key=lambda ni: incident_order(ni[1])):
        who = _incident_who(i)
        lines.append(IncidentLine(str(i.get("level", "warning")), bool(i.get("open")), who, _incident_title(i, who),
                                  _incident_when(i), len(i.get("findings") or []), f"#incident-{n}"))
    left = [i for n, i in numbered if n not in {k for k, _ in kept}]
    return IncidentSummary(lines, len(left), sum(bool(i.get("open")) for i in left), "#incident-1" if left else "")


def approaching_lines(status: dict) -> list[Line]:
    """The reviews' 'approaching' notes (heading towards a threshold, not findings yet)."""
    return [Line("info", f"{r['model']}: {n.get('sentence', '')}") for r in status.get("results", [])
            for n in (r.get("headline") or {}).get("approaching") or []]


def _changes(items: list[dict]) -> Changes:
    lines = [Line(f.get("severity", "info"), f"{f['model']} · {f['review']}: {f.get('sentence', '')}")
             for f in _sorted_findings(items)[:MAX_CHANGES]]
    return Changes(lines, max(len(items) - MAX_CHANGES, 0))


def week_page(status: dict, window: config.Window, out: Path, previous: dict | None = None) -> WeekPage:
    """What the week page shows, from the period's status (and the previous week's, for what changed)."""
    period_dir = out / window.label
    rows, cells = _rows(status)
    level = worst(run_level(r) for r in status.get("results", []))
    counts = _counts(status)
    incs = status.get("incidents")  # schema 2; an older status.json is grouped here
    incs = incidents.of_status(status, window.start, window.end) if incs is None else incs
    flagged = [m for m in rows if any((cells.get((m, rv)) or {}).get("level") in ("alert", "warning")
                                      for rv in REVIEW_ORDER)]
    runs: dict[str, int] = {}
    for r in status.get("results", []):
        runs[r.get("status", "failed")] = runs.get(r.get("status", "failed"), 0) + 1
    banner = Banner(level, counts["alert"], counts["warning"], flagged, unfinished_items(status),
                    ", ".join(f"{v} {k}" for k, v in sorted(runs.items())), any(levels.bad_run(k) for k in runs),
                    not_configured(status),
                    sorted({r["partial"] for r in status.get("results", []) if r.get("partial")}),  # unfinished week
                    **{k: n for k, n in incidents.counts(incs).items() if k in ("incidents", "open")})
    names = [rv for rv in REVIEW_ORDER if any(k[1] == rv for k in cells)]
    names += sorted({k[1] for k in cells} - set(names))
    model_reviews = [rv for rv in names if any(k[1] == rv and k[0] != SERVICE for k in cells)]
    service_reviews = [rv for rv in names if (SERVICE, rv) in cells]
    matrix = []
    for m in rows:
        if m == SERVICE:
            continue
        row_level = worst(run_level(cells[(m, rv)]) if (m, rv) in cells else "not computed" for rv in model_reviews)
        matrix.append(Row(m, row_level, [_with_why(cell(cells.get((m, rv))), cells, m) if rv == "performance"
                                         else cell(cells.get((m, rv))) for rv in model_reviews]))
    for rv in service_reviews:
        r = cells[(SERVICE, rv)]
        matrix.append(Row(SERVICE, run_level(r), [cell(r, MAX_SERVICE, max(len(model_reviews), 1))],
                          f"{rv}, every model"))
    new, resolved = changes(status, previous)
    reports = []
    for r in sorted(status.get("results", []), key=lambda r: (r["model"] == SERVICE, r["model"], r["notebook"])):
        links = []
        if r.get("html"):
            links.append(Link("report", href(r["html"])))
        good = f"{r['model']}/{r['notebook']}.html"
        if r.get("status") != "ok" and good != r.get("html") and (period_dir / good).exists():
            links.append(Link("last good report", href(good)))
        if r.get("ipynb"):
            links.append(Link("partial notebook", href(r["ipynb"])))
        if r.get("findings_file"):
            links.append(Link("findings (JSON)", href(r["findings_file"])))
        for ev in sorted((period_dir / r["model"]).glob("*.evidently.html")) if review_of(r) == "drift" else []:
            links.append(Link("Evidently's report", href(str(ev.relative_to(period_dir)))))
        reports.append(ReportRow(r["model"], review_of(r), run_level(r), r.get("status", ""), links,
                                 "; ".join(r.get("problems") or [])))
    return WeekPage(
        label=window.label, level=level, first_day=f"{window.start:%Y-%m-%d}",
        last_day=f"{window.end - dt.timedelta(seconds=1):%Y-%m-%d}", nav=nav(out, window), banner=banner,
        reviews=model_reviews, rows=matrix, timeline=timeline(status, window),
        previous_label=_week_label(window.start - dt.timedelta(days=7)),
        new=None if previous is None else _changes(new), resolved=None if previous is None else _changes(resolved),
        borderline=_changes(list(borderline(status).values())), reports=reports,
        generated=str(status.get("generated", "")), schema=str(status.get("schema", "")),
        incidents=[incident_row(i, f"incident-{n}") for n, i in enumerate(incs, start=1)],
        approaching=approaching_lines(status), summary=incident_summary(incs))


def write_week(out: str | Path, week: str) -> Path:
    """reports/<week>/index.html from the stored status.json of this week and the previous one."""
    out = Path(out)
    window = config.iso_week(week)
    status = load_status(out / window.label) or {"results": []}
    previous = load_status(out / _week_label(window.start - dt.timedelta(days=7)))
    page = pages.render_week(week_page(status, window, out, previous))
    path = out / window.label / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, page)
    return path


# --- the index over all periods ---------------------------------------------------------------

def fmt_value(key: str, v: float | None) -> str:
    """A headline number for people, in its catalogue format (workbench.reviews.Headline): ratios as
    percentages, counts as integers, other numbers with significant digits."""
    from workbench.findings import num, pct

    if v is None:
        return "—"
    if tables.is_percent_metric(key):  # MAPE as the report's tables print it (tables.metric_value)
        return tables.metric_value(key, v)
    kind = reviews.headline_format(key)
    if kind == reviews.RATIO:
        return pct(v, 2)
    if kind == reviews.COUNT:
        return f"{int(v):,}"
    return num(v)


def spark_keys(review: str) -> tuple[str, ...]:
    """The headline numbers drawn over the periods for a review: its catalogue entries marked `spark`
    (for performance every metric a review can warn about, so a MAPE warning has MAPE's history, then
    the label coverage); a key a result did not record is left out."""
    return reviews.spark_keys(review)


@dataclass(frozen=True)
class Spark:
    """A small line of values over the periods (templates/_macros.html draws it): its segments (a missing
    value leaves a gap), the single points of one-value segments, and the latest value."""

    width: float
    height: float
    n: int
    segments: list[list[tuple[float, float]]]
    dots: list[tuple[float, float]]
    last: tuple[float, float]


def spark(values: list[float | None], width: int = 140, height: int = 30) -> Spark | None:
    """The sparkline of `values` (None leaves a gap), or None when no value is a number."""
    finite = [v for v in values if isinstance(v, (int, float))]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    n = max(len(values) - 1, 1)
    segs: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    for i, v in enumerate(values):
        if isinstance(v, (int, float)):
            cur.append((2 + (width - 4) * i / n, height - 3 - (height - 6) * (v - lo) / (hi - lo)))
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return Spark(width, height, len(values), segs, [pt for seg in segs if len(seg) == 1 for pt in seg], segs[-1][-1])


@dataclass(frozen=True)
class IndexCell:
    """A period's result for one (model, review): its level, the run status when not ok or skipped, and
    the link to its partial notebook."""

    level: str
    bad_run: str = ""
    partial: str = ""


@dataclass(frozen=True)
class IndexRow:
    """A period: its worst level, a cell per column (None: not run that period), when it was generated
    and what did not complete."""

    period: str
    level: str
    cells: list[IndexCell | None]
    generated: str
    unfinished: list[Unfinished]


@dataclass(frozen=True)
class Card:
    """One headline number of one (model, review) over the recent periods."""

    model: str
    name: str
    spark: Spark | None
    last: str


@dataclass(frozen=True)
class IndexPage:
    """Everything the index over all periods shows (templates/index.html)."""

    columns: list[tuple[str, str]]   # (model, review)
    rows: list[IndexRow]             # newest first
    cards: list[Card]
    recent: list[str]                # the periods the cards cover, oldest first


def index_page(out: Path, weeks: int = 12) -> IndexPage:
    """reports/index.html's content: every period with the worst level per model and review, and small
    multiples of the headline numbers over the last `weeks` periods (from the stored status.json only)."""
    periods = []
    for d in sorted((p for p in out.iterdir() if p.is_dir()), key=lambda p: p.name):
        st = load_status(d)
        if st is not None:
            periods.append((d.name, st))
    columns: list[tuple[str, str]] = []
    for _, st in periods:
        for r in st.get("results", []):
            key = (r["model"], review_of(r))
            if key not in columns:
                columns.append(key)
    order = {rv: i for i, rv in enumerate(REVIEW_ORDER)}
    columns.sort(key=lambda k: (k[0] == SERVICE, k[0], order.get(k[1], 9)))
    rows = []
    for name, st in reversed(periods):
        by = {(r["model"], review_of(r)): r for r in st.get("results", [])}
        cells: list[IndexCell | None] = []
        for key in columns:
            r = by.get(key)
            if r is None:
                cells.append(None)
            elif not levels.bad_run(r.get("status")):
                cells.append(IndexCell(run_level(r)))
            else:
                cells.append(IndexCell(run_level(r), r.get("status", ""),
                                       href(name + "/" + r["ipynb"]) if r.get("ipynb") else ""))
        rows.append(IndexRow(name, worst(run_level(r) for r in st.get("results", [])), cells,
                             str(st.get("generated", "")), unfinished_items(st, name + "/")))
    recent = periods[-weeks:]
    cards = []
    for m, rv in columns:
        for k in spark_keys(rv):
            vals = []
            for _, st in recent:
                r = next((x for x in st.get("results", []) if x["model"] == m and review_of(x) == rv), None)
                v = ((r or {}).get("headline") or {}).get(k)
                vals.append(float(v) if isinstance(v, (int, float)) else None)
            if not any(v is not None for v in vals):
                continue
            last = next((v for v in reversed(vals) if v is not None), None)
            cards.append(Card(m, k.replace("_", " "), spark(vals), fmt_value(k, last)))
    return IndexPage(columns, rows, cards, [name for name, _ in recent])


def write_root(out: str | Path, weeks: int = 12) -> Path:
    """reports/index.html over every period with a status.json."""
    out = Path(out)
    path = out / "index.html"
    atomic.write_text(path, pages.render_index(index_page(out, weeks)))
    return path
