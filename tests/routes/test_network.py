from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safepassage.errors import CRSError, DataError, NoRouteError, SafePassageError, SnapError
from safepassage.routes.network import WalkNetwork
from safepassage.routes.stitch import stitch
from tests.conftest import CHICAGO_EPSG, grid_lines

X0, Y0 = 440_000.0, 4_630_000.0


def node_at(net: WalkNetwork, x: float, y: float) -> int:
    return int(net.snap(np.array([[X0 + x, Y0 + y]]), max_m=1.0, strict=True).nodes[0])


# ----------------------------------------------------------------- grid
def test_grid_has_hand_counted_nodes_and_edges(grid: WalkNetwork) -> None:
    summary = grid.summary()
    assert (summary["nodes"], summary["edges"]) == (25, 80)
    assert summary["km"] == pytest.approx(4.0)
    assert summary["components"] == 1
    assert summary["crs"] == "EPSG:26916"


def test_grid_corner_to_corner_is_800_m(grid: WalkNetwork) -> None:
    a, b = node_at(grid, 0, 0), node_at(grid, 400, 400)
    paths = grid.shortest_paths([a], targets=[b])
    assert paths.distances[0, 0] == pytest.approx(800.0)
    edges = paths.edge_path(a, b)
    assert len(edges) == 8
    assert grid.edges["length"].to_numpy()[edges].sum() == pytest.approx(800.0)
    assert paths.node_path(a, b)[0] == a
    assert paths.node_path(a, b)[-1] == b


def test_limit_leaves_far_nodes_unreached(grid: WalkNetwork) -> None:
    a = node_at(grid, 0, 0)
    dist = grid.shortest_paths([a], limit_m=250).distances[0]
    assert np.isfinite(dist).sum() == 6  # (0,0) (1,0) (0,1) (2,0) (1,1) (0,2) in blocks
    with pytest.raises(NoRouteError):
        grid.shortest_paths([a], limit_m=250).node_path(a, node_at(grid, 400, 400))


def test_cost_array_bends_the_route(grid: WalkNetwork) -> None:
    a, b = node_at(grid, 0, 0), node_at(grid, 200, 0)
    cost = grid.edges["length"].to_numpy().copy()
    mid = node_at(grid, 100, 0)
    risky = (grid.edges["u"] == mid) | (grid.edges["v"] == mid)
    straight = grid.shortest_paths([a], targets=[b])
    assert straight.distances[0, 0] == pytest.approx(200.0)
    cost[risky.to_numpy()] *= 10
    bent = grid.shortest_paths([a], targets=[b], cost=cost)
    assert bent.distances[0, 0] == pytest.approx(400.0)  # around the block
    assert mid not in bent.node_path(a, b)


def test_cost_must_cover_every_edge(grid: WalkNetwork) -> None:
    with pytest.raises(DataError, match="one value per edge"):
        grid.shortest_paths([0], cost=np.ones(3))
    with pytest.raises(DataError, match="non-negative"):
        grid.shortest_paths([0], cost=-np.ones(len(grid.edges)))


def test_snap_refuses_points_beyond_the_limit(grid: WalkNetwork) -> None:
    pts = np.array([[X0 + 3, Y0 + 4], [X0 - 500, Y0]])
    result = grid.snap(pts, max_m=50)
    assert result.table["snapped"].tolist() == [True, False]
    assert result.table["distance_m"][0] == pytest.approx(5.0)
    assert result.nodes[1] == -1
    assert result.table["distance_m"][1] == pytest.approx(500.0)
    with pytest.raises(SnapError, match=r"point 2 \(500 m\)"):  # the second point, counted from 1
        grid.snap(pts, max_m=50, strict=True)


def test_snap_reprojects_lonlat_points_and_needs_a_crs(grid: WalkNetwork) -> None:
    corner = gpd.GeoSeries([shapely.Point(X0, Y0)], crs=CHICAGO_EPSG).to_crs(4326)
    assert grid.snap(corner, max_m=1).nodes[0] == node_at(grid, 0, 0)
    with pytest.raises(CRSError):
        grid.snap(gpd.GeoSeries([shapely.Point(X0, Y0)]), max_m=1)


