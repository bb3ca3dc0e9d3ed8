"""`workbench init`'s guess of the store mapping from column names AND values, each guess with its reason.

Names come first (`request_id` is the id); where no name fits, the sampled values decide: a column
unique per row is the id, a float column within [0, 1] is a probability, a 0/1 or few-valued column
beside it is the prediction, float predictions make a regression model, a text column with few values
named like a model or a version is that. The outcome is the column with the most evidence (an outcome's
name such as `defaulted`, a word like truth or label, 0/1 values with missing ones); a tie is left
null and named, never settled by column order. A table without a model or version column gets a constant (a single-model
table). Nothing is guessed silently: every key gets a reason, every failure a line in `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

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
    "outcome": ("actual_outcome", "outcome", "actual", "label", "y_true", "target", "ground_truth", "defaulted",
                "default", "is_default", "churned", "is_churn", "is_fraud", "fraud", "converted"),
    "outcome_timestamp": ("outcome_timestamp", "outcome_at", "outcome_time", "labelled_at", "labeled_at", "label_time",
                          "label_at", "label_received_at", "label_timestamp", "actual_at", "resolved_at", "truth_at"),
}
OPTIONAL = {"variant", "probability", "outcome", "outcome_timestamp"}
SMALL_CLASSES = 20  # at most this many distinct values: classes, not a measurement
UNVERSIONED = "unversioned"
# words in a column name (split at _ - . and case changes) that say what it holds
VERSION_WORDS = {"version", "ver", "rev", "revision", "release"}
MODEL_WORDS = {"model", "scorecard"}
ID_WORDS = {"id", "uuid", "guid", "key"}
OUTCOME_WORDS = {"truth", "true", "actual", "label", "labelled", "labeled", "outcome", "target", "observed",
                 "ground", "resolved", "defaulted", "churned", "fraud", "converted"}
PREDICTION_WORDS = {"pred", "prediction", "predicted", "decision", "yhat", "hat", "forecast", "estimate",
                    "estimated", "output", "class"}
# text that is a date-time: a full date with - or / (2026-11-23, 2026/11/23 08:00); a calendar version
# (2026.10.1) or a bare year is text, though pandas reads both as dates
DATE_TEXT = re.compile(r"\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}(?!\d)")


def words(name: str) -> set[str]:
    """The words of a column name: `model_rev` -> {model, rev}, `pYes` -> {p, yes}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


@dataclass
class Profile:
    """What the sample says about one column."""

    name: str
    kind: str  # time | number | text | json
    n: int  # non-missing values in the sample
    rows: int  # sampled rows
    distinct: int
    whole: bool = False  # numbers: every value a whole number
    unit: bool = False  # numbers: every value within [0, 1]

    @property
    def missing(self) -> int:
        return self.rows - self.n

    @property
    def few(self) -> bool:
        """Classes: few distinct values that are text, or whole numbers."""
        return 0 < self.distinct <= SMALL_CLASSES and (self.kind == "text" or (self.kind == "number" and self.whole))

    @property
    def binary_with_missing(self) -> bool:
        """0/1 values with some missing: the shape of an outcome that has not arrived for every row."""
        return self.kind == "number" and self.whole and self.unit and self.distinct == 2 and self.missing > 0

    @property
    def unique_per_row(self) -> bool:
        return self.rows > 1 and self.n == self.rows and self.distinct == self.rows

    def describe(self) -> str:
        what = {"time": "date-times", "json": "JSON", "text": "text"}.get(self.kind) or (
            "whole numbers" if self.whole else "numbers" + (" within [0, 1]" if self.unit else ""))
        miss = f", {self.missing} missing" if self.missing else ""
        return f"{what}, {self.distinct} distinct in {self.rows} sampled rows{miss}"


def profile(name: str, values: pd.Series, sql_kind: str) -> Profile:
    """Profile one sampled column; `sql_kind` is what its SQL type says (time, number, json, text)."""
    v = values.dropna()
    kind = sql_kind
    if kind == "text" and len(v):
        num = pd.to_numeric(v, errors="coerce")
        if num.notna().all() and not v.map(lambda x: isinstance(x, bool)).any():
            kind, v = "number", num
        elif v.map(lambda x: isinstance(x, str) and DATE_TEXT.match(x) is not None).all() and pd.to_datetime(
                v, errors="coerce", utc=True, format="ISO8601").notna().all():
            kind = "time"
    elif kind == "number" and len(v):
        v = pd.to_numeric(v, errors="coerce").dropna()
    try:
        distinct = int(v.nunique())
    except TypeError:  # unhashable values (parsed JSON)
        distinct = int(v.astype(str).nunique())
    p = Profile(name, kind, int(len(v)), int(len(values)), distinct)
    if kind == "number" and len(v):
        p.whole = bool((v == v.round()).all())
        p.unit = bool(((v >= 0) & (v <= 1)).all())
    return p


