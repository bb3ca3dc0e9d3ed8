"""The `workbench` command: thin wrappers that parse, call the package and print."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from workbench.errors import WorkbenchError

log = logging.getLogger("workbench.cli")


def _params(pairs: list[str]) -> dict:
    """`-p NAME=VALUE` pairs, each value typed as papermill's own CLI types it (0 -> int, True -> bool)."""
    from workbench.report import resolve_parameter

    out = {}
    for p in pairs:
        if "=" not in p:
            raise WorkbenchError(f"parameter {p!r} is not NAME=VALUE")
        k, v = p.split("=", 1)
        out[k.strip()] = resolve_parameter(v)
    return out


def cmd_report(a: argparse.Namespace) -> int:
    from workbench import report

    reviews = [r.strip() for r in a.reviews.split(",") if r.strip()] if a.reviews else None
    run = report.run(a.params, a.week, a.out, a.source, a.model or None, a.jobs, extra=_params(a.parameter),
                     reviews=reviews, partial=a.partial, fresh_kernels=a.fresh_kernels)
    print(f"reports: {run.directory / 'index.html'}")
    if run.results and run.results[0].partial:
        print(f"  {run.results[0].partial}")
    for r in run.results:
        where = r.html or r.ipynb or ("; ".join(r.problems) if r.status == "skipped" else "")
        print(f"  {r.status:10s} {r.level:12s} {r.model:20s} {r.notebook:28s} {where}")
    if a.profile:
        from workbench import timing

        print("\nwhere the time went:")
        print(timing.format_profile(run.results))
    code = 0 if run.ok else 1
    if a.notify:  # after the reports are written: a failed notification never loses them
        from workbench import config, notify

        sent = notify.notify(a.out, run.period, run.weekly or config.load_weekly(config.params_files(a.params).weekly))
        for channel in sent.sent:
            print(f"notified: {channel}")
        for p in sent.problems:
            print(f"notification failed: {p}", file=sys.stderr)
        if not sent.ok and code == 0:
            code = NOTIFY_FAILED
    return code


NOTIFY_FAILED = 4  # exit code: every report is complete, but a notification could not be delivered


def cmd_check(a: argparse.Namespace) -> int:
    from workbench import check
    from workbench.sources.connections import resolve_connections

    conns = None
    try:
        conns = resolve_connections(a.source)
    except WorkbenchError as exc:
        print(f"[FAIL] sources: {exc}")
        return 1
    result = check.run_checks(a.params, conns, a.model or None, unreachable=check.ERROR)
    print(result.text())
    errors = sum(i.status == check.ERROR for i in result.items)
    warnings = sum(i.status == check.WARNING for i in result.items)
    print(f"{'All checks passed' if result.ok else f'{errors} error(s)'}"
          f"{f', {warnings} warning(s)' if warnings else ''}.")
    return 0 if result.ok else 1


def cmd_init(a: argparse.Namespace) -> int:
    from workbench import init

    written = init.init(a.table, a.out, model=a.model, database_url=None, reference=a.reference,
                        force=a.force, directory=a.dir if a.dir is not None or a.out is not None else Path("."),
                        copy_notebooks=a.notebooks)
    print(f"wrote {', '.join(str(p) for p in written)}")
    if a.out is not None:
        print(f"review them (every guess is commented), then run: workbench check --params {a.out}")
    else:
        cd = f"cd {a.dir} && " if a.dir not in (None, Path(".")) else ""
        print(f"review params/weekly.yaml and params/monitoring.yaml (every guess is commented), then run: "
              f"{cd}workbench check && workbench report")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from workbench.demo import stack

    if a.action == "up":
        c = stack.up(a.dir, seed=a.seed, weekly_volume=a.weekly_volume, port=a.port, models=a.models)
        print(f"demo stack up: Prometheus {c.prometheus_url}, prediction DB {c.database_url}, MLflow {c.mlflow_uri}")
        if a.models:
            print(f"fleet of {a.models} models: workbench report --params {stack.DemoPaths(stack.demo_dir(a.dir)).params_dir / 'weekly.yaml'}")
    elif a.action == "down":
        print("demo Prometheus stopped" if stack.down(a.dir) else "demo Prometheus was not running")
    else:
        st = stack.status(a.dir)
        print(json.dumps(st, indent=2, default=str))
        return 0 if st["prometheus"] else 1
    return 0


