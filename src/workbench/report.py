"""`workbench report`: run each review notebook with papermill for every model, export it with
nbconvert to a self-contained HTML file (code hidden, images embedded, no external scripts),
and write the period's index.

A failing notebook keeps its partly executed .ipynb under failed/, never replaces an earlier
good report, and makes the run exit non-zero; the other notebooks still produce their reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench import config
from workbench.atomic import write_text as write_text_atomic
from workbench.errors import ConfigError
from workbench.redaction import leaks, scrub, secrets_from_env  # noqa: F401 - the runner's redaction
from workbench.reviews import SERVICE, per_service, review_name, uses

log = logging.getLogger(__name__)
# parameters the runner sets itself: `-p` cannot override them (a `-p week=...` would write one
# week's review into another week's folder)
RUNNER_PARAMS = ("model", "week", "source", "params_dir", "params_file", "status_file", "output_dir", "data_until")
REQUIRED_PARAMS = ("model", "week", "source", "params_dir")


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
    skip: str = ""  # why this job is not run (a source it needs is not configured)
    timeouts: dict = field(default_factory=dict)  # params' `timeouts:` (cell, notebook, mlflow_*)
    env: dict = field(default_factory=dict)  # set for the kernel only (e.g. the run's MLflow answers)
    reuse_kernel: bool = False  # run in the worker's kernel, given a fresh session (workbench.kernels; run() sets it)


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
    partial: str = ""  # "partial: data until …" when the period was not finished
    profile: dict = field(default_factory=dict)  # where the time went (see workbench.timing)
    # a kernel's MLflow hand-over (performance.log_results), logged by the runner; not written to status.json
    mlflow_log: dict = field(default_factory=dict, repr=False)

    @property
    def review(self) -> str:
        return review_name(self.notebook)


def scrub_notebook(text: str, secrets: list[str] | None = None) -> str:
    """A notebook's JSON with every string scrubbed (structure kept, so it still opens)."""
    secrets = secrets_from_env() if secrets is None else secrets

    def walk(x):
        if isinstance(x, str):
            return scrub(x, secrets)
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return x

    return json.dumps(walk(json.loads(text)), indent=1, ensure_ascii=False)


def display_paths(text: str, params_dir: str | Path) -> str:
    """`text` with absolute paths under the folder that holds the params folder shown relative to it
    (`params/weekly.yaml`, `notebooks/…`): errors and problems do not carry the layout of the machine
    that ran them."""
    if not params_dir or not text:
        return text
    p = Path(params_dir)
    folder = p.parent if p.suffix in (".yaml", ".yml") else p
    for base in {str(folder.parent), str(folder.resolve().parent)}:
        if base not in ("", "/", ".") and os.path.isabs(base):
            text = text.replace(base.rstrip("/") + "/", "")
    return text


def under(base: Path, *parts: str) -> Path:
    """`base`/parts, refusing any path that would leave `base` (a model named '../../x')."""
    root = Path(base).resolve()
    p = root.joinpath(*parts).resolve()
    if not p.is_relative_to(root):
        raise ConfigError(f"output path {'/'.join(parts)!r} would leave the output folder {root}")
    return p


def writable_folder(folder: Path) -> None:
    """Prove a file can be written in `folder` (or, while it does not exist, in the nearest folder
    above it, where it would be created); WorkbenchError (one line) if not. Nothing is left behind."""
    import errno

    from workbench.errors import WorkbenchError

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise WorkbenchError(f"the reports folder {folder} cannot be written: "
                             f"{exc.strerror or type(exc).__name__}") from None


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
    result.problems = [display_paths(scrub(p, secrets), job.parameters.get("params_dir", "")) for p in result.problems]
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _timeout_problem(first_line: str, cell_s: float, deadline_s: float, elapsed: float) -> str:
    """Which cell overran which limit, in words."""
    where = f' in the cell starting "{first_line[:80]}"' if first_line else ""
    limit = (f"the notebook deadline of {deadline_s:.0f} s (timeouts.notebook)" if elapsed >= deadline_s - 1
             else f"the cell timeout of {cell_s:.0f} s (timeouts.cell)")
    return f"timed out{where} after {elapsed:.0f} s: {limit}; a source did not answer in time"


