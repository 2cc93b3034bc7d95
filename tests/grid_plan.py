"""A whole plan's inputs made by hand: a 9 x 9 street grid with two schools.

Everything the pipeline reads is written into a folder (street centrelines,
school points and profiles, incidents in the Chicago police schema, census
blocks with their population, vendors, workers, and a config), so ``plan()``
runs end to end in seconds without the shared data.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

CRS = 26916
X0, Y0, STEP, N = 440_000.0, 4_630_000.0, 100.0, 9
SCHOOLS = {"S1": (2, 2), "S2": (6, 6)}  # grid indices of each school's corner


def corner(i: int, j: int) -> tuple[float, float]:
    return X0 + i * STEP, Y0 + j * STEP


def _streets() -> gpd.GeoDataFrame:
    span = (N - 1) * STEP
    rows = []
    for k in range(N):
        off = k * STEP
        rows.append((f"{k + 1} St", "residential", ((X0, Y0 + off), (X0 + span, Y0 + off))))
        rows.append(
            (
                f"Ave {chr(65 + k)}",
                "secondary" if k == 4 else "residential",
                ((X0 + off, Y0), (X0 + off, Y0 + span)),
            )
        )
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows], "highway": [r[1] for r in rows]},
        geometry=[shapely.LineString(r[2]) for r in rows],
        crs=CRS,
    )


def _lonlat(points: list[tuple[float, float]]) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(p) for p in points], crs=CRS).to_crs(4326)


def write_inputs(folder: Path, *, streets: list[str] | None = None) -> Path:
    """Write every input and ``plan.toml`` into ``folder``; returns the config path.

    ``streets``: names of the network files to list (``west.geojson``,
    ``east.geojson``: the grid cut in two along Ave E), in that order; default
    the whole grid in one file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    grid = _streets()
    grid.to_file(folder / "streets.geojson", driver="GeoJSON")
    cut = X0 + 4 * STEP
    west = grid.clip(shapely.box(X0 - 1, Y0 - 1, cut, Y0 + N * STEP))
    east = grid.clip(shapely.box(cut, Y0 - 1, X0 + N * STEP, Y0 + N * STEP))
    for name, part in (("west", west), ("east", east)):
        part = part[part.geometry.length > 0].explode(index_parts=False)
        part[part.geom_type == "LineString"].to_file(folder / f"{name}.geojson", driver="GeoJSON")
    where = _lonlat([corner(*ij) for ij in SCHOOLS.values()])
    pd.DataFrame(
        {
            "School_ID": list(SCHOOLS),
            "Short_Name": ["GRID ELEMENTARY", "GRID HIGH"],
            "Grades": ["K,1,2,3,4,5,6,7,8", "9,10,11,12"],
            "Lat": where.y.round(7),
            "Long": where.x.round(7),
        }
    ).to_csv(folder / "schools.csv", index=False)
    pd.DataFrame(
        {
            "School_ID": list(SCHOOLS),
            "Student_Count_Total": [400, 600],
            "School_Hours": ["8:00 AM - 3:00 PM", "8:30 AM - 3:30 PM"],
        }
    ).to_csv(folder / "profiles.csv", index=False)
    _incidents(folder / "incidents.csv")
    _blocks(folder)
    pd.DataFrame(
        {"vendor_id": ["V1"], "name": ["Grid Community Partners"], "school_ids": ["S1;S2"]}
    ).to_csv(folder / "vendors.csv", index=False)
    pd.DataFrame({"worker_id": [f"W{i}" for i in range(1, 7)], "vendor_id": ["V1"] * 6}).to_csv(
        folder / "workers.csv", index=False
    )
    networks = ", ".join(f'"{s}"' for s in (streets or ["streets.geojson"]))
    config = folder / "plan.toml"
    config.write_text(f"""\
[plan]
name = "grid"
seed = 7
date = "2016-10-03"

[data]
networks = [{networks}]
schools = "schools.csv"
profiles = "profiles.csv"
incidents = ["incidents.csv"]
population = "population.csv"
blocks = "blocks.geojson"
vendors = "vendors.csv"
workers = "workers.csv"
cache_dir = "cache"

[routes]
radius_elementary_m = 900
radius_high_m = 900
min_students = 5
corridor_budget_m = 600

[posts]
per_school = 2

[staffing]
time_limit_s = 5
num_workers = 1

[output]
dir = "out"
""")
    return config


def _incidents(path: Path) -> None:
    """Shootings along 5 St (between Ave B and Ave H), mornings and afternoons of 2016."""
    points, dates = [], []
    for k in range(24):
        points.append((X0 + (1.5 + (k % 6)) * STEP, Y0 + 4 * STEP + 5.0))
        clock = "07:15:00 AM" if k % 2 == 0 else "03:10:00 PM"
        dates.append(f"{1 + k % 9:02d}/{3 + k % 20:02d}/2016 {clock}")
    where = _lonlat(points)
    pd.DataFrame(
        {
            "ID": range(1, len(points) + 1),
            "Date": dates,
            "Primary Type": ["BATTERY"] * len(points),
            "Description": ["AGGRAVATED - HANDGUN"] * len(points),
            "Latitude": where.y.round(7),
            "Longitude": where.x.round(7),
        }
    ).to_csv(path, index=False)


def _blocks(folder: Path) -> None:
    """Four census blocks, one per quadrant of the grid, with their population."""
    half = (N - 1) * STEP / 2
    boxes, codes = [], []
    for q, (i, j) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
        x, y = X0 + i * half, Y0 + j * half
        boxes.append(shapely.box(x, y, x + half, y + half))
        codes.append(f"670100{1001 + q}")
    gpd.GeoDataFrame({"tract_bloc": codes}, geometry=boxes, crs=CRS).to_file(
        folder / "blocks.geojson", driver="GeoJSON"
    )
    pd.DataFrame(
        {"CENSUS BLOCK": [c.lstrip("0") for c in codes], "TOTAL POPULATION": [900, 700, 800, 1000]}
    ).to_csv(folder / "population.csv", index=False)
