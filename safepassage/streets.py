"""Street classes: one home for what each OSM ``highway`` class means to the plan.

:data:`NON_STREET_HIGHWAYS` are ways that are not streets along traffic
(alleys, service roads, footways, ...): risk is snapped to streets only, the
predictive check and the risk map leave these out.  :data:`DEFAULT_CLASS_FACTORS`
say how much more (> 1) or less (< 1) walking a class costs when routes and
corridors are chosen; ``[routes] class_factors`` overrides them per class.

Street names too: :func:`short_street_name` (as on street signs),
:func:`corner_streets`, the streets that meet at a node (post ids and route
stretches are named by them), and :func:`place_labels`, what a worker is told:
a corner's cross streets, or for a node mid-block the corners it lies between
along its street, distinct for each post of a plan.  :func:`cross_streets` is
the corner-only label (``"<street> (mid-block)"`` off corners).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .errors import DataError
from .routes.network import WalkNetwork

__all__ = [
    "ABBREVIATIONS",
    "ARTERIALS",
    "CORNER_M",
    "DEFAULT_CLASS_FACTORS",
    "DIRECTIONS",
    "NON_STREET_HIGHWAYS",
    "STREET_TYPES",
    "WALK_LIMIT_M",
    "class_factors",
    "corner_streets",
    "cross_streets",
    "place_labels",
    "short_names",
    "short_street_name",
]

# Street classes left out of the predictive check (not where pupils walk along traffic).
NON_STREET_HIGHWAYS = frozenset(
    {
        "service",
        "alley",
        "footway",
        "path",
        "steps",
        "connector",
        "pedestrian",
        "track",
        "cycleway",
        "corridor",
        "elevator",
        "platform",
        "bridleway",
        "sidewalk",
        "crossing",
    }
)

# Calibrated on the official SY1617 routes of Englewood, West Englewood, East
# Garfield Park and North Lawndale (bench/routes_reference.py --calibrate): alleys
# and service roads are 38% of the walkable length there but 0.4% of official
# route length, arterials 16% and 39%.  A grid over the arterial, alley and path
# factors, lambda and the corridor budget picked arterials 0.65 when trained on
# either pair of areas; alleys anywhere from 2 to 8 score alike (4 keeps a margin).
# Factors > 1 make a class costlier.
ARTERIALS = (
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "trunk",
    "trunk_link",
)
DEFAULT_CLASS_FACTORS: Mapping[str, float] = {
    **dict.fromkeys(ARTERIALS, 0.65),
    **dict.fromkeys(("residential", "living_street", "unclassified", "connector"), 1.0),
    **dict.fromkeys(("footway", "pedestrian", "path"), 1.5),
    "steps": 2.0,
    "track": 3.0,
    "service": 4.0,
    "alley": 4.0,
}


def class_factors(
    network: WalkNetwork, factors: Mapping[str, float] = DEFAULT_CLASS_FACTORS
) -> NDArray[np.float64]:
    """Cost factor per edge from its street class (1.0 for classes not listed)."""
    bad = {k: v for k, v in factors.items() if not v > 0}
    if bad:
        raise DataError(f"street class factors must be > 0: {bad}")
    mapped = network.edges["highway"].map(dict(factors)).fillna(1.0)
    return np.asarray(mapped.to_numpy(dtype=np.float64))


CORNER_M = 15.0  # a node this close to a corner along a segment is named as the corner

ABBREVIATIONS = {
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
    "Highway": "Hwy",
}
DIRECTIONS = {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
STREET_TYPES = set(ABBREVIATIONS.values()) - DIRECTIONS | {"Hwy", "Sq", "Way", "Row"}


def short_street_name(name: str) -> str:
    """``South Halsted Street`` -> ``S Halsted St`` (as printed on street signs)."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in name.split())


