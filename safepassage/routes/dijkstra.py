"""Compiled Dijkstra for :meth:`WalkNetwork.shortest_paths` (numba).

``scipy.sparse.csgraph.dijkstra`` returns a dense row of distances and
predecessors per source, and rebuilding edge paths from those rows costs more
than the search itself when a school wants 50 routes out of a 110,000-node
city.  This kernel searches the same CSR arrays but

- keeps one work space per thread and resets only the nodes it touched, so a
  search costs what it visits, not the size of the city;
- stops as soon as every target is settled (or at ``limit``);
- writes each target's edge path, in walking order, while the tree is live.

Node ids, edge ids and CSR offsets are int32 inside the kernel (a network
has fewer than 2**31 edges; :meth:`SearchGraph.from_csr` checks), which
keeps the arrays a search touches small; paths come out as int64 edge ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from ..errors import DataError

_F = TypeVar("_F", bound=Callable[..., Any])

NO_NODE = -1


def _compiled(func: _F) -> _F:
    """``numba.njit`` with an on-disk cache, keeping the function's type for mypy."""
    return cast(_F, njit(cache=True, nogil=True)(func))


def spatial_order(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int32]:
    """Node ids sorted along a Z-order (Morton) curve of their coordinates.

    Searching in this order keeps a neighbourhood's nodes close in memory,
    so a search touches fewer cache lines.
    """
    if x.size == 0:
        return np.empty(0, dtype=np.int32)
    bits = 16
    scale = (2**bits - 1) / max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    xi = ((x - x.min()) * scale).astype(np.uint64)
    yi = ((y - y.min()) * scale).astype(np.uint64)
    code = np.zeros(x.size, dtype=np.uint64)
    for bit in range(bits):
        shift = np.uint64(bit)
        code |= ((xi >> shift) & np.uint64(1)) << np.uint64(2 * bit)
        code |= ((yi >> shift) & np.uint64(1)) << np.uint64(2 * bit + 1)
    return np.argsort(code, kind="stable").astype(np.int32)


@dataclass(frozen=True, eq=False)
class SearchGraph:
    """CSR arrays of one search direction, ready for the kernel.

    The kernel numbers nodes in ``order`` (see :func:`spatial_order`); node
    ids in and out of :func:`search` are the network's.

    Attributes
    ----------
    indptr, indices, weights
        The CSR matrix in kernel numbering (``indices`` are head nodes).
    slot_edge
        Edge id (row of ``WalkNetwork.edges``) behind each CSR slot.
    slot_row
        Tail node of each CSR slot, kernel numbering.
    order, rank
        ``order[k]`` is the network id of kernel node ``k``; ``rank`` the inverse.
    """

    indptr: NDArray[np.int32]
    indices: NDArray[np.int32]
    weights: NDArray[np.float64]
    slot_edge: NDArray[np.int32]
    slot_row: NDArray[np.int32]
    order: NDArray[np.int32]
    rank: NDArray[np.int32]

    @property
    def n_nodes(self) -> int:
        return int(self.indptr.size - 1)

    @classmethod
    def from_csr(
        cls,
        matrix: csr_matrix,
        slot_edge: NDArray[np.int64],
        order: NDArray[np.int32] | None = None,
    ) -> SearchGraph:
        """Arrays of ``matrix`` (one slot per node pair), renumbered by ``order``.

        Every weight must be positive and finite: the kernel marks a settled
        node by negating its distance, and a NaN would never be settled.
        """
        n = matrix.shape[0]
        if max(n, matrix.nnz, len(slot_edge)) >= 2**31 - 1:
            raise DataError(
                "the routing kernel numbers nodes and edges in int32: network too large"
            )
        bad = ~(matrix.data > 0) | ~np.isfinite(matrix.data)
        if bad.any():
            raise DataError(
                f"{int(bad.sum())} edge costs are zero, negative, NaN or infinite "
                f"(e.g. {matrix.data[bad][:3].tolist()}); routing needs positive finite costs "
                "(build them with WalkNetwork.prepare_cost, which floors zero lengths)"
            )
        order = np.arange(n, dtype=np.int32) if order is None else order.astype(np.int32)
        rank = np.empty(n, dtype=np.int32)
        rank[order] = np.arange(n, dtype=np.int32)
        tails = rank[np.repeat(np.arange(n), np.diff(matrix.indptr))]
        heads = rank[matrix.indices]
        slots = np.lexsort((heads, tails))
        counts = np.bincount(tails, minlength=n)
        return cls(
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
            heads[slots],
            np.ascontiguousarray(matrix.data[slots], dtype=np.float64),
            np.asarray(slot_edge)[slots].astype(np.int32),
            tails[slots],
            order,
            rank,
        )

    def reversed(self) -> SearchGraph:
        """The same edges with tails and heads swapped (searches toward a destination)."""
        slots = np.lexsort((self.slot_row, self.indices))  # by new tail (old head), then head
        counts = np.bincount(self.indices, minlength=self.n_nodes)
        return SearchGraph(
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int32),
            self.slot_row[slots],
            self.weights[slots],
            self.slot_edge[slots],
            self.indices[slots],
            self.order,
            self.rank,
        )


