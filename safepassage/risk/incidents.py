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
import re
from collections.abc import Collection, Iterable, Mapping
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
from scipy.spatial import cKDTree

from ..crs import WGS84, check_metric_crs
from ..errors import CRSError, DataError, MissingColumnError
from ..routes.network import WalkNetwork

__all__ = [
    "CATEGORIES",
    "DEFAULT_CATEGORY_WEIGHTS",
    "Incidents",
    "filter_school_days",
    "in_window",
    "read_hazard_points",
    "read_incidents",
    "recency_weights",
]

logger = logging.getLogger(__name__)

CHICAGO_CRS = pyproj.CRS.from_epsg(26916)
CPD_XY_CRS = pyproj.CRS.from_epsg(3435)  # Illinois State Plane East, US feet
CPD_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"

CATEGORIES = (
    "homicide", "shooting", "weapons", "robbery", "sex_offense",
    "assault", "battery", "property", "other",
)  # fmt: skip
# Violence drives Safe Passage; property crime did not respond to the program.
DEFAULT_CATEGORY_WEIGHTS: Mapping[str, float] = {
    "homicide": 5.0,
    "shooting": 4.0,
    "weapons": 3.0,
    "robbery": 3.0,
    "sex_offense": 3.0,
    "assault": 2.0,
    "battery": 2.0,
    "property": 0.2,
    "other": 0.5,
}
# CPD primary types (upper case) -> category; anything else is reported as unknown.
_PRIMARY_TYPES: Mapping[str, str] = {
    "HOMICIDE": "homicide",
    "WEAPONS VIOLATION": "weapons",
    "CONCEALED CARRY LICENSE VIOLATION": "weapons",
    "ROBBERY": "robbery",
    "ASSAULT": "assault",
    "BATTERY": "battery",
    "CRIM SEXUAL ASSAULT": "sex_offense",
    "CRIMINAL SEXUAL ASSAULT": "sex_offense",
    "SEX OFFENSE": "sex_offense",
    **dict.fromkeys(
        ["THEFT", "BURGLARY", "MOTOR VEHICLE THEFT", "CRIMINAL DAMAGE", "ARSON",
         "CRIMINAL TRESPASS", "DECEPTIVE PRACTICE"], "property",
    ),
    **dict.fromkeys(
        ["NARCOTICS", "OTHER NARCOTIC VIOLATION", "OTHER OFFENSE", "PUBLIC PEACE VIOLATION",
         "KIDNAPPING", "INTIMIDATION", "STALKING", "OFFENSE INVOLVING CHILDREN",
         "INTERFERENCE WITH PUBLIC OFFICER", "LIQUOR LAW VIOLATION", "PROSTITUTION",
         "GAMBLING", "HUMAN TRAFFICKING", "OBSCENITY", "PUBLIC INDECENCY",
         "NON-CRIMINAL", "RITUALISM"], "other",
    ),
}  # fmt: skip

# canonical field -> accepted source column names (compared case- and separator-insensitively)
_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "incident_id": ("incident_id", "id", "case_number"),
    "occurred_at": ("occurred_at", "date", "datetime", "occurred", "date_of_occurrence"),
    "year": ("year",),
    "category": ("category", "primary_type", "offense", "type"),
    "description": ("description", "secondary_type"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "x": ("x_coordinate", "x"),
    "y": ("y_coordinate", "y"),
}
PROBLEM_ACTIONS: Mapping[str, str] = {
    "missing_coordinates": "dropped",
    "zero_coordinates": "dropped",
    "swapped_coordinates": "dropped",
    "outside_network": "dropped",
    "bad_date": "dropped",
    "unknown_category": "kept as 'other'",
}
TABLE_COLUMNS = ["incident_id", "occurred_at", "year", "category", "weight", "source_row"]


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


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _resolve_columns(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, source: str
) -> dict[str, str]:
    """Canonical field -> source column; raises MissingColumnError listing what is needed."""
    found = {_normalise_name(c): c for c in frame.columns}
    resolved: dict[str, str] = {}
    for canonical, names in _CANDIDATES.items():
        hit = next((found[n] for n in names if n in found), None)
        if hit is not None:
            resolved[canonical] = hit
    for canonical, column in (columns or {}).items():
        if canonical not in _CANDIDATES:
            raise DataError(
                f"columns mapping has unknown field {canonical!r}; use {sorted(_CANDIDATES)}"
            )
        if column not in frame.columns:
            raise MissingColumnError([column], found=frame.columns, source=source)
        resolved[canonical] = column
    missing = []
    if "occurred_at" not in resolved and "year" not in resolved:
        missing.append("Date (or year)")
    if "category" not in resolved:
        missing.append("Primary Type")
    if not ({"latitude", "longitude"} <= resolved.keys() or {"x", "y"} <= resolved.keys()):
        missing.append("Latitude/Longitude (or X Coordinate/Y Coordinate)")
    if missing:
        raise MissingColumnError(
            missing,
            found=frame.columns,
            source=source,
            hint="expected the Chicago Police 'Crimes' columns; map yours with "
            "columns={'occurred_at': ..., 'category': ..., 'latitude': ..., 'longitude': ...}",
        )
    return resolved


