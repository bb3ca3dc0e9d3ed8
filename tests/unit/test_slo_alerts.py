"""SLO budget and burn-rate arithmetic and alert replay on constructed series (no Prometheus).

Expected values are computed by hand from the SRE workbook's definitions:
    error budget = 1 - objective; budget consumed = (1 - SLI) / (1 - objective);
    burn rate over a window = error ratio over that window / (1 - objective);
    a multiwindow alert fires while both its long and its short window burn faster than its factor.
"""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest

from workbench import config
from workbench.infrastructure import alerts, slo
from workbench.config import AlertRules, SLOParams
from workbench.errors import SourceUnavailable

CATALOG = config.load_queries(Path(__file__).resolve().parents[2] / "params" / "queries.yaml")
FIRING = 'ALERTS{alertstate="firing"}'

matplotlib.use("Agg")
WEEK = config.iso_week("2026-W47")
T0 = WEEK.start


class FakePrometheus:
    """Answers instant and range queries from tables keyed by a substring of the query."""

    def __init__(self, instant=None, ranges=None, fail=()):
        self.instant, self.ranges, self.fail, self.asked = instant or {}, ranges or {}, fail, []

    def _pick(self, table, promql):
        self.asked.append(promql)
        if any(f in promql for f in self.fail):
            raise SourceUnavailable(f"Prometheus at http://x: query failed: {promql[:20]}")
        for key, value in table.items():
            if key in promql:
                return value
        return pd.DataFrame(columns=["timestamp", "value"])

    def query(self, promql, at=None):
        v = self._pick(self.instant, promql)
        return v if isinstance(v, pd.DataFrame) else pd.DataFrame({"timestamp": [at], "value": [float(v)]})

    def query_range(self, promql, start, end, step=60):
        v = self._pick(self.ranges, promql)
        return v(start, end, step) if callable(v) else v


SLOS = SLOParams(period="28d", objectives=[
    {"name": "avail", "title": "availability", "objective": 0.99, "good": "good[$window]", "total": "total[$window]"}],
    burn_alerts=[{"severity": "page", "long": "1h", "short": "5m", "factor": 14.4},
                 {"severity": "ticket", "long": "6h", "short": "30m", "factor": 6}])


def test_status_budget_consumed_and_remaining_by_hand():
    week_s, period_s = 7 * 86400, 28 * 86400
    src = FakePrometheus(instant={f"good[{week_s}s]": 99_500, f"total[{week_s}s]": 100_000,
                                  f"good[{period_s}s]": 396_000, f"total[{period_s}s]": 400_000})
    st = slo.status(src, SLOS, WEEK).set_index("window")
    w = st.loc["2026-W47"]
    # SLI 0.995: 0.5% errors against a 1% budget
    assert w["sli"] == pytest.approx(0.995) and w["bad"] == pytest.approx(500)
    assert w["budget_consumed"] == pytest.approx(0.5) and w["budget_remaining"] == pytest.approx(0.5)
    assert w["met"] == "yes"
    r = st.loc["rolling 28d"]
    # SLI 0.99 exactly: the whole budget is gone, the objective is (just) met
    assert r["budget_consumed"] == pytest.approx(1.0) and r["budget_remaining"] == pytest.approx(0.0, abs=1e-12)
    assert r["met"] == "yes"


def test_status_over_budget_is_not_met():
    src = FakePrometheus(instant={"good": 98_000, "total": 100_000})
    st = slo.status(src, SLOS, WEEK)
    assert st["budget_consumed"].tolist() == pytest.approx([2.0, 2.0])
    assert st["budget_remaining"].tolist() == pytest.approx([-1.0, -1.0]) and (st["met"] == "NO").all()


def test_status_notes_missing_data_and_unreachable_source():
    st = slo.status(FakePrometheus(instant={"good": 1.0}), SLOS, WEEK)
    assert st["note"].str.startswith("no data for this query: total[").all()
    st = slo.status(FakePrometheus(instant={"good": 1, "total": 0}), SLOS, WEEK)
    assert st["note"].str.startswith("no data").all()  # zero requests: no SLI, not a division by zero
    st = slo.status(FakePrometheus(fail=("good",)), SLOS, WEEK)
    assert st["note"].str.contains("query failed").all() and "sli" not in st


