"""`workbench init --table SCHEMA.TABLE`: inspect a prediction table and write a params folder to review.

The table is reflected with SQLAlchemy and a sample of rows read (read-only); a lake URL's Parquet
layout (duckdb+parquet://, spark+parquet://) is read by pyarrow, with no engine started. From column names and
types it guesses the store mapping (id, model, version, variant, timestamp, prediction,
probability, outcome, outcome timestamp), finds a JSON feature column and its keys, types each
feature numeric or categorical with the reason (dtype, distinct count) and names the drift method
the automatic choice would use. Columns mapped to a role and date-time columns are never features.
Every guess is a commented line in the files it writes; what it could not guess, and each mapping
key left null, is listed at the top of weekly.yaml. Nothing is guessed silently.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench import config, mapping_guess
from workbench.errors import ConfigError

SAMPLE_ROWS = 5000

from workbench.mapping_guess import CANDIDATES, OPTIONAL  # noqa: F401 (re-exported)


@dataclass
class FeatureGuess:
    name: str
    kind: str  # numeric | categorical
    reason: str
    method: str


@dataclass
class TableGuess:
    """What `init` found in the table, and what it could not decide."""

    schema: str | None
    table: str
    columns: dict[str, str | dict | None]  # a column name, {"constant": value} (model, version) or None
    layout: str
    json_column: str | None
    features: list[FeatureGuess]
    models: list[str]
    model_type: str
    notes: dict[str, str] = field(default_factory=dict)  # mapped key -> why it was chosen
    unknown: list[str] = field(default_factory=list)  # what could not be guessed
    type_reason: str = ""  # why model_type
    left_out: dict[str, str] = field(default_factory=dict)  # column or JSON key -> why it is not a drift feature


def _split(table: str) -> tuple[str | None, str]:
    parts = table.split(".")
    if len(parts) == 1:
        return None, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ConfigError(f"--table {table!r}: use TABLE or SCHEMA.TABLE")


def _is_json_type(col) -> bool:
    return type(col.type).__name__.upper() in ("JSON", "JSONB")


def _parsed_json(values: pd.Series) -> pd.DataFrame | None:
    """The sample of a column as a frame of its JSON keys, or None when it does not hold JSON objects."""
    rows = []
    for v in values.dropna().head(SAMPLE_ROWS):
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                return None
        if not isinstance(v, dict):
            return None
        rows.append(v)
    return pd.DataFrame(rows) if rows else None


def type_feature(values: pd.Series, n_reference: int | None = None) -> FeatureGuess:
    """Numeric or categorical by the drift review's own rule (`profile.infer_kind`: dtype, distinct
    count, whole-number codes), with the reason, and the method the automatic choice would use."""
    from workbench.drift import methods as drift_methods
    from workbench.drift.profile import infer_kind

    v = values.dropna()
    if len(v) == 0:
        kind, reason = "numeric", "no values in the sample: assumed numeric, check it"
    else:
        if v.dtype == object:  # JSON values: numbers stay numbers, text stays text
            num = pd.to_numeric(v, errors="coerce")
            v = num if num.notna().all() else v.astype(str)
        kind, reason = infer_kind(v)
        reason = f"{reason} ({v.dtype}, {v.nunique()} distinct in the sample)"
    return FeatureGuess(str(values.name), kind, reason, drift_methods.choose_method(kind == "categorical"))


def _sql_kind(col) -> str:
    """What a column's SQL type says: time, number, json or text (values decide further)."""
    import sqlalchemy as sa

    if _is_json_type(col):
        return "json"
    if isinstance(col.type, (sa.DateTime, sa.Date)):
        return "time"
    if isinstance(col.type, (sa.Integer, sa.Float, sa.Numeric)) and not isinstance(col.type, sa.Boolean):
        return "number"
    return "text"


@dataclass
class _Described:
    """A table as init sees it: each column's kind by its declared type (time, number, json, text) and
    a sample of rows."""

    kinds: dict[str, str]
    sample: pd.DataFrame


LAKE_SCHEMES = ("duckdb", "spark")  # sources/registry.py schemes that read the Parquet layout


