"""A job the runner never heard back from (a signal between its worker writing the report and returning):
the status says whether this run published its report, instead of always "nothing published"."""

import os
import time

import pytest

from workbench.report import Job, interrupted_result


@pytest.fixture
def period(tmp_path):
    """A week folder with model m1's (still empty) folder, as the runner lays it out."""
    week = (tmp_path / "2026-W48").resolve()
    (week / "m1").mkdir(parents=True)
    return week


def _job(period):
    return Job("02-performance-review", "m1", "in.ipynb", {}, str(period), str(period))


def _written(period, name, text, age=0.0):
    """A file of m1's written `age` seconds ago (0: now, i.e. by the run that started before it)."""
    path = period / "m1" / name
    path.write_text(text)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_a_report_written_by_this_run_is_named_not_called_missing(period):
    started = time.time() - 5
    _written(period, "02-performance-review.html", "<html>report</html>")

    r = interrupted_result(_job(period), period, started, "SIGTERM")

    assert r.status == "failed"
    assert r.html == "m1/02-performance-review.html"  # the week page links the report that is there
    assert "nothing published" not in r.problems[0]
    assert "SIGTERM" in r.problems[0] and "m1/02-performance-review.html" in r.problems[0]


def test_an_incomplete_report_written_by_this_run_is_named(period):
    started = time.time() - 5
    _written(period, "02-performance-review.incomplete.html", "<html>part</html>")

    r = interrupted_result(_job(period), period, started, "SIGINT")

    assert r.html == "m1/02-performance-review.incomplete.html"


def test_a_report_left_by_an_earlier_run_is_not_claimed(period):
    _written(period, "02-performance-review.html", "<html>last week's run</html>", age=3600)

    r = interrupted_result(_job(period), period, time.time() - 5, "SIGTERM")

    assert r.status == "failed" and r.html == ""
    assert r.problems == ["interrupted by SIGTERM before it finished: nothing published"]


def test_no_report_at_all_says_nothing_published(period):
    r = interrupted_result(_job(period), period, time.time(), "SIGTERM")

    assert r.html == "" and "nothing published" in r.problems[0]
