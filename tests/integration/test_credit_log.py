"""Issue 20 item 6, end to end on a held-out, real-shaped data set (tests/fixtures/credit_log.py, not the
demo's generator): a team's credit-scoring log in SQLite, `workbench init` against it, `workbench check`,
`workbench report --week 2026-W48` with only the prediction DB and a training file (no Prometheus, no
MLflow), then the published week checked against numbers computed here, independently, from the table
with pandas, scikit-learn and scipy:

- the weak-segment search finds the planted concept drift (employment_type = self_employed) with the
  accuracy, interval and share of the drop the table gives;
- the planted correlation flip (annual_income x loan_amount, marginals unchanged) is flagged by both
  multivariate methods while the univariate KS tests, equal to scipy's on the same rows, flag neither;
- the week page's cell for the model says where the drop sits, incidents are in status.json, and the
  artifact checker (python -m workbench.artifact) finds no violation.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score

from workbench import artifact, config, reviews

# tests/ and tests/integration/ are on sys.path (pytest's rootdir conftest and this test's folder)
from fixtures.credit_log import MODEL, TABLE, VERSION, W48, CreditLog, build_credit_log  # noqa: E402
from test_onboarding import _cli, _env  # noqa: E402  the new-user CLI helpers, shared

pytestmark = pytest.mark.integration
WEEK = "2026-W48"
SEGMENT = "employment_type = self_employed"


@dataclass
class Published:
    credit: CreditLog
    project: Path
    week_dir: Path
    status: dict
    weekly_text: str
    check: subprocess.CompletedProcess
    weekly: config.WeeklyParams


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Published:
    """The team's path: the table, a training export, init, check, report for 2026-W48."""
    base = tmp_path_factory.mktemp("credit")
    project = base / "team"
    (project / "data").mkdir(parents=True)
    credit = build_credit_log(base / "credit.db")
    credit.reference.to_parquet(project / "data" / "training.parquet", index=False)
    env = _env(credit.url, base)
    p = _cli(["init", "--table", TABLE, "--out", "params", "--reference", "data/training.parquet"], env, project)
    assert p.returncode == 0, p.stdout + p.stderr
    weekly_text = (project / "params" / "weekly.yaml").read_text()
    check = _cli(["check", "--params", "params"], env, project)
    p = _cli(["report", "--params", "params", "--week", WEEK, "--out", "reports"], env, project)
    assert p.returncode == 0, p.stdout + p.stderr
    week_dir = project / "reports" / WEEK
    return Published(credit, project, week_dir, json.loads((week_dir / "status.json").read_text()), weekly_text,
                     check, config.load_weekly(project / "params" / "weekly.yaml"))


def _window(log: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return log[(log["scored_at"] >= start) & (log["scored_at"] < end)]


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["defaulted"].notna()]


def _accuracy(df: pd.DataFrame) -> float:
    return accuracy_score(df["defaulted"].astype(int), df["decision"].astype(int))


def _result(status: dict, notebook: str) -> dict:
    return next(r for r in status["results"] if r["notebook"] == notebook and r["model"] == MODEL)


def _finding(result: dict, subject: str) -> dict:
    found = [f for f in result["findings"] if f["subject"] == subject]
    assert len(found) == 1, [f["subject"] for f in result["findings"]]
    return found[0]


def _agrees(shown: str, value: float) -> bool:
    """A number as a table shows it equals `value` to the digits shown (0.013 ~ [0.0125, 0.0135])."""
    text = shown.replace(",", "").replace("−", "-")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(float(text) - value) <= 0.5 * 10 ** -decimals + 1e-12


def _tables(page: Path, section: str) -> list[dict]:
    review = reviews.by_notebook(page.name)
    parsed = artifact.read_page(page.read_text(encoding="utf-8"), {s.anchor for s in review.sections})
    return [t for t in parsed.tables if t["section"] == section]


