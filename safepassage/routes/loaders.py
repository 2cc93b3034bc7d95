"""File readers and table plumbing behind :class:`~safepassage.routes.network.WalkNetwork`."""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from ..atomic import atomic_replace_dir
from ..crs import local_metric_crs
from ..errors import CRSError, DataError

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
# highway values that are not for walking (osmnx's walk filter, plus a few more)
NOT_WALKABLE = {
    "abandoned",
    "bus_guideway",
    "construction",
    "cycleway",
    "motorway",
    "motorway_link",
    "no",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "trunk",
    "trunk_link",
    "busway",
    "bridleway",
}
NAME_COLUMNS = ("name", "street_nam", "street_name", "streetname", "full_name", "st_name")
CLASS_COLUMNS = ("highway", "class", "road_class", "street_class", "fclass", "type")


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(
            f"{path}: file not found; check the path (shared data is read from "
            "SAFEPASSAGE_DATA, default ../shared/data/chicago)"
        )
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a file")


def _read_text(path: Path) -> bytes:
    """File contents, decompressing ``.gz`` and ``.bz2``; corrupt archives become DataError."""
    _require_file(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        if path.suffix == ".bz2":
            with bz2.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: cannot be decompressed ({exc}); the file is corrupt or truncated, "
            "download it again"
        ) from exc


def read_graphml(path: Path) -> nx.MultiDiGraph:
    """Read an osmnx GraphML file (plain or gzip)."""
    import osmnx as ox

    _require_file(path)
    with tempfile.TemporaryDirectory(prefix="safepassage-graphml-") as tmp:
        plain = Path(tmp) / "walk.graphml"
        if path.suffix in {".gz", ".bz2"}:
            _decompress_to(path, plain)  # osmnx parses from a path: no copy in memory
        else:
            plain = path
        graph = _parse_graphml(plain, path, ox)
    if graph.number_of_edges() == 0:
        raise DataError(f"{path}: holds no streets (0 edges); check the area it was made for")
    return graph


def _decompress_to(source: Path, target: Path) -> None:
    opener = gzip.open if source.suffix == ".gz" else bz2.open
    try:
        with opener(source, "rb") as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{source}: cannot be decompressed ({exc}); the file is corrupt or truncated, "
            "download it again"
        ) from exc


def _parse_graphml(plain: Path, path: Path, ox: Any) -> nx.MultiDiGraph:
    try:
        return ox.load_graphml(filepath=plain)
    except (ET.ParseError, UnicodeDecodeError, nx.NetworkXError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: not a readable osmnx GraphML file ({type(exc).__name__}: {exc}); "
            "the file is corrupt or truncated, or was not written by osmnx.save_graphml"
        ) from exc


def _way_is_walkable(tags: dict[str, str]) -> bool:
    highway = tags.get("highway")
    if highway is None or highway in NOT_WALKABLE or tags.get("area") == "yes":
        return False
    foot = tags.get("foot", "")
    if foot == "no":
        return False
    if foot in {"yes", "designated", "permissive"}:
        return True
    return tags.get("access") not in {"private", "no"} and tags.get("service") != "private"