@dataclass(frozen=True, eq=False)
class SearchResult:
    """What one :func:`search` call found.

    Attributes
    ----------
    distances
        (sources x targets), or (sources x nodes) without targets; ``inf``
        where not reached within the limit.
    tree_ptr, tree_node, tree_slot
        Without targets and with paths, each source's tree: row ``s`` holds
        network node ids ``tree_node[tree_ptr[s]:tree_ptr[s + 1]]`` and the
        CSR slot of :class:`SearchGraph` that reached each (-1 at the root).
        Otherwise ``tree_ptr`` is all zeros.
    path_ptr, path_edge
        With targets and paths, the edge path of source ``s`` and target
        column ``j`` in walking order: ``path_edge[path_ptr[k]:path_ptr[k + 1]]``
        with ``k = s * n_targets + j`` (empty when not reached).
    """

    distances: NDArray[np.float64]
    tree_ptr: NDArray[np.int64]
    tree_node: NDArray[np.int32]
    tree_slot: NDArray[np.int32]
    path_ptr: NDArray[np.int64]
    path_edge: NDArray[np.int64]


# ---------------------------------------------------------------- work space
class _Workspace(threading.local):
    """Per-thread arrays whose idle state is ``dist`` inf and ``is_target`` 0 everywhere."""

    def __init__(self) -> None:
        self.arrays: tuple[NDArray[Any], ...] = ()
        self.nodes = 0
        self.slots = 0

    def get(self, n_nodes: int, n_slots: int) -> tuple[NDArray[Any], ...]:
        if n_nodes > self.nodes or n_slots > self.slots:
            self.nodes, self.slots = max(n_nodes, self.nodes), max(n_slots, self.slots)
            heap = self.slots + 1  # lazy deletion: at most one push per relaxed slot
            self.arrays = (
                np.full(self.nodes, np.inf),  # dist: -d once settled
                np.empty(self.nodes, dtype=np.int32),  # slot that reached each node
                np.zeros(self.nodes, dtype=np.uint8),  # is_target
                np.empty(self.nodes, dtype=np.int32),  # touched nodes
                np.empty(heap, dtype=np.float64),  # heap keys
                np.empty(heap, dtype=np.int32),  # heap nodes
            )
        return self.arrays

    def discard(self) -> None:
        self.arrays, self.nodes, self.slots = (), 0, 0


_WORKSPACE = _Workspace()


def search(
    graph: SearchGraph,
    sources: NDArray[np.int64],
    targets: NDArray[np.int64] | None,
    limit: float,
    *,
    paths: bool,
    walk_toward_source: bool,
) -> SearchResult:
    """One Dijkstra per source on ``graph`` (network ids, already checked in range).

    With ``targets`` each search stops once all of them are settled.
    ``walk_toward_source`` gives target -> source walking order for the paths
    (a search on the reversed network); otherwise source -> target.
    """
    work = _WORKSPACE.get(graph.n_nodes, graph.indices.size)
    dense = targets is None
    kernel_targets = np.empty(0, dtype=np.int32) if targets is None else graph.rank[targets]
    try:
        found = _search(
            graph.indptr,
            graph.indices,
            graph.weights,
            graph.slot_edge,
            graph.slot_row,
            graph.order,
            graph.rank[np.asarray(sources, dtype=np.int64)],
            kernel_targets,
            float(limit),
            dense,
            paths,
            walk_toward_source,
            *work,
        )
    except BaseException:
        _WORKSPACE.discard()  # e.g. MemoryError mid-search: it may not be idle any more
        raise
    result = SearchResult(*found)
    result.path_edge.setflags(write=False)  # PathSet.edge_paths hands out views of it
    return result