def _shutdown(km) -> None:
    """Stop a notebook's own kernel (--fresh-kernels), dead or alive."""
    from jupyter_core.utils import run_sync

    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=False)
    except Exception as exc:  # noqa: BLE001 - a kernel already gone is what we wanted
        log.debug("kernel shutdown: %s", exc)


def _execute_and_publish(job: Job, result: JobResult) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from workbench import kernel_exit, kernels

    period = Path(job.period_dir)
    if not config.MODEL_NAME_RE.match(job.model):
        raise ConfigError(f"model name {job.model!r} may hold only letters, digits and - _ .")
    work = under(Path(job.work_dir or period / ".work"), job.model)
    final = under(period, job.model, f"{job.notebook}.html")
    failed = under(period, "failed", job.model, f"{job.notebook}.ipynb")
    side = work / f"{job.notebook}.files"
    work.mkdir(parents=True, exist_ok=True)
    out_nb = work / f"{job.notebook}.ipynb"
    status_file = work / f"{job.notebook}.status.json"
    status_file.unlink(missing_ok=True)
    params = {**job.parameters, "status_file": str(status_file)}
    if job.wants_output_dir:  # side files (e.g. Evidently's HTML) are published with the report
        side.mkdir(parents=True, exist_ok=True)
        params["output_dir"] = str(side)
    t0 = time.monotonic()
    tm = config.TimeoutParams(**(job.timeouts or {}))
    cell_s, deadline_s = tm.seconds("cell"), tm.seconds("notebook")
    begun = time.monotonic()
    deadline = begun + deadline_s

    running = {"first_line": ""}

    def cell_timeout(cell) -> int:  # each cell gets its own limit, never more than what is left of the notebook's
        lines = cell.source.strip().splitlines()
        running["first_line"] = lines[0] if lines else ""
        return max(1, int(min(cell_s, deadline - time.monotonic())))

    secrets = secrets_from_env()
    km = None
    oom_before = kernel_exit.oom_kills()
    try:
        if job.reuse_kernel:
            km = kernels.kernel_for(job.env, job.cwd)
        else:  # papermill starts it; held here so a dead kernel's exit status can be read (kernel_exit)
            from jupyter_client.manager import AsyncKernelManager

            km = AsyncKernelManager(kernel_name="python3")
        with _kernel_env({} if job.reuse_kernel else job.env):  # a reused kernel gets the job's env in its session
            papermill.execute_notebook(job.input_path, str(out_nb), parameters=params, kernel_name="python3",
                                       cwd=job.cwd, progress_bar=False, log_output=False, report_mode=False,
                                       execution_timeout=int(cell_s), timeout_func=cell_timeout, km=km)
    except PapermillExecutionError as exc:
        result.problems = [f"{exc.ename}: {exc.evalue}"]
    except TimeoutError:  # nbclient's CellTimeoutError
        result.problems = [_timeout_problem(running["first_line"], cell_s, deadline_s, time.monotonic() - begun)]
    except Exception as exc:  # noqa: BLE001 - kernel death: the report must still say what happened
        result.problems = [f"{type(exc).__name__}: {exc}"]
    if result.problems and km is not None:  # a dead kernel: its death is the cause, not a timeout or "Kernel died"
        where = f' in the cell starting "{running["first_line"][:80]}"' if running["first_line"] else ""
        died = kernel_exit.describe(kernel_exit.returncode(km), oom_before, kernel_exit.oom_kills(), where)
        if died:
            result.problems = [died]
    if result.problems and job.reuse_kernel:
        kernels.discard()  # whatever went wrong stays with this notebook: the next one gets a new kernel
    elif km is not None and not job.reuse_kernel:
        _shutdown(km)
    result.profile["execute"] = round(time.monotonic() - t0, 3)
    try:
        from workbench import timing

        result.profile["kernel_start"], result.profile["cells"] = timing.cell_profile(out_nb)
    except Exception:  # noqa: BLE001 - a profile is a nicety, never a reason to fail a report
        pass
    if not result.problems:
        try:
            st = json.loads(status_file.read_text())
        except (OSError, ValueError):
            st = {"complete": False, "problems": [{"section": "notebook", "problem": "did not record its status (no ctx.finish)"}]}
        result.problems = [f"{p['section']}: {p['problem']}" for p in st.get("problems", [])]
        result.problems = [display_paths(p, job.parameters.get("params_dir", "")) for p in result.problems]
        result.status = "ok" if st.get("complete") else "incomplete"
        result.level = st.get("level") or ("ok" if result.status == "ok" else "not computed")
        result.findings = st.get("findings") or []
        result.headline = st.get("headline") or {}
        result.profile["timed"] = st.get("timings", [])
        title = f"{job.notebook} — {job.model} — {period.name}"
        t1 = time.monotonic()
        body = scrub(export_html(out_nb, title), secrets)
        result.profile["export"] = round(time.monotonic() - t1, 3)
        t1 = time.monotonic()
        sides = {f.name: scrub(f.read_text(encoding="utf-8", errors="replace"), secrets)
                 for f in (sorted(side.glob("*")) if side.exists() else []) if f.is_file()}
        visible = [n for n, t in [("the report", body), *sides.items()] if leaks(t, secrets)]
        if visible:  # only when redaction could not hide it
            result.status = "failed"
            result.problems.append(f"{', '.join(visible)} still showed a password after redaction; not published")
        else:
            if result.status == "incomplete":
                final = final.with_suffix(".incomplete.html")
            write_text_atomic(final, body)
            if result.status == "ok":
                final.with_suffix(".incomplete.html").unlink(missing_ok=True)
                for name, text in sides.items():
                    write_text_atomic(under(final.parent, name), text)
            failed.unlink(missing_ok=True)  # a later good run: the old partial notebook is stale
            result.html = str(final.relative_to(period.resolve()))
            findings_file = under(final.parent, f"{review_name(job.notebook)}.findings.json")
            result.findings_file = str(findings_file.relative_to(period.resolve()))
            _write_findings(result, period, secrets)
            outputs = st.get("outputs") or {}
            if outputs.get("mlflow_log"):  # logged by the runner, which holds an MLflow client (_log_to_mlflow)
                result.mlflow_log = outputs["mlflow_log"]
            run_id = outputs.get("mlflow_run_id")
            if run_id:  # a kernel that logged itself: attach the report to its run
                problem = _attach_to_mlflow(job.parameters.get("source", "auto"), run_id, final, job.timeouts)
                if problem:
                    result.problems.append(problem)
            result.profile["publish"] = round(time.monotonic() - t1, 3)
    if result.status == "failed":
        _keep_partial(out_nb, failed, period, result, secrets)
        result.mlflow_log = {}  # nothing published: nothing to record in MLflow either


