"""Place labels: corners by cross streets, mid-block nodes by the corners along their street."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from safepassage.routes.network import WalkNetwork
from safepassage.streets import cross_streets, place_labels

X0, Y0 = 440_000.0, 4_630_000.0


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
