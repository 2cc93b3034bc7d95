"""Downloads: the ONLY module that touches the network.

Nothing here runs at import.  Each function checks that the host answers
before starting, so an offline machine fails in seconds with a clear message
instead of waiting for osmnx's Overpass rate-limit pause.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import socket
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import DataError, SafePassageError

__all__ = [
    "PORTAL_DATASETS",
    "FetchError",
    "area_slug",
    "fetch_area",
    "fetch_portal_dataset",
    "fetch_walk_network",
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


def _check_reachable(host: str, *, timeout_s: float = 5.0) -> None:
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return
    except OSError as exc:
        raise FetchError(
            f"cannot reach {host} ({exc}); fetching needs internet. On an offline machine "
            "point SAFEPASSAGE_DATA at a folder that already holds the data"
        ) from exc


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
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    plain = dest.with_name(dest.name + ".graphml.part")
    ox.save_graphml(graph, plain)
    with plain.open("rb") as src, gzip.open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    plain.unlink()
    tmp.replace(dest)
    return dest


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