def _keep_partial(out_nb: Path, failed: Path, period: Path, result: JobResult, secrets: list[str]) -> None:
    """Keep the partly executed notebook under failed/ (scrubbed), unless it is empty or unreadable."""
    try:
        text = out_nb.read_text(encoding="utf-8") if out_nb.exists() else ""
        kept = scrub_notebook(text, secrets) if text.strip() else ""
    except (OSError, ValueError):
        kept = ""
    if not kept:
        failed.unlink(missing_ok=True)  # never link an older run's notebook as this run's
        result.problems.append("no partial notebook: papermill wrote none (or an empty one)")
        return
    if leaks(kept, secrets):
        result.problems.append("the partial notebook is withheld: it still showed a password after redaction")
        return
    write_text_atomic(failed, kept)
    result.ipynb = str(failed.relative_to(period.resolve()))


def _attach_to_mlflow(source: str, run_id: str, html_file: Path, timeouts: dict | None = None) -> str:
    """Attach the exported report to the MLflow run the notebook logged; a problem text, or ''."""
    from workbench import results_log
    from workbench.context import resolve_connections
    from workbench.errors import WorkbenchError

    uri = ""
    try:
        uri = resolve_connections(source).mlflow_uri or ""
        if uri:
            results_log.attach_report_to(uri, run_id, html_file, config.TimeoutParams(**(timeouts or {})))
        return ""
    except (WorkbenchError, OSError) as exc:
        return f"attaching the report to MLflow run {run_id} failed: {exc}"


def findings_document(result: JobResult, period: str) -> dict:
    """`<review>.findings.json`: the review's level and findings (schema in workbench.findings)."""
    from workbench.findings import SCHEMA_VERSION

    return {"schema": SCHEMA_VERSION, "review": result.review, "model": result.model, "period": period,
            "status": result.status, "level": result.level, "findings": result.findings,
            "headline": result.headline, "not_computed": result.problems}


