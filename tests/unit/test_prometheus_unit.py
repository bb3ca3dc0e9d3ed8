import datetime as dt

import numpy as np
import pytest

from workbench.sources import prometheus as p

UTC = dt.timezone.utc


@pytest.mark.parametrize("days,step", [(7, 15), (1, 1), (28, 60), (0.01, 15)])
def test_split_range_stays_under_the_point_limit_and_covers_the_range(days, step):
    start = dt.datetime(2026, 11, 16, tzinfo=UTC)
    end = start + dt.timedelta(days=days)
    pieces = p.split_range(start, end, step)
    assert pieces[0][0] == start and pieces[-1][1] == end
    total = 0
    for a, b in pieces:
        points = int((b - a).total_seconds() // step) + 1
        assert points <= p.MAX_POINTS
        total += points
    for (a1, b1), (a2, b2) in zip(pieces, pieces[1:]):
        assert (a2 - b1).total_seconds() == step  # no overlap, no gap
    assert total == int((end - start).total_seconds() // step) + 1


def test_split_range_rejects_naive():
    with pytest.raises(ValueError, match="naive"):
        p.split_range(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), 15)


def test_to_frame_parses_special_values():
    result = [{"metric": {"job": "api"}, "values": [[1795000000, "NaN"], [1795000015, "+Inf"], [1795000030, "-Inf"],
                                                    [1795000045, "0.25"]]}]
    df = p.to_frame(result, "matrix")
    assert list(df.columns) == ["timestamp", "job", "value"]
    assert np.isnan(df["value"].iloc[0]) and df["value"].iloc[1] == np.inf and df["value"].iloc[2] == -np.inf
    assert df["value"].iloc[3] == 0.25
    assert str(df["timestamp"].dt.tz) == "UTC"


def test_to_frame_empty_has_columns():
    df = p.to_frame([], "vector")
    assert list(df.columns) == ["timestamp", "value"] and df.empty


def test_step_never_below_scrape_interval():
    assert p.step_for(3600, 60) == 60
    assert p.step_for(7 * 86400, 15) % 15 == 0 and p.step_for(7 * 86400, 15) >= 7 * 86400 / 2000
