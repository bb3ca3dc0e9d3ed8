"""`workbench report`: run each review notebook with papermill for every model, export it with
nbconvert to a self-contained HTML file (code hidden, images embedded, no external scripts),
and write the period's index.

A failing notebook keeps its partly executed .ipynb under failed/, never replaces an earlier
good report, and makes the run exit non-zero; the other notebooks still produce their reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench import config
from workbench.errors import ConfigError

log = logging.getLogger(__name__)
RUNNER_PARAMS = ("model", "week", "source", "params_file", "status_file")


@dataclass
class Job:
    notebook: str
    model: str
    input_path: str
    parameters: dict
    period_dir: str
    cwd: str
    wants_output_dir: bool = False
    work_dir: str = ""


@dataclass
class JobResult:
    notebook: str
    model: str
    status: str  # did it run: "ok", "incomplete", "failed"
    html: str = ""
    ipynb: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    level: str = "not computed"  # what it found: "alert", "warning", "not computed", "ok" (workbench.findings)
    findings: list[dict] = field(default_factory=list)
    headline: dict = field(default_factory=dict)
    findings_file: str = ""

    @property
    def review(self) -> str:
        return review_name(self.notebook)


def review_name(notebook: str) -> str:
    """The review a notebook runs: '01-drift-review' -> 'drift' (a leading number and '-review' dropped)."""
    name = re.sub(r"^\d+[-_]", "", notebook)
    return re.sub(r"[-_]review$", "", name)


def secrets_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """Passwords inside the connection URLs in the environment, in the forms they could take in a
    report (as written, URL-decoded, HTML-escaped); passwords under 3 characters are not searched."""
    from urllib.parse import unquote

    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name in (config.ENV_DATABASE, config.ENV_PROMETHEUS, config.ENV_MLFLOW):
        m = re.search(r"//[^/:@]*:([^/]+)@", env.get(name, ""))
        if m and len(m.group(1)) >= 3:
            pw = m.group(1)
            found |= {pw, unquote(pw), html.escape(unquote(pw)), html.escape(pw)}
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """`text` with URLs' passwords and any password from the environment replaced by ***."""
    text = config.redact(text)
    for s in secrets_from_env() if secrets is None else secrets:
        text = text.replace(s, "***")
    return text


def export_html(nb_path: Path, title: str) -> str:
    """The executed notebook as standalone HTML: no input cells, no prompts, no CDN scripts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(nb_path, as_version=4)
    # code is hidden: a code cell without output would only add blank space above the verdict
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.get("outputs")]
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            mathjax_url="", require_js_url="")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    # with the CDN URLs emptied the template still writes <script src="">, which would fetch the page itself
    return re.sub(r'<script src="">\s*</script>', "", body)


def declared_parameters(notebook: Path) -> set[str]:
    """Names declared in the notebook's `parameters` cell (ConfigError if it has none)."""
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    if not params:
        raise ConfigError(f"{notebook}: no cell tagged 'parameters'")
    return set(params)


