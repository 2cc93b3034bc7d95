"""Risk-aware routes from each origin to its school, and edge flows.

For every school and window the route of each origin minimises

    cost(e) = length(e) * class_factor(highway(e)) * (1 + lambda * risk_norm(e))

under a detour cap: the route may be at most ``detour_cap`` times the
origin's shortest walking length.  One Dijkstra per school and lambda runs on
the reversed network (every origin's route at once).  Origins whose route at
``lambda`` breaks the cap take the route at ``lambda / 2``, then with class
factors only, then the plain shortest path, which always satisfies the cap.

``risk_norm`` is the edge's risk divided by the mean risk of the edges with
any risk, capped at 5, so ``lambda = 1`` doubles the cost of a street of
average risk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import DataError
from ..streets import DEFAULT_CLASS_FACTORS, class_factors
from .network import WalkNetwork
from .pathset import CostMatrix

__all__ = [
    "RouteCosts",
    "RouteSet",
    "merge_routesets",
    "prepare_route_costs",
    "route_students",
]

logger = logging.getLogger(__name__)

# normalised risk is capped: a handful of extreme segments must not dominate routes
_RISK_CAP = 5.0

RiskFunction = Callable[[str], NDArray[np.float64]]


@dataclass(frozen=True)
class RouteSet:
    """Routes of every origin to its school per window, with edge flows.

    Attributes
    ----------
    routes
        GeoDataFrame: ``origin_id``, ``school_id``, ``window``, ``students``,
        ``length_m``, ``shortest_m``, ``risk`` (length-weighted mean risk on
        the route), ``detour_ratio`` (length / shortest), ``lam`` (the
        lambda used), ``edge_ids`` (list, origin -> school), geometry.
    flows
        DataFrame ``edge_id``, ``window``, ``students``: students walking
        each directed edge in each window.
    """

    routes: gpd.GeoDataFrame
    flows: pd.DataFrame

    def flow(self, window: str, n_edges: int) -> NDArray[np.float64]:
        """Students per edge in ``window`` (an array aligned to the edges)."""
        part = self.flows[self.flows["window"] == window]
        out = np.zeros(n_edges)
        np.add.at(out, part["edge_id"].to_numpy(dtype=np.int64), part["students"].to_numpy())
        return out


def _normalised(risk: NDArray[np.float64]) -> NDArray[np.float64]:
    positive = risk[risk > 0]
    if not positive.size:
        return np.zeros_like(risk)
    return np.asarray(np.minimum(risk / positive.mean(), _RISK_CAP), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class RouteCosts:
    """Cost matrices of every window, prepared once (see :func:`prepare_route_costs`).

    ``by_window[w]`` lists ``(edge cost array, CostMatrix, lambda)`` in the
    order tried: lambda, lambda / 2, class factors only (0), plain length (-1).
    """

    by_window: dict[str, list[tuple[NDArray[np.float64], CostMatrix, float]]]
    risk: dict[str, NDArray[np.float64]]


def prepare_route_costs(
    network: WalkNetwork,
    *,
    windows: tuple[str, ...] = ("am", "pm"),
    risk: RiskFunction | None = None,
    risk_weight: float = 1.0,
    factors: Mapping[str, float] = DEFAULT_CLASS_FACTORS,
) -> RouteCosts:
    """Build the route costs of every window once, to share across groups of schools."""
    if risk_weight < 0:
        raise DataError(f"risk_weight must be >= 0, got {risk_weight}")
    length = network.edges["length"].to_numpy(dtype=np.float64)
    base = length * class_factors(network, factors)
    by_window = {}
    risks = {}
    for window in windows:
        risk_arr = np.zeros(len(length)) if risk is None else np.asarray(risk(window), float)
        norm = _normalised(risk_arr)
        lambdas = [risk_weight, risk_weight / 2] if risk is not None and risk_weight > 0 else []
        raw = [base * (1 + lam * norm) for lam in lambdas] + [base, length]
        labels = [*lambdas, 0.0, -1.0]  # -1: plain shortest path
        prepared = []
        for cost, lam in zip(raw, labels, strict=True):
            matrix = network.prepare_cost(cost)
            _ = matrix.backward  # computed now, so it travels with the object to workers
            prepared.append((cost, matrix, lam))
        by_window[window] = prepared
        risks[window] = risk_arr
    return RouteCosts(by_window, risks)


def route_students(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    *,
    costs: RouteCosts | None = None,
    detour_cap: float = 1.25,
    max_walk_m: float | None = None,
) -> RouteSet:
    """Route every origin to its school in every window.

    Parameters
    ----------
    schools
        ``school_id``, ``node``.
    origins
        ``origin_id``, ``school_id``, ``students``, ``node``.
    costs
        Route costs of each window from :func:`prepare_route_costs` (its
        windows, risk, risk weight and street-class factors); default: the
        am and pm windows on length and street class only.
    detour_cap
        Largest route length / shortest length (>= 1).
    max_walk_m
        Longest walk searched, metres (e.g. the largest walk radius); origins
        farther away get no route.  None searches the whole network.
    """
    if detour_cap < 1:
        raise DataError(f"detour_cap must be >= 1, got {detour_cap}")
    if costs is None:
        costs = prepare_route_costs(network)
    school_node = dict(zip(schools["school_id"].astype(str), schools["node"], strict=True))
    rows: list[dict[str, object]] = []
    for window, prepared in costs.by_window.items():
        for school_id, part in origins.groupby("school_id", sort=True):
            node = int(school_node[str(school_id)])
            rows.extend(
                _school_routes(
                    network,
                    node,
                    part,
                    window,
                    prepared,
                    costs.risk[window],
                    detour_cap,
                    max_walk_m,
                )
            )
    return _assemble(network, rows)


def _school_routes(
    network: WalkNetwork,
    school_node: int,
    origins: pd.DataFrame,
    window: str,
    costs: list[tuple[NDArray[np.float64], CostMatrix, float]],
    risk: NDArray[np.float64],
    detour_cap: float,
    max_walk_m: float | None,
) -> list[dict[str, object]]:
    length = network.edges["length"].to_numpy(dtype=np.float64)
    targets = origins["node"].to_numpy(dtype=np.int64)
    shortest = network.shortest_paths(
        [school_node], targets=targets, limit_m=max_walk_m, reverse=True
    )
    best = shortest.distances[0]
    reachable = np.flatnonzero(np.isfinite(best))
    fallback = dict(
        zip(
            reachable.tolist(),
            [e.tolist() for e in shortest.edge_paths(school_node, targets[reachable])],
            strict=True,
        )
    )
    chosen: list[list[int] | None] = [None] * len(targets)
    chosen_lam = np.full(len(targets), -1.0)
    for edge_cost, cost, lam in costs[:-1]:
        todo = [i for i in fallback if chosen[i] is None]
        if not todo:
            break
        # the cheapest path costs at most what the shortest one does: a safe search limit
        limit = max(float(edge_cost[fallback[i]].sum()) for i in todo) + 1e-6
        paths = network.shortest_paths(
            [school_node], targets=targets[todo], cost=cost, limit_m=limit, reverse=True
        )
        found = paths.edge_paths(school_node, targets[todo])
        for i, edge_arr in zip(todo, found, strict=True):
            edges = edge_arr.tolist()
            if length[edges].sum() <= detour_cap * best[i] + 1e-6:
                chosen[i] = edges
                chosen_lam[i] = lam
    for i, edges in fallback.items():
        if chosen[i] is None:
            chosen[i] = edges
    rows = []
    for i, (origin_id, students) in enumerate(
        zip(origins["origin_id"], origins["students"], strict=True)
    ):
        picked = chosen[i]
        if picked is None:
            continue
        edges = picked
        route_len = float(length[edges].sum())
        rows.append(
            {
                "origin_id": origin_id,
                "school_id": str(origins["school_id"].iloc[i]),
                "window": window,
                "students": int(students),
                "length_m": route_len,
                "shortest_m": float(best[i]),
                "risk": float((risk[edges] * length[edges]).sum() / max(route_len, 1e-9)),
                "detour_ratio": route_len / best[i] if best[i] > 0 else 1.0,
                "lam": float(chosen_lam[i]),
                "edge_ids": edges,
            }
        )
    return rows


def _assemble(network: WalkNetwork, rows: list[dict[str, object]]) -> RouteSet:
    routes = pd.DataFrame(
        rows,
        columns=[
            "origin_id",
            "school_id",
            "window",
            "students",
            "length_m",
            "shortest_m",
            "risk",
            "detour_ratio",
            "lam",
            "edge_ids",
        ],
    )
    routes_gdf = gpd.GeoDataFrame(
        routes, geometry=_route_lines(network, routes["edge_ids"]), crs=network.crs
    )
    if routes.empty:
        flows = pd.DataFrame({"edge_id": [], "window": [], "students": []})
    else:
        exploded = routes[["window", "students", "edge_ids"]].explode("edge_ids").dropna()
        flows = pd.DataFrame(
            exploded.rename(columns={"edge_ids": "edge_id"})
            .astype({"edge_id": np.int64})
            .groupby(["edge_id", "window"], as_index=False)["students"]
            .sum()
        )
    return RouteSet(routes_gdf, flows)


def _route_lines(network: WalkNetwork, edge_ids: pd.Series) -> NDArray[np.object_]:
    """Each route's edges merged into one line (None for an empty route).

    One vectorised ``multilinestrings`` + ``line_merge`` over all routes
    instead of two calls per route: 0.26 s instead of 0.79 s for the 5,828
    routes of the citywide SY1617 plan, the same lines (WKB equal).
    """
    lists = [np.asarray(e, dtype=np.int64) for e in edge_ids]
    counts = np.array([len(e) for e in lists], dtype=np.int64)
    lines = np.full(len(lists), None, dtype=object)
    has = counts > 0
    if has.any():
        parts = network.edges.geometry.values[np.concatenate([e for e in lists if len(e)])]
        owner = np.repeat(np.arange(int(has.sum())), counts[has])
        lines[has] = shapely.line_merge(shapely.multilinestrings(parts, indices=owner))
    return lines


def merge_routesets(parts: Sequence[RouteSet]) -> RouteSet:
    """One RouteSet from the RouteSets of disjoint groups of schools.

    Routes are ordered by window and school (each school's own order kept),
    flows summed per edge and window: the result does not depend on how the
    schools were grouped.
    """
    if not parts:
        raise DataError("merge_routesets needs at least one RouteSet")
    routes = pd.concat([p.routes for p in parts], ignore_index=True)
    routes = routes.sort_values(["window", "school_id"], kind="stable").reset_index(drop=True)
    flows = pd.concat([p.flows for p in parts], ignore_index=True)
    if not flows.empty:
        flows = pd.DataFrame(
            flows.astype({"edge_id": np.int64})
            .groupby(["edge_id", "window"], as_index=False)["students"]
            .sum()
        )
    return RouteSet(gpd.GeoDataFrame(routes, geometry="geometry", crs=parts[0].routes.crs), flows)