def walk_tree(
    graph: SearchGraph,
    tree_node: NDArray[np.int32],
    tree_slot: NDArray[np.int32],
    source: int,
    targets: NDArray[np.int64],
    *,
    walk_toward_source: bool,
) -> tuple[list[NDArray[np.int64]], int]:
    """Edge paths in one source's tree (network ids); (paths, first target not in it or -1)."""
    pred_slot = np.full(graph.n_nodes, -1, dtype=np.int32)
    pred_slot[graph.rank[tree_node]] = tree_slot
    kernel_targets = graph.rank[targets]
    lost = np.flatnonzero((pred_slot[kernel_targets] < 0) & (targets != source))
    if lost.size:
        return [], int(targets[lost[0]])
    ptr, edges = _walk_tree(
        pred_slot,
        graph.slot_row,
        graph.slot_edge,
        int(graph.rank[source]),
        kernel_targets,
        not walk_toward_source,
    )
    return np.split(edges, ptr[1:-1]), -1


# ------------------------------------------------------------------ kernels
# A 4-ary heap of (key, node) with lazy deletion: shallower than a binary
# heap, and the four children of a node share a cache line.
@_compiled
def _heap_push(
    keys: NDArray[np.float64], nodes: NDArray[np.int32], size: int, key: float, node: int
) -> int:
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        nodes[i] = nodes[parent]
        i = parent
    keys[i] = key
    nodes[i] = node
    return size + 1


@_compiled
def _heap_pop(keys: NDArray[np.float64], nodes: NDArray[np.int32], size: int) -> int:
    """Drop the root (read it first); return the new size."""
    size -= 1
    key = keys[size]
    node = nodes[size]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        best_key = keys[first]
        last = min(first + 4, size)
        for child in range(first + 1, last):
            if keys[child] < best_key:
                best = child
                best_key = keys[child]
        if best_key >= key:
            break
        keys[i] = best_key
        nodes[i] = nodes[best]
        i = best
    keys[i] = key
    nodes[i] = node
    return size


@_compiled
def _grow(values: NDArray[Any], needed: int) -> NDArray[Any]:
    if needed <= values.size:
        return values
    bigger = np.empty(max(needed, 2 * values.size), dtype=values.dtype)
    bigger[: values.size] = values
    return bigger


@_compiled
def _write_path(
    pred_slot: NDArray[np.int32],
    slot_row: NDArray[np.int32],
    slot_edge: NDArray[np.int32],
    source: int,
    target: int,
    out: NDArray[np.int64],
    start: int,
    flip: bool,
) -> tuple[NDArray[np.int64], int]:
    """Append the edge ids from ``target`` up the tree to ``source``; return (out, end)."""
    end = start
    node = target
    while node != source:
        slot = pred_slot[node]
        out = _grow(out, end + 1)
        out[end] = slot_edge[slot]
        end += 1
        node = slot_row[slot]
    if flip:
        out[start:end] = out[start:end][::-1].copy()
    return out, end