def test_rolling_period_says_how_many_days_it_really_covers():
    """Prometheus holds 23 days of the 28: the rolling row says so (the budget is over those days);
    a fully covered period has no note."""
    end = WEEK.end
    first = end - dt.timedelta(days=23)

    def hourly(start, stop, step):
        idx = pd.date_range(max(start, first), stop, freq="1h")
        return pd.DataFrame({"timestamp": idx, "value": 1.0})

    src = FakePrometheus(instant={"good": 99_500, "total": 100_000}, ranges={"total[1h]": hourly})
    st = slo.status(src, SLOS, WEEK).set_index("window")
    assert st.loc["rolling 28d", "data_coverage"] == (
        f"data covers 23.0 of 28 days (from {first:%Y-%m-%d %H:%M} UTC): the budget is over those days")
    assert st.loc["2026-W47", "data_coverage"] == "" and (st["note"] == "").all()  # computed: not a problem
    findings = slo.slo_findings(st.reset_index(), pd.DataFrame(columns=["objective", "severity"]), SLOS, "2026-W47")
    assert "of the rolling 28d budget left (data covers 23.0 of 28 days)" in findings[0].sentence
    first = end - dt.timedelta(days=28)  # everything there
    assert slo.status(src, SLOS, WEEK).set_index("window").loc["rolling 28d", "data_coverage"] == ""


def test_burn_rate_query_divides_the_error_ratio_by_the_budget():
    idx = pd.date_range(T0, periods=3, freq="60s")
    src = FakePrometheus(ranges={"": pd.DataFrame({"timestamp": idx, "value": [1.0, 2.0, 3.0]})})
    b = slo.burn_rates(src, SLOS, WEEK, CATALOG)
    assert sorted(b["burn_window"].unique()) == ["1h", "30m", "5m", "6h"]
    q = [a for a in src.asked if "good[1h]" in a][0]
    assert q.startswith("(1 - (good[1h]) / (total[1h])) / ") and float(q.rsplit("/ ", 1)[1]) == pytest.approx(0.01)
    empty = slo.burn_rates(FakePrometheus(), SLOS, WEEK, CATALOG)
    assert empty.empty and list(empty.columns) == ["timestamp", "value", "objective", "burn_window"]


def _burn(values_by_window, step=60):
    rows = []
    for w, vals in values_by_window.items():
        for i, v in enumerate(vals):
            rows.append({"timestamp": T0 + dt.timedelta(seconds=step * i), "value": v, "objective": "avail",
                         "burn_window": w})
    return pd.DataFrame(rows)


def test_burn_alert_fires_only_while_both_windows_exceed_the_factor():
    n = 12
    long = [20.0] * n            # 1h window burning at 20x the whole time
    short = [0, 0, 15, 15, 15, 14.4, 0, 0, 30, 30, 0, 0]  # 14.4 itself is not above the factor
    burn = _burn({"1h": long, "5m": short, "6h": [1.0] * n, "30m": [100.0] * n})
    pages = slo.burn_alerts(burn, SLOS)
    assert list(pages["severity"]) == ["page", "page"]  # the 6h window never exceeds 6: no ticket
    assert list(pages["start"]) == [T0 + dt.timedelta(minutes=2), T0 + dt.timedelta(minutes=8)]
    assert list(pages["end"]) == [T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=10)]
    assert list(pages["duration"]) == [pd.Timedelta(minutes=3), pd.Timedelta(minutes=2)]
    assert pages["rule"].iloc[0] == "14.4x over 1h and 5m"