def filter_osm_xml(raw: bytes, source: Path) -> tuple[bytes, int]:
    """Drop ways that are not walkable from OSM XML; return the XML and ways kept."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise DataError(
            f"{source}: not readable OSM XML ({exc}); the file is corrupt or truncated"
        ) from exc
    if root.tag != "osm":
        raise DataError(f"{source}: root element is <{root.tag}>, expected <osm>")
    kept = 0
    for way in list(root.findall("way")):
        tags = {t.get("k", ""): t.get("v", "") for t in way.findall("tag")}
        if _way_is_walkable(tags):
            kept += 1
        else:
            root.remove(way)
    for relation in list(root.findall("relation")):
        root.remove(relation)
    return ET.tostring(root, encoding="utf-8"), kept


def read_osm_xml(path: Path) -> nx.MultiDiGraph:
    """Read OSM XML (plain or bz2/gz) into an unsimplified-then-simplified walk graph."""
    import osmnx as ox

    xml, kept = filter_osm_xml(_read_text(path), path)
    if kept == 0:
        raise DataError(f"{path}: holds no walkable ways (no highway usable on foot)")
    with tempfile.TemporaryDirectory(prefix="safepassage-osm-") as tmp:
        filtered = Path(tmp) / "walk.osm"
        filtered.write_bytes(xml)
        try:
            graph = ox.graph_from_xml(filtered, bidirectional=True, simplify=True, retain_all=True)
        except (ValueError, KeyError) as exc:
            raise DataError(f"{path}: osmnx could not build a graph ({exc})") from exc
    # the XML's other nodes (shops, signals off the ways) come in as isolated nodes
    graph.remove_nodes_from(list(nx.isolates(graph)))
    if graph.number_of_edges() == 0:
        raise DataError(f"{path}: holds no walkable streets")
    return graph


def _first(value: Any) -> Any:
    """osmnx keeps lists where simplification merged ways; keep the first entry."""
    if isinstance(value, list | tuple):
        return value[0] if value else ""
    return value


def graph_tables(graph: nx.MultiDiGraph, *, source: str) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Node and edge tables of an osmnx-style graph, projected to a metric CRS."""
    crs_value = graph.graph.get("crs")
    if crs_value is None:
        raise CRSError(f"{source}: the graph has no 'crs' attribute; set graph.graph['crs']")
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise DataError(f"{source}: holds no walkable streets (empty graph)")
    crs = pyproj.CRS.from_user_input(crs_value)
    node_ids = list(graph.nodes)
    attrs = [graph.nodes[n] for n in node_ids]
    try:
        x = np.array([a["x"] for a in attrs], dtype=np.float64)
        y = np.array([a["y"] for a in attrs], dtype=np.float64)
    except KeyError as exc:
        raise DataError(f"{source}: nodes lack 'x'/'y' coordinates") from exc
    nodes = pd.DataFrame(
        {
            "osmid": [str(n) for n in node_ids],
            "x": x,
            "y": y,
            "street_count": [int(a.get("street_count", 0) or 0) for a in attrs],
        }
    )
    index = {n: i for i, n in enumerate(node_ids)}
    rows = []
    geoms = []
    for u, v, key, data in graph.edges(keys=True, data=True):
        rows.append(
            (
                index[u],
                index[v],
                key,
                str(_first(data.get("osmid", ""))),
                str(_first(data.get("highway", "")) or ""),
                str(_first(data.get("name", "")) or ""),
                data.get("length", np.nan),
            )
        )
        geoms.append(data.get("geometry"))
    edges = pd.DataFrame(rows, columns=["u", "v", "key", "osmid", "highway", "name", "length"])
    missing = np.array([g is None for g in geoms])
    if missing.any():
        ends = np.stack(
            [
                x[edges["u"][missing]],
                y[edges["u"][missing]],
                x[edges["v"][missing]],
                y[edges["v"][missing]],
            ],
            axis=1,
        )
        straight = shapely.linestrings(ends.reshape(-1, 2, 2))
        geom_arr = np.array(geoms, dtype=object)
        geom_arr[missing] = straight
        geoms = list(geom_arr)
    geometry = gpd.GeoSeries(geoms, crs=crs)
    if crs.is_geographic:
        metric = local_metric_crs(float(np.median(x)), float(np.median(y)))
        _check_lonlat(x, y, source)
        points = gpd.GeoSeries(shapely.points(x, y), crs=crs).to_crs(metric)
        nodes["x"], nodes["y"] = points.x.to_numpy(), points.y.to_numpy()
        geometry = geometry.to_crs(metric)
        crs = metric
    if edges["length"].isna().any():
        edges["length"] = edges["length"].fillna(pd.Series(geometry.length.to_numpy()))
    edges["length"] = edges["length"].astype(np.float64)
    edges = gpd.GeoDataFrame(edges, geometry=geometry.values, crs=crs)
    return nodes, edges, crs


def _check_lonlat(x: NDArray[np.float64], y: NDArray[np.float64], source: str) -> None:
    if np.any(np.abs(y) > 90) or np.any(np.abs(x) > 180):
        hint = " (latitude and longitude look swapped)" if np.all(np.abs(x) <= 90) else ""
        raise CRSError(f"{source}: coordinates are not valid longitude/latitude{hint}")


def tables_to_graph(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, crs: Any) -> nx.MultiDiGraph:
    """An osmnx-style MultiDiGraph with node ids = node table rows."""
    graph = nx.MultiDiGraph(crs=crs)
    graph.add_nodes_from(
        (i, {"x": x, "y": y, "osmid": o, "street_count": s})
        for i, (o, x, y, s) in enumerate(
            nodes[["osmid", "x", "y", "street_count"]].itertuples(index=False)
        )
    )
    records = edges.drop(columns=["u", "v", "key"]).to_dict("records")
    graph.add_edges_from(
        (int(u), int(v), int(k), {**rec, "edge_id": i})
        for i, (u, v, k, rec) in enumerate(
            zip(edges["u"], edges["v"], edges["key"], records, strict=True)
        )
    )
    return graph


# --------------------------------------------------------------- centerlines
def _pick_column(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str]
) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"column {wanted!r} not found; columns: {list(columns)}")
        return wanted
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in candidates if c in lower), None)


def _read_lines(lines: str | Path | gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    if isinstance(lines, gpd.GeoDataFrame):
        return lines, "line layer"
    path = Path(lines)
    _require_file(path)
    target = f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)
    try:
        return gpd.read_file(target), str(path)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{path}: cannot be read as a line layer ({exc})") from exc


