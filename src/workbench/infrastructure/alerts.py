"""Alert rules back-tested over the window: each rule's expression evaluated at its group's interval
(range queries), `for:` applied, giving the firing episodes it would have produced; compared with
the server's own ALERTS series where it has one, and noisy rules listed."""

from __future__ import annotations

import pandas as pd

from workbench.config import AlertRules, Window, parse_duration
from workbench.errors import SourceUnavailable
from workbench.sources.prometheus import PrometheusSource

# still_firing: the condition held at the window's last evaluation (the episode's end is the window's, not a resolve)
EPISODE_COLUMNS = ["alert", "severity", "labels", "pending_since", "start", "end", "duration", "still_firing"]
STILL_FIRING = "still firing"


def _label_keys(df: pd.DataFrame, cols: list[str]) -> list[str]:
    """'name=value, …' of each row's labels (missing ones left out), built once per distinct label
    set: a week of a rule at a 60 s interval is ~10,000 rows per series but only a few label sets."""
    keys: dict[tuple, str] = {}
    out = []
    for values in df[cols].itertuples(index=False, name=None):
        key = keys.get(values)
        if key is None:
            key = keys[values] = ", ".join(f"{c}={v}" for c, v in zip(cols, values) if pd.notna(v))
        out.append(key)
    return out


def replay_rule(src: PrometheusSource, name: str, expr: str, for_s: float, interval_s: float, window: Window,
                severity: str = "") -> pd.DataFrame:
    """Firing episodes of one alerting rule: per label set, runs of evaluations that returned a value;
    a run fires `for_s` after it starts (if it lasts that long) and ends one interval after its last
    evaluation, as Prometheus resolves it."""
    # start early enough that a condition already pending at the window start is seen
    lead = pd.Timedelta(seconds=for_s + interval_s)
    df = src.query_range(expr, window.start - lead, window.end, interval_s)
    rows = []
    if df.empty:
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    labels = [c for c in df.columns if c not in ("timestamp", "value", "__name__")]
    df["_key"] = _label_keys(df, labels) if labels else ""
    step = pd.Timedelta(seconds=interval_s)
    for key, g in df.groupby("_key"):
        ts = g["timestamp"].sort_values().reset_index(drop=True)
        breaks = ts.diff() > step * 1.5
        for _, run in ts.groupby(breaks.cumsum()):
            first, last = run.iloc[0], run.iloc[-1]
            fire = first + pd.Timedelta(seconds=for_s)
            if fire > last:
                continue  # pending only: the condition did not hold for `for`
            end = min(last + step, pd.Timestamp(window.end))  # still firing: the episode ends with the window
            if end <= window.start or fire >= window.end:
                continue
            rows.append({"alert": name, "severity": severity, "labels": key, "pending_since": first,
                         "start": fire, "end": end, "duration": end - fire, "still_firing": end >= window.end})
    return pd.DataFrame(rows, columns=EPISODE_COLUMNS)


def replay(src: PrometheusSource, rules: AlertRules, window: Window, default_interval: str = "60s"
           ) -> tuple[pd.DataFrame, list[str]]:
    """Episodes of every alerting rule, and the problems (rules whose query failed)."""
    frames, problems = [], []
    for group in rules.groups:
        interval = parse_duration(group.interval or default_interval)
        for r in group.rules:
            if not r.alert:
                continue
            try:
                frames.append(replay_rule(src, r.alert, r.expr, parse_duration(r.for_), interval, window,
                                          r.labels.get("severity", "")))
            except SourceUnavailable as exc:
                problems.append(f"alert {r.alert}: {exc}")
    frames = [f for f in frames if len(f)]
    eps = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EPISODE_COLUMNS)
    return eps.sort_values(["start", "alert"], ignore_index=True) if len(eps) else eps, problems


def recorded(src: PrometheusSource, window: Window, promql: str, step: float = 60) -> pd.DataFrame:
    """Firing intervals the server itself recorded over the window (`promql`: the catalog's
    `firing_alerts`, Prometheus' ALERTS series; one series per firing alert with an `alertname`)."""
    df = src.query_range(promql, window.start, window.end, step)
    rows = []
    if df.empty:
        return pd.DataFrame(columns=["alert", "start", "end"])
    s = pd.Timedelta(seconds=step)
    for name, g in df.groupby("alertname"):
        ts = g["timestamp"].drop_duplicates().sort_values().reset_index(drop=True)
        for _, run in ts.groupby((ts.diff() > s * 1.5).cumsum()):
            rows.append({"alert": name, "start": run.iloc[0], "end": run.iloc[-1] + s})
    return pd.DataFrame(rows)


