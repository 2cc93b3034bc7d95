"""Route corridors per school, and comparison with reference routes.

Two ways to design a school's corridor, both connected and containing the
school's door node:

* with a learned style (:class:`~safepassage.routes.style.StyleModel`), the
  corridor is a few *legs*, paths from the school door.  Every street segment
  within reach of the school gets the style's probability ``p`` that a route
  designer takes it, and a cost: its length x ``exp(gamma x (logit(base rate)
  - logit(p)))`` (likely streets are cheap).  The school's students are routed
  to it along the cheapest-path tree of that cost, which gives each tree
  segment a flow, and a weight ``w = p x (flow / the tree's largest flow) **
  flow_power`` (the shipped model: ``flow_power`` 0, the flow did not help).
  A segment's value is its length x (``w`` - a bar), the bar being
  ``threshold`` x the weight of the last segment the budget would buy taking
  the best segments first; each leg is the tree path from the corridor so far
  to the node whose path adds the most value within ``leg_m`` and the budget
  left (low-value stretches on the way count against it, so legs run along
  good streets and stubs are not bought).  When no leg adds value the bar is
  halved, then dropped, until the budget is spent.
* without one (``[routes] corridor_style = "hand"``), best-first over the
  segments the modelled routes use, always the one with the most students,
  until the length budget is spent.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from ..errors import DataError
from .network import WalkNetwork
from .paths import RouteSet
from .style import (
    GrowthParameters,
    SchoolSegments,
    StreetContext,
    StyleModel,
    school_segments,
)

__all__ = [
    "CORRIDOR_COLUMNS",
    "compare_routes",
    "designate_corridors",
    "designated_corridors",
    "grow_from_probability",
    "grow_legs",
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
    budget_m: float | Mapping[str, float] = 1600.0,
    risk: NDArray[np.float64] | None = None,
    style: StyleModel | None = None,
    context: StreetContext | None = None,
) -> gpd.GeoDataFrame:
    """One corridor per school: legs along the style's streets, or its highest-flow streets.

    Parameters
    ----------
    schools
        ``school_id``, ``node``.
    routes
        The schools' routes (:func:`~safepassage.routes.paths.route_students`).
    budget_m
        Corridor length budget, metres: one for every school, or per school id
        (SY1617 routes: mean 1.56 km).
    risk
        Risk per edge (any window) for ``risk_exposure`` and the style's risk
        feature; zero when None.
    style
        A learned street preference: corridors grown as legs (module doc);
        None: best-first by student flow.
    context
        :meth:`StreetContext.of` the network, when already built (with ``style``).

    Returns
    -------
    GeoDataFrame
        ``route_id``, ``school_id``, ``length_m``, ``students_served``
        (students weighted by the share of their route on the corridor),
        ``risk_exposure`` (sum over corridor segments of students x risk x km),
        ``edge_ids`` (one directed edge per segment), ``shared_with`` (other
        schools whose corridors share a segment), geometry (MultiLineString).
    """
    budgets = _budgets(schools, budget_m)
    length = network.edges["length"].to_numpy()
    risk_arr = np.zeros(len(length)) if risk is None else np.asarray(risk, dtype=np.float64)
    keys = segment_keys(network)
    if style is not None and context is None:
        context = StreetContext.of(network)
    rows = []
    for school_id, node in schools[["school_id", "node"]].itertuples(index=False):
        part = routes.routes[routes.routes["school_id"] == str(school_id)]
        if node < 0 or (part.empty and style is None):
            continue
        flow, edge_of = _undirected_flow(network, part)
        if style is not None and context is not None:
            segments = school_segments(network, context, int(node), risk)
            edge_ids = grow_legs(segments, context, style, part, budgets[str(school_id)])
        else:
            grown = _grow(int(node), flow, edge_of, length, budgets[str(school_id)])
            edge_ids = [edge_of[s] for s in grown]
        if edge_ids:
            rows.append(
                _corridor(
                    network, f"{school_id}-1", str(school_id), edge_ids, part, risk_arr, keys, flow
                )
            )
    return _corridor_table(network, rows, "designed")


def _budgets(schools: pd.DataFrame, budget_m: float | Mapping[str, float]) -> dict[str, float]:
    ids = [str(s) for s in schools["school_id"]]
    if isinstance(budget_m, Mapping):
        missing = [s for s in ids if s not in budget_m]
        if missing:
            raise DataError(f"no corridor budget for schools {missing[:5]}")
        budgets = {s: float(budget_m[s]) for s in ids}
    else:
        budgets = dict.fromkeys(ids, float(budget_m))
    bad = {s: b for s, b in budgets.items() if not b > 0}
    if bad:
        raise DataError(f"corridor budget must be > 0 m, got {bad}")
    return budgets


def grow_legs(
    segments: SchoolSegments,
    context: StreetContext,
    style: StyleModel,
    routes: pd.DataFrame,
    budget_m: float,
) -> list[int]:
    """Edge ids (one per segment) of a corridor grown as legs (module doc) from
    ``segments.node``; ``routes`` are the school's modelled routes."""
    if segments.rows.size == 0:
        return []
    probability = style.probability(segments.features)
    return grow_from_probability(
        segments, context, probability, style.base_rate, style.growth, routes, budget_m
    )