def _describe_sql(database_url: str, table: str) -> _Described:
    """Reflect `table` through SQLAlchemy (read-only) and read its first SAMPLE_ROWS rows."""
    import sqlalchemy as sa

    from workbench.sources.store import read_only_engine

    schema, name = _split(table)
    engine = read_only_engine(database_url)
    try:
        try:
            t = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=engine)
        except sa.exc.NoSuchTableError:
            raise ConfigError(f"table {table!r} not found in the prediction DB at {config.redact(database_url)}") from None
        with engine.connect() as conn:
            sample = pd.DataFrame(conn.execute(sa.select(t).limit(SAMPLE_ROWS)).mappings().all())
    finally:
        engine.dispose()
    return _Described({c.name: _sql_kind(c) for c in t.c}, sample)


def lake_path(url: str) -> str:
    """The dataset folder of a lake URL (duckdb+parquet:///root, spark+parquet:///root or
    spark+parquet+s3a://bucket/prefix), as pyarrow opens it."""
    from workbench.sources.registry import scheme

    if scheme(url) == "duckdb":
        from workbench.sources.store_duckdb import root_of

        return str(root_of(url))
    from workbench.sources.store_spark import parse_url

    path = parse_url(url)[0]
    return "s3://" + path[len("s3a://"):] if path.startswith("s3a://") else path  # Hadoop's name for S3


def _arrow_kind(t) -> str:
    import pyarrow.types as pt

    if pt.is_timestamp(t) or pt.is_date(t):
        return "time"
    if pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t):
        return "number"
    return "text"


def _describe_lake(url: str) -> _Described:
    """The Parquet layout of a lake URL (parquet_layout: day=YYYY-MM-DD/*.parquet) read by pyarrow:
    the files' schema without the `day` partition and their first SAMPLE_ROWS rows. No engine is
    started: DuckDB and Spark read the same files, so init does not need a Spark cluster."""
    import pyarrow.dataset as ds

    from workbench.sources.parquet_layout import DAY

    path = lake_path(url)
    try:
        data = ds.dataset(path, format="parquet", partitioning="hive")
        files = data.files
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the Parquet prediction log at {config.redact(path)}: "
                          f"{type(exc).__name__}: {config.redact(str(exc)).splitlines()[0] if str(exc) else ''}") from None
    if not files:
        raise ConfigError(f"no Parquet files under {config.redact(path)} (the layout is {DAY}=YYYY-MM-DD/*.parquet)")
    names = [f.name for f in data.schema if f.name != DAY]
    sample = data.head(SAMPLE_ROWS, columns=names).to_pandas()
    return _Described({f.name: _arrow_kind(f.type) for f in data.schema if f.name != DAY}, sample)


