"""Result types of routing and snapping, and the CSR builder, for :mod:`.network`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix

from ..errors import DataError, NoRouteError
from .dijkstra import SearchGraph, SearchResult, walk_tree

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
    node_order
        The order the routing kernel numbers nodes in (identity when None).
    """

    matrix: csr_matrix
    pair_edge: NDArray[np.int64]
    node_order: NDArray[np.int32] | None = None

    @cached_property
    def forward(self) -> SearchGraph:
        """The kernel's arrays for searches from a source."""
        return SearchGraph.from_csr(self.matrix, self.pair_edge, self.node_order)

    @cached_property
    def backward(self) -> SearchGraph:
        """The kernel's arrays for searches toward a destination (reversed edges)."""
        return self.forward.reversed()

    def search_graph(self, reverse: bool) -> SearchGraph:
        """:attr:`backward` when ``reverse`` else :attr:`forward`."""
        return self.backward if reverse else self.forward


@dataclass(frozen=True, eq=False)
class PathSet:
    """Shortest-path trees from several sources (see :meth:`WalkNetwork.shortest_paths`).

    Attributes
    ----------
    edge_u, edge_v, n_nodes
        Tail and head node of each edge id, and the number of nodes, of the
        network searched.
    sources
        Source node ids, one per row of ``distances``.
    targets
        Target node ids (columns of ``distances``), or None for every node.
    distances
        Array (sources x targets) of path costs; ``inf`` where unreachable or
        beyond the limit.  Metres when routed on length.
    reverse
        True when the search ran on the reversed network: then each source is
        the destination of the paths and paths run from target to source.
    search
        The kernel's trees and the targets' edge paths (see
        :class:`~safepassage.routes.dijkstra.SearchResult`).
    graph
        The arrays searched.
    has_paths
        False when computed with ``paths=False`` (distances only).

    With ``targets``, each search stops once all of them are settled and only
    their paths are kept; without, whole trees are kept (paths to any node).
    """

    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    n_nodes: int
    sources: NDArray[np.int64]
    targets: NDArray[np.int64] | None
    distances: NDArray[np.float64]
    reverse: bool
    search: SearchResult
    graph: SearchGraph
    has_paths: bool = True

    def _row(self, source: int) -> int:
        rows = np.flatnonzero(self.sources == source)
        if rows.size == 0:
            raise KeyError(f"node {source} is not one of the sources of this PathSet")
        return int(rows[0])

    def _require_paths(self) -> None:
        if not self.has_paths:
            raise ValueError("this PathSet was computed with paths=False; it holds no paths")

    @cached_property
    def predecessors(self) -> NDArray[np.int32]:
        """Array (sources x all nodes) of predecessor node ids in the direction searched.

        -9999 at the root and where not reached (scipy's convention).  Only a
        search without ``targets`` keeps whole trees.
        """
        self._require_paths()
        if self.targets is not None:
            raise ValueError(
                "this PathSet was computed with targets and keeps only their paths; "
                "search without targets for whole predecessor trees"
            )
        pred = np.full((self.sources.size, self.graph.n_nodes), -9999, dtype=np.int32)
        ptr = self.search.tree_ptr
        for row in range(self.sources.size):
            nodes = self.search.tree_node[ptr[row] : ptr[row + 1]]
            slots = self.search.tree_slot[ptr[row] : ptr[row + 1]]
            reached = slots >= 0
            pred[row, nodes[reached]] = self.graph.order[self.graph.slot_row[slots[reached]]]
        return pred

    @cached_property
    def _target_columns(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Targets sorted, and the first column holding each."""
        assert self.targets is not None
        order = np.argsort(self.targets, kind="stable")
        keys = self.targets[order]
        first = np.ones(keys.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        return keys[first], order[first]

    def _columns(self, targets: NDArray[np.int64]) -> NDArray[np.int64]:
        """Column of each target among the searched targets (-1 where absent)."""
        keys, columns = self._target_columns
        if keys.size == 0:
            return np.full(targets.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, targets), keys.size - 1)
        return np.where(keys[at] == targets, columns[at], -1)

    def edge_paths(self, source: int, targets: ArrayLike) -> list[NDArray[np.int64]]:
        """Edge ids of the paths between ``source`` and each target, in walking order.

        Walking order is source -> target, or target -> source when
        ``reverse`` is True (the source is then the destination).  The arrays
        are read-only views.
        """
        self._require_paths()
        row = self._row(source)
        target_arr = np.atleast_1d(np.asarray(targets, dtype=np.int64))
        check_node_ids(target_arr, self.n_nodes, "targets")
        if self.targets is not None:
            columns = self._columns(target_arr)
            listed = columns >= 0
            reached = np.zeros(target_arr.size, dtype=bool)
            reached[listed] = np.isfinite(self.distances[row, columns[listed]])
            at_source = target_arr == source  # the empty path, listed as a target or not
            missing = ~(reached | at_source)
            if missing.any():
                self._no_route(source, int(target_arr[np.flatnonzero(missing)[0]]))
            at = row * self.distances.shape[1] + columns[reached]
            starts = np.zeros(target_arr.size, dtype=np.int64)
            ends = np.zeros(target_arr.size, dtype=np.int64)
            starts[reached] = self.search.path_ptr[at]
            ends[reached] = self.search.path_ptr[at + 1]
            edges = self.search.path_edge
            return [edges[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        ptr = self.search.tree_ptr
        found, lost = walk_tree(
            self.graph,
            self.search.tree_node[ptr[row] : ptr[row + 1]],
            self.search.tree_slot[ptr[row] : ptr[row + 1]],
            source,
            target_arr,
            walk_toward_source=self.reverse,
        )
        if lost >= 0:
            self._no_route(source, lost)
        return found

    def _no_route(self, source: int, target: int) -> None:
        hint = ""
        if self.targets is not None and not np.any(self.targets == target):
            hint = " (a search with targets keeps only their paths: pass this node as a target)"
        raise NoRouteError(
            f"no walking route between node {source} and node {target} within the limit{hint}"
        )

    def edge_path(self, source: int, target: int) -> list[int]:
        """Edge ids of the path, in walking order (see :meth:`edge_paths`)."""
        return [int(e) for e in self.edge_paths(source, [target])[0]]

    def node_path(self, source: int, target: int) -> list[int]:
        """Node ids of the path between ``source`` and ``target`` in walking order."""
        edge_ids = self.edge_path(source, target)
        if not edge_ids:
            return [int(target)]
        tails = self.edge_u[edge_ids]
        last = int(self.edge_v[edge_ids[-1]])
        return [int(t) for t in tails] + [last]


def check_node_ids(ids: NDArray[np.int64], n_nodes: int, what: str) -> None:
    """Raise DataError when any of ``ids`` is not a node id (0..n_nodes-1)."""
    bad = (ids < 0) | (ids >= n_nodes)
    if np.any(bad):
        raise DataError(f"{what} hold node ids outside 0..{n_nodes - 1}: {ids[bad][:5].tolist()}")


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
