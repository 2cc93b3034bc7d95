from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safepassage.errors import DataError, MissingColumnError
from safepassage.routes.corridors import compare_routes, designate_corridors
from safepassage.routes.network import WalkNetwork
from safepassage.routes.origins import (
    aggregate_origins,
    allocate_students,
    census_population,
    node_population,
    school_bands,
)
from safepassage.routes.paths import prepare_route_costs, route_students
from tests.conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0


def node_at(net: WalkNetwork, x: float, y: float) -> int:
    return int(net.snap(np.array([[X0 + x, Y0 + y]]), max_m=1.0, strict=True).nodes[0])


def two_corner_schools(
    grid: WalkNetwork, ids: list[str], bands: list[str], enrollment: list[int]
) -> gpd.GeoDataFrame:
    """Schools at the (0, 0) and (400, 400) corners of the grid."""
    return gpd.GeoDataFrame(
        {
            "school_id": ids,
            "node": [node_at(grid, 0, 0), node_at(grid, 400, 400)],
            "grade_band": bands,
            "enrollment": enrollment,
        },
        geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 400, Y0 + 400)],
        crs=CHICAGO_EPSG,
    )


def grid_square(population: float) -> gpd.GeoDataFrame:
    """One polygon covering the whole grid with ``population`` people."""
    square = shapely.box(X0 - 1, Y0 - 1, X0 + 401, Y0 + 401)
    return gpd.GeoDataFrame({"population": [population]}, geometry=[square], crs=CHICAGO_EPSG)


