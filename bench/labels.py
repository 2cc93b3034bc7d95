"""Benchmark post labels: ``place_labels`` against the corner-only ``cross_streets``.

Run ``.venv/bin/python bench/labels.py`` (citywide network, about a minute to
load) or add ``--quick`` for the Englewood graph.  In one run, on the same
nodes (a seeded sample of intersections, street count >= 3, as candidate posts
are): ours (``place_labels``: walks along each mid-block node's street to its
corners, labels made distinct) vs the baseline (``cross_streets``: the two
streets at the node, "(mid-block)" otherwise).  The baseline does less work,
so a ratio below 1 is expected; what matters is seconds per thousand nodes.
Prints how many labels take each form.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Result,
    add_data_argument,
    best_of,
    peak_rss_mb,
    print_result,
    resolve_data_root,
    timed,
)

from safepassage.routes.network import WalkNetwork
from safepassage.streets import cross_streets, place_labels

CITY_GRAPH = "osm/chicago_walk_2019_77_community_areas_union.graphml.gz"
QUICK_GRAPH = "osm/chicago_walk_2019_englewood.graphml.gz"


def label_form(label: str) -> str:
    """Which form of :func:`place_labels` a label takes."""
    if label.endswith("(mid-block)"):
        return "mid-block"
    if label.startswith("unnamed way"):
        return "unnamed way near" if " near " in label else "unnamed way"
    if " between " in label:
        return "between"
    if re.search(r", \d+ m \w+ of ", label):
        return "one corner"
    return "near a corner" if " near " in label else "corner"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--quick", action="store_true", help="the Englewood graph only")
    parser.add_argument("--nodes", type=int, default=3000, help="nodes to label")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    with timed() as load:
        network = WalkNetwork.from_graphml(root / (QUICK_GRAPH if args.quick else CITY_GRAPH))
    size = f"{len(network.nodes):,} nodes, {len(network.edges):,} edges"
    print(f"network: {size} (loaded in {load.seconds:.0f} s)")
    pool = np.flatnonzero(network.nodes["street_count"].to_numpy() >= 3)
    rng = np.random.default_rng(20161)
    nodes = rng.choice(pool, size=min(args.nodes, len(pool)), replace=False).tolist()
    ours_s, labels = best_of(args.repeat, lambda: place_labels(network, nodes))
    baseline_s, _ = best_of(args.repeat, lambda: cross_streets(network, nodes))
    print_result(
        Result(
            f"label {len(nodes):,} nodes",
            ours_s,
            baseline_s,
            "cross_streets: corners only",
            peak_rss_mb(),
            note=f"{1000 * ours_s / len(nodes):.3f} s per thousand nodes",
        )
    )
    assert len(set(labels)) == len(labels), "labels are not distinct"
    for form, count in Counter(map(label_form, labels)).most_common():
        print(f"  {form:<18} {count:>6,}")


if __name__ == "__main__":
    main()
