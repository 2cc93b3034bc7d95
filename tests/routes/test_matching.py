"""Designated routes onto the network: lines and buffers -> street segments."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from safepassage.io import read_routes
from safepassage.routes.matching import MatchOptions, match_routes
from safepassage.routes.network import WalkNetwork
from safepassage.routes.stitch import stitch

from ..conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0


def routes(*geometries: shapely.Geometry, kind: str = "line") -> gpd.GeoDataFrame:
    n = len(geometries)
    return gpd.GeoDataFrame(
        {"route_id": [f"R{i}" for i in range(n)], "school_id": ["S1"] * n, "kind": [kind] * n},
        geometry=list(geometries),
        crs=CHICAGO_EPSG,
    )


def streets_of(net: WalkNetwork, edge_ids: list[int]) -> set[tuple[float, float, float, float]]:
    """Each matched segment as its (sorted) end coordinates, rounded to the metre."""
    nodes = net.nodes[["x", "y"]].to_numpy()
    ends = set()
    for e in edge_ids:
        a, b = nodes[net.edges["u"].iloc[e]], nodes[net.edges["v"].iloc[e]]
        lo, hi = sorted([tuple(np.round(a)), tuple(np.round(b))])
        ends.add((*lo, *hi))
    return ends


def test_a_route_drawn_beside_the_streets_matches_them_and_not_the_cross_streets(
    grid: WalkNetwork,
) -> None:
    # along E-W 0 from x=0 to 300, then up N-S 3 to y=200; drawn 8 m off the centre lines
    line = shapely.LineString([(X0, Y0 + 8), (X0 + 308, Y0 + 8), (X0 + 308, Y0 + 200)])
    row = match_routes(grid, routes(line)).iloc[0]
    expected = {
        (X0, Y0, X0 + 100, Y0),
        (X0 + 100, Y0, X0 + 200, Y0),
        (X0 + 200, Y0, X0 + 300, Y0),
        (X0 + 300, Y0, X0 + 300, Y0 + 100),
        (X0 + 300, Y0 + 100, X0 + 300, Y0 + 200),
    }
    assert streets_of(grid, row["edge_ids"]) == expected
    assert row["matched_share"] > 0.97
    assert row["unmatched_m"] < 0.03 * row["route_m"]


def test_a_long_block_followed_part_of_the_way_matches_from_50_m() -> None:
    # one 400 m block from a cross street: a route along its first 80 m (20 %) keeps
    # it, one along 30 m (to a door near the corner) does not
    lines = gpd.GeoDataFrame(
        {"name": ["Long St", "Cross St"]},
        geometry=[
            shapely.LineString([(X0, Y0), (X0 + 400, Y0)]),
            shapely.LineString([(X0, Y0 - 200), (X0, Y0 + 200)]),
        ],
        crs=CHICAGO_EPSG,
    )
    net = WalkNetwork.from_centerlines(lines)
    far, near = (shapely.LineString([(X0, Y0 + 5), (X0 + d, Y0 + 5)]) for d in (80, 30))
    matched = match_routes(net, routes(far, near))
    names = [set(net.edges["name"].iloc[ids]) for ids in matched["edge_ids"]]
    assert names == [{"Long St"}, set()]
    strict = match_routes(net, routes(far), MatchOptions(min_along_m=100.0))
    assert strict["edge_ids"].iloc[0] == []


def test_a_route_that_leaves_the_network_keeps_its_match_and_reports_the_rest(
    grid: WalkNetwork,
) -> None:
    # 200 m along E-W 0, then 100 m diagonally across a block: no street there
    line = shapely.LineString([(X0, Y0), (X0 + 200, Y0), (X0 + 270.7, Y0 + 70.7)])
    row = match_routes(grid, routes(line)).iloc[0]
    assert len(row["edge_ids"]) == 2
    assert row["matched_m"] == pytest.approx(200.0, abs=25.0)
    assert row["unmatched_m"] == pytest.approx(100.0, abs=25.0)


def test_a_short_gap_is_bridged_by_the_network_and_a_long_one_is_not(grid: WalkNetwork) -> None:
    # along E-W 0, but the middle 100 m drawn 40 m north of the street (beyond 20 m)
    line = shapely.LineString(
        [
            (X0, Y0),
            (X0 + 100, Y0),
            (X0 + 100, Y0 + 40),
            (X0 + 200, Y0 + 40),
            (X0 + 200, Y0),
            (X0 + 300, Y0),
        ]
    )
    bridged = match_routes(grid, routes(line)).iloc[0]
    assert (X0 + 100, Y0, X0 + 200, Y0) in streets_of(grid, bridged["edge_ids"])
    assert bridged["bridged_m"] == pytest.approx(100.0)
    strict = match_routes(grid, routes(line), MatchOptions(max_gap_m=50.0)).iloc[0]
    assert (X0 + 100, Y0, X0 + 200, Y0) not in streets_of(grid, strict["edge_ids"])
    assert strict["bridged_m"] == 0.0


def test_a_buffer_polygon_recovers_the_streets_through_its_core(grid: WalkNetwork) -> None:
    line = shapely.LineString([(X0, Y0 + 200), (X0 + 400, Y0 + 200)])
    lines = match_routes(grid, routes(line)).iloc[0]
    buffer = match_routes(grid, routes(shapely.buffer(line, 100.0), kind="buffer")).iloc[0]
    assert streets_of(grid, buffer["edge_ids"]) == streets_of(grid, lines["edge_ids"])
    assert buffer["matched_share"] > 0.9


def test_routes_in_another_crs_are_reprojected(grid: WalkNetwork) -> None:
    line = shapely.LineString([(X0, Y0 + 100), (X0 + 400, Y0 + 100)])
    here = match_routes(grid, routes(line)).iloc[0]
    lonlat = match_routes(grid, routes(line).to_crs(4326)).iloc[0]
    assert lonlat["edge_ids"] == here["edge_ids"]


def test_match_options_out_of_range_are_refused(grid: WalkNetwork) -> None:
    from safepassage.errors import DataError

    with pytest.raises(DataError, match="match options"):
        match_routes(
            grid,
            routes(shapely.LineString([(X0, Y0), (X0 + 100, Y0)])),
            MatchOptions(tolerance_m=0),
        )


def test_official_sy1617_routes_match_the_englewood_network(
    englewood: WalkNetwork, west_englewood: WalkNetwork, data_root: Path
) -> None:
    net = stitch([englewood, west_englewood])
    official = read_routes(
        data_root / "safe_passage" / "safe_passage_routes_SY1617.geojson.gz", crs=net.crs
    )
    inside = official[official.within(shapely.unary_union(net.edges.geometry.values).envelope)]
    matched = match_routes(net, inside[inside["kind"] == "line"])
    assert len(matched) >= 10
    total = matched["matched_m"].sum() / matched["route_m"].sum()
    assert total > 0.85, matched[["route_id", "matched_share"]]
    # a matched route is connected streets: its matched length is close to its own length
    street_m = matched.geometry.length
    assert float((street_m / matched["route_m"]).median()) == pytest.approx(1.0, abs=0.15)
