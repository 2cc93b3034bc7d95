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


def _schools(path: Path, where_xy: list[tuple[float, float]], high_name: str) -> None:
    """The two schools (an elementary and a high school) in the SY1516 location schema."""
    where = _lonlat(where_xy)
    pd.DataFrame(
        {
            "School_ID": list(SCHOOLS),
            "Short_Name": ["GRID ELEMENTARY", high_name],
            "Grades": ["K,1,2,3,4,5,6,7,8", "9,10,11,12"],
            "Lat": where.y.round(7),
            "Long": where.x.round(7),
        }
    ).to_csv(path, index=False)


def _profiles(path: Path, enrollment: list[int], hours: list[str]) -> None:
    """The two schools' profiles: enrollment and ``School_Hours`` text."""
    frame = {"School_ID": list(SCHOOLS), "Student_Count_Total": enrollment, "School_Hours": hours}
    pd.DataFrame(frame).to_csv(path, index=False)


def write_inputs(folder: Path, *, streets: list[str] | None = None, extras: bool = False) -> Path:
    """Write every input and ``plan.toml`` into ``folder``; returns the config path.

    ``streets``: names of the network files to list (``west.geojson``,
    ``east.geojson``: the grid cut in two along Ave E), in that order; default
    the whole grid in one file.  ``extras``: also write the optional inputs of
    :func:`write_extras` (``plan.toml`` does not name them).
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
    _schools(folder / "schools.csv", [corner(*ij) for ij in SCHOOLS.values()], "GRID HIGH")
    _profiles(folder / "profiles.csv", [400, 600], ["8:00 AM - 3:00 PM", "8:30 AM - 3:30 PM"])
    _incidents(folder / "incidents.csv")
    _blocks(folder)
    pd.DataFrame(
        {"vendor_id": ["V1"], "name": ["Grid Community Partners"], "school_ids": ["S1;S2"]}
    ).to_csv(folder / "vendors.csv", index=False)
    pd.DataFrame({"worker_id": [f"W{i}" for i in range(1, 7)], "vendor_id": ["V1"] * 6}).to_csv(
        folder / "workers.csv", index=False
    )
    if extras:
        write_extras(folder)
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
corridor_style = "hand"

[posts]
per_school = 2

[staffing]
time_limit_s = 5
num_workers = 1

[output]
dir = "out"
""")
    return config


def _incidents(path: Path, street: int = 4) -> None:
    """Shootings along 5 St (between Ave B and Ave H), mornings and afternoons of 2016.

    ``street``: the grid row of the street instead (4: 5 St, 7: 8 St).
    """
    points, dates = [], []
    for k in range(24):
        points.append((X0 + (1.5 + (k % 6)) * STEP, Y0 + street * STEP + 5.0))
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


# ----------------------------------------------------------------------------- extras

ANNEX_GAP_M = 20.0  # between the annex street's dead end and the grid's east edge
MOVED_S2_OFFSET_M = 30.0  # schools_moved.csv: S2 this far east of corner (6, 5)
AREAS = {"WEST SIDE": "S1", "EAST SIDE": "S2"}  # areas.geojson: each area's school


def _route_file(path: Path, line: shapely.LineString) -> None:
    """An official route of S1 in the SY1617 schema (``rt_num``, ``schoolid``, ``school_nam``)."""
    gpd.GeoDataFrame(
        {
            "rt_num": ["1"],
            "schoolid": ["S1"],
            "school_nam": ["Grid Elementary"],
            "shape_leng": [line.length / 0.3048],
        },
        geometry=[line],
        crs=CRS,
    ).to_crs(4326).to_file(path, driver="GeoJSON")


