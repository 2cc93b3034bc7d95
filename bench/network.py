"""Benchmark the walk network: loading, bulk routing and the cache, against networkx/osmnx.

Run ``.venv/bin/python bench/network.py`` (citywide, a few minutes) or add
``--quick`` for the Englewood graph (seconds).  In one run, on the same data:

a. load + project + stitch with our code (``WalkNetwork.from_graphml``, ``stitch``)
   vs osmnx GraphML load + ``project_graph`` (no stitching);
b. 1,000 origin -> school routes (20 CPS schools x 50 origins within 2.4 km of
   network distance), lengths and edge paths: ours (one reversed Dijkstra per
   school that stops at its origins) vs ``networkx.bidirectional_dijkstra`` per
   pair on a ``DiGraph`` of the same stitched network (equal lengths asserted
   to 1e-6 m), vs ``osmnx.routing.shortest_path`` per pair on ``net.graph`` (a
   sample, extrapolated), and vs the previous engine (``scipy.sparse.csgraph``
   per school and a numpy walk up its predecessors);
c. one full single-source Dijkstra: ours vs ``networkx.single_source_dijkstra_path_length``;
d. cache load (``WalkNetwork.load``) vs osmnx GraphML load + projection.

The osmnx baselines run in child processes (``multiprocessing`` spawn) so
their memory does not count against ours; their peak is reported separately.
Ratios are baseline seconds / our seconds.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Result,
    add_data_argument,
    best_of,
    current_rss_mb,
    peak_rss_mb,
    print_result,
    print_table,
    resolve_data_root,
    timed,
)

from safepassage.errors import NoRouteError
from safepassage.routes.network import WalkNetwork
from safepassage.routes.stitch import stitch

CITY_GRAPH = "osm/chicago_walk_2019_77_community_areas_union.graphml.gz"
QUICK_GRAPH = "osm/chicago_walk_2019_englewood.graphml.gz"
SCHOOLS = "schools/CPS_School_Locations_SY1617.geojson.gz"
SCHOOL_SNAP_MAX_M = 250.0
LENGTH_TOLERANCE_M = 1e-6

RouteLengths = dict[tuple[int, int], float]


@dataclass(frozen=True)
class Workload:
    """The routing workload: school nodes and, per school, its origin nodes."""

    schools: NDArray[np.int64]
    origins: list[NDArray[np.int64]]
    radius_m: float

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(origin, school) node pairs, school by school."""
        return [
            (int(o), int(s)) for s, os_ in zip(self.schools, self.origins, strict=True) for o in os_
        ]


# ------------------------------------------------------------------ child processes
def _child_osmnx_load(graphml_gz: str) -> dict[str, float]:
    """osmnx GraphML load + projection of the decompressed file (runs in a child)."""
    import osmnx as ox

    with tempfile.TemporaryDirectory(prefix="bench-graphml-") as tmp:
        plain = Path(tmp) / "network.graphml"
        with gzip.open(graphml_gz, "rb") as src, plain.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        with timed() as load:
            graph = ox.load_graphml(plain)
        load_peak = peak_rss_mb()
        with timed() as project:
            projected = ox.project_graph(graph)
    return {
        "load_s": load.seconds,
        "project_s": project.seconds,
        "load_peak_mb": load_peak,
        "peak_mb": peak_rss_mb(),
        "nodes": float(projected.number_of_nodes()),
        "edges": float(projected.number_of_edges()),
    }