def _street_codes(network: WalkNetwork) -> tuple[NDArray[np.int64], list[str]]:
    """Each edge's street as a code into a list of short names (-1: unnamed).

    Names are shortened once per distinct OSM name, not once per edge, so this
    stays cheap on a citywide network.
    """
    raw_codes, raw_names = pd.factorize(network.edges["name"].fillna("").astype(str))
    short = [short_street_name(name) for name in raw_names]
    short_codes, names = pd.factorize(pd.Series(short, dtype=object))
    short_codes = np.where(np.asarray(short, dtype=object) == "", -1, short_codes)
    return short_codes[raw_codes].astype(np.int64), [str(name) for name in names]


def _street_lengths(
    network: WalkNetwork, wanted: NDArray[np.int64], codes: NDArray[np.int64]
) -> pd.DataFrame:
    """``node``, ``street`` (code), ``length``: metres of each street meeting at a node.

    A node counts its own segments and those of the nodes within ``CORNER_M``
    of it along one segment.
    """
    edges = network.edges
    u = edges["u"].to_numpy(dtype=np.int64)
    v = edges["v"].to_numpy(dtype=np.int64)
    length = edges["length"].to_numpy(dtype=np.float64)
    near = np.isin(u, wanted) & (length <= CORNER_M)
    # each wanted node stands for itself and for its close neighbours
    owner = pd.DataFrame(
        {"node": np.concatenate([wanted, u[near]]), "at": np.concatenate([wanted, v[near]])}
    ).drop_duplicates()
    named = codes >= 0
    joined = owner.merge(
        pd.DataFrame({"at": u[named], "street": codes[named], "length": length[named]}), on="at"
    )
    summed = joined.groupby(["node", "street"], sort=False)["length"].sum()
    return summed.reset_index()


def _ranked_streets(lengths: pd.DataFrame, names: Sequence[str]) -> dict[int, list[int]]:
    """Street codes per node, longest first (to the decimetre), ties by name."""
    ranked = lengths.assign(
        neg=-lengths["length"].round(1), name=np.asarray(names, dtype=object)[lengths["street"]]
    ).sort_values(["node", "neg", "name"], kind="stable")
    if ranked.empty:
        return {}
    nodes, first = np.unique(ranked["node"].to_numpy(dtype=np.int64), return_index=True)
    streets = np.split(ranked["street"].to_numpy(dtype=np.int64), first[1:])
    return dict(zip(nodes.tolist(), (s.tolist() for s in streets), strict=True))


def short_names(names: pd.Series) -> NDArray[np.object_]:
    """:func:`short_street_name` of every name (missing: ``""``), each distinct name once."""
    distinct, where = np.unique(names.fillna("").astype(str).to_numpy(), return_inverse=True)
    return np.array([short_street_name(n) for n in distinct], dtype=object)[where]


def corner_streets(network: WalkNetwork, nodes: Sequence[int]) -> list[list[str]]:
    """The (up to) two main named streets of each node, alphabetical.

    A node's streets are those of its own segments and of the nodes within
    ``CORNER_M`` of it along one segment (OSM often puts an alley junction or a
    crosswalk node a few metres from the corner).  Streets are ranked by the
    length (to the decimetre) of their segments meeting there, ties by name, so
    edge order does not matter.
    """
    codes, names = _street_codes(network)
    return _corner_names(network, np.asarray(list(nodes), dtype=np.int64), codes, names)


def _corner_names(
    network: WalkNetwork, wanted: NDArray[np.int64], codes: NDArray[np.int64], names: list[str]
) -> list[list[str]]:
    ranked = _ranked_streets(_street_lengths(network, wanted, codes), names)
    return [sorted(names[c] for c in ranked.get(int(node), [])[:2]) for node in wanted]


def cross_streets(network: WalkNetwork, nodes: Iterable[int]) -> list[str]:
    """``"S Halsted St & W 63rd St"`` for each node: its two main named streets.

    Streets are ranked by the length of their segments meeting at the node;
    a node on one street only gives ``"<street> (mid-block)"``, one on unnamed
    ways only ``"unnamed way"``.  To tell a worker where a post is, use
    :func:`place_labels`, which places mid-block nodes between corners.
    """
    labels = []
    for streets in corner_streets(network, list(nodes)):
        if len(streets) >= 2:
            labels.append(" & ".join(streets))
        elif streets:
            labels.append(f"{streets[0]} (mid-block)")
        else:
            labels.append("unnamed way")
    return labels


