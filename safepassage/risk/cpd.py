"""Incident table schema: column names, categories, dates and coordinates.

The Chicago Police "Crimes" export is recognised out of the box (other schemas
through a column mapping).  These helpers turn its columns into categories,
tz-aware times and projected points, and flag the rows that cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..crs import WGS84, transformer
from ..errors import CRSError, DataError, EmptyTableError, MissingColumnError
from ..io import load_table
from ..routes.network import WalkNetwork
from ..sources import Source, explain_misplaced, lines_text, not_degrees_message, table_input

__all__ = [
    "CATEGORIES",
    "CHICAGO_CRS",
    "CPD_DATE_FORMAT",
    "CPD_XY_CRS",
    "DEFAULT_CATEGORY_WEIGHTS",
    "PROBLEM_ACTIONS",
    "PROBLEM_WORDS",
    "TABLE_COLUMNS",
    "UNDATED_YEAR",
]

# incidents farther than this from every network node lie outside the planned area (m)
AREA_MARGIN_M = 500.0


CHICAGO_CRS = pyproj.CRS.from_epsg(26916)
CPD_XY_CRS = pyproj.CRS.from_epsg(3435)  # Illinois State Plane East, US feet
CPD_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"

CATEGORIES = (
    "homicide",
    "shooting",
    "weapons",
    "robbery",
    "sex_offense",
    "assault",
    "battery",
    "property",
    "other",
    "uncategorised",
)
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
    "uncategorised": 1.0,  # a table without categories: every incident counts once
}
UNDATED_YEAR = 0  # the year of incidents from a table without dates
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
        [
            "THEFT",
            "BURGLARY",
            "MOTOR VEHICLE THEFT",
            "CRIMINAL DAMAGE",
            "ARSON",
            "CRIMINAL TRESPASS",
            "DECEPTIVE PRACTICE",
        ],
        "property",
    ),
    **dict.fromkeys(
        [
            "NARCOTICS",
            "OTHER NARCOTIC VIOLATION",
            "OTHER OFFENSE",
            "PUBLIC PEACE VIOLATION",
            "KIDNAPPING",
            "INTIMIDATION",
            "STALKING",
            "OFFENSE INVOLVING CHILDREN",
            "INTERFERENCE WITH PUBLIC OFFICER",
            "LIQUOR LAW VIOLATION",
            "PROSTITUTION",
            "GAMBLING",
            "HUMAN TRAFFICKING",
            "OBSCENITY",
            "PUBLIC INDECENCY",
            "NON-CRIMINAL",
            "RITUALISM",
        ],
        "other",
    ),
}

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
    "not_degrees": "dropped",
    "zero_coordinates": "dropped",
    "swapped_coordinates": "dropped",
    "outside_network": "dropped",
    "bad_date": "dropped",
    "unknown_category": "kept as 'other'",
}
# what each problem kind means, in the words of the log line
PROBLEM_WORDS: Mapping[str, str] = {
    "missing_coordinates": "without coordinates",
    "not_degrees": "with latitude/longitude that are not degrees",
    "zero_coordinates": "at coordinates 0",
    "swapped_coordinates": "with latitude and longitude swapped",
    "outside_network": "outside the planned area",
    "bad_date": "with a date that cannot be read",
    "unknown_category": "of an unknown category, counted as 'other'",
}
TABLE_COLUMNS = ["incident_id", "occurred_at", "year", "category", "weight", "source_row"]


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def resolve_columns(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, source: str
) -> dict[str, str]:
    """Canonical field -> source column; raises MissingColumnError without coordinates.

    Only coordinates are needed: without a date column the incidents are undated,
    without a category column they take the default category.
    """
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
    if not ({"latitude", "longitude"} <= resolved.keys() or {"x", "y"} <= resolved.keys()):
        raise MissingColumnError(
            ["Latitude/Longitude (or X Coordinate/Y Coordinate)"],
            found=frame.columns,
            source=source,
            hint="incidents need coordinates (a date and a category are optional): map "
            "your columns to 'latitude' and 'longitude' (or 'x' and 'y' with the table's "
            'crs) in the config, e.g. { path = ..., columns = { latitude = "LAT", '
            'longitude = "LON" } }',
        )
    return resolved


def categorise(
    primary: pd.Series | None,
    description: pd.Series | None,
    default: str = "uncategorised",
    *,
    size: int = 0,
) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Category per row and a mask of rows whose type was not recognised.

    Without a category column (``primary`` None) each of the ``size`` rows takes
    ``default``.
    """
    if primary is None:
        return np.full(size, default, dtype=object), np.zeros(size, dtype=bool)
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
    raw: RawPoints, target: pyproj.CRS
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Projected x, y, plus masks of rows with missing and zero coordinates."""
    a, b, crs_in, _ = raw
    missing = ~(np.isfinite(a) & np.isfinite(b))
    zero = ~missing & ((a == 0) | (b == 0))
    x = np.full(a.size, np.nan)
    y = np.full(a.size, np.nan)
    good = ~missing & ~zero
    if crs_in.is_geographic:
        good &= (np.abs(a) <= 180) & (np.abs(b) <= 90)
    with np.errstate(all="ignore"):
        x[good], y[good] = transformer(crs_in, target).transform(a[good], b[good])
    # numbers the projection cannot take (far outside its area) have no place
    missing |= good & ~(np.isfinite(x) & np.isfinite(y))
    return x, y, missing, zero


def _swapped_rows(
    frame: pd.DataFrame,
    cols: Mapping[str, str],
    raw: RawPoints,
    target: pyproj.CRS,
    candidates: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Rows whose lat/lon lie outside the CRS's area of use but inside it once swapped."""
    area = target.area_of_use
    if area is None or not {"latitude", "longitude"} <= cols.keys():
        return np.zeros(len(frame), dtype=bool)
    if raw.crs.is_geographic:  # the numbers read are the latitude/longitude columns
        lon, lat = raw.a, raw.b
    else:
        lon = pd.to_numeric(frame[cols["longitude"]], errors="coerce").to_numpy(np.float64)
        lat = pd.to_numeric(frame[cols["latitude"]], errors="coerce").to_numpy(np.float64)

    def inside(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
        return (x >= area.west) & (x <= area.east) & (y >= area.south) & (y <= area.north)

    return candidates & ~inside(lon, lat) & inside(lat, lon)


def problem_table(problems: Mapping[str, NDArray[np.bool_]]) -> pd.DataFrame:
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


def _where(source: str, rows: list[int]) -> str:
    """``line 25`` of a file (header = line 1), ``row 23`` of an in-memory table."""
    path = Path(source)
    if path.is_file():
        return lines_text(path, rows)
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:10]))}"


