"""Downloads: the ONLY module that touches the network.

Nothing here runs at import.  Each function checks that the host answers
before starting, so an offline machine fails in seconds with a clear message
instead of waiting for osmnx's Overpass rate-limit pause.

Two kinds of download:

* :func:`fetch_place`: any place on OpenStreetMap (a name geocoded by Nominatim,
  or a lon/lat box): its walk network and its schools (``amenity=school``) go
  into a folder with a starter ``plan.toml`` that plans them.
* :func:`fetch_area`: a Chicago community area: its OSM walk network and the
  Chicago Data Portal tables, into the stage cache.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DataError, OutputFolderError, SafePassageError
from .signals import deferred_interrupts

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "PLACE_FILES",
    "PORTAL_DATASETS",
    "FetchError",
    "FetchedPlace",
    "PlaceError",
    "area_slug",
    "check_bbox",
    "fetch_area",
    "fetch_place",
    "fetch_portal_dataset",
    "fetch_walk_network",
    "parse_bbox",
    "school_points",
    "starter_config",
]

logger = logging.getLogger(__name__)

OVERPASS_HOST = "overpass-api.de"
PORTAL_HOST = "data.cityofchicago.org"
# Chicago Data Portal dataset ids (Socrata) used by the examples
PORTAL_DATASETS = {
    "schools_sy1617": "75e5-35kf",
    "safe_passage_routes_sy1617": "v5ef-b7es",
    "crimes": "ijzp-q8t2",
}

# SoQL filters that keep the big datasets to what a plan needs ({year} is filled in)
PORTAL_FILTERS = {"crimes": "year = {year}"}

Opener = Callable[..., Any]


class FetchError(SafePassageError, ConnectionError):
    """A download failed or the host cannot be reached."""


class PlaceError(SafePassageError, LookupError):
    """The geocoder does not know the place, or OpenStreetMap holds no streets or schools there."""


OFFLINE_HINT = (
    "On an offline machine point SAFEPASSAGE_DATA at a folder that already holds the data"
)
PLACE_OFFLINE_HINT = (
    "On an offline machine, plan from network files you have: [data] networks takes "
    "GraphML, OSM XML or street centerlines"
)


def _check_reachable(host: str, *, timeout_s: float = 5.0, hint: str = OFFLINE_HINT) -> None:
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return
    except OSError as exc:
        raise FetchError(f"cannot reach {host} ({exc}); fetching needs internet. {hint}") from exc


def fetch_walk_network(place: str, dest: Path, *, check: bool = True) -> Path:
    """Download the OpenStreetMap walk network of a place with osmnx; save gzipped GraphML.

    Parameters
    ----------
    place
        A place name geocoded by Nominatim, e.g. ``"Englewood, Chicago, Illinois, USA"``.
    dest
        Target ``.graphml.gz`` file; written atomically.
    check
        Check that the Overpass host answers first (fail fast offline).
    """
    import osmnx as ox

    if check:
        _check_reachable(OVERPASS_HOST)
    logger.info("downloading the OSM walk network of %s", place)
    try:
        graph = ox.graph_from_place(place, network_type="walk")
    except Exception as exc:  # osmnx raises many types for HTTP and geocoding failures
        raise FetchError(f"osmnx could not download {place!r}: {exc}") from exc
    _save_graphml_gz(graph, dest)
    return dest


def _save_graphml_gz(graph: nx.MultiDiGraph, dest: Path) -> None:
    """Write ``graph`` as gzipped GraphML to ``dest`` atomically (osmnx's GraphML writer)."""
    import osmnx as ox

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    plain = dest.with_name(dest.name + ".graphml.part")
    try:
        ox.save_graphml(graph, plain)
        with plain.open("rb") as src, gzip.open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        tmp.replace(dest)
    finally:
        plain.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def fetch_portal_dataset(
    dataset_id: str,
    dest: Path,
    *,
    fmt: str = "csv",
    where: str | None = None,
    opener: Opener = urllib.request.urlopen,
    check: bool = True,
) -> Path:
    """Download a Chicago Data Portal (Socrata) export to ``dest`` atomically.

    Parameters
    ----------
    dataset_id
        The 4x4 Socrata id, e.g. ``"75e5-35kf"``.
    fmt
        ``"csv"`` or ``"geojson"``.
    where
        An optional SoQL ``$where`` filter, e.g. ``"year = 2016"``.
    opener
        ``urllib.request.urlopen`` or a stand-in that replays a recorded response (tests).
    """
    if fmt not in {"csv", "geojson"}:
        raise DataError(f"fmt must be 'csv' or 'geojson', got {fmt!r}")
    if check:
        _check_reachable(PORTAL_HOST)
    query = {"$limit": "10000000"}
    if where:
        query["$where"] = where
    url = f"https://{PORTAL_HOST}/resource/{dataset_id}.{fmt}?" + urllib.parse.urlencode(query)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with opener(url, timeout=60) as response, tmp.open("wb") as out:
            status = getattr(response, "status", 200)
            if status != 200:
                raise FetchError(f"{url} answered HTTP {status}")
            shutil.copyfileobj(response, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"download of {url} failed: {exc}") from exc
    if tmp.stat().st_size == 0:
        tmp.unlink()
        raise FetchError(f"{url} returned an empty file")
    tmp.replace(dest)
    return dest


def area_slug(area: str) -> str:
    """File-name form of a place name: ``"West Englewood"`` -> ``"west_englewood"``."""
    first = area.split(",")[0]
    return "_".join("".join(c if c.isalnum() else " " for c in first.lower()).split())


def fetch_area(
    area: str,
    cache_dir: Path,
    *,
    crime_year: int = 2016,
    opener: Opener = urllib.request.urlopen,
    check: bool = True,
    force: bool = False,
) -> dict[str, Path]:
    """Download what a plan of one area needs into a cache folder.

    The OSM walk network of ``area`` goes to ``<cache>/osm/<slug>.graphml.gz`` and
    each dataset of :data:`PORTAL_DATASETS` to ``<cache>/portal/<name>.csv`` (crimes
    of ``crime_year`` only).  Files already in the cache are kept unless ``force``.
    Both hosts are checked first, so an offline machine fails within seconds.

    Parameters
    ----------
    area
        A place name; without a comma it is taken as a Chicago community area
        (``"Englewood"`` -> ``"Englewood, Chicago, Illinois, USA"``).
    cache_dir
        Folder to write into (created when missing).
    crime_year
        Calendar year of the police incidents to download.
    opener
        ``urllib.request.urlopen`` or a stand-in that replays recorded responses (tests).

    Returns
    -------
    dict
        Name (``"osm"`` and each dataset name) -> path of the cached file.
    """
    if check:
        _check_reachable(PORTAL_HOST)
        _check_reachable(OVERPASS_HOST)
    place = area if "," in area else f"{area}, Chicago, Illinois, USA"
    files = {"osm": cache_dir / "osm" / f"{area_slug(area)}.graphml.gz"}
    files |= {name: cache_dir / "portal" / f"{name}.csv" for name in PORTAL_DATASETS}
    for name, dest in files.items():
        if dest.is_file() and not force:
            logger.info("%s: kept the cached %s", name, dest)
            continue
        if name == "osm":
            fetch_walk_network(place, dest, check=False)
            continue
        where = PORTAL_FILTERS.get(name)
        logger.info("downloading %s (%s)", name, PORTAL_DATASETS[name])
        fetch_portal_dataset(
            PORTAL_DATASETS[name],
            dest,
            where=where.format(year=crime_year) if where else None,
            opener=opener,
            check=False,
        )
    return files


# ----------------------------------------------------------------------------- any place

NETWORK_FILE = "network.graphml.gz"
SCHOOLS_FILE = "schools.geojson"
CONFIG_FILE = "plan.toml"
RECORD_FILE = "fetch.json"
# every file fetch_place writes; the record comes last
PLACE_FILES = (NETWORK_FILE, SCHOOLS_FILE, CONFIG_FILE, RECORD_FILE)
SCHOOL_TAGS: dict[str, bool | str | list[str]] = {"amenity": "school"}
_WRITER = "safepassage fetch"
_SHOWN = 3  # files named in a message


@dataclass(frozen=True)
class FetchedPlace:
    """What :func:`fetch_place` wrote.

    Attributes
    ----------
    folder
        The output folder (absolute).
    network, schools, config
        The walk network (gzipped GraphML, EPSG:4326), the schools (GeoJSON
        points: ``school_id``, ``name``) and the starter ``plan.toml``.
    place
        What was fetched: the geocoder's name of the place, or the box.
    street_nodes, street_edges, school_count
        Sizes of the network (nodes, directed edges) and the number of schools.
    """

    folder: Path
    network: Path
    schools: Path
    config: Path
    place: str
    street_nodes: int
    street_edges: int
    school_count: int


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read ``"WEST,SOUTH,EAST,NORTH"`` (degrees of longitude and latitude) into four floats.

    Raises
    ------
    DataError
        When the text is not four numbers, a value is out of range, or west is not
        west of east or south not south of north (the message says which).
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise DataError(
            f"bbox {text!r}: give four numbers WEST,SOUTH,EAST,NORTH in degrees "
            "(longitude, latitude), e.g. -87.66,41.76,-87.63,41.79"
        ) from None
    return check_bbox((west, south, east, north), text)


def check_bbox(
    bbox: tuple[float, float, float, float], text: str | None = None
) -> tuple[float, float, float, float]:
    """``bbox`` (west, south, east, north in degrees) when it is a box on the globe;
    :class:`DataError` saying what is wrong otherwise (naming ``text``, the box as given)."""
    west, south, east, north = (float(v) for v in bbox)
    problems = []
    if not all(-180 <= v <= 180 for v in (west, east)):
        problems.append("WEST and EAST are longitudes, from -180 to 180")
    if not all(-90 <= v <= 90 for v in (south, north)):
        problems.append("SOUTH and NORTH are latitudes, from -90 to 90 (lon/lat swapped?)")
    if west >= east:
        problems.append(f"WEST ({west:g}) must be less than EAST ({east:g})")
    if south >= north:
        problems.append(f"SOUTH ({south:g}) must be less than NORTH ({north:g})")
    if problems:
        given = text if text is not None else ",".join(f"{v:g}" for v in bbox)
        raise DataError(f"bbox {given!r}: " + "; ".join(problems))
    return west, south, east, north


def _bbox_slug(bbox: tuple[float, float, float, float]) -> str:
    return "bbox_" + "_".join(f"{v:.4f}" for v in bbox)


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).hostname or url