def test_sre_workbook_page_threshold_is_two_percent_of_a_30_day_budget_in_an_hour():
    """Burn rate 14.4 for 1 hour spends 14.4 / 720 = 2% of a 30-day budget: check status agrees."""
    hour = config.Window(T0, T0 + dt.timedelta(hours=1), "1h")
    objective = 0.999
    total = 1_000_000
    bad = 14.4 * (1 - objective) * total  # error ratio 14.4x the budget rate
    slos = SLOParams(period="30d", objectives=[{"name": "a", "objective": objective, "good": "good[$window]",
                                                "total": "total[$window]"}])
    src = FakePrometheus(instant={"good[3600s]": total - bad, "total[3600s]": total,
                                  "good[2592000s]": 720 * total - bad, "total[2592000s]": 720 * total})
    st = slo.status(src, slos, hour).set_index("window")
    assert st.loc["1h", "budget_consumed"] == pytest.approx(14.4)  # the hour's own budget, 14.4 times over
    assert st.loc["rolling 30d", "budget_consumed"] == pytest.approx(0.02)


def test_episodes_of_a_boolean_series():
    idx = pd.date_range(T0, periods=6, freq="60s")
    eps = slo.episodes(pd.Series([True, True, False, True, False, True], index=idx), pd.Timedelta("60s"))
    assert eps == [(idx[0], idx[2]), (idx[3], idx[4]), (idx[5], idx[5] + pd.Timedelta("60s"))]
    assert slo.episodes(pd.Series([], dtype=bool), pd.Timedelta("60s")) == []


def test_burn_alerts_without_data_and_the_plot():
    assert slo.burn_alerts(pd.DataFrame(), SLOS).empty
    burn = _burn({"1h": [20.0] * 5, "5m": [20.0] * 5})
    review = slo.SLOReview(pd.DataFrame(), burn, slo.burn_alerts(burn, SLOS), SLOS)
    assert review.plot() is not None
    assert slo.SLOReview(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), SLOS).plot() is None


def test_run_reads_params_and_collects_problems(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "slos.yaml").write_text(
        "objectives:\n  - {name: a, objective: 0.99, good: 'good[$window]', total: 'total[$window]'}\n"
        "burn_alerts:\n  - {severity: page, long: 1h, short: 5m, factor: 14.4}\n")
    ctx = SimpleNamespace(root=tmp_path, window=WEEK, prometheus=FakePrometheus(fail=("good",)),
                          params_path=lambda kind: tmp_path / "params" / f"{kind}.yaml",
                          params=SimpleNamespace(infrastructure=config.InfrastructureParams(scrape_interval="60s")),
                          queries=CATALOG)
    r = slo.run(ctx)
    assert len(r.problems) == 3 and all("query failed" in p for p in r.problems)
    assert r.burn.empty and r.pages.empty


# --- alert replay -------------------------------------------------------------------------------

def _series(minutes, labels=None, start=T0):
    """A range-query answer: one row per evaluation (minute offsets from start) where the expression held."""
    return pd.DataFrame({"timestamp": [start + dt.timedelta(minutes=m) for m in minutes], "value": 1.0,
                         **({k: v for k, v in (labels or {}).items()})})


def test_replay_applies_for_and_resolves_one_interval_after_the_last_evaluation():
    # held at minutes 0..9 (10 evaluations), then 20..21 (2 evaluations), with for: 5m, interval 1m
    src = FakePrometheus(ranges={"expr": _series(list(range(10)) + [20, 21])})
    eps = alerts.replay_rule(src, "HighLatency", "expr", for_s=300, interval_s=60, window=WEEK, severity="warning")
    assert len(eps) == 1  # the second run lasted 1 minute < for: pending only
    e = eps.iloc[0]
    assert e["pending_since"] == T0 and e["start"] == T0 + dt.timedelta(minutes=5)
    assert e["end"] == T0 + dt.timedelta(minutes=10) and e["duration"] == pd.Timedelta(minutes=5)
    assert e["severity"] == "warning"