def _run_job(job: Job) -> JobResult:
    """Execute one notebook, export it, publish it (or keep the partial notebook); never raises."""
    started = time.monotonic()
    result = JobResult(job.notebook, job.model, "failed")
    try:
        _execute_and_publish(job, result)
    except Exception as exc:  # noqa: BLE001 - one broken job must not stop the others or the index
        result.status = "failed"
        result.problems.append(f"publishing failed: {type(exc).__name__}: {exc}")
    secrets = secrets_from_env()
    result.problems = [scrub(p, secrets) for p in result.problems]
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _execute_and_publish(job: Job, result: JobResult) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    period = Path(job.period_dir)
    work = Path(job.work_dir or period / ".work") / job.model
    side = work / f"{job.notebook}.files"
    work.mkdir(parents=True, exist_ok=True)
    out_nb = work / f"{job.notebook}.ipynb"
    status_file = work / f"{job.notebook}.status.json"
    status_file.unlink(missing_ok=True)
    params = {**job.parameters, "status_file": str(status_file)}
    if job.wants_output_dir:  # side files (e.g. Evidently's HTML) are published with the report
        side.mkdir(parents=True, exist_ok=True)
        params["output_dir"] = str(side)
    try:
        papermill.execute_notebook(job.input_path, str(out_nb), parameters=params, kernel_name="python3",
                                   cwd=job.cwd, progress_bar=False, log_output=False, report_mode=False)
    except PapermillExecutionError as exc:
        result.problems = [f"{exc.ename}: {exc.evalue}"]
    except Exception as exc:  # noqa: BLE001 - kernel death, timeouts: the report must still say what happened
        result.problems = [f"{type(exc).__name__}: {exc}"]
    leaked = False
    if not result.problems:
        try:
            st = json.loads(status_file.read_text())
        except (OSError, ValueError):
            st = {"complete": False, "problems": [{"section": "notebook", "problem": "did not record its status (no ctx.finish)"}]}
        result.problems = [f"{p['section']}: {p['problem']}" for p in st.get("problems", [])]
        result.status = "ok" if st.get("complete") else "incomplete"
        result.level = st.get("level") or ("ok" if result.status == "ok" else "not computed")
        result.findings = st.get("findings") or []
        result.headline = st.get("headline") or {}
        title = f"{job.notebook} — {job.model} — {period.name}"
        body = export_html(out_nb, title)
        leaked = any(s in body for s in secrets_from_env())
        if leaked:
            result.status, result.problems = "failed", ["the report contained a password from the environment; not published"]
        else:
            final = period / job.model / f"{job.notebook}.html"
            if result.status == "incomplete":
                final = final.with_suffix(".incomplete.html")
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_suffix(".tmp")
            tmp.write_text(body, encoding="utf-8")
            os.replace(tmp, final)
            if result.status == "ok":
                final.with_suffix(".incomplete.html").unlink(missing_ok=True)
                for f in side.glob("*") if side.exists() else []:
                    os.replace(f, final.parent / f.name)
            result.html = str(final.relative_to(period))
            findings_file = final.parent / f"{review_name(job.notebook)}.findings.json"
            _write_atomic(findings_file, json.dumps(findings_document(result, period.name), indent=2, default=float))
            result.findings_file = str(findings_file.relative_to(period))
            run_id = (st.get("outputs") or {}).get("mlflow_run_id")
            if run_id:
                problem = _attach_to_mlflow(job.parameters.get("source", "auto"), run_id, final)
                if problem:
                    result.problems.append(problem)
    if result.status == "failed" and out_nb.exists():
        leaked = leaked or any(s in out_nb.read_text(errors="replace") for s in secrets_from_env())
        if leaked:
            result.problems.append("the partial notebook is withheld too: it holds the password")
        else:
            failed = period / "failed" / job.model / f"{job.notebook}.ipynb"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out_nb, failed)
            result.ipynb = str(failed.relative_to(period))


def _attach_to_mlflow(source: str, run_id: str, html_file: Path) -> str:
    """Attach the exported report to the MLflow run the notebook logged; a problem text, or ''."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from workbench import results_log
    from workbench.context import resolve_connections
    from workbench.errors import WorkbenchError

    try:
        uri = resolve_connections(source).mlflow_uri
        if uri:
            results_log.attach_report(MlflowClient(uri), run_id, html_file)
        return ""
    except (WorkbenchError, MlflowException, OSError) as exc:
        return f"attaching the report to MLflow run {run_id} failed: {type(exc).__name__}"


def findings_document(result: JobResult, period: str) -> dict:
    """`<review>.findings.json`: the review's level and findings (schema in workbench.findings)."""
    from workbench.findings import SCHEMA_VERSION

    return {"schema": SCHEMA_VERSION, "review": result.review, "model": result.model, "period": period,
            "status": result.status, "level": result.level, "findings": result.findings,
            "headline": result.headline, "not_computed": result.problems}


@dataclass
class ReportRun:
    period: str
    directory: Path
    results: list[JobResult]

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)