def inspect_table(database_url: str, table: str, reference: pd.DataFrame | None = None,
                  model: str | None = None) -> TableGuess:
    """Reflect `table` (or read a lake URL's Parquet files: `table` is then only its name), read a
    sample and guess the mapping (mapping_guess: names, then values), the features and their types.
    `model` names the model of a table without a model column."""
    from workbench.sources.registry import scheme

    lake = scheme(database_url) in LAKE_SCHEMES
    described = _describe_lake(database_url) if lake else _describe_sql(database_url, table)
    schema, name = (None, table) if lake else _split(table)
    kinds, sample = described.kinds, described.sample
    json_col = next((c for c, k in kinds.items() if k == "json"), None)
    text_json = None  # a text column of JSON objects the lake sources cannot read as features
    if json_col is None:  # JSON stored as text
        json_col = next((c for c, k in kinds.items()
                         if k == "text" and c in sample and _parsed_json(sample[c]) is not None), None)
        if lake and json_col is not None:  # the lake sources read feature columns only (layout: columns)
            kinds = {c: k for c, k in kinds.items() if c != json_col}
            text_json, json_col = json_col, None
    profiles = [mapping_guess.profile(c, sample[c] if c in sample else pd.Series([], dtype=object), k)
                for c, k in kinds.items() if c != json_col]
    mg = mapping_guess.guess(profiles, name, model)
    cols, notes, unknown = mg.columns, mg.notes, list(mg.unknown)
    used = {v for v in cols.values() if isinstance(v, str)}
    left_out = {c: "an outcome candidate (store.columns.outcome)" for c in mg.ambiguous.get("outcome", [])}
    if text_json is not None:
        left_out[text_json] = ("JSON objects as text: the Parquet sources read feature columns only "
                               "(store.features.layout: columns); write its keys as columns to monitor them")
    if json_col:
        frame = _parsed_json(sample[json_col]) if json_col in sample else None
        feats = frame if frame is not None else pd.DataFrame()
        layout = "json"
    else:
        left_out |= {p.name: "date-times" for p in profiles if p.kind == "time" and p.name not in used}
        rest = [c for c in kinds if c not in used and c not in left_out]
        feats = sample[rest] if len(sample) else pd.DataFrame(columns=rest)
        layout = "columns"
    for f in list(feats.columns):  # date-times held as text or JSON values: never a drift feature either
        if f not in left_out and mapping_guess.profile(str(f), feats[f], "text").kind == "time":
            left_out[str(f)] = "date-times"
    for f in list(feats.columns):  # one value in every sampled row (and the reference): nothing can drift
        seen = feats[f].dropna()
        if reference is not None and f in reference:
            seen = pd.concat([seen.astype(object), reference[f].dropna().astype(object)], ignore_index=True)
        if f not in left_out and len(seen) and seen.astype(str).nunique() == 1:
            left_out[str(f)] = (f"constant {str(seen.iloc[0])[:40]!r} in the {len(feats):,} rows sampled; "
                                "add it to the features if it can vary")
    feats = feats[[f for f in feats.columns if f not in left_out]]
    n_ref = len(reference) if reference is not None else None
    features = []
    for f in feats.columns:
        values = reference[f] if reference is not None and f in reference else feats[f]
        g = type_feature(values.rename(f), n_ref)
        if reference is not None and f not in reference:
            g.reason += " (not in the reference: drift cannot compare it)"
        features.append(g)
    if not features:
        unknown.append("features: no feature columns or JSON keys found")
    if isinstance(cols["model"], dict):
        models = [cols["model"]["constant"]]
    else:
        models = sorted(map(str, sample[cols["model"]].dropna().unique())) if cols["model"] and len(sample) else []
    if not models:
        unknown.append("models: no model names found in the sample")
    return TableGuess(schema, name, cols, layout, json_col, features, models, mg.model_type, notes, unknown,
                      mg.type_reason, left_out)


def _yaml_value(v) -> str:
    return "null" if v is None else json.dumps(v)


# what a null optional mapping key asks of the user, and what is left out without it
FILL_IN = {
    "variant": "the column naming the A/B variant of each prediction (without it: no A/B section)",
    "probability": "the column holding the predicted probability (without it: no ROC AUC, calibration or CBPE)",
    "outcome": "the column holding the true outcome, null until it arrives (without it: no performance metrics)",
    "outcome_timestamp": "the column holding when the outcome arrived (without it: no label delay)",
}


