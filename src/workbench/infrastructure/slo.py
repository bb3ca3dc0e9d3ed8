"""SLOs and error budgets: SLI, budget consumed and left for the week and the rolling period, and
multiwindow burn rates over time with the moments each burn alert would have fired."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from workbench.config import InfrastructureParams, QueryCatalog, SLOParams, Window, default_of, parse_duration
from workbench.errors import SourceUnavailable
from workbench.infrastructure.queries import render
from workbench.sources.prometheus import PrometheusSource


def _ratio(src: PrometheusSource, good: str, total: str, window_s: int, at: dt.datetime) -> tuple[float, float]:
    g = src.query(render(good, window=f"{window_s}s"), at=at)
    t = src.query(render(total, window=f"{window_s}s"), at=at)
    if g.empty or t.empty:
        return np.nan, np.nan
    return float(g["value"].iloc[0]), float(t["value"].iloc[0])


def status(src: PrometheusSource, slos: SLOParams, window: Window) -> pd.DataFrame:
    """Per objective, for the window and for the rolling period ending with it: SLI, objective,
    error budget consumed and remaining (shares of that window's budget)."""
    rows = []
    period_s = int(parse_duration(slos.period))
    for o in slos.objectives:
        for label, secs in ((window.label, int((window.end - window.start).total_seconds())),
                            (f"rolling {slos.period}", period_s)):
            row = {"objective": o.title or o.name, "window": label, "target": o.objective}
            try:
                good, total = _ratio(src, o.good, o.total, secs, window.end)
            except SourceUnavailable as exc:
                rows.append({**row, "note": str(exc)})
                continue
            if not np.isfinite(total) or total <= 0:
                rows.append({**row, "note": f"no data for this query: {render(o.total, window=f'{secs}s')}"})
                continue
            sli = good / total
            consumed = (1 - sli) / (1 - o.objective)
            covers = coverage_note(src, o.total, window.end, secs) if label != window.label else ""
            rows.append({**row, "sli": sli, "requests": total, "bad": total - good, "budget_consumed": consumed,
                         "budget_remaining": 1 - consumed, "met": "yes" if sli >= o.objective else "NO", "note": "",
                         "data_coverage": covers})
    return pd.DataFrame(rows)


def coverage_note(src: PrometheusSource, total: str, end: dt.datetime, secs: int) -> str:
    """'data covers 23.4 of 28 days (from 2026-10-31)' when the objective's total has no samples in part of
    the rolling period (Prometheus retention, a new service): the budget is then over fewer days; "" if
    covered (hourly probe; within a day counts as covered)."""
    start = end - dt.timedelta(seconds=secs)
    try:
        df = src.query_range(render(total, window="1h"), start, end, 3600)
    except SourceUnavailable:
        return ""
    if df.empty:
        return ""
    first = pd.Timestamp(df["timestamp"].min())
    first = first.tz_localize("UTC") if first.tzinfo is None else first
    missing = (first - pd.Timestamp(start)).total_seconds() - 3600  # the first hourly point looks back 1 h
    if missing < 86400:
        return ""
    days = (pd.Timestamp(end) - first).total_seconds() / 86400 + 1 / 24
    return f"data covers {days:.1f} of {secs / 86400:g} days (from {first:%Y-%m-%d %H:%M} UTC): the budget is over those days"


def burn_rates(src: PrometheusSource, slos: SLOParams, window: Window, catalog: QueryCatalog, step: float = 60
               ) -> pd.DataFrame:
    """Burn rate per objective and alert window over time: (1 - SLI over the window) / (1 - objective),
    as the catalog's `slo_burn_rate` query writes it."""
    from workbench.infrastructure.queries import catalog_query

    frames = []
    durations = sorted({d for a in slos.burn_alerts for d in (a.long, a.short)}, key=parse_duration)
    for o in slos.objectives:
        for d in durations:
            q = catalog_query(catalog, "slo_burn_rate", good=render(o.good, window=d), total=render(o.total, window=d),
                              budget=repr(1 - o.objective))
            df = src.query_range(q, window.start, window.end, step)
            if df.empty:
                continue
            frames.append(df[["timestamp", "value"]].assign(objective=o.name, burn_window=d))
    if not frames:
        return pd.DataFrame(columns=["timestamp", "value", "objective", "burn_window"])
    return pd.concat(frames, ignore_index=True)


def episodes(mask: pd.Series, step: pd.Timedelta) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Contiguous runs of True in a time-indexed boolean series as (start, end)."""
    out = []
    if mask.empty:
        return out
    m = mask.to_numpy()
    idx = mask.index
    starts = np.flatnonzero(m & ~np.r_[False, m[:-1]])
    ends = np.flatnonzero(m & ~np.r_[m[1:], False])
    for a, b in zip(starts, ends):
        out.append((idx[a], idx[b] + step))
    return out


def burn_alerts(burn: pd.DataFrame, slos: SLOParams, step: float = 60) -> pd.DataFrame:
    """When each multiwindow burn alert would have fired: both windows above the factor."""
    rows = []
    if burn.empty:
        return pd.DataFrame(columns=["objective", "severity", "rule", "start", "end", "duration"])
    for o in slos.objectives:
        b = burn[burn["objective"] == o.name].pivot_table(index="timestamp", columns="burn_window", values="value")
        for a in slos.burn_alerts:
            if a.long not in b or a.short not in b:
                continue
            firing = (b[a.long] > a.factor) & (b[a.short] > a.factor)
            for s, e in episodes(firing, pd.Timedelta(seconds=step)):
                rows.append({"objective": o.name, "severity": a.severity,
                             "rule": f"{a.factor}x over {a.long} and {a.short}", "start": s, "end": e,
                             "duration": e - s})
    return pd.DataFrame(rows, columns=["objective", "severity", "rule", "start", "end", "duration"])


from dataclasses import dataclass, field  # noqa: E402

from workbench.findings import Finding, duration, iso, num, pct, when  # noqa: E402
from workbench.tables import percent, sli  # noqa: E402


# the default of params `infrastructure.slo_low_budget` (the schema in workbench.config holds the value):
# less of the rolling period's error budget left than this, the SLO is burning
LOW_BUDGET = default_of(InfrastructureParams, "slo_low_budget")
# the section with the burn rates and the table of every burn alert (rule, start, duration): where a
# finding about one burn alert links, so the reader lands on its row (an SLO's status links to "slos")
BURN_ANCHOR = "slo-burn"


def slo_findings(status_: pd.DataFrame, pages: pd.DataFrame, slos: SLOParams, week_label: str,
                 low_budget: float = LOW_BUDGET) -> list[Finding]:
    """Per objective: missed or budget exhausted (alert), burning (warning: less than `low_budget`, params
    `infrastructure.slo_low_budget`, of the rolling budget left) or met (info),
    each with SLI, objective and the budget left (linking to the SLO table); then each burn alert (page:
    alert, ticket: warning), linking to the burn section's table of burn alerts."""
    out = []
    for name in dict.fromkeys(status_["objective"]) if len(status_) else []:
        rows = status_[status_["objective"] == name]
        week = rows[rows["window"] == week_label]
        roll = rows[rows["window"] != week_label]
        if week.empty or "sli" not in week or pd.isna(week.iloc[0]["sli"]):
            continue
        w = week.iloc[0]
        remaining = float(roll.iloc[0]["budget_remaining"]) if len(roll) and "budget_remaining" in roll \
            and pd.notna(roll.iloc[0]["budget_remaining"]) else None
        left = f"; {percent(remaining)} of the rolling {slos.period} budget left" if remaining is not None else ""
        covers = str(roll.iloc[0].get("data_coverage") or "") if len(roll) else ""
        if left and covers:
            left += f" ({covers.split(' (from')[0]})"  # "(data covers 23.0 of 28 days)": fewer days than the period
        # as the SLO table shows them (infrastructure.columns: sli, ratio)
        text = (f"{name}: SLI {sli(w['sli'])} vs objective {percent(w['target'])} in {week_label}, "
                f"{percent(w['budget_consumed'])} of the week's error budget spent{left}")
        if w["met"] == "NO":
            out.append(Finding("alert", name, f"SLO missed — {text}.", "slo", "slos", remaining))
        elif remaining is not None and remaining < 0:
            out.append(Finding("alert", name, f"SLO budget exhausted — {text}.", "slo", "slos", remaining))
        elif remaining is not None and remaining < low_budget:
            out.append(Finding("warning", name, f"SLO burning — {text} (less than {pct(low_budget, 0)} left).",
                               "slo", "slos", remaining))
        else:
            out.append(Finding("info", name, f"SLO met — {text}.", "slo", "slos", remaining))
    titles_by_name = titles(slos)
    for _, p in pages.iterrows() if len(pages) else []:
        sev = "alert" if p["severity"] == "page" else "warning"
        what = "Page" if p["severity"] == "page" else f"{str(p['severity']).capitalize()}"
        out.append(Finding(sev, titles_by_name.get(p["objective"], str(p["objective"])),
                           f"{what}: {titles_by_name.get(p['objective'], p['objective'])} burned its error budget faster "
                           f"than {p['rule']} from {when(p['start'])} for {duration(p['duration'])}.",
                           "slo", BURN_ANCHOR, pd.Timedelta(p["duration"]).total_seconds(),
                           {"start": iso(p["start"]), "end": iso(p["end"]), "rule": p["rule"]}))
    return out


def titles(slos: SLOParams) -> dict[str, str]:
    """Each objective's name -> the name people read (its title, else its name), as the SLO table,
    the burn alerts' table and the findings write it."""
    return {o.name: (o.title or o.name) for o in slos.objectives}


@dataclass
class SLOReview:
    status: pd.DataFrame
    burn: pd.DataFrame
    pages: pd.DataFrame
    slos: SLOParams
    problems: list[str] = field(default_factory=list)

    window_label: str = ""
    low_budget: float = LOW_BUDGET  # params infrastructure.slo_low_budget

    @property
    def findings(self) -> list:
        """SLOs missed or burning (with the budget left) and every multiwindow burn alert that would
        have paged or opened a ticket, with its time and duration (workbench.findings)."""
        return slo_findings(self.status, self.pages, self.slos, self.window_label, self.low_budget)

    @property
    def headline(self) -> dict:
        st = self.status
        week = st[st["window"] == self.window_label] if "window" in st else st
        rolling = st[st["window"] != self.window_label] if "window" in st else st
        pages = self.pages[self.pages["severity"] == "page"] if len(self.pages) else self.pages
        out: dict = {"slos_missed": int((week.get("met", pd.Series(dtype=str)) == "NO").sum()),
                     "pages": int(len(pages))}
        for _, r in rolling.iterrows():
            if pd.notna(r.get("budget_remaining")):
                out[f"budget_left:{r['objective']}"] = round(float(r["budget_remaining"]), 4)
        out["episodes"] = [{"kind": "page" if p["severity"] == "page" else "ticket", "subject": str(p["objective"]),
                            "start": iso(p["start"]), "end": iso(p["end"])} for _, p in self.pages.iterrows()]
        return out

    def to_frame(self) -> pd.DataFrame:
        """Each SLO for the week and the rolling period: SLI, objective, budget consumed and left."""
        return self.status

    def burn_table(self) -> pd.DataFrame:
        """When each burn alert would have fired (`pages`), each objective named by its title as the
        findings about those alerts name it (the burn section's table)."""
        if "objective" not in self.pages:
            return self.pages
        names = titles(self.slos)
        return self.pages.assign(objective=[names.get(o, o) for o in self.pages["objective"]])

    def plot(self):
        """Burn rate per objective over the window, with each alert's factor; each panel titled by the
        objective's title (as the tables name it), its axis from 0."""
        import matplotlib.pyplot as plt

        from workbench.plots import plain

        objs = list(self.burn["objective"].unique()) if not self.burn.empty else []
        if not objs:
            return None
        names = titles(self.slos)  # as the SLO and burn tables above name each objective
        fig, axes = plt.subplots(len(objs), 1, figsize=(11, 2.8 * len(objs)), sharex=True, squeeze=False)
        for ax, o in zip(axes.flat, objs):
            b = self.burn[self.burn["objective"] == o]
            for w, g in b.groupby("burn_window"):
                ax.plot(g["timestamp"], g["value"], lw=0.8, label=plain(f"burn over {w}"))
            for a in self.slos.burn_alerts:
                ax.axhline(a.factor, ls="--", lw=0.8, color="#c0392b" if a.severity == "page" else "#e67e22")
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylim(bottom=0)  # a burn rate is never negative: no '−10⁰' tick
            ax.set_ylabel("burn rate (× budget pace)", fontsize=8)
            ax.set_title(plain(f"{names.get(o, o)}: error budget burn rate (dashed: {', '.join(str(a.factor) + 'x' for a in self.slos.burn_alerts)})"),
                         fontsize=9)
            ax.legend(fontsize=7, ncol=3, loc="upper left")
        fig.autofmt_xdate()
        fig.tight_layout()
        return fig


def run(ctx) -> SLOReview:
    """SLO status, burn rates and burn alerts for the notebook's window (params/slos.yaml)."""
    from workbench import config

    slos = config.load_slos(ctx.params_path("slos"))
    st = status(ctx.prometheus, slos, ctx.window)
    step = config.parse_duration(ctx.params.infrastructure.scrape_interval)
    problems = [f"{r['objective']} ({r['window']}): {r['note']}" for _, r in st.iterrows() if r.get("note")]
    try:
        burn = burn_rates(ctx.prometheus, slos, ctx.window, ctx.queries, step)
    except SourceUnavailable as exc:
        burn, problems = pd.DataFrame(columns=["timestamp", "value", "objective", "burn_window"]), problems + [str(exc)]
    return SLOReview(st, burn, burn_alerts(burn, slos, step), slos, problems, ctx.window.label,
                     ctx.params.infrastructure.slo_low_budget)
