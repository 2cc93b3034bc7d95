"""Designated (official) routes onto the walk network: route lines or buffers -> edge ids.

A route line is matched street by street, all routes at once:

1. an STRtree gives every street segment within ``tolerance_m`` of a route;
2. a segment matches when at least ``min_share`` of its length (or at least
   ``min_along_m``: a long block the route follows only part of the way, to a
   school door or a gate) lies within ``tolerance_m`` of the route and it runs
   roughly along it (within ``max_angle_deg`` of the route's direction where it
   passes), so the cross streets a route passes over are left out;
3. pieces of a route's match closer than ``max_gap_m`` along the network are
   joined by the shortest network path between them (a block the route file
   draws off the street centreline, a missing crossing);
4. the route length within ``tolerance_m`` of its matched streets is its
   ``matched_m``; the rest (``unmatched_m``) is where the route leaves the
   network (a path through a park the OSM graph lacks) and is reported, not
   forced onto a street.

A buffer polygon (the SY1415 files publish 660 ft buffers instead of lines) is
matched through its *core*: the polygon shrunk to ``tolerance_m`` around its
centre line (its width and centre-line length solved from its area and
perimeter); the segments lying mostly in the core are the route's streets, and
the centre-line length stands in for the route length; a buffer's
pieces are not bridged (it has no line to order them along).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import DataError, NoRouteError
from ..risk.kernel import Segments, street_segments
from .network import WalkNetwork

__all__ = ["MatchOptions", "match_routes"]

MATCH_COLUMNS = [
    "route_id",
    "school_id",
    "kind",
    "route_m",
    "matched_m",
    "unmatched_m",
    "matched_share",
    "bridged_m",
    "edge_ids",
]


@dataclass(frozen=True)
class MatchOptions:
    """How route geometry is matched onto the network (metres, degrees, shares)."""

    tolerance_m: float = 20.0
    max_gap_m: float = 100.0
    min_share: float = 0.6
    max_angle_deg: float = 30.0
    min_along_m: float = 50.0


def match_routes(
    network: WalkNetwork, routes: gpd.GeoDataFrame, options: MatchOptions | None = None
) -> gpd.GeoDataFrame:
    """Match route lines and buffers onto ``network``'s streets.

    Parameters
    ----------
    routes
        From :func:`safepassage.io.read_routes`: ``route_id``, ``school_id``,
        ``kind`` (``line`` or ``buffer``), geometry (any CRS; reprojected).

    Returns
    -------
    GeoDataFrame
        One row per route: ``route_id``, ``school_id``, ``kind``, ``route_m``,
        ``matched_m``, ``unmatched_m``, ``matched_share`` (matched_m / route_m),
        ``bridged_m`` (network length added to join the pieces), ``edge_ids``
        (one directed edge id per matched street segment, sorted), geometry (the
        matched streets as a MultiLineString, in the network's CRS).
    """
    options = options or MatchOptions()
    if options.tolerance_m <= 0 or options.max_gap_m < 0 or not 0 < options.min_share <= 1:
        raise DataError(f"match options out of range: {options}")
    missing = [c for c in ("route_id", "school_id", "kind") if c not in routes.columns]
    if missing:
        raise DataError(f"routes need columns {missing}; read them with io.read_routes")
    table = routes.to_crs(network.crs).reset_index(drop=True)
    segments = street_segments(network)
    lines = (table["kind"] == "line").to_numpy()
    chosen = [np.empty(0, dtype=np.int64)] * len(table)
    measured = np.zeros(len(table))
    if lines.any():
        rows = np.flatnonzero(lines)
        matched = _match_lines(segments, table.geometry.values[rows], options)
        for line_row, picked in zip(rows.tolist(), matched, strict=True):
            chosen[line_row] = picked
    if (~lines).any():
        rows = np.flatnonzero(~lines)
        cores, centre_m = _cores(table.geometry.values[rows], options.tolerance_m)
        for buffer_row, core, length in zip(rows.tolist(), cores, centre_m, strict=True):
            chosen[buffer_row] = _inside(segments, core, options.min_share)
            measured[buffer_row] = length
    records = []
    for row, geometry in enumerate(table.geometry.values):
        picked, bridged = chosen[row], 0.0
        if lines[row]:
            picked, bridged = _bridge(network, segments, picked, geometry, options)
        route_m = float(shapely.length(geometry)) if lines[row] else float(measured[row])
        matched_m = _matched_length(segments, picked, geometry, options, lines[row], route_m)
        records.append((picked, bridged, route_m, matched_m))
    return _table(table, segments, records)


def _match_lines(
    segments: Segments, routes: NDArray[np.object_], options: MatchOptions
) -> list[NDArray[np.int64]]:
    """Per route line, the segments lying along it (steps 1 and 2)."""
    tree = shapely.STRtree(segments.geometry)
    ri, si = tree.query(routes, predicate="dwithin", distance=options.tolerance_m)
    if ri.size == 0:
        return [np.empty(0, dtype=np.int64) for _ in routes]
    bands = shapely.buffer(routes, options.tolerance_m, cap_style="flat")
    seg = segments.geometry[si]
    length = np.maximum(shapely.length(seg), 1e-9)
    share = shapely.length(shapely.intersection(seg, bands[ri])) / length
    start, end = shapely.get_point(seg, 0), shapely.get_point(seg, -1)
    seg_dir = shapely.get_coordinates(end) - shapely.get_coordinates(start)
    at = shapely.line_locate_point(
        routes[ri], shapely.line_interpolate_point(seg, 0.5, normalized=True)
    )
    ahead = shapely.line_interpolate_point(routes[ri], at + 5.0)
    behind = shapely.line_interpolate_point(routes[ri], np.maximum(at - 5.0, 0.0))
    route_dir = shapely.get_coordinates(ahead) - shapely.get_coordinates(behind)
    norms = np.linalg.norm(seg_dir, axis=1) * np.linalg.norm(route_dir, axis=1)
    cosine = np.abs((seg_dir * route_dir).sum(axis=1)) / np.maximum(norms, 1e-9)
    along = (share >= options.min_share) | (share * length >= options.min_along_m)
    keep = along & (cosine >= math.cos(math.radians(options.max_angle_deg)))
    route_of, segment = ri[keep], si[keep]
    order = np.argsort(route_of, kind="stable")
    bounds = np.searchsorted(route_of[order], np.arange(len(routes) + 1))
    return [
        np.unique(segment[order[a:b]]).astype(np.int64)
        for a, b in itertools.pairwise(bounds.tolist())
    ]


def _cores(
    polygons: NDArray[np.object_], tolerance_m: float
) -> tuple[NDArray[np.object_], NDArray[np.float64]]:
    """Each buffer's core (``tolerance_m`` around its centre line) and its centre-line length.

    A line of length L buffered by w/2 has area ``w L + pi w^2 / 4`` and perimeter
    ``2 L + pi w``; both are solved for w and L.
    """
    area, perimeter = shapely.area(polygons), shapely.length(polygons)
    disc = np.maximum(perimeter**2 / 4.0 - math.pi * area, 0.0)
    width = (perimeter / 2.0 - np.sqrt(disc)) / (math.pi / 2.0)
    centre_m = np.maximum((perimeter - math.pi * width) / 2.0, 1e-9)
    inset = np.maximum(width / 2.0 - tolerance_m, 0.0)
    return shapely.buffer(polygons, -inset), centre_m


def _inside(segments: Segments, core: shapely.Geometry, min_share: float) -> NDArray[np.int64]:
    """Segments with at least ``min_share`` of their length inside ``core``."""
    if shapely.is_empty(core):
        return np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(segments.geometry)
    near = tree.query(core, predicate="intersects")
    seg = segments.geometry[near]
    share = shapely.length(shapely.intersection(seg, core)) / np.maximum(shapely.length(seg), 1e-9)
    return np.sort(near[share >= min_share]).astype(np.int64)


def _bridge(
    network: WalkNetwork,
    segments: Segments,
    picked: NDArray[np.int64],
    route: shapely.Geometry,
    options: MatchOptions,
) -> tuple[NDArray[np.int64], float]:
    """Join the pieces of a route's match by short network paths (step 3)."""
    if picked.size == 0 or options.max_gap_m == 0:
        return picked, 0.0
    edges = network.edges
    u = edges["u"].to_numpy()[segments.edge[picked]]
    v = edges["v"].to_numpy()[segments.edge[picked]]
    nodes, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
    link = coo_matrix(
        (np.ones(picked.size), (inverse[: picked.size], inverse[picked.size :])),
        shape=(nodes.size, nodes.size),
    )
    n_pieces, piece = connected_components(link, directed=False)
    if n_pieces == 1:
        return picked, 0.0
    xy = network.nodes[["x", "y"]].to_numpy()[nodes]
    where = shapely.line_locate_point(route, shapely.points(xy))  # position along the route
    order = np.argsort([np.mean(where[piece == p]) for p in range(n_pieces)])
    added: list[int] = []
    bridged = 0.0
    for a, b in itertools.pairwise(order.tolist()):
        path, length = _closest_path(network, nodes[piece == a], nodes[piece == b], options)
        if path.size:
            added.extend(np.unique(segments.of_edge[path]).tolist())
            bridged += length
    return np.unique(np.concatenate([picked, np.asarray(added, dtype=np.int64)])), bridged


def _closest_path(
    network: WalkNetwork,
    from_nodes: NDArray[np.int64],
    to_nodes: NDArray[np.int64],
    options: MatchOptions,
) -> tuple[NDArray[np.int64], float]:
    """The shortest network path (<= ``max_gap_m``) between two pieces, or none."""
    xy = network.nodes[["x", "y"]].to_numpy()
    gap = np.linalg.norm(xy[from_nodes][:, None, :] - xy[to_nodes][None, :, :], axis=2)
    i, j = np.unravel_index(int(np.argmin(gap)), gap.shape)
    if gap[i, j] > options.max_gap_m:
        return np.empty(0, dtype=np.int64), 0.0
    source, target = int(from_nodes[i]), int(to_nodes[j])
    paths = network.shortest_paths([source], [target], limit_m=options.max_gap_m)
    length = float(paths.distances[0, 0])
    if not np.isfinite(length):
        return np.empty(0, dtype=np.int64), 0.0
    try:
        return np.asarray(paths.edge_path(source, target), dtype=np.int64), length
    except NoRouteError:
        return np.empty(0, dtype=np.int64), 0.0


def _matched_length(
    segments: Segments,
    picked: NDArray[np.int64],
    route: shapely.Geometry,
    options: MatchOptions,
    is_line: bool,
    route_m: float,
) -> float:
    """Route length within ``tolerance_m`` of its matched streets (step 4)."""
    if picked.size == 0:
        return 0.0
    streets = shapely.union_all(segments.geometry[picked])
    if not is_line:  # a buffer: the streets' length, up to the centre-line length
        return float(min(shapely.length(streets), route_m))
    band = shapely.buffer(streets, options.tolerance_m, cap_style="flat")
    return float(shapely.length(shapely.intersection(route, band)))


def _table(
    table: gpd.GeoDataFrame,
    segments: Segments,
    records: list[tuple[NDArray[np.int64], float, float, float]],
) -> gpd.GeoDataFrame:
    route_m = np.array([r[2] for r in records])
    matched_m = np.minimum(np.array([r[3] for r in records]), route_m)
    frame = pd.DataFrame(
        {
            "route_id": table["route_id"].astype(str).to_numpy(),
            "school_id": table["school_id"].astype(str).to_numpy(),
            "kind": table["kind"].to_numpy(),
            "route_m": route_m.round(1),
            "matched_m": matched_m.round(1),
            "unmatched_m": (route_m - matched_m).round(1),
            "matched_share": np.where(route_m > 0, matched_m / np.maximum(route_m, 1e-9), 0.0),
            "bridged_m": np.round([r[1] for r in records], 1),
            "edge_ids": [sorted(segments.edge[r[0]].tolist()) for r in records],
        }
    )
    geometry = [
        shapely.multilinestrings(list(segments.geometry[r[0]])) if r[0].size else None
        for r in records
    ]
    return gpd.GeoDataFrame(frame[MATCH_COLUMNS], geometry=geometry, crs=table.crs)
