"""What a scheduler (dags/weekly_review.py on Apache Airflow) calls: the (model, review) pairs of a
params set, the ISO week a run closes, one review of one model through the same code path as
`workbench report` (statuses, findings, last good report kept, secrets scrubbed), and the week page.

No Airflow import here: the DAG maps `SourceDown` to a retryable AirflowException and
`ReviewFailed` to AirflowFailException (a failed notebook is never retried).

The output folder may be a local path or an fsspec URL (s3://, gs://, memory://...): reports are
built in a local staging folder and copied there, with the week's earlier status fetched first so
the week page still lists every model and links the last good report.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from workbench import config
from workbench.errors import WorkbenchError


class SourceDown(WorkbenchError):
    """A source (Prometheus, prediction DB, MLflow) was unreachable: worth retrying later."""


class ReviewFailed(WorkbenchError):
    """The notebook failed or finished incomplete: retrying the same data gives the same answer."""


def pairs(params_path: str | Path) -> list[dict[str, str]]:
    """Every (model, review) of the params set, in report order, for dynamic task mapping; a review
    that runs once for the service (infrastructure) is one pair with model "service"."""
    from workbench.reviews import SERVICE, per_service, review_name

    weekly = config.load_weekly(config.params_files(params_path).weekly)
    out = []
    for nb in weekly.notebooks:
        review = review_name(nb)
        models = [SERVICE] if per_service(review) else [m.name for m in weekly.models]
        out += [{"model": m, "review": review} for m in models]
    return out


def week_closed_by(logical_date: dt.datetime) -> str:
    """The ISO week a run at `logical_date` reviews: the last one fully ended by then
    (Monday 06:00 UTC, 2026-11-23 -> 2026-W47)."""
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=dt.timezone.utc)
    return config.last_full_week(logical_date).label


def _is_url(out: str) -> bool:
    return "://" in str(out) and not str(out).startswith("file://")


# a URL output's week folder keeps each review's own status here; write_week merges them into
# status.json: parallel tasks (Celery workers) each upload a status.json of their own, last one wins
STATUS_PARTS = ".status-parts"
# files that only mean something on the machine that wrote them (report._status_lock's flock file):
# never uploaded to a URL output
LOCAL_ONLY = {".status.lock"}


def _signatures(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(f.relative_to(folder)): (f.stat().st_size, f.stat().st_mtime_ns)
            for f in folder.rglob("*") if f.is_file()}


@contextmanager
def _staged(out: str, week: str) -> Iterator[Path]:
    """A local folder standing for `out`: `out` itself, or for a URL a temp copy of its week folder
    whose new or changed files are uploaded back when the block ends without error (only those: a
    task running beside this one may have uploaded newer copies of the others meanwhile)."""
    if not _is_url(out):
        yield Path(str(out).removeprefix("file://"))
        return
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(out))
    root = root.rstrip("/")
    tmp = Path(tempfile.mkdtemp(prefix="workbench-stage-"))
    try:
        remote_week = f"{root}/{week}"
        if fs.exists(remote_week):
            fs.get(remote_week + "/", str(tmp / week) + "/", recursive=True)
        fetched = _signatures(tmp)
        yield tmp
        for rel, signature in sorted(_signatures(tmp).items()):
            if fetched.get(rel) != signature and Path(rel).name not in LOCAL_ONLY:
                fs.put_file(str(tmp / rel), f"{root}/{rel}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_status_part(period_dir: Path, model: str, notebook: str) -> None:
    """This review's entries of status.json, on their own in STATUS_PARTS."""
    import json

    results = json.loads((period_dir / "status.json").read_text())["results"]
    mine = [r for r in results if (r["model"], r["notebook"]) == (model, notebook)]
    parts = period_dir / STATUS_PARTS
    parts.mkdir(exist_ok=True)
    (parts / f"{model}--{notebook}.json").write_text(json.dumps(mine, default=float))