def write_extras(folder: Path) -> None:
    """Optional inputs that ``plan.toml`` does not name, to point config keys at.

    * ``annex.osm`` (OSM XML, node ids 9000001-2) and ``annex.geojson`` (the same
      street as a centerline): "Annex Rd", east of the grid along 5 St, its dead
      end ``ANNEX_GAP_M`` from the grid's corner (8, 4);
    * ``schools_moved.csv``: S2 ``MOVED_S2_OFFSET_M`` east of corner (6, 5);
    * ``profiles_other.csv``: S1 9:00-4:00, S2 without school hours;
    * ``incidents_north.csv``: the shootings along 8 St instead of 5 St;
    * ``homicides.csv``: homicides along Ave H, in the police schema;
    * ``lots_west.csv``, ``lots_east.csv``: vacant lots along Ave B / Ave H, their
      ``Location`` as ``"address\\n(lat, lon)"`` (the city land inventory's form);
    * ``areas.geojson``: community areas WEST SIDE (holding S1) and EAST SIDE (S2),
      split along Ave E; ``areas_flipped.geojson``: the same polygons, names swapped;
    * ``reference_routes.geojson``: an official route of S1 in the SY1617 schema
      (``rt_num``, ``schoolid``, ``school_nam``), 30 m north of 3 St;
    * ``designated_routes.geojson``: S1's designated route along 3 St and up Ave E,
      one block drawn 40 m off the street;
    * ``population_other.csv``: most people in the north-east block;
      ``blocks_other.geojson``: the four blocks as 100 m strips west of Ave E;
    * ``vendors_other.csv``: V1 serves S1 only, V2 (no workers) serves S2;
      ``workers_other.csv``: three workers X1-X3 of V1;
    * ``schools_plus.csv``: the two schools with a ``Long_Name`` too, their
      ``Lat``/``Long`` those of ``schools_moved.csv`` and their ``x``/``y`` (EPSG:26916
      metres) those of ``schools.csv``; ``schools.gpkg``: layers ``schools`` (as
      ``schools.csv``) and ``moved`` (as ``schools_moved.csv``);
    * ``schools_bare.csv``: only ``id``, ``lat``, ``lon`` (no name, grades or enrollment);
    * ``incidents_bare.csv``: the shootings' coordinates only (no id, date or type).
    """
    span = (N - 1) * STEP
    east_end = corner(N - 1, 4)
    annex = shapely.LineString(
        [(east_end[0] + ANNEX_GAP_M, east_end[1]), (east_end[0] + 2 * STEP, east_end[1])]
    )
    gpd.GeoDataFrame(
        {"name": ["Annex Rd"], "highway": ["residential"]}, geometry=[annex], crs=CRS
    ).to_file(folder / "annex.geojson", driver="GeoJSON")
    ends = _lonlat(list(annex.coords))
    nodes = "".join(
        f'  <node id="{9_000_001 + k}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>\n'
        for k, (lat, lon) in enumerate(zip(ends.y, ends.x, strict=True))
    )
    (folder / "annex.osm").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="grid_plan">\n'
        f"{nodes}"
        '  <way id="9100001" version="1">\n'
        '    <nd ref="9000001"/>\n    <nd ref="9000002"/>\n'
        '    <tag k="highway" v="residential"/>\n    <tag k="name" v="Annex Rd"/>\n'
        "  </way>\n</osm>\n"
    )

    s1, s2 = corner(*SCHOOLS["S1"]), corner(6, 5)
    moved = [s1, (s2[0] + MOVED_S2_OFFSET_M, s2[1])]
    _schools(folder / "schools_moved.csv", moved, "GRID HIGH MOVED")
    _profiles(folder / "profiles_other.csv", [300, 500], ["9:00 AM - 4:00 PM", ""])

    _incidents(folder / "incidents_north.csv", street=7)
    homicides = [(X0 + 7 * STEP + 5.0, Y0 + (1.5 + k) * STEP) for k in range(6)]
    where = _lonlat(homicides)
    pd.DataFrame(
        {
            "ID": range(9001, 9001 + len(homicides)),
            "Date": [f"{2 + k:02d}/14/2016 09:30:00 PM" for k in range(len(homicides))],
            "Primary Type": ["HOMICIDE"] * len(homicides),
            "Description": ["FIRST DEGREE MURDER"] * len(homicides),
            "Latitude": where.y.round(7),
            "Longitude": where.x.round(7),
        }
    ).to_csv(folder / "homicides.csv", index=False)

    for name, column in (("lots_west.csv", 1), ("lots_east.csv", 7)):
        lots = _lonlat([(X0 + column * STEP + 10.0, Y0 + (0.5 + k) * STEP) for k in range(N - 1)])
        pd.DataFrame(
            {
                "ID": range(1, N),
                "Location": [
                    f"{100 * (k + 1)} AVE {chr(65 + column)}\n({lat:.7f}, {lon:.7f})"
                    for k, (lat, lon) in enumerate(zip(lots.y, lots.x, strict=True))
                ],
                "Property Status": ["Owned by City"] * (N - 1),
            }
        ).to_csv(folder / name, index=False)

    cut = X0 + 4 * STEP
    halves = [
        shapely.box(X0 - STEP, Y0 - STEP, cut, Y0 + span + STEP),
        shapely.box(cut, Y0 - STEP, X0 + span + STEP, Y0 + span + STEP),
    ]
    for name, names in (
        ("areas.geojson", list(AREAS)),
        ("areas_flipped.geojson", list(AREAS)[::-1]),
    ):
        areas = gpd.GeoDataFrame({"community": names}, geometry=halves, crs=CRS)
        areas.to_crs(4326).to_file(folder / name, driver="GeoJSON")

    x0, y = corner(0, 2)
    reference = shapely.LineString([(x0, y + 30.0), (corner(4, 2)[0], y + 30.0)])
    _route_file(folder / "reference_routes.geojson", reference)
    # S1's designated route: east along 3 St from its door, the block from Ave D to
    # Ave E drawn 40 m south of the street (a gap of 100 m for matching), then up Ave E
    (xs, ys), (xd, _), (xe, _) = corner(2, 2), corner(3, 2), corner(4, 2)
    designated = shapely.LineString(
        [(xs, ys), (xd, ys), (xd, ys - 40), (xe, ys - 40), (xe, ys), (xe, corner(4, 5)[1])]
    )
    _route_file(folder / "designated_routes.geojson", designated)

    blocks = gpd.read_file(folder / "blocks.geojson")
    strips = [shapely.box(X0 + q * STEP, Y0, X0 + (q + 1) * STEP, Y0 + span) for q in range(4)]
    gpd.GeoDataFrame({"tract_bloc": blocks["tract_bloc"]}, geometry=strips, crs=CRS).to_file(
        folder / "blocks_other.geojson", driver="GeoJSON"
    )
    population = pd.read_csv(folder / "population.csv")
    population.assign(**{"TOTAL POPULATION": [100, 100, 100, 3000]}).to_csv(
        folder / "population_other.csv", index=False
    )

    pd.DataFrame(
        {
            "vendor_id": ["V1", "V2"],
            "name": ["Grid Community Partners", "Far Side"],
            "school_ids": ["S1", "S2"],
        }
    ).to_csv(folder / "vendors_other.csv", index=False)
    pd.DataFrame({"worker_id": ["X1", "X2", "X3"], "vendor_id": ["V1"] * 3}).to_csv(
        folder / "workers_other.csv", index=False
    )
    _minimal_tables(folder, [corner(*ij) for ij in SCHOOLS.values()], moved)


