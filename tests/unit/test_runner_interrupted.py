"""A job the runner never heard back from (a signal between its worker writing the report and returning):
the status says whether this run published its report, instead of always "nothing published"."""

import os
import time

from workbench.report import Job, interrupted_result


def _job(period):
    return Job("02-performance-review", "m1", "in.ipynb", {}, str(period), str(period))


def test_a_report_written_by_this_run_is_named_not_called_missing(tmp_path):
    period = (tmp_path / "2026-W48").resolve()
    (period / "m1").mkdir(parents=True)
    started = time.time() - 5
    (period / "m1" / "02-performance-review.html").write_text("<html>report</html>")

    r = interrupted_result(_job(period), period, started, "SIGTERM")

    assert r.status == "failed"
    assert r.html == "m1/02-performance-review.html"  # the week page links the report that is there
    assert "nothing published" not in r.problems[0]
    assert "SIGTERM" in r.problems[0] and "m1/02-performance-review.html" in r.problems[0]


def test_an_incomplete_report_written_by_this_run_is_named(tmp_path):
    period = (tmp_path / "2026-W48").resolve()
    (period / "m1").mkdir(parents=True)
    started = time.time() - 5
    (period / "m1" / "02-performance-review.incomplete.html").write_text("<html>part</html>")

    r = interrupted_result(_job(period), period, started, "SIGINT")

    assert r.html == "m1/02-performance-review.incomplete.html"


def test_a_report_left_by_an_earlier_run_is_not_claimed(tmp_path):
    period = (tmp_path / "2026-W48").resolve()
    (period / "m1").mkdir(parents=True)
    old = period / "m1" / "02-performance-review.html"
    old.write_text("<html>last week's run</html>")
    os.utime(old, (time.time() - 3600, time.time() - 3600))

    r = interrupted_result(_job(period), period, time.time() - 5, "SIGTERM")

    assert r.status == "failed" and r.html == ""
    assert r.problems == ["interrupted by SIGTERM before it finished: nothing published"]


def test_no_report_at_all_says_nothing_published(tmp_path):
    period = (tmp_path / "2026-W48").resolve()
    period.mkdir(parents=True)

    r = interrupted_result(_job(period), period, time.time(), "SIGTERM")

    assert r.html == "" and "nothing published" in r.problems[0]
