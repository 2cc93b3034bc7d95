"""Incident table schema: column names, categories, dates and coordinates.

The Chicago Police "Crimes" export is recognised out of the box (other schemas
through a column mapping).  These helpers turn its columns into categories,
tz-aware times and projected points, and flag the rows that cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..crs import WGS84
from ..errors import CRSError, DataError, MissingColumnError
from ..routes.network import WalkNetwork

__all__ = [
    "CATEGORIES",
    "CHICAGO_CRS",
    "CPD_DATE_FORMAT",
    "CPD_XY_CRS",
    "DEFAULT_CATEGORY_WEIGHTS",
    "PROBLEM_ACTIONS",
    "TABLE_COLUMNS",
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
    "zero_coordinates": "dropped",
    "swapped_coordinates": "dropped",
    "outside_network": "dropped",
    "bad_date": "dropped",
    "unknown_category": "kept as 'other'",
}
TABLE_COLUMNS = ["incident_id", "occurred_at", "year", "category", "weight", "source_row"]


def _normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def resolve_columns(
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


def categorise(
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


def raise_strict(problems: pd.DataFrame, source: str) -> None:
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


def load_frame(path_or_df: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(path_or_df, pd.DataFrame):
        return pd.DataFrame(path_or_df).reset_index(drop=True), "incident table"
    path = Path(path_or_df)
    if not path.is_file():
        raise DataError(f"{path}: incident file not found; check the path")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=True), str(path)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from exc


Located = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    NDArray[np.bool_],
    NDArray[np.bool_],
]


def locate_points(
    frame: pd.DataFrame, cols: Mapping[str, str], source: str, source_crs: Any, target: pyproj.CRS
) -> Located:
    """Projected x, y and masks of rows with missing, zero and swapped coordinates.

    Raises :class:`CRSError` when most coordinates look like swapped latitude and longitude.
    """
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
    return x, y, missing, zero, swapped


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


def parse_dates(
    frame: pd.DataFrame, cols: Mapping[str, str], tz: str
) -> tuple[pd.Series, NDArray[np.int64], NDArray[np.bool_]]:
    """``occurred_at`` (tz-aware; NaT for year-only rows), year, and a mask of bad dates."""
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