def grow_from_probability(
    segments: SchoolSegments,
    context: StreetContext,
    probability: NDArray[np.float64],
    base_rate: float,
    growth: GrowthParameters,
    routes: pd.DataFrame,
    budget_m: float,
) -> list[int]:
    """:func:`grow_legs` from given probabilities (one per candidate segment of
    ``segments``) and the training routes' ``base_rate``: for probes of other
    street preferences (``bench/style_probes.py``)."""
    if segments.rows.size == 0:
        return []
    if len(probability) != segments.rows.size:
        raise DataError(
            f"{len(probability)} probabilities for {segments.rows.size} candidate segments"
        )
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-4, 1 - 1e-4)
    base = min(max(base_rate, 1e-4), 1 - 1e-4)
    logit = np.log(p / (1 - p)) - math.log(base / (1 - base))
    seg_len = context.length[segments.rows]
    cost = np.maximum(seg_len, 0.1) * np.clip(np.exp(-growth.gamma * logit), 0.05, 20.0)
    tree = _cost_tree(segments, context, cost)
    origin_nodes, students = _origin_students(routes, context, segments.node)
    local_flow = _tree_flow(tree, len(seg_len), origin_nodes, students)
    share = local_flow / local_flow.max() if local_flow.max() > 0 else local_flow
    weight = p * np.power(share + 0.01, growth.flow_power)
    marginal = _marginal(weight, seg_len, budget_m)
    on = np.zeros(seg_len.size, dtype=bool)
    used = 0.0
    # legs worth more than the marginal segment first, then the budget left at lower bars
    for bar in (growth.threshold, growth.threshold / 2, 0.0):
        value = seg_len * (weight - bar * marginal)
        used = _legs(tree, seg_len, value, budget_m, growth.leg_m, on, used)
    return [int(context.edge[segments.rows[r]]) for r in np.flatnonzero(on)]