def _write_findings(result: JobResult, period: Path, secrets: list[str]) -> None:
    """The review's findings file (findings_document), redacted, at its result.findings_file."""
    write_text_atomic(period / result.findings_file, scrub(json.dumps(findings_document(result, period.name),
                                                                      indent=2, default=float), secrets))


@dataclass
class ReportRun:
    period: str
    directory: Path
    results: list[JobResult]
    weekly: config.WeeklyParams | None = None  # the run's weekly params, as loaded once (--notify, incidents:)

    @property
    def ok(self) -> bool:
        """Every report complete; a review skipped because its source is not configured is not an error."""
        return all(r.status in ("ok", "skipped") for r in self.results)


def resolve_parameter(value: str):
    """A `-p NAME=VALUE` value typed the way papermill's own CLI types it: True/False/None, int,
    float, else the text."""
    from papermill.cli import _resolve_type

    return _resolve_type(value)


def _notebooks_dir(files: config.ParamsFiles) -> Path:
    """The notebooks beside the params folder, else the ones this workbench ships (package or checkout)."""
    from workbench.resources import packaged_notebooks

    beside = files.project / "notebooks"
    return beside if beside.is_dir() else packaged_notebooks()


def plan(params_path: Path, week: str | None, out_dir: Path, source: str = "auto", models: list[str] | None = None,
         notebooks_dir: Path | None = None, extra: dict | None = None,
         reviews: list[str] | None = None, partial: bool = False, connections: config.Connections | None = None,
         now: "dt.datetime | None" = None, weekly: config.WeeklyParams | None = None) -> tuple[config.Window, list[Job]]:
    """Validate everything and list the jobs, before anything runs.

    `params_path` is the params folder or its weekly file; every params file is resolved once here and
    the notebooks get the absolute folder (`params_dir`). `reviews` (names such as "drift", see
    `review_name`) runs only those of the configured notebooks. `extra` (`-p`) goes to the notebooks
    that declare each name. With `connections`, a review whose source is not configured is planned as
    skipped (`Job.skip`), not run. `weekly`: the weekly file's params when the caller (the runner)
    has loaded them already.
    """
    from workbench.check import no_reference
    from workbench.sources.connections import missing_for, not_configured

    files = config.params_files(params_path)
    weekly = weekly or config.load_weekly(files.weekly)
    known = [review_name(nb) for nb in weekly.notebooks]
    for r in reviews or []:
        if r not in known:
            raise ConfigError(f"unknown review {r!r}; {files.weekly} configures: {', '.join(known)}")
    owned = sorted(set(extra or {}) & set(RUNNER_PARAMS))
    if owned:
        raise ConfigError(f"-p {', '.join(owned)}: set by the runner, not with -p "
                          "(use --week, --model, --source, --params, --out, --partial)")
    window = config.resolve_window(week, now, partial)
    nb_dir = notebooks_dir or _notebooks_dir(files)
    names = [m.name for m in weekly.models]
    for m in models or []:
        if m != SERVICE:
            weekly.model(m)
    chosen = models or names
    params_dir = str(files.directory if files.weekly.name == config.PARAMS_FILES["weekly"] else files.weekly)
    base = {"week": window.label, "source": source, "params_dir": params_dir}
    if window.partial:
        base["data_until"] = window.end.isoformat()
    selected = [nb for nb in weekly.notebooks if not reviews or review_name(nb) in reviews]
    declared_by: dict[str, set[str]] = {}
    for nb in selected:
        path = nb_dir / f"{nb}.ipynb"
        if not path.is_file():
            raise ConfigError(f"{files.weekly}: notebooks: {nb!r} not found in {nb_dir}")
        declared_by[nb] = declared_parameters(path)
    for name in extra or {}:
        if not any(name in d for d in declared_by.values()):
            raise ConfigError(f"-p {name}: no notebook of this run declares it "
                              f"({', '.join(f'{nb}.ipynb' for nb in selected)})")
    jobs = []
    period_dir = out_dir / window.label
    for nb in selected:
        path, declared = nb_dir / f"{nb}.ipynb", declared_by[nb]
        missing = sorted(set(base) - declared)
        if missing:
            raise ConfigError(f"{path.name} does not declare the runner's parameter(s) {', '.join(missing)} "
                              f"in its parameters cell; it declares: {', '.join(sorted(declared))}")
        given = {**base, **{k: v for k, v in (extra or {}).items() if k in declared}}
        lacking = missing_for(review_name(nb), connections) if connections is not None else []
        skip = "; ".join(not_configured(s) for s in lacking)
        if per_service(review_name(nb)):  # once for the service (model parameter "" = every model),
            # when it is among the chosen; its reports go to reports/<period>/service/
            targets = [(SERVICE, "")] if not models or SERVICE in models else []
        else:
            targets = [(m, m) for m in chosen if m != SERVICE]
        for m, param in targets:
            why = skip or (no_reference(weekly.model(m), connections) if review_name(nb) == "drift" else "")
            jobs.append(Job(nb, m, str(path), {**given, "model": param}, str(period_dir), str(nb_dir),
                            "output_dir" in declared, skip=why))
    return window, jobs