def test_init_maps_the_table_and_check_passes(published):
    """Every role found under the team's own names (the version 2026.10.1 included: not a date); the only
    key left null is the A/B variant, which this table has none of, as the header says to leave it."""
    cols = published.weekly.store.columns
    assert (cols.id, cols.model, cols.version, cols.timestamp) == ("application_id", "scorecard", "scorecard_version",
                                                                  "scored_at")
    assert (cols.prediction, cols.probability, cols.outcome, cols.outcome_timestamp) == (
        "decision", "pd_score", "defaulted", "label_received_at")
    assert cols.variant is None and [m.name for m in published.weekly.models] == [MODEL]
    header = published.weekly_text.split("\n\n")[0]
    assert re.findall(r"#   - store\.columns\.(\w+):", header) == ["variant"]
    assert published.check.returncode == 0 and "[FAIL]" not in published.check.stdout, published.check.stdout
    assert f"[ok]   model {MODEL} in the table" in published.check.stdout


def test_every_review_that_can_run_ran(published):
    by = {r["notebook"]: r for r in published.status["results"]}
    assert by["01-drift-review"]["status"] == "ok", by["01-drift-review"]["problems"]
    assert by["02-performance-review"]["status"] == "ok", by["02-performance-review"]["problems"]
    assert by["03-infrastructure-review"]["status"] == "skipped"  # no Prometheus: said, not failed
    acc = _finding(by["02-performance-review"], "accuracy")
    w48 = _labelled(_window(published.credit.log, *W48))
    assert acc["value"] == pytest.approx(_accuracy(w48), abs=1e-12)
    assert acc["extra"]["baseline"] == pytest.approx(_accuracy(_labelled(published.credit.reference)), abs=1e-12)


def test_the_weak_segment_is_the_planted_one_with_the_tables_own_numbers(published):
    log, weeks_back = published.credit.log, max(published.weekly.performance.weeks_back, 1)
    now = _labelled(_window(log, *W48))
    before = _labelled(_window(log, W48[0] - pd.Timedelta(weeks=weeks_back), W48[0]))
    seg_now, seg_before = (d[d["employment_type"] == "self_employed"] for d in (now, before))
    acc_now, acc_before = _accuracy(seg_now), _accuracy(seg_before)
    share = len(seg_now) / len(now)
    share_of_drop = share * (acc_before - acc_now) / (_accuracy(before) - _accuracy(now))

    perf = _result(published.status, "02-performance-review")
    weak = [f for f in perf["findings"] if f["anchor"] == "weak-segments"]
    assert weak and weak[0]["subject"] == SEGMENT and weak[0]["severity"] == "warning"  # the costliest, first
    f = weak[0]
    assert f["extra"]["features"] == ["employment_type"] and f["extra"]["n"] == len(seg_now)
    assert f["value"] == pytest.approx(acc_now, abs=1e-12)
    assert f["extra"]["reference"] == pytest.approx(acc_before, abs=1e-12)
    assert f["extra"]["share"] == pytest.approx(share, abs=1e-12)
    assert f["extra"]["share_of_drop"] == pytest.approx(share_of_drop, abs=1e-9) and share_of_drop > 0.5
    # the bootstrap interval agrees with Wilson's score interval to bootstrap precision
    wilson = stats.binomtest(int((seg_now["decision"] == seg_now["defaulted"]).sum()), len(seg_now)).proportion_ci(
        method="wilson")
    lo, hi = f["extra"]["ci"]
    assert lo < acc_now < hi
    assert lo == pytest.approx(wilson.low, abs=0.005) and hi == pytest.approx(wilson.high, abs=0.005)
    assert perf["headline"]["weak_segment"] == SEGMENT


