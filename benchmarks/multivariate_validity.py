"""Do the multivariate drift defaults stay quiet at the null and catch a flipped correlation? A seeded simulation.

The data: 7 features shaped like a prediction log: x and y standard normal with correlation +0.8, a
skewed amount (lognormal), a count-like tenure, an independent normal, and two categoricals (a plan
of 3 values whose shares depend on x, a region of 5). A reference of --ref rows, and windows of 7
days x --day rows drawn
- at the null: from the reference's population;
- with the correlation flipped: x and y correlate -0.8; every marginal (and the plan's dependence on
  x) unchanged, so no per-feature test can see it.
Each window runs `drift.multivariate.multivariate_drift` with the defaults of
`drift_detection.multivariate` (PCA keeping 65% of the variance, band ±3 sd; domain classifier,
5 folds, drift when the AUC interval's lower bound > 0.65). It prints the false-alarm rate at the
null (goal <= 5%) and the detection rate for the flip (goal >= 95%) of each method, per window and
per day, and the spread of the AUC's lower bound under both (what the 0.65 default is set from), and
exits non-zero on a missed goal. About 2 minutes of one core.

    python benchmarks/multivariate_validity.py [--reps 40] [--ref 10000] [--day 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from workbench.config import MultivariateDrift
from workbench.drift.multivariate import multivariate_drift

KINDS = {"x": "numeric", "y": "numeric", "amount": "numeric", "tenure": "numeric", "noise": "numeric",
         "plan": "categorical", "region": "categorical"}
DAYS = [f"2026-11-{16 + i}" for i in range(7)]
GOAL_FALSE_ALARMS, GOAL_DETECTION = 0.05, 0.95


def population(n: int, rho: float, rng: np.random.Generator) -> pd.DataFrame:
    xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    x = xy[:, 0]
    plan = np.where(x + rng.normal(0, 1, n) > 1, "pro", np.where(rng.random(n) < 0.4, "plus", "basic"))
    return pd.DataFrame({"x": x, "y": xy[:, 1], "amount": rng.lognormal(3, 0.8, n),
                         "tenure": rng.poisson(24, n).astype(float), "noise": rng.normal(size=n),
                         "plan": plan, "region": rng.choice(list("NESWC"), n, p=[0.3, 0.25, 0.2, 0.15, 0.1])})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40, help="windows per scenario")
    ap.add_argument("--ref", type=int, default=10_000, help="reference rows")
    ap.add_argument("--day", type=int, default=1_000, help="rows per day (7 days a window)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    params = MultivariateDrift()
    t0 = time.perf_counter()
    rows = []
    for scenario, rho in (("null", 0.8), ("flip", -0.8)):
        for rep in range(args.reps):
            rng = np.random.default_rng([args.seed, rep, int(rho < 0)])
            ref = population(args.ref, 0.8, rng)
            cur = population(7 * args.day, rho, rng)
            r = multivariate_drift(ref, cur, KINDS, params.model_copy(update={"seed": rep}),
                                   days=pd.Series(np.repeat(DAYS, args.day)))
            if r.problems:
                print(f"{scenario} #{rep}: {r.problems}")
                return 2
            rows.append({"scenario": scenario, "rep": rep, "pca": r.reconstruction["drifted"],
                         "auc": r.classifier["auc"], "auc_low": r.classifier["low"],
                         "classifier": r.classifier["drifted"], "pca_days": r.daily["error_drifted"].mean(),
                         "classifier_days": r.daily["auc_drifted"].mean()})
    df = pd.DataFrame(rows)
    print(f"multivariate drift validity: {args.reps} windows per scenario, reference {args.ref:,} rows, "
          f"window 7 x {args.day:,} rows, defaults (pca_variance {params.pca_variance}, sigmas {params.sigmas:g}, "
          f"auc_threshold {params.auc_threshold}), {time.perf_counter() - t0:.0f} s\n")
    ok = True
    print(f"{'method':<22}{'false alarms (null)':>22}{'per day':>10}{'detected (flip)':>18}{'per day':>10}")
    for method in ("pca", "classifier"):
        null, flip = df[df.scenario == "null"], df[df.scenario == "flip"]
        fa, det = null[method].mean(), flip[method].mean()
        hit = fa <= GOAL_FALSE_ALARMS and det >= GOAL_DETECTION
        ok &= hit
        name = "PCA reconstruction" if method == "pca" else "domain classifier"
        print(f"{name:<22}{fa:>15.1%} (≤{GOAL_FALSE_ALARMS:.0%}){null[method + '_days'].mean():>10.1%}"
              f"{det:>11.1%} (≥{GOAL_DETECTION:.0%}){flip[method + '_days'].mean():>10.1%}"
              f"  {'ok' if hit else 'MISSED'}")
    for scenario in ("null", "flip"):
        s = df[df.scenario == scenario]
        print(f"\n{scenario}: AUC {s.auc.min():.3f}–{s.auc.max():.3f}, its interval's lower bound "
              f"{s.auc_low.min():.3f}–{s.auc_low.max():.3f}")
    null_top = df[df.scenario == "null"].auc_low.max()
    flip_bottom = df[df.scenario == "flip"].auc_low.min()
    where = "between" if null_top < params.auc_threshold < flip_bottom else "NOT between"
    print(f"\nauc_threshold {params.auc_threshold} is {where} the null's highest lower bound ({null_top:.3f}) and the "
          f"flip's lowest ({flip_bottom:.3f}); above 0.5 it is an effect floor (0.5 + share told apart / 2), not a test.")
    if not ok:
        print("\nmultivariate validity: a goal was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