def one_route_setup(grid: WalkNetwork) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    school, origin = node_at(grid, 0, 0), node_at(grid, 200, 0)
    schools = gpd.GeoDataFrame(
        {"school_id": ["S1"], "node": [school]}, geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    origins = gpd.GeoDataFrame(
        {"origin_id": ["S1-1"], "school_id": ["S1"], "students": [30], "node": [origin]},
        geometry=[shapely.Point(X0 + 200, Y0)],
        crs=CHICAGO_EPSG,
    )
    mid = node_at(grid, 100, 0)
    risky = ((grid.edges["u"] == mid) | (grid.edges["v"] == mid)) & (
        grid.edges.geometry.centroid.y.round() == Y0
    )
    risk = np.where(risky, 100.0, 1.0)
    return schools, origins, risk


@pytest.mark.parametrize(("cap", "expected_m"), [(1.25, 200.0), (2.0, 400.0)])
def test_route_bends_around_risk_only_within_the_detour_cap(
    grid: WalkNetwork, cap: float, expected_m: float
) -> None:
    schools, origins, risk = one_route_setup(grid)
    routes = route_students(
        grid,
        schools,
        origins,
        costs=prepare_route_costs(
            grid, windows=("am",), risk=lambda _w: risk, risk_weight=1.0, factors={}
        ),
        detour_cap=cap,
    )
    row = routes.routes.iloc[0]
    assert row["length_m"] == pytest.approx(expected_m)
    assert row["detour_ratio"] == pytest.approx(expected_m / 200.0)


def test_flows_count_students_on_every_route_edge(grid: WalkNetwork) -> None:
    schools, origins, _ = one_route_setup(grid)
    routes = route_students(
        grid, schools, origins, costs=prepare_route_costs(grid, windows=("am", "pm"), factors={})
    )
    flow = routes.flow("am", len(grid.edges))
    assert flow.sum() == 2 * 30  # two 100 m edges
    assert set(routes.flows["window"]) == {"am", "pm"}


def test_bad_detour_cap_is_refused(grid: WalkNetwork) -> None:
    schools, origins, _ = one_route_setup(grid)
    with pytest.raises(DataError, match="detour_cap"):
        route_students(grid, schools, origins, detour_cap=0.9)


def test_origins_never_hold_fewer_than_min_students(grid: WalkNetwork) -> None:
    rng = np.random.default_rng(0)
    demand = pd.DataFrame(
        {"school_id": "S1", "node": np.arange(25), "students": rng.uniform(0, 4, 25)}
    )
    origins = aggregate_origins(grid, demand, cell_m=100, min_students=10)
    assert (origins["students"] >= 10).all()
    assert origins["students"].sum() == pytest.approx(demand["students"].sum(), abs=len(origins))
    assert origins["origin_id"].is_unique


def test_origins_below_minimum_everywhere_are_suppressed(grid: WalkNetwork) -> None:
    demand = pd.DataFrame({"school_id": "S1", "node": [0, 1], "students": [2.0, 3.0]})
    assert aggregate_origins(grid, demand, min_students=10).empty


def test_grade_bands_from_grades_text() -> None:
    schools = pd.DataFrame({"grades": ["K, 1, 2, 3", "9, 10, 11, 12", "6,7,8,9,10"]})
    assert school_bands(schools).tolist() == ["elementary", "high", "both"]


def test_students_go_only_to_schools_of_their_band(grid: WalkNetwork) -> None:
    schools = two_corner_schools(grid, ["E", "H"], ["elementary", "high"], [1000, 1000])
    population = np.full(len(grid.nodes), 100.0)
    table = allocate_students(
        grid,
        schools,
        population,
        band_share={"elementary": 0.1, "high": 0.05},
        radius_m={"elementary": 5000, "high": 5000},
    )
    totals = table.groupby("school_id")["students"].sum()
    assert totals["E"] == pytest.approx(25 * 100 * 0.1)
    assert totals["H"] == pytest.approx(25 * 100 * 0.05)


def test_enrollment_caps_a_school(grid: WalkNetwork) -> None:
    schools = two_corner_schools(grid, ["A", "B"], ["elementary", "elementary"], [50, 1000])
    population = np.full(len(grid.nodes), 100.0)
    table = allocate_students(grid, schools, population, band_share={"elementary": 0.1})
    totals = table.groupby("school_id")["students"].sum()
    assert totals["A"] <= 50 + 1e-6
    assert totals.sum() == pytest.approx(250.0, rel=1e-3)


def test_radius_must_be_positive(grid: WalkNetwork) -> None:
    schools = gpd.GeoDataFrame(
        {"school_id": ["E"], "node": [0]}, geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    with pytest.raises(DataError, match="radius"):
        allocate_students(grid, schools, np.ones(25), radius_m={"elementary": 0})


def test_population_spreads_along_residential_streets(grid: WalkNetwork) -> None:
    polygons = grid_square(400.0)
    pop = node_population(grid, polygons, residential_classes=frozenset({"residential"}))
    assert pop.sum() == pytest.approx(400.0)
    assert pop.max() > pop.min()  # interior nodes touch more street than corners


def test_census_population_zero_pads_codes() -> None:
    blocks = gpd.GeoDataFrame(
        {"tract_bloc": ["0310003002"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=CHICAGO_EPSG
    )
    population = pd.DataFrame({"CENSUS BLOCK": [310003002], "TOTAL POPULATION": [104]})
    assert census_population(blocks, population)["population"].tolist() == [104]
    with pytest.raises(MissingColumnError, match="TOTAL POPULATION"):
        census_population(blocks, population.drop(columns="TOTAL POPULATION"))


def test_corridor_follows_the_flow_within_budget(grid: WalkNetwork) -> None:
    schools, origins, _ = one_route_setup(grid)
    routes = route_students(
        grid, schools, origins, costs=prepare_route_costs(grid, windows=("am",), factors={})
    )
    corridors = designate_corridors(grid, schools, routes, budget_m=150)
    assert corridors["length_m"].tolist() == [pytest.approx(100.0)]
    full = designate_corridors(grid, schools, routes, budget_m=1000)
    assert full["length_m"].tolist() == [pytest.approx(200.0)]
    assert full["students_served"].tolist() == [pytest.approx(30.0)]


def test_compare_routes_on_hand_made_lines() -> None:
    ours = gpd.GeoDataFrame(
        {"school_id": ["A"]}, geometry=[shapely.LineString([(0, 0), (1000, 0)])], crs=CHICAGO_EPSG
    )
    ref = gpd.GeoDataFrame(
        {"school_id": ["A"]},
        geometry=[shapely.LineString([(500, 10), (1500, 10)])],
        crs=CHICAGO_EPSG,
    )
    table = compare_routes(ours, ref, tolerance_m=50).set_index("school_id")
    # lines 10 m apart: the reference is near ours from x=500 to 1000 + sqrt(50^2 - 10^2)
    near = (1000 + np.sqrt(50**2 - 10**2) - 500) / 1000
    assert table.loc["A", "recall"] == pytest.approx(near, abs=1e-3)
    assert table.loc["A", "precision"] == pytest.approx(near, abs=1e-3)
    assert table.loc["ALL", "recall"] == pytest.approx(near, abs=1e-3)


def test_unsnapped_and_unreachable_schools_are_listed_while_others_are_planned(
    grid: WalkNetwork,
) -> None:
    from safepassage.routes.origins import estimate_origins

    schools = gpd.GeoDataFrame(
        {
            "school_id": ["OK", "FAR", "EMPTY"],
            "node": [node_at(grid, 0, 0), -1, node_at(grid, 400, 400)],
            "grade_band": ["elementary", "elementary", "high"],
        },
        geometry=[shapely.Point(X0, Y0)] * 3,
        crs=CHICAGO_EPSG,
    )
    polygons = grid_square(2000.0)
    result = estimate_origins(grid, schools, polygons, band_share={"elementary": 0.1, "high": 0.0})
    assert set(result.origins["school_id"]) == {"OK"}
    problems = dict(zip(result.problems["school_id"], result.problems["problem"], strict=True))
    assert "does not snap" in problems["FAR"]
    assert "no origin" in problems["EMPTY"]


def test_competing_schools_draw_students_but_get_no_origins(grid: WalkNetwork) -> None:
    from safepassage.routes.origins import estimate_origins

    def school(sid: str, x: float, y: float) -> dict[str, object]:
        return {"school_id": sid, "node": node_at(grid, x, y), "grade_band": "elementary"}

    planned = gpd.GeoDataFrame(
        [school("A", 0, 0)], geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    rival = gpd.GeoDataFrame(
        [school("B", 400, 400)], geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    polygons = grid_square(2000.0)
    alone = estimate_origins(grid, planned, polygons, band_share={"elementary": 0.1})
    shared = estimate_origins(
        grid,
        planned,
        polygons,
        band_share={"elementary": 0.1},
        competitors=pd.concat([planned, rival]),
    )
    assert set(shared.origins["school_id"]) == {"A"}
    assert shared.origins["students"].sum() < alone.origins["students"].sum()
