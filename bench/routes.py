"""Origins, routes and flows for every CPS school on the stitched citywide network.

Run: ``.venv/bin/python bench/routes.py [--data DIR] [--limit N]``.

Population: 2010 census tracts (tract population = sum of its blocks), spread
along residential streets.  Risk: a seeded random risk per edge (the bench
measures routing cost with risk-aware lambdas, not risk quality).  Baseline:
one networkx single-source Dijkstra per school on the same graph for the
shortest-route step, timed on a sample of schools and extrapolated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, peak_rss_mb, resolve_data_root

from safepassage.routes.network import WalkNetwork
from safepassage.routes.origins import (
    aggregate_origins,
    allocate_students,
    census_population,
    node_population,
)
from safepassage.routes.paths import prepare_route_costs, route_students
from safepassage.routes.stitch import stitch

CACHE = Path(tempfile.gettempdir()) / "safepassage-bench" / "city-stitched"


def citywide(root: Path) -> WalkNetwork:
    if CACHE.is_dir():
        return WalkNetwork.load(CACHE)
    net = stitch(
        WalkNetwork.from_graphml(
            root / "osm" / "chicago_walk_2019_77_community_areas_union.graphml.gz"
        )
    )
    net.save(CACHE)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_argument(parser)
    parser.add_argument("--limit", type=int, default=0, help="only the first N schools")
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    net = citywide(root)
    schools = gpd.read_file(f"/vsigzip/{root}/schools/CPS_School_Locations_SY1617.geojson.gz")
    profile = pd.read_csv(root / "schools" / "CPS_School_Profile_SY1617.csv.gz")
    schools["school_id"] = schools["school_id"].astype(str)
    enrollment = profile.set_index(profile["School_ID"].astype(str))["Student_Count_Total"]
    schools["enrollment"] = schools["school_id"].map(enrollment)
    schools["grade_band"] = (
        schools["grade_cat"].map({"ES": "elementary", "HS": "high"}).fillna("both")
    )
    if args.limit:
        schools = schools.head(args.limit)
    tracts = gpd.read_file(f"/vsigzip/{root}/boundaries/census_tracts_2010.geojson.gz")
    population = pd.read_csv(root / "census" / "population_by_2010_census_block.csv.gz")

    started = time.perf_counter()
    schools["node"] = net.snap(schools, max_m=150).nodes
    polygons = census_population(tracts, population)
    node_pop = node_population(net, polygons)
    t_pop = time.perf_counter() - started
    demand = allocate_students(net, schools, node_pop)
    t_alloc = time.perf_counter() - started - t_pop
    origins = aggregate_origins(net, demand)
    t_origins = time.perf_counter() - started
    risk = np.random.default_rng(0).gamma(0.5, 2.0, len(net.edges))
    routes = route_students(
        net, schools, origins, costs=prepare_route_costs(net, risk=lambda _w: risk), max_walk_m=3200
    )
    t_total = time.perf_counter() - started
    n = int((schools["node"] >= 0).sum())

    sample = schools[schools["node"] >= 0].head(10)
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(
        net.edges[["u", "v", "length"]].itertuples(index=False), weight="length"
    )
    t0 = time.perf_counter()
    for node in sample["node"]:
        nx.single_source_dijkstra_path_length(graph, int(node), cutoff=3200, weight="length")
    per_school_nx = (time.perf_counter() - t0) / len(sample)

    print(f"network: {len(net.nodes):,} nodes, {len(net.edges):,} edges")
    print(
        f"schools: {len(schools)} ({n} snapped); origins: {len(origins):,}; "
        f"students: {int(origins['students'].sum()):,}; routes: {len(routes.routes):,}"
    )
    print(f"population onto nodes   {t_pop:7.2f} s")
    print(f"allocation (gravity)    {t_alloc:7.2f} s")
    print(f"origins total           {t_origins:7.2f} s")
    print(f"routes + flows (am, pm) {t_total - t_origins:7.2f} s")
    print(
        f"total                   {t_total:7.2f} s"
        f"  = {1000 * t_total / max(n, 1):.1f} ms per school"
    )
    print(
        f"baseline: networkx Dijkstra (3.2 km cutoff) {1000 * per_school_nx:.1f} ms per school "
        f"x {n} schools = {per_school_nx * n:.1f} s for the distance step alone"
    )
    # ours runs per school and window one shortest search and up to three cost searches
    searches = 2 * 4
    nx_total = per_school_nx * n * searches
    print(
        f"networkx for the same {searches} searches per school (no paths): {nx_total:.1f} s; "
        f"ratio networkx / ours (routes step) {nx_total / (t_total - t_origins):.1f}x"
    )
    print(f"peak memory {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