def plan(params_path: Path, week: str | None, out_dir: Path, source: str = "auto", models: list[str] | None = None,
         notebooks_dir: Path | None = None, extra: dict | None = None,
         reviews: list[str] | None = None) -> tuple[config.Window, list[Job]]:
    """Validate everything and list the jobs, before anything runs.

    `reviews` (names such as "drift", see `review_name`) runs only those of the configured notebooks.
    """
    weekly = config.load_weekly(params_path)
    known = [review_name(nb) for nb in weekly.notebooks]
    for r in reviews or []:
        if r not in known:
            raise ConfigError(f"unknown review {r!r}; {params_path} configures: {', '.join(known)}")
    window = config.resolve_window(week)
    root = config.project_root(params_path.resolve().parent)
    nb_dir = notebooks_dir or root / "notebooks"
    names = [m.name for m in weekly.models]
    for m in models or []:
        weekly.model(m)
    chosen = models or names
    jobs = []
    period_dir = out_dir / window.label
    for nb in weekly.notebooks:
        if reviews and review_name(nb) not in reviews:
            continue
        path = nb_dir / f"{nb}.ipynb"
        if not path.is_file():
            raise ConfigError(f"{params_path}: notebooks: {nb!r} not found in {nb_dir}")
        declared = declared_parameters(path)
        base = {"week": window.label, "source": source,
                "params_file": str(params_path.resolve().relative_to(root)) if params_path.resolve().is_relative_to(root)
                else str(params_path.resolve())}
        given = {**base, **(extra or {})}
        unknown = sorted(set(given) - declared)
        if unknown:
            raise ConfigError(f"parameter(s) {', '.join(unknown)} not declared by {path.name}; "
                              f"it declares: {', '.join(sorted(declared))}")
        for m in chosen:
            jobs.append(Job(nb, m, str(path), {**given, "model": m}, str(period_dir), str(nb_dir),
                            "output_dir" in declared))
    return window, jobs


def run(params_path: str | Path, week: str | None = None, out_dir: str | Path = "reports", source: str = "auto",
        models: list[str] | None = None, jobs: int = 2, notebooks_dir: Path | None = None,
        extra: dict | None = None, reviews: list[str] | None = None, index: bool = True) -> ReportRun:
    """Execute and export every (notebook × model), then write the indexes.

    `reviews` limits the run to those reviews; `index=False` leaves the index pages alone (a
    scheduler running one model and review per task writes them once at the end, `write_indexes`).
    """
    from workbench.context import resolve_connections

    params_path, out = Path(params_path), Path(out_dir).resolve()
    window, job_list = plan(params_path, week, out, source, models, notebooks_dir, extra, reviews)
    resolve_connections(source)  # fail fast, with one clear line, if no source is reachable
    period_dir = out / window.label
    period_dir.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=".work-", dir=period_dir))  # one per run: runs never share it
    for j in job_list:
        j.work_dir = str(work_dir)
    log.info("running %d notebooks for %s", len(job_list), window.label, extra={"period": window.label})
    results = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for r in pool.map(_run_job, job_list):
            log.info("%s for %s: %s", r.notebook, r.model, r.status,
                     extra={"model_name": r.model, "notebook": r.notebook, "status": r.status, "seconds": r.seconds})
            for p in r.problems:
                log.warning("%s for %s: %s", r.notebook, r.model, p, extra={"model_name": r.model})
            results.append(r)
    shutil.rmtree(work_dir, ignore_errors=True)
    report = ReportRun(window.label, period_dir, results)  # its exit status: this run's jobs only
    with _status_lock(period_dir):  # parallel runs of one period (e.g. scheduler tasks) each add their results
        write_status(ReportRun(window.label, period_dir, _merge_previous(period_dir, results)))
    if index:
        write_indexes(out, window.label)
    return report


def write_indexes(out_dir: str | Path, week: str) -> None:
    """The period's page and the index over all periods, from the stored status.json (nothing recomputed)."""
    out = Path(out_dir).resolve()
    window = config.iso_week(week)
    period_dir = out / window.label
    write_period_index(ReportRun(window.label, period_dir, _merge_previous(period_dir, [])), window)
    write_root_index(out)