def render_weekly(g: TableGuess, reference: str | None, models: list[str]) -> str:
    """weekly.yaml with every guess commented."""
    lines = ["# Written by `workbench init` from the table and a sample of its rows: review every line.",
             "# Connections are not here: WORKBENCH_DATABASE_URL (required for drift and performance),",
             "# WORKBENCH_PROMETHEUS_URL (infrastructure review) and MLFLOW_TRACKING_URI (optional).", "#"]
    if g.unknown:
        lines.append("# Could not guess (fix these before `workbench check`):")
        lines += [f"#   - {u}" for u in g.unknown]
    nulls = [k for k, v in g.columns.items() if v is None and k in OPTIONAL
             and not (k == "probability" and g.model_type == "regression")]  # a regression model has none
    if nulls:
        lines.append("# Left unknown (null): name the column if your table has one, else leave it null:")
        why = {k: g.notes[k] if g.notes.get(k, "").startswith("left null") else "no column looked like it" for k in nulls}
        lines += [f"#   - store.columns.{k}: {FILL_IN[k]}; {why[k]}" for k in nulls]
    if not g.unknown and not nulls:
        lines.append("# Everything below was guessed; nothing was left unknown.")
    elif not g.unknown:
        lines.append("# Everything else below was guessed.")
    lines += ["", "timezone: UTC", "", "models:"]
    for m in models or ["CHANGE-ME"]:
        lines.append(f"  - name: {_yaml_value(m)}")
        lines.append(f"    type: {g.model_type}          # {g.type_reason}")
        if g.model_type == "classification":
            lines.append("    positive_class: 1")
        if reference:
            lines.append(f"    reference: {_yaml_value(reference)}   # training data, relative to the folder holding this params folder")
        else:
            lines.append("    reference: null   # set a .parquet/.csv of the training data (or register it in MLflow)")
    lines += ["", "performance:",
              "  min_samples: 10",
              "  # log the window's metrics to MLflow: only when MLFLOW_TRACKING_URI is set",
              "  log_to_mlflow: true",
              "", "store:", f"  table: {_yaml_value(g.table)}", f"  schema: {_yaml_value(g.schema)}", "  columns:"]
    for key, col in g.columns.items():
        if col is None and key not in OPTIONAL:  # required: a visible placeholder `workbench check` names
            lines.append(f"    {key}: \"CHANGE-ME\"    # could not guess: name the column that holds it")
        else:
            lines.append(f"    {key}: {_yaml_value(col)}    # {g.notes.get(key, 'not found')}")
    lines += ["  features:", f"    layout: {g.layout}",
              f"    json_column: {_yaml_value(g.json_column)}" + ("    # holds the feature keys below" if g.json_column else "")]
    return "\n".join(lines) + "\n"


def render_monitoring(g: TableGuess, models: list[str]) -> str:
    """monitoring.yaml listing every feature with its type, the reason and the automatic method."""
    typed = "type" in config.FeatureDrift.model_fields
    lines = ["# Written by `workbench init`: one entry per feature found "
             + (f"in the JSON column {g.json_column!r}" if g.json_column else "among the table's columns") + ".",
             "# Each feature is typed numeric or categorical (reason after #); `method` is what the automatic",
             "# choice would use (numeric: ks, categorical: chi2, each with its effect floor: README, \"How drift",
             "# is decided\"). Delete a feature or set `enabled: false` to leave it out.",
             "drift_detection:", "  enabled: true", "  models:"]
    lines[4:4] = [f"# Not drift features: {c!r} ({why})." for c, why in g.left_out.items()]
    for m in models or ["CHANGE-ME"]:
        lines += [f"    {_yaml_value(m)}:", "      features:"]
        for f in g.features:
            entry = f"type: {f.kind}" if typed else ""
            lines.append(f"        {_yaml_value(f.name)}: {{{entry}}}    # {f.kind}: {f.reason}; auto method: {f.method}")
    return "\n".join(lines) + "\n"


README_STUB = """# Model monitoring: {table}

Written by `workbench init --table {table}`. Weekly drift, performance and infrastructure reviews of
the predictions in `{table}`, run by workbench (`workbench --help`).

- `params/weekly.yaml`: the models, how the table is laid out (`store:`), thresholds. Every guess
  `init` made is commented with its reason: read them.
- `params/monitoring.yaml`: the features and how drift is decided for each.
- `params/queries.yaml`, `slos.yaml`, `alerts.yaml`: the infrastructure review's PromQL (defaults;
  edit the metric names to yours when you set `WORKBENCH_PROMETHEUS_URL`).
- notebooks: {notebooks}

Connections are environment variables, never files here: `WORKBENCH_DATABASE_URL` (a relative
SQLite path is read from this folder), `WORKBENCH_PROMETHEUS_URL`, `MLFLOW_TRACKING_URI`.

```bash
workbench check                 # one line per item, with the fix; exit 1 on any error
workbench report                # the last full week -> reports/<week>/index.html
```
"""


def sa_url_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for other databases."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return Path(u.database) if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") else None


