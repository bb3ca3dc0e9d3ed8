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
    out = {}
    for p in pairs:
        if "=" not in p:
            raise WorkbenchError(f"parameter {p!r} is not NAME=VALUE")
        k, v = p.split("=", 1)
        out[k] = v
    return out


def cmd_report(a: argparse.Namespace) -> int:
    from workbench import report

    run = report.run(a.params, a.week, a.out, a.source, a.model or None, a.jobs, extra=_params(a.parameter),
                     reviews=a.review or None)
    print(f"reports: {run.directory / 'index.html'}")
    for r in run.results:
        print(f"  {r.status:10s} {r.model:20s} {r.notebook:28s} {r.html or r.ipynb}")
    if a.profile:
        from workbench import timing

        print("\nwhere the time went:")
        print(timing.format_profile(run.results))
    return 0 if run.ok else 1


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
    from workbench import health
    from workbench.context import resolve_connections

    from workbench import config

    extra = {}
    if a.params.exists():
        extra = config.load_weekly(a.params).health.extra_urls
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
    r.add_argument("--params", type=Path, default=Path("params/weekly.yaml"))
    r.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last full week)")
    r.add_argument("--out", type=Path, default=Path("reports"))
    r.add_argument("--source", choices=["auto", "demo", "env"], default="auto")
    r.add_argument("--model", action="append", help="only this model (repeatable)")
    r.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel")
    r.add_argument("--review", action="append", help="only this review: drift, performance, infrastructure (repeatable)")
    r.add_argument("--profile", action="store_true",
                   help="print where the time went per notebook (kernel start, cells, source queries, export)")
    r.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="extra notebook parameter (must be declared by every notebook)")
    r.set_defaults(func=cmd_report)

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
        log.error(str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
