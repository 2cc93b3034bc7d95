"""Where an input table comes from: its file, its column mapping, its lines and its CRS.

A table input of the config (:class:`~safepassage.config.TableInput`) is read here
once: :func:`load_table` opens the file (the GeoPackage layer asked for), renames
the mapped source columns to their canonical names, applies the declared CRS and
refuses a table without rows.  Messages name rows as a text editor shows them
(:func:`editor_lines`: the header is line 1, quoted cells may span lines) and
coordinates that cannot be right are explained (:func:`explain_misplaced`: feet
read as metres, swapped axes, projected numbers in latitude/longitude columns).
"""

from __future__ import annotations

import csv
import gzip
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from numpy.typing import NDArray

from .config import TableInput
from .crs import transformer
from .errors import EmptyTableError, MissingColumnError

__all__ = [
    "Source",
    "editor_lines",
    "explain_misplaced",
    "is_csv",
    "lines_text",
    "rename_mapped",
    "table_input",
]

Source = str | os.PathLike[str] | TableInput

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")


def table_input(source: Source) -> TableInput:
    """A :class:`TableInput` for a path (no mapping, no CRS, the first layer)."""
    if isinstance(source, TableInput):
        return source
    return TableInput.model_construct(path=Path(source), columns={}, crs="", layer="")


def is_csv(path: Path) -> bool:
    """Whether ``path`` is a CSV file (by its name)."""
    return path.name.lower().endswith(_CSV_SUFFIXES)


def editor_lines(path: Path, rows: Iterable[int]) -> list[int]:
    """The line a text editor shows for each 0-based data row of a CSV file.

    The header is line 1; a quoted cell holding line breaks makes its row span
    several lines and moves the rows below it down; blank lines (skipped when
    the table is read) are counted.  For other formats (GeoJSON, GeoPackage),
    the 1-based feature number.
    """
    wanted = [int(r) for r in rows]
    if not wanted:
        return []
    if not is_csv(path) or not path.is_file():
        return [r + (2 if is_csv(path) else 1) for r in wanted]
    last, found = max(wanted), {}
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            start, row = reader.line_num + 1, 0
            for record in reader:
                if record:
                    found[row] = start
                    row += 1
                start = reader.line_num + 1
                if row > last:
                    break
    except (OSError, csv.Error, EOFError):
        pass  # a file pandas read but csv cannot: fall back to one line per row
    return [found.get(r, r + 2) for r in wanted]


def lines_text(path: Path, rows: Sequence[int], *, most: int = 10) -> str:
    """``"line 25"`` or ``"lines 3, 7, 9 (and 4 more)"`` (features for spatial files)."""
    word = "line" if is_csv(path) else "feature"
    numbers = editor_lines(path, list(rows)[:most])
    more = f" (and {len(rows) - most} more)" if len(rows) > most else ""
    listed = ", ".join(map(str, numbers))
    return f"{word}{'s' if len(rows) > 1 else ''} {listed}{more}"


def rename_mapped(table: pd.DataFrame, spec: TableInput) -> pd.DataFrame:
    """Rename the mapped source columns to their canonical names (the mapping wins).

    Raises
    ------
    MissingColumnError
        When a mapped source column is not in the table.
    """
    if not spec.columns:
        return table
    columns = [str(c) for c in table.columns]
    absent = [f"{source} (mapped to {canonical})" for canonical, source in spec.columns.items()]
    absent = [a for a, s in zip(absent, spec.columns.values(), strict=True) if s not in columns]
    if absent:
        raise MissingColumnError(
            absent,
            found=columns,
            source=str(spec.path),
            hint="fix the columns mapping of this table in the config",
        )
    renames = {source: canonical for canonical, source in spec.columns.items()}
    # a column already named like a canonical target gives way to the mapped one
    clashing = [c for c in columns if c in renames.values() and c not in renames]
    renamed: pd.DataFrame = table.drop(columns=clashing).rename(columns=renames)
    if isinstance(table, gpd.GeoDataFrame) and "geometry" in renamed.columns:
        geo: pd.DataFrame = gpd.GeoDataFrame(renamed, geometry="geometry", crs=table.crs)
        return geo
    return renamed