# ------------------------------------------------------------ place labels
WALK_LIMIT_M = 400.0  # a corner farther than this along the street does not name a post
COMPASS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")


def place_labels(
    network: WalkNetwork,
    nodes: Iterable[int],
    *,
    limit_m: float = WALK_LIMIT_M,
    distinct: bool = True,
) -> list[str]:
    """A label a worker can find for each node: its corner, or where it lies on its block.

    * a corner (two named streets within ``CORNER_M``): ``"S Halsted St & W 63rd St"``
      (as :func:`cross_streets`);
    * a node on one named street (an alley junction, a driveway): walking along
      that street both ways to the nearest corner where another named street
      meets it, ``"S Halsted St between W 63rd St and W 64th St"`` (the two
      cross streets in natural order, numbers by value); when only one way
      reaches a corner within ``limit_m``, ``"S Halsted St, 80 m north of W
      63rd St"`` (metres along the street, rounded to 10; the 8-point compass
      direction from that corner); when neither does, ``"S Halsted St near
      <corner>"`` (the nearest corner within ``limit_m`` in a straight line),
      else ``"S Halsted St (mid-block)"``;
    * a node on unnamed ways only: ``"unnamed way near <corner>"``, else
      ``"unnamed way"``.

    With ``distinct`` (the default) no two nodes share a label: nodes between
    the same corners add their distance from the first one (``", 60 m from W
    63rd St"``), nodes near the same corner their distance and direction from
    it (``", 60 m northeast"``); labels still shared (a boulevard's two
    carriageways at one corner, or the same distance) add the side, from where
    the nodes sharing the label lie along the axis they spread most on:
    ``" (north side)"`` / ``" (south side)"`` (or east/west) for two, ``" (1st
    from north)"``, ``" (2nd from north)"``... for more.  A label then depends on
    the other nodes asked about, so ask for all of a plan's posts at once.

    Parameters
    ----------
    network
        The walk network; its ``name`` column names the streets.
    nodes
        Node ids (rows of ``network.nodes``), each at most once.
    limit_m
        How far (metres) to walk along a street to a corner, and how far (metres,
        straight line) a corner may be to be "near".
    distinct
        Make the labels distinct as above (False: each node's own label).

    Returns
    -------
    list of str
        One label per node, in input order.

    Notes
    -----
    The walk follows edges of the same short street name only, at a fork the
    straightest; its cost grows with the nodes asked about and the length of
    their streets, and no graph is built: 0.3 s for 3,000 intersections of the
    citywide network (341k edges; ``bench/labels.py``).
    """
    wanted = np.asarray(list(nodes), dtype=np.int64)
    codes, names = _street_codes(network)
    own = _corner_names(network, wanted, codes, names)
    places = _Labeller(network, codes, names, own, wanted, limit_m).places()
    if not distinct:
        return [place.label for place in places]
    return _distinct(places, network.nodes[["x", "y"]].to_numpy(dtype=np.float64)[wanted])


@dataclass(frozen=True)
class _Place:
    label: str
    detail: str = ""  # appended when another node has the same label


@dataclass(frozen=True)
class _Corner:
    node: int
    street: int  # code of the cross street met there
    along_m: float  # metres walked along the street
    heading: tuple[float, float]  # unit (east, north) of the walk's first step


