"""Map building blocks computed in bulk give what their one-at-a-time forms give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from safepassage.maps.assets import grouped_line_coords, line_coords, post_workers, to_wgs84
from safepassage.routes.network import WalkNetwork


def test_grouped_line_coords_equal_line_coords_of_each_group(grid: WalkNetwork) -> None:
    geoms = np.concatenate(
        [grid.edges.geometry.values, [shapely.LineString(), shapely.MultiLineString()]]
    )
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 6, len(geoms))  # group 6 gets nothing
    groups[-2:] = 7  # group 7 only empty lines
    groups[groups == 3] = 2  # and group 3 nothing either
    per_group = grouped_line_coords(geoms, groups, 8, grid.crs)
    assert len(per_group) == 8
    for g in range(8):
        assert per_group[g] == line_coords(geoms[groups == g], grid.crs), g
    assert per_group[3] == per_group[6] == per_group[7] == []
    assert grouped_line_coords(geoms[:0], groups[:0], 2, grid.crs) == [[], []]


def test_to_wgs84_reuses_one_transformer_per_crs(grid: WalkNetwork) -> None:
    assert to_wgs84(grid.crs) is to_wgs84(grid.crs)
    lon, lat = to_wgs84(grid.crs).transform([440_000.0], [4_630_000.0])
    assert -90 < lon[0] < -85  # EPSG:26916 is around Chicago
    assert 41 < lat[0] < 43


def test_post_workers_lists_each_posts_workers_by_window_sorted_with_their_days() -> None:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    rows = [("P1", "am", day, "W<2>") for day in days]
    rows += [("P1", "am", day, "W&1") for day in ("Wed", "Mon")]
    rows += [("P1", "pm", "Fri", "W3"), ("P2", "pm", "Tue", "W&1")]
    schedule = pd.DataFrame(rows, columns=["post_id", "window", "weekday", "worker_id"])
    assert post_workers(schedule) == {
        ("P1", "am"): ["W&amp;1 (Mon Wed)", "W&lt;2&gt;"],
        ("P1", "pm"): ["W3 (Fri)"],
        ("P2", "pm"): ["W&amp;1 (Tue)"],
    }
    assert post_workers(schedule.iloc[:0]) == {}