def test_the_correlation_flip_is_multivariate_drift_and_univariate_ks_equals_scipy(published):
    drift = _result(published.status, "01-drift-review")
    multi = {f["extra"]["method"]: f for f in drift["findings"] if f["subject"] == "multivariate"}
    assert set(multi) == {"pca_reconstruction", "domain_classifier"}
    assert all(f["extra"]["drifted"] and f["severity"] == "warning" for f in multi.values())
    assert multi["domain_classifier"]["extra"]["low"] > multi["domain_classifier"]["extra"]["threshold"]
    pca = multi["pca_reconstruction"]["extra"]
    assert pca["value"] > pca["upper"]

    page = published.week_dir / MODEL / "01-drift-review.html"
    table = next(t for t in _tables(page, "drifted-features") if "values (current)" in t["head"])
    rows = {r[0]: dict(zip(table["head"], r)) for r in table["rows"]}
    week = _window(published.credit.log, *W48)
    ref = published.credit.reference
    for feature in ("annual_income", "loan_amount"):
        row = rows[feature]
        assert not [f for f in drift["findings"] if f["subject"] == feature and f["severity"] != "info"]
        a, b = ref[feature].dropna().to_numpy(), week[feature].dropna().to_numpy()
        ks = stats.ks_2samp(a, b)
        assert (row["method"], row["status"]) == ("ks", "no drift"), row
        assert int(row["values (reference)"].replace(",", "")) == len(a)
        assert int(row["values (current)"].replace(",", "")) == len(b)
        assert _agrees(row["statistic"], ks.statistic), (feature, row["statistic"], ks.statistic)
        assert _agrees(row["p-value"], ks.pvalue) and ks.pvalue > 0.05, (feature, row["p-value"], ks.pvalue)
    # and the flip is there: the correlation of the logs changed sign, the marginals did not move
    logs = lambda d: np.corrcoef(np.log(d["annual_income"]), np.log(d["loan_amount"]))[0, 1]  # noqa: E731
    assert logs(ref) > 0.5 and logs(week) < -0.5


def test_the_week_page_says_where_the_drop_sits_and_counts_incidents(published):
    page = (published.week_dir / "index.html").read_text(encoding="utf-8")
    row = re.search(rf'<th class="row">{re.escape(MODEL)}<br>.*?</tr>', page, re.S).group(0)
    perf_cell = next(c for c in re.findall(r"<td.*?</td>", row, re.S) if "02-performance-review" in c)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", perf_cell))
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    why = next(x for x in lines if x.startswith("Why: "))
    assert f"it sits in {SEGMENT}" in why and "of the drop" in why, why
    weak = _finding(_result(published.status, "02-performance-review"), SEGMENT)
    assert weak["sentence"] in lines

    incidents = published.status["incidents"]
    perf = [i for i in incidents if i["category"] == "performance" and i["scope"] == MODEL]
    assert len(perf) == 1 and perf[0]["open"] and perf[0]["level"] == "alert"
    assert weak["sentence"] in [f["sentence"] for f in perf[0]["findings"]]
    assert any(i["category"] == "drift" and i["scope"] == MODEL for i in incidents)
    n, still_open = map(int, re.search(r"(\d+) incident\(s\), (\d+) still open", page).groups())
    assert (n, still_open) == (len(incidents), sum(i["open"] for i in incidents))


def test_the_artifact_checker_finds_no_violation(published):
    p = subprocess.run([sys.executable, "-m", "workbench.artifact", str(published.week_dir)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rendered in Chromium: 0 violation(s)" in p.stdout, p.stdout


def test_the_builder_is_deterministic_and_keeps_the_planted_effects_apart(tmp_path):
    """Same seed, same table; the concept flip leaves the segment's base rate and its features alone."""
    a = build_credit_log(tmp_path / "a.db", rows_scale=0.2)
    b = build_credit_log(tmp_path / "b.db", rows_scale=0.2)
    pd.testing.assert_frame_equal(a.log, b.log)
    assert (a.log["scorecard_version"] == VERSION).all()
    week, before = _window(a.log, *W48), a.log[a.log["scored_at"] < W48[0]]
    assert W48 == (pd.Timestamp("2026-11-23"), pd.Timestamp("2026-11-30")) and len(week) and len(before)
    se = lambda d: _labelled(d[d["employment_type"] == "self_employed"])  # noqa: E731
    assert abs(se(week)["defaulted"].mean() - se(before)["defaulted"].mean()) < 0.06