def _child_osmnx_routes(cache_dir: str, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """``osmnx.routing.shortest_path`` per pair on ``net.graph`` (runs in a child)."""
    import osmnx as ox

    net = WalkNetwork.load(cache_dir)
    with timed() as build:
        graph = net.graph
    paths: list[list[int]] = []
    with timed() as route:
        for origin, school in pairs:
            path = ox.routing.shortest_path(graph, origin, school, weight="length")
            paths.append([int(n) for n in path] if path is not None else [])
    return {
        "graph_s": build.seconds,
        "route_s": route.seconds,
        "paths": paths,
        "peak_mb": peak_rss_mb(),
    }


def _child_ours_from_cache(cache_dir: str, work: Workload) -> dict[str, float]:
    """Our cache load + the 1,000 routes in a fresh process, for its own peak memory."""
    with timed() as load:
        net = WalkNetwork.load(cache_dir)
    load_peak = peak_rss_mb()
    with timed() as route:
        route_ours(net, work, one_call=False)
    return {
        "load_s": load.seconds,
        "route_s": route.seconds,
        "load_peak_mb": load_peak,
        "peak_mb": peak_rss_mb(),
    }


def _run_in_child(func: Any, *args: Any) -> Any:
    """Run ``func(*args)`` in a fresh spawned process and return its result."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(func, args)


# ------------------------------------------------------------------ workload
def _min_edges(net: WalkNetwork) -> pd.DataFrame:
    """One row per node pair: ``u``, ``v``, ``length`` (the shortest parallel edge, m)."""
    edges = pd.DataFrame(net.edges[["u", "v", "length"]])
    return pd.DataFrame(edges.groupby(["u", "v"], as_index=False)["length"].min())


def pick_workload(
    net: WalkNetwork, schools_path: Path, *, n_schools: int, n_origins: int, radius_m: float
) -> Workload:
    """Pick schools and origins with ``numpy.random.default_rng(0)``.

    Schools are CPS SY2016-17 locations snapped within 250 m (one per node);
    origins are nodes within ``radius_m`` network distance of their school,
    found with scipy on a matrix built here (independent of the code measured).
    """
    rng = np.random.default_rng(0)
    schools = gpd.read_file(f"/vsigzip/{schools_path}").sort_values("school_id")
    snap = net.snap(schools.geometry, max_m=SCHOOL_SNAP_MAX_M)
    candidates = np.unique(snap.nodes[snap.nodes >= 0])
    chosen = np.sort(rng.choice(candidates, size=min(n_schools, candidates.size), replace=False))
    pairs = _min_edges(net)
    n = len(net.nodes)
    matrix = csr_matrix((pairs["length"], (pairs["u"], pairs["v"])), shape=(n, n))
    dist = np.atleast_2d(dijkstra(matrix.T.tocsr(), indices=chosen, limit=radius_m))
    origins = []
    for row, school in enumerate(chosen):
        near = np.flatnonzero(np.isfinite(dist[row]) & (np.arange(n) != school))
        origins.append(np.sort(rng.choice(near, size=min(n_origins, near.size), replace=False)))
    return Workload(chosen.astype(np.int64), origins, radius_m)


def nx_digraph(net: WalkNetwork) -> nx.DiGraph:
    """A networkx ``DiGraph`` of the network keeping the shortest parallel edge."""
    pairs = _min_edges(net)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(net.nodes)))
    graph.add_weighted_edges_from(
        zip(pairs["u"].tolist(), pairs["v"].tolist(), pairs["length"].tolist(), strict=True),
        weight="length",
    )
    return graph


def node_path_length(net: WalkNetwork, nodes: list[int]) -> float:
    """Length (m) of a node path over the shortest parallel edges."""
    if len(nodes) < 2:
        return 0.0
    edge_ids = net.edges_between(nodes[:-1], nodes[1:])
    return float(net.edges["length"].to_numpy()[edge_ids].sum())


# ------------------------------------------------------------------ steps
def step_load(graph_path: Path, osmnx_load: dict[str, float]) -> tuple[WalkNetwork, Result]:
    """(a) our load + projection + stitch vs osmnx load + projection."""
    with timed() as load:
        raw = WalkNetwork.from_graphml(graph_path)
    with timed() as stitching:
        net = stitch(raw)
    with timed() as csr:
        net.csr_arrays  # noqa: B018 - the one-time CSR build, counted as ours
    before, after = raw.summary(), net.summary()
    baseline_s = osmnx_load["load_s"] + osmnx_load["project_s"]
    note = (
        f"load+project {load.seconds:.2f} s, stitch {stitching.seconds:.2f} s, "
        f"CSR arrays {csr.seconds:.2f} s; "
        f"{after['nodes']:,} nodes, {after['edges']:,} edges, components "
        f"{before['components']} -> {after['components']}, seams joined {after['seams_joined']:,}"
    )
    result = Result(
        "a. load+project+stitch",
        load.seconds + stitching.seconds + csr.seconds,
        baseline_s,
        "osmnx load_graphml + project_graph, no stitching",
        peak_rss_mb(),
        note,
    )
    return net, result


def route_ours(
    net: WalkNetwork, work: Workload, *, one_call: bool
) -> tuple[RouteLengths, dict[tuple[int, int], NDArray[np.int64]]]:
    """Our routes: a reversed Dijkstra per school to its origins, every edge path returned.

    ``one_call`` routes all schools in one ``shortest_paths`` call (each search
    then stops at the union of the origins).  Each route's length is the sum
    of its edges' ``length`` in walking order (origins differ from their
    school, so no path is empty).
    """
    edge_length = net.edges["length"].to_numpy()
    if one_call:
        batches = [(work.schools, np.unique(np.concatenate(work.origins)))]
    else:
        batches = [(np.array([s]), o) for s, o in zip(work.schools, work.origins, strict=True)]
    lengths: RouteLengths = {}
    edge_paths: dict[tuple[int, int], NDArray[np.int64]] = {}
    origins_of = dict(zip(work.schools.tolist(), work.origins, strict=True))
    for sources, targets in batches:
        paths = net.shortest_paths(sources, targets=targets, reverse=True, limit_m=work.radius_m)
        for school in sources.tolist():
            origins = origins_of[school]
            found = paths.edge_paths(school, origins)
            sizes = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
            metres = np.add.reduceat(edge_length[np.concatenate(found)], np.cumsum(sizes) - sizes)
            keys = list(zip(origins.tolist(), [school] * origins.size, strict=True))
            lengths.update(zip(keys, metres.tolist(), strict=True))
            edge_paths.update(zip(keys, found, strict=True))
    return lengths, edge_paths


def route_scipy(net: WalkNetwork, work: Workload) -> RouteLengths:
    """The previous engine: scipy ``dijkstra`` per school, paths walked up its predecessors.

    Per school, one limited ``scipy.sparse.csgraph.dijkstra`` on the reversed
    length matrix returns dense distance and predecessor rows; the origins
    then climb the tree together in numpy (one vectorised step per path edge)
    and each step's edge is found with ``WalkNetwork.edges_between``.
    """
    reversed_matrix = net.prepare_cost(None).matrix.T.tocsr()
    edge_length = net.edges["length"].to_numpy()
    lengths: RouteLengths = {}
    for school, origins in zip(work.schools.tolist(), work.origins, strict=True):
        _, pred = dijkstra(
            reversed_matrix, indices=school, limit=work.radius_m, return_predecessors=True
        )
        steps = [origins]
        current = origins
        while np.any(moving := current != school):
            current = np.where(moving, pred[current], school)
            if np.any(current < 0):
                raise NoRouteError("an origin is not reachable from its school")
            steps.append(current)
        chain = np.stack(steps)
        tails, heads = chain[:-1], chain[1:]
        on_path = tails != heads
        metres = np.zeros(tails.shape)
        metres[on_path] = edge_length[net.edges_between(tails[on_path], heads[on_path])]
        for origin, route_m in zip(origins.tolist(), metres.sum(axis=0).tolist(), strict=True):
            lengths[origin, school] = route_m
    return lengths


def check_edge_paths(
    net: WalkNetwork, edge_paths: dict[tuple[int, int], NDArray[np.int64]]
) -> None:
    """Each edge path must run from its origin to its school, edge to edge."""
    u = net.edges["u"].to_numpy()
    v = net.edges["v"].to_numpy()
    for (origin, school), edge_ids in edge_paths.items():
        chained = np.array_equal(v[edge_ids[:-1]], u[edge_ids[1:]])
        if not (chained and u[edge_ids[0]] == origin and v[edge_ids[-1]] == school):
            raise AssertionError(f"edge path {origin}->{school} is broken: {edge_ids.tolist()}")


def route_networkx(graph: nx.DiGraph, work: Workload) -> RouteLengths:
    """Baseline: ``networkx.bidirectional_dijkstra`` per origin -> school pair."""
    lengths: RouteLengths = {}
    for origin, school in work.pairs:
        length, _path = nx.bidirectional_dijkstra(graph, origin, school, weight="length")
        lengths[origin, school] = float(length)
    return lengths


def max_length_gap(ours: RouteLengths, other: RouteLengths) -> float:
    """Largest absolute length difference (m) over the pairs of ``other``."""
    return max(abs(ours[pair] - length) for pair, length in other.items())


# label, all schools in one shortest_paths call
ROUTE_VARIANTS = [("per school", False), ("one call", True)]


def step_routes(
    net: WalkNetwork, graph: nx.DiGraph, work: Workload, repeat: int
) -> tuple[list[Result], RouteLengths]:
    """(b) bulk routing: ours vs networkx per pair and vs the scipy engine; equal lengths."""
    n_pairs = len(work.pairs)
    with timed() as first_call:  # numba compiles here (or loads its on-disk cache)
        route_ours(net, work, one_call=False)
    nx_s, theirs = best_of(repeat, lambda: route_networkx(graph, work))
    results: list[Result] = []
    first: RouteLengths = {}
    for label, one_call in ROUTE_VARIANTS:
        ours_s, (ours, edge_paths) = best_of(
            repeat, partial(route_ours, net, work, one_call=one_call)
        )
        check_edge_paths(net, edge_paths)
        gap = max_length_gap(ours, theirs)
        if gap > LENGTH_TOLERANCE_M:
            raise AssertionError(f"{label}: route lengths differ from networkx by up to {gap} m")
        first = first or ours
        note = f"lengths equal to networkx (max gap {gap:.1e} m)"
        if not results:
            note = (
                f"{len(work.schools)} schools x {n_pairs // len(work.schools)} origins within "
                f"{work.radius_m:g} m, mean route {np.mean(list(ours.values())):,.0f} m; best of "
                f"{repeat}; every edge path returned and checked; {note}; the first call "
                f"(numba compile or cache load, then the routes) took {first_call.seconds:.2f} s"
            )
        results.append(
            Result(
                f"b. routes: {label}",
                ours_s,
                nx_s,
                f"networkx bidirectional_dijkstra x {n_pairs:,} on a DiGraph (min parallel edge)",
                peak_rss_mb(),
                note,
            )
        )
    scipy_s, scipy_lengths = best_of(repeat, lambda: route_scipy(net, work))
    gap = max_length_gap(scipy_lengths, theirs)
    if gap > LENGTH_TOLERANCE_M:
        raise AssertionError(f"scipy engine: route lengths differ from networkx by up to {gap} m")
    results.append(
        Result(
            "b. routes vs scipy engine",
            results[0].ours_s,
            scipy_s,
            "scipy.sparse.csgraph.dijkstra per school + numpy walk up the predecessors",
            peak_rss_mb(),
            f"ours = per school; scipy lengths equal to networkx (max gap {gap:.1e} m)",
        )
    )
    return results, first


def step_routes_osmnx(
    cache_dir: Path,
    net: WalkNetwork,
    work: Workload,
    ours: RouteLengths,
    ours_s: float,
    sample: int,
) -> tuple[Result, float]:
    """(b) osmnx per-pair routing on ``net.graph``: a sample, extrapolated to every pair."""
    rng = np.random.default_rng(0)
    all_pairs = work.pairs
    picked = rng.choice(len(all_pairs), size=min(sample, len(all_pairs)), replace=False)
    pairs = [all_pairs[i] for i in np.sort(picked)]
    child = _run_in_child(_child_osmnx_routes, str(cache_dir), pairs)
    gaps = [
        abs(node_path_length(net, p) - ours[pair])
        for p, pair in zip(child["paths"], pairs, strict=True)
    ]
    if max(gaps) > LENGTH_TOLERANCE_M:
        raise AssertionError(f"osmnx path lengths differ from ours by up to {max(gaps)} m")
    per_call = child["route_s"] / len(pairs)
    note = (
        f"EXTRAPOLATED: timed {len(pairs)} sampled pairs ({child['route_s']:.2f} s, "
        f"{per_call:.3f} s/call) x {len(all_pairs):,}; path lengths equal to ours on the sample "
        f"(max gap {max(gaps):.1e} m); building net.graph took {child['graph_s']:.2f} s "
        f"(not counted); ours = per school; osmnx child peak RSS "
        f"{child['peak_mb']:,.0f} MiB"
    )
    return Result(
        "b. routes vs osmnx (extrapolated)",
        ours_s,
        per_call * len(all_pairs),
        "osmnx.routing.shortest_path per pair on net.graph (extrapolated)",
        peak_rss_mb(),
        note,
    ), float(child["peak_mb"])


def step_full_dijkstra(net: WalkNetwork, graph: nx.DiGraph, source: int, repeat: int) -> Result:
    """(c) one full single-source Dijkstra (no limit), ours vs networkx."""
    ours_s, paths = best_of(repeat, lambda: net.shortest_paths([source]))
    ours = paths.distances[0]
    nx_s, theirs = best_of(
        repeat, lambda: nx.single_source_dijkstra_path_length(graph, source, weight="length")
    )
    nodes = np.fromiter(theirs.keys(), dtype=np.int64, count=len(theirs))
    values = np.fromiter(theirs.values(), dtype=np.float64, count=len(theirs))
    reached = int(np.isfinite(ours).sum())
    if reached != nodes.size:
        raise AssertionError(f"ours reaches {reached} nodes, networkx {nodes.size}")
    gap = float(np.max(np.abs(ours[nodes] - values)))
    note = (
        f"from node {source}: {reached:,} nodes reached; max distance gap {gap:.1e} m; "
        f"ours also returns the predecessor tree; best of {repeat}"
    )
    return Result(
        "c. full single-source Dijkstra",
        ours_s,
        nx_s,
        "networkx single_source_dijkstra_path_length",
        peak_rss_mb(),
        note,
    )


def step_cache(
    net: WalkNetwork, cache_dir: Path, osmnx_load: dict[str, float], fresh: dict[str, float]
) -> Result:
    """(d) cache load vs osmnx GraphML load + projection (``fresh``: the same in a new process)."""
    with timed() as load:
        loaded = WalkNetwork.load(cache_dir)
    if len(loaded.nodes) != len(net.nodes) or len(loaded.edges) != len(net.edges):
        raise AssertionError("the cache does not hold the network it was written from")
    size_mb = sum(f.stat().st_size for f in cache_dir.iterdir()) / 2**20
    note = (
        f"cache {size_mb:.1f} MiB on disk; osmnx load {osmnx_load['load_s']:.2f} s + project "
        f"{osmnx_load['project_s']:.2f} s (decompression not counted); osmnx child peak RSS "
        f"{osmnx_load['peak_mb']:,.0f} MiB ({osmnx_load['load_peak_mb']:,.0f} MiB after load); "
        f"in a fresh process our cache load took {fresh['load_s']:.2f} s, peak RSS "
        f"{fresh['load_peak_mb']:,.0f} MiB, {fresh['peak_mb']:,.0f} MiB after the routes of (b)"
    )
    return Result(
        "d. cache load",
        load.seconds,
        osmnx_load["load_s"] + osmnx_load["project_s"],
        "osmnx load_graphml (plain .graphml) + project_graph",
        peak_rss_mb(),
        note,
    )


# ------------------------------------------------------------------ main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Englewood graph instead of citywide")
    add_data_argument(parser)
    parser.add_argument("--schools", type=int, default=20, help="schools to route to")
    parser.add_argument("--origins", type=int, default=50, help="origins per school")
    parser.add_argument("--radius-m", type=float, default=2400.0, help="walk radius, metres")
    parser.add_argument("--repeat", type=int, default=5, help="best of N for ours and networkx")
    parser.add_argument(
        "--osmnx-sample", type=int, default=10, help="pairs timed with osmnx (extrapolated)"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[list[Result], dict[str, float]]:
    """Run every step in order; return the results and the children's peak RSS (MiB)."""
    root = resolve_data_root(args.data)
    graph_path = root / (QUICK_GRAPH if args.quick else CITY_GRAPH)
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"network: {graph_path}\nmachine: {os.cpu_count()} CPUs, load average {load_avg}")
    graph_path.read_bytes()  # warm the page cache so neither side pays the first disk read
    import osmnx  # noqa: F401 - imported up front, as in the child, so no side pays for it

    print("osmnx load + projection baseline (child process)...", flush=True)
    osmnx_load = _run_in_child(_child_osmnx_load, str(graph_path))
    net, loaded = step_load(graph_path, osmnx_load)
    results = [loaded]
    print_result(loaded)
    work = pick_workload(
        net, root / SCHOOLS, n_schools=args.schools, n_origins=args.origins, radius_m=args.radius_m
    )
    with timed() as build:
        graph = nx_digraph(net)
    print(f"networkx DiGraph built in {build.seconds:.2f} s (not counted in the baselines)")
    routes, ours = step_routes(net, graph, work, args.repeat)
    results += routes
    for result in routes:
        print_result(result)
    with tempfile.TemporaryDirectory(prefix="bench-network-cache-") as tmp:
        cache_dir = Path(tmp) / "network"
        with timed() as save:
            net.save(cache_dir)
        print(f"cache written in {save.seconds:.2f} s")
        osmnx_routes, osmnx_peak = step_routes_osmnx(
            cache_dir, net, work, ours, routes[0].ours_s, args.osmnx_sample
        )
        full = step_full_dijkstra(net, graph, int(work.schools[0]), args.repeat)
        fresh = _run_in_child(_child_ours_from_cache, str(cache_dir), work)
        cache = step_cache(net, cache_dir, osmnx_load, fresh)
    for result in (osmnx_routes, full, cache):
        results.append(result)
        print_result(result)
    peaks = {
        "osmnx load+project": osmnx_load["peak_mb"],
        "osmnx routing on net.graph": osmnx_peak,
        "ours from cache + routes": fresh["peak_mb"],
    }
    return results, peaks


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results, child_peaks = run(args)
    print()
    print_table(results)
    print(
        f"peak RSS of this process (ours + the networkx baselines): {peak_rss_mb():,.0f} MiB "
        f"(now {current_rss_mb():,.0f} MiB)"
    )
    print(
        "peak RSS of child processes: "
        + "; ".join(f"{name} {mb:,.0f} MiB" for name, mb in child_peaks.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