def run(params_path: str | Path, *args, **kwargs) -> ReportRun:
    """`_run` (below): its errors show paths relative to the folder holding the params folder, and every
    stream it and its processes write is redacted (logs.redacted_output)."""
    from workbench.errors import WorkbenchError
    from workbench.logs import redacted_output

    try:
        with redacted_output():  # whatever the runner, its workers, kernels and MLflow print: no password
            return _run(params_path, *args, **kwargs)
    except WorkbenchError as exc:
        try:
            params_dir = config.params_files(params_path).directory
        except WorkbenchError:
            params_dir = Path(params_path) if Path(params_path).is_dir() else Path(params_path).parent
        exc.args = (display_paths(str(exc), params_dir.absolute()),)
        raise


def _run(params_path: str | Path, week: str | None = None, out_dir: str | Path = "reports", source: str = "auto",
         models: list[str] | None = None, jobs: int = 2, notebooks_dir: Path | None = None,
         extra: dict | None = None, reviews: list[str] | None = None, index: bool = True,
         partial: bool = False, check: bool = True, fresh_kernels: bool = False) -> ReportRun:
    """Execute and export every (notebook × model), then write the indexes.

    `reviews` limits the run to those reviews; `index=False` leaves the index pages alone (a
    scheduler running one model and review per task writes them once at the end, `write_indexes`).
    `partial` allows the current, unfinished week (data until now). With `check`, the checks of
    `workbench check` run first and an error stops the run before any notebook starts. Each worker
    reuses one kernel for its notebooks, a fresh session each (workbench.kernels), unless `fresh_kernels`.
    """
    from workbench.sources.connections import resolve_connections

    _lighter_jsonschema()
    params_path, out = Path(params_path), Path(out_dir).resolve()
    writable_folder(out)  # before anything runs: a read-only folder is one line, not a traceback at the end
    conns = resolve_connections(source)  # fail fast, with one clear line, if no source is reachable
    # the params are parsed and validated once, here: the plan, the checks and (as JSON) the kernels get them
    files = config.params_files(params_path)
    weekly = config.load_weekly(files.weekly)
    conns = config.anchor_connections(conns, files.project)
    window, job_list = plan(params_path, week, out, source, models, notebooks_dir, extra, reviews, partial, conns,
                            weekly=weekly)
    timeouts = weekly.timeouts.model_dump()
    to_run = [j for j in job_list if not j.skip]
    wanting = _mlflow_jobs(conns, to_run)
    # one process holds the run's MLflow client: it fetches what the kernels would ask while the checks
    # run and the notebooks that need no MLflow start (on a core the runner leaves idle until then),
    # and later logs the performance metrics
    from workbench import proctree

    # processes this process already had (a test's or Airflow's servers, when run() is called in-process)
    # are not the run's: stopping the run's tree leaves them alone
    spared = proctree.direct_children()
    agent = ProcessPoolExecutor(max_workers=1) if wanting else None

    proctree.remove_stale(Path(tempfile.gettempdir()), "workbench-mlflow-*")  # left by a killed run
    answers_dir = proctree.claim(Path(tempfile.mkdtemp(prefix="workbench-mlflow-"))) if agent else None
    work_dir: Path | None = None
    started = time.time()  # a report written after this was written by this run (interrupted_result)
    period_dir = out / window.label
    results: list[JobResult] = []
    done: dict[int, JobResult] = {}
    interrupted: proctree.Interrupted | None = None
    try:
        with proctree.on_signals():  # SIGTERM/SIGINT: Interrupted here, and the whole tree is stopped below
            answers = (agent.submit(_fetch_answers, conns.mlflow_uri, sorted({j.model for j in wanting}),
                                    answers_dir, timeouts) if agent else None)
            if check:
                from workbench import check as checks

                # MLflow's lines are only warnings here (a review says itself what MLflow did not answer), so
                # they are left out: the runner's MLflow process above asks it.
                # The service is not a model of weekly.yaml: its review is checked with the run's reviews.
                models_checked = ([m for m in models if m != SERVICE] or models) if models else None
                result = checks.run_checks(params_path, conns, models_checked,
                                           {review_name(j.notebook) for j in to_run}, mlflow=False, weekly=weekly)
                if not result.ok:
                    raise ConfigError("workbench check found errors; nothing was run:\n" + result.errors_text())
            period_dir.mkdir(parents=True, exist_ok=True)
            proctree.remove_stale(period_dir, ".work-*")  # left by a run that was killed
            # one per run: runs never share it
            work_dir = proctree.claim(Path(tempfile.mkdtemp(prefix=".work-", dir=period_dir)))
            from workbench.kernels import reuse_enabled
            from workbench.sources.prometheus import RUN_STATE_ENV

            params_json = work_dir / "params.json"  # validated once, here (the checks loaded them): kernels read this
            write_text_atomic(params_json, config.params_json(files))
            for j in job_list:
                j.work_dir, j.timeouts, j.reuse_kernel = str(work_dir), timeouts, reuse_enabled(fresh_kernels)
                j.env[RUN_STATE_ENV] = str(work_dir)  # a source that timed out for one notebook is not asked by the next
                j.env[config.PARAMS_JSON_ENV] = str(params_json)
                if conns.demo:  # kernels start in the notebooks' folder: they use the demo stack found from here
                    j.env.setdefault(config.ENV_DEMO_DIR, str(_demo_dir()))
            log.info("running %d notebooks for %s", len(to_run), window.label, extra={"period": window.label})
            results = [JobResult(j.notebook, j.model, "skipped", problems=[j.skip], level="not configured")
                       for j in job_list if j.skip]
            for r in results:
                log.info("%s for %s: skipped (%s)", r.notebook, r.model, r.problems[0],
                         extra={"model_name": r.model, "notebook": r.notebook, "status": r.status})
            with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
                try:
                    _run_pool(pool, to_run, wanting, answers, done, out, conns, period_dir, timeouts, agent)
                except BaseException:  # interrupted: stop workers and kernels before the pool waits for them
                    _stop_tree(period_dir, spared)
                    raise
            results += [done[i] for i in range(len(to_run))]  # in plan order, whatever order they finished in
    except proctree.Interrupted as exc:  # record what was published, then exit 128 + signal
        interrupted = exc
        _stop_tree(period_dir, spared)
        if work_dir is None:  # nothing had started: nothing to record
            raise
        log.warning("interrupted by %s: every worker, kernel and the MLflow process stopped; "
                    "%d of %d notebooks had finished", exc.name, len(done), len(to_run))
        results += [done.get(i) or interrupted_result(j, period_dir, started, exc.name) for i, j in enumerate(to_run)]
    except BaseException:  # a check failed: do not wait for MLflow's answers
        procs = (getattr(agent, "_processes", None) or {}) if agent is not None else {}
        for proc in list(procs.values()):
            proc.terminate()
        raise
    finally:  # interrupted or not, no .work-* folder (nor the answers) is left behind
        if agent is not None:
            agent.shutdown(cancel_futures=True)
        for folder in (work_dir, answers_dir):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
    for r in results:
        r.partial = window.partial_note
    report = ReportRun(window.label, period_dir, results, weekly)  # its exit status: this run's jobs only
    with _status_lock(period_dir):  # parallel runs of one period (e.g. scheduler tasks) each add their results
        write_status(ReportRun(window.label, period_dir, _merge_previous(period_dir, results), weekly), window)
    if index:
        write_indexes(out, window.label)
    if interrupted is not None:
        raise interrupted
    return report


