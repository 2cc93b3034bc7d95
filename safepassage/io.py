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
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from .atomic import atomic_file
from .config import SchoolSelection, TableInput
from .crs import WGS84, check_metric_crs, transformer
from .errors import CRSError, DataError, EmptyTableError, MissingColumnError
from .sources import (
    Source,
    check_rows,
    degrees_problem,
    explain_misplaced,
    is_csv,
    lines_text,
    not_degrees_message,
    rename_mapped,
    source_crs,
    table_input,
)

__all__ = [
    "community_area_schools",
    "flat_lists",
    "gdal_source",
    "load_table",
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

_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".geojson.gz", ".json.gz")
_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in (".csv.gz", ".geojson.gz", ".json.gz") if name.endswith(s)), "") or (
        path.suffix.lower()
    )


def gdal_source(path: Path) -> str:
    """The name GDAL opens ``path`` by: gzip files (``.gz``) through ``/vsigzip/``."""
    return f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)


def read_table(
    path: str | os.PathLike[str], *, dtype_str: bool = False, layer: str = ""
) -> pd.DataFrame:
    """Read a CSV, CSV.gz, GeoJSON(.gz), GeoPackage, Shapefile or GeoParquet file.

    Parameters
    ----------
    path
        The file; the format comes from its name.  ``.geojson.gz`` is read through
        GDAL's ``/vsigzip/``.
    dtype_str
        Read every CSV column as text (keeps leading zeros of ids).
    layer
        The layer of a GeoPackage (default: the first).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A GeoDataFrame (in the file's CRS) for spatial formats, else a DataFrame.

    Raises
    ------
    DataError
        If the file is missing, of an unknown format, or unreadable;
        :class:`EmptyTableError` when it is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = _suffix(path)
    try:
        if is_csv(path):
            return pd.read_csv(path, dtype=str if dtype_str else None, low_memory=False)
        if suffix in _PARQUET_SUFFIXES:
            frame: pd.DataFrame = gpd.read_parquet(path)
            return frame
        if suffix in _GEO_SUFFIXES:
            with warnings.catch_warnings():  # several layers and none named: the first
                warnings.filterwarnings("ignore", "More than one layer found", UserWarning)
                geo: pd.DataFrame = gpd.read_file(gdal_source(path), layer=layer or None)
            return geo
    except pd.errors.EmptyDataError:
        raise EmptyTableError(
            f"{path}: is empty (no header line, no rows); give a table with a header line "
            "and one row per record, or remove it from the config"
        ) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if layer and suffix in _GEO_SUFFIXES:
            raise DataError(f"{path}: {_layer_problem(path, layer, exc)}") from exc
        raise DataError(f"{path}: cannot read it as {suffix or 'a table'}: {exc}") from exc
    except Exception as exc:  # pyogrio/GDAL raise their own error types
        raise DataError(f"{path}: cannot read it: {exc}") from exc
    raise DataError(
        f"{path}: unknown table format {suffix!r}; use CSV (.csv, .csv.gz), GeoJSON "
        "(.geojson, .geojson.gz), GeoPackage (.gpkg) or GeoParquet (.parquet)"
    )


def _layer_problem(path: Path, layer: str, exc: Exception) -> str:
    try:
        import pyogrio

        names = [str(n) for n in pyogrio.list_layers(gdal_source(path))[:, 0]]
    except Exception:  # the file itself is unreadable
        return f"cannot read layer {layer!r}: {exc}"
    if layer not in names:
        return f"has no layer {layer!r}; its layers: {', '.join(names)}; set layer to one of them"
    return f"cannot read layer {layer!r}: {exc}"


def load_table(
    source: Source, *, dtype_str: bool = False, allow_empty: bool = False
) -> tuple[pd.DataFrame, TableInput]:
    """Read a table input: its file (layer), mapped columns renamed, the declared CRS set.

    Parameters
    ----------
    source
        A path or a :class:`~safepassage.config.TableInput` (``columns``: canonical
        name -> source column; ``crs``: overrides the CRS of a spatial file).
    dtype_str
        Read every CSV column as text.
    allow_empty
        Return a table without rows instead of raising.

    Raises
    ------
    EmptyTableError
        When the table has no rows (naming the file).
    MissingColumnError
        When a mapped source column is absent.
    """
    spec = table_input(source)
    table = read_table(spec.path, dtype_str=dtype_str, layer=spec.layer)
    table.columns = [str(c).strip() for c in table.columns]
    table = rename_mapped(table, spec)
    if spec.crs and isinstance(table, gpd.GeoDataFrame):
        table = table.set_crs(spec.crs, allow_override=True)
    if not allow_empty:
        check_rows(table, spec.path)
    return table, spec


def read_polygons(path: Source) -> gpd.GeoDataFrame:
    """Read a polygon layer in any format GDAL opens (GeoJSON(.gz), GeoPackage, a
    shapefile or a zipped one, GeoParquet), in its own CRS.

    Raises
    ------
    DataError
        If the file is missing or unreadable, has no rows, no geometry or no CRS.
    """
    spec = table_input(path)
    path = spec.path
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if is_csv(path):
        raise DataError(f"{path}: polygons need a spatial file (GeoJSON, GeoPackage, shapefile)")
    try:
        frame, _ = load_table(spec)
    except (EmptyTableError, MissingColumnError):
        raise
    except DataError as exc:
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
            hint = (
                "latitude and longitude look swapped"
                if inside(lat, lon)
                else ("check the CRS the file declares (or set crs for this table in the config)")
            )
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


def _read_csv_table(
    source: Source, required: Sequence[str], known: Iterable[str] = ()
) -> tuple[pd.DataFrame, Path]:
    """A staffing CSV: required columns present, the first never empty; a warning lists
    the columns no reader uses (``known`` and ``required`` are used)."""
    table, spec = load_table(source, dtype_str=True)
    path = spec.path
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=str(path))
    blank = table[list(required[:1])].isna().any(axis=1).to_numpy()
    if blank.any():
        rows = np.flatnonzero(blank).tolist()
        raise DataError(f"{path}: {lines_text(path, rows)}: column {required[0]!r} is empty")
    unused = [c for c in table.columns if c not in {*required, *known}]
    if unused:
        logger.warning(
            "%s: column(s) %s are not used (known columns: %s); rename them to a known "
            "column or map them in the config",
            path,
            ", ".join(map(repr, unused)),
            ", ".join([*required, *known]),
        )
    return table, path


def read_vendors(path: Source) -> pd.DataFrame:
    """Read the vendors table (CSV).

    Returns
    -------
    pandas.DataFrame
        ``vendor_id`` (str), ``name`` (str, ``""`` when absent), ``school_ids``
        (list of str, from a ``;``-separated cell), plus any other columns as text.
    """
    table, _ = _read_csv_table(path, ("vendor_id", "school_ids"), ("name", "contact", "phone"))
    table["vendor_id"] = _id_text(table["vendor_id"])
    table["name"] = table["name"].fillna("") if "name" in table else ""
    table["school_ids"] = [_split_list(v) or [] for v in table["school_ids"]]
    return table


def read_workers(path: Source) -> pd.DataFrame:
    """Read the workers table (CSV).

    Returns
    -------
    pandas.DataFrame
        ``worker_id``, ``vendor_id`` (str); when present ``weekdays`` and ``windows``
        (lists of str from ``;``-separated cells; None for an empty cell, meaning
        "the default": every weekday, both windows) and ``max_minutes_day``,
        ``max_days_week`` (numbers; NaN for an empty cell); other columns as text.
    """
    known = ("weekdays", "windows", "max_minutes_day", "max_days_week", "name", "phone", "cleared")
    table, path = _read_csv_table(path, ("worker_id", "vendor_id"), known)
    for column in ("worker_id", "vendor_id"):
        table[column] = _id_text(table[column])
    for column in ("weekdays", "windows"):
        if column in table:
            table[column] = pd.Series([_split_list(v) for v in table[column]], dtype=object)
    for column in ("max_minutes_day", "max_days_week"):
        if column in table:
            numbers = pd.to_numeric(table[column], errors="coerce")
            bad = (table[column].notna() & numbers.isna()).to_numpy()
            if bad.any():
                where = lines_text(path, np.flatnonzero(bad).tolist())
                raise DataError(
                    f"{path}: {where}, column {column!r}: not a number; write whole numbers"
                )
            table[column] = numbers
    return table


# ----------------------------------------------------------------------------- schools


_ELEMENTARY = {"PK", "K", *(str(g) for g in range(1, 9))}
_HIGH = {str(g) for g in range(9, 13)}


_SCHOOL_COLUMNS = {
    "school_id": ("school_id", "schoolid", "unit_id", "id"),
    "name": ("short_name", "school_nm", "school_nam", "name", "long_name"),
}
_SCHOOL_OPTIONAL = {
    "grades": ("grades", "grades_offered"),
    "grade_cat": ("grade_cat",),
    "community_area": ("commarea", "community_area", "community"),
}
_LON = ("long", "lon", "longitude", "x")
_LAT = ("lat", "latitude", "y")
_X = ("x", "x_coordinate", "easting")
_Y = ("y", "y_coordinate", "northing")
_GRADE_BANDS = ("elementary", "high", "both")


def _grade_band(grades: str, grade_cat: str, default: str = "elementary") -> str:
    tokens = {t.strip().upper() for t in grades.replace(";", ",").split(",") if t.strip()}
    elementary, high = bool(tokens & _ELEMENTARY), bool(tokens & _HIGH)
    if elementary and high:
        return "both"
    if elementary or high:
        return "high" if high else "elementary"
    category = grade_cat.strip().upper()
    if category == "HS":
        return "high"
    return "elementary" if category in ("ES", "MS") else default


def _roles(spec: TableInput, roles: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """Candidate columns per role; a role mapped in the config is read from its own name."""
    return {role: (role,) if role in spec.columns else names for role, names in roles.items()}


def _numbers(table: pd.DataFrame, column: str) -> NDArray[np.float64]:
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)


def _school_points(table: pd.DataFrame, spec: TableInput, crs: Any) -> gpd.GeoDataFrame:
    """Points of a spatial file, or of a CSV's lon/lat (x/y in ``spec.crs`` when declared)."""
    source = spec.path
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.notna().all():
        if not table.geom_type.isin(["Point"]).all():
            with np.errstate(all="ignore"):  # huge coordinates overflow; checked below
                table = table.set_geometry(table.geometry.representative_point())
        points = table.geometry.values
        bad = ~(np.isfinite(shapely.get_x(points)) & np.isfinite(shapely.get_y(points)))
        if bad.any():
            raise DataError(
                f"{source}: {lines_text(source, np.flatnonzero(bad).tolist())}: no usable "
                "point (empty, or coordinates that are not finite); give every school a point"
            )
        return table
    declared = source_crs(spec)
    projected = declared is not None and not declared.is_geographic
    names = {"lon": _X, "lat": _Y} if projected else {"lon": _LON, "lat": _LAT}
    hint = (
        "give a geometry, longitude/latitude columns, or x/y columns with the table's crs "
        "(map yours with columns = { longitude = ..., latitude = ... })"
    )
    cols = _require(table, _roles(spec, names), source, hint)
    a, b = _numbers(table, cols["lon"]), _numbers(table, cols["lat"])
    bad = ~(np.isfinite(a) & np.isfinite(b))
    if bad.any():
        rows = np.flatnonzero(bad).tolist()
        raise DataError(
            f"{source}: {lines_text(source, rows)}, columns {cols['lon']!r}/{cols['lat']!r}: "
            "no usable coordinates (empty or not a number); give every school a point"
        )
    crs_in = declared if declared is not None else WGS84
    if not projected:
        wrong = degrees_problem(a, b)
        if wrong.any():
            rows = np.flatnonzero(wrong).tolist()
            first = rows[0]
            if (np.abs(a) <= 90).all() and (np.abs(b) <= 180).all():
                raise CRSError(
                    f"{source}: {lines_text(source, rows)}, columns {cols['lon']!r}/"
                    f"{cols['lat']!r}: latitude and longitude look swapped; swap the columns "
                    f'(columns = {{ longitude = "{cols["lat"]}", latitude = "{cols["lon"]}" }})'
                )
            raise CRSError(
                not_degrees_message(source, (cols["lon"], cols["lat"]), rows, (a[first], b[first]))
            )
    target = check_metric_crs(crs, where=f"the plan CRS for {source.name}")
    area = target.area_of_use
    if area is not None:
        bounds = transformer(WGS84, target).transform_bounds(
            area.west, area.south, area.east, area.north
        )
        tx, ty = transformer(crs_in, target).transform(a, b)
        inside = (tx >= bounds[0]) & (tx <= bounds[2]) & (ty >= bounds[1]) & (ty <= bounds[3])
        if not np.mean(inside) > 0.5:
            reason = explain_misplaced(a, b, crs_in, bounds, target)
            if reason is not None:
                where = lines_text(source, np.flatnonzero(~inside).tolist())
                raise CRSError(
                    f"{source}: {where}, columns {cols['lon']!r}/{cols['lat']!r} do not lie "
                    f"in {target.name} read as {crs_in.name}: {reason} (set the columns or "
                    "crs of this table in the config)"
                )
    points = gpd.points_from_xy(a, b, crs=crs_in)
    return gpd.GeoDataFrame(table.drop(columns="geometry", errors="ignore"), geometry=points)


