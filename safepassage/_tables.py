"""Generic table reading behind :mod:`safepassage.io`, and the vendor and worker tables.

:func:`read_table` reads any supported format; the helpers map column-name
variants to roles, clean identifiers and project to the plan CRS, raising
errors that name the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .crs import check_metric_crs
from .errors import CRSError, DataError, MissingColumnError

__all__ = ["gdal_source", "read_table", "read_vendors", "read_workers"]


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