def interrupted_result(job: Job, period_dir: Path, started: float, signal_name: str) -> JobResult:
    """The result of a job the runner never heard back from: a worker can be stopped after it wrote its
    report but before it returned, so the status says whether this run wrote the report, not always
    "nothing published" (the page would then call a report that is there missing)."""
    for html in (under(period_dir, job.model, f"{job.notebook}.html"),
                 under(period_dir, job.model, f"{job.notebook}.incomplete.html")):
        if html.exists() and html.stat().st_mtime >= started:
            rel = str(html.relative_to(period_dir.resolve()))
            return JobResult(job.notebook, job.model, "failed", html=rel, problems=[
                f"interrupted by {signal_name} after its report {rel} was written, before its result was "
                "recorded: the report is published, its findings are not counted in this status"])
    return JobResult(job.notebook, job.model, "failed",
                     problems=[f"interrupted by {signal_name} before it finished: nothing published"])


def _run_pool(pool: ProcessPoolExecutor, to_run: list[Job], wanting: list[Job], answers, done: dict[int, JobResult],
              out: Path, conns: config.Connections, period_dir: Path, timeouts: dict,
              agent: ProcessPoolExecutor | None) -> None:
    """Run `to_run` in `pool` (the jobs asking MLflow once its answers are in), each result into `done`."""
    order = longest_first(to_run, _last_seconds(out))
    later = {id(j) for j in wanting}
    pending = {pool.submit(_run_job, to_run[i]): i for i in order if id(to_run[i]) not in later}
    if answers is not None:
        try:
            path = answers.result()
        except Exception as exc:  # noqa: BLE001 - a shortcut only: each kernel then asks MLflow itself
            log.info("each notebook asks MLflow itself: the runner's MLflow process failed: %s", exc)
            path = None
        _hand_answers(wanting, path)
        pending |= {pool.submit(_run_job, to_run[i]): i for i in order if id(to_run[i]) in later}
    for fut in as_completed(pending):
        r = done[pending[fut]] = fut.result()
        _log_to_mlflow(r, conns, period_dir, timeouts, agent)
        log.info("%s for %s: %s", r.notebook, r.model, r.status,
                 extra={"model_name": r.model, "notebook": r.notebook, "status": r.status, "seconds": r.seconds})
        for p in r.problems:
            log.warning("%s for %s: %s", r.notebook, r.model, p, extra={"model_name": r.model})


