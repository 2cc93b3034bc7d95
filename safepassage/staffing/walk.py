"""The walkability rule of a split shift: a worker's morning and afternoon posts.

A worker standing at one post around the morning bell and another around
dismissal must be able to walk between them: the two posts belong to the same
school, or lie within ``[staffing] walk_between_m`` (default 800 m, about ten
minutes' walk) of each other along the street network.  :func:`walk_rule`
measures the network distances between a plan's selected posts once;
:class:`WalkRule` answers for any pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..routes.network import WalkNetwork

__all__ = ["DEFAULT_WALK_M", "WalkRule", "walk_rule"]

#: Default longest walk between a worker's morning and afternoon posts (m).
DEFAULT_WALK_M = 800.0
_CHUNK = 64  # sources per bounded search


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class WalkRule:
    """Which morning and afternoon posts one worker may hold on the same day.

    Attributes
    ----------
    limit_m : float
        The longest walk allowed between posts of different schools (m).
    close : frozenset of (str, str)
        Pairs of post ids (sorted) of different schools within ``limit_m``.
    school_of : dict
        Post id -> school id, for the posts the rule was measured on.
    """

    limit_m: float
    close: frozenset[tuple[str, str]] = frozenset()
    school_of: dict[str, str] = field(default_factory=dict)

    def allows(self, post_a: str, school_a: str, post_b: str, school_b: str) -> bool:
        """May one worker stand at ``post_a`` in one window and ``post_b`` in the other?
        The walk is the same both ways, so the order of the two posts does not matter."""
        return school_a == school_b or post_a == post_b or _pair(post_a, post_b) in self.close

    def allows_posts(self, post_a: str, post_b: str) -> bool:
        """:meth:`allows` for two posts the rule was measured on (their schools from
        :attr:`school_of`)."""
        of = self.school_of
        return self.allows(post_a, of.get(post_a, ""), post_b, of.get(post_b, ""))

    def table(self) -> pd.DataFrame:
        """The close pairs as ``post_a``, ``post_b`` (sorted ids), for ``post_walks.csv``."""
        rows = sorted(self.close)
        return pd.DataFrame(rows, columns=["post_a", "post_b"])

    @classmethod
    def from_table(cls, table: pd.DataFrame, limit_m: float, school_of: dict[str, str]) -> WalkRule:
        """The rule of :meth:`table`'s pairs (as written by a plan)."""
        pairs = zip(table["post_a"].astype(str), table["post_b"].astype(str), strict=True)
        return cls(float(limit_m), frozenset(_pair(a, b) for a, b in pairs), dict(school_of))


def walk_rule(
    network: WalkNetwork,
    posts: pd.DataFrame,
    limit_m: float = DEFAULT_WALK_M,
    *,
    groups: Iterable[Iterable[str]] | None = None,
) -> WalkRule:
    """Measure which selected posts of different schools lie within ``limit_m``.

    Parameters
    ----------
    network
        The plan's walk network (metres).
    posts
        ``post_id``, ``school_id``, ``node`` (network node id); every row counts.
    limit_m
        The longest walk between a worker's two posts of a day (m, along streets).
    groups
        School ids that share workers (a vendor's schools); pairs are measured
        only within a group.  Default: every school with every other.

    Returns
    -------
    WalkRule
    """
    from scipy.sparse.csgraph import dijkstra

    ids = posts["post_id"].astype(str).to_numpy()
    schools = posts["school_id"].astype(str).to_numpy()
    school_of = dict(zip(ids, schools, strict=True))
    nodes = posts["node"].to_numpy(dtype=np.int64)
    keep = np.flatnonzero((nodes >= 0) & (nodes < len(network.nodes)))
    if limit_m <= 0 or len(keep) < 2:
        return WalkRule(float(limit_m), frozenset(), school_of)
    unique, inverse = np.unique(nodes[keep], return_inverse=True)
    matrix = network._length_matrix  # noqa: SLF001 - the network's own metric graph
    # bounded searches in chunks: a row of dijkstra's answer spans every node
    dist = np.vstack(
        [
            dijkstra(matrix, directed=False, indices=unique[i : i + _CHUNK], limit=limit_m)[
                :, unique
            ]
            for i in range(0, len(unique), _CHUNK)
        ]
    )
    member: dict[str, set[int]] = {}
    for gi, group in enumerate(groups if groups is not None else [set(schools)]):
        for school in group:
            member.setdefault(str(school), set()).add(gi)
    close: set[tuple[str, str]] = set()
    for i, j in zip(*np.nonzero(dist[inverse][:, inverse] <= limit_m), strict=True):
        a, b = keep[i], keep[j]
        shared = member.get(schools[a], set()) & member.get(schools[b], set())
        if a < b and schools[a] != schools[b] and shared:
            close.add(_pair(ids[a], ids[b]))
    return WalkRule(float(limit_m), frozenset(close), school_of)