def test_replay_separates_label_sets_and_clips_to_the_window():
    before = _series(range(0, 3), {"instance": "a"}, start=WEEK.start - dt.timedelta(minutes=10))
    a = _series(range(30, 40), {"instance": "a"})
    b = _series(range(30, 33), {"instance": "b"})
    src = FakePrometheus(ranges={"expr": pd.concat([before, a, b], ignore_index=True)})
    eps = alerts.replay_rule(src, "Down", "expr", for_s=60, interval_s=60, window=WEEK)
    assert sorted(eps["labels"]) == ["instance=a", "instance=b"]  # the run that ended before the window is dropped
    by = eps.set_index("labels")
    assert by.loc["instance=b", "start"] == T0 + dt.timedelta(minutes=31)
    assert by.loc["instance=b", "end"] == T0 + dt.timedelta(minutes=33)
    assert src.ranges and alerts.replay_rule(FakePrometheus(), "X", "e", 0, 60, WEEK).empty


RULES = AlertRules.model_validate({"groups": [{"name": "g", "interval": "60s", "rules": [
    {"alert": "Flappy", "expr": "flappy", "for": "2m", "labels": {"severity": "warning"}},
    {"alert": "Broken", "expr": "broken", "for": "0s"},
    {"record": "job:x", "expr": "sum(x)"}]}]})


def test_replay_all_rules_collects_failures_and_noisy_rules():
    # Flappy: 12 runs of 3 evaluations each (pending 2 min, firing 1 evaluation) -> 12 short firings
    minutes = [m for k in range(12) for m in (10 * k, 10 * k + 1, 10 * k + 2)]
    src = FakePrometheus(ranges={"flappy": _series(minutes)}, fail=("broken",))
    eps, problems = alerts.replay(src, RULES, WEEK)
    assert len(eps) == 12 and (eps["alert"] == "Flappy").all()
    assert problems == ["alert Broken: Prometheus at http://x: query failed: broken"]
    noisy = alerts.noisy(eps, RULES).set_index("alert")
    assert noisy.loc["Flappy", "firings"] == 12
    assert "fired 12 times (> 10)" in noisy.loc["Flappy", "reasons"]
    assert "12 episode(s) shorter than for + one interval (" in noisy.loc["Flappy", "reasons"]
    assert "days" not in noisy.loc["Flappy", "reasons"] and " min)" in noisy.loc["Flappy", "reasons"]  # in words
    assert alerts.noisy(eps.head(3), RULES, max_firings=10).loc[0, "reasons"].startswith("3 episode(s)")


def test_recorded_alerts_and_the_comparison():
    rec_src = FakePrometheus(ranges={"ALERTS": pd.concat([
        _series([5, 6, 7], {"alertname": "A"}), _series([50, 51], {"alertname": "B"})], ignore_index=True)})
    rec = alerts.recorded(rec_src, WEEK, FIRING)
    assert rec.to_dict("records") == [
        {"alert": "A", "start": T0 + dt.timedelta(minutes=5), "end": T0 + dt.timedelta(minutes=8)},
        {"alert": "B", "start": T0 + dt.timedelta(minutes=50), "end": T0 + dt.timedelta(minutes=52)}]
    replayed = pd.DataFrame({"alert": ["A", "C"], "start": [T0 + dt.timedelta(minutes=6), T0],
                             "end": [T0 + dt.timedelta(minutes=9), T0 + dt.timedelta(minutes=1)]})
    cmp = alerts.compare_with_recorded(replayed, rec)
    assert cmp[["alert", "mismatch"]].values.tolist() == [["C", "replayed, not recorded"],
                                                          ["B", "recorded, not replayed"]]
    assert alerts.recorded(FakePrometheus(), WEEK, FIRING).empty


def test_timeline_draws_with_and_without_episodes():
    eps = pd.DataFrame({"alert": ["A"], "severity": ["critical"], "start": [T0], "end": [T0 + dt.timedelta(hours=1)]})
    fig = alerts.timeline(eps, WEEK, {"latency": _series([0, 1])})
    assert fig.axes[0].get_title() == "Alert firing episodes (replayed)"
    empty = alerts.timeline(pd.DataFrame(columns=["alert", "severity", "start", "end"]), WEEK)
    assert empty.axes[0].get_title() == "No alert would have fired"