def test_walkshed_keeps_nodes_within_network_distance(grid: WalkNetwork) -> None:
    shed = grid.walkshed(np.array([[X0, Y0]]), radius_m=150)
    assert len(shed.nodes) == 3
    assert shed.summary()["km"] == pytest.approx(0.2)


def test_centerlines_are_noded_where_they_cross() -> None:
    plus = gpd.GeoDataFrame(
        {"name": ["Main St", "Oak Ave"]},
        geometry=[
            shapely.LineString([(X0 - 100, Y0), (X0 + 100, Y0)]),
            shapely.LineString([(X0, Y0 - 100), (X0, Y0 + 100)]),
        ],
        crs=CHICAGO_EPSG,
    )
    net = WalkNetwork.from_centerlines(plus)
    assert (len(net.nodes), len(net.edges)) == (5, 8)
    assert set(net.edges["name"]) == {"Main St", "Oak Ave"}


def test_centerlines_need_a_crs() -> None:
    lines = grid_lines().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        WalkNetwork.from_centerlines(lines)


def test_centerlines_in_feet_are_projected_to_metres() -> None:
    lines = grid_lines().to_crs(3435)  # Illinois East, US feet
    net = WalkNetwork.from_centerlines(lines)
    assert net.crs.to_epsg() == 26916
    assert net.summary()["km"] == pytest.approx(4.0, rel=1e-3)


# ------------------------------------------------------- graph and parallels
def _two_node_graph(crs: str = "EPSG:26916") -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs=crs)
    graph.add_node(1, x=X0, y=Y0)
    graph.add_node(2, x=X0 + 40, y=Y0)
    graph.add_edge(1, 2, length=100.0, highway="residential", name="Long Way")
    graph.add_edge(1, 2, length=50.0, highway="service", name="Alley")
    graph.add_edge(2, 1, length=50.0, highway="service", name="Alley")
    return graph


def test_parallel_edges_keep_the_minimum_not_the_sum() -> None:
    net = WalkNetwork.from_graph(_two_node_graph())
    indptr, _indices, edge_index = net.csr_arrays
    assert indptr.tolist() == [0, 1, 2]
    assert net.edges["length"].to_numpy()[edge_index].tolist() == [50.0, 50.0]
    assert net.shortest_paths([0], targets=[1]).distances[0, 0] == pytest.approx(50.0)


def test_parallel_edges_follow_the_custom_cost() -> None:
    net = WalkNetwork.from_graph(_two_node_graph())
    cost = np.where(net.edges["highway"] == "service", 1000.0, net.edges["length"])
    paths = net.shortest_paths([0], targets=[1], cost=cost)
    assert paths.distances[0, 0] == pytest.approx(100.0)
    assert net.edges["name"][paths.edge_path(0, 1)[0]] == "Long Way"


def test_reverse_search_gives_routes_towards_the_source() -> None:
    graph = nx.MultiDiGraph(crs="EPSG:26916")
    for i in range(3):
        graph.add_node(i, x=X0 + 10 * i, y=Y0)
    graph.add_edge(0, 1, length=10.0)
    graph.add_edge(1, 2, length=10.0)
    graph.add_edge(2, 0, length=100.0)
    net = WalkNetwork.from_graph(graph)
    forward = net.shortest_paths([2], targets=[0])
    backward = net.shortest_paths([2], targets=[0], reverse=True)
    assert forward.distances[0, 0] == pytest.approx(100.0)
    assert backward.distances[0, 0] == pytest.approx(20.0)  # 0 -> 1 -> 2
    assert backward.node_path(2, 0) == [0, 1, 2]


def test_graph_without_crs_is_refused() -> None:
    graph = _two_node_graph()
    del graph.graph["crs"]
    with pytest.raises(CRSError, match="crs"):
        WalkNetwork.from_graph(graph)