def centerline_tables(
    lines: str | Path | gpd.GeoDataFrame, *, name_column: str | None, class_column: str | None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, Any, str]:
    """Node and edge tables of a line layer, noded at every crossing, both directions."""
    gdf, source = _read_lines(lines)
    if gdf.crs is None:
        raise CRSError(f"{source}: the line layer has no CRS; set one (e.g. EPSG:4326)")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geom_type.isin(["LineString", "MultiLineString"])]
    if gdf.empty:
        raise DataError(f"{source}: holds no line geometries (no streets)")
    if not pyproj.CRS.from_user_input(gdf.crs).is_projected or any(
        a.unit_name not in ("metre", "meter") for a in pyproj.CRS(gdf.crs).axis_info
    ):
        centre = gdf.to_crs(4326).union_all().centroid
        gdf = gdf.to_crs(local_metric_crs(centre.x, centre.y))
    crs = gdf.crs
    gdf = gdf.explode(index_parts=False).reset_index(drop=True)
    name_col = _pick_column(list(gdf.columns), name_column, NAME_COLUMNS)
    class_col = _pick_column(list(gdf.columns), class_column, CLASS_COLUMNS)
    # union_all nodes the lines wherever they cross or touch
    pieces = shapely.get_parts(shapely.union_all(gdf.geometry.values))
    pieces = pieces[shapely.get_type_id(pieces) == 1]
    pieces = pieces[shapely.length(pieces) > 0]
    # attributes: the source line nearest each piece's midpoint
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    _, nearest = shapely.STRtree(gdf.geometry.values).query_nearest(mids, all_matches=False)
    starts = shapely.get_coordinates(shapely.get_point(pieces, 0))
    ends = shapely.get_coordinates(shapely.get_point(pieces, -1))
    rounded = np.round(np.vstack([starts, ends]), 2)
    unique_xy, inverse = np.unique(rounded, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    u, v = inverse[: len(pieces)], inverse[len(pieces) :]
    names = gdf[name_col].astype(str).to_numpy()[nearest] if name_col else np.full(len(pieces), "")
    classes = (
        gdf[class_col].astype(str).to_numpy()[nearest]
        if class_col
        else np.full(len(pieces), "residential")
    )
    forward = pd.DataFrame({"u": u, "v": v, "name": names, "highway": classes})
    forward["length"] = shapely.length(pieces)
    forward["osmid"] = [str(i) for i in nearest]
    backward = forward.assign(u=v, v=u)
    edges = gpd.GeoDataFrame(
        pd.concat([forward, backward], ignore_index=True),
        geometry=np.concatenate([pieces, shapely.reverse(pieces)]),
        crs=crs,
    )
    degree = np.bincount(np.concatenate([u, v]), minlength=len(unique_xy))
    nodes = pd.DataFrame(
        {
            "osmid": "",  # no source id: stitching joins centreline nodes by place only
            "x": unique_xy[:, 0],
            "y": unique_xy[:, 1],
            "street_count": degree,
        }
    )
    return nodes, edges, crs, source


# --------------------------------------------------------------------- cache
def save_network(
    nodes: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    csr: tuple[NDArray[np.int64], ...],
    meta: dict[str, Any],
    path: Path,
) -> Path:
    """Write nodes/edges GeoParquet, CSR npz and meta.json into ``path`` atomically.

    ``meta`` (crs as WKT, source, seams_joined) is stored with the cache format.
    """
    with atomic_replace_dir(path) as tmp:
        nodes.to_parquet(tmp / "nodes.parquet")
        edges.to_parquet(tmp / "edges.parquet")
        np.savez(tmp / "csr.npz", *csr)
        (tmp / "meta.json").write_text(json.dumps({"format": CACHE_FORMAT, **meta}, indent=2))
    return path


def load_network(
    path: Path,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, Any, dict[str, Any], tuple[NDArray[np.int64], ...]]:
    """Read a cache folder written by :func:`save_network`."""
    if not path.is_dir():
        raise DataError(f"{path}: no network cache folder here; write one with WalkNetwork.save")
    try:
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != CACHE_FORMAT:
            raise DataError(
                f"{path}: cache format {meta.get('format')} is not {CACHE_FORMAT}; rebuild it"
            )
        nodes = pd.DataFrame(
            pd.read_parquet(path / "nodes.parquet", columns=["osmid", "x", "y", "street_count"])
        )
        edges = gpd.read_parquet(path / "edges.parquet")
        with np.load(path / "csr.npz") as arrays:
            csr = tuple(arrays[f"arr_{i}"] for i in range(4))
    except DataError:
        raise
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{path}: the network cache is incomplete or corrupt ({exc}); rebuild it"
        ) from exc
    return nodes, edges, pyproj.CRS.from_wkt(meta["crs"]), meta, csr
