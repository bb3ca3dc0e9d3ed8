"""Does the weak-segment search find one degraded slice among many features, and stay quiet at the null?
A seeded simulation.

The data are shaped like a prediction log of a classifier: 12 features (6 categorical with 2-6 values,
6 numeric, two of them correlated with a categorical one so their bins overlap its slices), and a
classifier whose error rate differs by slice in every window (0.06-0.20: some slices are always
harder) and drifts a little everywhere (+/-1 point). Each window is a reference (the weeks before,
--n-ref labelled rows) and a week (--n rows). In the "degraded" windows the error rate of one slice
(plan = pro, ~10% of the rows) rises by --effect (0.08 by default: 0.06 -> 0.14); in the "null"
windows nothing but the wiggle changes.

It prints, over --reps windows each:
- detection: the share of degraded windows whose first (costliest) segment is plan = pro (goal >= 95%);
- false alarm: the share of null windows with any segment reported (goal <= 5%, i.e. no slice flagged
  in >= 95% of windows);
and exits non-zero when a goal is missed. Defaults run in well under three minutes on a shared machine.

    python benchmarks/segments_validity.py [--reps 50] [--n 20000] [--n-ref 40000] [--effect 0.08]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from workbench.config import SegmentParams
from workbench.performance import segments as sg

CATEGORICAL = {"plan": ["basic", "plus", "pro"], "region": ["n", "s", "e", "w"], "channel": ["web", "app"],
               "device": ["ios", "android", "desktop", "tablet", "tv", "other"], "tier": ["a", "b", "c"],
               "segment": ["smb", "mid", "ent", "gov", "edu"]}
SHARES = {"plan": [0.6, 0.3, 0.1]}
NUMERIC = ["tenure", "spend", "age", "visits", "balance", "score"]
TARGET = "plan = pro"
DETECTION_GOAL, FALSE_ALARM_GOAL = 0.95, 0.05


def draw(rng: np.random.Generator, n: int, effect: float, wiggle: np.ndarray) -> pd.DataFrame:
    """n labelled predictions: features, and a prediction wrong at the slice-dependent error rate
    (plus `wiggle` per region, and `effect` on plan = pro)."""
    df = pd.DataFrame({f: rng.choice(v, n, p=SHARES.get(f)) for f, v in CATEGORICAL.items()})
    pro = (df["plan"] == "pro").to_numpy()
    df["tenure"] = rng.gamma(2, 12, n) + 10 * pro          # correlated with plan: its top bins hold pro
    df["spend"] = rng.lognormal(3, 0.5, n) * np.where(pro, 1.6, 1.0)
    for f in ("age", "visits", "balance", "score"):
        df[f] = rng.normal(0, 1, n)
    err = 0.06 + 0.06 * (df["tier"] == "c").to_numpy() + 0.08 * (df["device"] == "tv").to_numpy()
    err = err + wiggle[pd.Categorical(df["region"], CATEGORICAL["region"]).codes] + effect * pro
    y = rng.integers(0, 2, n).astype(float)
    wrong = rng.random(n) < err
    df["actual_outcome"] = y
    df["prediction"] = np.where(wrong, 1 - y, y)
    return df


def window(rng: np.random.Generator, n: int, n_ref: int, effect: float, params: SegmentParams) -> sg.WeakSegments:
    ref = draw(rng, n_ref, 0.0, np.zeros(4))
    cur = draw(rng, n, effect, rng.uniform(-0.01, 0.01, 4))
    features = sg.feature_kinds(ref, [*CATEGORICAL, *NUMERIC], params.bins, params.max_categories)
    return sg.search(sg.cells_from_frames(cur, ref, features, "classification"), "classification", params,
                     resamples=200)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--n-ref", type=int, default=40_000)
    ap.add_argument("--effect", type=float, default=0.08)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args(argv)
    params = SegmentParams()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    found = anywhere = 0
    shares = []
    for _ in range(args.reps):
        res = window(rng, args.n, args.n_ref, args.effect, params)
        labels = [s.label for s in res.segments]
        found += bool(labels) and labels[0] == TARGET
        anywhere += TARGET in labels
        if labels and labels[0] == TARGET and res.segments[0].share_of_drop is not None:
            shares.append(res.segments[0].share_of_drop)
    alarms, tried = 0, []
    for _ in range(args.reps):
        res = window(rng, args.n, args.n_ref, 0.0, params)
        alarms += bool(res.segments)
        tried.append(len(res.slices))
    detection, false_alarm = found / args.reps, alarms / args.reps
    print(f"weak segments, {args.reps} windows each: {args.n:,} rows a week, {args.n_ref:,} in the reference, "
          f"{len(CATEGORICAL) + len(NUMERIC)} features (~{int(np.mean(tried)):,} slices tried), "
          f"alpha {params.alpha}, min_share {params.min_share}, min_rows {params.min_rows}")
    print(f"  detection   ({TARGET} error rate +{args.effect:.2f}): first segment {detection:.0%} "
          f"(goal >= {DETECTION_GOAL:.0%}), anywhere {anywhere / args.reps:.0%}; median share of the drop "
          f"{np.median(shares) if shares else float('nan'):.0%}")
    print(f"  false alarm (nothing degraded): windows with a segment {false_alarm:.0%} "
          f"(goal <= {FALSE_ALARM_GOAL:.0%}, i.e. quiet in >= {1 - FALSE_ALARM_GOAL:.0%})")
    print(f"  {time.perf_counter() - t0:.0f} s")
    ok = detection >= DETECTION_GOAL and false_alarm <= FALSE_ALARM_GOAL
    print("every goal met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
