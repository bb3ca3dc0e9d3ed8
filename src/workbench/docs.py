"""Generate docs/configuration.md from the pydantic schemas in config.py, so the reference cannot go stale.

`python -m workbench.docs` rewrites docs/configuration.md; `--check` exits 1 when the committed file differs.
Descriptions are the comments beside (or just above) each field in config.py, and each class's docstring.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import io
import json
import sys
import tokenize
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import annotated_types as at
from pydantic import BaseModel, RootModel
from pydantic_core import PydanticUndefined

from workbench import config

# (file, schema, what it holds) in the order a newcomer meets them
FILES: list[tuple[str, type[BaseModel], str]] = [
    ("params/weekly.yaml", config.WeeklyParams,
     "the models, the notebooks to run, thresholds, timeouts, and how the prediction log is laid out"),
    ("params/monitoring.yaml", config.MonitoringParams,
     "drift detection: methods, thresholds, effect floors and features per model"),
    ("params/queries.yaml", config.QueryCatalog,
     "every PromQL query outside the SLO and alert files: headline numbers, panels, named queries"),
    ("params/slos.yaml", config.SLOParams, "the SLOs as good/total PromQL and the multiwindow burn alerts"),
    ("params/alerts.yaml", config.AlertRules, "Prometheus alert rules, replayed by the infrastructure review"),
    ("params/baselines.yaml", config.Baselines, "optional: training metrics for teams without MLflow"),
]
OUT = Path("docs/configuration.md")


def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment beside it or on the lines just above it, from the class's source."""
    src = inspect.getsource(cls)
    lines = src.splitlines()
    by_line: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            by_line[tok.start[0]] = tok.string.lstrip("#").strip()
    out: dict[str, str] = {}
    for node in ast.parse(src).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above, n = [], node.lineno - 1
        while n >= 1 and n in by_line and lines[n - 1].strip().startswith("#"):
            above.insert(0, by_line[n])
            n -= 1
        beside = [by_line[k] for k in range(node.lineno, (node.end_lineno or node.lineno) + 1) if k in by_line]
        text = " ".join(above + beside)
        if text:
            out[node.target.id] = text
    return out


def _type(ann: Any) -> str:
    """A YAML reader's name for a type annotation."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if ann is type(None):
        return "null"
    if origin is Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " \\| ".join(_type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map of {_type(args[0])} → {_type(args[1])}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"[{ann.__name__}](#{ann.__name__.lower()})"
    return {str: "text", int: "integer", float: "number", bool: "true/false"}.get(ann, str(ann))


def _nested(ann: Any) -> list[type[BaseModel]]:
    """The models an annotation refers to, for their own sections."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    return [m for a in typing.get_args(ann) for m in _nested(a)]


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return "**required**"
    if isinstance(value, BaseModel):
        return "(its defaults)"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


_BOUNDS = [(at.Ge, "ge", "≥"), (at.Gt, "gt", ">"), (at.Le, "le", "≤"), (at.Lt, "lt", "<"),
           (at.MinLen, "min_length", "length ≥"), (at.MaxLen, "max_length", "length ≤")]


def _limits(field: Any) -> str:
    out = []
    for meta in field.metadata:
        for kind, attr, sign in _BOUNDS:
            if isinstance(meta, kind):
                out.append(f"{sign} {getattr(meta, attr)}")
    return ", ".join(out)


def _section(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[str]:
    """One model's table, then the tables of the models it refers to (each once)."""
    seen.append(model)
    doc = inspect.getdoc(model) if model.__doc__ else ""
    out = [f"### {model.__name__}", ""]
    if doc:
        out += [" ".join(doc.split()), ""]
    if issubclass(model, RootModel):
        out += [f"A map: {_type(model.model_fields['root'].annotation)}.", ""]
        return out
    extra = "" if model.model_config.get("extra") == "forbid" else " Other keys are kept as they are."
    out += [f"Unknown keys are an error naming file and key.{extra}" if not extra else extra.strip(), ""]
    out += ["| key | type | default | limits | meaning |", "| --- | --- | --- | --- | --- |"]
    notes = _comments(model)
    later: list[type[BaseModel]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        meaning = notes.get(name, "").replace("|", "\\|")
        out.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_limits(field)} | {meaning} |")
        later += [m for m in _nested(field.annotation) if m not in seen and m not in later]
    out.append("")
    for m in later:
        if m not in seen:
            out += _section(m, seen)
    return out


def configuration_markdown() -> str:
    """The whole configuration reference, generated from config.py's schemas."""
    out = ["# Configuration reference", "",
           "<!-- generated by `python -m workbench.docs` from src/workbench/config.py: do not edit by hand -->", "",
           "Every params file is validated on load; a bad or unknown key is an error naming the file and the key.",
           "Durations are written like `30s`, `5m`, `28d`. Connections and secrets are environment variables, "
           "never params:", "",
           "| variable | source |", "| --- | --- |"]
    for const in ("ENV_PROMETHEUS", "ENV_DATABASE", "ENV_MLFLOW", "ENV_DEMO_DIR", "ENV_SLACK_WEBHOOK", "ENV_SMTP"):
        out.append(f"| `{getattr(config, const)}` | `config.{const}` |")
    out.append("")
    seen: list[type[BaseModel]] = []
    for path, model, what in FILES:
        out += [f"## `{path}`", "", f"{what[0].upper()}{what[1:]}. Schema: `config.{model.__name__}`.", ""]
        out += _section(model, seen)
    out += ["## Named queries (`queries:` in `params/queries.yaml`)", "",
            "The code looks these up by name; each may use only the placeholders listed.", "",
            "| name | placeholders |", "| --- | --- |"]
    for name, allowed in config.CATALOG_QUERIES.items():
        out.append(f"| `{name}` | {', '.join('`$' + p + '`' for p in sorted(allowed)) or '—'} |")
    out += ["", "Placeholders in `summary:` and `panels:`: "
            + ", ".join(f"`${p}`" for p in sorted(config.PANEL_PLACEHOLDERS)) + ".", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write docs/configuration.md (or with --check, exit 1 when it differs from the schemas)."""
    ap = argparse.ArgumentParser(prog="python -m workbench.docs", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="where to write (default: docs/configuration.md)")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file differs instead of writing it")
    args = ap.parse_args(argv)
    text = configuration_markdown()
    if args.check:
        same = args.out.is_file() and args.out.read_text() == text
        print(f"{args.out}: {'up to date' if same else 'stale: run python -m workbench.docs'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
