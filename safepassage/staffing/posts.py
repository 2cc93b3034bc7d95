"""Candidate posts along the corridors, their value, and the choice of posts.

Candidates are the intersections on a school's corridor (street count >= 3)
plus the school's door node and any mandatory points.  A post watches the
corridor segments whose midpoint lies within ``sight_m`` of it, measured
along the corridors.  The value of watching a segment in a window is

    students walking it in that window x (risk + risk_floor) x length_km

where ``risk_floor`` is 5% of the mean positive risk (so with no incidents at
all the busiest segments still win).  The choice is a maximal covering model
(:func:`~safepassage.staffing.choose.choose_posts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..errors import DataError
from ..routes.network import WalkNetwork
from ..routes.paths import RouteSet
from ._cpsat import SolverSettings
from .choose import choose_posts

__all__ = ["PostPlan", "candidate_posts", "cross_streets", "plan_posts", "short_street_name"]

_ABBREVIATIONS = {
    "North": "N",
    "South": "S",
    "East": "E",
    "West": "W",
    "Street": "St",
    "Avenue": "Ave",
    "Boulevard": "Blvd",
    "Road": "Rd",
    "Place": "Pl",
    "Drive": "Dr",
    "Parkway": "Pkwy",
    "Court": "Ct",
    "Terrace": "Ter",
    "Lane": "Ln",
    "Expressway": "Expy",
}


@dataclass(frozen=True)
class PostPlan:
    """Candidate and chosen posts.

    Attributes
    ----------
    table
        GeoDataFrame: ``post_id``, ``node``, ``school_id`` (the school whose
        budget it uses), ``school_ids``, ``route_ids`` (lists),
        ``cross_streets``, ``kind`` (corner/door/mandatory), ``value_<window>``
        per window, ``selected``, geometry (Point).
    status, objective, bound, gap, wall_s
        From the CP-SAT solve.
    """

    table: gpd.GeoDataFrame
    status: str
    objective: float
    bound: float
    gap: float
    wall_s: float

    @property
    def selected(self) -> gpd.GeoDataFrame:
        """The chosen posts."""
        return self.table[self.table["selected"]]


def short_street_name(name: str) -> str:
    """``South Halsted Street`` -> ``S Halsted St`` (as printed on street signs)."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in name.split())


def cross_streets(network: WalkNetwork, nodes: Iterable[int]) -> list[str]:
    """``"S Halsted St & W 63rd St"`` for each node: its two main named streets.

    Streets are ranked by the length of their segments meeting at the node;
    a node on one street only gives ``"<street> (mid-block)"``.
    """
    names = network.edges["name"].to_numpy()
    length = network.edges["length"].to_numpy()
    by_node: dict[int, Counter[str]] = {}
    wanted = {int(n) for n in nodes}
    u = network.edges["u"].to_numpy()
    for e in np.flatnonzero(np.isin(u, list(wanted))):
        if names[e]:
            by_node.setdefault(int(u[e]), Counter())[short_street_name(names[e])] += length[e]
    labels = []
    for node in nodes:
        ranked = [n for n, _ in by_node.get(int(node), Counter()).most_common()]
        if len(ranked) >= 2:
            labels.append(" & ".join(sorted(ranked[:2])))
        elif ranked:
            labels.append(f"{ranked[0]} (mid-block)")
        else:
            labels.append(f"node {node}")
    return labels


def _segment_key(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.str_]:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.char.add(np.char.add(lo.astype(str), "-"), hi.astype(str))


