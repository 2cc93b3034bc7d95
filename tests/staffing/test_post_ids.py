"""Post ids derive from the place; mandatory places are chosen and placed on the corridor."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from safepassage.config import MandatoryPost, PostsConfig
from safepassage.errors import DataError, InfeasibleError
from safepassage.routes.corridors import designate_corridors
from safepassage.routes.network import WalkNetwork
from safepassage.routes.paths import prepare_route_costs, route_students
from safepassage.routes.stitch import stitch
from safepassage.staffing.posts import PostPlan, candidate_posts, plan_posts, post_ids
from safepassage.staffing.solver import SolverSettings
from tests.conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0
SETTINGS = SolverSettings(num_workers=1, time_limit_s=10)
SAFE_ID = re.compile(r"[0-9A-Za-z_]+")


def _halves() -> tuple[WalkNetwork, WalkNetwork]:
    """A 5 x 5 grid (100 m blocks, named streets) cut at x = 200 m into two networks."""
    west, east = [], []
    for i in range(5):
        off = i * 100.0
        avenue = f"West {('60th', '61st', '62nd', '63rd', '64th')[i]} Street"
        west.append((avenue, [(X0, Y0 + off), (X0 + 200, Y0 + off)]))
        east.append((avenue, [(X0 + 200, Y0 + off), (X0 + 400, Y0 + off)]))
        side = west if off <= 200 else east
        street = ("Halsted", "Green", "Peoria", "Sangamon", "Morgan")[i]
        side.append((f"South {street} Street", [(X0 + off, Y0), (X0 + off, Y0 + 400)]))

    def net(lines: list[tuple[str, list[tuple[float, float]]]]) -> WalkNetwork:
        table = gpd.GeoDataFrame(
            {"name": [n for n, _ in lines]},
            geometry=[shapely.LineString(c) for _, c in lines],
            crs=CHICAGO_EPSG,
        )
        net = WalkNetwork.from_centerlines(table)
        # from_centerlines numbers its nodes' osmid 0, 1, ... in every network, and
        # stitch merges equal source ids: drop them so only the seam's points merge
        net.nodes["osmid"] = ""
        return net

    return net(west), net(east)


def _node(net: WalkNetwork, x: float, y: float) -> int:
    return int(net.snap(np.array([[X0 + x, Y0 + y]]), max_m=1.0, strict=True).nodes[0])


def _plan(net: WalkNetwork, **options: object) -> PostPlan:
    """School S1 at (0, 0); 40 students walk from (400, 0) and 30 from (0, 400).

    Straight walks along one street: no shortest path ties, which routing
    breaks by node number (so the corridors would differ between orders).
    """
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1"], "node": [_node(net, 0, 0)]},
        geometry=[shapely.Point(X0, Y0)],
        crs=CHICAGO_EPSG,
    )
    starts = [(400, 0, 40), (0, 400, 30)]
    origins = gpd.GeoDataFrame(
        {
            "origin_id": ["S1-1", "S1-2"],
            "school_id": ["S1", "S1"],
            "students": [s for _, _, s in starts],
            "node": [_node(net, x, y) for x, y, _ in starts],
        },
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y, _ in starts],
        crs=CHICAGO_EPSG,
    )
    routes = route_students(
        net, schools, origins, costs=prepare_route_costs(net, windows=("am",), factors={})
    )
    corridors = designate_corridors(net, schools, routes, budget_m=2000)
    return plan_posts(
        net,
        corridors,
        schools,
        routes,
        windows=("am",),
        options=PostsConfig(**options),
        settings=SETTINGS,
    )


def test_ids_do_not_depend_on_the_order_of_the_network_files() -> None:
    west, east = _halves()
    one, two = stitch([west, east]), stitch([east, west])
    assert _node(one, 300, 0) != _node(two, 300, 0)  # the node numbers do differ
    plans = [_plan(net, per_school=3, min_spacing_m=150) for net in (one, two)]
    columns = ["post_id", "x", "y", "kind", "cross_streets", "value_am", "selected"]
    tables = [p.table[columns].round(6) for p in plans]
    assert tables[0].equals(tables[1])
    assert len(tables[0]) >= 6  # the door and the corners of both halves
    assert plans[0].table["post_id"].tolist() == sorted(plans[0].table["post_id"])
    assert plans[0].table["post_id"].is_unique
    assert all(SAFE_ID.fullmatch(p) for p in plans[0].table["post_id"])
    assert plans[0].selected["post_id"].tolist() == plans[1].selected["post_id"].tolist()


def test_an_id_names_the_school_and_the_two_streets() -> None:
    west, east = _halves()
    net = stitch([west, east])
    ids = post_ids(net, [_node(net, 100, 0), _node(net, 100, 0)], ["609791", "609791"])
    assert ids == ["609791_Green_60th", "609791_Green_60th_2"]  # the tie gets a suffix


def test_ties_are_numbered_by_coordinates(grid: WalkNetwork) -> None:
    # the test grid's streets are "E-W 0".."N-S 4": no street type, kept whole
    nodes = [_node(grid, 0, 0), _node(grid, 100, 0), _node(grid, 200, 0)]
    forward = post_ids(grid, nodes, ["S"] * 3)
    backward = post_ids(grid, nodes[::-1], ["S"] * 3)
    assert forward == ["S_EW0_NS0", "S_EW0_NS1", "S_EW0_NS2"]
    assert backward == forward[::-1]


def Entry(  # noqa: N802 (reads like the config entry it builds)
    school_id: str, name: str = "", **where: float
) -> MandatoryPost:
    return MandatoryPost(school_id=school_id, name=name, **where)


def test_mandatory_place_is_chosen_over_a_better_candidate() -> None:
    net = stitch(list(_halves()))
    free = _plan(net, per_school=1)
    best = free.selected.iloc[0]
    # a corner of the corridor far from the best one, given 12 m off the corner
    table = free.table[free.table["kind"] == "corner"]
    far = table.loc[np.hypot(table["x"] - best["x"], table["y"] - best["y"]).idxmax()]
    entry = Entry("S1", "crossing guard", x=float(far["x"]) + 12.0, y=float(far["y"]) - 5.0)
    forced = _plan(net, per_school=1, mandatory=[entry])
    assert forced.selected["post_id"].tolist() == [far["post_id"]]
    row = forced.table.set_index("post_id").loc[far["post_id"]]
    assert (row["kind"], row["mandatory_name"]) == ("mandatory", "crossing guard")
    assert forced.objective < free.objective  # the better candidate lost its place


def _latlon(name: str, x: float, y: float) -> MandatoryPost:
    lonlat = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs=CHICAGO_EPSG).to_crs(4326)
    return Entry("S1", name, lat=float(lonlat.y.iloc[0]), lon=float(lonlat.x.iloc[0]))


def test_mandatory_off_every_candidate_makes_its_corridor_node_one() -> None:
    net = stitch(list(_halves()))
    free = _plan(net, per_school=2, sight_m=60)
    # (400, 0) is a bend of the corridor, no candidate; the nearest corner is 100 m off
    entry = _latlon("bend", 400, 5)
    placed = _plan(net, per_school=2, sight_m=60, mandatory=[entry])
    added = set(placed.table["post_id"]) - set(free.table["post_id"])
    assert len(added) == 1
    row = placed.table.set_index("post_id").loc[added.pop()]
    assert (row["kind"], row["mandatory_name"], bool(row["selected"])) == (
        "mandatory",
        "bend",
        True,
    )
    assert np.hypot(row["x"] - X0 - 400, row["y"] - Y0) < 1


def test_mandatory_far_from_the_corridor_is_infeasible() -> None:
    net = stitch(list(_halves()))
    # 40.05 m from the corner (100, 0), the nearest corridor node
    with pytest.raises(InfeasibleError, match=r"'gate' of school S1 .* is 40 m from"):
        _plan(net, per_school=2, sight_m=40, mandatory=[_latlon("gate", 60, 2)])
    placed = _plan(net, per_school=2, sight_m=41, mandatory=[_latlon("gate", 60, 2)])
    assert placed.table.set_index("mandatory_name").loc["gate", "kind"] == "mandatory"


def test_mandatory_needs_a_school_with_corridors() -> None:
    net = stitch(list(_halves()))
    with pytest.raises(DataError, match=r"school S9.*no corridor"):
        _plan(net, mandatory=[Entry("S9", x=X0, y=Y0)])


def test_real_englewood_ids_survive_reordering(data_root: Path) -> None:
    osm = data_root / "osm"
    a = WalkNetwork.from_graphml(osm / "chicago_walk_2019_englewood.graphml.gz")
    b = WalkNetwork.from_graphml(osm / "chicago_walk_2019_west_englewood.graphml.gz")
    found = []
    for pieces in ([a, b], [b, a]):
        net = stitch(pieces, seam_tolerance_m=25)
        nodes = np.flatnonzero(net.nodes["street_count"].to_numpy() >= 3).tolist()
        xy = net.nodes[["x", "y"]].to_numpy()[nodes].round(0)
        ids = post_ids(net, nodes, ["S"] * len(nodes))
        found.append(dict(zip(map(tuple, xy.tolist()), ids, strict=True)))
    assert len(found[0]) > 2000
    assert found[0] == found[1]
    assert len(set(found[0].values())) == len(found[0])


def test_candidates_list_in_id_order(grid: WalkNetwork) -> None:
    plan = _plan(grid, per_school=1)
    again = candidate_posts(grid, *_inputs(grid, plan))
    assert again["post_id"].tolist() == sorted(again["post_id"])


def _inputs(grid: WalkNetwork, plan: PostPlan) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1"], "node": [_node(grid, 0, 0)]},
        geometry=[shapely.Point(X0, Y0)],
        crs=CHICAGO_EPSG,
    )
    routes = route_students(
        grid,
        schools,
        gpd.GeoDataFrame(
            {
                "origin_id": ["o"],
                "school_id": ["S1"],
                "students": [5],
                "node": [_node(grid, 400, 0)],
            },
            geometry=[shapely.Point(X0 + 400, Y0)],
            crs=CHICAGO_EPSG,
        ),
        costs=prepare_route_costs(grid, windows=("am",), factors={}),
    )
    return designate_corridors(grid, schools, routes, budget_m=1000), schools
