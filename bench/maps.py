"""Benchmark the plan maps on real Chicago geometry: HTML size and build time, PDF time per post.

Until the pipeline lands, the plan is synthetic but drawn on real geometry:
the stitched citywide walk network (cached under /tmp/safepassage-bench/),
the SY1617 Safe Passage schools, their official route lines as corridors,
random (seeded) risk per edge, and posts at the network nodes nearest the
route lines every ~150 m.

Baseline: the same layers drawn the usual folium way (one ``folium.GeoJson``
of every street with a per-feature style, one ``CircleMarker`` + ``Popup``
per post) with folium's CDN links.

Run: ``.venv/bin/python bench/maps.py [--out DIR] [--repeat 3]`` (map times: best of 3).

Figures (plan_map + save_map, best of 3, on this 2-core machine shared with
other runs, load average 3-5: noisy), before and after the web map's speed-ups
of branch ``webperf`` (one transformer per CRS, the post popups' workers
grouped once, every layer's lines merged and reprojected in one batch, scripts
not compiled as templates, the fit from a bounding box):

=============================  ==============  ==============  =================
case                           ours before     ours after      folium default
=============================  ==============  ==============  =================
one school (Robeson HS)        0.32 MB, 0.67 s 0.32 MB, 0.41 s 1.09 MB, 0.47 s
citywide (all SY1617)          4.96 MB, 10.7 s 4.96 MB, 3.1 s  41.0 MB, 24-28 s
=============================  ==============  ==============  =================

On the real citywide designated-routes plan of ``bench/designated.py`` (108
schools, 2,751 candidate posts), timed alone on a pickled plan: 45 s before,
3.5-5.1 s after; on the Englewood example 4.9 s before, 0.4-0.6 s after.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safepassage.config import default_data_root
from safepassage.maps import plan_map, post_packet, save_map
from safepassage.routes.network import WalkNetwork
from safepassage.routes.stitch import stitch
from safepassage.staffing.roster import ASSIGNMENT_COLUMNS
from safepassage.staffing.staff import FLOATER_COLUMNS, STAFF_COLUMNS

CACHE = Path("/tmp/safepassage-bench")
POST_SPACING_M = 150.0
SEED = 1617


@dataclass(frozen=True)
class Risk:
    table: pd.DataFrame


@dataclass(frozen=True)
class SyntheticPlan:
    network: WalkNetwork
    schools: gpd.GeoDataFrame
    risk: Risk | None
    corridors: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame | None
    posts: gpd.GeoDataFrame
    roster: pd.DataFrame | None
    vendors: pd.DataFrame
    windows: pd.DataFrame
    plan_name: str = "SY1617 synthetic plan (benchmark)"
    plan_date: str = "2016-09-06"
    min_students: int = 10
    review: gpd.GeoDataFrame | None = None
    uncovered: gpd.GeoDataFrame | None = None
    extensions: gpd.GeoDataFrame | None = None
    staff: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STAFF_COLUMNS))
    floaters: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLOATER_COLUMNS))


def citywide_network(root: Path) -> WalkNetwork:
    cache = CACHE / "citywide_network"
    if cache.is_dir():
        return WalkNetwork.load(cache)
    graphml = root / "osm" / "chicago_walk_2019_77_community_areas_union.graphml.gz"
    network = stitch(WalkNetwork.from_graphml(graphml))
    network.save(cache)
    return network


def _schools_and_routes(root: Path, crs: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    routes = gpd.read_file(f"/vsigzip/{root}/safe_passage/safe_passage_routes_SY1617.geojson.gz")
    points = gpd.read_file(f"/vsigzip/{root}/schools/CPS_School_Locations_SY1617.geojson.gz")
    routes["schoolid"] = routes["schoolid"].astype(str)
    points = points[points["school_id"].astype(str).isin(routes["schoolid"])]
    schools = gpd.GeoDataFrame(
        {
            "school_id": points["school_id"].astype(str).to_numpy(),
            "name": points["short_name"].str.title().to_numpy(),
            "grades": points["grades"].to_numpy(),
            "bell_start": "08:00",
            "bell_end": "15:00",
            "commarea": points["commarea"].to_numpy(),
        },
        geometry=points.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    routes = routes[routes["schoolid"].isin(schools["school_id"])].to_crs(crs)
    return schools.reset_index(drop=True), routes.reset_index(drop=True)


def _cross_streets(network: WalkNetwork, nodes: np.ndarray) -> list[str]:
    edges = network.edges
    names = edges.groupby("u")["name"].agg(lambda s: sorted({n for n in s if n}))
    out = []
    for node in nodes:
        found = names.get(node, [])
        out.append(" & ".join(found[:2]) if found else f"node {node}")
    return out


def _posts(network: WalkNetwork, corridors: gpd.GeoDataFrame, rng: np.random.Generator) -> Any:
    rows = []
    for route in corridors.itertuples(index=False):
        line = shapely.line_merge(route.geometry)
        for part in shapely.get_parts(line):
            steps = np.arange(0.0, part.length + 1, POST_SPACING_M)
            xy = shapely.get_coordinates(shapely.line_interpolate_point(part, steps))
            for node in network.snap(xy, max_m=60.0).table.query("snapped")["node"]:
                rows.append((int(node), route.school_id, route.route_id))
    table = pd.DataFrame(rows, columns=["node", "school_id", "route_id"])
    table = table.groupby(["school_id", "node"], as_index=False).agg(route_ids=("route_id", list))
    nodes = table["node"].to_numpy()
    n = len(table)
    return gpd.GeoDataFrame(
        {
            "post_id": [f"{s}-P{i:03d}" for i, s in enumerate(table["school_id"])],
            "node": nodes,
            "school_id": table["school_id"],
            "school_ids": [[s] for s in table["school_id"]],
            "route_ids": table["route_ids"],
            "cross_streets": _cross_streets(network, nodes),
            "value_am": rng.gamma(2.0, 10.0, n).round(1),
            "value_pm": rng.gamma(2.0, 10.0, n).round(1),
            "selected": rng.random(n) < 0.8,
        },
        geometry=network.nodes.geometry.values[nodes],
        crs=network.crs,
    )


def _roster(posts: gpd.GeoDataFrame, vendor_of: dict[str, str]) -> pd.DataFrame:
    rows = []
    for i, post in enumerate(posts[posts["selected"]].itertuples(index=False)):
        for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
            for window, start, end in (("am", "07:00", "08:30"), ("pm", "14:30", "15:45")):
                worker = f"W{i:04d}"
                vendor = vendor_of[post.school_id]
                rows.append((worker, vendor, post.post_id, post.school_id, day, window, start, end))
    columns = ASSIGNMENT_COLUMNS[:-1]  # every column but minutes
    roster = pd.DataFrame(rows, columns=columns)
    roster["minutes"] = 90
    return roster


def synthetic_plan(root: Path) -> SyntheticPlan:
    rng = np.random.default_rng(SEED)
    network = citywide_network(root)
    schools, routes = _schools_and_routes(root, network.crs)
    schools["node"] = network.snap(schools.geometry, max_m=500.0).nodes
    corridors = gpd.GeoDataFrame(
        {
            "route_id": [
                f"{s}-R{r}" for s, r in zip(routes["schoolid"], routes["rt_num"], strict=True)
            ],
            "school_id": routes["schoolid"].to_numpy(),
            "length_m": routes.geometry.length.round(1).to_numpy(),
            "students_served": rng.integers(20, 400, len(routes)),
            "risk_exposure": rng.gamma(2.0, 1.0, len(routes)).round(2),
            "edge_ids": [[] for _ in range(len(routes))],
            "source": "designated",  # the official route lines
        },
        geometry=routes.geometry.to_numpy(),
        crs=network.crs,
    )
    edge_ids = np.arange(len(network.edges))
    risk = pd.DataFrame(
        {
            "edge_id": np.concatenate([edge_ids, edge_ids]),
            "window": np.repeat(["am", "pm"], len(edge_ids)),
            "risk": rng.gamma(0.6, 3.0, 2 * len(edge_ids)).round(2),
        }
    )
    posts = _posts(network, corridors, rng)
    ids = sorted(schools["school_id"])
    vendor_of = {s: f"V{i // 4:02d}" for i, s in enumerate(ids)}
    vendors = pd.DataFrame(
        {
            "vendor_id": sorted(set(vendor_of.values())),
            "name": [f"Community partner {v}" for v in sorted(set(vendor_of.values()))],
            "school_ids": [
                [s for s in ids if vendor_of[s] == v] for v in sorted(set(vendor_of.values()))
            ],
        }
    )
    windows = pd.DataFrame(
        [
            (s, w, a, b)
            for s in ids
            for w, a, b in (("am", "07:00", "08:30"), ("pm", "14:30", "15:45"))
        ],
        columns=["school_id", "window", "start", "end"],
    )
    return SyntheticPlan(
        network,
        schools,
        Risk(risk),
        corridors,
        None,
        posts,
        _roster(posts, vendor_of),
        vendors,
        windows,
    )


def baseline_map(plan: SyntheticPlan, school_ids: list[str] | None) -> folium.Map:
    """The usual folium way: every street as a styled GeoJSON feature, a Popup per post."""
    schools = (
        plan.schools
        if school_ids is None
        else plan.schools[plan.schools["school_id"].isin(school_ids)]
    )
    corridors = plan.corridors[plan.corridors["school_id"].isin(schools["school_id"])]
    area = shapely.union_all(
        shapely.buffer(np.concatenate([schools.geometry.values, corridors.geometry.values]), 800.0)
    )
    ids = plan.network.edges.sindex.query(area, predicate="intersects")
    risk = plan.risk.table if plan.risk else pd.DataFrame()
    am = risk[risk["window"] == "am"].set_index("edge_id")["risk"]
    streets = plan.network.edges.iloc[ids][["name", "geometry"]].assign(
        risk=am.reindex(ids).to_numpy()
    )
    centre = schools.geometry.to_crs(4326).union_all().centroid
    m = folium.Map(location=[centre.y, centre.x], zoom_start=13)
    folium.GeoJson(
        streets.to_crs(4326),
        name="risk am",
        style_function=lambda f: {
            "color": "#e31a1c" if f["properties"]["risk"] > 2 else "#fed976",
            "weight": 2,
        },
        tooltip=folium.GeoJsonTooltip(["name", "risk"]),
    ).add_to(m)
    folium.GeoJson(corridors[["route_id", "geometry"]].to_crs(4326), name="corridors").add_to(m)
    posts = plan.posts[plan.posts["school_id"].isin(schools["school_id"]) & plan.posts["selected"]]
    for post in posts.to_crs(4326).itertuples(index=False):
        folium.CircleMarker(
            [post.geometry.y, post.geometry.x],
            radius=6,
            popup=folium.Popup(f"{post.post_id}<br>{post.cross_streets}"),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    return m


def _measure(build: Any, path: Path, save: Any, repeat: int) -> tuple[float, int]:
    """Fewest seconds of ``repeat`` builds and saves (the machine is shared), and the size."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        save(build(), path)
        best = min(best, time.perf_counter() - started)
    return best, path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE / "maps")
    parser.add_argument("--repeat", type=int, default=3, help="maps timed: best of N")
    args = parser.parse_args()
    root = default_data_root()
    started = time.perf_counter()
    plan = synthetic_plan(root)
    print(
        f"synthetic plan: {len(plan.schools)} schools, {len(plan.corridors)} routes, "
        f"{int(plan.posts['selected'].sum())} chosen posts; "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    englewood = plan.schools[plan.schools["commarea"] == "ENGLEWOOD"]
    school = (
        str(englewood.iloc[0]["school_id"])
        if len(englewood)
        else str(plan.schools.iloc[0]["school_id"])
    )
    name = plan.schools.set_index("school_id").loc[school, "name"]
    print(f"\n{'case':<34}{'ours MB':>9}{'ours s':>8}{'base MB':>9}{'base s':>8}{'size ratio':>12}")
    for label, ids in (
        (f"one school ({name}, {school})", [school]),
        ("citywide (all SY1617)", None),
    ):
        slug = "school" if ids else "citywide"
        ours_s, ours_b = _measure(
            lambda ids=ids: plan_map(plan, ids, self_contained=True),
            args.out / f"{slug}.html",
            save_map,
            args.repeat,
        )
        base_s, base_b = _measure(
            lambda ids=ids: baseline_map(plan, ids),
            args.out / f"{slug}_baseline.html",
            lambda m, p: m.save(str(p)),
            args.repeat,
        )
        print(
            f"{label[:33]:<34}{ours_b / 1e6:>9.2f}{ours_s:>8.2f}{base_b / 1e6:>9.2f}{base_s:>8.2f}"
            f"{base_b / ours_b:>11.1f}x"
        )
    vendor = plan.vendors[plan.vendors["school_ids"].apply(lambda s: school in s)].iloc[0]
    posts = plan.posts[plan.posts["selected"] & plan.posts["school_id"].isin(vendor["school_ids"])]
    started = time.perf_counter()
    pdf = post_packet(plan, vendor["vendor_id"], args.out / f"packet_{vendor['vendor_id']}.pdf")
    elapsed = time.perf_counter() - started
    pages = 1 + len(vendor["school_ids"]) + len(posts)
    print(
        f"\nPDF packet {vendor['vendor_id']}: {pages} pages, {pdf.stat().st_size / 1e6:.2f} MB, "
        f"{elapsed:.1f} s = {elapsed / max(len(posts), 1):.3f} s per post "
        "(cover and school pages included)"
    )
    print(
        f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        f"outputs in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