def test_geographic_crs_is_projected_and_swapped_axes_are_named() -> None:
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(1, x=-87.63, y=41.77)
    graph.add_node(2, x=-87.62, y=41.77)
    graph.add_edge(1, 2, length=830.0)
    assert WalkNetwork.from_graph(graph).crs.to_epsg() == 26916
    swapped = nx.MultiDiGraph(crs="EPSG:4326")
    swapped.add_node(1, x=41.77, y=-87.63)
    swapped.add_node(2, x=41.77, y=-187.62)
    swapped.add_edge(1, 2, length=830.0)
    with pytest.raises(CRSError, match="swapped"):
        WalkNetwork.from_graph(swapped)


def test_empty_graph_has_no_walkable_streets() -> None:
    graph = nx.MultiDiGraph(crs="EPSG:26916")
    with pytest.raises(DataError, match="no walkable streets"):
        WalkNetwork.from_graph(graph)


# --------------------------------------------------------------- OSM XML
OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="41.7700" lon="-87.6300"/>
  <node id="2" lat="41.7700" lon="-87.6290"/>
  <node id="3" lat="41.7710" lon="-87.6290"/>
  <node id="4" lat="41.7710" lon="-87.6300"/>
  <node id="5" lat="41.7720" lon="-87.6300"/>
  <node id="6" lat="41.7720" lon="-87.6280"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>
    <tag k="oneway" v="yes"/><tag k="name" v="S Oak St"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/></way>
  <way id="12"><nd ref="3"/><nd ref="4"/><tag k="highway" v="motorway"/></way>
  <way id="13"><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/>
    <tag k="foot" v="no"/></way>
  <way id="14"><nd ref="4"/><nd ref="5"/><tag k="highway" v="service"/>
    <tag k="access" v="private"/></way>
  <way id="15"><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/>
    <tag k="access" v="private"/><tag k="foot" v="yes"/></way>