@contextlib.contextmanager
def _status_lock(period_dir: Path):
    """An exclusive lock on the period's status.json while it is read, merged and rewritten."""
    import fcntl

    with open(period_dir / ".status.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _merge_previous(period_dir: Path, results: list[JobResult]) -> list[JobResult]:
    """This run's results plus the earlier ones of (model, notebook) pairs it did not run, so a run
    for one model keeps the others in the period's index."""
    try:
        old = json.loads((period_dir / "status.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return results
    ran = {(r.model, r.notebook) for r in results}
    kept = [JobResult(**r) for r in old if (r["model"], r["notebook"]) not in ran]
    return kept + results


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


_STYLE = """<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.ok{color:#1e8449}.failed,.incomplete{color:#c0392b}
small{color:#666}</style>"""


def _previous_good(period_dir: Path, r: JobResult) -> str:
    good = period_dir / r.model / f"{r.notebook}.html"
    return str(good.relative_to(period_dir)) if good.exists() else ""


def write_status(run_: ReportRun) -> Path:
    """reports/<period>/status.json: every report's run status, level and findings."""
    from workbench.findings import SCHEMA_VERSION, worst

    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path = run_.directory / "status.json"
    _write_atomic(path, json.dumps(
        {"schema": SCHEMA_VERSION, "period": run_.period, "generated": generated, "ok": run_.ok,
         "level": worst(r.level for r in run_.results),
         "results": [asdict(r) for r in run_.results]}, indent=2, default=float))
    return path


def write_period_index(run_: ReportRun, window: config.Window) -> Path:
    """reports/<period>/index.html: links and a one-line status per report."""
    e = html.escape
    rows = []
    for r in sorted(run_.results, key=lambda r: (r.model, r.notebook)):
        links = []
        if r.html:
            links.append(f'<a href="{e(r.html)}">report</a>')
        if r.status != "ok":
            prev = _previous_good(run_.directory, r)
            if prev and prev != r.html:
                links.append(f'<a href="{e(prev)}">last good report</a>')
        if r.ipynb:
            links.append(f'<a href="{e(r.ipynb)}">partial notebook</a>')
        note = "; ".join(r.problems) or "complete"
        rows.append(f"<tr><td>{e(r.model)}</td><td>{e(r.notebook)}</td><td class='{e(r.status)}'>{e(r.status)}</td>"
                    f"<td>{' · '.join(links)}</td><td>{e(note)}</td></tr>")
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Weekly review {e(run_.period)}</title>{_STYLE}"
            f"</head><body><h1>Weekly review {e(run_.period)}</h1>"
            f"<p>{window.start:%Y-%m-%d} to {window.end:%Y-%m-%d} (UTC) · generated {generated} · "
            f"<a href='../index.html'>all periods</a></p>"
            "<table><tr><th>model</th><th>review</th><th>status</th><th>links</th><th>notes</th></tr>"
            + "".join(rows) + "</table></body></html>")
    path = run_.directory / "index.html"
    _write_atomic(path, page)
    return path


def write_root_index(out: Path) -> Path:
    """reports/index.html: every period with its overall status."""
    e = html.escape
    rows = []
    for d in sorted((p for p in out.iterdir() if p.is_dir() and (p / "status.json").exists()), reverse=True):
        st = json.loads((d / "status.json").read_text())
        counts = {}
        for r in st["results"]:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        cls = "ok" if st["ok"] else "failed"
        rows.append(f"<tr><td><a href='{e(d.name)}/index.html'>{e(d.name)}</a></td><td class='{cls}'>{e(summary)}</td>"
                    f"<td>{e(st['generated'])}</td></tr>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>workbench reports</title>{_STYLE}</head>"
            "<body><h1>workbench reports</h1><table><tr><th>period</th><th>status</th><th>generated</th></tr>"
            + "".join(rows) + "</table></body></html>")
    path = out / "index.html"
    _write_atomic(path, page)
    return path
