"""Hazard point layers (e.g. vacant city-owned lots) read from ``(lat, lon)`` text."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import WGS84, check_metric_crs
from ..errors import MissingColumnError
from ..sources import Source
from .cpd import CHICAGO_CRS, load_frame

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
    or longitude/latitude columns, or a spatial file of points.

    The City of Chicago land inventory (vacant city-owned lots) uses the first form
    (a config mapping ``location`` names another column).  Rows without a parseable
    point are dropped (logged).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_row`` plus ``keep_columns``, Point geometry in ``crs``.
    """
    frame, source = load_frame(path_or_df)
    if "location" in frame.columns and location_column not in frame.columns:
        location_column = "location"  # mapped in the config
    lower = {str(c).lower(): str(c) for c in frame.columns}
    if location_column in frame.columns:
        parts = frame[location_column].astype("string").str.extract(_LOCATION)
        lat = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
        lon = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=np.float64)
    elif {"latitude", "longitude"} <= lower.keys():
        lat = pd.to_numeric(frame[lower["latitude"]], errors="coerce").to_numpy(dtype=np.float64)
        lon = pd.to_numeric(frame[lower["longitude"]], errors="coerce").to_numpy(dtype=np.float64)
    else:
        raise MissingColumnError(
            [location_column, "or latitude/longitude"],
            found=frame.columns,
            source=source,
            hint="map the column holding '(lat, lon)' as location, or give latitude and "
            "longitude columns",
        )
    good = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if (~good).any():
        logger.info("%s: %d rows without (lat, lon) dropped", source, (~good).sum())
    target = check_metric_crs(crs, where="target CRS")
    table = frame.loc[good, list(keep_columns)].reset_index(drop=True)
    table.insert(0, "source_row", np.flatnonzero(good))
    points = gpd.GeoSeries(shapely.points(lon[good], lat[good]), crs=WGS84).to_crs(target)
    return gpd.GeoDataFrame(table, geometry=points.values, crs=target)