def _merge_status_parts(period_dir: Path, week: str, weekly: config.WeeklyParams | None = None) -> None:
    """status.json with every review's own entries (STATUS_PARTS) in place of what it holds for them
    (its incidents grouped with `weekly`'s incidents params)."""
    import json

    from workbench import report

    parts = sorted((period_dir / STATUS_PARTS).glob("*.json"))
    if not parts:
        return
    newest = [r for part in parts for r in json.loads(part.read_text())]
    try:
        stored = json.loads((period_dir / "status.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        stored = []
    given = {(r["model"], r["notebook"]) for r in newest}
    results = [r for r in stored if (r["model"], r["notebook"]) not in given] + newest
    report.write_status(report.ReportRun(week, period_dir, [report.JobResult(**r) for r in results], weekly))


def _sources_down(source: str) -> list[str]:
    from workbench.infrastructure import health
    from workbench.context import resolve_connections

    try:
        conns = resolve_connections(source)
    except WorkbenchError as exc:
        return [str(exc)]
    result = health.check(conns, timeout=10)
    return [f"{name}: {s.get('error', s['status'])}" for name, s in result["services"].items()
            if s["status"] != "healthy"]


def _allow_children() -> None:
    """Let this process start the runner's worker processes when a scheduler runs it as a daemonic
    process: Celery's prefork pool does (Airflow's CeleryExecutor; the task process forked from the
    pool's child inherits the flag), and multiprocessing then refuses any child ("daemonic processes
    are not allowed to have children"). The runner stops its own process tree (proctree), so the flag,
    which only asks multiprocessing to kill daemonic children at exit, is not needed here."""
    import multiprocessing

    config_ = multiprocessing.current_process()._config  # noqa: SLF001 - no public setter after start
    config_.pop("daemon", None)


def run_review(params_path: str | Path, week: str, out: str, model: str, review: str, source: str = "auto") -> dict:
    """Run one review of one model exactly as `workbench report --model M --review R` would (but
    without writing the week page); returns its status. Raises SourceDown when a source is
    unreachable (before, or found after a run that did not complete) and ReviewFailed otherwise."""
    from workbench import report

    down = _sources_down(source)
    if down:
        raise SourceDown("source unavailable: " + "; ".join(down))
    _allow_children()
    with _staged(out, week) as local:
        run = report.run(params_path, week, local, source, models=[model], jobs=1, reviews=[review], index=False)
        if _is_url(out):
            _write_status_part(Path(local) / week, run.results[0].model, run.results[0].notebook)
    r = run.results[0]
    status = {"model": r.model, "review": review, "status": r.status, "html": r.html, "problems": r.problems}
    if r.status != "ok":
        down = _sources_down(source)
        if down:
            raise SourceDown(f"{model}/{review} {r.status} while a source was unavailable: " + "; ".join(down))
        raise ReviewFailed(f"{model}/{review} {r.status}: " + "; ".join(r.problems))
    return status


def write_week(params_path: str | Path, week: str, out: str, notify_enabled: bool = True) -> dict:
    """Write the week page (and the index of all weeks) from the stored results; notify when a
    `workbench.notify` module is installed and configured. Returns a summary."""
    import json
    import os

    from workbench import report

    try:
        from workbench import notify
    except ImportError:  # a workbench without notifications
        notify = None
    channels = notify is not None and any(os.environ.get(v, "").strip() for v in
                                          (getattr(config, "ENV_SLACK_WEBHOOK", ""), getattr(config, "ENV_SMTP", "")) if v)
    with _staged(out, week) as local:
        weekly = config.load_weekly(config.params_files(params_path).weekly)
        _merge_status_parts(Path(local) / week, week, weekly)
        report.write_indexes(local, week)
        st = json.loads((Path(local) / week / "status.json").read_text())
        summary = {"week": week, "ok": st.get("ok"), "results": len(st.get("results", [])),
                   "statuses": {f"{r['model']}/{r['notebook']}": r["status"] for r in st.get("results", [])}}
        if notify_enabled and channels:  # only when a channel is configured
            sent = notify.notify(local, week, weekly)
            summary["notified"], summary["notify_problems"] = list(sent.sent), list(sent.problems)
    return summary