def test_alert_run_reads_rules_and_says_when_the_server_recorded_nothing(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "alerts.yaml").write_text(
        "groups:\n  - name: g\n    rules:\n      - {alert: Hot, expr: hot, for: 1m, labels: {severity: critical}}\n")
    params = SimpleNamespace(infrastructure=SimpleNamespace(scrape_interval="60s", max_firings=10))
    ctx = SimpleNamespace(root=tmp_path, window=WEEK, params=params,
                          params_path=lambda kind: tmp_path / "params" / f"{kind}.yaml",
                          prometheus=FakePrometheus(ranges={"hot": _series(range(10))}), queries=CATALOG)
    r = alerts.run(ctx)
    assert len(r.episodes) == 1 and r.mismatches.empty and "recorded no firing ALERTS" in r.recorded_note
    fired = r.fired().iloc[0]
    assert fired["alert"] == "Hot" and fired["episodes"] == 1 and fired["firing_time"] == pd.Timedelta(minutes=9)
    ctx.prometheus = FakePrometheus(ranges={"ALERTS": _series([3, 4], {"alertname": "Hot"}), "hot": _series(range(10))})
    r = alerts.run(ctx)
    assert r.recorded_note == "1 firing interval(s) recorded by the server" and r.mismatches.empty
    assert alerts.AlertReview(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), "").fired().empty