def compare_with_recorded(episodes: pd.DataFrame, rec: pd.DataFrame) -> pd.DataFrame:
    """Replayed episodes with no overlapping recorded firing, and recorded firings not replayed."""
    rows = []
    for _, e in episodes.iterrows():
        r = rec[(rec["alert"] == e["alert"]) & (rec["start"] < e["end"]) & (rec["end"] > e["start"])]
        if r.empty:
            rows.append({"alert": e["alert"], "start": e["start"], "end": e["end"], "mismatch": "replayed, not recorded"})
    for _, r in rec.iterrows():
        e = episodes[(episodes["alert"] == r["alert"]) & (episodes["start"] < r["end"]) & (episodes["end"] > r["start"])]
        if e.empty:
            rows.append({"alert": r["alert"], "start": r["start"], "end": r["end"], "mismatch": "recorded, not replayed"})
    return pd.DataFrame(rows, columns=["alert", "start", "end", "mismatch"])


def noisy(episodes: pd.DataFrame, rules: AlertRules, max_firings: int = 10, default_interval: str = "60s"
          ) -> pd.DataFrame:
    """Rules that fired more than `max_firings` times, or whose episodes lasted less than their
    `for:` plus one evaluation interval (they barely crossed the line and flapped)."""
    rows = []
    for group in rules.groups:
        interval = parse_duration(group.interval or default_interval)
        for r in group.rules:
            if not r.alert:
                continue
            e = episodes[episodes["alert"] == r.alert]
            if e.empty:
                continue
            short = pd.Timedelta(seconds=parse_duration(r.for_) + interval)
            # pending for `for`, then firing for at most one evaluation: it barely crossed the line
            n_short = int(((e["end"] - e["pending_since"]) <= short).sum())
            reasons = []
            if len(e) > max_firings:
                reasons.append(f"fired {len(e)} times (> {max_firings})")
            if n_short:
                reasons.append(f"{n_short} episode(s) shorter than for + one interval ({duration(short)})")
            if reasons:
                rows.append({"alert": r.alert, "firings": len(e), "reasons": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["alert", "firings", "reasons"])


def timeline(episodes: pd.DataFrame, window: Window, series: dict[str, pd.DataFrame] | None = None):
    """Firing episodes as bars per alert, above the given series (e.g. latency and error ratio)."""
    import matplotlib.pyplot as plt

    from workbench.plots import plain

    series = series or {}
    n = 1 + len(series)
    fig, axes = plt.subplots(n, 1, figsize=(11, 2.2 + 1.8 * len(series) + 0.25 * episodes["alert"].nunique()),
                             sharex=True, squeeze=False, gridspec_kw={"height_ratios": [2] + [1] * len(series)})
    ax = axes[0][0]
    names = sorted(episodes["alert"].unique()) if len(episodes) else []
    colors = {"critical": "#c0392b", "warning": "#e67e22"}
    for i, name in enumerate(names):
        for _, e in episodes[episodes["alert"] == name].iterrows():
            ax.barh(i, (e["end"] - e["start"]), left=e["start"], color=colors.get(e["severity"], "#7f8c8d"), height=0.6)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([plain(n) for n in names], fontsize=8)
    ax.set_xlim(window.start, window.end)
    ax.set_title("Alert firing episodes (replayed)" if names else "No alert would have fired", fontsize=10)
    for a, (title, df) in zip(axes[1:], series.items()):
        a = a[0]
        labels = [c for c in df.columns if c not in ("timestamp", "value")]
        for key, g in (df.groupby(labels) if labels and not df.empty else [("", df)]):
            if not g.empty:  # one line per series (e.g. per model), never one zigzag through all of them
                a.plot(g["timestamp"], g["value"], lw=0.8, label=plain(key[0] if isinstance(key, tuple) and len(key) == 1
                                                                       else key) or None)
        if labels and df[labels].drop_duplicates().shape[0] > 1:
            a.legend(fontsize=7, loc="upper left")
        a.set_title(plain(title), fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


from dataclasses import dataclass, field  # noqa: E402

from workbench.findings import Finding, duration, iso, when  # noqa: E402

DRIFT_RULE_HINT = "drift"  # alert rules whose name contains this are explained against the drift review
# the section that lists every episode and the noisy rules (notebook 03): where a finding about one
# episode links, so the reader lands on its row; findings about a whole rule link to "alerts"
EPISODES_ANCHOR = "alerts-timeline"
FIRED_COLUMNS = ["alert", "severity", "episodes", "series", "firing_time", "series_time", "longest", "first_fired",
                 "last_fired", "condition"]


def wall_time(starts, ends, window: Window | None = None) -> pd.Timedelta:
    """Wall-clock time covered by the intervals [start, end) (their union, clipped to `window` when
    given): how long a rule was firing on any series, which a reader can compare with the window,
    unlike the series' durations summed (three series firing all week are 7 d of firing, not 21 d)."""
    iv = sorted((pd.Timestamp(a), pd.Timestamp(b)) for a, b in zip(starts, ends) if pd.notna(a) and pd.notna(b))
    total, cur_a, cur_b = pd.Timedelta(0), None, None
    for a, b in iv:
        if window is not None:
            a, b = max(a, window.start), min(b, window.end)
        if b <= a:
            continue
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return total + (cur_b - cur_a if cur_b is not None else pd.Timedelta(0))


def _conditions(rules: AlertRules | None) -> dict[str, tuple[str, str]]:
    """Each alerting rule's expression and `for:` by its name."""
    return {r.alert: (r.expr, r.for_) for g in (rules.groups if rules else []) for r in g.rules if r.alert}


def fired(episodes: pd.DataFrame, rules: AlertRules | None = None, window: Window | None = None) -> pd.DataFrame:
    """Per alert rule that fired (and severity): episodes, the series they fired on, its firing time
    (wall time firing on any series, within `window` when given: `wall_time`), its series-time (the
    episodes' durations summed over series, which can exceed the window), the longest episode, when it first fired, and when it last fired: the end of its last firing
    episode, or "still firing" when one was still firing at the window's end; then the rule's condition
    (expression and `for:`), which the findings quote."""
    e = episodes
    if e.empty:
        return pd.DataFrame(columns=FIRED_COLUMNS)
    still = e["still_firing"].fillna(False).astype(bool) if "still_firing" in e else pd.Series(False, e.index)
    out = (e.assign(_still=still).groupby(["alert", "severity"])
           .agg(episodes=("start", "size"), series=("labels", "nunique"), series_time=("duration", "sum"),
                longest=("duration", "max"), first_fired=("start", "min"), _end=("end", "max"),
                _still=("_still", "any")).reset_index())
    out["firing_time"] = [wall_time(g["start"], g["end"], window)
                          for g in (e[(e["alert"] == a) & (e["severity"] == sv)]
                                       for a, sv in zip(out["alert"], out["severity"]))]
    out["last_fired"] = [STILL_FIRING if s else end for s, end in zip(out["_still"], out["_end"])]
    conditions = _conditions(rules)
    out["condition"] = [f"{conditions[a][0]} for {conditions[a][1]}" if a in conditions else "" for a in out["alert"]]
    return out[FIRED_COLUMNS]


def episode_findings(episodes: pd.DataFrame, rules: AlertRules | None = None, window: Window | None = None
                     ) -> list[Finding]:
    """One finding per replayed episode, each with its own start and duration (never summed over
    series), linking to the alerts timeline, whose table lists every episode; for drift alerts one
    info sentence per rule on why they can disagree with the drift review, quoting the rule's row of
    the alerts table (`fired`: episodes, series, longest episode, condition), where it links."""
    out = []
    for _, e in episodes.iterrows():
        sev = "alert" if e["severity"] == "critical" else "warning"
        labels = f" ({e['labels']})" if e["labels"] else ""
        still = " and was still firing at the window's end" if e.get("still_firing") in (True, 1) else ""
        out.append(Finding(sev, str(e["alert"]), f"{e['alert']}{labels} [{e['severity'] or 'no severity'}] "
                           f"fired from {when(e['start'])} for {duration(e['duration'])}{still}.", "alert_rule",
                           EPISODES_ANCHOR, pd.Timedelta(e["duration"]).total_seconds(),
                           {"start": iso(e["start"]), "end": iso(e["end"]), "labels": str(e["labels"])}))
    table = fired(episodes, rules, window)
    exprs = _conditions(rules)
    for _, r in table[table["alert"].str.lower().str.contains(DRIFT_RULE_HINT)].iterrows() if len(table) else []:
        expr, for_ = exprs.get(r["alert"], ("its expression", "0s"))
        out.append(Finding("info", str(r["alert"]), f"{r['alert']} fired {r['episodes']} time(s) over {r['series']} "
                           f"series (longest {duration(r['longest'])}) because `{expr}` held for {for_} on the serving "
                           "app's own score of one feature; the drift review tests the whole week per feature against "
                           "the reference with its own method, threshold and min_effect, and calls drift only where "
                           "those hold — read its verdict for the features.", "comparison", "alerts",
                           float(r["episodes"])))
    return out


def noisy_findings(noisy_: pd.DataFrame) -> list[Finding]:
    """Rules that look noisy, as info findings linking to the alerts timeline (its noisy-rules table)."""
    return [Finding("info", str(r["alert"]), f"{r['alert']} looks noisy: {r['reasons']}.", "alert_rule", EPISODES_ANCHOR,
                    float(r["firings"])) for _, r in noisy_.iterrows()]


@dataclass
class AlertReview:
    episodes: pd.DataFrame
    noisy: pd.DataFrame
    mismatches: pd.DataFrame
    recorded_note: str
    problems: list[str] = field(default_factory=list)

    rules: AlertRules | None = field(default=None, repr=False)
    window: Window | None = None

    @property
    def findings(self) -> list:
        """Every replayed firing episode with its own duration (critical: alert, else warning), the
        noisy rules, and why a drift alert can disagree with the drift review (workbench.findings)."""
        return episode_findings(self.episodes, self.rules, self.window) + noisy_findings(self.noisy)

    @property
    def headline(self) -> dict:
        e = self.episodes
        return {"alert_episodes": int(len(e)),
                "episodes": [{"kind": "alert", "subject": f"{r['alert']}" + (f" {r['labels']}" if r["labels"] else ""),
                              "severity": str(r["severity"]), "start": iso(r["start"]), "end": iso(r["end"])}
                             for _, r in e.iterrows()]}

    def to_frame(self) -> pd.DataFrame:
        """Per alert rule that fired: episodes, firing time (wall), series-time, first and last firing (`fired`)."""
        return self.fired()

    def plot(self, series: dict[str, pd.DataFrame] | None = None):
        """The firing episodes over the window, above `series` (see `timeline`); None without a window."""
        return timeline(self.episodes, self.window, series) if self.window is not None else None

    def fired(self) -> pd.DataFrame:
        """Per alert rule that fired: the table of the alerts section (see `fired`)."""
        return fired(self.episodes, self.rules, self.window)


def run(ctx) -> AlertReview:
    """Replay params/alerts.yaml over the window, compare with ALERTS, list noisy rules."""
    from workbench import config

    path = ctx.params_path("alerts")
    rules = config.load_alert_rules(path)
    ip = ctx.params.infrastructure
    eps, problems = replay(ctx.prometheus, rules, ctx.window, ip.scrape_interval)
    from workbench.infrastructure.queries import catalog_query, seconds

    rec = recorded(ctx.prometheus, ctx.window, catalog_query(ctx.queries, "firing_alerts", window=seconds(ctx.window)),
                   config.parse_duration(ip.scrape_interval))
    if rec.empty:
        note = ("the server recorded no firing ALERTS in this window (its rules were not evaluated then, e.g. "
                "backfilled history, or nothing fired): the replay is the only record")
        mism = pd.DataFrame(columns=["alert", "start", "end", "mismatch"])
    else:
        note = f"{len(rec)} firing interval(s) recorded by the server"
        mism = compare_with_recorded(eps, rec)
    return AlertReview(eps, noisy(eps, rules, ip.max_firings, ip.scrape_interval), mism, note, problems, rules,
                       ctx.window)
