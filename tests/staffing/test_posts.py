from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safepassage.config import PostsConfig
from safepassage.errors import DataError
from safepassage.routes.corridors import designate_corridors
from safepassage.routes.network import WalkNetwork
from safepassage.routes.paths import prepare_route_costs, route_students
from safepassage.staffing.posts import candidate_posts, plan_posts
from safepassage.staffing.solver import SolverSettings
from safepassage.streets import cross_streets, short_street_name
from tests.conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0
SETTINGS = SolverSettings(num_workers=1, time_limit_s=10)


def node_at(net: WalkNetwork, x: float, y: float) -> int:
    return int(net.snap(np.array([[X0 + x, Y0 + y]]), max_m=1.0, strict=True).nodes[0])


@pytest.fixture
def grid_plan(grid: WalkNetwork) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, object]:
    """School at the corner (0, 0); 40 students walk 400 m along the bottom street."""
    school = node_at(grid, 0, 0)
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1"], "node": [school]}, geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    origins = gpd.GeoDataFrame(
        {
            "origin_id": ["S1-1"],
            "school_id": ["S1"],
            "students": [40],
            "node": [node_at(grid, 400, 0)],
        },
        geometry=[shapely.Point(X0 + 400, Y0)],
        crs=CHICAGO_EPSG,
    )
    routes = route_students(
        grid, schools, origins, costs=prepare_route_costs(grid, windows=("am",), factors={})
    )
    corridors = designate_corridors(grid, schools, routes, budget_m=1000)
    return schools, corridors, routes


def test_short_street_names_follow_street_signs() -> None:
    assert short_street_name("South Halsted Street") == "S Halsted St"
    assert short_street_name("West 63rd Place") == "W 63rd Pl"


def test_cross_streets_name_the_two_streets_of_a_corner(grid: WalkNetwork) -> None:
    assert cross_streets(grid, [node_at(grid, 100, 0)]) == ["E-W 0 & N-S 1"]


def test_posts_respect_the_budget_and_spacing(grid: WalkNetwork, grid_plan: tuple) -> None:
    schools, corridors, routes = grid_plan
    plan = plan_posts(
        grid,
        corridors,
        schools,
        routes,
        windows=("am",),
        options=PostsConfig(per_school=2, min_spacing_m=150, sight_m=100),
        settings=SETTINGS,
    )
    chosen = plan.selected
    assert len(chosen) == 2
    xy = chosen[["x", "y"]].to_numpy()
    assert np.hypot(*(xy[0] - xy[1])) >= 150
    assert plan.status == "OPTIMAL"
    # corridor of 4 segments, each post watches 100 m each way: 2 posts cover all 4
    assert plan.objective == pytest.approx(plan.table["value_am"].max() * 2, rel=0.01)


def test_candidates_are_corners_and_the_door(grid: WalkNetwork, grid_plan: tuple) -> None:
    schools, corridors, routes = grid_plan
    plan = plan_posts(
        grid,
        corridors,
        schools,
        routes,
        windows=("am",),
        options=PostsConfig(per_school=1),
        settings=SETTINGS,
    )
    kinds = dict(zip(plan.table["node"], plan.table["kind"], strict=True))
    assert kinds[node_at(grid, 0, 0)] == "door"
    # (400, 0) is a bend of the grid, not an intersection
    assert set(plan.table["node"]) == {node_at(grid, x, 0) for x in (0, 100, 200, 300)}


def test_posts_need_corridors(grid: WalkNetwork, grid_plan: tuple) -> None:
    schools, corridors, routes = grid_plan
    with pytest.raises(DataError, match="no corridors"):
        plan_posts(grid, corridors.iloc[:0], schools, routes, settings=SETTINGS)


def test_post_budgets_follow_the_corridor_length_and_the_cap() -> None:
    from safepassage.staffing.posts import post_budgets

    corridors = pd.DataFrame({"school_id": ["A", "A", "B"], "length_m": [900.0, 700.0, 100.0]})
    budgets = post_budgets(corridors, ["A", "B", "C"], PostsConfig())  # 5.5 posts a km
    assert budgets == {"A": 9, "B": 1, "C": 1}  # 1.6 km: 8.8 -> 9; at least one each
    assert post_budgets(corridors, ["A"], PostsConfig(per_school=4)) == {"A": 4}
    assert post_budgets(corridors, ["A"], PostsConfig(per_km=2.0)) == {"A": 3}


def test_candidate_posts_mid_block_are_told_by_their_corners_ids_unchanged(
    block: WalkNetwork,
) -> None:
    door, end = node_at(block, 0, 0), node_at(block, 0, 280)
    edge_ids = block.shortest_paths([door], [end]).edge_path(door, end)
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1"], "node": [door]}, geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    corridors = gpd.GeoDataFrame(
        {"school_id": ["S1"], "route_id": ["R1"], "edge_ids": [edge_ids]},
        geometry=[shapely.LineString([(X0, Y0), (X0, Y0 + 280)])],
        crs=CHICAGO_EPSG,
    )
    posts = candidate_posts(block, corridors, schools).sort_values("y")
    assert posts["post_id"].tolist() == [
        "S1_Halsted_64th",
        "S1_Halsted_mid",
        "S1_Halsted_mid_2",
        "S1_Halsted_63rd",
        "S1_Halsted_mid_3",
    ]
    assert posts["cross_streets"].tolist() == [
        "S Halsted St & W 64th St",
        "S Halsted St between W 63rd St and W 64th St, 140 m from W 63rd St",
        "S Halsted St between W 63rd St and W 64th St, 80 m from W 63rd St",
        "S Halsted St & W 63rd St",
        "S Halsted St, 80 m north of W 63rd St",
    ]
