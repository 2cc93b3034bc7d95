"""Route corridors per school from edge flows, and comparison with reference routes.

A school's corridor grows from the school along the streets most of its
students walk: best-first over undirected street segments touching the
corridor so far, always taking the one with the most students, until the
length budget is spent or no adjacent segment carries students.  The result
is connected and contains the school's door node.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import DataError
from .network import WalkNetwork
from .paths import RouteSet

__all__ = [
    "CORRIDOR_COLUMNS",
    "compare_routes",
    "designate_corridors",
    "designated_corridors",
    "segment_keys",
    "students_on",
]

logger = logging.getLogger(__name__)


def _undirected_flow(
    network: WalkNetwork, routes: pd.DataFrame
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], int]]:
    """Students per undirected segment (all windows' mean) and one edge id per segment."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    flow: dict[tuple[int, int], float] = defaultdict(float)
    edge_of: dict[tuple[int, int], int] = {}
    n_windows = max(routes["window"].nunique(), 1)
    for students, edge_ids in zip(routes["students"], routes["edge_ids"], strict=True):
        for e in edge_ids:
            key = (min(u[e], v[e]), max(u[e], v[e]))
            flow[key] += students / n_windows
            edge_of.setdefault(key, int(e))
    return flow, edge_of


def designate_corridors(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    routes: RouteSet,
    *,
    budget_m: float = 1600.0,
    risk: NDArray[np.float64] | None = None,
) -> gpd.GeoDataFrame:
    """One corridor per school: a connected set of its highest-flow streets.

    Parameters
    ----------
    schools
        ``school_id``, ``node``.
    routes
        The schools' routes (:func:`~safepassage.routes.paths.route_students`).
    budget_m
        Corridor length budget per school, metres (SY1617 routes: mean 1.56 km).
    risk
        Risk per edge (any window) for ``risk_exposure``; zero when None.

    Returns
    -------
    GeoDataFrame
        ``route_id``, ``school_id``, ``length_m``, ``students_served``
        (students weighted by the share of their route on the corridor),
        ``risk_exposure`` (sum over corridor segments of students x risk x km),
        ``edge_ids`` (one directed edge per segment), ``shared_with`` (other
        schools whose corridors share a segment), geometry (MultiLineString).
    """
    if budget_m <= 0:
        raise DataError(f"corridor budget must be > 0 m, got {budget_m}")
    length = network.edges["length"].to_numpy()
    risk_arr = np.zeros(len(length)) if risk is None else np.asarray(risk, dtype=np.float64)
    keys = segment_keys(network)
    rows = []
    for school_id, node in schools[["school_id", "node"]].itertuples(index=False):
        part = routes.routes[routes.routes["school_id"] == str(school_id)]
        if part.empty or node < 0:
            continue
        flow, edge_of = _undirected_flow(network, part)
        segments = _grow(int(node), flow, edge_of, length, budget_m)
        if segments:
            edge_ids = [edge_of[s] for s in segments]
            rows.append(
                _corridor(
                    network, f"{school_id}-1", str(school_id), edge_ids, part, risk_arr, keys, flow
                )
            )
    return _corridor_table(network, rows, "designed")


def designated_corridors(
    network: WalkNetwork,
    matched: gpd.GeoDataFrame,
    routes: RouteSet,
    *,
    risk: NDArray[np.float64] | None = None,
) -> gpd.GeoDataFrame:
    """The designated routes as corridors: each matched route's streets, as they are.

    Parameters
    ----------
    matched
        From :func:`safepassage.routes.matching.match_routes` (routes with no
        matched street are left out).
    routes
        The schools' modelled routes, for ``students_served`` and ``risk_exposure``.

    Returns
    -------
    GeoDataFrame
        The columns of :func:`designate_corridors`, ``source`` = ``designated``,
        and ``matched_share`` (of the official route's length).
    """
    risk_arr = np.zeros(len(network.edges)) if risk is None else np.asarray(risk, np.float64)
    keys = segment_keys(network)
    rows, shares = [], []
    for route in matched.itertuples(index=False):
        if not route.edge_ids:
            continue
        part = routes.routes[routes.routes["school_id"] == str(route.school_id)]
        flow, _ = _undirected_flow(network, part)
        route_id = f"{route.school_id}-{route.route_id}"
        school_id = str(route.school_id)
        rows.append(
            _corridor(network, route_id, school_id, route.edge_ids, part, risk_arr, keys, flow)
        )
        shares.append(float(route.matched_share))
    corridors = _corridor_table(network, rows, "designated")
    corridors["matched_share"] = np.round(shares, 3) if shares else np.zeros(0)
    return corridors


CORRIDOR_COLUMNS = [
    "route_id",
    "school_id",
    "length_m",
    "students_served",
    "risk_exposure",
    "edge_ids",
    "geometry",
]


def segment_keys(network: WalkNetwork) -> NDArray[np.int64]:
    """One key per undirected street segment: both directions of a street share it."""
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    return np.asarray(np.minimum(u, v) * len(network.nodes) + np.maximum(u, v), dtype=np.int64)


def students_on(routes: pd.DataFrame, on: NDArray[np.bool_], length: NDArray[np.float64]) -> float:
    """Students of ``routes`` (``students``, ``edge_ids``), each weighted by the share
    of their route's length on the edges where ``on`` is True."""
    total = 0.0
    for students, ids in zip(routes["students"], routes["edge_ids"], strict=True):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size:
            total += students * length[ids][on[ids]].sum() / max(length[ids].sum(), 1e-9)
    return float(total)


def _corridor(
    network: WalkNetwork,
    route_id: str,
    school_id: str,
    edge_ids: list[int],
    part: pd.DataFrame,
    risk_arr: NDArray[np.float64],
    keys: NDArray[np.int64],
    flow: dict[tuple[int, int], float],
) -> dict[str, object]:
    """One corridor row: its length, the students of ``part`` (the school's modelled
    routes) on it and their exposure to risk there.

    ``students_served`` is :func:`students_on` averaged over the windows;
    ``risk_exposure`` sums students x risk x km over the corridor's segments
    (``flow``: :func:`_undirected_flow` of ``part``).
    """
    length = network.edges["length"].to_numpy()
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    on = np.isin(keys, keys[edge_ids])
    served = students_on(part, on, length) / max(part["window"].nunique(), 1)
    exposure = sum(
        flow.get((min(u[e], v[e]), max(u[e], v[e])), 0.0) * risk_arr[e] * length[e] / 1000
        for e in edge_ids
    )
    return {
        "route_id": route_id,
        "school_id": school_id,
        "length_m": float(length[edge_ids].sum()),
        "students_served": round(float(served), 1),
        "risk_exposure": float(exposure),
        "edge_ids": sorted(int(e) for e in edge_ids),
        "geometry": shapely.multilinestrings(list(network.edges.geometry.values[edge_ids])),
    }


def _corridor_table(
    network: WalkNetwork, rows: list[dict[str, object]], source: str
) -> gpd.GeoDataFrame:
    corridors = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=CORRIDOR_COLUMNS), geometry="geometry", crs=network.crs
    )
    corridors["shared_with"] = _shared(network, corridors)
    corridors["source"] = source
    return corridors


