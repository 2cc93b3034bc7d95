"""What the designated routes leave unwatched, and the extensions that would watch it.

*Uncovered exposure* of a school: student-weighted risk (students x risk x km)
on the streets its modelled students walk outside every one of its designated
routes.  :func:`uncovered_streets` gives it per street segment and window.

An *extension* is a connected set of those segments that touches a designated
route: grown best-first from the route, always taking the adjacent uncovered
segment carrying the most exposure, while it stays within ``max_m`` and each
added segment brings at least half the extension's exposure per km so far
(a long tail of quiet streets is not worth a post).  Up to ``per_school``
extensions per school, each on segments no earlier one took, ranked by gain
per added km.  ``gain_<w>`` is the exposure it would cover if the students kept
their routes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..streets import corner_streets, short_names, short_street_name
from .network import WalkNetwork

__all__ = [
    "EXTENSION_COLUMNS",
    "ExtensionOptions",
    "propose_extensions",
    "school_edge_students",
    "uncovered_streets",
]

EXTENSION_COLUMNS = [
    "extension_id",
    "school_id",
    "route_id",
    "length_m",
    "gain_per_km",
    "share_of_uncovered",
    "description",
    "edge_ids",
]
_DENSITY_FLOOR = 0.5  # an added segment brings at least this share of the gain per km so far


@dataclass(frozen=True)
class ExtensionOptions:
    """``per_school`` extensions at most per school, each at most ``max_m`` long."""

    per_school: int = 3
    max_m: float = 800.0


def school_edge_students(routes: pd.DataFrame) -> pd.DataFrame:
    """Students per (school, window, edge) of modelled ``routes`` (``school_id``,
    ``window``, ``students``, ``edge_ids``): ``school_id``, ``window``, ``edge_id``,
    ``students``."""
    counts = routes["edge_ids"].map(len).to_numpy(dtype=np.int64)
    if not counts.sum():
        return pd.DataFrame(columns=["school_id", "window", "edge_id", "students"])
    exploded = pd.DataFrame(
        {
            "school_id": np.repeat(routes["school_id"].astype(str).to_numpy(), counts),
            "window": np.repeat(routes["window"].astype(str).to_numpy(), counts),
            "edge_id": np.concatenate([np.asarray(x, dtype=np.int64) for x in routes["edge_ids"]]),
            "students": np.repeat(routes["students"].to_numpy(dtype=np.float64), counts),
        }
    )
    summed = exploded.groupby(["school_id", "window", "edge_id"])["students"].sum()
    return summed.reset_index()


def uncovered_streets(
    network: WalkNetwork,
    on_students: pd.DataFrame,
    covered: Mapping[str, set[int]],
    keys: NDArray[np.int64],
    risk_by_window: Mapping[str, NDArray[np.float64]],
) -> gpd.GeoDataFrame:
    """Per school and street segment off every designated route: ``exposure_<w>``.

    Parameters
    ----------
    on_students
        :func:`school_edge_students` of the schools' modelled routes.
    covered
        Segment keys (:func:`~safepassage.routes.corridors.segment_keys`) of each
        school's designated routes; schools not in it are left out.
    """
    length = network.edges["length"].to_numpy(dtype=np.float64)
    table = on_students[on_students["school_id"].isin(list(covered))]
    edge = table["edge_id"].to_numpy(dtype=np.int64)
    table = table.assign(key=keys[edge], exposure=0.0)
    for w, risk in risk_by_window.items():
        mine = (table["window"] == w).to_numpy()
        table.loc[mine, "exposure"] = (
            table.loc[mine, "students"].to_numpy() * risk[edge[mine]] * length[edge[mine]] / 1000
        )
    off = np.array(
        [k not in covered[s] for s, k in zip(table["school_id"], table["key"], strict=True)],
        dtype=bool,
    )
    table = table[off]
    wide = table.pivot_table(
        index=["school_id", "key"], columns="window", values="exposure", aggfunc="sum"
    ).fillna(0.0)
    edge_of = table.groupby(["school_id", "key"])["edge_id"].min()
    columns = [f"exposure_{w}" for w in risk_by_window]
    wide = wide.reindex(columns=list(risk_by_window), fill_value=0.0)
    wide.columns = columns
    wide = wide[(wide > 0).any(axis=1)].reset_index()
    ids = edge_of.reindex(pd.MultiIndex.from_frame(wide[["school_id", "key"]])).to_numpy()
    ids = ids.astype(np.int64)
    names = network.edges["name"].fillna("").astype(str).to_numpy()
    out = pd.DataFrame(
        {
            "school_id": wide["school_id"].astype(str).to_numpy(),
            "edge_id": ids,
            "street": [short_street_name(n) if n else "unnamed way" for n in names[ids]],
            **{c: wide[c].round(4).to_numpy() for c in columns},
        }
    ).sort_values(["school_id", "edge_id"], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=network.edges.geometry.values[ids], crs=network.crs)


def propose_extensions(
    network: WalkNetwork,
    uncovered: gpd.GeoDataFrame,
    designated: gpd.GeoDataFrame,
    options: ExtensionOptions,
) -> gpd.GeoDataFrame:
    """Extensions of each school's designated routes over its uncovered streets.

    Columns: ``extension_id`` (``<route_id>-x<n>``), ``school_id``, ``route_id``
    (the designated route it leaves from), ``length_m``, ``gain_<w>`` (exposure it
    covers), ``gain_per_km`` (all windows), ``share_of_uncovered`` (of the school's
    uncovered exposure, all windows), ``description``, ``edge_ids``, geometry.
    """
    windows = [c.removeprefix("exposure_") for c in uncovered.columns if c.startswith("exposure_")]
    u = network.edges["u"].to_numpy(dtype=np.int64)
    v = network.edges["v"].to_numpy(dtype=np.int64)
    length = network.edges["length"].to_numpy(dtype=np.float64)
    found: list[tuple[str, str, NDArray[np.int64], int, NDArray[np.float64], float]] = []
    for school, streets in uncovered.groupby("school_id", sort=True):
        routes = designated[designated["school_id"].astype(str) == str(school)]
        node_route: dict[int, str] = {}
        for route_id, ids in zip(routes["route_id"], routes["edge_ids"], strict=True):
            for n in np.concatenate([u[ids], v[ids]]).tolist():
                node_route.setdefault(int(n), str(route_id))
        gains = streets[[f"exposure_{w}" for w in windows]].to_numpy(dtype=np.float64)
        edges = streets["edge_id"].to_numpy(dtype=np.int64)
        grown = _grow_extensions(edges, gains.sum(axis=1), u, v, length, node_route, options)
        for chosen, start in grown:
            gain = gains[chosen].sum(axis=0)
            found.append((str(school), node_route[start], edges[chosen], start, gain, gains.sum()))
    # the cross streets where each extension leaves its route, in one look-up
    at = corner_streets(network, [start for *_, start, _, _ in found])
    names = short_names(network.edges["name"])
    rows: list[dict[str, object]] = []
    counts: dict[str, int] = {}
    for (school, route_id, ids, _, gain, total), corner in zip(found, at, strict=True):
        counts[route_id] = counts.get(route_id, 0) + 1
        km = float(length[ids].sum()) / 1000
        rows.append(
            {
                "extension_id": f"{route_id}-x{counts[route_id]}",
                "school_id": school,
                "route_id": route_id,
                "length_m": round(km * 1000, 1),
                **{f"gain_{w}": round(float(g), 3) for w, g in zip(windows, gain, strict=True)},
                "gain_per_km": round(float(gain.sum()) / max(km, 1e-9), 3),
                "share_of_uncovered": round(float(gain.sum()) / total, 3) if total else 0.0,
                "description": _describe(names, length, ids, corner),
                "edge_ids": sorted(ids.tolist()),
                "geometry": shapely.multilinestrings(list(network.edges.geometry.values[ids])),
            }
        )
    columns = [*EXTENSION_COLUMNS[:4], *(f"gain_{w}" for w in windows), *EXTENSION_COLUMNS[4:]]
    table = pd.DataFrame(rows, columns=[*columns, "geometry"])
    if len(table):
        table = table.sort_values(
            ["school_id", "gain_per_km", "extension_id"], ascending=[True, False, True]
        )
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry="geometry", crs=network.crs)


def _grow_extensions(
    edges: NDArray[np.int64],
    gain: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    length: NDArray[np.float64],
    on_route: Mapping[int, str],
    options: ExtensionOptions,
) -> list[tuple[list[int], int]]:
    """Up to ``per_school`` extensions: (rows of ``edges`` taken, route node it starts at)."""
    by_node: dict[int, list[int]] = defaultdict(list)
    for row, e in enumerate(edges.tolist()):
        by_node[int(u[e])].append(row)
        by_node[int(v[e])].append(row)
    taken: set[int] = set()
    found: list[tuple[list[int], int]] = []
    for _ in range(options.per_school):
        starts = [
            (float(gain[row]), node, row)
            for node in on_route
            for row in by_node.get(node, [])
            if row not in taken and gain[row] > 0
        ]
        if not starts:
            break
        _, node, row = max(starts, key=lambda s: (s[0], -s[2]))
        chosen = _grow_one(row, node, edges, gain, u, v, length, by_node, taken, options.max_m)
        taken.update(chosen)
        found.append((chosen, node))
    return found


def _grow_one(  # noqa: PLR0913 - the arrays of one school's uncovered streets
    first: int,
    start: int,
    edges: NDArray[np.int64],
    gain: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    length: NDArray[np.float64],
    by_node: Mapping[int, Sequence[int]],
    taken: set[int],
    max_m: float,
) -> list[int]:
    chosen: list[int] = []
    inside: set[int] = set()
    reached = {start}
    heap: list[tuple[float, int]] = [(-float(gain[first]), first)]
    used = total = 0.0
    while heap:
        neg, row = heapq.heappop(heap)
        e = int(edges[row])
        seg_m = float(length[e])
        if row in taken or row in inside or used + seg_m > max_m:
            continue
        if chosen and -neg / max(seg_m, 1.0) < _DENSITY_FLOOR * total / max(used, 1.0):
            break  # the best adjacent street is quieter than the extension so far
        chosen.append(row)
        inside.add(row)
        used, total = used + seg_m, total - neg
        for end in (int(u[e]), int(v[e])):
            if end not in reached:
                reached.add(end)
                for nxt in by_node.get(end, []):
                    if nxt not in taken and nxt not in inside and gain[nxt] > 0:
                        heapq.heappush(heap, (-float(gain[nxt]), nxt))
    return chosen


def _describe(
    names: NDArray[np.object_],
    length: NDArray[np.float64],
    ids: NDArray[np.int64],
    corner: Sequence[str],
) -> str:
    """``"S Halsted St from W 63rd St, 420 m"``: its main street (``names``: the short
    street name per edge) and the cross street (of ``corner``, the streets where it
    leaves the route) it starts from."""
    by_street: dict[str, float] = {}
    for name, metres in zip(names[ids].tolist(), length[ids].tolist(), strict=True):
        by_street[name] = by_street.get(name, 0.0) + metres
    ranked = sorted(by_street, key=lambda n: (-by_street[n], n))
    street = next((n for n in ranked if n), "unnamed ways")
    others = [n for n in corner if n != street]
    at = f" from {others[0]}" if others else ""
    return f"{street}{at}, {float(length[ids].sum()):.0f} m"