def cmd_health(a: argparse.Namespace) -> int:
    from workbench.infrastructure import health
    from workbench.sources.connections import resolve_connections

    from workbench import config

    extra = {}
    if a.params.exists():
        extra = config.load_weekly(a.params).health.extra_urls
    from workbench.sources.model_registry import bound_http

    bound_http(a.timeout, 0)  # before anything imports or calls MLflow: its retries would take minutes
    result = health.check(resolve_connections(a.source), extra, timeout=a.timeout)
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Overall Health: {'healthy' if result['overall_healthy'] else 'UNHEALTHY'}")
        for name, s in result["services"].items():
            extra = f"{s['response_time']}s" if "response_time" in s else s.get("error", "")
            print(f"  {name}: {s['status']} {extra}")
    return 0 if result["overall_healthy"] else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="Weekly ML monitoring reviews.")
    p.add_argument("--log-format", choices=["auto", "json", "text"], default="auto",
                   help="json: one JSON object per line (default when stderr is not a terminal)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("report", help="run the review notebooks and export HTML reports")
    r.add_argument("--params", type=Path, default=Path("params"),
                   help="the params folder, or its weekly file (the other params files are its siblings)")
    r.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last full week)")
    r.add_argument("--out", type=Path, default=Path("reports"))
    r.add_argument("--source", choices=["auto", "demo", "env"], default="auto")
    r.add_argument("--model", action="append", help="only this model (repeatable)")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel")
    r.add_argument("--reviews", help="only these reviews, comma-separated (e.g. drift,performance)")
    r.add_argument("--partial", action="store_true",
                   help="allow the current, unfinished week: data until now, every report says so")
    r.add_argument("--fresh-kernels", action="store_true",
                   help="a new kernel for every notebook (default: each worker reuses one, a fresh session per notebook)")
    r.add_argument("--profile", action="store_true",
                   help="print where the time went per notebook (kernel start, cells, source queries, export)")
    r.add_argument("--notify", action="store_true",
                   help="send the week's verdict to WORKBENCH_SLACK_WEBHOOK_URL and/or by e-mail "
                        "(WORKBENCH_SMTP_URL, recipients in params notify.email); exit 4 if that fails")
    r.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="extra notebook parameter, typed like papermill's -p; goes to the notebooks that declare it")
    r.set_defaults(func=cmd_report)

    c = sub.add_parser("check", help="validate params, tables, reference and sources before a run")
    c.add_argument("--params", type=Path, default=Path("params"), help="the params folder, or its weekly file")
    c.add_argument("--source", choices=["auto", "demo", "env"], default="auto")
    c.add_argument("--model", action="append", help="only this model (repeatable)")
    c.set_defaults(func=cmd_check)

    i = sub.add_parser("init", help="inspect a prediction table and write a commented params folder")
    i.add_argument("--table", default=None, help="SCHEMA.TABLE or TABLE (database from WORKBENCH_DATABASE_URL); "
                   "a Parquet lake URL (duckdb+parquet://, spark+parquet://) needs none: its folder is the table")
    i.add_argument("--dir", type=Path, default=None,
                   help="the working folder to create, as `dbt init` does: params/ (from the table, plus the "
                        "default infrastructure queries), README.md (default: the current folder)")
    i.add_argument("--out", type=Path, default=None, help="only the params folder to write (weekly.yaml, monitoring.yaml)")
    i.add_argument("--notebooks", action="store_true",
                   help="with --dir: copy the review notebooks there to change them (default: the shipped ones are used)")
    i.add_argument("--model", action="append", help="only this model (default: every model in the table)")
    i.add_argument("--reference", help="the reference (training) data, .parquet or .csv, for every model")
    i.add_argument("--force", action="store_true", help="overwrite existing files")
    i.set_defaults(func=cmd_init)

    d = sub.add_parser("demo", help="the built-in demo stack")
    d.add_argument("action", choices=["up", "down", "status"])
    d.add_argument("--dir", help="where the demo lives (default: $WORKBENCH_DEMO_DIR or data/demo)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--weekly-volume", type=int, default=None,
                   help="churn-predictor predictions per week (default 100,000); with --models the mean per model (default 5,000)")
    d.add_argument("--port", type=int, default=9090, help="preferred Prometheus port")
    d.add_argument("--models", type=int, default=None,
                   help="a generated fleet of N models (mixed types, feature sets, volumes, some in trouble) with "
                        "its own params in <dir>/params/; default: the two-model demo")
    d.set_defaults(func=cmd_demo)

    h = sub.add_parser("health", help="check Prometheus, the prediction DB and MLflow")
    h.add_argument("--source", choices=["auto", "demo", "env"], default="auto")
    h.add_argument("--json", action="store_true")
    h.add_argument("--params", type=Path, default=Path("params/weekly.yaml"), help="for health.extra_urls")
    h.add_argument("--timeout", type=float, default=10.0)
    h.set_defaults(func=cmd_health)
    return p


def main(argv: list[str] | None = None) -> int:
    from workbench import logs

    args = build_parser().parse_args(argv)
    logs.setup(args.log_format)
    try:
        return args.func(args)
    except WorkbenchError as exc:
        from workbench.report import scrub

        if logs.is_json():  # one JSON line for machines
            log.error(scrub(str(exc)))
        else:  # one readable line for people (the text log handler would repeat it)
            print(f"error: {scrub(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