@contextmanager
def _osmnx_cache(folder: Path, *, use: bool) -> Iterator[None]:
    """osmnx caches its HTTP responses in ``folder`` (not ``./cache``) while the block runs.

    osmnx keeps its options in module globals; they are restored afterwards.
    """
    import osmnx as ox

    saved = ox.settings.cache_folder, ox.settings.use_cache
    ox.settings.cache_folder, ox.settings.use_cache = str(folder), use
    try:
        yield
    finally:
        ox.settings.cache_folder, ox.settings.use_cache = saved


@contextmanager
def _download_errors(what: str) -> Iterator[None]:
    """HTTP failures inside osmnx become a FetchError naming the host."""
    import requests
    from osmnx._errors import ResponseStatusCodeError

    try:
        yield
    except requests.RequestException as exc:
        url = str(exc.request.url or "") if exc.request is not None else ""
        host = _host(url) if url else "the OpenStreetMap servers"
        raise FetchError(
            f"downloading {what} failed: cannot get an answer from {host} ({exc}); "
            "check the internet connection (and a proxy, if any) and run again"
        ) from exc
    except ResponseStatusCodeError as exc:
        raise FetchError(f"downloading {what} failed: {exc}; run again later") from exc


def _area(
    place: str | None, bbox: tuple[float, float, float, float] | None
) -> tuple[BaseGeometry, str]:
    """The polygon to download and how messages name it."""
    import shapely

    if place is not None:
        return _geocode(place)
    assert bbox is not None  # fetch_place asks for one of the two
    return shapely.box(*bbox), "the box " + ",".join(f"{v:g}" for v in bbox)


