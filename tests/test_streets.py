"""Place labels: corners by cross streets, mid-block nodes by the corners along their street."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from safepassage.routes.network import WalkNetwork
from safepassage.streets import cross_streets, place_labels
from tests.conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0

# (name, highway, points in metres from (X0, Y0)); Chicago numbers its streets southward
BLOCK = [
    ("South Halsted Street", "secondary", [(0, 0), (0, 600)]),
    ("West 64th Street", "residential", [(0, 0), (300, 0)]),
    ("West 63rd Street", "residential", [(0, 200), (300, 200)]),
    # Green St has two carriageways 10 m apart
    ("South Green Street", "residential", [(200, 0), (200, 200)]),
    ("South Green Street", "residential", [(210, 0), (210, 200)]),
    # alleys off Halsted: two between 63rd and 64th, one north of 63rd
    ("", "alley", [(0, 120), (150, 120)]),
    ("", "alley", [(0, 60), (100, 60)]),
    ("", "alley", [(0, 280), (100, 280)]),
    # a footway from the alley's end: a node where only unnamed ways meet
    ("", "footway", [(150, 120), (150, 170)]),
    # a named stub meeting no other street
    ("West 62nd Place", "residential", [(50, 400), (150, 400)]),
]


@pytest.fixture(scope="module")
def block() -> WalkNetwork:
    lines = gpd.GeoDataFrame(
        {"name": [n for n, _, _ in BLOCK], "highway": [h for _, h, _ in BLOCK]},
        geometry=[
            shapely.LineString([(X0 + x, Y0 + y) for x, y in points]) for _, _, points in BLOCK
        ],
        crs=CHICAGO_EPSG,
    )
    return WalkNetwork.from_centerlines(lines)


def at(net: WalkNetwork, x: float, y: float) -> int:
    return int(net.snap(np.array([[X0 + x, Y0 + y]]), max_m=1.0, strict=True).nodes[0])


def test_an_alley_node_is_named_between_the_corners_either_way(block: WalkNetwork) -> None:
    assert place_labels(block, [at(block, 0, 120)]) == [
        "S Halsted St between W 63rd St and W 64th St"
    ]


def test_a_node_with_a_corner_on_one_side_only_is_metres_from_it(block: WalkNetwork) -> None:
    # Halsted runs 320 m on north of 63rd without another corner
    assert place_labels(block, [at(block, 0, 280)]) == ["S Halsted St, 80 m north of W 63rd St"]


def test_a_street_with_no_corner_along_it_is_near_the_nearest_corner(
    block: WalkNetwork,
) -> None:
    stub_end = at(block, 50, 400)  # 206 m from Halsted & 63rd
    assert place_labels(block, [stub_end]) == ["W 62nd Pl near S Halsted St & W 63rd St"]
    assert place_labels(block, [stub_end], limit_m=150) == ["W 62nd Pl (mid-block)"]


def test_two_nodes_between_the_same_corners_add_their_distance_from_the_first(
    block: WalkNetwork,
) -> None:
    labels = place_labels(block, [at(block, 0, 120), at(block, 0, 60)])
    assert labels == [
        "S Halsted St between W 63rd St and W 64th St, 80 m from W 63rd St",
        "S Halsted St between W 63rd St and W 64th St, 140 m from W 63rd St",
    ]


def test_corners_keep_their_cross_streets(block: WalkNetwork) -> None:
    corners = [at(block, 0, 200), at(block, 0, 0), at(block, 200, 200)]
    assert place_labels(block, corners) == [
        "S Halsted St & W 63rd St",
        "S Halsted St & W 64th St",
        "S Green St & W 63rd St",
    ]
    assert place_labels(block, corners) == cross_streets(block, corners)


def test_a_boulevards_two_carriageways_at_one_corner_get_their_side(block: WalkNetwork) -> None:
    corners = [at(block, 210, 0), at(block, 200, 0)]
    assert place_labels(block, corners) == [
        "S Green St & W 64th St (east side)",
        "S Green St & W 64th St (west side)",
    ]
    assert place_labels(block, corners, distinct=False) == ["S Green St & W 64th St"] * 2


def test_a_node_on_unnamed_ways_only_is_near_the_nearest_corner(block: WalkNetwork) -> None:
    assert place_labels(block, [at(block, 150, 120)]) == ["unnamed way near S Green St & W 63rd St"]


def test_every_node_of_the_block_gets_its_own_label(block: WalkNetwork) -> None:
    labels = place_labels(block, range(len(block.nodes)))
    assert len(set(labels)) == len(labels)
    assert not [label for label in labels if label.endswith("(mid-block)")]


def test_englewood_corridor_nodes_are_placed_by_corners_and_distinct(
    englewood: WalkNetwork, data_root: Path
) -> None:
    corridor = {"South Halsted Street", "West 63rd Street", "South Racine Avenue"}
    edges = englewood.edges[englewood.edges["name"].isin(corridor)]
    nodes = np.unique(edges[["u", "v"]].to_numpy()).tolist()
    labels = place_labels(englewood, nodes)
    assert len(nodes) > 100
    assert not [label for label in labels if "(mid-block)" in label]
    assert len(set(labels)) == len(labels)
    assert sum(" between " in label for label in labels) > len(nodes) / 4