def _grow(
    start: int,
    flow: dict[tuple[int, int], float],
    edge_of: dict[tuple[int, int], int],
    length: NDArray[np.float64],
    budget_m: float,
) -> list[tuple[int, int]]:
    by_node: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for seg, students in flow.items():
        if students > 0:
            by_node[seg[0]].append(seg)
            by_node[seg[1]].append(seg)
    heap: list[tuple[float, tuple[int, int]]] = []
    reached = {start}
    chosen: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    for seg in by_node[start]:
        heapq.heappush(heap, (-flow[seg], seg))
    used = 0.0
    while heap and used < budget_m:
        _, seg = heapq.heappop(heap)
        if seg in seen:
            continue
        seg_len = float(length[edge_of[seg]])
        if used + seg_len > budget_m * 1.05:
            continue
        seen.add(seg)
        chosen.append(seg)
        used += seg_len
        for end in seg:
            if end not in reached:
                reached.add(end)
                for nxt in by_node[end]:
                    if nxt not in seen:
                        heapq.heappush(heap, (-flow[nxt], nxt))
    return chosen


def _shared(network: WalkNetwork, corridors: gpd.GeoDataFrame) -> list[list[str]]:
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    owners: dict[tuple[int, int], set[str]] = defaultdict(set)
    for school_id, ids in zip(corridors["school_id"], corridors["edge_ids"], strict=True):
        for e in ids:
            owners[(min(u[e], v[e]), max(u[e], v[e]))].add(school_id)
    shared = []
    for school_id, ids in zip(corridors["school_id"], corridors["edge_ids"], strict=True):
        others: set[str] = set()
        for e in ids:
            others |= owners[(min(u[e], v[e]), max(u[e], v[e]))]
        shared.append(sorted(others - {school_id}))
    return shared


def compare_routes(
    corridors: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, *, tolerance_m: float = 50.0
) -> pd.DataFrame:
    """Recall and precision of corridors against reference routes, per school and overall.

    Recall: share of the reference length within ``tolerance_m`` of our
    corridor.  Precision: share of our corridor length within ``tolerance_m``
    of the reference.  Both tables need ``school_id`` and line geometry; the
    reference is reprojected to the corridors' CRS (which must be metric).

    Returns
    -------
    DataFrame
        ``school_id`` (``ALL`` for the total), ``reference_m``, ``ours_m``,
        ``recall``, ``precision``; schools present in both tables only.
    """
    if tolerance_m <= 0:
        raise DataError(f"tolerance_m must be > 0, got {tolerance_m}")
    ref = reference.to_crs(corridors.crs)
    ours = corridors.dissolve("school_id").geometry
    theirs = ref.assign(school_id=ref["school_id"].astype(str)).dissolve("school_id").geometry
    rows = []
    for school_id in sorted(set(ours.index) & set(theirs.index)):
        a, b = ours[school_id], theirs[school_id]
        rows.append(
            {
                "school_id": school_id,
                "reference_m": b.length,
                "ours_m": a.length,
                "ref_hit_m": b.intersection(a.buffer(tolerance_m)).length,
                "ours_hit_m": a.intersection(b.buffer(tolerance_m)).length,
            }
        )
    table = pd.DataFrame(
        rows, columns=["school_id", "reference_m", "ours_m", "ref_hit_m", "ours_hit_m"]
    )
    total = table[["reference_m", "ours_m", "ref_hit_m", "ours_hit_m"]].sum()
    table.loc[len(table)] = {"school_id": "ALL", **total.to_dict()}
    table["recall"] = table["ref_hit_m"] / table["reference_m"].where(table["reference_m"] > 0)
    table["precision"] = table["ours_hit_m"] / table["ours_m"].where(table["ours_m"] > 0)
    return table.drop(columns=["ref_hit_m", "ours_hit_m"])