def _geocode(place: str) -> tuple[BaseGeometry, str]:
    """The boundary polygon of ``place`` from Nominatim and the geocoder's name of it."""
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    with _download_errors(f"the boundary of {place!r}"):
        try:
            found = ox.geocode_to_gdf(place)
        except InsufficientResponseError as exc:
            raise PlaceError(
                f"place {place!r} not found by the Nominatim geocoder ({exc}); check the "
                "spelling, add the region and country (e.g. 'Englewood, Chicago, Illinois, "
                "USA'), or give the area as --bbox WEST,SOUTH,EAST,NORTH"
            ) from exc
        except TypeError as exc:  # osmnx: only points or lines matched
            raise PlaceError(
                f"place {place!r} is known to the Nominatim geocoder only as a point or a "
                "line, not an area with a boundary; name the town or district it lies in, "
                "or give the area as --bbox WEST,SOUTH,EAST,NORTH"
            ) from exc
    name = str(found["display_name"].iloc[0]) if "display_name" in found else place
    return found.geometry.iloc[0], name


def _walk_graph(polygon: BaseGeometry, place: str) -> nx.MultiDiGraph:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    with _download_errors(f"the walk network of {place}"):
        try:
            return ox.graph_from_polygon(polygon, network_type="walk")
        except InsufficientResponseError as exc:
            raise PlaceError(
                f"OpenStreetMap has no walkable street in {place} ({exc}); check the place "
                "or widen the --bbox"
            ) from exc