def _minimal_tables(
    folder: Path, where_xy: list[tuple[float, float]], moved: list[tuple[float, float]]
) -> None:
    """The tables of the column mapping and the minimal inputs (see :func:`write_extras`)."""
    plus = pd.read_csv(folder / "schools_moved.csv")
    plus["Short_Name"] = ["GRID ELEMENTARY", "GRID HIGH"]
    plus["Long_Name"] = ["Grid Elementary School", "Grid High School"]
    plus["x"] = [x for x, _ in where_xy]
    plus["y"] = [y for _, y in where_xy]
    plus.to_csv(folder / "schools_plus.csv", index=False)
    for layer, points in (("schools", where_xy), ("moved", moved)):
        gpd.GeoDataFrame(
            {"school_id": list(SCHOOLS), "name": ["GRID ELEMENTARY", f"GRID HIGH {layer.upper()}"]},
            geometry=[shapely.Point(p) for p in points],
            crs=CRS,
        ).to_file(folder / "schools.gpkg", layer=layer, driver="GPKG")
    lonlat = _lonlat(where_xy)
    pd.DataFrame({"id": list(SCHOOLS), "lat": lonlat.y.round(7), "lon": lonlat.x.round(7)}).to_csv(
        folder / "schools_bare.csv", index=False
    )
    shootings = pd.read_csv(folder / "incidents.csv")
    shootings[["Latitude", "Longitude"]].to_csv(folder / "incidents_bare.csv", index=False)