def read_schools(
    path: Source,
    *,
    profiles: Source | None = None,
    crs: Any,
    default_grade_band: str = "elementary",
) -> gpd.GeoDataFrame:
    """Read school points (any city; CPS SY1314-SY1617 variants as they are) with profiles.

    Parameters
    ----------
    path
        School locations: a file or a :class:`~safepassage.config.TableInput`.  Only
        an id and a point are needed (a geometry, lon/lat columns, or x/y columns with
        the table's ``crs``); the CPS schemas are recognised: the SY1617 GeoJSON
        (``school_id``, ``short_name``, ``grades``, ``grade_cat``) or a CSV with
        ``SCHOOL_ID``/``SCHOOL_NM``/``X``/``Y`` (lon/lat, SY1314-SY1415) or
        ``School_ID``/``Short_Name``/``Lat``/``Long`` (SY1516).
    profiles
        Optional CPS school profile CSV (``School_ID``, ``Student_Count_Total``,
        ``School_Hours``).
    crs
        The plan's metric CRS (e.g. EPSG:26916).
    default_grade_band
        Grade band of the schools the file gives no grades for.

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id`` (str), ``name`` (the id when the file has none), ``grades``,
        ``grade_band`` (``"elementary"``, ``"high"`` or ``"both"``), ``enrollment``
        (students, float, NaN when unknown: from the profiles, else an
        ``enrollment`` column of the schools), ``school_hours`` (raw text, ``""`` when
        unknown), ``community_area`` (upper case, ``""`` when the file has none),
        geometry (points in ``crs``).
    """
    if default_grade_band not in _GRADE_BANDS:
        raise DataError(f"default grade band must be one of {_GRADE_BANDS}")
    table, spec = load_table(path, dtype_str=True)
    path = spec.path
    roles = _roles(spec, {**_SCHOOL_COLUMNS, **_SCHOOL_OPTIONAL, "enrollment": ("enrollment",)})
    cols = _require(table, {"school_id": roles["school_id"]}, path)
    points = _school_points(table, spec, crs)
    ids = _id_text(points[cols["school_id"]])
    blank = (ids == "").to_numpy()
    if blank.any():
        raise DataError(
            f"{path}: {lines_text(path, np.flatnonzero(blank).tolist())}, column "
            f"{cols['school_id']!r}: no school id; give every school an id"
        )
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise DataError(
            f"{path}: {lines_text(path, np.flatnonzero(duplicated).tolist())}, column "
            f"{cols['school_id']!r}: school ids {sorted(set(ids[duplicated]))[:10]} appear more "
            "than once; keep one row per school"
        )
    optional = {role: _pick(points, roles[role]) for role in (*_SCHOOL_OPTIONAL, "enrollment")}
    name_col = _pick(points, roles["name"])

    def text(role: str) -> pd.Series:
        column = optional[role]
        values = points[column].fillna("") if column else pd.Series("", index=points.index)
        return values.astype(str).astype(object)

    names = points[name_col].fillna("").astype(str) if name_col else pd.Series("", index=ids.index)
    schools = gpd.GeoDataFrame(
        {
            "school_id": ids.to_numpy(),
            "name": names.where(names.str.strip() != "", ids).to_numpy(dtype=object),
            "grades": text("grades").to_numpy(),
            "grade_band": [
                _grade_band(g, c, default_grade_band)
                for g, c in zip(text("grades"), text("grade_cat"), strict=True)
            ],
            "community_area": text("community_area").str.upper().to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    if optional["enrollment"] is not None and profiles is None:
        values = pd.to_numeric(points[optional["enrollment"]], errors="coerce")
        bad = (points[optional["enrollment"]].notna() & (values.isna() | (values < 0))).to_numpy()
        if bad.any():
            raise DataError(
                f"{path}: {lines_text(path, np.flatnonzero(bad).tolist())}, column "
                f"{optional['enrollment']!r}: not a count of students; write whole numbers >= 0"
            )
        schools["enrollment"] = values.to_numpy(dtype=np.float64)
        schools["school_hours"] = ""
    else:
        schools = _add_profiles(schools, profiles)
    columns = ["school_id", "name", "grades", "grade_band", "enrollment", "school_hours"]
    return _project(schools[[*columns, "community_area", "geometry"]], crs, path)


def _add_profiles(schools: gpd.GeoDataFrame, profiles: Source | None) -> gpd.GeoDataFrame:
    schools = schools.assign(enrollment=np.nan, school_hours="")
    if profiles is None:
        return schools
    table, spec = load_table(profiles, dtype_str=True)
    path = spec.path
    roles = _roles(
        spec,
        {
            "school_id": ("school_id",),
            "enrollment": ("student_count_total", "enrollment"),
            "school_hours": ("school_hours",),
        },
    )
    cols = _require(
        table, {"school_id": roles["school_id"], "enrollment": roles["enrollment"]}, path
    )
    hours = _pick(table, roles["school_hours"])
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
        logger.info("%d school(s) have no enrollment in %s", unmatched, path.name)
    return schools


def named_areas(areas: Source | gpd.GeoDataFrame, names: Iterable[str]) -> gpd.GeoDataFrame:
    """The named community areas (any case): ``area`` (upper case), geometry (own CRS).

    Raises
    ------
    DataError
        Naming the file and the names it does not hold.
    """
    areas_path = (
        Path("community areas") if isinstance(areas, gpd.GeoDataFrame) else table_input(areas).path
    )
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


def read_routes(path: Source, *, crs: Any) -> gpd.GeoDataFrame:
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
    table, spec = load_table(path, dtype_str=True)
    path = spec.path
    if not isinstance(table, gpd.GeoDataFrame):
        raise DataError(f"{path}: route files need geometry (GeoJSON, GeoPackage, ...)")
    cols = _require(table, _roles(spec, _ROUTE_COLUMNS), path)
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
    optional = {role: _pick(table, names) for role, names in _roles(spec, _ROUTE_OPTIONAL).items()}
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
