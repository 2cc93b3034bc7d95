"""The walking street network: loaders, stitching, snapping and bulk routing.

A :class:`WalkNetwork` holds two tables in a local metric CRS and CSR arrays
for routing (a compiled Dijkstra, :mod:`._dijkstra`) and for
:mod:`scipy.sparse.csgraph` (components, walksheds):

``nodes`` (one row per node; the row number is the node id used everywhere)
    ``osmid`` (source id, string), ``x``, ``y`` (metres), ``street_count``,
    ``geometry`` (Point).
``edges`` (one row per directed edge; the row number is the edge id)
    ``u``, ``v`` (node ids), ``key``, ``osmid`` (source way id, string),
    ``highway`` (street class), ``name`` (street name, "" when unknown),
    ``length`` (metres), ``geometry`` (LineString from ``u`` to ``v``).

Every street is walkable in both directions, so each street segment appears
as two directed edges.  Routing runs on the CSR arrays; networkx is only built
on request (:attr:`WalkNetwork.graph`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ..crs import WGS84, check_metric_crs
from ..errors import CRSError, DataError, NoRouteError, SnapError
from . import loaders
from .dijkstra import search, spatial_order
from .pathset import MIN_WEIGHT, CostMatrix, PathSet, SnapResult, build_csr, check_node_ids

__all__ = ["WalkNetwork"]

logger = logging.getLogger(__name__)

NODE_COLUMNS = ["osmid", "x", "y", "street_count"]
EDGE_COLUMNS = ["u", "v", "key", "osmid", "highway", "name", "length"]


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A projected walking network with CSR arrays for bulk routing.

    Build it with a loader (:meth:`from_graphml`, :meth:`from_osm_xml`,
    :meth:`from_centerlines`, :meth:`from_graph`, :meth:`load`) rather than
    directly.

    Attributes
    ----------
    nodes, edges
        Node and edge tables (columns in the module docstring), in ``crs``.
    crs
        The local metric CRS.
    source
        Where the network came from (file names), for messages and manifests.
    seams_joined
        How many seams :func:`stitch` joined (0 for an unstitched network).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    crs: pyproj.CRS
    source: str = ""
    seams_joined: int = 0
    _csr: tuple[NDArray[np.int64], ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_metric_crs(self.crs, where=f"walk network {self.source or ''}".strip())
        if len(self.nodes) == 0 or len(self.edges) == 0:
            raise DataError(
                f"walk network {self.source or ''} holds no walkable streets; "
                "check the area, the file and its filters"
            )

    # ------------------------------------------------------------------ loaders
    @classmethod
    def from_graphml(cls, path: str | Path) -> WalkNetwork:
        """Load an osmnx GraphML file (plain or ``.gz``) and project it.

        Parameters
        ----------
        path
            A ``.graphml`` or ``.graphml.gz`` file written by ``osmnx.save_graphml``.
        """
        graph = loaders.read_graphml(Path(path))
        return cls.from_graph(graph, source=str(path))

    @classmethod
    def from_osm_xml(cls, path: str | Path) -> WalkNetwork:
        """Load OSM XML (plain or ``.bz2``), keeping walkable ways only.

        Motorways, ways tagged ``foot=no`` and private ways are dropped; every
        way is walkable in both directions.
        """
        graph = loaders.read_osm_xml(Path(path))
        return cls.from_graph(graph, source=str(path))

    @classmethod
    def from_centerlines(
        cls,
        lines: str | Path | gpd.GeoDataFrame,
        *,
        name_column: str | None = None,
        class_column: str | None = None,
    ) -> WalkNetwork:
        """Build a network from any line layer, e.g. a city's street centerlines.

        Lines are noded where they cross or touch; each piece becomes a street
        segment walkable in both directions.

        Parameters
        ----------
        lines
            A file geopandas can read (``.gz`` too) or a GeoDataFrame of lines
            with a CRS.
        name_column, class_column
            Columns holding the street name and class; found by common names
            (``name``, ``street_nam``, ``highway``, ``class``...) when omitted.
        """
        nodes, edges, crs, source = loaders.centerline_tables(
            lines, name_column=name_column, class_column=class_column
        )
        return cls.from_tables(nodes, edges, crs, source=source)

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, *, source: str = "graph") -> WalkNetwork:
        """Wrap an osmnx-style ``MultiDiGraph`` (projected or in lon/lat).

        The graph needs ``graph.graph["crs"]``, node ``x``/``y`` and edge
        ``length`` in metres.  A lon/lat graph is projected to its local UTM zone.
        """
        nodes, edges, crs = loaders.graph_tables(graph, source=source)
        return cls.from_tables(nodes, edges, crs, source=source)

    @classmethod
    def from_tables(
        cls,
        nodes: pd.DataFrame,
        edges: pd.DataFrame,
        crs: Any,
        *,
        source: str,
        seams_joined: int = 0,
        csr: tuple[NDArray[np.int64], ...] | None = None,
    ) -> WalkNetwork:
        """Assemble from plain tables: nodes need x, y; edges need u, v, length, geometry."""
        crs = check_metric_crs(crs, where=source)
        nodes = nodes.reset_index(drop=True)
        edges = edges.reset_index(drop=True)
        for column, default in (("osmid", ""), ("street_count", 0)):
            if column not in nodes:
                nodes[column] = default
        nodes["osmid"] = nodes["osmid"].astype(str)
        nodes["street_count"] = nodes["street_count"].fillna(0).astype(np.int64)
        node_gdf = gpd.GeoDataFrame(
            nodes[NODE_COLUMNS],
            geometry=shapely.points(nodes["x"].to_numpy(), nodes["y"].to_numpy()),
            crs=crs,
        )
        for column in ("osmid", "highway", "name"):
            if column not in edges:
                edges[column] = ""
            edges[column] = edges[column].fillna("").astype(str)
        if "key" not in edges:
            edges["key"] = 0
        edges["key"] = edges.groupby(["u", "v"]).cumcount().astype(np.int64)
        edges["u"] = edges["u"].astype(np.int64)
        edges["v"] = edges["v"].astype(np.int64)
        edges["length"] = edges["length"].astype(np.float64)
        edge_gdf = gpd.GeoDataFrame(edges[EDGE_COLUMNS], geometry=edges.geometry.values, crs=crs)
        return cls(node_gdf, edge_gdf, crs, source=source, seams_joined=seams_joined, _csr=csr)

    # ----------------------------------------------------------------- caching
    def save(self, path: str | Path) -> Path:
        """Write a cache folder (GeoParquet tables and npz arrays) atomically.

        Loading it with :meth:`load` is far faster than parsing GraphML.
        """
        meta = {"crs": self.crs.to_wkt(), "source": self.source, "seams_joined": self.seams_joined}
        return loaders.save_network(self.nodes, self.edges, self._csr_full, meta, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> WalkNetwork:
        """Load a cache folder written by :meth:`save`."""
        nodes, edges, crs, meta, csr = loaders.load_network(Path(path))
        return cls.from_tables(
            nodes,
            edges,
            crs,
            source=str(meta.get("source", path)),
            seams_joined=int(meta.get("seams_joined", 0)),
            csr=csr,
        )

    # -------------------------------------------------------------------- CSR
    @property
    def csr_arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """``(indptr, indices, edge_index)``: one CSR slot per node pair with an edge.

        ``edge_index[k]`` is the shortest edge among parallel edges of slot ``k``.
        """
        indptr, indices, edge_index, _ = self._csr_full
        return indptr, indices, edge_index

    @cached_property
    def _csr_full(self) -> tuple[NDArray[np.int64], ...]:
        if self._csr is not None:
            return self._csr
        return build_csr(
            self.edges["u"].to_numpy(),
            self.edges["v"].to_numpy(),
            self.edges["length"].to_numpy(),
            len(self.nodes),
        )

    @cached_property
    def _length_cost(self) -> CostMatrix:
        indptr, indices, edge_index = self.csr_arrays
        weights = np.maximum(self.edges["length"].to_numpy()[edge_index], MIN_WEIGHT)
        n = len(self.nodes)
        return CostMatrix(
            csr_matrix((weights, indices, indptr), shape=(n, n)), edge_index, self._node_order
        )

    @cached_property
    def _node_order(self) -> NDArray[np.int32]:
        return spatial_order(self.nodes["x"].to_numpy(), self.nodes["y"].to_numpy())

    @property
    def _length_matrix(self) -> csr_matrix:
        return self._length_cost.matrix

    def prepare_cost(self, cost: ArrayLike | CostMatrix | None) -> CostMatrix:
        """Prepare a per-edge cost once for many :meth:`shortest_paths` calls.

        Parameters
        ----------
        cost
            One non-negative value per edge; edge length when None.
        """
        if isinstance(cost, CostMatrix):
            return cost
        if cost is None:
            return self._length_cost
        cost_arr = np.asarray(cost, dtype=np.float64)
        if cost_arr.shape != (len(self.edges),):
            raise DataError(
                f"cost has shape {cost_arr.shape}; it needs one value per edge ({len(self.edges)})"
            )
        if not np.all(np.isfinite(cost_arr)) or np.any(cost_arr < 0):
            raise DataError("cost must be finite and non-negative on every edge")
        indptr, indices, _, edge_slot = self._csr_full
        order = np.lexsort((cost_arr, edge_slot))
        first = np.ones(order.size, dtype=bool)
        first[1:] = edge_slot[order][1:] != edge_slot[order][:-1]
        pair_edge = order[first]
        weights = np.maximum(cost_arr[pair_edge], MIN_WEIGHT)
        n = len(self.nodes)
        return CostMatrix(
            csr_matrix((weights, indices, indptr), shape=(n, n)), pair_edge, self._node_order
        )

    def edges_between(
        self,
        tails: Sequence[int] | NDArray[np.int64],
        heads: Sequence[int] | NDArray[np.int64],
        pair_edge: NDArray[np.int64] | None = None,
    ) -> NDArray[np.int64]:
        """Edge id joining each ``tails[i] -> heads[i]`` (the cheapest parallel edge)."""
        chosen = self.csr_arrays[2] if pair_edge is None else pair_edge
        tails_arr = np.asarray(tails, dtype=np.int64)
        heads_arr = np.asarray(heads, dtype=np.int64)
        # CSR columns are sorted within each row, so a global key search finds the slot.
        keys = self._slot_keys
        wanted = tails_arr * len(self.nodes) + heads_arr
        slots = np.searchsorted(keys, wanted)
        bad = (slots >= keys.size) | (keys[np.minimum(slots, keys.size - 1)] != wanted)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise NoRouteError(f"no edge from node {tails_arr[i]} to node {heads_arr[i]}")
        return chosen[slots]

    @cached_property
    def _slot_keys(self) -> NDArray[np.int64]:
        indptr, indices, _ = self.csr_arrays
        rows = np.repeat(np.arange(len(self.nodes), dtype=np.int64), np.diff(indptr))
        return rows * len(self.nodes) + indices

    # ---------------------------------------------------------------- routing
    def shortest_paths(
        self,
        sources: ArrayLike,
        targets: ArrayLike | None = None,
        cost: ArrayLike | CostMatrix | None = None,
        limit_m: float | None = None,
        *,
        reverse: bool = False,
        paths: bool = True,
    ) -> PathSet:
        """Shortest paths from each source with one compiled Dijkstra per source.

        With ``targets``, each search stops as soon as every target is settled
        and the targets' edge paths are built during the search, so a call
        costs what it visits rather than the size of the network.

        Parameters
        ----------
        sources
            Node ids to search from.
        targets
            Node ids whose distances are returned (all nodes when None).
        cost
            Cost per edge (one value per row of ``edges``, non-negative), e.g.
            a risk-weighted length, or a :class:`CostMatrix` prepared once with
            :meth:`prepare_cost`; edge ``length`` in metres when None.
        limit_m
            Stop each search at this cost (metres when routing on length).
        reverse
            Search on the reversed network, so each source is a destination:
            one search from a school gives every origin's route to it.
        paths
            Keep the trees and the targets' edge paths (needed for
            :meth:`PathSet.edge_paths`); False when only distances are wanted.

        Returns
        -------
        PathSet
            Distances (sources x targets) and predecessor trees.
        """
        source_arr = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        self._check_nodes(source_arr, "sources")
        target_arr = None
        if targets is not None:
            target_arr = np.atleast_1d(np.asarray(targets, dtype=np.int64))
            self._check_nodes(target_arr, "targets")
        prepared = self.prepare_cost(cost)
        graph = prepared.search_graph(reverse)
        limit = np.inf if limit_m is None else float(limit_m)
        if not limit >= 0:  # also catches NaN
            raise DataError(f"limit_m must be a non-negative number of metres, not {limit_m!r}")
        found = search(
            graph, source_arr, target_arr, limit, paths=paths, walk_toward_source=reverse
        )
        edges = self.edges
        return PathSet(
            edges["u"].to_numpy(np.int64),
            edges["v"].to_numpy(np.int64),
            len(self.nodes),
            source_arr,
            target_arr,
            found.distances,
            reverse,
            found,
            graph,
            paths,
        )

    def _check_nodes(self, ids: NDArray[np.int64], what: str) -> None:
        check_node_ids(ids, len(self.nodes), what)

    # ------------------------------------------------------------- geometry
    def snap(self, points: Any, max_m: float, *, strict: bool = False) -> SnapResult:
        """Nearest node of each point, refusing points farther than ``max_m``.

        Parameters
        ----------
        points
            A GeoSeries/GeoDataFrame (any CRS; reprojected) or an (n, 2) array
            of x, y in the network CRS.
        max_m
            Largest snapping distance in metres; farther points are returned
            unsnapped (node -1) so a school is never snapped across a park or a river.
        strict
            Raise :class:`SnapError` listing the unsnapped rows instead.
        """
        if max_m <= 0:
            raise DataError(f"max_m must be positive, got {max_m}")
        xy = self._points_xy(points)
        distance, nearest = self.node_tree.query(xy)
        snapped = distance <= max_m
        table = pd.DataFrame(
            {
                "node": np.where(snapped, nearest, -1).astype(np.int64),
                "distance_m": distance,
                "snapped": snapped,
            }
        )
        if strict and not snapped.all():
            rows = np.flatnonzero(~snapped)
            detail = ", ".join(f"point {r + 1} ({distance[r]:.0f} m)" for r in rows[:10])
            raise SnapError(
                f"{rows.size} point(s) lie farther than {max_m:g} m from the walk network "
                f"(counting the points given from 1): {detail}; check their coordinates or "
                "raise the snapping limit"
            )
        return SnapResult(table, float(max_m))

    @cached_property
    def node_tree(self) -> cKDTree:
        """KD-tree of the node coordinates, for nearest-node queries."""
        return cKDTree(self.nodes[["x", "y"]].to_numpy())

    def _points_xy(self, points: Any) -> NDArray[np.float64]:
        if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
            if points.crs is None:
                raise CRSError(
                    "points have no CRS; set one (EPSG:4326 for longitude/latitude) before snapping"
                )
            geoms = (
                points.to_crs(self.crs).geometry
                if isinstance(points, gpd.GeoDataFrame)
                else points.to_crs(self.crs)
            )
            if not geoms.geom_type.eq("Point").all():
                geoms = geoms.representative_point()
            xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
        else:
            xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if not np.all(np.isfinite(xy)):
            raise DataError("points hold missing or non-finite coordinates")
        return xy

    def walkshed(self, points: Any, radius_m: float) -> WalkNetwork:
        """The sub-network within ``radius_m`` network distance of any of ``points``.

        Points are snapped to their nearest node (within ``radius_m``).
        """
        if radius_m <= 0:
            raise DataError(f"radius_m must be positive, got {radius_m}")
        snap = self.snap(points, max_m=radius_m)
        sources = np.unique(snap.nodes[snap.nodes >= 0])
        if sources.size == 0:
            raise SnapError(f"no point lies within {radius_m:g} m of the walk network")
        dist = dijkstra(
            self._length_matrix, directed=True, indices=sources, limit=radius_m, min_only=True
        )
        return self.subnetwork(np.isfinite(np.asarray(dist)))

    def subnetwork(self, node_mask: NDArray[np.bool_]) -> WalkNetwork:
        """The network induced by the nodes where ``node_mask`` is True (ids renumbered)."""
        keep = np.flatnonzero(node_mask)
        new_id = np.full(len(self.nodes), -1, dtype=np.int64)
        new_id[keep] = np.arange(keep.size)
        u = new_id[self.edges["u"].to_numpy()]
        v = new_id[self.edges["v"].to_numpy()]
        edge_keep = (u >= 0) & (v >= 0)
        edges = pd.DataFrame(self.edges[edge_keep]).assign(u=u[edge_keep], v=v[edge_keep])
        nodes = pd.DataFrame(self.nodes.iloc[keep])
        return WalkNetwork.from_tables(nodes, edges, self.crs, source=self.source)

    def to_latlon(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """Nodes and edges in EPSG:4326 for export."""
        return self.nodes.to_crs(WGS84), self.edges.to_crs(WGS84)

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """An osmnx-style projected ``MultiDiGraph`` (built on first use)."""
        return loaders.tables_to_graph(self.nodes, self.edges, self.crs)

    def components(self) -> NDArray[np.int32]:
        """Weakly connected component label of each node."""
        _, labels = connected_components(self._length_matrix, directed=True, connection="weak")
        return np.asarray(labels, dtype=np.int32)

    def summary(self) -> dict[str, Any]:
        """Counts for logs and manifests.

        Returns
        -------
        dict
            ``nodes``, ``edges``, ``km`` (street length, each two-way street
            counted once), ``components``, ``largest_component_share``,
            ``crs``, ``seams_joined``, ``source``.
        """
        labels = self.components()
        sizes = np.bincount(labels)
        u = self.edges["u"].to_numpy()
        v = self.edges["v"].to_numpy()
        length = self.edges["length"].to_numpy()
        street = pd.DataFrame(
            {"a": np.minimum(u, v), "b": np.maximum(u, v), "len": np.round(length, 1)}
        ).drop_duplicates()
        return {
            "nodes": len(self.nodes),
            "edges": len(self.edges),
            "km": round(float(street["len"].sum()) / 1000.0, 3),
            "components": int(sizes.size),
            "largest_component_share": round(float(sizes.max() / sizes.sum()), 5),
            "crs": self.crs.to_string(),
            "seams_joined": self.seams_joined,
            "source": self.source,
        }