def _stop_tree(period_dir: Path, spared: frozenset[int] = frozenset()) -> None:
    """Stop every process this runner started (workers, their kernels, the MLflow process), not the
    `spared` children it had before, and remove the temporary files a killed worker left beside the
    reports (workbench.atomic's .NAME.PID.tmp)."""
    from workbench import atomic, proctree

    pids = proctree.terminate_tree(spare=spared)
    for pid in pids:
        for tmp in atomic.leftovers(period_dir, pid):
            tmp.unlink(missing_ok=True)


def _last_seconds(out: Path) -> dict[tuple[str, str], float]:
    """How long each (model, notebook) took in the newest period under `out` that has a status.json."""
    for status in sorted(out.glob("*/status.json"), reverse=True):
        try:
            return {(r["model"], r["notebook"]): float(r.get("seconds") or 0)
                    for r in json.loads(status.read_text())["results"] if r.get("status") != "skipped"}
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return {}


def longest_first(jobs: list[Job], last: dict[tuple[str, str], float]) -> list[int]:
    """The order to start `jobs` in (indexes): longest expected first, so the last job to finish is a
    short one and both workers stay busy to the end. Expected time is the job's time in the last run;
    a job never run before counts as long as the longest, so it is not the one left for last."""
    longest = max(last.values(), default=0.0)
    return sorted(range(len(jobs)), key=lambda i: -last.get((jobs[i].model, jobs[i].notebook), longest))


def _log_to_mlflow(result: JobResult, conns: config.Connections, period_dir: Path, timeouts: dict,
                   agent: ProcessPoolExecutor | None = None) -> None:
    """Log a performance kernel's metrics to the period's MLflow run and attach its published report,
    here in the runner (which opened MLflow for its checks) instead of in the kernel and the worker
    (importing MLflow and opening its store cost ~3 s in each). A failure is the report's problem:
    the run is incomplete and says why, the report itself stays published."""
    request, result.mlflow_log = result.mlflow_log, {}
    if not request or not conns.mlflow_uri:
        return
    from workbench import results_log
    from workbench.errors import WorkbenchError

    started = time.monotonic()
    html = (period_dir / result.html) if result.html else None
    args = (conns.mlflow_uri, request, html, config.TimeoutParams(**(timeouts or {})))
    try:  # in the run's MLflow process (`agent`), which already holds the client, else here
        agent.submit(results_log.log_request, *args).result() if agent else results_log.log_request(*args)
    except Exception as exc:  # noqa: BLE001 - a SourceUnavailable from MLflow, or the MLflow process died
        text = str(exc) if isinstance(exc, WorkbenchError) else f"the runner's MLflow process failed: {exc!r}"
        result.problems.append(f"MLflow logging: {scrub(text, secrets_from_env())}")
        if result.status == "ok":
            result.status = "incomplete"
        if result.findings_file:  # the review's findings file says so too
            _write_findings(result, period_dir, secrets_from_env())
    result.profile["mlflow_log"] = round(time.monotonic() - started, 3)


