"""School locations and profiles, school selection and Safe Passage routes.

The readers behind :func:`safepassage.io.read_schools` and
:func:`safepassage.io.read_routes`: they map the column variants of each
school year to one schema and project to the plan CRS.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._tables import _id_text, _pick, _project, _require, read_table
from .config import SchoolSelection
from .errors import CRSError, DataError

__all__ = ["community_area_schools", "read_routes", "read_schools", "select_schools"]

logger = logging.getLogger("safepassage.io")  # the public module's name, as before the split


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


def community_area_schools(
    schools: gpd.GeoDataFrame, areas_path: str | os.PathLike[str], names: Iterable[str]
) -> gpd.GeoDataFrame:
    """Schools lying inside the named community areas (by polygon, not by the school file).

    Parameters
    ----------
    schools
        From :func:`read_schools` (metric CRS).
    areas_path
        Community area polygons with a ``community`` name column.
    names
        Community area names, any case (``"West Englewood"``).

    Returns
    -------
    geopandas.GeoDataFrame
        The matching rows of ``schools``, ``community_area`` set from the polygon.
    """
    areas_path = Path(areas_path)
    areas = read_table(areas_path)
    if not isinstance(areas, gpd.GeoDataFrame):
        raise DataError(f"{areas_path}: community areas must be polygons, not a plain table")
    name_col = _require(areas, {"name": ("community", "community_area", "name")}, areas_path)
    known = areas[name_col["name"]].astype(str).str.upper().str.strip()
    wanted = [n.upper().strip() for n in names]
    unknown = [n for n in wanted if n not in set(known)]
    if unknown:
        raise DataError(
            f"{areas_path}: no community area named {unknown}; names are e.g. {sorted(known)[:8]}"
        )
    chosen = areas.loc[known.isin(wanted).to_numpy()].to_crs(schools.crs)
    chosen = gpd.GeoDataFrame(
        {"area": known[known.isin(wanted)].to_numpy()},
        geometry=chosen.geometry.to_numpy(),
        crs=schools.crs,
    )
    joined = gpd.sjoin(schools, chosen, how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()]
    result = schools.loc[joined.index].copy()
    result["community_area"] = joined["area"].to_numpy()
    return result


def select_schools(
    schools: gpd.GeoDataFrame,
    selection: SchoolSelection,
    *,
    areas_path: str | os.PathLike[str] | None = None,
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
        If an id is not in ``schools``, areas are asked for without ``areas_path``,
        or the route filter is asked for without ``routes``.
    """
    unknown = sorted(set(selection.ids) - set(schools["school_id"]))
    if unknown:
        raise DataError(f"schools.ids: {unknown} are not in the school locations file")
    if selection.ids:
        schools = schools[schools["school_id"].isin(selection.ids)]
    if selection.community_areas:
        if areas_path is None:
            raise DataError("schools.community_areas needs data.community_areas (polygons)")
        schools = community_area_schools(schools, areas_path, selection.community_areas)
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