def _school_features(polygon: BaseGeometry, place: str) -> gpd.GeoDataFrame:
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    with _download_errors(f"the schools of {place}"):
        try:
            return ox.features_from_polygon(polygon, SCHOOL_TAGS)
        except InsufficientResponseError as exc:
            raise PlaceError(
                f"OpenStreetMap has no school (amenity=school) in {place}; check the place, "
                "or widen the --bbox to take in the schools to plan"
            ) from exc


def school_points(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """OSM school features (osmnx's nodes, ways and relations) as one point per school.

    A school mapped as an area gets its centroid (a point inside it when the
    centroid falls outside, e.g. an L-shaped campus).  A school node inside a
    school area is a second mapping of that school and is dropped when it has no
    name or the area's name.

    Parameters
    ----------
    features
        :func:`osmnx.features_from_polygon` output: index levels ``element``
        (``node``/``way``/``relation``) and ``id``; EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id`` (``osm-node-123``, ``osm-way-45``), ``name`` (the OSM name,
        else the school id), geometry (points, EPSG:4326), in OSM order.
    """
    import geopandas as gpd
    import pandas as pd

    elements = features.index.get_level_values("element").astype(str)
    osm_ids = features.index.get_level_values("id").astype(str)
    ids = pd.Series([f"osm-{e}-{i}" for e, i in zip(elements, osm_ids, strict=True)])
    raw = features["name"] if "name" in features else pd.Series(None, index=features.index)
    names = pd.Series(raw.to_numpy(), dtype=object).where(lambda s: s.notna(), "")
    names = names.astype(str).str.strip()
    # metres around the schools' centre (estimate_utm_crs queries the PROJ database: slow)
    west, south, east, north = features.total_bounds
    metric_crs = f"+proj=aeqd +lat_0={(south + north) / 2} +lon_0={(west + east) / 2} +units=m"
    shapes = features.geometry.to_crs(metric_crs).reset_index(drop=True)
    points = [shape if shape.geom_type == "Point" else _inner_centre(shape) for shape in shapes]
    schools = gpd.GeoDataFrame(
        {"school_id": ids, "name": names.where(names != "", ids)},
        geometry=gpd.GeoSeries(points, crs=metric_crs),
    )
    areas = shapes.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    duplicate = _second_mappings(schools, shapes, names, areas)
    if duplicate.any():
        logger.info(
            "dropped %d school node(s) mapped again as an area: %s",
            int(duplicate.sum()),
            ", ".join(schools.loc[duplicate, "school_id"]),
        )
    return schools[~duplicate].to_crs(4326).reset_index(drop=True)


def _inner_centre(shape: BaseGeometry) -> BaseGeometry:
    centre = shape.centroid
    return centre if shape.covers(centre) else shape.representative_point()


def _second_mappings(
    schools: gpd.GeoDataFrame, shapes: gpd.GeoSeries, names: pd.Series, areas: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which rows are nodes inside a school area with no name or the area's name."""
    import numpy as np

    duplicate = np.zeros(len(schools), dtype=bool)
    nodes = np.flatnonzero(schools["school_id"].str.startswith("osm-node-").to_numpy())
    for area in np.flatnonzero(areas):
        inside = nodes[shapes.iloc[nodes].within(shapes.iloc[area]).to_numpy()]
        for node in inside:
            same = names.iloc[node].casefold() == names.iloc[area].casefold()
            duplicate[node] |= names.iloc[node] == "" or same
    return duplicate


def _toml_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def starter_config(name: str, place: str, *, street_edges: int, school_count: int) -> str:
    """The ``plan.toml`` written beside the fetched files.

    The network and the schools are set; incidents, population, routes,
    profiles, vendors and workers are commented keys showing where a planner adds
    them (``safepassage validate`` names those the plan cannot do without).
    """
    today = dt.datetime.now(dt.UTC).date().isoformat()
    header = (
        f"# Starter plan of {place}, written by `safepassage fetch` on {today}\n"
        "# from OpenStreetMap data (c) OpenStreetMap contributors, ODbL 1.0:\n"
        f"#   {NETWORK_FILE}  the OSM walk network ({street_edges} directed street edges)\n"
        f"#   {SCHOOLS_FILE}     the {school_count} schools tagged amenity=school "
        "(school_id osm-node-N, osm-way-N, ...)\n"
        "# `safepassage validate plan.toml` checks it and names what is missing;\n"
        "# `safepassage plan plan.toml` plans it.  "
        "`safepassage config --template` lists every key.\n"
        "# Paths are relative to this file."
    )
    return f"""{header}

[plan]
name = {_toml_text(name)}
# The place's IANA time zone (e.g. "Europe/Berlin"): bells and incident times are read in it
timezone = "America/Chicago"

[data]
networks = [{_toml_text(NETWORK_FILE)}]
schools = {_toml_text(SCHOOLS_FILE)}
# What OpenStreetMap does not hold; add the planner's own files here:
# incidents = ["incidents.csv"]         # police incident tables: the risk of each street
# blocks = "census_blocks.geojson"      # census block (or tract) polygons and
# population = "block_population.csv"   #   their population: where students walk from
# profiles = "school_profiles.csv"      # enrollment and bell times, by the school_id above
# designated_routes = "routes.geojson"  # the routes the city runs: the plan's corridors
# reference_routes = "routes.geojson"   # official routes the designed ones are compared with
# vendors = "vendors.csv"               # the vendors who staff the posts
# workers = "workers.csv"               #   and their workers: without both, no roster

[windows]
# Bells of schools without a profile (OSM has no bell times)
default_start = "08:00"
default_end = "15:00"

[output]
dir = {_toml_text(f"out/{name}")}
"""


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _read_record(folder: Path) -> dict[str, list[str]] | None:
    """File name -> digests it may have, from the folder's ``fetch.json``; None if not ours."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = record.get("files") if isinstance(record, dict) else None
    if record.get("written_by") != _WRITER or not isinstance(files, dict):
        return None
    return {str(k): [str(d) for d in v] for k, v in files.items() if isinstance(v, list)}


def _check_place_folder(folder: Path) -> dict[str, list[str]]:
    """Check that fetch may write ``folder``; the digests of the files it wrote there before.

    A new or empty folder is fine; so is a folder of an earlier fetch, as long as
    every file it is about to replace is as that fetch wrote it (a ``plan.toml``
    the planner edited is never overwritten).  Other files there (a plan's
    ``out/``) are left alone.

    Raises
    ------
    OutputFolderError
        Naming the folder, a few of the files in the way and what to do.
    """
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"output path {folder} is an existing file; choose a folder path")
    entries = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not entries:
        return {}
    record = _read_record(folder)
    if record is None:
        raise OutputFolderError(
            f"output folder {folder} is not empty and was not written by safepassage fetch "
            f"(no {RECORD_FILE} of it): it holds {_few(entries)}. fetch writes only into a new "
            "or empty folder or over an earlier fetch: choose another --out, or remove those files."
        )
    changed = []
    for name in PLACE_FILES[:-1]:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            continue
        if path.is_symlink() or not path.is_file() or _digest(path) not in record.get(name, []):
            changed.append(name)
    if changed:
        raise OutputFolderError(
            f"output folder {folder}: {_few(changed)} changed since safepassage fetch wrote "
            f"{'it' if len(changed) == 1 else 'them'} (edited?) and would be overwritten. Move "
            "them elsewhere, or choose another --out for the new download."
        )
    return record


def _write_place_files(folder: Path, write: Callable[[Path], None], record: dict[str, Any]) -> None:
    """Write the fetched files into ``folder``: all of them or, on any failure, none.

    ``write(stage)`` writes every file of :data:`PLACE_FILES` but the record into
    ``stage``.  A new folder is staged beside it and renamed into place.  Into an
    existing folder (never renamed: it may be the shell's working directory) the
    files are staged inside it and moved over their old versions with interrupts
    held back, the record first listing old and new digests (so a run killed
    mid-way is still recognised as fetch's own), then only the new ones.
    """
    fresh = not folder.exists()
    if fresh:
        folder.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    else:
        stage = Path(tempfile.mkdtemp(prefix=".safepassage-fetch-", dir=folder))
    try:
        stage.chmod(0o755)
        write(stage)
        new = {name: _digest(stage / name) for name in PLACE_FILES[:-1]}
        with deferred_interrupts():
            old = _check_place_folder(folder)  # files may have appeared while downloading
            if fresh and not folder.exists():
                _write_record(stage, record, {n: [d] for n, d in new.items()})
                stage.rename(folder)
                return
            journal = {n: sorted({*old.get(n, []), d}) for n, d in new.items()}
            _write_record(folder, record, journal)
            for name in new:
                os.replace(stage / name, folder / name)
            _write_record(folder, record, {n: [d] for n, d in new.items()})
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_record(folder: Path, record: dict[str, Any], files: dict[str, list[str]]) -> None:
    text = json.dumps({**record, "files": files}, indent=2, ensure_ascii=False) + "\n"
    part = folder / f".{RECORD_FILE}.part"
    part.write_text(text, encoding="utf-8")
    part.replace(folder / RECORD_FILE)


def fetch_place(
    place: str | None = None,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    out: str | os.PathLike[str] | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    check: bool = True,
) -> FetchedPlace:
    """Download the OSM walk network and schools of any place, with a starter plan config.

    Writes into ``out``: ``network.graphml.gz`` (the walk network, osmnx's
    largest connected piece, EPSG:4326), ``schools.geojson`` (:func:`school_points`),
    ``plan.toml`` (:func:`starter_config`) and ``fetch.json`` (what was fetched,
    when, and the digest of each file).  Everything is downloaded before anything
    is written, and the files appear together or not at all.

    Parameters
    ----------
    place
        A place name the Nominatim geocoder knows as an area, e.g.
        ``"Evanston, Illinois, USA"``.
    bbox
        Instead of ``place``: ``(west, south, east, north)`` in degrees of
        longitude and latitude (:func:`parse_bbox` reads the text form).
    out
        Output folder: new, empty, or one an earlier fetch wrote (its files are
        replaced unless changed since; other files stay).  Default: a slug of the
        place (``"evanston"``) or the box in the working directory.
    cache_dir
        Where osmnx keeps the HTTP responses, so a second fetch of the same place
        sends no request; default ``<stage cache>/osmnx``.
    force
        Download again: osmnx neither reads nor writes its cache in this run.
    check
        Check first that the geocoder and Overpass hosts answer (fail fast offline).

    Raises
    ------
    FetchError
        A host cannot be reached or answers with an error (the message names it).
    PlaceError
        The geocoder does not know the place as an area, or it has no walkable
        street or no school on OpenStreetMap.
    OutputFolderError
        ``out`` holds files that fetch did not write, or that changed since (checked
        before any download).
    DataError
        Neither or both of ``place`` and ``bbox`` given, or a bad box.
    """
    import osmnx as ox

    if place is not None and bbox is None:
        slug = area_slug(place) or "place"
    elif bbox is not None and place is None:
        bbox = check_bbox(bbox)
        slug = _bbox_slug(bbox)
    else:
        raise DataError("give either a place name or a bbox (west, south, east, north), not both")
    folder = Path(out if out is not None else slug).absolute()
    _check_place_folder(folder)
    if check:
        if place is not None:
            _check_reachable(_host(ox.settings.nominatim_url), hint=PLACE_OFFLINE_HINT)
        _check_reachable(_host(ox.settings.overpass_url), hint=PLACE_OFFLINE_HINT)
    if cache_dir is None:
        from .config import default_cache_dir

        cache_dir = default_cache_dir()
    with _osmnx_cache(cache_dir / "osmnx", use=not force):
        polygon, label = _area(place, bbox)
        logger.info("downloading the OSM walk network and schools of %s", label)
        graph = _walk_graph(polygon, label)
        schools = school_points(_school_features(polygon, label))
    config_text = starter_config(
        slug, label, street_edges=graph.number_of_edges(), school_count=len(schools)
    )

    def write(stage: Path) -> None:
        _save_graphml_gz(graph, stage / NETWORK_FILE)
        # 7 decimals of a degree: about a centimetre
        schools.to_file(stage / SCHOOLS_FILE, driver="GeoJSON", COORDINATE_PRECISION=7)
        (stage / CONFIG_FILE).write_text(config_text, encoding="utf-8")

    record = {
        "written_by": _WRITER,
        "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "place": place,
        "bbox": list(bbox) if bbox is not None else None,
        "geocoded_as": label if place is not None else None,
        "osmnx": ox.__version__,
        "source": "OpenStreetMap (c) OpenStreetMap contributors, ODbL 1.0",
        "counts": {
            "street_nodes": graph.number_of_nodes(),
            "street_edges": graph.number_of_edges(),
            "schools": len(schools),
        },
    }
    try:
        _write_place_files(folder, write, record)
    except OSError as exc:  # permissions, a full disk
        raise OutputFolderError(f"cannot write the output folder {folder}: {exc}") from exc
    return FetchedPlace(
        folder,
        folder / NETWORK_FILE,
        folder / SCHOOLS_FILE,
        folder / CONFIG_FILE,
        label,
        graph.number_of_nodes(),
        graph.number_of_edges(),
        len(schools),
    )
