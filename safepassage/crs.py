"""Choose and check the local metric coordinate reference system."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pyproj

from .errors import CRSError

__all__ = ["WGS84", "check_metric_crs", "local_metric_crs", "transformer"]

WGS84 = pyproj.CRS.from_epsg(4326)


def local_metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the UTM CRS of the zone that holds a point.

    Parameters
    ----------
    lon, lat
        A point in degrees (EPSG:4326), usually the centre of the study area.

    Returns
    -------
    pyproj.CRS
        NAD83 / UTM (EPSG:269xx) in North America, for Chicago EPSG:26916;
        WGS 84 / UTM (EPSG:326xx north, 327xx south) elsewhere.
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CRSError(
            f"centre ({lon}, {lat}) is not a longitude/latitude pair; "
            "the data are probably projected already or have latitude and longitude swapped"
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    north_america = lat > 14.0 and -172.0 <= lon <= -48.0
    if north_america and 1 <= zone <= 23:
        return pyproj.CRS.from_epsg(26900 + zone)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def check_metric_crs(crs: Any, *, where: str) -> pyproj.CRS:
    """Check that ``crs`` is a projected CRS in metres and return it as ``pyproj.CRS``.

    Parameters
    ----------
    crs
        Anything ``pyproj.CRS.from_user_input`` accepts, or None.
    where
        What holds the CRS (a file name, a stage), used in the error message.

    Raises
    ------
    CRSError
        If the CRS is missing, geographic, or in units other than metres.
    """
    if crs is None:
        raise CRSError(
            f"{where} has no CRS; set one (for longitude/latitude use EPSG:4326, "
            "for Chicago police X/Y use EPSG:3435)"
        )
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"{where} has an unreadable CRS {crs!r}: {exc}") from exc
    if not parsed.is_projected:
        raise CRSError(
            f"{where} is in the geographic CRS {parsed.to_string()} (degrees); "
            "project it to a local metric CRS first (safepassage.crs.local_metric_crs)"
        )
    units = {axis.unit_name for axis in parsed.axis_info}
    if units - {"metre", "meter"}:
        raise CRSError(
            f"{where} is in {parsed.to_string()} whose units are {sorted(units)}, not metres; "
            "reproject it to a metric CRS (e.g. EPSG:26916 for Chicago)"
        )
    return parsed


@lru_cache(maxsize=64)
def transformer(source: pyproj.CRS, target: pyproj.CRS) -> pyproj.Transformer:
    """The x/y-ordered transformer from ``source`` to ``target``, built once per pair
    (building one takes longer than transforming thousands of points)."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)
