"""Risk surface on the 5 x 5 grid of 100 m blocks, with hand-computed kernel values."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.special import ndtr

from safepassage.errors import CRSError, DataError
from safepassage.risk import Incidents, RiskModel, RiskSurface, evaluate, read_incidents, score
from safepassage.routes.network import WalkNetwork

X0, Y0 = 440_000.0, 4_630_000.0
H = 150.0


def make_incidents(points: list[tuple[float, float]], times: list[str] | None = None) -> Incidents:
    """Incidents of weight 1 at grid coordinates (metres from the grid origin)."""
    n = len(points)
    times = times or ["2016-05-03 12:00"] * n
    table = gpd.GeoDataFrame(
        {
            "incident_id": [str(i) for i in range(n)],
            "occurred_at": pd.to_datetime(times).tz_localize("America/Chicago"),
            "year": [2016] * n,
            "category": ["assault"] * n,
            "weight": [1.0] * n,
            "source_row": list(range(n)),
        },
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in points],
        crs=26916,
    )
    problems = pd.DataFrame(columns=["problem", "count", "rows", "action"])
    return Incidents(table, problems, table.crs)


def edge_id(grid: WalkNetwork, a: tuple[float, float], b: tuple[float, float]) -> int:
    """Id of the edge from grid point a to grid point b (metres from the origin)."""
    xy = grid.nodes[["x", "y"]].to_numpy()
    u = int(np.argmin(np.hypot(xy[:, 0] - X0 - a[0], xy[:, 1] - Y0 - a[1])))
    v = int(np.argmin(np.hypot(xy[:, 0] - X0 - b[0], xy[:, 1] - Y0 - b[1])))
    edges = grid.edges
    return int(np.flatnonzero((edges["u"] == u).to_numpy() & (edges["v"] == v).to_numpy())[0])


def test_incident_mid_segment_gives_the_hand_computed_risk(grid: WalkNetwork) -> None:
    surface = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0))
    expected = (ndtr(50 / H) - ndtr(-50 / H)) / 0.1  # per km of a 100 m segment
    risk = surface.risk("all")
    assert risk[edge_id(grid, (0, 0), (100, 0))] == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(2.6112, abs=1e-4)


def test_both_directions_of_a_street_get_the_same_risk(grid: WalkNetwork) -> None:
    risk = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0)).risk("all")
    assert risk[edge_id(grid, (0, 0), (100, 0))] == risk[edge_id(grid, (100, 0), (0, 0))]


def test_collinear_neighbour_gets_the_gaussian_tail(grid: WalkNetwork) -> None:
    risk = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0)).risk("all")
    expected = (ndtr(150 / H) - ndtr(50 / H)) / 0.1
    assert risk[edge_id(grid, (100, 0), (200, 0))] == pytest.approx(expected, rel=1e-9)


def test_perpendicular_street_decays_with_distance(grid: WalkNetwork) -> None:
    risk = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0)).risk("all")
    expected = np.exp(-(50**2) / (2 * H**2)) * (ndtr(100 / H) - ndtr(0.0)) / 0.1
    assert risk[edge_id(grid, (0, 0), (0, 100))] == pytest.approx(expected, rel=1e-9)


def test_kernel_is_truncated_at_three_bandwidths(grid: WalkNetwork) -> None:
    risk = score(grid, make_incidents([(200, -451)]), model=RiskModel(years=1.0)).risk("all")
    assert np.all(risk == 0.0)


def test_risk_is_per_year(grid: WalkNetwork) -> None:
    one = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0)).risk("all")
    two = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=2.0)).risk("all")
    np.testing.assert_allclose(two, one / 2)


def test_incident_counts_only_in_its_window(grid: WalkNetwork) -> None:
    incidents = make_incidents([(50, 0)], times=["2016-05-03 07:15"])
    surface = score(
        grid,
        incidents,
        {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30")},
        model=RiskModel(years=1),
    )
    assert surface.windows == ["am", "pm"]
    assert surface.risk("am").max() > 0
    assert surface.risk("pm").max() == 0


def test_hazard_layer_adds_its_own_weighted_term(grid: WalkNetwork) -> None:
    lots = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 50, Y0)], crs=26916)
    surface = score(
        grid, make_incidents([]), hazards={"vacant": (lots, 2.0)}, model=RiskModel(years=1.0)
    )
    row = surface.table.loc[edge_id(grid, (0, 0), (100, 0))]
    per_km = (ndtr(50 / H) - ndtr(-50 / H)) / 0.1
    assert row["hazard_vacant"] == pytest.approx(per_km)
    assert row["risk_hazards"] == pytest.approx(2.0 * per_km)
    assert row["risk"] == pytest.approx(2.0 * per_km)
    assert row["risk_incidents"] == 0.0


def test_snap_share_puts_weight_on_the_nearest_street(grid: WalkNetwork) -> None:
    surface = score(grid, make_incidents([(50, 10)]), model=RiskModel(years=1.0, snap_share=1.0))
    risk = surface.risk("all")
    nearest = edge_id(grid, (0, 0), (100, 0))
    assert risk[nearest] == pytest.approx(1 / 0.1)
    assert np.count_nonzero(risk) == 2  # the street, both directions


def test_count_kernel_counts_incidents_within_the_bandwidth(grid: WalkNetwork) -> None:
    risk = score(
        grid, make_incidents([(50, 20)]), model=RiskModel(bandwidth_m=50, kernel="count", years=1)
    ).risk("all")
    assert risk[edge_id(grid, (0, 0), (100, 0))] == pytest.approx(10.0)
    assert risk[edge_id(grid, (0, 100), (100, 100))] == 0.0


def test_cost_is_length_times_one_plus_weighted_risk(grid: WalkNetwork) -> None:
    surface = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0))
    length = grid.edges["length"].to_numpy()
    np.testing.assert_allclose(surface.cost("all", weight=0.0), length)
    cost = surface.cost("all", weight=2.0)
    assert np.all(cost >= length)
    assert np.all(cost <= 3.0 * length + 1e-9)
    assert cost[edge_id(grid, (0, 0), (100, 0))] == pytest.approx(300.0)


def test_risk_cost_routes_around_the_incident(grid: WalkNetwork) -> None:
    surface = score(grid, make_incidents([(50, 0)]), model=RiskModel(bandwidth_m=30, years=1.0))
    start, end = edge_id(grid, (0, 0), (100, 0)), edge_id(grid, (100, 0), (0, 0))
    u, v = int(grid.edges["u"].iloc[start]), int(grid.edges["u"].iloc[end])
    plain = grid.shortest_paths([u], [v]).edge_path(u, v)
    safer = grid.shortest_paths([u], [v], cost=surface.cost("all", weight=5.0)).edge_path(u, v)
    assert plain == [start]
    assert start not in safer


def test_unknown_window_lists_the_windows(grid: WalkNetwork) -> None:
    surface = score(grid, make_incidents([(50, 0)]), model=RiskModel(years=1.0))
    with pytest.raises(KeyError, match="'all'"):
        surface.risk("am")


def test_unknown_kernel_is_refused(grid: WalkNetwork) -> None:
    with pytest.raises(DataError, match="kernel"):
        score(grid, make_incidents([(50, 0)]), model=RiskModel(kernel="epanechnikov"))


def test_incidents_in_another_crs_are_refused(grid: WalkNetwork) -> None:
    incidents = make_incidents([(50, 0)])
    moved = Incidents(
        incidents.table.to_crs(32616), incidents.problems, incidents.table.to_crs(32616).crs
    )
    with pytest.raises(CRSError, match=r"network=\.\.\."):
        score(grid, moved)


def test_gpkg_holds_one_risk_column_per_window(grid: WalkNetwork, tmp_path: Path) -> None:
    incidents = make_incidents([(50, 0)], times=["2016-05-03 07:15"])
    surface = score(
        grid,
        incidents,
        {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30")},
        model=RiskModel(years=1),
    )
    path = surface.to_gpkg(grid, tmp_path / "out" / "risk.gpkg")
    written = gpd.read_file(path, layer="risk")
    assert len(written) == len(grid.edges)
    assert {"risk_am", "risk_pm", "edge_id"} <= set(written.columns)
    assert sorted(p.name for p in path.parent.iterdir()) == ["risk.gpkg"]


def test_pai_on_hand_made_later_incidents(grid: WalkNetwork) -> None:
    risky = [(50, 0), (150, 0)]  # the two bottom-left E-W segments: 200 m of 4000 m = 5%
    surface = score(grid, make_incidents(risky), model=RiskModel(bandwidth_m=10, years=1.0))
    later = make_incidents([(40, 5), (160, -5), (250, 300), (300, 350), (900, 900)])
    result = evaluate(surface, grid, later, top=(0.05,)).iloc[0]
    assert result["length_share"] == pytest.approx(0.05)
    assert result["incidents_total"] == 5
    assert result["incidents"] == 4  # (900, 900) lies beyond 50 m of every street
    assert result["hits"] == 2
    assert result["pai"] == pytest.approx((2 / 4) / 0.05)


def test_baseline_surface_from_values_evaluates(grid: WalkNetwork) -> None:
    uniform = RiskSurface.from_values(grid, {"all": np.ones(len(grid.edges))})
    later = make_incidents([(40, 5)])
    result = evaluate(uniform, grid, later, top=(0.5,))
    assert result["length_share"].iloc[0] == pytest.approx(0.5)


def test_gun_crimes_score_on_englewood(data_root: Path, englewood: WalkNetwork) -> None:
    path = data_root / "crime" / "gun_crimes_2016_citywide.csv.gz"
    incidents = read_incidents(path, network=englewood)
    problems = incidents.problems.set_index("problem")
    assert problems.loc["missing_coordinates", "count"] == 287
    assert problems.loc["outside_network", "count"] > 10_000
    surface = score(englewood, incidents, {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30")})
    assert surface.risk("pm").max() > 0
    assert np.isfinite(surface.table["risk"]).all()


def test_geometric_blend_gives_the_hand_computed_rate(grid: WalkNetwork) -> None:
    incidents = make_incidents([(50, 0)])
    kernel = score(grid, incidents, model=RiskModel(years=1.0)).risk("all")
    surface = score(
        grid,
        incidents,
        model=RiskModel(years=1.0, snap_share=0.5, blend="geometric", blend_floor=0.1),
    )
    length_km = grid.edges["length"].to_numpy() / 1000.0
    floor = 0.1 * (kernel * length_km).sum() / length_km.sum()  # both directions: ratio holds
    snapped = 1 / 0.1  # one incident on 100 m
    on_street = (ndtr(50 / H) - ndtr(-50 / H)) / 0.1
    expected = np.sqrt((snapped + floor) * (on_street + floor)) - floor
    risk = surface.risk("all")
    assert risk[edge_id(grid, (0, 0), (100, 0))] == pytest.approx(expected, rel=1e-9)


def test_geometric_blend_keeps_a_street_without_a_snapped_incident_above_zero(
    grid: WalkNetwork,
) -> None:
    risk = score(
        grid,
        make_incidents([(50, 0)]),
        model=RiskModel(years=1.0, snap_share=0.2, blend="geometric"),
    ).risk("all")
    assert 0.0 < risk[edge_id(grid, (0, 100), (100, 100))] < risk[edge_id(grid, (0, 0), (100, 0))]


def test_geometric_blend_leaves_streets_beyond_the_kernel_at_zero(grid: WalkNetwork) -> None:
    risk = score(
        grid,
        make_incidents([(50, 0)]),
        model=RiskModel(bandwidth_m=30, years=1.0, snap_share=0.2, blend="geometric"),
    ).risk("all")
    assert risk[edge_id(grid, (300, 400), (400, 400))] == 0.0


def test_geometric_blend_with_full_snap_share_is_the_snapped_rate(grid: WalkNetwork) -> None:
    incidents = make_incidents([(50, 10), (320, 190)])
    linear = score(grid, incidents, model=RiskModel(years=1.0, snap_share=1.0)).risk("all")
    geometric = score(
        grid, incidents, model=RiskModel(years=1.0, snap_share=1.0, blend="geometric")
    ).risk("all")
    np.testing.assert_allclose(geometric, linear, atol=1e-9)


def test_unknown_blend_is_refused(grid: WalkNetwork) -> None:
    with pytest.raises(DataError, match="blend must be one of"):
        score(grid, make_incidents([(50, 0)]), model=RiskModel(snap_share=0.2, blend="harmonic"))


@pytest.mark.parametrize("floor", [0.0, -1.0, float("nan")])
def test_non_positive_blend_floor_is_refused(grid: WalkNetwork, floor: float) -> None:
    with pytest.raises(DataError, match="blend_floor"):
        score(
            grid, make_incidents([(50, 0)]), model=RiskModel(blend="geometric", blend_floor=floor)
        )


def test_blend_is_recorded_in_the_params(grid: WalkNetwork) -> None:
    surface = score(
        grid, make_incidents([(50, 0)]), model=RiskModel(snap_share=0.2, blend="geometric")
    )
    assert surface.params["blend"] == "geometric"
    assert surface.params["blend_floor"] == 0.05


def test_geometric_blend_of_a_window_without_incidents_is_zero(grid: WalkNetwork) -> None:
    incidents = make_incidents([(50, 0)], times=["2016-05-03 07:15"])
    surface = score(
        grid,
        incidents,
        {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30")},
        model=RiskModel(years=1.0, snap_share=0.2, blend="geometric"),
    )
    assert surface.risk("am").max() > 0
    assert np.all(surface.risk("pm") == 0.0)
