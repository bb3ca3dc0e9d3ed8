"""Apache Airflow DAG: the weekly review fanned out over (model, review) pairs.

Every Monday 06:00 UTC (no catch-up) a run reviews the ISO week its logical date closes
(2026-11-23 -> 2026-W47): one mapped task per (model, review) from the params (the catalogue of
reviews, workbench.reviews, says which review runs once for the whole service), each running the
same code as `workbench report --model M --review R`, then one task writing the week page (and
sending the notification when `workbench.notify` is installed and configured).

A task whose source was unreachable raises a retryable AirflowException (3 retries, exponential
backoff from WORKBENCH_RETRY_DELAY_SECONDS, 120 by default); a failed or incomplete notebook raises
AirflowFailException and is never retried. A broken params file fails `plan` and `week_page` (which
then leaves last run's page as it was), so the run fails whether or not a notification is configured.

Settings (environment of the scheduler/workers, or the run's params when triggering by hand):
  WORKBENCH_PARAMS   weekly.yaml (default: params/weekly.yaml of this repository)
  WORKBENCH_REPORTS  output folder: a path or an fsspec URL such as s3://bucket/reports (default: reports/)
  WORKBENCH_SOURCE   auto | demo | env (default: auto)
  WORKBENCH_RETRY_DELAY_SECONDS  first retry delay of a review whose source was down (default: 120)
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk import Param, dag, get_current_context, task

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "params": os.environ.get("WORKBENCH_PARAMS", str(REPO / "params" / "weekly.yaml")),
    "out": os.environ.get("WORKBENCH_REPORTS", str(REPO / "reports")),
    "source": os.environ.get("WORKBENCH_SOURCE", "auto"),
}
# doubled per try (exponential backoff); the distributed test sets a few seconds
RETRY_DELAY = timedelta(seconds=float(os.environ.get("WORKBENCH_RETRY_DELAY_SECONDS", "120")))


def _settings() -> tuple[str, str, str, str]:
    from workbench import scheduling

    ctx = get_current_context()
    p = ctx["params"]
    return p["params"], scheduling.week_closed_by(ctx["logical_date"]), p["out"], p["source"]


@dag(
    dag_id="weekly_review",
    schedule="0 6 * * 1",
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,
    params={k: Param(v, type="string") for k, v in DEFAULTS.items()},
    tags=["workbench"],
    doc_md=__doc__,
)
def weekly_review():
    @task
    def plan() -> list[dict[str, str]]:
        """The (model, review) pairs of the params set, read at run time so new models need no redeploy."""
        from workbench import scheduling
        from workbench.errors import ConfigError

        try:
            return scheduling.pairs(_settings()[0])
        except ConfigError as exc:  # a broken params file: the same file gives the same answer
            raise AirflowFailException(str(exc)) from None

    @task(retries=3, retry_delay=RETRY_DELAY, retry_exponential_backoff=True,
          max_retry_delay=timedelta(minutes=30), map_index_template="{{ task.op_kwargs['pair'] }}")
    def review(pair: dict[str, str]) -> dict:
        from workbench import scheduling

        params, week, out, source = _settings()
        try:
            return scheduling.run_review(params, week, out, pair["model"], pair["review"], source)
        except scheduling.SourceDown as exc:
            raise AirflowException(str(exc)) from None  # retried with backoff
        except scheduling.ReviewFailed as exc:
            raise AirflowFailException(str(exc)) from None  # the same data gives the same answer
        except Exception as exc:  # noqa: BLE001 - configuration errors and the like: never retried
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from None

    @task(trigger_rule="all_done")
    def week_page() -> dict:
        from workbench import config, scheduling
        from workbench.errors import ConfigError

        params, week, out, _ = _settings()
        try:  # a broken params file fails the run, always: this leaf task decides the run's state
            config.load_weekly(config.params_files(params).weekly)
        except ConfigError as exc:
            raise AirflowFailException(f"the week page was not rewritten: {exc}") from None
        return scheduling.write_week(params, week, out)

    review.expand(pair=plan()) >> week_page()


weekly_review()
