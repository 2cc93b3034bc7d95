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
    url = (
        f"https://{PORTAL_HOST}/resource/{dataset_id}.{fmt}?"
        + urllib.parse.urlencode(query)
    )
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