</osm>
"""


def test_osm_xml_keeps_walkable_ways_in_both_directions(tmp_path: Path) -> None:
    path = tmp_path / "area.osm.bz2"
    path.write_bytes(bz2.compress(OSM_XML.encode()))
    net = WalkNetwork.from_osm_xml(path)
    # node 4 only touches the motorway, the foot=no street and the private alley
    assert set(net.nodes["osmid"]) == {"1", "3", "5", "6"}  # node 2 simplified away
    assert set(net.edges["osmid"]) == {"10", "15"}  # 10+11 merged into one edge
    assert "motorway" not in set(net.edges["highway"])
    # the one-way street is walkable both ways
    oak = net.edges[net.edges["osmid"] == "10"]
    assert len(oak) == 2
    assert set(zip(oak["u"], oak["v"], strict=True)) == {
        (int(oak["u"].iloc[0]), int(oak["v"].iloc[0])),
        (int(oak["v"].iloc[0]), int(oak["u"].iloc[0])),
    }


def test_osm_xml_without_walkable_ways_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "motorway.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="41.77" lon="-87.63"/>'
        '<node id="2" lat="41.77" lon="-87.62"/><way id="9"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="motorway"/></way></osm>'
    )
    with pytest.raises(DataError, match=r"motorway\.osm: holds no walkable ways"):
        WalkNetwork.from_osm_xml(path)


def test_shared_osm_fixture_loads(data_root: Path) -> None:
    net = WalkNetwork.from_osm_xml(data_root / "osm" / "chicago_humboldt_park_tiny.osm.bz2")
    assert net.summary()["components"] == 1
    assert "footway" in set(net.edges["highway"])


# ------------------------------------------------------------- bad files
def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere\.graphml\.gz: file not found"):
        WalkNetwork.from_graphml(tmp_path / "nowhere.graphml.gz")


def test_truncated_gzip_is_a_clear_error(tmp_path: Path, data_root: Path) -> None:
    source = (data_root / "osm" / "chicago_walk_2019_englewood.graphml.gz").read_bytes()
    broken = tmp_path / "broken.graphml.gz"
    broken.write_bytes(source[: len(source) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        WalkNetwork.from_graphml(broken)


def test_garbage_graphml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.graphml.gz"
    path.write_bytes(gzip.compress(b"<graphml><graph><node id='1'></graph>"))
    with pytest.raises(SafePassageError, match=r"garbage\.graphml\.gz"):
        WalkNetwork.from_graphml(path)


def test_empty_line_layer_is_refused() -> None:
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=CHICAGO_EPSG)
    with pytest.raises(DataError, match="no line geometries"):
        WalkNetwork.from_centerlines(empty)


# ---------------------------------------------------------- shared files
def test_englewood_graphml_matches_provenance(englewood: WalkNetwork) -> None:
    summary = englewood.summary()
    assert (summary["nodes"], summary["edges"]) == (1397, 4430)
    assert summary["km"] == pytest.approx(185.8, abs=0.2)
    assert summary["crs"] == "EPSG:26916"


def test_stitching_joins_englewood_and_west_englewood(
    englewood: WalkNetwork, west_englewood: WalkNetwork
) -> None:
    apart = stitch([englewood, west_englewood], seam_tolerance_m=0, cut_tolerance_m=0)
    joined = stitch([englewood, west_englewood])
    assert apart.summary()["components"] == 2
    assert joined.summary()["components"] == 1
    assert joined.seams_joined > 0
    # a school-day walk across the boundary: from each area's first node
    a = 0
    b = len(englewood.nodes)
    assert np.isinf(apart.shortest_paths([a], targets=[b]).distances[0, 0])
    assert np.isfinite(joined.shortest_paths([a], targets=[b]).distances[0, 0])


def test_cache_round_trip_gives_the_same_routes(englewood: WalkNetwork, tmp_path: Path) -> None:
    path = englewood.save(tmp_path / "englewood.net")
    loaded = WalkNetwork.load(path)
    assert loaded.summary() == englewood.summary()
    sources = [0, 100, 500]
    np.testing.assert_allclose(
        loaded.shortest_paths(sources).distances, englewood.shortest_paths(sources).distances
    )


def test_cache_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no network cache"):
        WalkNetwork.load(tmp_path / "none")


@settings(max_examples=30, deadline=None)
@given(pair=st.tuples(st.integers(0, 1396), st.integers(0, 1396)))
def test_path_lengths_equal_networkx(
    englewood_graph: tuple[WalkNetwork, nx.DiGraph], pair: tuple[int, int]
) -> None:
    net, graph = englewood_graph
    a, b = pair
    ours = net.shortest_paths([a], targets=[b]).distances[0, 0]
    theirs = nx.dijkstra_path_length(graph, a, b, weight="length")
    assert ours == pytest.approx(theirs, abs=1e-6)


@pytest.fixture(scope="module")
def englewood_graph(englewood: WalkNetwork) -> tuple[WalkNetwork, nx.DiGraph]:
    graph = nx.DiGraph()
    for u, v, length in englewood.edges[["u", "v", "length"]].itertuples(index=False):
        if not graph.has_edge(u, v) or graph[u][v]["length"] > length:
            graph.add_edge(u, v, length=length)
    return englewood, graph


def test_edge_paths_match_edge_path_in_both_directions(englewood: WalkNetwork) -> None:
    targets = np.arange(0, 1397, 97)
    for reverse in (False, True):
        paths = englewood.shortest_paths([5], reverse=reverse)
        together = paths.edge_paths(5, targets)
        for target, edges in zip(targets, together, strict=True):
            assert edges.tolist() == paths.edge_path(5, int(target))


def test_any_line_layer_loads_as_centerlines(data_root: Path) -> None:
    routes = data_root / "safe_passage" / "safe_passage_routes_SY1617.geojson.gz"
    net = WalkNetwork.from_centerlines(routes, name_column="school_nam")
    summary = net.summary()
    assert summary["crs"] == "EPSG:26916"
    assert summary["km"] > 100  # 109 official route lines, about 160 km