def candidate_posts(
    network: WalkNetwork, corridors: gpd.GeoDataFrame, schools: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Intersections on each corridor plus each school's door node.

    Returns
    -------
    GeoDataFrame
        ``post_id`` (``P<node>``), ``node``, ``school_id``, ``school_ids``,
        ``route_ids``, ``kind``, ``cross_streets``, ``x``, ``y``, geometry.
    """
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    street_count = network.nodes["street_count"].to_numpy()
    owners: dict[int, tuple[set[str], set[str]]] = {}
    door = dict(zip(schools["school_id"].astype(str), schools["node"], strict=True))
    for school_id, route_id, ids in corridors[["school_id", "route_id", "edge_ids"]].itertuples(
        index=False
    ):
        ends = np.unique(np.concatenate([u[ids], v[ids]]))
        corner = ends[street_count[ends] >= 3]
        for node in [*corner.tolist(), int(door[str(school_id)])]:
            entry = owners.setdefault(int(node), (set(), set()))
            entry[0].add(str(school_id))
            entry[1].add(str(route_id))
    doors = {int(n) for n in door.values()}
    nodes = sorted(owners)
    table = pd.DataFrame(
        {
            "post_id": [f"P{n}" for n in nodes],
            "node": nodes,
            "school_id": [sorted(owners[n][0])[0] for n in nodes],
            "school_ids": [sorted(owners[n][0]) for n in nodes],
            "route_ids": [sorted(owners[n][1]) for n in nodes],
            "kind": ["door" if n in doors else "corner" for n in nodes],
            "cross_streets": cross_streets(network, nodes),
        }
    )
    xy = network.nodes[["x", "y"]].to_numpy()[table["node"].to_numpy(dtype=np.int64)]
    table["x"], table["y"] = xy[:, 0], xy[:, 1]
    return gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["x"], table["y"]), crs=network.crs
    )


def _coverage(
    network: WalkNetwork, corridors: gpd.GeoDataFrame, posts: pd.DataFrame, sight_m: float
) -> tuple[dict[str, list[str]], pd.DataFrame]:
    """Segments each post watches (midpoint within ``sight_m`` along the corridors)."""
    edge_ids = np.unique(
        np.concatenate([np.asarray(e, dtype=np.int64) for e in corridors["edge_ids"]])
    )
    u = network.edges["u"].to_numpy()[edge_ids]
    v = network.edges["v"].to_numpy()[edge_ids]
    length = network.edges["length"].to_numpy()[edge_ids]
    local_nodes, local = np.unique(np.concatenate([u, v]), return_inverse=True)
    lu, lv = local[: len(u)], local[len(u) :]
    n = len(local_nodes)
    matrix = csr_matrix(
        (
            np.concatenate([length, length]) + 1e-6,
            (np.concatenate([lu, lv]), np.concatenate([lv, lu])),
        ),
        shape=(n, n),
    )
    sources = np.searchsorted(local_nodes, posts["node"].to_numpy(dtype=np.int64))
    dist = np.atleast_2d(dijkstra(matrix, indices=sources, limit=sight_m))
    mid = np.minimum(dist[:, lu], dist[:, lv]) + length[None, :] / 2
    keys = _segment_key(u, v)
    coverage = {
        post_id: sorted(set(keys[np.flatnonzero(row <= sight_m)].tolist()))
        for post_id, row in zip(posts["post_id"], mid, strict=True)
    }
    segments = pd.DataFrame({"segment_id": keys, "edge_id": edge_ids, "length": length})
    return coverage, segments.drop_duplicates("segment_id")


def _segment_values(
    segments: pd.DataFrame,
    routes: RouteSet,
    risk: Callable[[str], NDArray[np.float64]] | None,
    windows: Iterable[str],
    network: WalkNetwork,
) -> pd.DataFrame:
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    parts = []
    for window in windows:
        flow = routes.flow(window, len(network.edges))
        seg_flow = pd.Series(flow).groupby(_segment_key(u, v)).sum()
        risk_arr = np.zeros(len(u)) if risk is None else np.asarray(risk(window), dtype=float)
        positive = risk_arr[risk_arr > 0]
        floor = 0.05 * positive.mean() if positive.size else 1.0
        edge = segments["edge_id"].to_numpy()
        value = (
            seg_flow.reindex(segments["segment_id"]).fillna(0).to_numpy()
            * (risk_arr[edge] + floor)
            * segments["length"].to_numpy()
            / 1000
        )
        parts.append(
            pd.DataFrame(
                {"segment_id": segments["segment_id"].to_numpy(), "window": window, "value": value}
            )
        )
    return pd.concat(parts, ignore_index=True)


def plan_posts(
    network: WalkNetwork,
    corridors: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    routes: RouteSet,
    *,
    risk: Callable[[str], NDArray[np.float64]] | None = None,
    windows: tuple[str, ...] = ("am", "pm"),
    per_school: int | Mapping[str, int] = 8,
    min_spacing_m: float = 80.0,
    sight_m: float = 100.0,
    mandatory: Iterable[str] = (),
    settings: SolverSettings | None = None,
) -> PostPlan:
    """Candidate posts, their value per window, and the chosen posts.

    Parameters
    ----------
    per_school
        Post budget of each school (or a mapping school id -> budget).
    min_spacing_m
        No two chosen posts closer than this, metres (straight line).
    sight_m
        How far along the corridor a post watches, each way, metres.
    mandatory
        Post ids (``P<node>``) always chosen.
    """
    if sight_m <= 0:
        raise DataError(f"sight_m must be > 0, got {sight_m}")
    if corridors.empty:
        raise DataError("no corridors to place posts on; check the routes stage's problems")
    posts = candidate_posts(network, corridors, schools)
    coverage, segments = _coverage(network, corridors, posts, sight_m)
    values = _segment_values(segments, routes, risk, windows, network)
    budget: int | dict[str, int]
    if isinstance(per_school, int):
        budget = {str(s): per_school for s in posts["school_id"].unique()}
    else:
        budget = {str(s): int(per_school.get(str(s), 0)) for s in posts["school_id"].unique()}
    choice = choose_posts(
        posts[["post_id", "school_id", "x", "y"]].rename(columns={"post_id": "candidate_id"}),
        coverage,
        values,
        budget=budget,
        min_spacing_m=min_spacing_m,
        mandatory=list(mandatory),
        settings=settings,
    )
    per_window = values.pivot_table(
        index="segment_id", columns="window", values="value", aggfunc="sum"
    )
    for window in windows:
        seg_value = per_window[window] if window in per_window else pd.Series(dtype=float)
        posts[f"value_{window}"] = [
            float(seg_value.reindex(coverage[p]).fillna(0).sum()) for p in posts["post_id"]
        ]
    posts["selected"] = posts["post_id"].isin(choice.selected)
    return PostPlan(posts, choice.status, choice.objective, choice.bound, choice.gap, choice.wall_s)
