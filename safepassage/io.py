"""Read the program's input tables and write its outputs atomically.

Readers take a file path, map the column names of the known variants (CPS school
locations and Safe Passage route files change their columns from year to year)
to one schema, check what they need and raise :class:`MissingColumnError` or
:class:`DataError` naming the file.  Geometries are projected once, to the plan's
metric CRS.  Writers never leave a half-written file or folder behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._atomic import atomic_file, atomic_output_dir
from ._schools import community_area_schools, read_routes, read_schools, select_schools
from ._tables import read_table, read_vendors, read_workers
from .errors import CRSError, DataError

__all__ = [
    "atomic_output_dir",
    "community_area_schools",
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


def _flat(table: pd.DataFrame) -> pd.DataFrame:
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
    frame = _flat(table)
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
            gpd.GeoDataFrame(_flat(layer)).to_file(part, layer=name, driver="GPKG")
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