@dataclass
class MappingGuess:
    columns: dict[str, str | dict | None]  # key -> column name, {"constant": value}, or None
    notes: dict[str, str] = field(default_factory=dict)  # key -> why
    unknown: list[str] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # key -> columns that tied for it (left null)
    model_type: str = "classification"
    type_reason: str = "no prediction column: assumed classification, check it"


def guess(profiles: list[Profile], table: str, model: str | None = None) -> MappingGuess:
    """The store mapping of a table whose sampled columns are `profiles` (the JSON feature column left
    out). `model` names the model of a single-model table (default: the table's name)."""
    free = {p.name: p for p in profiles}
    cols: dict[str, str | dict | None] = {}
    notes: dict[str, str] = {}

    def take(key: str, p: Profile, why: str) -> None:
        cols[key] = p.name
        notes[key] = f"column {p.name!r}: {why} ({p.describe()})"
        free.pop(p.name, None)

    def by_name(key: str, ok=lambda p: True) -> bool:
        lower = {n.lower(): p for n, p in free.items()}
        for cand in CANDIDATES[key]:
            if cand in lower and ok(lower[cand]):
                take(key, lower[cand], "its name")
                return True
        return False

    def first(pred, key: str, why: str) -> bool:
        p = next((p for p in free.values() if pred(p)), None)
        if p is not None:
            take(key, p, why)
        return p is not None

    # times: the prediction's, then the outcome's
    times = lambda p: p.kind == "time"  # noqa: E731
    by_name("timestamp", times) or first(lambda p: times(p) and not words(p.name) & OUTCOME_WORDS, "timestamp",
                                         "the first date-time column not named like an outcome's")
    # the id: named like one, else unique per row (not a time, a fraction or JSON)
    id_like = lambda p: p.unique_per_row and p.kind in ("text", "number") and (p.kind == "text" or p.whole)  # noqa: E731
    by_name("id") or first(lambda p: id_like(p) and words(p.name) & ID_WORDS, "id", "unique per row, named like an id") \
        or first(id_like, "id", "unique per row")
    # version before model: `model_rev` is a version, `model_key` a model
    few_text = lambda p: p.kind in ("text", "number") and 0 < p.distinct <= SMALL_CLASSES and not p.unique_per_row  # noqa: E731
    by_name("version") or first(lambda p: few_text(p) and words(p.name) & VERSION_WORDS, "version",
                                f"few values ({SMALL_CLASSES} or fewer), named like a version")
    by_name("model") or first(lambda p: few_text(p) and words(p.name) & MODEL_WORDS, "model",
                              f"few values ({SMALL_CLASSES} or fewer), named like a model")
    by_name("variant")
    # the outcome by its name (then 0/1 values with missing ones among equally named); a tie is left null
    tied = _outcome_by_evidence(free, take, named=True)
    by_name("prediction")
    by_name("probability", lambda p: p.kind == "number")
    if "probability" not in cols:
        first(lambda p: p.kind == "number" and p.unit and not p.whole and p.distinct > 2, "probability",
              "fractions within [0, 1]")
    if "prediction" not in cols:
        first(lambda p: p.kind in ("number", "text") and words(p.name) & PREDICTION_WORDS, "prediction",
              "named like a prediction (pred, decision, forecast, output)")
    kinds = lambda: [p for p in free.values() if p.few or (p.kind == "number" and not p.whole)]  # noqa: E731
    if "prediction" not in cols and "outcome" not in cols and not tied and len(kinds()) == 2:
        # the only two columns of classes or measurements: the outcome arrives later, so it has missing values
        a, b = sorted(kinds(), key=lambda p: p.missing)
        if b.missing > a.missing:
            take("prediction", a, "no missing values, beside a column that has them (the outcome)")
            take("outcome", b, "missing values where the outcome has not arrived yet")
    if "prediction" not in cols:
        if "probability" in cols:  # 0/1 decisions first: a few-valued text column may be a segment or a model name
            first(lambda p: p.few and p.kind == "number" and p.unit and not p.binary_with_missing, "prediction",
                  "0/1 values beside the probability") or \
                first(lambda p: p.few and not p.binary_with_missing, "prediction",
                      "a few-valued column beside the probability")
        elif len(kinds()) == 1:
            take("prediction", kinds()[0], "the only column of classes or measurements")
    pred = next((p for p in profiles if p.name == cols.get("prediction")), None)
    if "outcome" not in cols and not tied and (pred is None or pred.few):  # unnamed: 0/1 with missing values
        tied = _outcome_by_evidence(free, take, named=False)
    if "outcome" not in cols and not tied and pred is not None:
        same = [p for p in free.values() if (p.few if pred.few else (p.kind == "number" and not p.whole))]
        if len(same) == 1:
            take("outcome", same[0], f"the only other column of {'classes' if pred.few else 'measurements'}")
    # the outcome's time: named like one, else the remaining date-time column
    by_name("outcome_timestamp", times) or (cols.get("outcome") and first(
        lambda p: times(p) and (p.name.lower().startswith(str(cols["outcome"]).lower()) or words(p.name) & OUTCOME_WORDS),
        "outcome_timestamp", f"a date-time named like the outcome {cols['outcome']!r}"))
    other_times = [p for p in free.values() if times(p)]
    if "outcome_timestamp" not in cols and cols.get("outcome") and len(other_times) == 1:
        take("outcome_timestamp", other_times[0], "the only other date-time column, beside the outcome")

    g = MappingGuess(cols, notes)
    if tied:
        g.ambiguous["outcome"] = tied
        notes["outcome"] = (f"left null: {', '.join(map(repr, tied))} are equally likely outcomes; "
                            "name the one that holds the true outcome")
    if pred is not None:
        if pred.kind == "number" and (not pred.whole or pred.distinct > SMALL_CLASSES):
            g.model_type = "regression"
            g.type_reason = f"the prediction {pred.name!r} holds measurements ({pred.describe()})"
            if cols.get("probability"):
                notes["probability"] = f"{notes['probability']}; dropped: a regression model has no probability"
                cols["probability"] = None
        else:
            g.model_type = "classification"
            g.type_reason = f"the prediction {pred.name!r} holds classes ({pred.describe()})"
    # a single-model table: constants instead of the missing model and version columns
    if not cols.get("model"):
        name = model or re.sub(r"[^A-Za-z0-9._-]+", "-", table).strip("-._") or "my-model"
        cols["model"] = {"constant": name}
        notes["model"] = (f"no model column: a single-model table, every row is model {name!r}"
                          f" ({'--model' if model else 'the table name'}; rename it here and in models:)")
    if not cols.get("version"):
        cols["version"] = {"constant": UNVERSIONED}
        notes["version"] = f"no version column: every row is version {UNVERSIONED!r} (set your version here)"
    for key in CANDIDATES:
        if key not in cols:
            cols[key] = None
            if key in OPTIONAL and key in notes:  # already says why (a tie)
                pass
            elif key in OPTIONAL:
                notes[key] = "no such column found: null (the sections that need it are left out, each saying why)"
            else:
                g.unknown.append(f"store.columns.{key}: no column looks like it ({', '.join(CANDIDATES[key][:4])}, ...)")
    g.columns = {k: cols[k] for k in CANDIDATES}
    return g