def check_rows(table: pd.DataFrame, path: Path) -> None:
    """Refuse a table without rows, naming the file."""
    if len(table) == 0:
        raise EmptyTableError(
            f"{path}: has a header line but no rows (columns: "
            f"{', '.join(map(str, table.columns)) or 'none'}); give a table with one row per "
            "record, or remove it from the config"
        )


def source_crs(spec: TableInput, default: Any = None) -> pyproj.CRS | None:
    """The declared CRS of a table input, else ``default``."""
    chosen = spec.crs or default
    return None if chosen is None else pyproj.CRS.from_user_input(chosen)


def _with_units(crs: pyproj.CRS, units: str) -> pyproj.CRS | None:
    """``crs`` with other linear units (``m``, ``us-ft``, ``ft``), or None if it has none."""
    try:
        with warnings.catch_warnings():  # a PROJ string is all a unit swap needs
            warnings.simplefilter("ignore", UserWarning)
            text = crs.to_proj4()
    except pyproj.exceptions.CRSError:
        return None
    if text is None or ("+units=" not in text and "+to_meter=" not in text):
        if text is None or crs.is_geographic:
            return None
        text += " +units=m"
    parts = [p for p in text.split() if not p.startswith(("+units=", "+to_meter="))]
    try:
        return pyproj.CRS.from_proj4(" ".join([*parts, f"+units={units}"]))
    except pyproj.exceptions.CRSError:
        return None


def explain_misplaced(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    crs_in: pyproj.CRS,
    bounds: tuple[float, float, float, float],
    target: pyproj.CRS,
) -> str | None:
    """Why points read as (``a``, ``b``) in ``crs_in`` miss ``bounds`` (in ``target``), if
    another reading of the same numbers lands them inside; None when none does.

    Readings tried: the two columns swapped; projected numbers in feet read as metres
    and the reverse.
    """
    good = np.isfinite(a) & np.isfinite(b)
    if not good.any():
        return None
    a, b = a[good], b[good]
    west, south, east, north = bounds

    def share_inside(crs: pyproj.CRS, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
        try:
            tx, ty = transformer(crs, target).transform(x, y)
        except pyproj.exceptions.ProjError:
            return 0.0
        tx, ty = np.asarray(tx), np.asarray(ty)
        inside = (tx >= west) & (tx <= east) & (ty >= south) & (ty <= north)
        return float(np.mean(inside & np.isfinite(tx) & np.isfinite(ty)))

    readings: list[tuple[str, pyproj.CRS, NDArray[np.float64], NDArray[np.float64]]] = [
        ("the two coordinate columns look swapped", crs_in, b, a)
    ]
    if not crs_in.is_geographic:
        unit = (crs_in.axis_info[0].unit_name or "").lower() if crs_in.axis_info else ""
        feet = "foot" in unit or "feet" in unit
        other, word = ("m", "metres") if feet else ("us-ft", "US feet")
        changed = _with_units(crs_in, other)
        if changed is not None:
            declared = "feet" if feet else "metres"
            readings.append(
                (
                    f"the numbers look like {word}, not the {declared} of {crs_in.name}; "
                    "give the crs they are in",
                    changed,
                    a,
                    b,
                )
            )
    for reason, crs, x, y in readings:
        if share_inside(crs, x, y) > 0.5:
            return reason
    return None


def degrees_problem(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Rows whose longitude/latitude cannot be degrees (beyond 180 / 90)."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    return finite & ((np.abs(lon) > 180) | (np.abs(lat) > 90))


def not_degrees_message(
    path: Path | str,
    columns: tuple[str, str],
    rows: Sequence[int],
    values: tuple[float, float],
    key_hint: str = "",
) -> str:
    """The explanation of projected numbers found in longitude/latitude columns."""
    where = lines_text(Path(path), rows) if isinstance(path, Path) else f"rows {list(rows)[:10]}"
    lon_col, lat_col = columns
    return (
        f"{path}: columns {lon_col!r}/{lat_col!r} hold projected coordinates, not degrees "
        f"({where}; e.g. {lon_col}={values[0]:g}, {lat_col}={values[1]:g}); map them as x and "
        f'y and give their CRS: {{ columns = {{ x = "{lon_col}", y = "{lat_col}" }}, '
        f'crs = "EPSG:...", e.g. "EPSG:3435" for Illinois state-plane feet }}{key_hint}'
    )
