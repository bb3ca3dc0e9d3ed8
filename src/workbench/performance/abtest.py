"""A/B comparison of model versions served side by side, and of the conversions they drive.

Accuracy (a proportion, on two independent randomised groups) is compared with a two-proportion
z-test; ROC AUC with a bootstrap of the difference. Every verdict states the p-value, the 95% CI
of the difference, the sample sizes and the minimum detectable effect at 80% power, and says
"no decision yet" when the test could not have detected a difference that matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.performance import metrics as wm
from workbench.result import TableResult


def mde_proportion(p_a: float, n_a: int, n_b: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest difference in a proportion (from p_a) detectable with this power (Cohen's h, two-sided)."""
    if min(n_a, n_b) < 2 or not 0 < p_a < 1:
        return float("nan")
    from statsmodels.stats.power import NormalIndPower  # statsmodels only when an A/B test is computed

    h = NormalIndPower().solve_power(effect_size=None, nobs1=n_a, alpha=alpha, power=power, ratio=n_b / n_a)
    p_b = np.sin(np.arcsin(np.sqrt(p_a)) + h / 2) ** 2
    return float(p_b - p_a)


def _verdict(p: float, diff: float, mde: float, min_effect: float, alpha: float, names: tuple[str, str]) -> str:
    if not np.isfinite(p):
        return "no decision yet: not enough data"
    if p < alpha:
        better = names[1] if diff > 0 else names[0]
        return f"{better} is better ({p_text(p)})"
    if not np.isfinite(mde) or mde > min_effect:
        return f"no decision yet: underpowered (80% power only for differences ≥ {mde:.3f})"
    return f"no difference ≥ {mde:.3f} ({p_text(p)})"


def p_text(p: float) -> str:
    """'p < 0.001' or 'p = 0.023': never 'p = 0'."""
    from workbench.findings import p_value

    return p_value(p)


