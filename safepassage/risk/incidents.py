"""Read and normalise police incident tables; school days, time windows, weights.

Safe Passage answers violence on the walk to and from school, so risk follows
violent incidents during arrival and dismissal hours on school days.  This
module turns an incident table (the Chicago Police "Crimes" export works out of
the box; other schemas through a column mapping) into an :class:`Incidents`
table in the plan's metric CRS, and offers the filters the risk surface uses:
:func:`filter_school_days`, :func:`in_window` and :func:`recency_weights`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from ..crs import check_metric_crs
from ..errors import DataError
from ..routes.network import WalkNetwork
from .cpd import (
    AREA_MARGIN_M,
    CATEGORIES,
    CHICAGO_CRS,
    CPD_XY_CRS,
    DEFAULT_CATEGORY_WEIGHTS,
    categorise,
    load_frame,
    locate_points,
    outside_network,
    parse_dates,
    problem_table,
    raise_strict,
    resolve_columns,
)

__all__ = [
    "Incidents",
    "filter_school_days",
    "in_period",
    "in_window",
    "period_years",
    "read_incidents",
    "recency_weights",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Incidents:
    """Normalised incidents in a metric CRS.

    Attributes
    ----------
    table
        GeoDataFrame, one row per usable incident: ``incident_id`` (str),
        ``occurred_at`` (tz-aware datetime in ``tz``; NaT when the source only
        gives the year), ``year`` (int), ``category`` (one of
        :data:`CATEGORIES`), ``weight`` (category weight, unitless),
        ``source_row`` (0-based data row of the source table), geometry (Point).
    problems
        One row per problem kind found while reading: ``problem``, ``count``,
        ``rows`` (list of 0-based source rows), ``action`` ("dropped" or
        "kept as 'other'").  Empty when the input was clean.
    crs, tz, source
        The metric CRS, the time zone and where the table came from.
    """

    table: gpd.GeoDataFrame
    problems: pd.DataFrame
    crs: pyproj.CRS
    tz: str = "America/Chicago"
    source: str = "table"
    category_weights: Mapping[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.table)

    def subset(self, mask: Any) -> Incidents:
        """The incidents where ``mask`` (bool per row) is True; problems are kept."""
        table = self.table[np.asarray(mask, dtype=bool)].reset_index(drop=True)
        return Incidents(
            table, self.problems, self.crs, self.tz, self.source, self.category_weights
        )

    @property
    def problem_count(self) -> int:
        """Total number of problem rows (dropped or kept)."""
        return int(self.problems["count"].sum()) if len(self.problems) else 0

    @property
    def xy(self) -> NDArray[np.float64]:
        """(n, 2) array of x, y in metres."""
        geoms = self.table.geometry.values
        return np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)])


def read_incidents(
    path_or_df: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    crs: Any = CHICAGO_CRS,
    source_crs: Any = CPD_XY_CRS,
    tz: str = "America/Chicago",
    category_weights: Mapping[str, float] | None = None,
    strict: bool = False,
    network: WalkNetwork | None = None,
) -> Incidents:
    """Read an incident table and normalise it.

    Parameters
    ----------
    path_or_df
        A CSV file (``.gz`` too) or a DataFrame.  The Chicago Police "Crimes"
        schema (``ID``, ``Date`` as ``MM/DD/YYYY hh:mm:ss AM``, ``Primary Type``,
        ``Description``, ``Latitude``/``Longitude`` or ``X Coordinate``/``Y
        Coordinate``) and its lower-case API variant are recognised.
    columns
        Canonical field -> source column, for other schemas.  Fields:
        ``incident_id``, ``occurred_at``, ``year`` (used when there is no
        date), ``category``, ``description``, ``latitude``, ``longitude``, ``x``, ``y``.
    crs
        Target metric CRS (EPSG:26916 for Chicago); the network's CRS when
        ``network`` is given.
    source_crs
        CRS of ``x``/``y`` columns (default EPSG:3435, US feet); lat/lon
        columns are always EPSG:4326 and win when both are present.
    tz
        Time zone the source times are in (and ``occurred_at`` is returned in).
    category_weights
        Weight per category; missing categories take the defaults of
        :data:`DEFAULT_CATEGORY_WEIGHTS`.
    strict
        Raise :class:`DataError` naming the rows instead of dropping them.
    network
        When given, incidents farther than ``AREA_MARGIN_M`` (500 m) from
        every network node are dropped as ``outside_network``.

    Returns
    -------
    Incidents
        The table and a ``problems`` summary (missing, zero or swapped
        coordinates, outside the network, unparseable dates: dropped;
        unknown categories: kept as ``other``).

    Raises
    ------
    MissingColumnError
        When a date, a category or coordinates are missing (lists the columns found).
    CRSError
        When most coordinates look like swapped latitude and longitude.
    """
    frame, source = load_frame(path_or_df)
    target = check_metric_crs(network.crs if network is not None else crs, where="target CRS")
    cols = resolve_columns(frame, columns, source)
    weights = {**DEFAULT_CATEGORY_WEIGHTS, **(category_weights or {})}
    bad_weights = sorted(k for k in weights if k not in CATEGORIES)
    if bad_weights:
        raise DataError(f"category_weights has unknown categories {bad_weights}; use {CATEGORIES}")

    x, y, missing, zero, swapped = locate_points(frame, cols, source, source_crs, target)
    outside = outside_network(network, x, y, ~missing & ~zero & ~swapped, AREA_MARGIN_M)
    occurred, year, bad_date = parse_dates(frame, cols, tz)
    description = frame[cols["description"]] if "description" in cols else None
    category, unknown = categorise(frame[cols["category"]], description)

    problems = problem_table(
        {
            "missing_coordinates": missing,
            "zero_coordinates": zero,
            "swapped_coordinates": swapped,
            "outside_network": outside,
            "bad_date": bad_date & ~missing & ~zero & ~swapped & ~outside,
            "unknown_category": unknown,
        }
    )
    if strict and len(problems):
        raise_strict(problems, source)
    keep = ~(missing | zero | swapped | outside | bad_date)
    ids = (
        frame[cols["incident_id"]].astype(str)
        if "incident_id" in cols
        else pd.Series(np.arange(len(frame)).astype(str))
    )
    table = pd.DataFrame(
        {
            "incident_id": ids.to_numpy()[keep],
            "occurred_at": occurred[keep].reset_index(drop=True),
            "year": year[keep],
            "category": category[keep],
            "weight": np.array([weights[c] for c in category[keep]], dtype=np.float64),
            "source_row": np.flatnonzero(keep),
        }
    )
    table["incident_id"] = table["incident_id"].astype(str)
    geometry = shapely.points(x[keep], y[keep])
    gdf = gpd.GeoDataFrame(table, geometry=geometry, crs=target)
    logger.info("%s: %d incidents kept, %d problem rows", source, len(gdf), (~keep).sum())
    return Incidents(gdf, problems, target, tz, source, weights)


def filter_school_days(
    incidents: Incidents, non_school_dates: Iterable[date | str] = ()
) -> Incidents:
    """Keep incidents on school days: weekdays that are not in ``non_school_dates``.

    Incidents without a date (year only) are dropped, since their day is unknown.

    Parameters
    ----------
    incidents
        As returned by :func:`read_incidents`.
    non_school_dates
        Holidays, breaks and summer days (``datetime.date`` or ``YYYY-MM-DD``).
    """
    occurred = incidents.table["occurred_at"]
    local_day = occurred.dt.tz_convert(incidents.tz).dt.date
    closed = {pd.Timestamp(d).date() for d in non_school_dates}
    weekday = occurred.dt.tz_convert(incidents.tz).dt.day_of_week < 5
    keep = occurred.notna() & weekday & ~local_day.isin(closed)
    return incidents.subset(keep.to_numpy(dtype=bool))


def in_period(incidents: Incidents, first: date | str, last: date | str) -> Incidents:
    """The incidents from day ``first`` to day ``last`` (local days, inclusive).

    Rows dated by year only are kept when their year overlaps the period.
    """
    start, end = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    table = incidents.table
    local_day = table["occurred_at"].dt.tz_convert(incidents.tz).dt.date
    dated = table["occurred_at"].notna()
    by_day = dated & (local_day >= start) & (local_day <= end)
    by_year = ~dated & table["year"].between(start.year, end.year)
    return incidents.subset((by_day | by_year).to_numpy(dtype=bool))


def period_years(first: date | str, last: date | str) -> float:
    """The length of the period from ``first`` to ``last`` (inclusive), in years."""
    return float(((pd.Timestamp(last) - pd.Timestamp(first)).days + 1) / 365.25)


def _parse_time(value: str, name: str) -> time:
    try:
        hours, minutes = (int(p) for p in str(value).split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise DataError(
            f"window {name!r} has time {value!r}; write times as HH:MM, e.g. '06:30'"
        ) from exc


def in_window(incidents: Incidents, windows: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """Which time windows each incident falls in (local time of day, start inclusive).

    Parameters
    ----------
    incidents
        As returned by :func:`read_incidents`.
    windows
        Window name -> (start, end) as ``HH:MM``, e.g. ``{"am": ("06:30", "09:00"),
        "pm": ("14:00", "17:30")}``.  Windows may overlap (per-school windows).

    Returns
    -------
    pandas.DataFrame
        One bool column per window, one row per incident (False where the
        time is unknown).
    """
    local = incidents.table["occurred_at"].dt.tz_convert(incidents.tz)
    minutes = (local.dt.hour * 60 + local.dt.minute).to_numpy(dtype=np.float64, na_value=np.nan)
    masks: dict[str, NDArray[np.bool_]] = {}
    for name, (start, end) in windows.items():
        t0, t1 = _parse_time(start, name), _parse_time(end, name)
        lo, hi = t0.hour * 60 + t0.minute, t1.hour * 60 + t1.minute
        if lo < hi:
            masks[name] = (minutes >= lo) & (minutes < hi)
        else:  # wraps past midnight
            masks[name] = (minutes >= lo) | (minutes < hi)
    return pd.DataFrame(masks, index=incidents.table.index)


def recency_weights(
    incidents: Incidents, reference_date: date | str | pd.Timestamp, half_life_days: float
) -> NDArray[np.float64]:
    """Exponential decay factor ``0.5 ** (age_days / half_life_days)`` per incident.

    The age is measured from ``reference_date`` (incidents after it get 1);
    year-only incidents are dated 1 July of their year.

    Returns
    -------
    numpy.ndarray
        One factor in (0, 1] per incident.
    """
    if half_life_days <= 0:
        raise DataError(f"half_life_days must be positive, got {half_life_days}")
    ref = pd.Timestamp(reference_date)
    ref = ref.tz_localize(incidents.tz) if ref.tzinfo is None else ref.tz_convert(incidents.tz)
    occurred = incidents.table["occurred_at"]
    mid_year = pd.to_datetime(
        incidents.table["year"].astype(str) + "-07-01", format="%Y-%m-%d", errors="coerce"
    ).dt.tz_localize(incidents.tz)
    when = occurred.where(occurred.notna(), mid_year)
    age = ((ref - when).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64, na_value=0.0)
    return np.asarray(0.5 ** (np.maximum(age, 0.0) / half_life_days), dtype=np.float64)
