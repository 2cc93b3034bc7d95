"""Street classes: one home for what each OSM ``highway`` class means to the plan.

:data:`NON_STREET_HIGHWAYS` are ways that are not streets along traffic
(alleys, service roads, footways, ...): risk is snapped to streets only, the
predictive check and the risk map leave these out.  :data:`DEFAULT_CLASS_FACTORS`
say how much more (> 1) or less (< 1) walking a class costs when routes and
corridors are chosen; ``[routes] class_factors`` overrides them per class.

Street names too: :func:`short_street_name` (as on street signs), and
:func:`cross_streets` / :func:`corner_streets`, the streets that meet at a node,
by which posts and route stretches are named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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
    "class_factors",
    "corner_streets",
    "cross_streets",
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


def street_codes(network: WalkNetwork) -> tuple[NDArray[np.int64], list[str]]:
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
    per_node: dict[int, list[int]] = {}
    for node, street in zip(ranked["node"].tolist(), ranked["street"].tolist(), strict=True):
        per_node.setdefault(int(node), []).append(int(street))
    return per_node


def corner_streets(network: WalkNetwork, nodes: Sequence[int]) -> list[list[str]]:
    """The (up to) two main named streets of each node, alphabetical.

    A node's streets are those of its own segments and of the nodes within
    ``CORNER_M`` of it along one segment (OSM often puts an alley junction or a
    crosswalk node a few metres from the corner).  Streets are ranked by the
    length (to the decimetre) of their segments meeting there, ties by name, so
    edge order does not matter.
    """
    wanted = np.asarray(list(nodes), dtype=np.int64)
    codes, names = street_codes(network)
    ranked = _ranked_streets(_street_lengths(network, wanted, codes), names)
    return [sorted(names[c] for c in ranked.get(int(node), [])[:2]) for node in wanted]


def cross_streets(network: WalkNetwork, nodes: Iterable[int]) -> list[str]:
    """``"S Halsted St & W 63rd St"`` for each node: its two main named streets.

    Streets are ranked by the length of their segments meeting at the node;
    a node on one street only gives ``"<street> (mid-block)"``, one on unnamed
    ways only ``"unnamed way"``.
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
