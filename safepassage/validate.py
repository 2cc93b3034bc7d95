"""``safepassage validate``: the input checks of ``plan``, without planning.

Network files are checked by their first bytes (building the network is the
plan's first, longest stage); every other table is read and checked by the
same functions ``plan`` calls (:mod:`safepassage.inputs`).  Every problem is
collected instead of stopping at the first.
"""

from __future__ import annotations

import bz2
import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .config import DataConfig, PlanConfig
from .errors import DataError, SafePassageError
from .inputs import InputError, check_inputs, planned_schools, read_inputs, skipped_stages
from .io import gdal_source
from .outputs import check_output_folder

__all__ = ["VALIDATION_CRS", "Validation", "validate_inputs"]


VALIDATION_CRS = "EPSG:3857"  # any metric CRS will do to check that tables read
_NETWORK_MAGIC = {
    ".graphml": ("<graphml", "<?xml"),
    ".osm": ("<osm", "<?xml"),
    ".xml": ("<osm", "<graphml", "<?xml"),
}
_GEO_TABLES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet")


def _check_layer(path: Path) -> None:
    """A street-centreline layer opens in GDAL (its header only)."""
    import pyogrio

    try:
        pyogrio.read_info(gdal_source(path))
    except Exception as exc:  # GDAL raises its own error types
        raise DataError(f"{path}: cannot read it as a spatial table: {exc}") from exc


def _check_network(path: Path) -> None:
    name = path.name.lower()
    plain = name.removesuffix(".gz").removesuffix(".bz2")
    suffix = Path(plain).suffix
    if suffix in _GEO_TABLES:
        _check_layer(path)
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


Check = Callable[[str, Callable[[], Any]], Any]


def _check_files(data: DataConfig, check: Check, problems: list[str]) -> None:
    """Every input file is readable and every network file starts like its format."""
    for path in data.input_files():
        if not os.access(path, os.R_OK):
            problems.append(f"{path}: not readable (check its permissions)")
    for path in data.networks:
        check("data.networks", partial(_check_network, path))


@dataclass(frozen=True)
class Validation:
    """What ``safepassage validate`` found.

    Attributes
    ----------
    problems
        Every problem (empty when the plan can start), each naming its input.
    schools
        ``school_id``, ``name`` of the schools the plan would plan (empty when
        the school file or the selection is broken).
    skipped
        Stages the plan will skip with these inputs, each with the reason.
    facts
        A few counts to print.
    """

    problems: list[str]
    schools: pd.DataFrame
    skipped: list[str]
    facts: list[str]


def validate_inputs(config: PlanConfig) -> Validation:
    """Run the input checks ``plan`` runs, without building the network or planning.

    The network files are checked by their headers; every other table is read
    with :func:`~safepassage.inputs.read_inputs` and checked with
    :func:`~safepassage.inputs.check_inputs`, exactly as ``plan`` does (in a
    stand-in metric CRS, since the plan's comes from the network).
    """
    data, problems, facts = config.data, [], []

    def check(label: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except SafePassageError as exc:
            problems.append(f"{label}: {exc}")
            return None

    _check_files(data, check, problems)
    schools = pd.DataFrame(columns=["school_id", "name"])
    skipped: list[str] = []
    try:
        inputs = read_inputs(config, crs=VALIDATION_CRS)
    except InputError as exc:
        problems.extend(exc.problems)
    else:
        problems.extend(check_inputs(config, inputs))
        skipped = skipped_stages(config, inputs)
        facts.append(f"{len(inputs.schools)} schools in {data.schools.path.name}")
        chosen = check("schools", lambda: planned_schools(config, inputs))
        if chosen is not None:
            schools = pd.DataFrame(chosen[["school_id", "name"]])
    check("output.dir", lambda: check_output_folder(config.output.dir, clean=False))
    facts.append(f"{len(data.input_files())} input files checked")
    return Validation(list(dict.fromkeys(problems)), schools, skipped, facts)
