"""Hazard point layers (e.g. vacant city-owned lots) read from ``(lat, lon)`` text."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from ..crs import WGS84, check_metric_crs
from ..errors import MissingColumnError
from ..sources import Source, table_input
from .cpd import CHICAGO_CRS, load_frame, locate_points, resolve_columns

__all__ = ["read_hazard_points"]

logger = logging.getLogger("safepassage.risk.incidents")  # the public module's name, as before


_LOCATION = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")


def read_hazard_points(
    path_or_df: Source | pd.DataFrame,
    *,
    location_column: str = "Location",
    crs: Any = CHICAGO_CRS,
    keep_columns: Collection[str] = (),
) -> gpd.GeoDataFrame:
    """Read a hazard point layer: a location column holding ``"address\\n(lat, lon)"``,
    or coordinate columns read like incidents' (longitude/latitude, or x/y in the
    table's ``crs`` of the config mapping), or a spatial file of points.

    The City of Chicago land inventory (vacant city-owned lots) uses the first form
    (a config mapping ``location`` names another column).  Rows without a parseable
    point are dropped (logged).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_row`` plus ``keep_columns``, Point geometry in ``crs``.
    """
    frame, source = load_frame(path_or_df)
    target = check_metric_crs(crs, where="target CRS")
    if "location" in frame.columns and location_column not in frame.columns:
        location_column = "location"  # mapped in the config
    if location_column in frame.columns:
        parts = frame[location_column].astype("string").str.extract(_LOCATION)
        lat = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
        lon = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=np.float64)
        good = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        points = gpd.GeoSeries(shapely.points(lon[good], lat[good]), crs=WGS84).to_crs(target)
    else:
        x, y, good = _coordinate_columns(frame, path_or_df, source, location_column, target)
        points = gpd.GeoSeries(shapely.points(x[good], y[good]), crs=target)
    if (~good).any():
        logger.info("%s: %d rows without a point dropped", source, (~good).sum())
    table = frame.loc[good, list(keep_columns)].reset_index(drop=True)
    table.insert(0, "source_row", np.flatnonzero(good))
    return gpd.GeoDataFrame(table, geometry=points.values, crs=target)


def _coordinate_columns(
    frame: pd.DataFrame,
    given: Source | pd.DataFrame,
    source: str,
    location_column: str,
    target: pyproj.CRS,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Projected x, y and the rows with a usable point, read as incidents' coordinates
    are (:func:`~safepassage.risk.cpd.locate_points`: the table's declared CRS,
    swapped or projected latitude/longitude explained)."""
    try:
        cols = resolve_columns(frame, None, source)
    except MissingColumnError:
        raise MissingColumnError(
            [location_column, "or latitude/longitude (or x/y with the table's crs)"],
            found=frame.columns,
            source=source,
            hint="map the column holding '(lat, lon)' as location, or give latitude and "
            "longitude columns (or x and y with crs)",
        ) from None
    spec = None if isinstance(given, pd.DataFrame) else table_input(given)
    declared = spec.crs if spec is not None and spec.crs else None
    x, y, missing, zero, swapped, not_degrees = locate_points(frame, cols, source, declared, target)
    return x, y, ~(missing | zero | swapped | not_degrees) & np.isfinite(x) & np.isfinite(y)
