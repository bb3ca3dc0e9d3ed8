"""Are the drift verdicts statistically sound? A seeded simulation.

For n = 1,000 and n = 100,000 values per side, draw --pairs reference/current pairs from the
same distribution and count how often each method calls drift (the false-alarm rate; for the
p-value tests at alpha = 0.05 it must lie in [0.03, 0.07]), then shift the current mean by
0.1 standard deviation and count detections. Numeric features are standard normal; categorical
ones (chi2, psi, js) draw from five categories. Exits non-zero when a p-value test is outside
the band. Results are quoted in the README ("How drift is decided").

    python benchmarks/drift_validity.py [--pairs 1000] [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from workbench.drift_methods import METHODS
from workbench.profile import CurrentSample, FeatureProfile

CATS = np.array(["a", "b", "c", "d", "e"], dtype=object)
P = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
CASES = [("ks", "numeric"), ("chi2", "numeric"), ("chi2", "categorical"), ("wasserstein", "numeric"),
         ("psi", "numeric"), ("psi", "categorical"), ("js", "numeric"), ("js", "categorical")]


def draw(rng, n, kind, shift):
    if kind == "numeric":
        return pd.Series(rng.normal(shift, 1.0, n))
    # a 0.1-sd "shift" for categories: move 0.1 * sd of the category index's mass one step up
    p = P.copy()
    if shift:
        move = 0.04
        p = p + np.array([-move, 0, 0, 0, move])
    return pd.Series(rng.choice(CATS, n, p=p))


def rate(method, kind, n, pairs, shift, seed):
    rng = np.random.default_rng(seed)
    m = METHODS[method]
    hits = 0
    for _ in range(pairs):
        ref = FeatureProfile.fit("x", draw(rng, n, kind, 0.0), kind=kind)
        cur = CurrentSample.from_series("x", draw(rng, n, kind, shift), kind)
        hits += m.drifted(m.func(ref, cur), m.default_threshold)
    return hits / pairs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--seed", type=int, default=20261127)
    a = ap.parse_args()
    ok = True
    rows = []
    for n in (int(s) for s in a.sizes.split(",")):
        for method, kind in CASES:
            fa = rate(method, kind, n, a.pairs, 0.0, a.seed)
            det = rate(method, kind, n, a.pairs, 0.1, a.seed + 1)
            test = METHODS[method].kind == "p_value"
            in_band = (0.03 <= fa <= 0.07) if test else None
            ok &= in_band is not False
            rows.append({"n": n, "method": method, "feature": kind, "threshold": METHODS[method].default_threshold,
                         "false_alarm_rate": fa, "detection_rate_0.1sd": det,
                         "in [0.03, 0.07]": {True: "yes", False: "NO", None: "n/a (distance)"}[in_band]})
            print(pd.DataFrame([rows[-1]]).to_string(index=False, header=len(rows) == 1), flush=True)
    print("\nall p-value tests calibrated" if ok else "\nA P-VALUE TEST IS OUT OF THE [0.03, 0.07] BAND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
