"""Evidently side by side: its DataDriftPreset on a sample of the same data with the same methods,
saved as its own HTML file (it inlines ~5 MB of JavaScript, so it is linked, never embedded)
and compared per feature with ours.

Its HTML is published beside our report, so nothing from the data may run there as script: text
values and names are neutralised before they reach Evidently (the characters < > & " ' ` become
look-alikes), and the JSON it embeds in a <script> block is rewritten with <, > and & escaped
(\\u003c ...), so a value can never close the script. A text or mixed-type column is cast to the
type our review used, or left out of the comparison with a note; the comparison is never
required for a report to publish (a failure is one "could not compute" line).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.drift.core import DriftReport
from workbench.errors import WorkbenchError
from workbench.result import TableResult

if TYPE_CHECKING:
    from workbench.context import ReviewContext

from workbench.drift import methods as dm  # noqa: E402  (Evidently's names and test kinds: the registry)
# characters that make markup, as harmless look-alikes (the values stay readable in Evidently's charts)
_NEUTRAL = str.maketrans({"<": "‹", ">": "›", "&": "＆", '"': "＂", "'": "ʼ", "`": "ʻ"})
_DATA_VAR_RE = re.compile(r"var metric_[0-9a-f]+ = ")


class EvidentlyFailed(WorkbenchError):
    """Evidently could not compare (our own review is unaffected)."""


def neutral(value: object) -> str:
    """`value` as text with markup characters replaced by look-alikes."""
    return str(value).translate(_NEUTRAL)


def _canonical(v: object) -> object:
    """A category as text, the same for 1, 1.0 and "1" (missing stays missing)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        v = int(v)
    return neutral(v)


def _sample(s: pd.Series, size: int, seed: int) -> pd.Series:
    if len(s) <= size:
        return s.reset_index(drop=True)
    idx = np.sort(np.random.default_rng(seed).choice(len(s), size, replace=False))
    return s.iloc[idx].reset_index(drop=True)


def prepare(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict[str, str]
            ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], list[str]]:
    """Both samples typed the way our review typed each feature, names and values neutralised.

    Returns (reference, current, {original name: neutral name}, notes on what was cast or left out).
    """
    r_out, c_out, names, notes = {}, {}, {}, []
    for f, kind in kinds.items():
        name = neutral(f)
        if name != str(f):
            notes.append(f"{f!r}: shown as {name!r} in Evidently's report (markup characters replaced)")
        r, c = ref[f], cur[f]
        if kind == "numeric":
            rn, cn = pd.to_numeric(r, errors="coerce"), pd.to_numeric(c, errors="coerce")
            lost = int((rn.isna() & r.notna()).sum() + (cn.isna() & c.notna()).sum())
            if lost:
                bad = next((v for v in pd.concat([r[rn.isna() & r.notna()], c[cn.isna() & c.notna()]])), None)
                notes.append(f"{f!r}: left out of Evidently's comparison: {lost} text value(s) in a numeric "
                             f"feature (e.g. {neutral(bad)[:40]!r})")
                continue
            if r.dtype == object or c.dtype == object:
                notes.append(f"{f!r}: text column cast to numbers for Evidently")
            r_out[name], c_out[name] = rn.astype(float), cn.astype(float)
        else:
            r_out[name] = r.map(_canonical).astype(object)
            c_out[name] = c.map(_canonical).astype(object)
        names[f] = name
    return pd.DataFrame(r_out), pd.DataFrame(c_out), names, notes


def escape_embedded_json(page: str) -> str:
    """Evidently's HTML with the JSON data it embeds in <script> re-serialised so <, > and & (and the
    line separators U+2028/9) are \\u escapes: no value can end the script block or open a tag."""
    out, pos = [], 0
    decoder = json.JSONDecoder()
    for m in _DATA_VAR_RE.finditer(page):
        if m.start() < pos:
            continue
        try:
            data, end = decoder.raw_decode(page, m.end())
        except ValueError:
            continue
        text = json.dumps(data, ensure_ascii=False)
        for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
            text = text.replace(a, b)
        out += [page[pos:m.end()], text]
        pos = end
    out.append(page[pos:])
    return "".join(out)


def not_run(ctx: "ReviewContext", sample_size) -> str:
    """One HTML line saying why Evidently's comparison is not in this report and how to turn it on."""
    from workbench.pages import render_snippet

    off = not ctx.monitoring.drift_detection.evidently
    why = "off" if off else "no sample" if not sample_size else "not computed"
    return render_snippet("evidently_not_run", why, ctx.params_path("monitoring").name if off else "")


def run(ctx: "ReviewContext", ours: DriftReport, out_file: str | Path, sample_size: int = 20_000, seed: int = 0
        ) -> TableResult:
    """Run Evidently on up to `sample_size` rows a side, save its HTML, return the comparison table
    (its `notes` say which features were cast or left out)."""

    from workbench.sources.model_registry import load_reference_file

    sample_size = int(sample_size)
    if sample_size <= 0:  # switched off: nothing to compare, nothing to publish
        return TableResult(pd.DataFrame(columns=["feature", "our method", "evidently verdict"]),
                           notes=["Evidently's comparison is switched off (sample size 0)"])
    features = [r.feature for r in ours.results]
    if ctx.model.reference:
        reference = load_reference_file(ctx.root / ctx.model.reference)
    else:
        reference = ctx.registry.reference(ctx.model.name, ctx.serving_version())
    ref = pd.DataFrame({f: _sample(reference[f], sample_size, seed) for f in features})
    cur = pd.DataFrame({f: _sample(ctx.store.read_feature(ctx.model.name, ctx.window, f), sample_size, seed)
                        for f in features})
    return compare(ours, ref, cur, out_file)