def _demo_dir() -> Path:
    """The demo stack this run resolved its sources from (the runner's folder, $WORKBENCH_DEMO_DIR)."""
    from workbench.demo.stack import demo_dir

    return demo_dir()


def _lighter_jsonschema() -> None:
    """nbformat validates with jsonschema, which imports rfc3987_syntax when it is installed (an
    extra that jupyter-events pulls in) and compiles ~40 Lark grammars for the IRI formats: ~1.5 s
    at the start of every run, for formats no notebook schema uses. Left out before jsonschema
    loads, it has no IRI format checker and nothing else changes."""
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: its import is an ImportError


def _mlflow_jobs(conns: config.Connections, jobs: list[Job]) -> list[Job]:
    """The jobs whose kernels ask MLflow (drift and performance of a model), when MLflow is configured."""
    from workbench.sources.connections import configured

    if not configured(conns, "mlflow"):
        return []
    return [j for j in jobs if uses(review_name(j.notebook), "mlflow") and j.model != SERVICE]


def _fetch_answers(tracking_uri: str, models: list[str], work_dir: Path, timeouts: dict) -> Path | None:
    """model_registry.fetch_answers for the run's models into its work folder (None: MLflow did not answer)."""
    from workbench.sources.model_registry import fetch_answers

    t = config.TimeoutParams(**(timeouts or {}))
    return fetch_answers(tracking_uri, models, work_dir / "mlflow-answers.json", t.seconds("mlflow_request"),
                         t.mlflow_retries)


def _hand_answers(jobs: list[Job], path: Path | None) -> None:
    """Give the kernels of `jobs` the answers file (when there is one), and tell performance kernels
    that the runner logs their metrics (_log_to_mlflow)."""
    from workbench.results_log import BY_RUNNER_ENV
    from workbench.sources.model_registry import ANSWERS_ENV

    for j in jobs:
        if path is not None:
            j.env[ANSWERS_ENV] = str(path)
        if review_name(j.notebook) == "performance":
            j.env[BY_RUNNER_ENV] = "1"


@contextlib.contextmanager
def _kernel_env(env: dict[str, str]):
    """`env` in os.environ while a kernel starts (it inherits it), restored afterwards."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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


def write_status(run_: ReportRun, window: config.Window | None = None) -> Path:
    """reports/<period>/status.json: every report's run status, level and findings, and the findings
    grouped into the window's incidents (workbench.incidents, with the run's `incidents` params;
    `window` defaults to the period's week)."""
    from workbench import incidents
    from workbench.findings import STATUS_SCHEMA_VERSION, result_level, worst

    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path = run_.directory / "status.json"
    window = window or config.iso_week(run_.period)
    results = [{k: v for k, v in asdict(r).items() if k != "mlflow_log"} for r in run_.results]
    write_text_atomic(path, json.dumps(
        {"schema": STATUS_SCHEMA_VERSION, "period": run_.period, "generated": generated, "ok": run_.ok,
         "level": worst(result_level(vars(r)) for r in run_.results), "results": results,
         "incidents": incidents.of_status({"results": results}, window.start, window.end,
                                          run_.weekly.incidents if run_.weekly else None)},
        indent=2, default=float))
    return path


def write_period_index(run_: ReportRun, window: config.Window) -> Path:
    """reports/<period>/index.html: the week page (workbench.weekpage), from the stored status.json."""
    from workbench import weekpage

    return weekpage.write_week(run_.directory.parent, window.label)


def write_root_index(out: Path) -> Path:
    """reports/index.html: every period with its levels and the headline numbers (workbench.weekpage)."""
    from workbench import weekpage

    return weekpage.write_root(out)
