"""`workbench init --table SCHEMA.TABLE`: inspect a prediction table and write a params folder to review.

The table is reflected with SQLAlchemy and a sample of rows read (read-only). From column names and
types it guesses the store mapping (id, model, version, variant, timestamp, prediction,
probability, outcome, outcome timestamp), finds a JSON feature column and its keys, types each
feature numeric or categorical with the reason (dtype, distinct count) and names the drift method
the automatic choice would use. Every guess is a commented line in the files it writes; what it
could not guess is listed at the top of weekly.yaml. Nothing is guessed silently.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench import config
from workbench.errors import ConfigError

SAMPLE_ROWS = 5000

# candidate column names per mapped column, most specific first
CANDIDATES = {
    "id": ("prediction_id", "request_id", "id", "uuid", "event_id"),
    "model": ("model_name", "model", "model_id"),
    "version": ("model_version", "version"),
    "variant": ("variant", "ab_variant", "experiment_variant", "arm", "treatment"),
    "timestamp": ("timestamp", "predicted_at", "prediction_time", "prediction_timestamp", "scored_at", "event_time",
                  "created_at", "ts", "time"),
    "prediction": ("prediction", "predicted_label", "predicted_class", "y_pred", "pred", "predicted", "output"),
    "probability": ("probability", "predicted_probability", "score", "proba", "prob", "y_prob", "confidence"),
    "outcome": ("actual_outcome", "outcome", "actual", "label", "y_true", "target", "ground_truth"),
    "outcome_timestamp": ("outcome_timestamp", "outcome_at", "labelled_at", "labeled_at", "label_time", "actual_at",
                          "resolved_at"),
}
OPTIONAL = {"variant", "probability", "outcome", "outcome_timestamp"}


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
    columns: dict[str, str | None]
    layout: str
    json_column: str | None
    features: list[FeatureGuess]
    models: list[str]
    model_type: str
    notes: dict[str, str] = field(default_factory=dict)  # mapped key -> why it was chosen
    unknown: list[str] = field(default_factory=list)  # what could not be guessed


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


def _pick(key: str, names: list[str], used: set[str]) -> str | None:
    lower = {n.lower(): n for n in names if n not in used}
    for cand in CANDIDATES[key]:
        if cand in lower:
            return lower[cand]
    return None


def inspect_table(database_url: str, table: str, reference: pd.DataFrame | None = None) -> TableGuess:
    """Reflect `table`, read a sample and guess the mapping, the features and their types."""
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
    names = list(t.c.keys())
    used: set[str] = set()
    cols: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    unknown: list[str] = []
    for key in CANDIDATES:
        col = _pick(key, names, used)
        if col is None and key == "timestamp":  # the first date-time column
            col = next((c.name for c in t.c if c.name not in used and isinstance(c.type, (sa.DateTime, sa.Date))), None)
        cols[key] = col
        if col:
            used.add(col)
            notes[key] = f"column {col!r} ({t.c[col].type})"
        elif key in OPTIONAL:
            notes[key] = "no such column found: null (the sections that need it are left out, each saying why)"
        else:
            unknown.append(f"store.columns.{key}: no column looks like it ({', '.join(CANDIDATES[key][:4])}, ...)")
    json_col = next((c.name for c in t.c if c.name not in used and _is_json_type(c)), None)
    if json_col is None:  # JSON stored as text
        for c in t.c:
            if c.name not in used and isinstance(c.type, sa.String) and c.name in sample:
                if _parsed_json(sample[c.name]) is not None:
                    json_col = c.name
                    break
    if json_col:
        frame = _parsed_json(sample[json_col]) if json_col in sample else None
        feats = frame if frame is not None else pd.DataFrame()
        layout = "json"
    else:
        feats = sample[[c for c in names if c not in used]] if len(sample) else pd.DataFrame(columns=[c for c in names if c not in used])
        layout = "columns"
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
    models = sorted(map(str, sample[cols["model"]].dropna().unique())) if cols["model"] and len(sample) else []
    if not models:
        unknown.append("models: no model names found in the sample")
    model_type = "classification"
    if cols["prediction"] and len(sample):
        pred = pd.to_numeric(sample[cols["prediction"]], errors="coerce").dropna()
        if len(pred) and (pred.nunique() > 20 or not (pred == pred.round()).all()):
            model_type = "regression"
    return TableGuess(schema, name, cols, layout, json_col, features, models, model_type, notes, unknown)


def _yaml_value(v) -> str:
    return "null" if v is None else json.dumps(v)


def render_weekly(g: TableGuess, reference: str | None, models: list[str]) -> str:
    """weekly.yaml with every guess commented."""
    lines = ["# Written by `workbench init` from the table and a sample of its rows: review every line.",
             "# Connections are not here: WORKBENCH_DATABASE_URL (required for drift and performance),",
             "# WORKBENCH_PROMETHEUS_URL (infrastructure review) and MLFLOW_TRACKING_URI (optional).", "#"]
    if g.unknown:
        lines.append("# Could not guess (fix these before `workbench check`):")
        lines += [f"#   - {u}" for u in g.unknown]
    else:
        lines.append("# Everything below was guessed; nothing was left unknown.")
    lines += ["", "timezone: UTC", "", "models:"]
    for m in models or ["CHANGE-ME"]:
        lines.append(f"  - name: {_yaml_value(m)}")
        lines.append(f"    type: {g.model_type}          # from the prediction column's values "
                     f"({'whole numbers, few distinct' if g.model_type == 'classification' else 'many distinct values'})")
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
    for m in models or ["CHANGE-ME"]:
        lines += [f"    {_yaml_value(m)}:", "      features:"]
        for f in g.features:
            entry = f"type: {f.kind}" if typed else ""
            lines.append(f"        {_yaml_value(f.name)}: {{{entry}}}    # {f.kind}: {f.reason}; auto method: {f.method}")
    return "\n".join(lines) + "\n"


def init(table: str, out: str | Path, model: list[str] | None = None, database_url: str | None = None,
         reference: str | None = None, force: bool = False) -> list[Path]:
    """Inspect `table` (database from `database_url` or WORKBENCH_DATABASE_URL) and write weekly.yaml and
    monitoring.yaml into `out` for review. Refuses to overwrite existing files unless `force`."""
    url = database_url or os.environ.get(config.ENV_DATABASE, "").strip()
    if not url:
        raise ConfigError(f"set {config.ENV_DATABASE} to the prediction database (init reads the table from it)")
    out = Path(out)
    targets = [out / config.PARAMS_FILES["weekly"], out / config.PARAMS_FILES["monitoring"]]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} exist: choose another --out or pass --force")
    ref = None
    if reference:
        from workbench.sources.model_registry import load_reference_file

        ref_path = Path(reference)
        ref = load_reference_file(ref_path if ref_path.is_absolute() else out.resolve().parent / ref_path)
    g = inspect_table(url, table, ref)
    models = model or g.models
    out.mkdir(parents=True, exist_ok=True)
    targets[0].write_text(render_weekly(g, reference, models))
    targets[1].write_text(render_monitoring(g, models))
    # what was written must load: a guess that does not validate is a bug here, not the user's problem
    config.load_weekly(targets[0])
    config.load_monitoring(targets[1])
    return targets
