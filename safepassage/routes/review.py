"""Review of the designated routes: who walks them, how risky they are, what they miss.

:func:`review_routes` gives a :class:`RouteReview`.  Its ``routes`` table has,
for each designated route matched onto the network and each window ``<w>``:

* ``students_<w>``: the modelled students walking it, each weighted by the share
  of their route's length on it (an aggregate, never a student);
* ``risk_<w>``: length-weighted mean risk along it (weighted incidents per km per
  year);
* ``exposure_<w>``: student-weighted risk on it, Σ students × risk × km over its
  street segments;
* ``riskiest``: its riskiest stretches (blocks of one street between two named
  cross streets, ranked by their mean risk in the worse window), named "<street>
  between <cross street> and <cross street>" ("near <cross street>" where a
  stretch ends at the route's end), ``; ``-separated; ``riskiest_edge_ids``
  their edges;
* ``uncovered_exposure_<w>``: student-weighted risk on the streets the school's
  students walk outside every designated route, and ``uncovered_share_<w>`` of
  the school's total (what the routes leave unwatched); counted once per school,
  a school with two routes shows it on each;
* ``extensions``, ``extension_gain_<w>``: how many extensions are proposed for
  the school and the exposure they would cover together;
* with a baseline risk (``[review] baseline_period``): ``baseline_risk_<w>``
  and ``risk_change_<w>`` = ``risk_<w>`` − ``baseline_risk_<w>`` (where violence
  moved).

``uncovered`` lists those streets per school and ``extensions`` the proposed
designed extensions (:mod:`safepassage.routes.extensions`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..streets import corner_streets, short_names
from .corridors import segment_keys, students_on
from .extensions import (
    ExtensionOptions,
    propose_extensions,
    school_edge_students,
    uncovered_streets,
)
from .network import WalkNetwork
from .paths import RouteSet

__all__ = ["RouteReview", "review_routes"]

STRETCHES = 3  # riskiest stretches named per route


@dataclass(frozen=True)
class RouteReview:
    """The review of the designated routes (see the module docstring).

    ``routes``: one row per route; ``uncovered``: ``school_id``, ``edge_id``,
    ``street``, ``exposure_<w>``, geometry; ``extensions``: see
    :func:`~safepassage.routes.extensions.propose_extensions`.
    """

    routes: gpd.GeoDataFrame
    uncovered: gpd.GeoDataFrame
    extensions: gpd.GeoDataFrame


def review_routes(
    network: WalkNetwork,
    designated: gpd.GeoDataFrame | None,
    routes: RouteSet,
    risk_by_window: Mapping[str, NDArray[np.float64]],
    *,
    baseline: Mapping[str, NDArray[np.float64]] | None = None,
    extensions: ExtensionOptions | None = None,
) -> RouteReview | None:
    """Review ``designated`` (designated corridors: ``route_id``, ``school_id``,
    ``length_m``, ``matched_share``, ``edge_ids``, geometry) against the students'
    modelled ``routes``; None when there is no designated route.

    ``baseline`` is the risk per edge and window of a baseline period.
    """
    if designated is None or designated.empty:
        return None
    designated = designated.reset_index(drop=True)
    length = network.edges["length"].to_numpy(dtype=np.float64)
    key = segment_keys(network)
    table = designated[["route_id", "school_id", "length_m", "matched_share", "geometry"]].copy()
    named = _stretch_names(network, designated["edge_ids"], risk_by_window, key)
    table["riskiest"] = ["; ".join(label for label, _ in stretches) for stretches in named]
    table["riskiest_edge_ids"] = [sorted(e for _, ids in s for e in ids) for s in named]
    covered = _covered_by_school(designated, key)
    on_students = school_edge_students(routes.routes)
    for w, risk in risk_by_window.items():
        _window_columns(table, designated, routes.routes, on_students, w, risk, key, length)
        if baseline is not None:
            before = np.array([_mean(baseline[w], ids, length) for ids in designated["edge_ids"]])
            table[f"baseline_risk_{w}"] = np.round(before, 3)
            table[f"risk_change_{w}"] = np.round(table[f"risk_{w}"].to_numpy() - before, 3)
    uncovered = uncovered_streets(network, on_students, covered, key, risk_by_window)
    proposed = propose_extensions(network, uncovered, designated, extensions or ExtensionOptions())
    _uncovered_columns(table, uncovered, list(risk_by_window))
    _extension_columns(table, proposed, list(risk_by_window))
    ordered = [c for c in table.columns if c != "geometry"] + ["geometry"]
    return RouteReview(
        gpd.GeoDataFrame(table[ordered], geometry="geometry", crs=network.crs),
        uncovered,
        proposed,
    )


def _window_columns(
    table: pd.DataFrame,
    designated: gpd.GeoDataFrame,
    routes: pd.DataFrame,
    on_students: pd.DataFrame,
    window: str,
    risk: NDArray[np.float64],
    key: NDArray[np.int64],
    length: NDArray[np.float64],
) -> None:
    """``students_<w>``, ``risk_<w>`` and ``exposure_<w>`` of each route (its school's
    students only)."""
    part = routes[routes["window"] == window]
    by_school = dict(list(part.groupby(part["school_id"].astype(str))))
    flows = on_students[on_students["window"] == window]
    flow_of = dict(list(flows.groupby("school_id")))
    empty_routes, empty_flows = part.iloc[:0], flows.iloc[:0]
    students, mean_risk, exposure = [], [], []
    for ids, school in zip(designated["edge_ids"], designated["school_id"], strict=True):
        ids = _unique_segments(np.asarray(ids, dtype=np.int64), key)
        on = np.isin(key, key[ids])
        mine_routes = by_school.get(str(school), empty_routes)
        students.append(round(students_on(mine_routes, on, length), 1))
        mean_risk.append(_mean(risk, ids, length))
        mine = flow_of.get(str(school), empty_flows)
        edge = mine["edge_id"].to_numpy(dtype=np.int64)
        hit = on[edge]
        exposure.append(
            float((mine["students"].to_numpy()[hit] * risk[edge[hit]] * length[edge[hit]]).sum())
            / 1000
        )
    table[f"students_{window}"] = students
    table[f"risk_{window}"] = np.round(mean_risk, 3)
    table[f"exposure_{window}"] = np.round(exposure, 2)


def _unique_segments(ids: NDArray[np.int64], key: NDArray[np.int64]) -> NDArray[np.int64]:
    """One edge per street segment (a route may list both directions)."""
    _, first = np.unique(key[ids], return_index=True)
    return np.asarray(ids[np.sort(first)], dtype=np.int64)


def _mean(risk: NDArray[np.float64], ids: object, length: NDArray[np.float64]) -> float:
    edges = np.asarray(ids, dtype=np.int64)
    return float((risk[edges] * length[edges]).sum() / max(length[edges].sum(), 1e-9))


def _covered_by_school(designated: pd.DataFrame, key: NDArray[np.int64]) -> dict[str, set[int]]:
    covered: dict[str, set[int]] = {}
    for school, ids in zip(designated["school_id"], designated["edge_ids"], strict=True):
        covered.setdefault(str(school), set()).update(key[np.asarray(ids, dtype=np.int64)].tolist())
    return covered


def _uncovered_columns(table: pd.DataFrame, uncovered: pd.DataFrame, windows: list[str]) -> None:
    """``uncovered_exposure_<w>`` and ``uncovered_share_<w>`` (of the school's total)."""
    by_school = uncovered.groupby("school_id")[[f"exposure_{w}" for w in windows]].sum()
    school = table["school_id"].astype(str)
    for w in windows:
        off = school.map(by_school[f"exposure_{w}"]).fillna(0.0).to_numpy(dtype=np.float64)
        on = table.groupby(school)[f"exposure_{w}"].transform("sum").to_numpy(dtype=np.float64)
        total = off + on
        table[f"uncovered_exposure_{w}"] = np.round(off, 2)
        table[f"uncovered_share_{w}"] = np.round(
            np.divide(off, total, out=np.zeros_like(off), where=total > 0), 3
        )


def _extension_columns(table: pd.DataFrame, proposed: pd.DataFrame, windows: list[str]) -> None:
    school = table["school_id"].astype(str)
    table["extensions"] = school.map(proposed.groupby("school_id").size()).fillna(0).astype(int)
    for w in windows:
        gain = proposed.groupby("school_id")[f"gain_{w}"].sum()
        table[f"extension_gain_{w}"] = school.map(gain).fillna(0.0).round(2).to_numpy()


def _stretch_names(
    network: WalkNetwork,
    edge_lists: pd.Series,
    risk_by_window: Mapping[str, NDArray[np.float64]],
    key: NDArray[np.int64],
) -> list[list[tuple[str, list[int]]]]:
    """The :data:`STRETCHES` riskiest stretches of each route: (label, edge ids)."""
    edges = network.edges
    u, v = edges["u"].to_numpy(dtype=np.int64), edges["v"].to_numpy(dtype=np.int64)
    length = edges["length"].to_numpy(dtype=np.float64)
    names = short_names(edges["name"])
    lists = [_unique_segments(np.asarray(ids, dtype=np.int64), key) for ids in edge_lists]
    ends = [np.concatenate([u[ids], v[ids]]) for ids in lists]
    nodes = np.unique(np.concatenate(ends)) if ends else np.zeros(0, dtype=np.int64)
    corners = dict(zip(nodes.tolist(), corner_streets(network, nodes.tolist()), strict=True))
    peak = np.max(np.vstack(list(risk_by_window.values())), axis=0)
    out = []
    for ids in lists:
        blocks = _blocks(ids, u, v, names, corners)
        scored = sorted(
            ((_mean(peak, b, length), i, b) for i, b in enumerate(blocks)),
            key=lambda s: (-s[0], s[1]),
        )
        named: dict[str, list[int]] = {}  # a label once: a boulevard's two sides are one stretch
        for risk, _, block in scored:
            if risk <= 0:
                break
            label = _stretch_label(block, u, v, names, corners)
            if label in named:
                named[label].extend(block)
            elif len(named) < STRETCHES:
                named[label] = list(block)
        out.append([(label, sorted(edges)) for label, edges in named.items()])
    return out


def _blocks(
    ids: NDArray[np.int64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    names: NDArray[np.object_],
    corners: Mapping[int, list[str]],
) -> list[list[int]]:
    """The route's segments joined into stretches: same street, through no named corner."""
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    at: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, e in enumerate(ids.tolist()):
        for node in (int(u[e]), int(v[e])):
            if len(corners.get(node, [])) < 2:  # not a corner: the stretch goes on
                at[(node, str(names[e]))].append(i)
    for members in at.values():
        for i in members[1:]:
            parent[find(i)] = find(members[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for i, e in enumerate(ids.tolist()):
        groups[find(i)].append(int(e))
    return list(groups.values())


def _stretch_label(
    block: list[int],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    names: NDArray[np.object_],
    corners: Mapping[int, list[str]],
) -> str:
    """``"S Halsted St between W 63rd St and W 64th St"`` by the stretch's end corners."""
    street = str(names[block[0]]) or "an unnamed way"
    ends: dict[int, int] = defaultdict(int)
    for e in block:
        ends[int(u[e])] += 1
        ends[int(v[e])] += 1
    crossing: list[str] = []
    for node in sorted(n for n, d in ends.items() if d == 1):
        crossing.extend(s for s in corners.get(node, []) if s != street)
    named = sorted(dict.fromkeys(crossing))
    if len(named) >= 2:
        return f"{street} between {named[0]} and {named[1]}"
    return f"{street} near {named[0]}" if named else street