def _origin_students(
    routes: pd.DataFrame, context: StreetContext, school_node: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Origin node (the first node of each route) and students (window mean) per route."""
    n_windows = max(routes["window"].nunique(), 1) if len(routes) else 1
    nodes = []
    for ids in routes["edge_ids"]:
        if len(ids) == 0:
            nodes.append(school_node)
            continue
        row = context.segment_of[int(ids[0])]
        a, b = int(context.u[row]), int(context.v[row])
        if len(ids) > 1:
            nxt = context.segment_of[int(ids[1])]
            shared = {int(context.u[nxt]), int(context.v[nxt])}
            nodes.append(b if a in shared else a)
        else:
            nodes.append(a if b == school_node else b)
    students = routes["students"].to_numpy(np.float64) / n_windows
    return np.asarray(nodes, dtype=np.int64), students


def _marginal(weight: NDArray[np.float64], seg_len: NDArray[np.float64], budget_m: float) -> float:
    """The weight of the last segment taken when the budget buys the best segments first."""
    order = np.argsort(-weight, kind="stable")
    k = int(np.searchsorted(np.cumsum(seg_len[order]), budget_m))
    return float(weight[order[min(k, order.size - 1)]])


@dataclass(frozen=True)
class _Tree:
    """The cheapest-path tree of one school's candidate segments (local node ids)."""

    nodes: NDArray[np.int64]  # local -> network node id
    order: NDArray[np.int64]  # local nodes reached, root first, by cost
    parent: NDArray[np.int64]  # local parent (-1 root / unreached)
    parent_seg: NDArray[np.int64]  # candidate row reaching each local node (-1)


def _cost_tree(
    segments: SchoolSegments, context: StreetContext, cost: NDArray[np.float64]
) -> _Tree:
    u, v = context.u[segments.rows], context.v[segments.rows]
    nodes, inverse = np.unique(np.concatenate([u, v, [segments.node]]), return_inverse=True)
    lu, lv = inverse[: len(u)], inverse[len(u) : 2 * len(u)]
    root = int(inverse[-1])
    n = len(nodes)
    # one candidate per node pair, the cheapest (a CSR build would sum parallel ones)
    order_of = np.lexsort((cost, np.minimum(lu, lv) * n + np.maximum(lu, lv)))
    pair = np.minimum(lu, lv)[order_of] * n + np.maximum(lu, lv)[order_of]
    first = np.ones(order_of.size, dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    keep = order_of[first]
    matrix = coo_matrix(
        (
            np.concatenate([cost[keep], cost[keep]]),
            (np.concatenate([lu[keep], lv[keep]]), np.concatenate([lv[keep], lu[keep]])),
        ),
        shape=(n, n),
    ).tocsr()
    dist, pred = dijkstra(matrix, directed=True, indices=root, return_predecessors=True)
    reached = np.flatnonzero(np.isfinite(dist))
    order = reached[np.lexsort((reached, dist[reached]))]
    seg_of_pair = dict(zip(pair[first].tolist(), keep.tolist(), strict=True))
    parent = np.where(pred >= 0, pred, -1).astype(np.int64)
    parent_seg = np.full(n, -1, dtype=np.int64)
    has = np.flatnonzero(parent >= 0)
    for node, up in zip(has.tolist(), parent[has].tolist(), strict=True):
        parent_seg[node] = seg_of_pair[min(node, up) * n + max(node, up)]
    return _Tree(nodes, order.astype(np.int64), parent, parent_seg)


def _tree_flow(
    tree: _Tree, n_seg: int, origin_nodes: NDArray[np.int64], students: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Students per candidate segment when each walks the tree from its origin node."""
    at = np.zeros(len(tree.nodes))
    pos = np.searchsorted(tree.nodes, origin_nodes)
    pos = np.minimum(pos, len(tree.nodes) - 1)
    inside = tree.nodes[pos] == origin_nodes
    np.add.at(at, pos[inside], students[inside])
    flow = np.zeros(n_seg)
    for node in tree.order[::-1].tolist():
        up = tree.parent[node]
        if up >= 0:
            at[up] += at[node]
            flow[tree.parent_seg[node]] = at[node]
    return flow


def _legs(
    tree: _Tree,
    seg_len: NDArray[np.float64],
    value: NDArray[np.float64],
    budget_m: float,
    leg_m: float,
    on: NDArray[np.bool_],
    used: float,
) -> float:
    """Add greedy legs along ``tree`` (module doc) to the corridor's candidate rows
    ``on`` (in place), ``used`` metres of the budget spent so far; returns the new total."""
    seg_len_f = np.concatenate([seg_len, [0.0]])
    value_f = np.concatenate([value, [0.0]])
    order = tree.order[1:]
    parent = tree.parent[order]
    seg = tree.parent_seg[order]
    position = np.full(len(tree.nodes), -1, dtype=np.int64)
    position[tree.order] = np.arange(len(tree.order))
    while budget_m - used > 25.0:
        new_len = np.zeros(len(tree.order))
        new_val = np.zeros(len(tree.order))
        add_len = np.where(on[seg], 0.0, seg_len_f[seg])
        add_val = np.where(on[seg], 0.0, value_f[seg])
        parent_pos = position[parent]
        for i in range(len(order)):
            j = parent_pos[i]
            new_len[i + 1] = new_len[j] + add_len[i]
            new_val[i + 1] = new_val[j] + add_val[i]
        feasible = (new_len > 0) & (new_len <= min(leg_m, (budget_m - used) * 1.05))
        if not feasible.any():
            break
        best = int(np.argmax(np.where(feasible, new_val, -1.0)))
        if new_val[best] <= 0:
            break
        node = int(tree.order[best])
        while tree.parent[node] >= 0:
            on[tree.parent_seg[node]] = True
            node = int(tree.parent[node])
        used += float(new_len[best])
    return used


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