def compare(ours: DriftReport, ref: pd.DataFrame, cur: pd.DataFrame, out_file: str | Path) -> TableResult:
    """Evidently on these samples with our methods and thresholds; its HTML saved (made safe) to `out_file`."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    kinds = {r.feature: r.kind for r in ours.results}
    ref_e, cur_e, names, notes = prepare(ref, cur, kinds)
    kept = [r for r in ours.results if r.feature in names and dm.METHODS[r.method].evidently]
    methods = {names[r.feature]: dm.METHODS[r.method].evidently for r in kept}
    thresholds = {names[r.feature]: r.threshold for r in kept}
    theirs = {}
    if kept:
        definition = DataDefinition(numerical_columns=[names[r.feature] for r in kept if r.kind == "numeric"],
                                    categorical_columns=[names[r.feature] for r in kept if r.kind != "numeric"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                snap = Report([DataDriftPreset(per_column_method=methods, per_column_threshold=thresholds)]).run(
                    Dataset.from_pandas(cur_e, data_definition=definition),
                    Dataset.from_pandas(ref_e, data_definition=definition))
                page = snap.get_html_str(as_iframe=False)
                metrics = snap.dict()["metrics"]
        except Exception as exc:  # noqa: BLE001 - Evidently's failure costs its comparison, never our review
            raise EvidentlyFailed(f"Evidently could not compare: {type(exc).__name__}: "
                                  f"{neutral(str(exc).splitlines()[0] if str(exc) else '')[:300]}") from exc
        out_file = Path(out_file)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(escape_embedded_json(page), encoding="utf-8")
        for m in metrics:
            cfg = m.get("config", {})
            if cfg.get("type", "").endswith("ValueDrift"):
                theirs[cfg["column"]] = (cfg["method"], float(m["value"]), float(cfg["threshold"]))
    rows = []
    for r in ours.results:
        method, value, thr = theirs.get(names.get(r.feature, ""), (None, float("nan"), float("nan")))
        drift = (value < thr) if method in {m.evidently for m in dm.METHODS.values() if m.is_test} else (value >= thr)
        ours_value = r.p_value if r.p_value is not None else r.statistic
        rows.append({"feature": r.feature, "our method": r.method, "our value": ours_value, "our verdict": r.status,
                     "evidently method": method, "evidently value": value,
                     "evidently verdict": ("drift" if drift else "no drift") if method else "left out",
                     "agree": (r.status == "drift") == bool(drift) if method else None})
    table = pd.DataFrame(rows)
    return TableResult(table, disagreement(ours, table, max(len(ref), len(cur))), notes=notes)


def disagreement(ours: DriftReport, table: pd.DataFrame, sample_size: int = 20_000) -> list:
    """One info finding saying why Evidently's verdict differs from ours (none when they agree)."""
    from workbench.findings import Finding, num

    if table.empty:
        return []
    results = {r.feature: r for r in ours.results}
    theirs = table[table["evidently verdict"] == "drift"]["feature"].tolist()
    compared = table[~table["evidently verdict"].isin(["missing", "left out"])]
    share = len(theirs) / max(len(compared), 1)
    their_dataset = share >= ours.drift_share_threshold
    differ = compared[compared["agree"].astype(object).eq(False)]
    if differ.empty and their_dataset == ours.dataset_drift:
        return []
    reasons = []
    for f in differ["feature"]:
        r = results[f]
        if "min_effect" in r.message:
            reasons.append(f"{f} is significant but its effect {num(r.effect_size)} is below min_effect "
                           f"{num(r.min_effect)}, which Evidently does not apply")
        elif "Benjamini-Hochberg" in r.message:
            reasons.append(f"{f} is not significant here after the Benjamini-Hochberg correction")
        else:
            side = "for Evidently only" if f in theirs else "here only"
            reasons.append(f"{f} drifts {side} (Evidently sees a sample of up to {sample_size:,} rows a side and bins "
                           "on its own)")
    verdict = "drifted" if their_dataset else "not drifted"
    ours_txt = "drifted" if ours.dataset_drift else "not drifted"
    sentence = (f"Evidently calls the dataset {verdict} ({len(theirs)} of {len(compared)} columns, share {num(share)}); "
                f"this review calls it {ours_txt} ({len(ours.drifted_features)} of {len(ours.evaluated)}, share "
                f"{num(ours.drift_share)})" + (": " + "; ".join(reasons) if reasons else "") + ".")
    return [Finding("info", "Evidently", sentence, "comparison", "evidently", share,
                    {"evidently_drifted": theirs})]


def link(path: str | Path, text: str = "Evidently's report") -> str:
    """An HTML link to the saved Evidently report, relative to the report folder."""
    from workbench.pages import render_snippet

    return render_snippet("link", Path(path).name, text)
