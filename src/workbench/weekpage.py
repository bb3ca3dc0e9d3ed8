"""The week page (`reports/<week>/index.html`) and the index over all periods (`reports/index.html`).

Both are written from the stored `status.json` files only (levels, findings and headline numbers
the reviews recorded, see workbench.findings): nothing is recomputed, so the page says exactly
what the reports say. Static HTML and CSS, no script and no external resource; every value is
escaped (model names, Prometheus labels and category values can be hostile).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from workbench import config, incidents
from workbench.findings import LEVELS, NOT_CONFIGURED, result_level, worst

REVIEW_ORDER = ("drift", "performance", "infrastructure")
SERVICE = "service"
MAX_PER_CELL = 5
MAX_SERVICE = 8
# within one severity, the kinds a reader needs first
KIND_ORDER = ("dataset", "metric", "slo", "outage", "feature", "labels", "alert_rule", "data_quality", "dependency",
              "traffic", "ab_test", "other")
FIRST_KINDS = ("dataset", "metric", "slo", "outage")
# info findings worth showing on the week page (the SLOs' budget left, the dataset verdict, disagreements)
SHOWN_INFO_KINDS = ("dataset", "slo")
LEVEL_WORD = {"alert": "ALERT", "warning": "WARNING", "not computed": "NOT COMPUTED", "ok": "OK",
              NOT_CONFIGURED: "NOT CONFIGURED"}
LEVEL_MARK = {"alert": "▲", "warning": "●", "not computed": "○", "ok": "✓", NOT_CONFIGURED: "–"}
COLORS = {"alert": ("#b03a2e", "#fdecea"), "warning": ("#9a6400", "#fef5e7"), "not computed": ("#555", "#eeeeee"),
          "ok": ("#1e7a45", "#eafaf1"), NOT_CONFIGURED: ("#666", "#ffffff")}  # not configured: no level, no grey
EPISODE_COLORS = {"page": "#b03a2e", "outage": "#6c3483", "critical": "#b03a2e", "warning": "#d68910",
                  "ticket": "#d68910", "alert": "#d68910"}

e = html.escape

STYLE = """<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:.8em 1.5em;color:#1c1c1c;max-width:1500px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}
nav{font-size:.9em;color:#555}nav a{margin-right:1em}
.banner{padding:.4em 1em;border-left:8px solid;margin:.4em 0 .6em;font-size:1.05em}
.lv{display:inline-block;font-weight:700;padding:1px 7px;border-radius:3px;font-size:.85em;white-space:nowrap}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.matrix td{width:42%}.matrix th.row{width:12%;white-space:nowrap}
ul.f{margin:.25em 0 0;padding-left:1.1em}ul.f li{margin:.1em 0;font-size:.84em;line-height:1.25}
ul.f a{text-decoration:none;color:#1c1c1c}ul.f a:hover{text-decoration:underline;color:#1a5490}
li.alert::marker{color:#b03a2e}li.warning::marker{color:#9a6400}li.info::marker{color:#888}
.run{font-size:.8em;color:#555}.run.bad{color:#b03a2e;font-weight:600}
small,.muted{color:#666}a{color:#1a5490}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;padding:6px 8px;width:160px;font-size:.85em}
.card .last{font-weight:600}
</style>"""


def _badge(level: str) -> str:
    fg, bg = COLORS.get(level, COLORS["not computed"])
    return (f'<span class="lv" style="color:{fg};background:{bg};border:1px solid {fg}">'
            f'{LEVEL_MARK.get(level, "○")} {e(LEVEL_WORD.get(level, level.upper()))}</span>')


def _href(path: str, anchor: str = "") -> str:
    """A relative link to a report (and a section of it), escaped for an attribute."""
    url = quote(path, safe="/._-")
    return e(url + (f"#{quote(anchor, safe='-_.')}" if anchor else ""), quote=True)


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
    if r.get("status", "failed") in ("ok", "skipped"):
        return level
    return worst([level, "not computed"])


def unfinished(status: dict) -> list[dict]:
    """The results whose review failed or did not complete (not the ones skipped as not configured)."""
    return [r for r in status.get("results", []) if r.get("status", "failed") not in ("ok", "skipped")]


def _unfinished_note(status: dict, base: str = "") -> str:
    """'did not complete: m · review (failed; partial notebook)' for a banner or an index row (an incomplete
    review links its incomplete report), or ''."""
    items = []
    for r in unfinished(status):
        where = (f'; <a href="{_href(base + r["ipynb"])}">partial notebook</a>' if r.get("ipynb") else
                 f'; <a href="{_href(base + r["html"])}">incomplete report</a>' if r.get("html") else "")
        items.append(f"{e(r['model'])} · {e(_review(r))} ({e(r.get('status', 'failed'))}{where})")
    return "did not complete: " + ", ".join(items) if items else ""


def _review(r: dict) -> str:
    from workbench.report import review_name

    return review_name(r["notebook"])


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
        cells[(r["model"], _review(r))] = r
    models = sorted({m for m, _ in cells if m != SERVICE})
    return models + ([SERVICE] if any(m == SERVICE for m, _ in cells) else []), cells


def _counts(status: dict) -> dict[str, int]:
    out = {"alert": 0, "warning": 0}
    for r in status.get("results", []):
        for f in r.get("findings") or []:
            if f.get("severity") in out:
                out[f["severity"]] += 1
    return out


def _cell(r: dict | None, period_dir: Path, limit: int = MAX_PER_CELL) -> str:
    if r is None:
        return '<td><span class="run">not run this week</span></td>'
    level = run_level(r)
    status = r.get("status", "failed")
    link = r.get("html") or ""
    parts = [_badge(level)]
    if status not in ("ok", "skipped"):  # skipped: the badge says "not configured"
        parts.append(f' <span class="run bad">run {e(status)}</span>')
    shown, more = top_findings(r.get("findings") or [], limit)
    items = []
    for f in shown:
        text = e(f.get("sentence", ""))
        if link:
            text = f'<a href="{_href(link, f.get("anchor", ""))}">{text}</a>'
        items.append(f'<li class="{e(f.get("severity", "info"))}">{text}</li>')
    if more > 0 and link:
        items.append(f'<li class="info"><a href="{_href(link)}">{more} more finding(s) in the report</a></li>')
    if not shown and status == "ok":
        items.append('<li class="info">nothing found</li>')
    for p in (r.get("problems") or [])[:2] if status != "ok" else []:
        what = "not configured" if status == "skipped" else "could not compute"
        items.append(f'<li class="{"info" if status == "skipped" else "warning"}">{what}: {e(p)}</li>')
    return f"<td>{''.join(parts)}<ul class='f'>{''.join(items)}</ul></td>"


def _incidents(incs: list[dict], status: dict) -> str:
    """The week's incidents, each once with its findings folded under it, open ones first, then the
    'approaching' notes of the reviews (workbench.incidents, workbench.approaching)."""
    items = []
    for i in incs:
        span = (f"{i['start'][:16].replace('T', ' ')} to {i['end'][:16].replace('T', ' ')} UTC"
                if i.get("start") and i.get("end") else "this week")
        state = '<b class="run bad">OPEN</b>' if i.get("open") else '<span class="run">closed</span>'
        told = "".join(f'<li class="{e(f.get("severity", "info"))}">{e(f.get("model", ""))}: '
                       + (f'<a href="{_href(f["report"], f.get("anchor", ""))}">{e(f.get("sentence", ""))}</a>'
                          if f.get("report") else e(f.get("sentence", ""))) + "</li>" for f in i.get("findings", []))
        items.append(f"<details><summary>{_badge(i.get('level', 'warning'))} {state} {e(i.get('subject', ''))} "
                     f"<small>{e(span)} · {len(i.get('findings', []))} finding(s)</small></summary>"
                     f"<ul class='f'>{told}</ul></details>")
    notes = [(r["model"], n) for r in status.get("results", [])
             for n in (r.get("headline") or {}).get("approaching") or []]
    near = "".join(f'<li class="info">{e(m)}: {e(n.get("sentence", ""))}</li>' for m, n in notes)
    return ((f"<h2>Incidents</h2>{''.join(items)}" if items else "")
            + (f"<h2>Approaching</h2><p class='muted'>Not findings yet: heading towards a threshold.</p>"
               f"<ul class='f'>{near}</ul>" if near else ""))


def _not_configured(status: dict) -> str:
    """'Not reviewed (not configured): service · infrastructure — why' for the banner, or ''."""
    unset = [r for r in status.get("results", []) if r.get("status") == "skipped"]
    if not unset:
        return ""
    items = "; ".join(f"{e(r['model'])} · {e(_review(r))}"
                      + (f" — {e(r['problems'][0])}" if r.get("problems") else "") for r in unset)
    return f'<br><span class="run">not reviewed, not configured: {items}</span>'


# --- the timeline --------------------------------------------------------------------

def _day_keys(window: config.Window) -> list[str]:
    days = int(round(window.days))
    return [(window.start + dt.timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]


def timeline_svg(status: dict, window: config.Window, width: int = 1100) -> str:
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

    parts: list[str] = []
    y = 24
    for i, d in enumerate(days):  # day grid and labels
        x = x_day(i)
        label = dt.datetime.strptime(d, "%Y-%m-%d").strftime("%a %d %b")
        parts.append(f'<text x="{x + 4:.1f}" y="14" font-size="11" fill="#555">{e(label)}</text>')
    lanes: list[tuple[str, str, dict[str, float], str]] = []
    for m in rows:
        if m == SERVICE:
            continue
        d = (cells.get((m, "drift")) or {}).get("headline") or {}
        p = (cells.get((m, "performance")) or {}).get("headline") or {}
        ds = (d.get("series") or {}).get("drift_share") or {}
        lanes.append((m, "drift share (share of features drifted, 0–1)", ds, "#8e44ad"))
        key = p.get("metric") or ("accuracy" if "accuracy" in (p.get("series") or {}) else "mae")
        ms = (p.get("series") or {}).get(key) or {}
        lanes.append((m, f"realised {key} per day", ms, "#1a5490"))
    for model, title, series, color in lanes:
        vals = [series.get(d) for d in days]
        finite = [v for v in vals if isinstance(v, (int, float))]
        parts.append(f'<text x="4" y="{y + 16}" font-size="12" font-weight="600">{e(model)}</text>'
                     f'<text x="4" y="{y + 31}" font-size="11" fill="#555">{e(title)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{lane_h - 8}" fill="#fafafa" stroke="#ddd"/>')
        if finite:
            lo, hi = (0.0, 1.0) if "drift share" in title else (min(finite), max(finite))
            if hi - lo < 1e-9:
                lo, hi = lo - 0.5, hi + 0.5
            pts = []
            for i, v in enumerate(vals):
                if isinstance(v, (int, float)):
                    cx = x_day(i + 0.5)
                    cy = y + (lane_h - 12) - (lane_h - 16) * (v - lo) / (hi - lo)
                    pts.append((cx, cy, v))
            path = " ".join(f"{'M' if j == 0 else 'L'}{cx:.1f},{cy:.1f}" for j, (cx, cy, _) in enumerate(pts))
            parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            for cx, cy, v in pts:
                parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{color}"><title>{e(f"{v:.3g}")}'
                             f'</title></circle><text x="{cx + 4:.1f}" y="{cy - 3:.1f}" font-size="9" fill="#333">'
                             f'{e(f"{v:.2f}" if abs(v) < 10 else f"{v:,.0f}")}</text>')
        else:
            parts.append(f'<text x="{left + 8}" y="{y + 22}" font-size="11" fill="#888">no daily values recorded</text>')
        y += lane_h
    # the service's intervals: pages, outages, alert episodes, one row per subject
    eps: list[dict] = []
    for r in status.get("results", []):
        for ep in (r.get("headline") or {}).get("episodes") or []:
            eps.append({**ep, "model": r["model"]})
    groups: dict[tuple[str, str], list[dict]] = {}
    for ep in eps:
        groups.setdefault((ep.get("kind", ""), ep.get("subject", "")), []).append(ep)
    order = {"page": 0, "outage": 1, "ticket": 2, "alert": 3}
    y += 6
    if groups:
        parts.append(f'<text x="4" y="{y + 10}" font-size="12" font-weight="600">service: pages, outages, alerts</text>')
        y += 16
    for (kind, subject), items in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])):
        label = f"{kind}: {subject}"
        short = label if len(label) <= 38 else label[:36] + "…"
        parts.append(f'<text x="4" y="{y + 12}" font-size="11"><title>{e(label)}</title>{e(short)}</text>')
        for ep in items:
            try:
                s = dt.datetime.fromisoformat(ep["start"])
                t = dt.datetime.fromisoformat(ep["end"])
            except (KeyError, TypeError, ValueError):
                continue
            if t <= window.start or s >= window.end:
                continue
            color = EPISODE_COLORS.get(kind if kind != "alert" else ep.get("severity", "alert"), "#7f8c8d")
            x0, x1 = x_of(s), x_of(t)
            parts.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 2):.1f}" height="{ep_h - 4}" '
                         f'fill="{color}"><title>{e(label)}: {e(ep["start"])} to {e(ep["end"])}</title></rect>')
        y += ep_h
    for i in range(len(days) + 1):
        x = x_day(i)
        parts.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{y}" stroke="#ccc" stroke-dasharray="2,3"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 6}" role="img" '
            f'aria-label="timeline of the week">{"".join(parts)}</svg>')


# --- new and resolved ------------------------------------------------------------------

def _keys(status: dict | None) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for r in (status or {}).get("results", []):
        for f in r.get("findings") or []:
            if f.get("severity") in ("alert", "warning"):
                out.setdefault((r["model"], _review(r), f.get("kind"), f.get("subject")), {**f, "model": r["model"],
                                                                                           "review": _review(r)})
    return out


def borderline(status: dict | None) -> dict[tuple, dict]:
    """Findings marked borderline (an effect within 10% of its min_effect, see drift.core), by
    (model, review, kind, subject), whatever their severity."""
    out: dict[tuple, dict] = {}
    for r in (status or {}).get("results", []):
        for f in r.get("findings") or []:
            if (f.get("extra") or {}).get("borderline"):
                out.setdefault((r["model"], _review(r), f.get("kind"), f.get("subject")),
                               {**f, "model": r["model"], "review": _review(r)})
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

def _nav(out: Path, window: config.Window) -> str:
    prev_label = _week_label(window.start - dt.timedelta(days=7))
    next_label = _week_label(window.end)
    links = ['<a href="../index.html">all periods</a>']
    if (out / prev_label / "index.html").exists() or (out / prev_label / "status.json").exists():
        links.append(f'<a href="../{_href(prev_label)}/index.html">← {e(prev_label)}</a>')
    if (out / next_label / "status.json").exists():
        links.append(f'<a href="../{_href(next_label)}/index.html">{e(next_label)} →</a>')
    return "<nav>" + "".join(links) + "</nav>"


def _week_label(day: dt.datetime) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def render_week(status: dict, window: config.Window, out: Path, previous: dict | None = None) -> str:
    """The week page's HTML from the period's status (and the previous week's, for what changed)."""
    period_dir = out / window.label
    rows, cells = _rows(status)
    level = worst(run_level(r) for r in status.get("results", []))
    counts = _counts(status)
    incs = status.get("incidents")  # schema 2; an older status.json is grouped here
    incs = incidents.of_status(status, window.start, window.end) if incs is None else incs
    fg, bg = COLORS.get(level, COLORS["not computed"])
    flagged = [m for m in rows if any((cells.get((m, rv)) or {}).get("level") in ("alert", "warning")
                                      for rv in REVIEW_ORDER)]
    runs: dict[str, int] = {}
    for r in status.get("results", []):
        runs[r.get("status", "failed")] = runs.get(r.get("status", "failed"), 0) + 1
    run_text = ", ".join(f"{v} {k}" for k, v in sorted(runs.items()))
    partial = sorted({r["partial"] for r in status.get("results", []) if r.get("partial")})  # unfinished week
    headline = (f'<div class="banner" style="border-color:{fg};background:{bg}">{_badge(level)} '
                f'<b>{counts["alert"]} alert(s), {counts["warning"]} warning(s)</b>'
                + (f" in {', '.join(e(m) for m in flagged)}" if flagged else "")
                + (f'; <b>{n["incidents"]} incident(s), {n["open"]} still open</b>'
                   if (n := incidents.counts(incs))["incidents"] else "")
                + (f' — <span class="run bad">{note}</span>' if (note := _unfinished_note(status)) else
                   "" if flagged else " — nothing needs attention")
                + f'<br><span class="run{" bad" if set(runs) - {"ok", "skipped"} else ""}">reports run: '
                  f'{e(run_text) or "none"} (the run status says whether a review ran; the level says what it found)'
                  "</span>" + _not_configured(status) + "".join(f"<br><b>{e(p)}</b>" for p in partial) + "</div>")
    reviews = [rv for rv in REVIEW_ORDER if any(k[1] == rv for k in cells)]
    reviews += sorted({k[1] for k in cells} - set(reviews))
    model_reviews = [rv for rv in reviews if any(k[1] == rv and k[0] != SERVICE for k in cells)]
    service_reviews = [rv for rv in reviews if (SERVICE, rv) in cells]
    trs = []
    head = "".join(f"<th>{e(rv)}</th>" for rv in model_reviews)
    for m in rows:
        if m == SERVICE:
            continue
        row_level = worst(run_level(cells[(m, rv)]) if (m, rv) in cells else "not computed" for rv in model_reviews)
        trs.append(f'<tr><th class="row">{e(m)}<br>{_badge(row_level)}</th>'
                   + "".join(_cell(cells.get((m, rv)), period_dir) for rv in model_reviews) + "</tr>")
    for rv in service_reviews:
        r = cells[(SERVICE, rv)]
        trs.append(f'<tr><th class="row">service<br><small>{e(rv)}, every model</small><br>'
                   f'{_badge(run_level(r))}</th>'
                   + _cell(r, period_dir, MAX_SERVICE).replace("<td>", f'<td colspan="{max(len(model_reviews), 1)}">', 1)
                   + "</tr>")
    matrix = (f'<table class="matrix"><tr><th></th>{head}</tr>{"".join(trs)}</table>' if trs
              else "<p>No reports for this period yet.</p>")
    new, resolved = changes(status, previous)

    def flist(items: list[dict]) -> str:
        if not items:
            return "<li class='info'>none</li>"
        return "".join(f'<li class="{e(f.get("severity", "info"))}">{e(f["model"])} · {e(f["review"])}: '
                       f'{e(f.get("sentence", ""))}</li>' for f in _sorted_findings(items)[:12]) + (
            f"<li class='info'>… and {len(items) - 12} more</li>" if len(items) > 12 else "")
    prev_label = _week_label(window.start - dt.timedelta(days=7))
    change_html = (f"<h2>Since last week ({e(prev_label)})</h2>" + (
        "<p class='muted'>No stored results for the previous week to compare with.</p>" if previous is None else
        f"<div style='display:flex;gap:2em'><div><b>New</b><ul class='f'>{flist(new)}</ul></div>"
        f"<div><b>Resolved</b><ul class='f'>{flist(resolved)}</ul></div>"
        f"<div><b>Borderline</b> <small>(at the effect floor: not new, not resolved)</small>"
        f"<ul class='f'>{flist(list(borderline(status).values()))}</ul></div></div>"))
    links = []
    for r in sorted(status.get("results", []), key=lambda r: (r["model"] == SERVICE, r["model"], r["notebook"])):
        items = []
        if r.get("html"):
            items.append(f'<a href="{_href(r["html"])}">report</a>')
        good = f"{r['model']}/{r['notebook']}.html"
        if r.get("status") != "ok" and good != r.get("html") and (period_dir / good).exists():
            items.append(f'<a href="{_href(good)}">last good report</a>')
        if r.get("ipynb"):
            items.append(f'<a href="{_href(r["ipynb"])}">partial notebook</a>')
        if r.get("findings_file"):
            items.append(f'<a href="{_href(r["findings_file"])}">findings (JSON)</a>')
        for ev in sorted((period_dir / r["model"]).glob("*.evidently.html")) if _review(r) == "drift" else []:
            items.append(f'<a href="{_href(str(ev.relative_to(period_dir)))}">Evidently\'s report</a>')
        bad = r.get("status") != "ok"
        links.append(f"<tr><td>{e(r['model'])}</td><td>{e(_review(r))}</td><td>{_badge(run_level(r))}"
                     f"</td><td class='run{' bad' if bad else ''}'>{e(r.get('status', ''))}</td>"
                     f"<td>{' · '.join(items) or '—'}</td><td class='muted'>{e('; '.join(r.get('problems') or []))}"
                     "</td></tr>")
    generated = status.get("generated", "")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Week {e(window.label)}: "
            f"{e(LEVEL_WORD.get(level, level))}</title>{STYLE}</head><body>"
            f"{_nav(out, window)}<h1>Week {e(window.label)} <small>{window.start:%Y-%m-%d} to "
            f"{window.end - dt.timedelta(seconds=1):%Y-%m-%d} (UTC)</small></h1>{headline}{matrix}"
            f"{_incidents(incs, status)}"
            f"<h2>The week on one time axis</h2><p class='muted'>Per model the daily drift share and the daily "
            "realised headline metric (on the days whose outcomes have arrived), below them the service's pages, "
            "outages and alert episodes: did the drop start with the drift or with an incident?</p>"
            f"{timeline_svg(status, window)}{change_html}"
            f"<h2>Reports</h2><table><tr><th>model</th><th>review</th><th>level</th><th>run</th><th>links</th>"
            f"<th>could not compute</th></tr>{''.join(links)}</table>"
            f"<p class='muted'>Generated {e(generated)} from status.json (schema {e(str(status.get('schema', '')))})."
            "</p></body></html>")


def write_week(out: str | Path, week: str) -> Path:
    """reports/<week>/index.html from the stored status.json of this week and the previous one."""
    out = Path(out)
    window = config.iso_week(week)
    status = load_status(out / window.label) or {"results": []}
    previous = load_status(out / _week_label(window.start - dt.timedelta(days=7)))
    page = render_week(status, window, out, previous)
    path = out / window.label / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, page)
    return path


def _write(path: Path, text: str) -> None:
    import os

    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- the index over all periods ---------------------------------------------------------------

RATIO_KEYS = ("label_coverage", "error_ratio", "availability_api", "availability_mlflow")


def fmt_value(key: str, v: float | None) -> str:
    """A headline number for people: ratios as percentages, counts as integers."""
    from workbench.findings import num, pct

    if v is None:
        return "—"
    if key in RATIO_KEYS:
        return pct(v, 2)
    if key in ("pages", "alert_episodes", "outages", "slos_missed", "n_drifted"):
        return f"{int(v):,}"
    return num(v)


SPARK_KEYS = {"drift": ("drift_share",), "performance": ("label_coverage",),
              "infrastructure": ("availability_api", "error_ratio", "pages", "alert_episodes", "outages")}


def spark_keys(review: str) -> tuple[str, ...]:
    """The headline numbers drawn over the periods for a review: for performance every metric a review
    can warn about (performance.core.warning_metrics, so a MAPE warning has MAPE's history), then the
    fixed ones in SPARK_KEYS; a key a result did not record is left out."""
    keys: tuple[str, ...] = ()
    if review == "performance":
        from workbench.performance.core import HEADLINE, warning_metrics

        keys = tuple(dict.fromkeys(m for kind in HEADLINE for m in warning_metrics(kind)))
    return keys + SPARK_KEYS.get(review, ())


def sparkline(values: list[float | None], width: int = 140, height: int = 30) -> str:
    """A small inline SVG line of `values` (None leaves a gap), the last value marked."""
    finite = [v for v in values if isinstance(v, (int, float))]
    if not finite:
        return '<span class="muted">—</span>'
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    n = max(len(values) - 1, 1)
    segs, cur = [], []
    for i, v in enumerate(values):
        if isinstance(v, (int, float)):
            cur.append((2 + (width - 4) * i / n, height - 3 - (height - 6) * (v - lo) / (hi - lo)))
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    paths = "".join(f'<path d="{" ".join(("M" if j == 0 else "L") + f"{x:.1f},{y:.1f}" for j, (x, y) in enumerate(s))}" '
                    'fill="none" stroke="#1a5490" stroke-width="1.5"/>' for s in segs)
    lx, ly = segs[-1][-1]
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="#1a5490"/>' for s in segs for x, y in s if len(s) == 1)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="last {len(values)} periods">{paths}{dots}<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.5" '
            'fill="#b03a2e"/></svg>')


def render_root(out: Path, weeks: int = 12) -> str:
    """reports/index.html: every period with the worst level per model and review, and small multiples
    of the headline numbers over the last `weeks` periods (from the stored status.json only)."""
    periods = []
    for d in sorted((p for p in out.iterdir() if p.is_dir()), key=lambda p: p.name):
        st = load_status(d)
        if st is not None:
            periods.append((d.name, st))
    columns: list[tuple[str, str]] = []
    for _, st in periods:
        for r in st.get("results", []):
            key = (r["model"], _review(r))
            if key not in columns:
                columns.append(key)
    order = {rv: i for i, rv in enumerate(REVIEW_ORDER)}
    columns.sort(key=lambda k: (k[0] == SERVICE, k[0], order.get(k[1], 9)))
    head = "".join(f"<th>{e(m)}<br><small>{e(rv)}</small></th>" for m, rv in columns)
    rows = []
    for name, st in reversed(periods):
        by = {(r["model"], _review(r)): r for r in st.get("results", [])}
        level = worst(run_level(r) for r in st.get("results", []))
        tds = []
        for key in columns:
            r = by.get(key)
            if r is None:
                tds.append("<td class='muted'>—</td>")
            else:
                run = "" if r.get("status") in ("ok", "skipped") else \
                    f"<br><span class='run bad'>run {e(r.get('status', ''))}</span>" + (
                        f"<br><a href='{_href(name + '/' + r['ipynb'])}'>partial notebook</a>" if r.get("ipynb") else "")
                tds.append(f"<td>{_badge(run_level(r))}{run}</td>")
        rows.append(f"<tr><td><a href='{_href(name)}/index.html'>{e(name)}</a></td><td>{_badge(level)}</td>"
                    f"{''.join(tds)}<td class='muted'>{e(st.get('generated', ''))}"
                    + (f"<br><span class='run bad'>{note}</span>" if (note := _unfinished_note(st, name + "/")) else "")
                    + "</td></tr>")
    recent = periods[-weeks:]
    spark_rows = []
    for m, rv in columns:
        for k in spark_keys(rv):
            vals = []
            for _, st in recent:
                r = next((x for x in st.get("results", []) if x["model"] == m and _review(x) == rv), None)
                v = ((r or {}).get("headline") or {}).get(k)
                vals.append(float(v) if isinstance(v, (int, float)) else None)
            if not any(v is not None for v in vals):
                continue
            last = next((v for v in reversed(vals) if v is not None), None)
            spark_rows.append(f"<div class='card'><div><b>{e(m)}</b></div><div class='muted'>{e(k.replace('_', ' '))}"
                              f"</div>{sparkline(vals)}<div class='last'>{e(fmt_value(k, last))}</div></div>")
    first = recent[0][0] if recent else ""
    spark = (f"<h2>Headline numbers, last {len(recent)} period(s) ({e(first)} to {e(recent[-1][0])}; red: latest)</h2>"
             "<div class='cards'>" + "".join(spark_rows) + "</div>") if spark_rows else ""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>workbench reports</title>{STYLE}"
            "</head><body><h1>workbench reports</h1><p class='muted'>Level per model and review (what it found: "
            f"{', '.join(e(LEVEL_WORD[lv]) for lv in LEVELS)}); a run that did not complete says so below its level; "
            f"{e(LEVEL_WORD[NOT_CONFIGURED])}: not reviewed because its source is not set up (it never lowers a level)."
            "</p><table><tr><th>period</th><th>worst</th>" + head + "<th>generated</th></tr>" + "".join(rows)
            + "</table>" + spark + "</body></html>")


def write_root(out: str | Path, weeks: int = 12) -> Path:
    """reports/index.html over every period with a status.json."""
    out = Path(out)
    path = out / "index.html"
    _write(path, render_root(out, weeks))
    return path
