"""``safepassage validate``: check that every input file of a config reads and has its columns.

Reads only what is needed (headers, the first bytes of a network file, the
school and vendor tables) and collects every problem instead of stopping at
the first.
"""

from __future__ import annotations

import bz2
import gzip
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from ._tables import gdal_source
from .config import DataConfig, PlanConfig
from .errors import DataError, MissingColumnError, SafePassageError

__all__ = ["VALIDATION_CRS", "validate_inputs"]


VALIDATION_CRS = "EPSG:3857"  # any metric CRS will do to check that tables read
_COORDINATES = (
    ("latitude", "longitude"),
    ("lat", "lon"),
    ("lat", "long"),
    ("x coordinate", "y coordinate"),
    ("x_coordinate", "y_coordinate"),
)
_INCIDENT_TIME = ("date", "occurred_at", "year")
_POPULATION = {
    "block": ("census block", "census_block", "tract_bloc", "geoid10", "block"),
    "population": ("total population", "population", "pop"),
}
_NETWORK_MAGIC = {
    ".graphml": ("<graphml", "<?xml"),
    ".osm": ("<osm", "<?xml"),
    ".xml": ("<osm", "<graphml", "<?xml"),
}
_GEO_TABLES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet")


def _columns(path: Path) -> list[str]:
    """Lower-cased column names of a table, reading only its header."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        try:
            header = pd.read_csv(path, nrows=0)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read it as CSV: {exc}") from exc
        return [str(c).strip().lower() for c in header.columns]
    import pyogrio

    try:
        fields = pyogrio.read_info(gdal_source(path))["fields"]
    except Exception as exc:  # GDAL raises its own error types
        raise DataError(f"{path}: cannot read it as a spatial table: {exc}") from exc
    return [str(f).lower() for f in fields] + ["geometry"]


def _need(path: Path, roles: Mapping[str, Sequence[str]], columns: list[str]) -> None:
    missing = [" or ".join(names) for names in roles.values() if not set(names) & set(columns)]
    if missing:
        raise MissingColumnError(missing, found=columns, source=str(path))


def _check_points(path: Path, *, time: bool) -> None:
    columns = _columns(path)
    located = (
        "geometry" in columns
        or "location" in columns
        or any(set(pair) <= set(columns) for pair in _COORDINATES)
    )
    if not located:
        raise MissingColumnError(
            ["latitude/longitude, X/Y Coordinate or Location"], found=columns, source=str(path)
        )
    if time:
        _need(path, {"time": _INCIDENT_TIME}, columns)


def _check_network(path: Path) -> None:
    name = path.name.lower()
    plain = name.removesuffix(".gz").removesuffix(".bz2")
    suffix = Path(plain).suffix
    if suffix in _GEO_TABLES:
        _columns(path)
        return
    if suffix not in _NETWORK_MAGIC:
        raise DataError(
            f"{path}: unknown network format; use GraphML (.graphml[.gz]), "
            "OSM XML (.osm[.bz2]) or street centerlines (GeoJSON, GeoPackage)"
        )
    opener: Callable[..., Any] = (
        gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    )
    try:
        with opener(path, "rb") as stream:
            head = stream.read(4096).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read it: {exc}") from exc
    if not any(tag in head for tag in _NETWORK_MAGIC[suffix]):
        raise DataError(f"{path}: does not start like a {suffix[1:]} file")


def _check_staff(config: PlanConfig, school_ids: set[str], chosen: set[str]) -> list[str]:
    from .io import read_vendors, read_workers

    data, problems = config.data, []
    if data.vendors is None or data.workers is None:
        return ["data.vendors and data.workers: both are needed to build a roster"]
    vendors, workers = read_vendors(data.vendors), read_workers(data.workers)
    served = {s for ids in vendors["school_ids"] for s in ids}
    unknown = sorted(served - school_ids) if school_ids else []
    if unknown:
        problems.append(f"{data.vendors}: school_ids {unknown[:10]} are not in {data.schools.name}")
    unserved = sorted(chosen - served)
    if unserved:
        problems.append(
            f"{data.vendors}: selected schools {unserved[:10]} are served by no "
            "vendor; add them to a vendor's school_ids"
        )
    strangers = sorted(set(workers["vendor_id"]) - set(vendors["vendor_id"]))
    if strangers:
        problems.append(f"{data.workers}: vendor_id {strangers} not in {data.vendors.name}")
    return problems


def _check_categories(config: PlanConfig) -> list[str]:
    try:
        from .risk.incidents import DEFAULT_CATEGORY_WEIGHTS
    except ImportError:  # the risk stage reports unknown categories itself
        return []
    unknown = sorted(set(config.risk.category_weights) - set(DEFAULT_CATEGORY_WEIGHTS))
    if not unknown:
        return []
    known = ", ".join(DEFAULT_CATEGORY_WEIGHTS)
    return [f"risk.category_weights: unknown categories {unknown}; use {known}"]


Check = Callable[[str, Callable[[], Any]], Any]


def _check_files(data: DataConfig, check: Check, problems: list[str]) -> None:
    """Every input file is readable; networks, point layers and population tables look right."""
    for path in data.input_files():
        if not os.access(path, os.R_OK):
            problems.append(f"{path}: not readable (check its permissions)")
    for path in data.networks:
        check("data.networks", partial(_check_network, path))
    for index, path in enumerate((*data.incidents, *filter(None, [data.homicides]))):
        check(f"data.incidents[{index}]", partial(_check_points, path, time=True))
    for name, hazard in data.hazards.items():
        check(f"data.hazards.{name}", partial(_check_points, hazard.path, time=False))
    if data.population is not None:
        population = data.population
        check("data.population", lambda: _need(population, _POPULATION, _columns(population)))
    if data.blocks is not None:
        blocks = data.blocks
        check(
            "data.blocks", lambda: _need(blocks, {"block": _POPULATION["block"]}, _columns(blocks))
        )


def validate_inputs(config: PlanConfig) -> tuple[list[str], list[str]]:
    """Check that every input file of ``config`` reads and has the columns it needs.

    Returns
    -------
    problems, facts
        Every problem found (empty when fine) and a few facts (counts) to print.
    """
    from .io import read_routes, read_schools, select_schools

    data, problems, facts = config.data, [], []

    def check(label: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except SafePassageError as exc:
            problems.append(f"{label}: {exc}")
            return None

    _check_files(data, check, problems)
    schools = check(
        "data.schools",
        lambda: read_schools(data.schools, profiles=data.profiles, crs=VALIDATION_CRS),
    )
    routes = None
    if data.reference_routes is not None:
        reference = data.reference_routes
        routes = check("data.reference_routes", lambda: read_routes(reference, crs=VALIDATION_CRS))
    chosen = set()
    if schools is not None:
        facts.append(f"{len(schools)} schools in {data.schools.name}")
        selected = check(
            "schools",
            lambda: select_schools(
                schools, config.schools, areas_path=data.community_areas, routes=routes
            ),
        )
        if selected is not None:
            chosen = set(selected["school_id"])
            facts.append(f"{len(chosen)} schools selected: {', '.join(sorted(chosen))}")
            if not chosen:
                problems.append("schools: the selection matches no school")
    ids = set(schools["school_id"]) if schools is not None else set()
    staff = check("data.vendors/workers", lambda: _check_staff(config, ids, chosen))
    problems.extend(staff or [])
    problems.extend(_check_categories(config))
    if config.output.dir.exists() and not config.output.dir.is_dir():
        problems.append(f"output.dir: {config.output.dir} is a file, not a folder")
    facts.append(f"{len(data.input_files())} input files checked")
    return problems, facts
