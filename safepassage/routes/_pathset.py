"""Result types of routing and snapping, and the CSR builder, for :mod:`.network`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix

from ..errors import NoRouteError

if TYPE_CHECKING:
    from .network import WalkNetwork

# Zero-length edges (merged seams) must stay edges for scipy: it drops explicit zeros.
MIN_WEIGHT = 1e-6


@dataclass(frozen=True)
class SnapResult:
    """Nearest network node of each point.

    Attributes
    ----------
    table
        One row per input point, in input order: ``node`` (node id, -1 when
        unsnapped), ``distance_m`` (to the nearest node, metres, also for
        unsnapped points), ``snapped`` (bool).
    max_m
        The snapping limit used, metres.
    """

    table: pd.DataFrame
    max_m: float

    @property
    def nodes(self) -> NDArray[np.int64]:
        """Node ids (-1 where unsnapped)."""
        return self.table["node"].to_numpy(dtype=np.int64)

    @property
    def unsnapped(self) -> pd.DataFrame:
        """Rows of points farther than ``max_m`` from every node."""
        return self.table[~self.table["snapped"]]


@dataclass(frozen=True, eq=False)
class CostMatrix:
    """A per-edge cost prepared for repeated routing (see :meth:`WalkNetwork.prepare_cost`).

    Attributes
    ----------
    matrix
        CSR matrix of the cheapest parallel edge's cost per node pair.
    pair_edge
        The edge id chosen for each CSR slot.
    """

    matrix: csr_matrix
    pair_edge: NDArray[np.int64]

    @cached_property
    def reversed(self) -> csr_matrix:
        """The transposed matrix, for searches towards a destination."""
        return self.matrix.T.tocsr()


@dataclass(frozen=True, eq=False)
class PathSet:
    """Shortest-path trees from several sources (see :meth:`WalkNetwork.shortest_paths`).

    Attributes
    ----------
    sources
        Source node ids, one per row of ``distances``.
    targets
        Target node ids (columns of ``distances``), or None for every node.
    distances
        Array (sources x targets) of path costs; ``inf`` where unreachable or
        beyond the limit.  Metres when routed on length.
    predecessors
        Array (sources x all nodes) of predecessor node ids (-9999 at the root
        and where unreachable), in the direction searched.
    reverse
        True when the search ran on the reversed network: then each source is
        the destination of the paths and paths run from target to source.
    """

    network: WalkNetwork
    sources: NDArray[np.int64]
    targets: NDArray[np.int64] | None
    distances: NDArray[np.float64]
    predecessors: NDArray[np.int32]
    pair_edge: NDArray[np.int64]
    reverse: bool = False

    def _row(self, source: int) -> int:
        rows = np.flatnonzero(self.sources == source)
        if rows.size == 0:
            raise KeyError(f"node {source} is not one of the sources of this PathSet")
        return int(rows[0])

    def node_path(self, source: int, target: int) -> list[int]:
        """Node ids of the path between ``source`` and ``target`` in walking order.

        Walking order is source -> target, or target -> source when
        ``reverse`` is True (the source is then the destination).
        """
        if self.predecessors.size == 0:
            raise ValueError("this PathSet was computed with paths=False; it holds no paths")
        pred = self.predecessors[self._row(source)]
        chain = [int(target)]
        node = int(target)
        while node != source:
            node = int(pred[node])
            if node < 0:
                raise NoRouteError(f"no walking route between node {source} and node {target}")
            chain.append(node)
        return chain if self.reverse else chain[::-1]

    def edge_paths(self, source: int, targets: ArrayLike) -> list[NDArray[np.int64]]:
        """Edge ids of the paths between ``source`` and each target, in walking order.

        All targets climb the predecessor tree together (one numpy step per
        path edge), so this is much faster than :meth:`edge_path` in a loop.
        """
        if self.predecessors.size == 0:
            raise ValueError("this PathSet was computed with paths=False; it holds no paths")
        pred = self.predecessors[self._row(source)]
        current = np.atleast_1d(np.asarray(targets, dtype=np.int64))
        chain = [current]
        active = current != source
        while active.any():
            step = np.where(active, pred[current], current).astype(np.int64)
            lost = active & (step < 0)
            if lost.any():
                bad = int(current[np.flatnonzero(lost)[0]])
                raise NoRouteError(f"no walking route between node {source} and node {bad}")
            chain.append(step)
            current = step
            active = current != source
        steps = np.stack(chain, axis=1)
        if not self.reverse:  # the tree was grown from the source: walk it backwards
            steps = steps[:, ::-1]
        tails, heads = steps[:, :-1], steps[:, 1:]
        moving = tails != heads
        ids = self.network.edges_between(tails[moving], heads[moving], self.pair_edge)
        counts = moving.sum(axis=1)
        return np.split(ids, np.cumsum(counts)[:-1])

    def edge_path(self, source: int, target: int) -> list[int]:
        """Edge ids of the path, in walking order (see :meth:`node_path`)."""
        nodes = self.node_path(source, target)
        edge_ids = self.network.edges_between(nodes[:-1], nodes[1:], self.pair_edge)
        return [int(e) for e in edge_ids]


def build_csr(
    u: NDArray[Any], v: NDArray[Any], length: NDArray[Any], n_nodes: int
) -> tuple[NDArray[np.int64], ...]:
    """CSR arrays keeping the shortest of parallel edges, and each edge's slot."""
    order = np.lexsort((length, v, u))
    su, sv = u[order], v[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (su[1:] != su[:-1]) | (sv[1:] != sv[:-1])
    edge_index = order[first].astype(np.int64)
    indices = sv[first].astype(np.int64)
    counts = np.bincount(su[first], minlength=n_nodes)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    slot_sorted = np.cumsum(first) - 1
    edge_slot = np.empty(order.size, dtype=np.int64)
    edge_slot[order] = slot_sorted
    return indptr, indices, edge_index, edge_slot