@_compiled
def _search(  # noqa: C901, PLR0913 (a numba kernel: flat arrays in, no objects)
    indptr: NDArray[np.int32],
    indices: NDArray[np.int32],
    weights: NDArray[np.float64],
    slot_edge: NDArray[np.int32],
    slot_row: NDArray[np.int32],
    order: NDArray[np.int32],
    sources: NDArray[np.int32],
    targets: NDArray[np.int32],
    limit: float,
    dense: bool,
    paths: bool,
    walk_toward_source: bool,
    dist: NDArray[np.float64],
    pred_slot: NDArray[np.int32],
    is_target: NDArray[np.uint8],
    touched: NDArray[np.int32],
    heap_keys: NDArray[np.float64],
    heap_nodes: NDArray[np.int32],
) -> tuple[NDArray[Any], ...]:
    # A settled node holds -d in ``dist`` (weights are > 0, so only a source
    # holds -0.0): no relaxation can beat it, and no separate flag is read.
    n = indptr.size - 1
    n_sources = sources.size
    n_targets = targets.size
    distances = np.full((n_sources, n if dense else n_targets), np.inf)
    unique_targets = 0
    for j in range(n_targets):
        if is_target[targets[j]] == 0:
            is_target[targets[j]] = 1
            unique_targets += 1
    with_tree = paths and dense
    with_paths = paths and not dense
    tree_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    # a whole tree per source: as large as the dense distances already are
    tree_node = np.empty(n_sources * n if with_tree else 0, dtype=np.int32)
    tree_slot = np.empty(n_sources * n if with_tree else 0, dtype=np.int32)
    path_ptr = np.zeros(n_sources * n_targets + 1 if with_paths else 0, dtype=np.int64)
    # room for typical paths (grown on demand), capped so huge calls do not reserve GBs
    path_edge = np.empty(
        min(32 * n_sources * n_targets, 1 << 22) if with_paths else 0, dtype=np.int64
    )
    n_tree = 0
    n_path = 0
    for s in range(n_sources):
        source = sources[s]
        n_touched = 1
        touched[0] = source
        dist[source] = 0.0
        pred_slot[source] = -1
        size = _heap_push(heap_keys, heap_nodes, 0, 0.0, source)
        left = unique_targets
        while size > 0:
            d = heap_keys[0]
            u = heap_nodes[0]
            size = _heap_pop(heap_keys, heap_nodes, size)
            if dist[u] < 0.0:
                continue  # a stale entry: u was settled by a shorter one
            dist[u] = -d
            if with_tree:
                tree_node[n_tree] = order[u]
                tree_slot[n_tree] = pred_slot[u]
                n_tree += 1
            if is_target[u]:
                left -= 1
            if left <= 0 and not dense:  # every target settled
                break
            for slot in range(indptr[u], indptr[u + 1]):
                v = indices[slot]
                candidate = d + weights[slot]
                if candidate < dist[v] and candidate <= limit:
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = candidate
                    pred_slot[v] = slot
                    size = _heap_push(heap_keys, heap_nodes, size, candidate, v)
        tree_ptr[s + 1] = n_tree
        if dense:
            for i in range(n_touched):  # without targets every touched node is settled
                node = touched[i]
                distances[s, order[node]] = -dist[node]
        else:
            for j in range(n_targets):
                target = targets[j]
                if dist[target] <= 0.0:
                    distances[s, j] = -dist[target]
                    if with_paths:
                        path_edge, n_path = _write_path(
                            pred_slot,
                            slot_row,
                            slot_edge,
                            source,
                            target,
                            path_edge,
                            n_path,
                            not walk_toward_source,
                        )
                if with_paths:
                    path_ptr[s * n_targets + j + 1] = n_path
        for i in range(n_touched):  # back to the idle state for the next search
            dist[touched[i]] = np.inf
    for j in range(n_targets):
        is_target[targets[j]] = 0
    return (
        distances,
        tree_ptr,
        tree_node[:n_tree].copy(),
        tree_slot[:n_tree].copy(),
        path_ptr,
        path_edge[:n_path].copy(),
    )


@_compiled
def _walk_tree(
    pred_slot: NDArray[np.int32],
    slot_row: NDArray[np.int32],
    slot_edge: NDArray[np.int32],
    source: int,
    targets: NDArray[np.int32],
    flip: bool,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Edge paths of ``targets`` (all in the tree of ``source``); returns (ptr, edges)."""
    ptr = np.zeros(targets.size + 1, dtype=np.int64)
    out = np.empty(max(64, 32 * targets.size), dtype=np.int64)
    end = 0
    for j in range(targets.size):
        out, end = _write_path(pred_slot, slot_row, slot_edge, source, targets[j], out, end, flip)
        ptr[j + 1] = end
    return ptr, out[:end].copy()
