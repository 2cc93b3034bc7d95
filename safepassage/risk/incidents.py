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
from ..sources import Source, table_input
from .cpd import (
    AREA_MARGIN_M,
    CATEGORIES,
    CHICAGO_CRS,
    DEFAULT_CATEGORY_WEIGHTS,
    PROBLEM_ACTIONS,
    PROBLEM_WORDS,
    UNDATED_YEAR,
    categorise,
    check_placed,
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
    "read_summary",
    "recency_weights",
    "undated",
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
        gives the year, or no date at all), ``year`` (int; :data:`UNDATED_YEAR`, 0,
        for undated incidents, which count in every window), ``category`` (one of
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


def read_incidents(  # noqa: PLR0913 - the reader's options, each documented
    path_or_df: Source | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    crs: Any = CHICAGO_CRS,
    source_crs: Any = None,
    tz: str = "America/Chicago",
    category_weights: Mapping[str, float] | None = None,
    strict: bool = False,
    network: WalkNetwork | None = None,
    default_category: str = "uncategorised",
) -> Incidents:
    """Read an incident table and normalise it.

    Parameters
    ----------
    path_or_df
        A CSV file (``.gz`` too), a spatial file of points, a
        :class:`~safepassage.config.TableInput` (its column mapping and CRS) or a
        DataFrame.  The Chicago Police "Crimes" schema (``ID``, ``Date`` as
        ``MM/DD/YYYY hh:mm:ss AM``, ``Primary Type``, ``Description``,
        ``Latitude``/``Longitude`` or ``X Coordinate``/``Y Coordinate``) and its
        lower-case API variant are recognised.  Only coordinates are needed.
    columns
        Canonical field -> source column, for other schemas.  Fields:
        ``incident_id``, ``occurred_at``, ``year`` (used when there is no
        date), ``category``, ``description``, ``latitude``, ``longitude``, ``x``, ``y``.
    crs
        Target metric CRS (EPSG:26916 for Chicago); the network's CRS when
        ``network`` is given.
    source_crs
        CRS of the coordinates: with a projected CRS the ``x``/``y`` columns are read
        (they win over latitude/longitude); default: latitude/longitude in degrees
        when present, else ``x``/``y`` in EPSG:3435 (US feet, the Chicago police's).
        A TableInput's ``crs`` is used when this is None.
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
    default_category
        Category of every incident of a table without a category column (one
        warning says so); ``uncategorised`` weighs 1.

    Returns
    -------
    Incidents
        The table and a ``problems`` summary (missing, zero, swapped or non-degree
        coordinates, outside the network, unparseable dates: dropped; unknown
        categories: kept as ``other``).  A table without dates gives undated
        incidents (``occurred_at`` NaT, ``year`` :data:`UNDATED_YEAR`) that count in
        every time window (one warning says so).

    Raises
    ------
    EmptyTableError
        When the table has no rows.
    MissingColumnError
        When coordinates are missing (lists the columns found).
    CRSError
        When most coordinates look like swapped latitude and longitude, are not
        degrees in latitude/longitude columns, or lie off the network in a way
        another reading of the numbers (units, axis order) explains.
    """
    frame, source = load_frame(path_or_df)
    spec = None if isinstance(path_or_df, pd.DataFrame) else table_input(path_or_df)
    if source_crs is None and spec is not None and spec.crs:
        source_crs = spec.crs
    if spec is not None and spec.columns:  # the config's mapping wins over recognised names
        columns = {**{c: c for c in spec.columns}, **(columns or {})}
    target = check_metric_crs(network.crs if network is not None else crs, where="target CRS")
    cols = resolve_columns(frame, columns, source)
    weights = {**DEFAULT_CATEGORY_WEIGHTS, **(category_weights or {})}
    bad_weights = sorted(k for k in weights if k not in CATEGORIES)
    if bad_weights:
        raise DataError(
            f"{source}: category_weights has unknown categories {bad_weights}; use {CATEGORIES}"
        )
    if default_category not in CATEGORIES:
        raise DataError(
            f"{source}: default category {default_category!r} is not one of {CATEGORIES}"
        )

    x, y, missing, zero, swapped, not_degrees = locate_points(
        frame, cols, source, source_crs, target
    )
    placed = ~missing & ~zero & ~swapped & ~not_degrees
    outside = outside_network(network, x, y, placed, AREA_MARGIN_M)
    if network is not None:
        check_placed(frame, cols, source, source_crs, network, placed, outside)
    occurred, year, bad_date = parse_dates(frame, cols, tz)
    description = frame[cols["description"]] if "description" in cols else None
    primary = frame[cols["category"]] if "category" in cols else None
    category, unknown = categorise(primary, description, default_category, size=len(frame))
    _warn_defaults(source, cols, default_category, weights[default_category])

    problems = problem_table(
        {
            "missing_coordinates": missing,
            "not_degrees": not_degrees,
            "zero_coordinates": zero,
            "swapped_coordinates": swapped,
            "outside_network": outside,
            "bad_date": bad_date & placed & ~outside,
            "unknown_category": unknown,
        }
    )
    if strict and len(problems):
        raise_strict(problems, source)
    keep = placed & ~outside & ~bad_date
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
    logger.info("%s: %s", source, read_summary(len(gdf), problems))
    return Incidents(gdf, problems, target, tz, source, weights)


def read_summary(used: int, problems: pd.DataFrame) -> str:
    """What became of the rows, in plain words: ``12,587 outside the planned area;
    287 without coordinates; 1,527 used``."""
    dropped = sorted(
        (
            (int(count), kind)
            for kind, count in zip(
                problems.get("problem", []), problems.get("count", []), strict=True
            )
            if PROBLEM_ACTIONS.get(kind) == "dropped"
        ),
        key=lambda item: -item[0],
    )
    parts = [f"{count:,} {PROBLEM_WORDS.get(kind, kind)}" for count, kind in dropped]
    kept = [
        f"{int(count):,} {PROBLEM_WORDS.get(kind, kind)}"
        for kind, count in zip(problems.get("problem", []), problems.get("count", []), strict=True)
        if PROBLEM_ACTIONS.get(kind) != "dropped"
    ]
    parts.append(f"{used:,} used" + (f" ({', '.join(kept)})" if kept else ""))
    return "; ".join(parts)


def _warn_defaults(source: str, cols: Mapping[str, str], category: str, weight: float) -> None:
    """One warning per default the table relies on (no dates, no categories)."""
    if "occurred_at" not in cols and "year" not in cols:
        logger.warning(
            "%s: no date column: the incidents are undated and count in every time window "
            "(map a date column as occurred_at to count them by window)",
            source,
        )
    if "category" not in cols:
        logger.warning(
            "%s: no category column: every incident is %r and weighs %g ([risk] "
            "default_category; map a category column to weigh them by kind)",
            source,
            category,
            weight,
        )


def filter_school_days(
    incidents: Incidents, non_school_dates: Iterable[date | str] = ()
) -> Incidents:
    """Keep incidents on school days: weekdays that are not in ``non_school_dates``.

    Incidents with only a year are dropped, since their day is unknown; undated
    incidents (a table without dates) are kept: they count on every day.

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
    keep = (occurred.notna() & weekday & ~local_day.isin(closed)) | undated(incidents)
    return incidents.subset(keep.to_numpy(dtype=bool))


def in_period(incidents: Incidents, first: date | str, last: date | str) -> Incidents:
    """The incidents from day ``first`` to day ``last`` (local days, inclusive).

    Rows dated by year only are kept when their year overlaps the period; undated
    rows are always kept.
    """
    start, end = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    table = incidents.table
    local_day = table["occurred_at"].dt.tz_convert(incidents.tz).dt.date
    dated = table["occurred_at"].notna()
    by_day = dated & (local_day >= start) & (local_day <= end)
    by_year = ~dated & table["year"].between(start.year, end.year)
    return incidents.subset((by_day | by_year | undated(incidents)).to_numpy(dtype=bool))


def undated(incidents: Incidents) -> pd.Series:
    """Incidents from a table without dates (they count in every period and window)."""
    table = incidents.table
    mask: pd.Series = table["occurred_at"].isna() & (table["year"] == UNDATED_YEAR)
    return mask


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
        One bool column per window, one row per incident (False where only the
        year is known; True in every window for undated incidents).
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
    every = undated(incidents).to_numpy(dtype=bool)
    return pd.DataFrame({k: m | every for k, m in masks.items()}, index=incidents.table.index)


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


def no_incidents(crs: Any) -> Incidents:
    """An empty incident table in ``crs``: a plan without incident data (risk 0 everywhere)."""
    table = gpd.GeoDataFrame(
        {
            "incident_id": pd.Series(dtype=str),
            "occurred_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "year": pd.Series(dtype=int),
            "category": pd.Series(dtype=str),
            "weight": pd.Series(dtype=float),
            "source_row": pd.Series(dtype=int),
        },
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )
    problems = pd.DataFrame(columns=["problem", "count", "rows", "action"])
    return Incidents(table, problems, pyproj.CRS.from_user_input(crs), source="(no incidents)")
