"""Run records: the manifest (inputs, config, versions, seed), partner and roster tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .config import PlanConfig
from .crs import WGS84
from .errors import DataError, MissingColumnError
from .io import write_json
from .schedule import weekday_order

__all__ = [
    "MANIFEST_VERSION",
    "PACKAGES",
    "file_sha256",
    "package_versions",
    "partner_csv",
    "roster_layer",
    "runtime_dependencies",
    "write_manifest",
]

MANIFEST_VERSION = 1
#: Runtime dependencies when safepassage's own metadata cannot be read (not installed).
PACKAGES = (
    "safepassage",
    "osmnx",
    "networkx",
    "geopandas",
    "shapely",
    "pyogrio",
    "pyproj",
    "numpy",
    "pandas",
    "scipy",
    "numba",
    "ortools",
    "folium",
    "matplotlib",
    "pyarrow",
    "tqdm",
)
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_CHUNK = 1 << 20
_PARTNER_COLUMNS = [
    "vendor_id",
    "school_id",
    "post_id",
    "cross_streets",
    "lat",
    "lon",
    "window",
    "start",
    "end",
    "weekdays",
    "worker_id",
]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (never whole into memory)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def runtime_dependencies(distribution: str = "safepassage") -> tuple[str, ...]:
    """``distribution`` and the names of its runtime dependencies, from its ``Requires-Dist``.

    Requirements that apply only with an extra (``dask``, ``dev``) are skipped; the
    extras of a requirement (``osmnx[neighbors]``) are dropped from its name.  Falls
    back to :data:`PACKAGES` when the distribution is not installed.
    """
    try:
        requires = importlib.metadata.requires(distribution)
    except importlib.metadata.PackageNotFoundError:
        return PACKAGES
    names = [distribution]
    for requirement in requires or ():
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _REQUIREMENT_NAME.match(spec)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return tuple(names)


def package_versions(packages: Iterable[str] | None = None) -> dict[str, str]:
    """Installed version of each package, ``"not installed"`` when absent.

    ``packages`` defaults to :func:`runtime_dependencies` (safepassage and every
    runtime dependency it declares).
    """
    versions = {}
    for name in runtime_dependencies() if packages is None else packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(
    path: str | os.PathLike[str],
    *,
    config: PlanConfig | Mapping[str, Any],
    inputs: Iterable[str | os.PathLike[str]],
    seed: int,
    stage_timings: Mapping[str, float],
    metrics: Mapping[str, Any],
    versions: Mapping[str, str] | None = None,
) -> Path:
    """Write ``manifest.json``: what went in, with which software, and what came out.

    Parameters
    ----------
    path
        Target file (written atomically).
    config
        The plan configuration, or its :meth:`PlanConfig.to_dict`.
    inputs
        Input files; each is hashed (SHA-256, streamed) and its size recorded.
    seed
        The seed the run used.
    stage_timings
        Seconds per stage.
    metrics
        Headline figures (JSON-serialisable; numpy numbers are fine).
    versions
        Package versions; default :func:`package_versions` (every runtime dependency).

    Returns
    -------
    pathlib.Path
        ``path``.  The JSON holds ``manifest_version``, ``created_utc``, ``seed``,
        ``config``, ``inputs`` (``path``, ``bytes``, ``sha256``), ``versions``,
        ``python``, ``platform``, ``stage_timings_s`` and ``metrics``;
        :func:`~safepassage.outputs.write_outputs` adds ``outputs``, the relative
        paths of the files written beside it.

    Raises
    ------
    DataError
        If an input file does not exist.
    """
    files = [Path(p) for p in inputs]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise DataError(f"manifest inputs not found: {missing}")
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": int(seed),
        "config": config.to_dict() if isinstance(config, PlanConfig) else dict(config),
        "inputs": [
            {"path": str(p.resolve()), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
            for p in files
        ],
        "versions": dict(versions) if versions is not None else package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "stage_timings_s": {k: round(float(v), 3) for k, v in stage_timings.items()},
        "metrics": dict(metrics),
    }
    return write_json(manifest, path)


def partner_csv(roster: pd.DataFrame, posts: pd.DataFrame) -> pd.DataFrame:
    """The table a vendor gets: where and when each worker stands (no student data).

    Parameters
    ----------
    roster
        Roster assignments: ``worker_id``, ``vendor_id``, ``post_id``, ``school_id``,
        ``weekday``, ``window``, ``start``, ``end`` (one row per worker, post-window, day).
    posts
        Posts: ``post_id``, ``cross_streets`` and a point geometry (any CRS) or
        ``lat``/``lon`` columns.

    Returns
    -------
    pandas.DataFrame
        One row per worker, post and window with ``vendor_id``, ``school_id``,
        ``post_id``, ``cross_streets``, ``lat``, ``lon`` (degrees, 6 decimals),
        ``window``, ``start``, ``end``, ``weekdays`` (``;``-joined, Mon..Fri order),
        ``worker_id``; sorted by vendor, school, post, window, worker.  Only these
        columns are kept, whatever else the inputs hold.
    """
    needed = ["worker_id", "vendor_id", "post_id", "school_id", "weekday", "window", "start", "end"]
    missing = [c for c in needed if c not in roster.columns]
    if missing:
        raise MissingColumnError(missing, found=roster.columns, source="roster assignments")
    places = _post_places(posts)
    unknown = sorted(set(roster["post_id"].astype(str)) - set(places.index))
    if unknown:
        raise DataError(f"roster names posts not in the posts table: {unknown[:10]}")
    keys = ["vendor_id", "school_id", "post_id", "window", "start", "end", "worker_id"]
    table = roster[needed].astype({"post_id": str, "worker_id": str, "vendor_id": str})
    grouped = (
        table.groupby(keys, sort=False)["weekday"]
        .agg(lambda days: ";".join(sorted(set(days), key=weekday_order)))
        .rename("weekdays")
        .reset_index()
    )
    grouped = grouped.join(places, on="post_id")
    sort = ["vendor_id", "school_id", "post_id", "window", "worker_id"]
    return grouped.sort_values(sort, kind="stable")[_PARTNER_COLUMNS].reset_index(drop=True)


def _post_places(posts: pd.DataFrame) -> pd.DataFrame:
    """``cross_streets``, ``lat``, ``lon`` indexed by post id."""
    if "post_id" not in posts.columns:
        raise MissingColumnError(["post_id"], found=posts.columns, source="posts")
    ids = posts["post_id"].astype(str).to_numpy()
    streets = posts["cross_streets"] if "cross_streets" in posts else pd.Series("", posts.index)
    if isinstance(posts, gpd.GeoDataFrame) and posts.crs is not None:
        lonlat = posts.geometry.to_crs(WGS84)
        lat, lon = lonlat.y.to_numpy(), lonlat.x.to_numpy()
    elif {"lat", "lon"} <= set(posts.columns):
        lat, lon = posts["lat"].to_numpy(dtype=float), posts["lon"].to_numpy(dtype=float)
    else:
        raise MissingColumnError(["geometry or lat/lon"], found=posts.columns, source="posts")
    places = pd.DataFrame(
        {"cross_streets": streets.fillna("").astype(str).to_numpy(), "lat": lat, "lon": lon},
        index=pd.Index(ids, name="post_id"),
    ).round({"lat": 6, "lon": 6})
    return places[~places.index.duplicated()]


def roster_layer(
    posts: gpd.GeoDataFrame, roster: pd.DataFrame | None, windows: pd.DataFrame
) -> gpd.GeoDataFrame:
    """The selected posts with their workers, one row per post and window.

    Columns: ``post_id``, ``school_id``, ``cross_streets``, ``window``, ``start``,
    ``end`` (the school's window times), ``workers`` (``;``-joined worker ids of any
    weekday), ``days_staffed`` (weekdays with a worker), geometry (the post).
    Without a roster every post-window has no worker.
    """
    chosen = posts[posts["selected"].astype(bool)]
    times = windows[["school_id", "window", "start", "end"]].astype(str)
    rows = chosen[["post_id", "school_id", "cross_streets", "geometry"]].merge(
        times, on="school_id", how="left"
    )
    if roster is not None and len(roster):
        staffed = (
            roster.astype({"post_id": str, "worker_id": str})
            .groupby(["post_id", "window"])
            .agg(
                workers=("worker_id", lambda w: ";".join(sorted(set(w)))),
                days_staffed=("weekday", "nunique"),
            )
            .reset_index()
        )
        rows = rows.merge(staffed, on=["post_id", "window"], how="left")
    else:
        rows = rows.assign(workers="", days_staffed=0)
    rows["workers"] = rows["workers"].fillna("")
    rows["days_staffed"] = rows["days_staffed"].fillna(0).astype(int)
    columns = [
        "post_id",
        "school_id",
        "cross_streets",
        "window",
        "start",
        "end",
        "workers",
        "days_staffed",
    ]
    table = rows.sort_values(["post_id", "window"], ignore_index=True)
    return gpd.GeoDataFrame(table[[*columns, "geometry"]], geometry="geometry", crs=posts.crs)