def _categorise(
    primary: pd.Series, description: pd.Series | None
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Category per row and a mask of rows whose type was not recognised."""
    upper = primary.fillna("").astype(str).str.strip().str.upper()
    known_lower = {c.upper(): c for c in CATEGORIES}
    category = upper.map(lambda t: _PRIMARY_TYPES.get(t) or known_lower.get(t))
    unknown = category.isna().to_numpy()
    category = category.fillna("other")
    if description is not None:
        desc = description.fillna("").astype(str).str.upper()
        # A battery with a gun is a shooting; so is a reckless firearm discharge.
        shooting = (upper == "BATTERY") & desc.str.contains("HANDGUN|FIREARM", regex=True)
        shooting |= desc.str.contains("FIREARM DISCHARGE", regex=False)
        category = category.where(~shooting, "shooting")
    return category.to_numpy(dtype=object), unknown


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    # Ambiguous fall-back hour: read as daylight time; skipped spring hour: shift forward.
    localized: pd.Series = naive.dt.tz_localize(
        tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return localized


def _parse_dates(values: pd.Series, tz: str) -> pd.Series:
    """CPD ``MM/DD/YYYY hh:mm:ss AM`` first, ISO 8601 for the rest; NaT when unparseable."""
    text = values.astype("string").str.strip()
    result = _localize(pd.to_datetime(text, format=CPD_DATE_FORMAT, errors="coerce"), tz)
    retry = result.isna() & text.notna()
    if retry.any():
        rest = text[retry]
        offset = rest.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
        aware = pd.to_datetime(rest[offset], format="ISO8601", errors="coerce", utc=True)
        plain = pd.to_datetime(rest[~offset], format="ISO8601", errors="coerce")
        result.loc[aware.index] = aware.dt.tz_convert(tz)
        result.loc[plain.index] = _localize(plain, tz)
    return result


def _coordinates(
    frame: pd.DataFrame, cols: Mapping[str, str], source_crs: Any, target: pyproj.CRS
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Projected x, y, plus masks of rows with missing and zero coordinates."""
    if {"latitude", "longitude"} <= cols.keys():
        a = pd.to_numeric(frame[cols["longitude"]], errors="coerce").to_numpy(dtype=np.float64)
        b = pd.to_numeric(frame[cols["latitude"]], errors="coerce").to_numpy(dtype=np.float64)
        crs_in = WGS84
    else:
        a = pd.to_numeric(frame[cols["x"]], errors="coerce").to_numpy(dtype=np.float64)
        b = pd.to_numeric(frame[cols["y"]], errors="coerce").to_numpy(dtype=np.float64)
        crs_in = pyproj.CRS.from_user_input(source_crs or CPD_XY_CRS)
    missing = ~(np.isfinite(a) & np.isfinite(b))
    zero = ~missing & ((a == 0) | (b == 0))
    x = np.full(a.size, np.nan)
    y = np.full(a.size, np.nan)
    good = ~missing & ~zero
    transformer = pyproj.Transformer.from_crs(crs_in, target, always_xy=True)
    x[good], y[good] = transformer.transform(a[good], b[good])
    return x, y, missing, zero


def _swapped_rows(
    frame: pd.DataFrame, cols: Mapping[str, str], target: pyproj.CRS, candidates: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Rows whose lat/lon lie outside the CRS's area of use but inside it once swapped."""
    area = target.area_of_use
    if area is None or not {"latitude", "longitude"} <= cols.keys():
        return np.zeros(len(frame), dtype=bool)
    lon = pd.to_numeric(frame[cols["longitude"]], errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(frame[cols["latitude"]], errors="coerce").to_numpy(dtype=np.float64)

    def inside(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (x >= area.west) & (x <= area.east) & (y >= area.south) & (y <= area.north)

    return candidates & ~inside(lon, lat) & inside(lat, lon)


def _problem_table(problems: Mapping[str, NDArray[np.bool_]]) -> pd.DataFrame:
    rows = [
        {
            "problem": kind,
            "count": int(mask.sum()),
            "rows": np.flatnonzero(mask).tolist(),
            "action": PROBLEM_ACTIONS[kind],
        }
        for kind, mask in problems.items()
        if mask.any()
    ]
    return pd.DataFrame(rows, columns=["problem", "count", "rows", "action"])


def _raise_strict(problems: pd.DataFrame, source: str) -> None:
    detail = "; ".join(
        f"{kind}: {count} row(s) {list(rows)[:10]}{' ...' if count > 10 else ''}"
        for kind, count, rows in zip(
            problems["problem"], problems["count"], problems["rows"], strict=True
        )
    )
    raise DataError(
        f"{source}: {int(problems['count'].sum())} incident row(s) cannot be used ({detail}); "
        "fix or remove them, or read with strict=False to drop them and keep a problems summary"
    )


def _load_frame(path_or_df: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(path_or_df, pd.DataFrame):
        return pd.DataFrame(path_or_df).reset_index(drop=True), "incident table"
    path = Path(path_or_df)
    if not path.is_file():
        raise DataError(f"{path}: incident file not found; check the path")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True), str(path)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from exc


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
    area_margin_m: float = 500.0,
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
        When given, incidents farther than ``area_margin_m`` (metres) from
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
    frame, source = _load_frame(path_or_df)
    target = check_metric_crs(network.crs if network is not None else crs, where="target CRS")
    cols = _resolve_columns(frame, columns, source)
    weights = {**DEFAULT_CATEGORY_WEIGHTS, **(category_weights or {})}
    bad_weights = sorted(k for k in weights if k not in CATEGORIES)
    if bad_weights:
        raise DataError(f"category_weights has unknown categories {bad_weights}; use {CATEGORIES}")

    x, y, missing, zero = _coordinates(frame, cols, source_crs, target)
    swapped = _swapped_rows(frame, cols, target, ~missing & ~zero)
    if swapped.sum() > 0.5 * max((~missing & ~zero).sum(), 1):
        first = int(np.flatnonzero(swapped)[0])
        raise CRSError(
            f"{source}: {int(swapped.sum())} of {len(frame)} rows have latitude/longitude that "
            f"look swapped (row {first}: {cols['latitude']}={frame[cols['latitude']].iloc[first]}, "
            f"{cols['longitude']}={frame[cols['longitude']].iloc[first]}); latitude must be "
            f"within {target.name}'s area; swap the columns (columns={{'latitude': "
            f"{cols['longitude']!r}, 'longitude': {cols['latitude']!r}}})"
        )
    outside = np.zeros(len(frame), dtype=bool)
    usable = ~missing & ~zero & ~swapped
    if network is not None and usable.any():
        tree = cKDTree(network.nodes[["x", "y"]].to_numpy())
        distance, _ = tree.query(np.column_stack([x[usable], y[usable]]))
        outside[np.flatnonzero(usable)[distance > area_margin_m]] = True

    if "occurred_at" in cols:
        occurred = _parse_dates(frame[cols["occurred_at"]], tz)
        bad_date = occurred.isna().to_numpy()
        year = occurred.dt.year.fillna(-1).astype(np.int64).to_numpy()
    else:
        year_values = pd.to_numeric(frame[cols["year"]], errors="coerce")
        bad_date = ~year_values.between(1900, 2100).to_numpy()
        year = year_values.fillna(-1).astype(np.int64).to_numpy()
        occurred = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {tz}]")
    description = frame[cols["description"]] if "description" in cols else None
    category, unknown = _categorise(frame[cols["category"]], description)

    problems = _problem_table(
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
        _raise_strict(problems, source)
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


_LOCATION = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")


def read_hazard_points(
    path_or_df: str | Path | pd.DataFrame,
    *,
    location_column: str = "Location",
    crs: Any = CHICAGO_CRS,
    keep_columns: Collection[str] = (),
) -> gpd.GeoDataFrame:
    """Read a point layer whose location column holds ``"address\\n(lat, lon)"``.

    The City of Chicago land inventory (vacant city-owned lots) uses this form.
    Rows without a parseable ``(lat, lon)`` are dropped (logged).

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_row`` plus ``keep_columns``, Point geometry in ``crs``.
    """
    frame, source = _load_frame(path_or_df)
    if location_column not in frame.columns:
        raise MissingColumnError(
            [location_column], found=frame.columns, source=source,
            hint="pass location_column= naming the column with '(lat, lon)'",
        )  # fmt: skip
    parts = frame[location_column].astype("string").str.extract(_LOCATION)
    lat = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=np.float64)
    good = np.isfinite(lat) & np.isfinite(lon)
    if (~good).any():
        logger.info("%s: %d rows without (lat, lon) dropped", source, (~good).sum())
    target = check_metric_crs(crs, where="target CRS")
    table = frame.loc[good, list(keep_columns)].reset_index(drop=True)
    table.insert(0, "source_row", np.flatnonzero(good))
    points = gpd.GeoSeries(shapely.points(lon[good], lat[good]), crs=WGS84).to_crs(target)
    return gpd.GeoDataFrame(table, geometry=points.values, crs=target)
