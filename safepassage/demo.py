"""``make demo``: the Englewood example on the shared Chicago data.

Until the full pipeline lands this loads and stitches the Englewood and West
Englewood walk networks, prints their summary and one route from a school.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from .config import DATA_ENV, default_data_root
from .errors import SafePassageError
from .routes.network import WalkNetwork, stitch

AREAS = ("englewood", "west_englewood")


def _ensure_data(root: Path) -> None:
    graphs = [root / "osm" / f"chicago_walk_2019_{a}.graphml.gz" for a in AREAS]
    if all(p.exists() for p in graphs):
        return
    print(
        f"The shared Chicago data is not at {root}.\n"
        "It comes from public snapshots of the City of Chicago Data Portal and OpenStreetMap\n"
        f"(see PROVENANCE.md in that folder). Set {DATA_ENV} to its location, or let the demo\n"
        "download the Englewood walk networks now from OpenStreetMap (internet needed)."
    )
    from .fetch import fetch_walk_network

    for area, path in zip(AREAS, graphs, strict=True):
        if not path.exists():
            place = f"{area.replace('_', ' ').title()}, Chicago, Illinois, USA"
            fetch_walk_network(place, path)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = default_data_root()
    try:
        _ensure_data(root)
        started = time.perf_counter()
        pieces = [
            WalkNetwork.from_graphml(root / "osm" / f"chicago_walk_2019_{a}.graphml.gz")
            for a in AREAS
        ]
        network = stitch(pieces)
        print(f"Loaded and stitched in {time.perf_counter() - started:.1f} s")
        print(json.dumps(network.summary(), indent=2))
        # one route: from the node nearest the centre to the farthest node within 2.4 km
        centre = network.nodes[["x", "y"]].to_numpy().mean(axis=0)
        school = int(network.snap(centre[None, :], max_m=500, strict=True).nodes[0])
        paths = network.shortest_paths([school], limit_m=2400, reverse=True)
        dist = np.where(np.isfinite(paths.distances[0]), paths.distances[0], -1)
        origin = int(np.argmax(dist))
        edges = network.edges.iloc[paths.edge_path(school, origin)]
        streets = [n for n in dict.fromkeys(edges["name"]) if n]
        print(
            f"Route from node {origin} to node {school}: {dist[origin]:.0f} m, "
            f"{len(edges)} segments along {', '.join(streets) or 'unnamed streets'}"
        )
    except SafePassageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
