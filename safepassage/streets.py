"""Street classes: one home for what each OSM ``highway`` class means to the plan.

:data:`NON_STREET_HIGHWAYS` are ways that are not streets along traffic
(alleys, service roads, footways, ...): risk is snapped to streets only, the
predictive check and the risk map leave these out.  :data:`DEFAULT_CLASS_FACTORS`
say how much more (> 1) or less (< 1) walking a class costs when routes and
corridors are chosen; ``[routes] class_factors`` overrides them per class.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from .errors import DataError
from .routes.network import WalkNetwork

__all__ = ["ARTERIALS", "DEFAULT_CLASS_FACTORS", "NON_STREET_HIGHWAYS", "class_factors"]

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