def _compass(dx: float, dy: float) -> str:
    """8-point compass direction of a displacement of ``dx`` m east, ``dy`` m north."""
    angle = math.degrees(math.atan2(dx, dy)) % 360.0
    return COMPASS[int((angle + 22.5) // 45.0) % 8]


def _tens(metres: float) -> int:
    """Metres rounded to 10 (halves up)."""
    return int(10 * math.floor(metres / 10.0 + 0.5))


def _natural(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key reading numbers by value: ``W 9th St`` before ``W 10th St``."""
    parts = re.split(r"(\d+)", name)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


class _Labeller:
    """The labels of some nodes, from one pass over the network's edges."""

    def __init__(
        self,
        network: WalkNetwork,
        codes: NDArray[np.int64],
        names: list[str],
        own: list[list[str]],
        wanted: NDArray[np.int64],
        limit_m: float,
    ) -> None:
        self.network, self.codes, self.names, self.limit_m = network, codes, names, limit_m
        self.own, self.wanted = own, wanted
        edges = network.edges
        self.u = edges["u"].to_numpy(dtype=np.int64)
        self.v = edges["v"].to_numpy(dtype=np.int64)
        self.length = edges["length"].to_numpy(dtype=np.float64)
        self.xy = network.nodes[["x", "y"]].to_numpy(dtype=np.float64)
        self.code_of = {name: code for code, name in enumerate(names)}
        streets = sorted({self.code_of[s[0]] for s in own if len(s) == 1})
        on = np.flatnonzero(np.isin(codes, streets))
        self.out = on[np.argsort(self.u[on], kind="stable")]  # street edges by their start
        self.out_u = self.u[self.out]
        touched = np.unique(np.concatenate([self.u[on], self.v[on]]))
        self.ranked = _ranked_streets(_street_lengths(network, touched, codes), names)

    def places(self) -> list[_Place]:
        places: list[_Place | None] = []
        nearby: dict[int, tuple[str, str]] = {}  # row -> (prefix, label with no corner near)
        for row, (node, streets) in enumerate(zip(self.wanted.tolist(), self.own, strict=True)):
            place = None
            if len(streets) >= 2:
                place = _Place(" & ".join(streets))
            elif streets:
                place = self._on_street(node, streets[0])
                if place is None:
                    nearby[row] = (f"{streets[0]} near", f"{streets[0]} (mid-block)")
            else:
                nearby[row] = ("unnamed way near", "unnamed way")
            places.append(place)
        for row, place in self._near(nearby).items():
            places[row] = place
        return [place for place in places if place is not None]

    # ---------------------------------------------------------------- walking
    def _edges_from(self, node: int, street: int) -> list[int]:
        lo, hi = np.searchsorted(self.out_u, [node, node + 1])
        return [int(e) for e in self.out[lo:hi] if self.codes[e] == street]

    def _cross_street(self, node: int, street: int) -> int | None:
        return next((c for c in self.ranked.get(node, []) if c != street), None)

    def _heading(self, a: int, b: int) -> tuple[float, float]:
        dx, dy = self.xy[b] - self.xy[a]
        norm = math.hypot(dx, dy) or 1.0
        return float(dx / norm), float(dy / norm)

    def _straightest(self, prev: int, node: int, choices: list[int]) -> int:
        ax, ay = self._heading(prev, node)
        return max(
            choices, key=lambda e: float(np.dot((ax, ay), self._heading(node, int(self.v[e]))))
        )

    def _walk(self, start: int, edge: int, street: int) -> _Corner | None:
        """From ``start`` along ``edge`` and on along ``street`` to the first corner."""
        heading = self._heading(start, int(self.v[edge]))
        along, prev, node = float(self.length[edge]), start, int(self.v[edge])
        seen = {start}
        while along <= self.limit_m:
            cross = self._cross_street(node, street)
            if cross is not None:
                return _Corner(node, cross, along, heading)
            seen.add(node)
            onward = [e for e in self._edges_from(node, street) if int(self.v[e]) not in seen]
            if not onward:
                return None
            edge = self._straightest(prev, node, onward)
            along, prev, node = along + float(self.length[edge]), node, int(self.v[edge])
        return None

    def _sides(self, start: int, street: int) -> tuple[_Corner | None, _Corner | None]:
        """The nearest corner along the street, and the nearest the other way."""
        found = [self._walk(start, e, street) for e in self._edges_from(start, street)]
        corners = sorted((c for c in found if c is not None), key=lambda c: c.along_m)
        if not corners:
            return None, None
        near = corners[0]
        other = (
            c
            for c in corners[1:]
            if float(np.dot(c.heading, near.heading)) < 0 and c.street != near.street
        )
        return near, next(other, None)

    # ----------------------------------------------------------------- labels
    def _on_street(self, node: int, street_name: str) -> _Place | None:
        """Between two corners, or some metres from one; None: no corner along the street."""
        near, far = self._sides(node, self.code_of[street_name])
        if near is None:
            return None
        if far is None:
            dx, dy = self.xy[node] - self.xy[near.node]
            return _Place(
                f"{street_name}, {_tens(near.along_m)} m {_compass(dx, dy)} of "
                f"{self.names[near.street]}"
            )
        first, second = sorted((near, far), key=lambda c: _natural(self.names[c.street]))
        name = self.names[first.street]
        return _Place(
            f"{street_name} between {name} and {self.names[second.street]}",
            f", {_tens(first.along_m)} m from {name}",
        )

    def _near(self, rows: dict[int, tuple[str, str]]) -> dict[int, _Place]:
        """``"<prefix> <A & B>"``: the nearest corner within ``limit_m`` in a straight line."""
        if not rows:
            return {}
        nodes = self.wanted[list(rows)]
        tree, corners = self._corners()
        if len(corners) == 0:
            return {row: _Place(alone) for row, (_prefix, alone) in rows.items()}
        metres, index = tree.query(self.xy[nodes], distance_upper_bound=self.limit_m)
        found = np.isfinite(metres)
        at = np.where(found, corners[np.minimum(index, len(corners) - 1)], -1)
        streets = dict(
            zip(
                at[found].tolist(),
                _corner_names(self.network, at[found], self.codes, self.names),
                strict=True,
            )
        )
        places = {}
        for row, node, corner, distance in zip(rows, nodes, at.tolist(), metres, strict=True):
            prefix, alone = rows[row]
            if corner < 0:
                places[row] = _Place(alone)
                continue
            dx, dy = self.xy[node] - self.xy[corner]
            places[row] = _Place(
                f"{prefix} {' & '.join(streets[corner])}",
                f", {_tens(float(distance))} m {_compass(dx, dy)}",
            )
        return places

    def _corners(self) -> tuple[cKDTree, NDArray[np.int64]]:
        """A tree of the nodes where two named streets meet."""
        named = self.codes >= 0
        pairs = np.unique(self.u[named] * (len(self.names) + 1) + self.codes[named])
        nodes, count = np.unique(pairs // (len(self.names) + 1), return_counts=True)
        corners = nodes[count >= 2]
        return cKDTree(self.xy[corners]), corners


def _distinct(places: list[_Place], xy: NDArray[np.float64]) -> list[str]:
    """Labels made distinct: first each place's detail, then the side (see place_labels)."""
    shared = Counter(place.label for place in places)
    labels = [p.label + p.detail if shared[p.label] > 1 else p.label for p in places]
    groups: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    for label, members in groups.items():
        if len(members) > 1:
            for i, side in zip(members, _sides_of(xy[members]), strict=True):
                labels[i] = f"{label} ({side})"
    return labels


def _sides_of(points: NDArray[np.float64]) -> list[str]:
    """``north side``/``south side`` (or west/east) of two points, ranks of more."""
    spread = points.max(axis=0) - points.min(axis=0)
    north_south = spread[1] >= spread[0]
    key = -points[:, 1] if north_south else points[:, 0]
    order = np.argsort(key, kind="stable")
    rank = np.empty(len(points), dtype=np.int64)
    rank[order] = np.arange(len(points))
    if len(points) == 2:
        sides = ("north side", "south side") if north_south else ("west side", "east side")
        return [sides[r] for r in rank]
    start = "north" if north_south else "west"
    return [f"{_ordinal(int(r) + 1)} from {start}" for r in rank]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