def raise_strict(problems: pd.DataFrame, source: str) -> None:
    detail = "; ".join(
        f"{kind}: {count} row(s) ({_where(source, list(rows))})"
        for kind, count, rows in zip(
            problems["problem"], problems["count"], problems["rows"], strict=True
        )
    )
    raise DataError(
        f"{source}: {int(problems['count'].sum())} incident row(s) cannot be used ({detail}); "
        "fix or remove them, or read with strict=False to drop them and keep a problems summary"
    )


def load_frame(
    path_or_df: Source | pd.DataFrame, *, allow_empty: bool = False
) -> tuple[pd.DataFrame, str]:
    """The table as text columns and its name; the points of a spatial file become
    ``longitude``/``latitude`` columns (replacing any of those names)."""
    if isinstance(path_or_df, pd.DataFrame):
        frame = pd.DataFrame(path_or_df).reset_index(drop=True)
        if not len(frame) and not allow_empty:
            raise EmptyTableError("incident table: has no rows")
        return frame, "incident table"
    spec = table_input(path_or_df)
    if not spec.path.is_file():
        raise DataError(f"{spec.path}: incident file not found; check the path")
    table, spec = load_table(spec, dtype_str=True, allow_empty=allow_empty)
    if isinstance(table, gpd.GeoDataFrame):
        if table.crs is None:
            raise CRSError(f"{spec.path}: has no CRS; save it with one or set crs in the config")
        points = table.geometry.to_crs(WGS84)
        if not points.geom_type.isin(["Point"]).all():
            with np.errstate(all="ignore"):  # huge coordinates overflow: dropped as missing
                points = points.representative_point()
        frame = pd.DataFrame(table.drop(columns="geometry"))
        frame = frame.drop(columns=[c for c in frame.columns if _normalise_name(c) in _LATLON])
        frame = frame.assign(longitude=points.x.to_numpy(), latitude=points.y.to_numpy())
        return frame.reset_index(drop=True), str(spec.path)
    return table, str(spec.path)


# the coordinate columns a spatial file's own points replace
_LATLON = {
    *_CANDIDATES["latitude"],
    *_CANDIDATES["longitude"],
    *_CANDIDATES["x"],
    *_CANDIDATES["y"],
}


Located = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    NDArray[np.bool_],
    NDArray[np.bool_],
    NDArray[np.bool_],
]


class RawPoints(NamedTuple):
    """The two coordinate columns of a table as numbers, their CRS and their names."""

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    crs: pyproj.CRS
    names: tuple[str, str]


def _raw(frame: pd.DataFrame, cols: Mapping[str, str], source_crs: Any) -> RawPoints:
    """The two coordinate columns as numbers, their CRS and their names.

    Latitude/longitude win over x/y unless ``source_crs`` (declared) is projected.
    """
    use_xy = source_crs is not None and not pyproj.CRS.from_user_input(source_crs).is_geographic
    if {"latitude", "longitude"} <= cols.keys() and not (use_xy and {"x", "y"} <= cols.keys()):
        names = (cols["longitude"], cols["latitude"])
        crs_in = WGS84
    else:
        names = (cols["x"], cols["y"])
        crs_in = pyproj.CRS.from_user_input(source_crs or CPD_XY_CRS)
    a = pd.to_numeric(frame[names[0]], errors="coerce").to_numpy(dtype=np.float64)
    b = pd.to_numeric(frame[names[1]], errors="coerce").to_numpy(dtype=np.float64)
    return RawPoints(a, b, crs_in, names)