def _reference_entry(reference: str, project: Path) -> tuple[Path, str]:
    """The reference file to read and the path to write in weekly.yaml (relative to `project`, where
    relative `reference:` paths are read). A relative path is taken from the current folder, else
    from the project folder."""
    given = Path(reference).expanduser()
    if given.is_absolute():
        return given, str(given)
    here = (Path.cwd() / given).resolve()
    path = here if here.exists() or not (project / given).exists() else (project / given).resolve()
    try:
        return path, path.relative_to(project.resolve()).as_posix()
    except ValueError:  # outside the project folder: written absolute
        return path, str(path)


def init(table: str | None, out: str | Path | None = None, model: list[str] | None = None, database_url: str | None = None,
         reference: str | None = None, force: bool = False, directory: str | Path | None = None,
         copy_notebooks: bool = False) -> list[Path]:
    """Inspect `table` (database from `database_url` or WORKBENCH_DATABASE_URL) and write a params folder
    for review: `out` (a params folder) or `directory` (a working folder, as `dbt init`: params/ with
    weekly.yaml and monitoring.yaml from the table and the shipped defaults for the infrastructure
    review, a README.md, and with `copy_notebooks` the review notebooks; without them the runner uses
    the ones workbench ships). Refuses to overwrite existing files unless `force`."""
    from workbench.resources import default_params, packaged_notebooks

    from workbench.sources.registry import scheme

    url = database_url or os.environ.get(config.ENV_DATABASE, "").strip()
    if not url:
        raise ConfigError(f"set {config.ENV_DATABASE} to the prediction database (init reads the table from it)")
    if not table:  # a lake URL names its dataset: its folder is the table
        if scheme(url) not in LAKE_SCHEMES:
            raise ConfigError("--table: name the prediction table (TABLE or SCHEMA.TABLE) in the database at "
                              f"{config.redact(url)}")
        table = Path(lake_path(url).rstrip("/")).name or "predictions"
    if out is not None and directory is not None:
        raise ConfigError("give --dir (a working folder) or --out (a params folder), not both")
    project = Path(directory) if directory is not None else (Path(out).parent if out is not None else Path("."))
    out = Path(out) if out is not None else project / "params"
    url = config.anchor_sqlite(url, project)  # as check and report will read it: from the working folder
    db = sa_url_file(url)
    if db is not None and not db.is_file():
        raise ConfigError(f"{config.ENV_DATABASE}: no SQLite file {db} (a relative path is read from the "
                          f"working folder {project.resolve()}, as check and report will read it)")
    targets = [out / config.PARAMS_FILES["weekly"], out / config.PARAMS_FILES["monitoring"]]
    extra: list[tuple[Path, Path]] = []
    if directory is not None:
        extra = [(default_params() / config.PARAMS_FILES[k], out / config.PARAMS_FILES[k])
                 for k in ("queries", "slos", "alerts")]
        if copy_notebooks:
            extra += [(nb, project / "notebooks" / nb.name) for nb in sorted(packaged_notebooks().glob("*.ipynb"))]
        extra.append((Path(), project / "README.md"))
    existing = [str(p) for p in [*targets, *(dest for _, dest in extra)] if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} exist: choose another --dir (or --out) or pass --force")
    ref, ref_entry = None, None
    if reference:
        from workbench.sources.model_registry import load_reference_file

        ref_path, ref_entry = _reference_entry(reference, project)
        ref = load_reference_file(ref_path)
    if model and len(model) > 1:
        g = inspect_table(url, table, ref)
    else:
        g = inspect_table(url, table, ref, model[0] if model else None)
    models = model or g.models
    out.mkdir(parents=True, exist_ok=True)
    targets[0].write_text(render_weekly(g, ref_entry, models))
    targets[1].write_text(render_monitoring(g, models))
    for source, dest in extra:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.name == "README.md":
            where = ("notebooks/ (copied here: the runner uses these)" if copy_notebooks else
                     f"none here: the runner uses the ones workbench ships ({packaged_notebooks()}); "
                     "`workbench init ... --notebooks` copies them here to change them")
            dest.write_text(README_STUB.format(table=table, notebooks=where))
        else:
            shutil.copyfile(source, dest)
    # what was written must load: a guess that does not validate is a bug here, not the user's problem
    config.load_weekly(targets[0])
    config.load_monitoring(targets[1])
    return targets + [dest for _, dest in extra]