def _outcome_by_evidence(free: dict[str, Profile], take, named: bool) -> list[str]:
    """Take the outcome from the free columns by evidence. `named`: a known outcome name beats a word of
    the name that says outcome (truth, label), and among equally named columns 0/1 values with some
    missing (outcomes not arrived yet) decide; else the unnamed 0/1 columns with missing values. Columns
    named like a prediction are never candidates. When several share the best evidence it takes nothing
    and returns them: a feature is never made the outcome by column order."""
    scored = []
    for p in free.values():
        if p.kind not in ("number", "text") or (p.unique_per_row and p.kind == "text") or words(p.name) & PREDICTION_WORDS:
            continue
        why, score = [], 0
        if p.name.lower() in CANDIDATES["outcome"]:
            score, why = 20, ["its name"]
        elif words(p.name) & OUTCOME_WORDS:
            score, why = 10, ["named like an outcome (truth, actual, label, target, defaulted)"]
        if (score > 0) != named:
            continue
        if p.binary_with_missing:
            score += 1
            why.append("0/1 values, missing values where the outcome has not arrived yet")
        if score:
            scored.append((score, p, why))
    if not scored:
        return []
    best = max(s for s, _, _ in scored)
    top = [(p, why) for s, p, why in scored if s == best]
    if len(top) > 1:
        return [p.name for p, _ in top]
    take("outcome", top[0][0], "; ".join(top[0][1]))
    return []