def locate_points(
    frame: pd.DataFrame, cols: Mapping[str, str], source: str, source_crs: Any, target: pyproj.CRS
) -> Located:
    """Projected x, y and masks of rows with missing, zero, swapped and non-degree coordinates.

    Raises :class:`CRSError` when most coordinates look like swapped latitude and
    longitude, or most latitude/longitude values are not degrees (projected numbers).
    """
    raw = _raw(frame, cols, source_crs)
    x, y, missing, zero = _coordinates(raw, target)
    a, b, crs_in, names = raw
    usable = ~missing & ~zero
    not_degrees = np.zeros(len(frame), dtype=bool)
    if crs_in.is_geographic:
        not_degrees = usable & ((np.abs(a) > 180) | (np.abs(b) > 90))
        swapped_too = not_degrees & (np.abs(a) <= 90) & (np.abs(b) <= 180)
        if not_degrees.sum() > 0.5 * max(usable.sum(), 1) and not swapped_too.all():
            rows = np.flatnonzero(not_degrees).tolist()
            where = Path(source) if Path(source).is_file() else source
            raise CRSError(not_degrees_message(where, names, rows, (a[rows[0]], b[rows[0]])))
        not_degrees &= ~swapped_too
    swapped = _swapped_rows(frame, cols, raw, target, usable & ~not_degrees) & ~not_degrees
    if swapped.sum() > 0.5 * max((usable & ~not_degrees).sum(), 1):
        rows = np.flatnonzero(swapped).tolist()
        first = rows[0]
        raise CRSError(
            f"{source}: {int(swapped.sum())} of {len(frame)} rows have latitude/longitude that "
            f"look swapped ({_where(source, rows)}: {cols['latitude']}="
            f"{frame[cols['latitude']].iloc[first]}, {cols['longitude']}="
            f"{frame[cols['longitude']].iloc[first]}); latitude must be within {target.name}'s "
            f"area; swap the columns (columns = {{ latitude = {cols['longitude']!r}, "
            f"longitude = {cols['latitude']!r} }})"
        )
    missing = missing & ~not_degrees
    return x, y, missing, zero, swapped, not_degrees


def outside_network(
    network: WalkNetwork | None,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    usable: NDArray[np.bool_],
    area_margin_m: float,
) -> NDArray[np.bool_]:
    """Usable rows farther than ``area_margin_m`` from every network node (none without one)."""
    outside = np.zeros(len(x), dtype=bool)
    if network is not None and usable.any():
        tree = cKDTree(network.nodes[["x", "y"]].to_numpy())
        distance, _ = tree.query(np.column_stack([x[usable], y[usable]]))
        outside[np.flatnonzero(usable)[distance > area_margin_m]] = True
    return outside


def check_placed(
    frame: pd.DataFrame,
    cols: Mapping[str, str],
    source: str,
    source_crs: Any,
    network: WalkNetwork,
    usable: NDArray[np.bool_],
    outside: NDArray[np.bool_],
) -> None:
    """Raise when most incidents miss the network and another reading of their
    numbers (swapped columns, feet for metres) puts them on it."""
    if not usable.any() or outside.sum() <= 0.5 * usable.sum():
        return
    a, b, crs_in, names = _raw(frame, cols, source_crs)
    west, south = network.nodes[["x", "y"]].min().to_numpy() - AREA_MARGIN_M
    east, north = network.nodes[["x", "y"]].max().to_numpy() + AREA_MARGIN_M
    bounds = (float(west), float(south), float(east), float(north))
    reason = explain_misplaced(a[usable], b[usable], crs_in, bounds, network.crs)
    if reason is not None:
        raise CRSError(
            f"{source}: columns {names[0]!r}/{names[1]!r}: {int(outside.sum())} of "
            f"{int(usable.sum())} incidents lie outside the planned area read as "
            f"{crs_in.name}, and {reason} (set the crs of this table in the config, or its "
            "columns mapping)"
        )


def parse_dates(
    frame: pd.DataFrame, cols: Mapping[str, str], tz: str
) -> tuple[pd.Series, NDArray[np.int64], NDArray[np.bool_]]:
    """``occurred_at`` (tz-aware; NaT for year-only rows), year, and a mask of bad dates.

    Without a date or year column every row is undated: NaT, year ``UNDATED_YEAR``.
    """
    if "occurred_at" not in cols and "year" not in cols:
        occurred = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {tz}]")
        undated = np.full(len(frame), UNDATED_YEAR, dtype=np.int64)
        return occurred, undated, np.zeros(len(frame), dtype=bool)
    if "occurred_at" in cols:
        occurred = _parse_dates(frame[cols["occurred_at"]], tz)
        bad_date = occurred.isna().to_numpy()
        year = occurred.dt.year.fillna(-1).astype(np.int64).to_numpy()
    else:
        year_values = pd.to_numeric(frame[cols["year"]], errors="coerce")
        bad_date = ~year_values.between(1900, 2100).to_numpy()
        year = year_values.fillna(-1).astype(np.int64).to_numpy()
        occurred = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {tz}]")
    return occurred, year, bad_date