def test_fired_says_when_an_alert_last_fired_not_when_it_last_started():
    """The alerts table's "last" was the last episode's start: it now is the end of the last firing
    episode, or "still firing" when the condition still held at the window's last evaluation."""
    last_minute = int((WEEK.end - T0).total_seconds() // 60) - 1  # the window's last evaluation
    src = FakePrometheus(ranges={"hot": _series(list(range(10)) + list(range(100, 140))),
                                 "on": _series(list(range(30)) + list(range(last_minute - 20, last_minute + 1)))})
    hot = alerts.replay_rule(src, "Hot", "hot", for_s=60, interval_s=60, window=WEEK, severity="critical")
    on = alerts.replay_rule(src, "StillOn", "on", for_s=60, interval_s=60, window=WEEK, severity="warning")
    review = alerts.AlertReview(pd.concat([hot, on], ignore_index=True), pd.DataFrame(), pd.DataFrame(), "")
    fired = review.fired().set_index("alert")
    assert list(hot["still_firing"]) == [False, False] and list(on["still_firing"]) == [False, True]
    # Hot fired 01:01-01:10 and 01:41-02:20 (minute 100 + for 1m, resolved one interval after minute 139)
    assert fired.loc["Hot", "first_fired"] == T0 + dt.timedelta(minutes=1)
    assert fired.loc["Hot", "last_fired"] == T0 + dt.timedelta(minutes=140) == hot["end"].max()
    assert fired.loc["Hot", "last_fired"] != hot["start"].max()
    assert fired.loc["StillOn", "last_fired"] == alerts.STILL_FIRING
    sentences = [f.sentence for f in review.findings if f.subject == "StillOn"]
    assert sentences[-1].endswith("and was still firing at the window's end.")
    assert not any("still firing" in f.sentence for f in review.findings if f.subject == "Hot")
    from workbench import tables
    from workbench.infrastructure.columns import KINDS

    html = tables.table(review.fired(), kinds=KINDS).to_html()
    assert "still firing" in html and tables.timestamp(T0 + dt.timedelta(minutes=140)) in html


def test_every_number_column_of_the_infrastructure_tables_is_declared():
    """Tables format by the kind their caller declares (no name guessing): notebook 03 passes
    infrastructure.columns.KINDS, which must cover every number column of these frames."""
    from workbench import tables
    from workbench.infrastructure.columns import KINDS

    week_s, period_s = 7 * 86400, 28 * 86400
    src = FakePrometheus(instant={f"good[{week_s}s]": 99_500, f"total[{week_s}s]": 100_000,
                                  f"good[{period_s}s]": 396_000, f"total[{period_s}s]": 400_000},
                         ranges={"hot": _series(list(range(10)) + list(range(100, 140)))})
    eps = alerts.replay_rule(src, "Hot", "hot", for_s=60, interval_s=60, window=WEEK, severity="critical")
    review = alerts.AlertReview(eps, alerts.noisy(eps, RULES, max_firings=1), pd.DataFrame(), "")
    for frame in (slo.status(src, SLOS, WEEK), review.fired(), review.episodes, review.noisy):
        shown = tables.tidy(frame)
        assert [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and c not in KINDS] == []
    import re

    html = tables.table(slo.status(src, SLOS, WEEK), kinds=KINDS).to_html()
    heads = re.findall(r'<th [^>]*class="col_heading[^"]*"[^>]*>([^<]*)</th>', html)
    row = dict(zip(heads, re.findall(r"<td[^>]*>([^<]*)</td>", html)))  # the week's row
    assert (row["SLI"], row["bad"], row["budget consumed"], row["budget remaining"]) == ("99.50%", "500", "50.0%", "50.0%")


def _minutes_firing(intervals, window):
    """Brute force: the minutes of `window` at which at least one interval [start, end) covers the minute."""
    grid = pd.date_range(window.start, window.end, freq="1min", inclusive="left")
    on = pd.Series(False, index=grid)
    for a, b in intervals:
        on |= (grid >= a) & (grid < b)
    return pd.Timedelta(minutes=int(on.sum()))


def test_firing_time_is_wall_time_never_more_than_the_window_and_series_time_is_the_sum():
    """Three series of one rule firing most of a 7-day week summed to '19 d' of "firing time"; the
    reader takes it as wall time. firing_time is the union of the series' episodes within the window
    (checked against a minute grid), series_time the sum, both in the alerts table."""
    rng = __import__("numpy").random.default_rng(7)
    rows = []
    for s in range(3):
        for _ in range(6):
            a = T0 + pd.Timedelta(minutes=int(rng.integers(-600, 10080)))
            d = pd.Timedelta(minutes=int(rng.integers(1, 4000)))
            rows.append({"alert": "Drift", "severity": "warning", "labels": f"feature=f{s}", "pending_since": a,
                         "start": a, "end": a + d, "duration": d, "still_firing": False})
    eps = pd.DataFrame(rows)
    review = alerts.AlertReview(eps, pd.DataFrame(), pd.DataFrame(), "", window=WEEK)
    row = review.fired().iloc[0]
    expected = _minutes_firing(zip(eps["start"], eps["end"]), WEEK)
    assert row["firing_time"] == expected and row["firing_time"] <= WEEK.end - WEEK.start
    assert row["series_time"] == eps["duration"].sum() and row["series_time"] > WEEK.end - WEEK.start
    # overlapping, nested and adjacent intervals, no window: the union by hand
    m = lambda x: T0 + pd.Timedelta(minutes=x)  # noqa: E731
    assert alerts.wall_time([m(0), m(5), m(30), m(40)], [m(10), m(8), m(40), m(50)]) == pd.Timedelta(minutes=30)
    from workbench import tables
    from workbench.infrastructure.columns import KINDS

    html = tables.table(review.fired(), kinds=KINDS).to_html()
    assert "series-time" in html and tables.duration(expected) in html


def test_a_still_firing_episode_ends_with_the_window_so_its_duration_matches_the_firing_time():
    """A range query includes the window's end: an evaluation there made the episode end one interval
    after the window (longest '6 d 7 h' beside a firing time of '6 d 6 h'); it ends with the window."""
    total = int((WEEK.end - T0).total_seconds() // 60)  # the evaluation at the window's end itself
    src = FakePrometheus(ranges={"on": _series(list(range(total - 300, total + 1)))})
    on = alerts.replay_rule(src, "On", "on", for_s=300, interval_s=300, window=WEEK)
    (e,) = on.to_dict("records")
    assert e["still_firing"] and e["end"] == WEEK.end and e["duration"] == pd.Timedelta(minutes=295)
    row = alerts.AlertReview(on, pd.DataFrame(), pd.DataFrame(), "", window=WEEK).fired().iloc[0]
    assert row["firing_time"] == row["longest"] == row["series_time"] == pd.Timedelta(minutes=295)