def two_proportions(success_a: int, n_a: int, success_b: int, n_b: int, names: tuple[str, str] = ("A", "B"),
                    min_effect: float = 0.01, alpha: float = 0.05) -> dict:
    """Two-proportion z-test of B vs A with the Newcombe/score CI of the difference and the MDE."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    row = {"n_A": n_a, "n_B": n_b}
    if min(n_a, n_b) == 0:
        return {**row, "rate_A": np.nan, "rate_B": np.nan, "difference": np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "p_value": np.nan, "mde_80": np.nan, "verdict": "no decision yet: not enough data"}
    pa, pb = success_a / n_a, success_b / n_b
    if 0 < success_a + success_b < n_a + n_b:
        _, p = proportions_ztest([success_b, success_a], [n_b, n_a])
    else:
        p = 1.0  # every trial a success (or none) in both groups: nothing to test
    lo, hi = confint_proportions_2indep(success_b, n_b, success_a, n_a, compare="diff", method="newcomb")
    mde = mde_proportion(pa, n_a, n_b, alpha)
    return {**row, "rate_A": pa, "rate_B": pb, "difference": pb - pa, "ci_low": float(lo), "ci_high": float(hi),
            "p_value": float(p), "mde_80": mde, "verdict": _verdict(float(p), pb - pa, mde, min_effect, alpha, names)}


def bootstrap_difference(score_a, y_a, score_b, y_b, resamples: int = 1000, seed: int = 0,
                         names: tuple[str, str] = ("A", "B"), min_effect: float = 0.01, alpha: float = 0.05) -> dict:
    """ROC AUC of B minus A: bootstrap CI (each group resampled on its own) and bootstrap p-value."""
    a_pt, a_draws = _auc_draws(score_a, y_a, resamples, seed)
    b_pt, b_draws = _auc_draws(score_b, y_b, resamples, seed + 1)
    d = b_draws - a_draws
    d = d[np.isfinite(d)]
    diff = b_pt - a_pt
    if len(d) == 0 or not np.isfinite(diff):
        return {"auc_A": a_pt, "auc_B": b_pt, "difference": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                "p_value": np.nan, "mde_80": np.nan, "verdict": "no decision yet: AUC undefined (one class)"}
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    p = float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))
    mde = float((1.96 + 0.84) * np.std(d))  # shift the null distribution would need for 80% power
    return {"auc_A": a_pt, "auc_B": b_pt, "difference": diff, "ci_low": float(lo), "ci_high": float(hi),
            "p_value": p, "mde_80": mde, "verdict": _verdict(p, diff, mde, min_effect, alpha, names)}


def _auc_draws(score, y, resamples: int, seed: int) -> tuple[float, np.ndarray]:
    score, y = np.asarray(score, float), np.asarray(y, float)
    if len(y) == 0:
        return np.nan, np.full(1, np.nan)
    order = wm.ranking_order(score, y)  # in ranking order once: no resample re-sorts its weights
    score, y = score[order], y[order]
    cells, first = wm.cells_of(score, y, always=True)  # tied (score, outcome) rows share a weight (metrics.cells_of)
    score, y = score[first], y[first]
    point, drawn = wm.draws(lambda W: {"auc": wm.roc_auc(score, y, W)}, len(order), resamples, seed,
                            max_cells=2_000_000, cells=cells)
    return point["auc"], drawn.get("auc", np.full(1, np.nan))


def compare_variants(df: pd.DataFrame, resamples: int = 1000, min_effect: float = 0.01, seed: int = 0
                     ) -> TableResult:
    """Accuracy and ROC AUC of the two variants in `df` (labelled rows only), B against A."""
    lab = df[df["actual_outcome"].notna() & df["variant"].notna()]
    variants = sorted(lab["variant"].unique())
    if len(variants) != 2:
        return TableResult(pd.DataFrame())
    a, b = (lab[lab["variant"] == v] for v in variants)
    names = tuple(f"{v} ({g['model_version'].iloc[0]})" for v, g in zip(variants, (a, b)))
    acc = two_proportions(int((a["prediction"] == a["actual_outcome"]).sum()), len(a),
                          int((b["prediction"] == b["actual_outcome"]).sum()), len(b), names, min_effect)
    auc = bootstrap_difference(a["probability"], a["actual_outcome"], b["probability"], b["actual_outcome"],
                               resamples, seed, names, min_effect)
    rows = [{"metric": "accuracy", "A": names[0], "B": names[1], "value_A": acc["rate_A"], "value_B": acc["rate_B"],
             "n_A": len(a), "n_B": len(b), "test": "two-proportion z-test",
             **{k: acc[k] for k in ("difference", "ci_low", "ci_high", "p_value", "mde_80", "verdict")}},
            {"metric": "roc_auc", "A": names[0], "B": names[1], "value_A": auc["auc_A"], "value_B": auc["auc_B"],
             "n_A": len(a), "n_B": len(b), "test": "bootstrap of the difference",
             **{k: auc[k] for k in ("difference", "ci_low", "ci_high", "p_value", "mde_80", "verdict")}}]
    table = pd.DataFrame(rows)
    return TableResult(table, decision_findings(table))


def decision_findings(table: pd.DataFrame) -> list:
    """The A/B decision per metric as info findings (sample sizes, difference with its CI, verdict);
    the decision is for people to act on, not a fault of the service."""
    from workbench.findings import Finding, interval, num

    out = []
    for _, r in table.iterrows():
        diff = r["difference"]
        shown, low, high = interval(diff, r["ci_low"], r["ci_high"])  # one number of decimals, as its table row
        text = (f"A/B {r['metric']}: {r['B']} {num(r['value_B'])} (n = {int(r['n_B']):,}) vs {r['A']} {num(r['value_A'])} "
                f"(n = {int(r['n_A']):,}), difference {shown} [{low}, {high}]: "
                f"{r['verdict']}.")
        out.append(Finding("info", f"A/B {r['metric']}", text, "ab_test", "ab-test",
                           float(diff) if np.isfinite(diff) else None))
    return out


def conversions(ctx, experiment: str, min_effect: float = 0.01) -> pd.DataFrame:
    """ab_test_conversions of `experiment` (weekly.yaml performance.ab_experiment) per variant over the
    window (Prometheus) against the variant's exposures (its positive predictions in the prediction DB,
    the ones acted on), B vs A."""
    from workbench.infrastructure.queries import catalog_query, seconds

    q = catalog_query(ctx.queries, "ab_test_conversions", {"experiment": experiment}, window=seconds(ctx.window))
    conv = ctx.prometheus.query(q, at=ctx.window.end)
    if conv.empty or "variant" not in conv:
        from workbench.errors import InsufficientData

        raise InsufficientData(f"no ab_test_conversions for experiment {experiment!r} in {ctx.window.label}: {q}")
    df = ctx.store.read(ctx.model.name, ctx.window, core=["variant", "prediction"])
    exposed = df[df["prediction"] == 1].groupby("variant").size()
    c = conv.set_index("variant")["value"].round()
    variants = sorted(set(c.index) & set(exposed.index))
    if len(variants) != 2:
        return pd.DataFrame()
    a, b = variants
    r = two_proportions(int(c[a]), int(exposed[a]), int(c[b]), int(exposed[b]), (a, b), min_effect)
    return pd.DataFrame([{"experiment": experiment, "A": a, "B": b, "conversions_A": int(c[a]),
                          "exposed_A": int(exposed[a]), "conversions_B": int(c[b]), "exposed_B": int(exposed[b]),
                          **{k: r[k] for k in ("rate_A", "rate_B", "difference", "ci_low", "ci_high", "p_value",
                                               "mde_80", "verdict")}}])
