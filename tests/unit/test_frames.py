"""frames.groups against pandas' own groupby iteration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.frames import groups


def test_groups_are_pandas_groupby_iteration(rng):
    n = 2000
    df = pd.DataFrame({
        "timestamp": pd.Timestamp("2026-11-16", tz="UTC") + pd.to_timedelta(rng.integers(0, 7 * 86400, n), unit="s"),
        "model_version": rng.choice(np.array(["1.10.0", "1.2.0", None], dtype=object), n),
        "x": rng.random(n),
    }, index=rng.permutation(n) + 100)  # an index that is not 0..n-1
    period = df["timestamp"].dt.floor("D")
    for by in ([period, "model_version"], "model_version", ["model_version"]):  # rows with no version: left out
        want = list(df.groupby(by))
        got = list(groups(df, by))
        assert [k for k, _ in got] == [k for k, _ in want] and len(got) >= 2
        for (_, g), (_, w) in zip(got, want):
            pd.testing.assert_frame_equal(g, w)
    assert list(groups(df.iloc[:0], "model_version")) == []

