"""Riverton: a made-up town outside Chicago, the worked example of the README's "Another city".

Everything is generated here, deterministically (``python -m tests.riverton FOLDER``
writes it; ``data/examples/riverton/`` holds the committed copy, and
``tests/test_riverton.py`` checks that copy against this generator):

* ``streets.geojson``: street centrelines in Pennsylvania state-plane feet
  (EPSG:2272, US feet), a 16 x 12 grid of 400-ft blocks near Philadelphia crossed by
  a diagonal River Road, with only a ``name`` (no street classes);
* ``schools.geojson``: three school points (EPSG:4326) with only an id, ``CODE``;
* ``incidents.csv``: incident points as ``POINT_X``/``POINT_Y`` state-plane feet,
  without a date, a category or an id, clustered around two corners;
* ``vendors.csv``, ``workers.csv``: one made-up vendor and its 11 made-up workers;
* ``riverton.toml``: the plan, mapping those columns.

There is no population file: each school's enrollment (``default_enrollment``) is
spread along the streets within its walk radius.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

CRS = "EPSG:2272"  # NAD83 / Pennsylvania South (ftUS)
ORIGIN_LONLAT = (-75.215, 39.955)
BLOCK_FT = 400.0
COLUMNS, ROWS = 16, 12  # north-south avenues, east-west streets
SCHOOLS = {"RV-101": (3, 3), "RV-102": (11, 4), "RV-201": (7, 9)}  # grid corners
HOT_SPOTS = ((5, 5), (12, 8))  # corners the incidents cluster around
N_INCIDENTS = 420
SEED = 14
CONFIG = """\
# Riverton: a made-up town near Philadelphia (see README, "Another city").
# Minimal inputs: street centrelines in state-plane feet, school points with only an
# id, incident points without dates or categories, no population file.
[plan]
name = "riverton"
seed = 3
timezone = "America/New_York"
date = "2026-09-14"

[data]
networks = ["streets.geojson"]
schools = { path = "schools.geojson", columns = { school_id = "CODE" } }
incidents = [
  { path = "incidents.csv", columns = { x = "POINT_X", y = "POINT_Y" }, crs = "EPSG:2272" },
]
vendors = "vendors.csv"
workers = "workers.csv"

[schools]
default_enrollment = 350

[routes]
radius_elementary_m = 1200
radius_high_m = 1600
corridor_budget_m = 900

[posts]
per_school = 3

[staffing]
time_limit_s = 5
num_workers = 1

[output]
dir = "out/riverton"
"""


def origin_feet() -> tuple[float, float]:
    to_feet = pyproj.Transformer.from_crs(4326, CRS, always_xy=True)
    x, y = to_feet.transform(*ORIGIN_LONLAT)
    return round(float(x), -2), round(float(y), -2)


def corner(i: int, j: int) -> tuple[float, float]:
    x0, y0 = origin_feet()
    return x0 + i * BLOCK_FT, y0 + j * BLOCK_FT


def streets() -> gpd.GeoDataFrame:
    """The avenues (north-south), the streets (east-west) and River Road (diagonal)."""
    names, lines = [], []
    for i in range(COLUMNS):
        names.append(f"{i + 1}{_suffix(i + 1)} Ave")
        lines.append(shapely.LineString([corner(i, 0), corner(i, ROWS - 1)]))
    trees = ["Ash", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Gum", "Holly", "Ivy", "Juniper"]
    for j in range(ROWS):
        names.append(f"{trees[j % len(trees)]} St" if j < len(trees) else f"North {j} St")
        lines.append(shapely.LineString([corner(0, j), corner(COLUMNS - 1, j)]))
    names.append("River Rd")
    lines.append(shapely.LineString([corner(0, 1), corner(10, ROWS - 1)]))
    return gpd.GeoDataFrame({"name": names}, geometry=lines, crs=CRS)


def _suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def schools() -> gpd.GeoDataFrame:
    points = [shapely.Point(corner(*ij)) for ij in SCHOOLS.values()]
    frame = gpd.GeoDataFrame({"CODE": list(SCHOOLS)}, geometry=points, crs=CRS).to_crs(4326)
    return frame.set_geometry(shapely.set_precision(frame.geometry.values, 1e-7))


def incidents() -> pd.DataFrame:
    """Points near the two hot spots (70%) and anywhere in town (30%), whole feet."""
    rng = np.random.default_rng(SEED)
    hot = int(N_INCIDENTS * 0.7)
    centres = np.array([corner(*ij) for ij in HOT_SPOTS])
    which = rng.integers(0, len(centres), hot)
    near = centres[which] + rng.normal(0.0, 350.0, (hot, 2))
    lo, hi = np.array(corner(0, 0)), np.array(corner(COLUMNS - 1, ROWS - 1))
    anywhere = lo + rng.random((N_INCIDENTS - hot, 2)) * (hi - lo)
    xy = np.round(np.vstack([near, anywhere]))
    return pd.DataFrame({"POINT_X": xy[:, 0], "POINT_Y": xy[:, 1]})


def vendors() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vendor_id": ["RV-V1"],
            "name": ["Riverton Neighbors United"],
            "school_ids": [";".join(SCHOOLS)],
        }
    )


def workers() -> pd.DataFrame:
    return pd.DataFrame({"worker_id": [f"RW{k:02d}" for k in range(1, 12)], "vendor_id": "RV-V1"})


def write(folder: Path) -> Path:
    """Write every Riverton input and ``riverton.toml`` into ``folder``; the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    streets().to_file(folder / "streets.geojson", driver="GeoJSON")
    schools().to_file(folder / "schools.geojson", driver="GeoJSON")
    incidents().to_csv(folder / "incidents.csv", index=False, float_format="%.0f")
    vendors().to_csv(folder / "vendors.csv", index=False)
    workers().to_csv(folder / "workers.csv", index=False)
    config = folder / "riverton.toml"
    config.write_text(CONFIG)
    return config


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
