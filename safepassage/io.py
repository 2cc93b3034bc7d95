"""Read the program's input tables and write tables atomically.

Readers take a file path (CSV, CSV.gz, GeoJSON(.gz), GeoPackage, Shapefile,
GeoParquet), map the column names of the known variants (CPS school locations
and Safe Passage route files change their columns from year to year) to one
schema, check what they need and raise :class:`MissingColumnError` or
:class:`DataError` naming the file.  Geometries are projected once, to the
plan's metric CRS.  Writers never leave a half-written file behind.

Sections: generic tables; vendors and workers; schools and their selection;
Safe Passage routes; writers.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .atomic import atomic_file
from .config import SchoolSelection
from .crs import check_metric_crs
from .errors import CRSError, DataError, MissingColumnError

__all__ = [
    "community_area_schools",
    "flat_lists",
    "gdal_source",
    "named_areas",
    "read_polygons",
    "read_routes",
    "read_schools",
    "read_table",
    "read_vendors",
    "read_workers",
    "select_schools",
    "write_csv",
    "write_gpkg_layers",
    "write_json",
]

logger = logging.getLogger(__name__)

_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".geojson.gz", ".json.gz")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in (".csv.gz", ".geojson.gz", ".json.gz") if name.endswith(s)), "") or (
        path.suffix.lower()
    )


def gdal_source(path: Path) -> str:
    """The name GDAL opens ``path`` by: gzip files (``.gz``) through ``/vsigzip/``."""
    return f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)


def read_table(path: str | os.PathLike[str], *, dtype_str: bool = False) -> pd.DataFrame:
    """Read a CSV, CSV.gz, GeoJSON(.gz), GeoPackage, Shapefile or GeoParquet file.

    Parameters
    ----------
    path
        The file; the format comes from its name.  ``.geojson.gz`` is read through
        GDAL's ``/vsigzip/``.
    dtype_str
        Read every CSV column as text (keeps leading zeros of ids).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A GeoDataFrame (in the file's CRS) for spatial formats, else a DataFrame.

    Raises
    ------
    DataError
        If the file is missing, of an unknown format, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = _suffix(path)
    try:
        if suffix in (".csv", ".csv.gz", ".txt"):
            return pd.read_csv(path, dtype=str if dtype_str else None, low_memory=False)
        if suffix in _PARQUET_SUFFIXES:
            frame: pd.DataFrame = gpd.read_parquet(path)
            return frame
        if suffix in _GEO_SUFFIXES:
            geo: pd.DataFrame = gpd.read_file(gdal_source(path))
            return geo
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as {suffix or 'a table'}: {exc}") from exc
    except Exception as exc:  # pyogrio/GDAL raise their own error types
        raise DataError(f"{path}: cannot read it: {exc}") from exc
    raise DataError(
        f"{path}: unknown table format {suffix!r}; use CSV (.csv, .csv.gz), GeoJSON "
        "(.geojson, .geojson.gz), GeoPackage (.gpkg) or GeoParquet (.parquet)"
    )


def read_polygons(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a polygon layer in any format GDAL opens (GeoJSON(.gz), GeoPackage, a
    shapefile or a zipped one, GeoParquet), in its own CRS.

    Raises
    ------
    DataError
        If the file is missing or unreadable, has no geometry or no CRS.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = (
            gpd.read_parquet(path)
            if _suffix(path) in _PARQUET_SUFFIXES
            else gpd.read_file(gdal_source(path))
        )
    except Exception as exc:  # pyogrio/GDAL raise their own error types
        raise DataError(f"{path}: cannot read it as a spatial layer: {exc}") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise DataError(f"{path}: has no geometry; give polygons (GeoJSON, GeoPackage, shapefile)")
    if frame.crs is None:
        raise DataError(f"{path}: has no CRS; save it with one (e.g. EPSG:4326)")
    return frame


def _pick(table: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first column whose lower-cased name is one of ``candidates``."""
    lower = {str(c).lower(): str(c) for c in table.columns}
    return next((lower[c] for c in candidates if c in lower), None)


def _require(
    table: pd.DataFrame, wanted: Mapping[str, Sequence[str]], source: Path, hint: str = ""
) -> dict[str, str]:
    """Map each wanted role to a column, or raise one MissingColumnError naming them all."""
    found = {role: _pick(table, names) for role, names in wanted.items()}
    missing = [" or ".join(wanted[role]) for role, col in found.items() if col is None]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=str(source), hint=hint)
    return {role: col for role, col in found.items() if col is not None}


def _id_text(values: pd.Series) -> pd.Series:
    """Identifiers as clean strings: ``609791.0`` -> ``"609791"``, missing -> ``""``."""

    def clean(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value).strip()
        return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text

    return values.map(clean).astype(object)


def _project(frame: gpd.GeoDataFrame, crs: Any, source: Path) -> gpd.GeoDataFrame:
    """Project to the plan CRS after checking the data lie where that CRS is meant for."""
    target = check_metric_crs(crs, where=f"the plan CRS for {source.name}")
    if frame.crs is None:
        raise CRSError(f"{source}: the file has no CRS; GeoJSON should be EPSG:4326")
    area = target.area_of_use
    if area is not None and len(frame):
        west, south, east, north = frame.to_crs(4326).total_bounds
        lon, lat = (west + east) / 2, (south + north) / 2

        def inside(x: float, y: float) -> bool:
            return bool(area.west <= x <= area.east and area.south <= y <= area.north)

        if not inside(lon, lat):
            hint = "latitude and longitude look swapped" if inside(lat, lon) else "wrong CRS?"
            raise CRSError(
                f"{source}: the data centre (lon {lon:.4f}, lat {lat:.4f}) lies outside "
                f"{target.name} ({area.name}); {hint}"
            )
    return frame.to_crs(target)


def _split_list(value: Any) -> list[str] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    items = [part.strip() for part in str(value).split(";")]
    return [item for item in items if item] or None


def _read_csv_table(path: str | os.PathLike[str], required: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    table = read_table(path, dtype_str=True)
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=str(path))
    blank = table[list(required[:1])].isna().any(axis=1)
    if blank.any():
        rows = [int(i) + 2 for i in table.index[blank][:10]]  # +2: header line, 1-based
        raise DataError(f"{path}: lines {rows} have an empty {required[0]!r}")
    return table


def read_vendors(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the vendors table (CSV).

    Returns
    -------
    pandas.DataFrame
        ``vendor_id`` (str), ``name`` (str, ``""`` when absent), ``school_ids``
        (list of str, from a ``;``-separated cell), plus any other columns as text.
    """
    table = _read_csv_table(path, ("vendor_id", "school_ids"))
    table["vendor_id"] = _id_text(table["vendor_id"])
    table["name"] = table["name"].fillna("") if "name" in table else ""
    table["school_ids"] = [_split_list(v) or [] for v in table["school_ids"]]
    return table


def read_workers(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the workers table (CSV).

    Returns
    -------
    pandas.DataFrame
        ``worker_id``, ``vendor_id`` (str); when present ``weekdays`` and ``windows``
        (lists of str from ``;``-separated cells; None for an empty cell, meaning
        "the default": every weekday, both windows) and ``max_minutes_day``,
        ``max_days_week`` (numbers; NaN for an empty cell); other columns as text.
    """
    path = Path(path)
    table = _read_csv_table(path, ("worker_id", "vendor_id"))
    for column in ("worker_id", "vendor_id"):
        table[column] = _id_text(table[column])
    for column in ("weekdays", "windows"):
        if column in table:
            table[column] = pd.Series([_split_list(v) for v in table[column]], dtype=object)
    for column in ("max_minutes_day", "max_days_week"):
        if column in table:
            numbers = pd.to_numeric(table[column], errors="coerce")
            bad = table[column].notna() & numbers.isna()
            if bad.any():
                lines = [int(i) + 2 for i in table.index[bad][:10]]
                raise DataError(f"{path}: column {column!r} lines {lines} are not numbers")
            table[column] = numbers
    return table


# ----------------------------------------------------------------------------- schools


_ELEMENTARY = {"PK", "K", *(str(g) for g in range(1, 9))}
_HIGH = {str(g) for g in range(9, 13)}


_SCHOOL_COLUMNS = {
    "school_id": ("school_id", "schoolid", "unit_id"),
    "name": ("short_name", "school_nm", "school_nam", "name", "long_name"),
}
_SCHOOL_OPTIONAL = {
    "grades": ("grades", "grades_offered"),
    "grade_cat": ("grade_cat",),
    "community_area": ("commarea", "community_area", "community"),
}
_LON = ("long", "lon", "longitude", "x")
_LAT = ("lat", "latitude", "y")


def _grade_band(grades: str, grade_cat: str) -> str:
    tokens = {t.strip().upper() for t in grades.replace(";", ",").split(",") if t.strip()}
    elementary, high = bool(tokens & _ELEMENTARY), bool(tokens & _HIGH)
    if elementary and high:
        return "both"
    if elementary or high:
        return "high" if high else "elementary"
    return "high" if grade_cat.strip().upper() == "HS" else "elementary"


def _school_points(table: pd.DataFrame, source: Path) -> gpd.GeoDataFrame:
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.notna().all():
        return table
    cols = _require(table, {"lon": _LON, "lat": _LAT}, source, "give a geometry or lon/lat")
    lon = pd.to_numeric(table[cols["lon"]], errors="coerce")
    lat = pd.to_numeric(table[cols["lat"]], errors="coerce")
    bad = table.index[lon.isna() | lat.isna()].tolist()
    if bad:
        raise DataError(f"{source}: rows {bad[:10]} have no usable coordinates")
    if lat.abs().gt(90).any() or lon.abs().gt(180).any():
        hint = "latitude and longitude look swapped" if lon.abs().le(90).all() else "not degrees"
        raise CRSError(f"{source}: columns {cols['lon']!r}/{cols['lat']!r}: {hint}")
    points = gpd.points_from_xy(lon, lat, crs=4326)
    return gpd.GeoDataFrame(table.drop(columns="geometry", errors="ignore"), geometry=points)


def read_schools(
    path: str | os.PathLike[str],
    *,
    profiles: str | os.PathLike[str] | None = None,
    crs: Any,
) -> gpd.GeoDataFrame:
    """Read CPS school locations (any of the SY1314-SY1617 variants) with their profiles.

    Parameters
    ----------
    path
        School locations: the SY1617 GeoJSON (``school_id``, ``short_name``, ``grades``,
        ``grade_cat``) or a CSV with ``SCHOOL_ID``/``SCHOOL_NM``/``X``/``Y`` (lon/lat,
        SY1314-SY1415) or ``School_ID``/``Short_Name``/``Lat``/``Long`` (SY1516).
    profiles
        Optional CPS school profile CSV (``School_ID``, ``Student_Count_Total``,
        ``School_Hours``).
    crs
        The plan's metric CRS (e.g. EPSG:26916).

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id`` (str), ``name``, ``grades``, ``grade_band`` (``"elementary"``,
        ``"high"`` or ``"both"``), ``enrollment`` (students, float, NaN without a
        profile), ``school_hours`` (raw text, ``""`` when unknown), ``community_area``
        (upper case, ``""`` when the file has none), geometry (points in ``crs``).
    """
    path = Path(path)
    table = read_table(path, dtype_str=True)
    cols = _require(table, _SCHOOL_COLUMNS, path)
    points = _school_points(table, path)
    ids = _id_text(points[cols["school_id"]])
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise DataError(f"{path}: school ids {duplicated[:10]} appear more than once")
    optional = {role: _pick(points, names) for role, names in _SCHOOL_OPTIONAL.items()}

    def text(role: str) -> pd.Series:
        column = optional[role]
        values = points[column].fillna("") if column else pd.Series("", index=points.index)
        return values.astype(str).astype(object)

    schools = gpd.GeoDataFrame(
        {
            "school_id": ids.to_numpy(),
            "name": points[cols["name"]].fillna("").astype(str).to_numpy(dtype=object),
            "grades": text("grades").to_numpy(),
            "grade_band": [
                _grade_band(g, c) for g, c in zip(text("grades"), text("grade_cat"), strict=True)
            ],
            "community_area": text("community_area").str.upper().to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    schools = _add_profiles(schools, Path(profiles) if profiles else None)
    columns = ["school_id", "name", "grades", "grade_band", "enrollment", "school_hours"]
    return _project(schools[[*columns, "community_area", "geometry"]], crs, path)


def _add_profiles(schools: gpd.GeoDataFrame, profiles: Path | None) -> gpd.GeoDataFrame:
    schools = schools.assign(enrollment=np.nan, school_hours="")
    if profiles is None:
        return schools
    table = read_table(profiles, dtype_str=True)
    cols = _require(
        table,
        {"school_id": ("school_id",), "enrollment": ("student_count_total",)},
        profiles,
    )
    hours = _pick(table, ("school_hours",))
    ids = _id_text(table[cols["school_id"]])
    enrollment = pd.Series(
        pd.to_numeric(table[cols["enrollment"]], errors="coerce").to_numpy(), index=ids
    )
    enrollment = enrollment[~enrollment.index.duplicated()]
    schools["enrollment"] = schools["school_id"].map(enrollment).astype(float)
    if hours:
        raw = pd.Series(table[hours].fillna("").astype(str).to_numpy(), index=ids)
        raw = raw[~raw.index.duplicated()]
        schools["school_hours"] = schools["school_id"].map(raw).fillna("").astype(object)
    unmatched = int(schools["enrollment"].isna().sum())
    if unmatched:
        logger.info("%d school(s) have no enrollment in %s", unmatched, profiles.name)
    return schools


def named_areas(
    areas: str | os.PathLike[str] | gpd.GeoDataFrame, names: Iterable[str]
) -> gpd.GeoDataFrame:
    """The named community areas (any case): ``area`` (upper case), geometry (own CRS).

    Raises
    ------
    DataError
        Naming the file and the names it does not hold.
    """
    areas_path = Path("community areas" if isinstance(areas, gpd.GeoDataFrame) else areas)
    if not isinstance(areas, gpd.GeoDataFrame):
        areas = read_polygons(areas)
    name_col = _require(areas, {"name": ("community", "community_area", "name")}, areas_path)
    known = areas[name_col["name"]].astype(str).str.upper().str.strip()
    wanted = [n.upper().strip() for n in names]
    unknown = [n for n in wanted if n not in set(known)]
    if unknown:
        raise DataError(
            f"{areas_path}: no community area named {unknown}; names are e.g. {sorted(known)[:8]}"
        )
    hit = known.isin(wanted).to_numpy()
    return gpd.GeoDataFrame(
        {"area": known[hit].to_numpy()}, geometry=areas.geometry.to_numpy()[hit], crs=areas.crs
    )


def community_area_schools(
    schools: gpd.GeoDataFrame,
    areas: str | os.PathLike[str] | gpd.GeoDataFrame,
    names: Iterable[str],
) -> gpd.GeoDataFrame:
    """Schools lying inside the named community areas (by polygon, not by the school file).

    Parameters
    ----------
    schools
        From :func:`read_schools` (metric CRS).
    areas
        Community area polygons with a ``community`` name column, or their file.
    names
        Community area names, any case (``"West Englewood"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The matching rows of ``schools``, ``community_area`` set from the polygon.
    """
    chosen = named_areas(areas, names).to_crs(schools.crs)
    joined = gpd.sjoin(schools, chosen, how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()]
    result = schools.loc[joined.index].copy()
    result["community_area"] = joined["area"].to_numpy()
    return result


def select_schools(
    schools: gpd.GeoDataFrame,
    selection: SchoolSelection,
    *,
    areas: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Apply a ``[schools]`` selection: each given criterion narrows the schools.

    Keeps the schools whose id is in ``selection.ids`` (when given), that lie inside
    one of ``selection.community_areas`` (when given; ``community_area`` is set from
    the polygons) and, with ``safe_passage_year``, that have a route in ``routes``
    (from :func:`read_routes`).

    Raises
    ------
    DataError
        If an id is not in ``schools``, areas are asked for without ``areas``,
        or the route filter is asked for without ``routes``.
    """
    unknown = sorted(set(selection.ids) - set(schools["school_id"]))
    if unknown:
        raise DataError(f"schools.ids: {unknown} are not in the school locations file")
    if selection.ids:
        schools = schools[schools["school_id"].isin(selection.ids)]
    if selection.community_areas:
        if areas is None:
            raise DataError("schools.community_areas needs data.community_areas (polygons)")
        schools = community_area_schools(schools, areas, selection.community_areas)
    if selection.safe_passage_year:
        if routes is None:
            raise DataError("schools.safe_passage_year needs data.reference_routes")
        schools = schools[schools["school_id"].isin(set(routes["school_id"]))]
    return schools


# ----------------------------------------------------------------------------- routes

_ROUTE_COLUMNS = {"school_id": ("schoolid", "school_id")}
_ROUTE_OPTIONAL = {
    "route_id": ("rt_num", "route_numb", "route_num", "route_id"),
    "school_name": ("school_nam", "schoolname", "school_name"),
}


def read_routes(path: str | os.PathLike[str], *, crs: Any) -> gpd.GeoDataFrame:
    """Read an official Safe Passage route file (any year) into one schema.

    The column names change by year (``schoolid``/``school_id``,
    ``rt_num``/``route_numb``/``route_num``, ``school_nam``/``schoolname``); SY1314
    and SY1415 also (SY1415 only) publish 660-ft buffer polygons instead of lines,
    which are kept with ``kind="buffer"``.  Rows without geometry are dropped.

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id`` (str), ``route_id`` (str: the official route number, or
        ``"row<n>"`` when the file has none), ``school_name``, ``kind`` (``"line"`` or
        ``"buffer"``), geometry in ``crs``.
    """
    path = Path(path)
    table = read_table(path, dtype_str=True)
    if not isinstance(table, gpd.GeoDataFrame):
        raise DataError(f"{path}: route files need geometry (GeoJSON, GeoPackage, ...)")
    cols = _require(table, _ROUTE_COLUMNS, path)
    empty = table.geometry.isna() | table.geometry.is_empty
    if empty.any():
        logger.warning("%s: dropped %d route(s) without geometry", path.name, int(empty.sum()))
        table = table.loc[~empty]
    kinds = table.geom_type.map(
        {
            "LineString": "line",
            "MultiLineString": "line",
            "Polygon": "buffer",
            "MultiPolygon": "buffer",
        }
    )
    if kinds.isna().any():
        odd = sorted(set(table.geom_type[kinds.isna()]))
        raise DataError(f"{path}: routes must be lines or buffer polygons, found {odd}")
    optional = {role: _pick(table, names) for role, names in _ROUTE_OPTIONAL.items()}
    rows = pd.Series([f"row{i}" for i in range(len(table))], index=table.index)
    route_ids = _id_text(table[optional["route_id"]]) if optional["route_id"] else rows
    names = table[optional["school_name"]] if optional["school_name"] else rows.map(lambda _: "")
    routes = gpd.GeoDataFrame(
        {
            "school_id": _id_text(table[cols["school_id"]]).to_numpy(),
            "route_id": route_ids.where(route_ids != "", rows).to_numpy(),
            "school_name": names.fillna("").astype(str).to_numpy(dtype=object),
            "kind": kinds.to_numpy(dtype=object),
        },
        geometry=table.geometry.to_numpy(),
        crs=table.crs,
    )
    return _project(routes, crs, path)


# ----------------------------------------------------------------------------- writers


def flat_lists(table: pd.DataFrame) -> pd.DataFrame:
    """Lists and tuples in cells become ``;``-joined strings (CSV and GeoPackage)."""
    out = table.copy()
    for column in out.columns:
        is_list = out[column].map(lambda v: isinstance(v, list | tuple | set))
        if column != "geometry" and is_list.any():
            out[column] = out[column].map(
                lambda v: ";".join(map(str, v)) if isinstance(v, list | tuple | set) else v
            )
    return out


def write_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV atomically (no index; lists as ``;``-joined text; geometry as WKT)."""
    path = Path(path)
    frame = flat_lists(table)
    if isinstance(frame, gpd.GeoDataFrame):
        wkt = gpd.GeoSeries(frame["geometry"]).to_wkt()
        frame = pd.DataFrame(frame.drop(columns="geometry")).assign(geometry=wkt)
    with atomic_file(path) as part:
        frame.to_csv(part, index=False)
    return path


def write_gpkg_layers(path: str | os.PathLike[str], layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write GeoDataFrames as layers of one GeoPackage, atomically (replacing the file).

    Lists in cells are written as ``;``-joined text (GeoPackage has no list type).
    """
    path = Path(path)
    if not layers:
        raise DataError(f"{path}: no layers to write")
    with atomic_file(path) as part:
        for name, layer in layers.items():
            if layer.crs is None:
                raise CRSError(f"{path}: layer {name!r} has no CRS")
            gpd.GeoDataFrame(flat_lists(layer)).to_file(part, layer=name, driver="GPKG")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray | set | frozenset | tuple):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented UTF-8 JSON atomically (paths, numpy numbers, dates allowed)."""
    path = Path(path)
    text = json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False)
    with atomic_file(path) as part:
        part.write_text(text + "\n", encoding="utf-8")
    return path
