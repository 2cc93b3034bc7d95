"""Our corridors against the official SY1617 Safe Passage routes, beside shortest paths.

Run: ``.venv/bin/python bench/routes_reference.py [--data DIR] [--calibrate | --cv]``.

``--cv``: the learned route style (:mod:`safepassage.routes.style`) by
leave-one-community-area-out cross-validation on the stitched citywide network,
over every area with a visible SY1617 route (108 schools, 42 areas): for each
area, a style trained on the other areas' schools (their SY1314, SY1516 and
SY1617 route lines) designs the area's corridors; shortest-path and
hand-factor corridors (arterials 0.65, alleys 4, paths 1.5, risk_weight 1) are
designed at the same budgets.  Two budgets: each school's official SY1617
length, and the budget the style's length model (fitted on the other areas)
predicts.  Recall, precision and F1 within 50 m with 95% bootstrap intervals
(schools resampled), and the F1 gains over both baselines (paired).  A school
no corridor reaches counts with nothing found.

Data (all from the shared Chicago folder):

* network: the 2019 OSM walk graphs of Englewood, West Englewood, East
  Garfield Park and North Lawndale, stitched with the defaults of ``stitch``
  (two pieces: the south pair and the west pair do not touch);
* schools: SY1617 locations with profiles, lying (by polygon) in those four
  community areas and having an official SY1617 route line (29 schools);
* origins: 2010 census *tracts* (population = sum of the tract's blocks),
  for the tracts whose representative point lies in the four areas; block
  polygons exist only for Englewood and West Englewood, so tracts are used
  everywhere to treat the four areas alike.  Students are allocated by the
  library's gravity model among *all* 66 schools of the four areas (the
  schools without a route draw students too; ``--draw selected`` allocates
  among the 29 schools with a route only, as the pipeline does) and
  aggregated to origins of at least 10 students;
* risk: 2016 gun crimes scored like the pipeline (150 m Gaussian, 70% snapped
  to the nearest street, am/pm windows plus a quarter of the all-day density).

Two planners, the same corridor budget per school (so the same total length):

* ``ours``: risk-aware routes (``risk_weight``) with street-class factors;
* ``shortest``: plain shortest paths (no risk, every class factor 1.0).

``compare_routes`` gives recall (share of the official route within 50 m of
the corridor) and precision (share of the corridor within 50 m of the
official route) per school and overall; F1 is their harmonic mean.  Street-class
shares of the official routes are measured by sampling the route lines every
5 m and taking the class of the nearest edge within 20 m.

``--calibrate`` grid-searches arterial, service/alley and footway/path factors,
``risk_weight`` and the corridor budget, choosing on the schools of one pair of
areas and scoring the choice on the other pair (both ways), and ranks the
grid by the worse of the two pairs (max-min).  Network, origins and risk are
built once; routes once per (factors, risk_weight): 579 configurations in
about 2 minutes.

Calibration result (``--draw area``, budget 1600 m): both pairs choose
arterials at 0.65 (trained on the south pair, held-out F1 on the west pair
0.401 against 0.361 for shortest paths; trained on the west pair, held-out
F1 on the south pair 0.408 against 0.344); any alley/service factor from 2
to 8 keeps corridors off alleys (13% of shortest-path corridor length, 0.3%
with the factor, 0.4% of the official routes) and scores the same;
footway/path factors 1.5-3 score alike, slightly above 1.0; risk_weight 0
is clearly worst (mean F1 over the grid 0.355 against 0.388 at 0.5 and
0.380 at 1.0).  ``RECOMMENDED`` (arterial 0.65, service/alley 4,
footway/path 1.5, risk_weight 1.0) is third of 192 at 1600 m.  With 29
schools the 95% bootstrap interval of an F1 difference is about +-0.065.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).parent))
from _common import add_data_argument, peak_rss_mb, resolve_data_root

from safepassage.config import RoutesConfig
from safepassage.io import community_area_schools, read_routes, read_schools
from safepassage.risk.incidents import read_incidents
from safepassage.risk.surface import score
from safepassage.routes.corridors import compare_routes, designate_corridors
from safepassage.routes.matching import match_routes
from safepassage.routes.network import WalkNetwork
from safepassage.routes.origins import census_population, estimate_origins
from safepassage.routes.paths import (
    RouteSet,
    prepare_route_costs,
    route_students,
)
from safepassage.routes.stitch import stitch
from safepassage.routes.style import (
    GrowthParameters,
    SchoolSegments,
    StreetContext,
    fit_budget,
    school_segments,
    segment_labels,
    train_style,
)
from safepassage.stages import HAND_BUDGET_M, RISK_MODEL, window_risk
from safepassage.streets import ARTERIALS, DEFAULT_CLASS_FACTORS

AREAS = {
    "englewood": "ENGLEWOOD",
    "west_englewood": "WEST ENGLEWOOD",
    "east_garfield_park": "EAST GARFIELD PARK",
    "north_lawndale": "NORTH LAWNDALE",
}
SPLITS = {
    "south (Englewood + West Englewood)": ("ENGLEWOOD", "WEST ENGLEWOOD"),
    "west (East Garfield Park + North Lawndale)": ("EAST GARFIELD PARK", "NORTH LAWNDALE"),
}
WINDOWS = {"am": ("06:30", "09:00"), "pm": ("14:00", "17:30"), "all": None}
DEFAULTS = RoutesConfig()
TOLERANCE_M = DEFAULTS.reference_tolerance_m
MAX_WALK_M = DEFAULTS.radius_high_m
DETOUR_CAP = DEFAULTS.detour_cap
GROUPS: Mapping[str, tuple[str, ...]] = {
    "arterial": ARTERIALS,
    "residential": ("residential", "living_street", "unclassified"),
    "service/alley": ("service", "alley"),
    "footway/path": ("footway", "path", "pedestrian", "steps", "track", "cycleway"),
}
GRID = {
    "arterial": (0.5, 0.65, 0.8, 1.0),
    "service": (1.0, 2.0, 4.0, 8.0),  # 1.0: alleys as cheap as streets
    "footway": (1.0, 1.5, 3.0),
    "risk_weight": (0.0, 0.5, 1.0, 2.0),
    "budget_m": (1200.0, 1600.0, 2000.0),
}
# The setting recommended from --calibrate (arterial, service/alley, footway/path
# factors; risk_weight): in the top group of both pairs of areas, see the report.
RECOMMENDED = {"arterial": 0.65, "service": 4.0, "footway": 1.5, "risk_weight": 1.0}


@dataclass(frozen=True)
class Bench:
    """Everything built once: network, schools, origins, risk, reference routes."""

    network: WalkNetwork
    schools: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    risk: Mapping[str, NDArray[np.float64]]
    reference: gpd.GeoDataFrame
    seconds: Mapping[str, float]


@dataclass(frozen=True)
class Planner:
    """One way of planning corridors."""

    name: str
    factors: Mapping[str, float]
    risk_weight: float
    budget_m: float | Mapping[str, float]  # one for all schools, or per school


def load_bench(root: Path, *, draw: str = "area") -> Bench:
    """Build network, schools, origins, risk and reference routes (timed).

    ``draw="area"``: students are allocated among every school of the four
    areas (the schools without a route compete for them too) and the origins
    of the schools with a route are kept; ``"selected"``: among the schools
    with a route only, as ``safepassage.pipeline`` does.
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    network = stitch(
        [WalkNetwork.from_graphml(root / f"osm/chicago_walk_2019_{a}.graphml.gz") for a in AREAS]
    )
    seconds["network"] = time.perf_counter() - start
    area_schools, reference = _schools(root, network)
    schools = area_schools[area_schools["school_id"].isin(set(reference["school_id"]))]
    schools = schools.reset_index(drop=True)
    seconds["schools"] = time.perf_counter() - start - sum(seconds.values())
    origins = _origins(root, network, area_schools if draw == "area" else schools)
    origins = origins[origins["school_id"].isin(set(schools["school_id"]))]
    seconds["origins"] = time.perf_counter() - start - sum(seconds.values())
    incidents = read_incidents(root / "crime/gun_crimes_2016_citywide.csv.gz", network=network)
    surface = score(
        network, incidents, WINDOWS, model=dataclasses.replace(RISK_MODEL, bandwidth_m=150.0)
    )
    risk = {w: window_risk(surface, w) for w in ("am", "pm")}
    seconds["risk"] = time.perf_counter() - start - sum(seconds.values())
    return Bench(network, schools, origins.reset_index(drop=True), risk, reference, seconds)


def _schools(root: Path, network: WalkNetwork) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Snapped schools of the four areas, and the official route lines of those that have one."""
    schools = read_schools(
        root / "schools/CPS_School_Locations_SY1617.geojson.gz",
        profiles=root / "schools/CPS_School_Profile_SY1617.csv.gz",
        crs=network.crs,
    )
    routes = read_routes(
        root / "safe_passage/safe_passage_routes_SY1617.geojson.gz", crs=network.crs
    )
    areas = root / "boundaries/community_areas.geojson.gz"
    chosen = community_area_schools(schools, areas, AREAS.values()).copy()
    snap = network.snap(chosen, max_m=150.0)
    chosen["node"] = snap.nodes
    chosen["snap_m"] = snap.table["distance_m"].to_numpy()
    chosen = chosen[chosen["node"] >= 0].sort_values("school_id").reset_index(drop=True)
    lines = routes[(routes["kind"] == "line") & routes["school_id"].isin(set(chosen["school_id"]))]
    return chosen, lines.reset_index(drop=True)


def _origins(root: Path, network: WalkNetwork, schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Origins from 2010 tract population (tracts whose representative point is in the areas)."""
    tracts = gpd.read_file(f"/vsigzip/{root}/boundaries/census_tracts_2010.geojson.gz")
    population = pd.read_csv(root / "census/population_by_2010_census_block.csv.gz")
    areas = gpd.read_file(f"/vsigzip/{root}/boundaries/community_areas.geojson.gz")
    inside = areas[areas["community"].str.upper().isin(AREAS.values())].union_all()
    tracts = tracts[tracts.representative_point().within(inside)]
    polygons = census_population(tracts, population)
    origin_set = estimate_origins(network, schools, polygons)
    if not origin_set.problems.empty:
        print(origin_set.problems.to_string(index=False))
    return origin_set.origins


def class_factor_set(arterial: float, service: float, footway: float) -> dict[str, float]:
    """The default factors with the arterial, service/alley and footway/path classes set."""
    factors = dict(DEFAULT_CLASS_FACTORS)
    for cls in GROUPS["arterial"]:
        factors[cls] = arterial
    for cls in GROUPS["service/alley"]:
        factors[cls] = service
    for cls in ("footway", "path", "pedestrian"):
        factors[cls] = footway
    for cls in ("steps", "track"):
        factors[cls] = max(DEFAULT_CLASS_FACTORS[cls], footway)
    return factors


def modelled_routes(
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    risk: Callable[[str], NDArray[np.float64]],
    windows: tuple[str, ...],
    factors: Mapping[str, float],
    risk_weight: float,
) -> RouteSet:
    """Routes of every origin in ``windows`` (risk per window), or risk-blind in one
    window when ``risk_weight`` is 0 (every window would route the same)."""
    aware = risk_weight > 0
    return route_students(
        network,
        schools,
        origins,
        costs=prepare_route_costs(
            network,
            windows=windows if aware else ("am",),
            risk=risk if aware else None,
            risk_weight=risk_weight,
            factors=factors,
        ),
        detour_cap=DETOUR_CAP,
        max_walk_m=MAX_WALK_M,
    )


def route(bench: Bench, factors: Mapping[str, float], risk_weight: float) -> RouteSet:
    """Routes of every origin; without risk one window is enough (both are identical)."""
    return modelled_routes(
        bench.network,
        bench.schools,
        bench.origins,
        lambda w: bench.risk[w],
        ("am", "pm"),
        factors,
        risk_weight,
    )


def corridors_for(
    bench: Bench, routes: RouteSet, budget_m: float | Mapping[str, float]
) -> gpd.GeoDataFrame:
    """Corridors at one budget for all schools, or at a budget per school."""
    if not isinstance(budget_m, Mapping):
        return designate_corridors(
            bench.network, bench.schools, routes, budget_m=budget_m, risk=bench.risk["pm"]
        )
    parts = [
        designate_corridors(
            bench.network,
            bench.schools[bench.schools["school_id"] == school_id],
            routes,
            budget_m=budget,
            risk=bench.risk["pm"],
        )
        for school_id, budget in budget_m.items()
    ]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=bench.network.crs)


def per_school(bench: Bench, corridors: gpd.GeoDataFrame) -> pd.DataFrame:
    """``compare_routes`` per school (no ALL row) with the hit lengths, metres."""
    table = compare_routes(corridors, bench.reference, tolerance_m=TOLERANCE_M)
    table = table[table["school_id"] != "ALL"].copy()
    table["ref_hit_m"] = table["recall"].fillna(0) * table["reference_m"]
    table["ours_hit_m"] = table["precision"].fillna(0) * table["ours_m"]
    return table


def overall(table: pd.DataFrame, school_ids: Iterable[str] | None = None) -> dict[str, float]:
    """Length-weighted recall, precision, F1 and lengths over some schools."""
    part = table if school_ids is None else table[table["school_id"].isin(set(school_ids))]
    ref, ours = part["reference_m"].sum(), part["ours_m"].sum()
    recall = part["ref_hit_m"].sum() / ref if ref > 0 else 0.0
    precision = part["ours_hit_m"].sum() / ours if ours > 0 else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0
    return {
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "reference_km": ref / 1000,
        "corridor_km": ours / 1000,
    }


def class_shares(network: WalkNetwork, edge_ids: Sequence[int]) -> dict[str, float]:
    """Share of the length of the given edges in each street-class group."""
    edges = network.edges.iloc[list(edge_ids)]
    return _group_shares(edges["highway"], edges["length"].to_numpy(dtype=np.float64))


def _group_shares(highway: pd.Series, length: NDArray[np.float64]) -> dict[str, float]:
    group_of = {cls: group for group, classes in GROUPS.items() for cls in classes}
    groups = highway.map(group_of).fillna("other").to_numpy()
    total = length.sum()
    return {g: float(length[groups == g].sum() / total) for g in [*GROUPS, "other"]}


def reference_shares(bench: Bench, step_m: float = 5.0, max_m: float = 20.0) -> dict[str, float]:
    """Street-class shares of the official route lines (points every ``step_m``).

    Each point takes the class of the nearest edge within ``max_m``; the
    ``unmatched`` share is of points with no edge that near.
    """
    lines = shapely.get_parts(shapely.line_merge(bench.reference.geometry.values))
    points = []
    for line in lines:
        n = max(int(line.length // step_m), 1)
        points.append(shapely.line_interpolate_point(line, (np.arange(n) + 0.5) * step_m))
    pts = np.concatenate(points)
    tree = shapely.STRtree(bench.network.edges.geometry.values)
    pos, edge = tree.query_nearest(pts, max_distance=max_m, all_matches=False)
    matched = np.full(len(pts), -1)
    matched[pos] = edge
    hit = matched >= 0
    shares = _group_shares(
        bench.network.edges["highway"].iloc[matched[hit]].reset_index(drop=True),
        np.full(int(hit.sum()), step_m),
    )
    shares = {g: s * hit.mean() for g, s in shares.items()}
    shares["unmatched"] = float(1 - hit.mean())
    return shares


def corridor_edges(corridors: gpd.GeoDataFrame) -> list[int]:
    """All corridor edge ids (one per school and segment)."""
    return [int(e) for ids in corridors["edge_ids"] for e in ids]


def _fmt(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f}"


def comparison_markdown(bench: Bench, tables: Mapping[str, pd.DataFrame]) -> str:
    """Per-school Markdown table, recall / precision of each planner, plus an ALL row."""
    names = list(tables)
    head = ["school", "area", "official km"]
    for name in names:
        head += [f"{name} km", f"{name} recall", f"{name} precision"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    info = bench.schools.set_index("school_id")
    first = tables[names[0]].set_index("school_id")
    for school_id in first.index:
        row = [
            f"{school_id} {info.loc[school_id, 'name']}",
            str(info.loc[school_id, "community_area"]).title(),
            f"{first.loc[school_id, 'reference_m'] / 1000:.2f}",
        ]
        for name in names:
            t = tables[name].set_index("school_id").loc[school_id]
            row += [f"{t['ours_m'] / 1000:.2f}", _fmt(t["recall"]), _fmt(t["precision"])]
        lines.append("| " + " | ".join(row) + " |")
    total = ["**ALL**", "", f"{overall(tables[names[0]])['reference_km']:.2f}"]
    for name in names:
        o = overall(tables[name])
        total += [f"{o['corridor_km']:.2f}", f"**{o['recall']:.2f}**", f"**{o['precision']:.2f}**"]
    lines.append("| " + " | ".join(total) + " |")
    return "\n".join(lines)


def evaluate(bench: Bench, planner: Planner) -> tuple[pd.DataFrame, list[int]]:
    """Per-school comparison table and corridor edge ids of one planner."""
    corridors = corridors_for(
        bench, route(bench, planner.factors, planner.risk_weight), planner.budget_m
    )
    return per_school(bench, corridors), corridor_edges(corridors)


def split_ids(bench: Bench) -> dict[str, list[str]]:
    """School ids of each pair of community areas."""
    areas = bench.schools["community_area"]
    return {
        name: bench.schools.loc[areas.isin(pair), "school_id"].tolist()
        for name, pair in SPLITS.items()
    }


def f1_gain_interval(
    ours: pd.DataFrame, baseline: pd.DataFrame, *, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95% paired bootstrap interval (schools resampled) of overall F1 ours - baseline."""
    a = ours.set_index("school_id")
    b = baseline.set_index("school_id").loc[a.index]
    pick = np.random.default_rng(seed).integers(0, len(a), size=(draws, len(a)))

    def f1(t: pd.DataFrame) -> NDArray[np.float64]:
        def total(column: str) -> NDArray[np.float64]:
            return np.asarray(t[column].to_numpy(dtype=np.float64)[pick].sum(axis=1))

        recall = total("ref_hit_m") / total("reference_m")
        precision = total("ours_hit_m") / total("ours_m")
        return np.asarray(2 * recall * precision / np.maximum(recall + precision, 1e-12))

    low, high = np.percentile(f1(a) - f1(b), [2.5, 97.5])
    return float(low), float(high)


def summary_markdown(
    bench: Bench, tables: Mapping[str, pd.DataFrame], baseline: str = "shortest"
) -> str:
    """One row per planner: overall recall, precision, F1, km, F1 per pair of areas,
    and the F1 gain over ``baseline`` with its 95% paired bootstrap interval."""
    splits = split_ids(bench)
    head = [
        "planner",
        "corridor km",
        "recall",
        "precision",
        "F1",
        *(f"F1 {name.split()[0]}" for name in splits),
        f"F1 - {baseline} [95% CI]",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = overall(tables[baseline])["f1"]
    for name, table in tables.items():
        o = overall(table)
        low, high = f1_gain_interval(table, tables[baseline])
        row = [
            name,
            f"{o['corridor_km']:.2f}",
            f"{o['recall']:.3f}",
            f"{o['precision']:.3f}",
            f"{o['f1']:.3f}",
            *(f"{overall(table, ids)['f1']:.3f}" for ids in splits.values()),
            f"{o['f1'] - base:+.3f} [{low:+.3f}, {high:+.3f}]",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def shares_markdown(rows: Mapping[str, Mapping[str, float]]) -> str:
    """Street-class shares (percent of length) of the network, official routes, corridors."""
    groups = [*GROUPS, "other", "unmatched"]
    lines = ["| length on | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for name, shares in rows.items():
        cells = [f"{100 * shares[g]:.1f}%" if g in shares else "-" for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_main(bench: Bench, budget_m: float, risk_weight: float) -> None:
    """Ours against the shortest-path baseline at the same budget; street-class shares."""
    recommended = class_factor_set(
        RECOMMENDED["arterial"], RECOMMENDED["service"], RECOMMENDED["footway"]
    )
    planners = [
        Planner("ours", DEFAULT_CLASS_FACTORS, risk_weight, budget_m),
        Planner("shortest", {}, 0.0, budget_m),
        Planner("classes only", DEFAULT_CLASS_FACTORS, 0.0, budget_m),
        Planner("recommended", recommended, RECOMMENDED["risk_weight"], budget_m),
    ]
    tables: dict[str, pd.DataFrame] = {}
    shares: dict[str, dict[str, float]] = {
        "walk network (4 areas)": class_shares(bench.network, range(len(bench.network.edges))),
        "official SY1617 routes (20 m)": reference_shares(bench),
    }
    for planner in planners:
        start = time.perf_counter()
        tables[planner.name], edges = evaluate(bench, planner)
        shares[f"{planner.name} corridors"] = class_shares(bench.network, edges)
        print(f"{planner.name}: {time.perf_counter() - start:.1f} s")
    # an oracle the planner cannot use: each school's budget = its official route length
    official = bench.reference.dissolve("school_id").length.to_dict()
    for planner in planners[:2]:
        name = f"{planner.name} (budget = official km)"
        oracle = Planner(name, planner.factors, planner.risk_weight, official)
        tables[name] = evaluate(bench, oracle)[0]
    print(f"\n### Per school, corridor budget {budget_m:.0f} m, risk_weight {risk_weight:g}\n")
    print(comparison_markdown(bench, {k: tables[k] for k in ("ours", "shortest")}))
    print(f"\n### Per school, recommended setting {RECOMMENDED}\n")
    print(comparison_markdown(bench, {k: tables[k] for k in ("recommended", "shortest")}))
    print("\n### Overall\n")
    print(summary_markdown(bench, tables))
    print("\n### Street-class shares of length\n")
    print(shares_markdown(shares))


def grid_scores(bench: Bench, grid: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Overall and per-split scores of every grid point (routes once per factor set).

    Returns
    -------
    DataFrame
        ``arterial``, ``service``, ``footway``, ``risk_weight``, ``budget_m``,
        then ``recall``, ``precision``, ``f1``, ``reference_km``, ``corridor_km``
        for all schools, ``f1_<split>`` per pair of areas, and the corridors'
        ``arterial_share`` and ``service_share`` of length; the shortest-path
        baseline has ``arterial``, ``service`` and ``footway`` NaN.
    """
    splits = split_ids(bench)
    rows: list[dict[str, float]] = []

    def record(params: dict[str, float], routes: RouteSet) -> None:
        for budget in grid["budget_m"]:
            corridors = corridors_for(bench, routes, budget)
            table = per_school(bench, corridors)
            row = {**params, "budget_m": budget, **overall(table)}
            for name, ids in splits.items():
                row[f"f1_{name.split()[0]}"] = overall(table, ids)["f1"]
            shares = class_shares(bench.network, corridor_edges(corridors))
            row["arterial_share"] = shares["arterial"]
            row["service_share"] = shares["service/alley"]
            rows.append(row)

    record(
        {"arterial": np.nan, "service": np.nan, "footway": np.nan, "risk_weight": 0.0},
        route(bench, {}, 0.0),
    )
    combos = list(
        itertools.product(grid["arterial"], grid["service"], grid["footway"], grid["risk_weight"])
    )
    start = time.perf_counter()
    for n, (arterial, service, footway, risk_weight) in enumerate(combos, 1):
        factors = class_factor_set(arterial, service, footway)
        params = {
            "arterial": arterial,
            "service": service,
            "footway": footway,
            "risk_weight": risk_weight,
        }
        record(params, route(bench, factors, risk_weight))
        if n % 12 == 0:
            elapsed = time.perf_counter() - start
            print(f"  {n}/{len(combos)} factor sets, {elapsed:.0f} s", file=sys.stderr)
    return pd.DataFrame(rows)


PARAMS = ["arterial", "service", "footway", "risk_weight", "budget_m"]


def _table_markdown(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame[list(columns)].itertuples(index=False):
        cells = [
            "shortest"
            if pd.isna(v)
            else f"{v:g}"
            if isinstance(v, float) and c in PARAMS
            else f"{v:.3f}"
            for c, v in zip(columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_calibration(scores: pd.DataFrame, top: int) -> None:
    """Baseline; top configurations per training pair with held-out F1; max-min; means."""
    f1_cols = [c for c in scores.columns if c.startswith("f1_")]
    shares = ["arterial_share", "service_share"]
    scores = scores.assign(f1_min=scores[f1_cols].min(axis=1))
    baseline = scores[scores["arterial"].isna()]
    grid = scores[scores["arterial"].notna()]
    print("\n### Shortest-path baseline per budget\n")
    print(_table_markdown(baseline, ["budget_m", "recall", "precision", "f1", *f1_cols, *shares]))
    for train in f1_cols:
        test = next(c for c in f1_cols if c != train)
        for budget, part in grid.groupby("budget_m"):
            pick = part.sort_values([train, "f1"], ascending=False).iloc[0]
            base = baseline[baseline["budget_m"] == budget].iloc[0]
            print(
                f"\nbudget {budget:g} m: best on {train} "
                f"{ {p: float(pick[p]) for p in PARAMS[:4]} } -> {train} {pick[train]:.3f}, "
                f"held-out {test} {pick[test]:.3f} (shortest: {base[train]:.3f}, "
                f"{base[test]:.3f})"
            )
        best = grid.sort_values([train, "f1"], ascending=False).head(top)
        print(f"\n### Top {top} trained on `{train}` (held out: `{test}`)\n")
        print(_table_markdown(best, [*PARAMS, train, test, "f1", *shares]))
    for budget, part in grid.groupby("budget_m"):
        best = part.sort_values(["f1_min", "f1"], ascending=False).head(top)
        print(f"\n### Top {top} by the worse of the two pairs (max-min), budget {budget:g} m\n")
        print(_table_markdown(best, [*PARAMS, "recall", "precision", "f1", *f1_cols, *shares]))
    print(f"\n### Top {top} on all schools (no hold-out; for reading, not choosing)\n")
    print(
        _table_markdown(
            grid.sort_values("f1", ascending=False).head(top),
            [*PARAMS, "recall", "precision", "f1", *f1_cols, *shares],
        )
    )
    for param in PARAMS:
        means = grid.groupby(param)[["f1", *f1_cols, *shares]].mean()
        print(f"\nmean over the grid by {param}:\n{means.round(3).to_string()}")


# ------------------------------------------------------------- citywide CV
CITY_GRAPH = "osm/chicago_walk_2019_77_community_areas_union.graphml.gz"
CITY_CACHE = Path(tempfile.gettempdir()) / "safepassage-bench" / "city-stitched"
STYLE_ROUTES = (
    "safe_passage/safe_passage_routes_SY1617.geojson.gz",
    "safe_passage/safe_passage_routes_SY1516.geojson.gz",
    "safe_passage/safe_passage_routes_SY1314.geojson.gz",
)


@dataclass(frozen=True)
class CityBench:
    """The stitched citywide network, every SY1617 school, the visible routes matched.

    ``schools``: the schools with a visible SY1617 route line (``community_area``
    by polygon); ``everyone``: every snapped SY1617 school (competitors for
    students, neighbours for the budget); ``matched``: the style routes of every
    year matched (``year`` column); ``reference``: the SY1617 route lines.
    """

    network: WalkNetwork
    context: StreetContext
    schools: gpd.GeoDataFrame
    everyone: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    risk: NDArray[np.float64]
    matched: gpd.GeoDataFrame
    reference: gpd.GeoDataFrame
    seconds: Mapping[str, float]


def city_network(root: Path) -> WalkNetwork:
    """The stitched citywide walk network (cached under the temp dir, as bench/routes.py)."""
    if CITY_CACHE.is_dir():
        return WalkNetwork.load(CITY_CACHE)
    network = stitch(WalkNetwork.from_graphml(root / CITY_GRAPH))
    network.save(CITY_CACHE)
    return network


def load_city(root: Path) -> CityBench:
    """Build (timed) everything the citywide leave-one-area-out evaluation needs."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    network = city_network(root)
    context = StreetContext.of(network)
    lap("network")
    everyone = read_schools(
        root / "schools/CPS_School_Locations_SY1617.geojson.gz",
        profiles=root / "schools/CPS_School_Profile_SY1617.csv.gz",
        crs=network.crs,
    )
    everyone["node"] = network.snap(everyone, max_m=150.0).nodes
    everyone = everyone[everyone["node"] >= 0].sort_values("school_id").reset_index(drop=True)
    areas = gpd.read_file(f"/vsigzip/{root}/boundaries/community_areas.geojson.gz")
    areas = areas.to_crs(network.crs)
    joined = gpd.sjoin(everyone, areas[["community", "geometry"]], how="left", predicate="within")
    everyone["community_area"] = joined.groupby(level=0)["community"].first().fillna("").str.upper()
    parts = []
    for path in STYLE_ROUTES:
        table = read_routes(root / path, crs=network.crs)
        table = table[table["kind"] == "line"].assign(year=path.split("_")[-1][:6])
        parts.append(table)
    style_lines = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=network.crs)
    reference = style_lines[style_lines["year"] == "SY1617"].reset_index(drop=True)
    lap("schools and routes")
    matched = match_routes(network, style_lines)
    matched["year"] = style_lines["year"].to_numpy()
    lap("matching")
    schools = everyone[everyone["school_id"].isin(set(reference["school_id"]))]
    schools = schools.reset_index(drop=True)
    tracts = gpd.read_file(f"/vsigzip/{root}/boundaries/census_tracts_2010.geojson.gz")
    population = pd.read_csv(root / "census/population_by_2010_census_block.csv.gz")
    origin_set = estimate_origins(
        network, schools, census_population(tracts, population), competitors=everyone
    )
    lap("origins")
    incidents = read_incidents(root / "crime/gun_crimes_2016_citywide.csv.gz", network=network)
    surface = score(
        network, incidents, WINDOWS, model=dataclasses.replace(RISK_MODEL, bandwidth_m=150.0)
    )
    risk = window_risk(surface, "pm")
    lap("risk")
    return CityBench(
        network,
        context,
        schools,
        everyone,
        origin_set.origins.reset_index(drop=True),
        risk,
        matched,
        reference,
        seconds,
    )


def style_samples(
    city: CityBench, school_ids: Iterable[str]
) -> list[tuple[str, SchoolSegments, NDArray[np.int64]]]:
    """(school id, candidate segments, route segment rows) of the schools with a matched
    style route (any year), all years' route segments pooled per school."""
    wanted = set(school_ids)
    labels = segment_labels(city.context, city.matched[city.matched["school_id"].isin(wanted)])
    nodes = city.everyone.set_index("school_id")["node"]
    out = []
    for school_id in sorted(labels):
        if school_id in nodes.index:
            segments = school_segments(city.network, city.context, int(nodes[school_id]), city.risk)
            out.append((school_id, segments, labels[school_id]))
    return out


# The growth parameters of the shipped model, chosen on the leave-one-area-out folds of
# the six areas with the most routes (budget = official length): see the README.
GROWTH = GrowthParameters(gamma=1.0, flow_power=0.0, leg_m=5000.0, threshold=2.0)


def city_routes(city: CityBench, factors: Mapping[str, float], risk_weight: float) -> RouteSet:
    """The schools' modelled routes on the citywide network (one window, the pm risk)."""
    return modelled_routes(
        city.network,
        city.schools,
        city.origins,
        lambda _w: city.risk,
        ("am",),
        factors,
        risk_weight,
    )


def cv_corridors(
    city: CityBench, growth: GrowthParameters, *, seed: int = 0
) -> tuple[dict[str, dict[str, gpd.GeoDataFrame]], float]:
    """Leave-one-community-area-out: per held-out area, a style trained on the other
    areas' schools (their routes of every year) and a budget model fitted on their
    SY1617 route lengths; the area's schools planned with the style, with shortest
    paths and with the hand factors, each at the official length and at the learned
    budget.  Returns corridors by budget and planner, and the mean training seconds."""
    official = city.reference.dissolve("school_id").length
    area_of = city.schools.set_index("school_id")["community_area"]
    samples = style_samples(city, city.schools["school_id"])
    routes = {
        "shortest": city_routes(city, {}, 0.0),
        "hand factors": city_routes(city, class_factor_set(0.65, 4.0, 1.5), 1.0),
    }
    out: dict[str, dict[str, list[gpd.GeoDataFrame]]] = {}
    seconds = []
    for area in sorted(set(area_of)):
        held = city.schools[city.schools["community_area"] == area]
        train = [(seg, lab) for s, seg, lab in samples if area_of.get(s) != area]
        start = time.perf_counter()
        style = train_style(train, seed=seed, growth=growth)
        seconds.append(time.perf_counter() - start)
        trainees = city.schools[city.schools["community_area"] != area]
        coef = fit_budget(trainees, city.everyone, official.loc[trainees["school_id"]].to_numpy())
        style = dataclasses.replace(style, budget_coef=coef)
        budgets = {
            "official length": official.loc[held["school_id"]].to_dict(),
            "learned budget": dict(
                zip(held["school_id"], style.budget_m(held, city.everyone).tolist(), strict=True)
            ),
        }
        for budget_name, budget in budgets.items():
            plans = out.setdefault(budget_name, {})
            plans.setdefault("learned style", []).append(
                designate_corridors(
                    city.network,
                    held,
                    routes["shortest"],
                    budget_m=budget,
                    risk=city.risk,
                    style=style,
                    context=city.context,
                )
            )
            for name, planned in routes.items():
                plans.setdefault(name, []).append(
                    designate_corridors(
                        city.network, held, planned, budget_m=budget, risk=city.risk
                    )
                )
        print(
            f"  {area.title()}: {len(held)} schools, trained in {seconds[-1]:.1f} s",
            file=sys.stderr,
        )
    tables = {
        budget: {
            name: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=city.network.crs)
            for name, parts in plans.items()
        }
        for budget, plans in out.items()
    }
    return tables, float(np.mean(seconds))


def bootstrap(
    table: pd.DataFrame, baseline: pd.DataFrame | None = None, *, draws: int = 2000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95% bootstrap intervals (schools resampled) of overall recall, precision, F1 and,
    with a ``baseline`` table (same schools), of the F1 difference."""
    a = table.set_index("school_id")
    pick = np.random.default_rng(seed).integers(0, len(a), size=(draws, len(a)))

    def scores(t: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
        def total(column: str) -> NDArray[np.float64]:
            return np.asarray(t[column].to_numpy(dtype=np.float64)[pick].sum(axis=1))

        recall = total("ref_hit_m") / total("reference_m")
        precision = total("ours_hit_m") / np.maximum(total("ours_m"), 1e-9)
        f1 = 2 * recall * precision / np.maximum(recall + precision, 1e-12)
        return {"recall": recall, "precision": precision, "f1": f1}

    ours = scores(a)
    out = {k: tuple(float(x) for x in np.percentile(v, [2.5, 97.5])) for k, v in ours.items()}
    if baseline is not None:
        base = scores(baseline.set_index("school_id").loc[a.index])
        low, high = np.percentile(ours["f1"] - base["f1"], [2.5, 97.5])
        out["f1_gain"] = (float(low), float(high))
    return out  # type: ignore[return-value]


def every_school(city: CityBench, corridors: gpd.GeoDataFrame) -> pd.DataFrame:
    """:func:`per_school` for every school with a reference route; a school without a
    corridor (no student reached it) counts with nothing found."""
    table = per_school(city, corridors).set_index("school_id")  # type: ignore[arg-type]
    official = city.reference.dissolve("school_id").length
    official = official[official.index.isin(set(city.schools["school_id"]))]
    table = table.reindex(official.index)
    table["reference_m"] = official
    table = table.fillna(0.0)
    return table.rename_axis("school_id").reset_index()


def _with_interval(value: float, interval: tuple[float, float]) -> str:
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def cv_main(city: CityBench) -> None:
    """Print the leave-one-community-area-out tables (summary and per school)."""
    start = time.perf_counter()
    corridors, train_s = cv_corridors(city, GROWTH)
    print(f"\nCV: {time.perf_counter() - start:.0f} s; training {train_s:.1f} s per fold (mean)")
    for budget, plans in corridors.items():
        tables = {name: every_school(city, c) for name, c in plans.items()}
        print(f"\n### Leave-one-community-area-out, budget = {budget}\n")
        head = [
            "planner",
            "length / official",
            "recall [95% CI]",
            "precision [95% CI]",
            "F1 [95% CI]",
            "F1 - shortest [95% CI]",
            "F1 - hand factors [95% CI]",
        ]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, table in tables.items():
            o = overall(table)
            ci = bootstrap(table)
            gains = []
            for base in ("shortest", "hand factors"):
                g = bootstrap(table, tables[base])["f1_gain"]
                diff = o["f1"] - overall(tables[base])["f1"]
                gains.append(f"{diff:+.3f} [{g[0]:+.3f}, {g[1]:+.3f}]")
            lines.append(
                "| "
                + " | ".join(
                    [
                        name,
                        f"{o['corridor_km'] / o['reference_km']:.3f}",
                        _with_interval(o["recall"], ci["recall"]),
                        _with_interval(o["precision"], ci["precision"]),
                        _with_interval(o["f1"], ci["f1"]),
                        *gains,
                    ]
                )
                + " |"
            )
        print("\n".join(lines))
        if budget == "official length":
            print(f"\n### Per school, budget = {budget}\n")
            print(comparison_markdown(city, tables))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(parser)
    parser.add_argument(
        "--budget",
        type=float,
        default=HAND_BUDGET_M,
        help=f"corridor budget per school, m (default {HAND_BUDGET_M:g}: the hand style's)",
    )
    parser.add_argument(
        "--risk-weight",
        type=float,
        default=DEFAULTS.risk_weight,
        help="lambda of ours (default: the config default)",
    )
    parser.add_argument(
        "--draw",
        choices=("area", "selected"),
        default="area",
        help="schools that compete for students (see the module doc)",
    )
    parser.add_argument("--calibrate", action="store_true", help="grid-search the defaults")
    parser.add_argument(
        "--cv",
        action="store_true",
        help="leave-one-community-area-out CV of the learned style on the citywide network",
    )
    parser.add_argument("--top", type=int, default=10, help="configurations shown per split")
    parser.add_argument("--scores", type=Path, default=None, help="write grid scores (CSV)")
    args = parser.parse_args()
    root = resolve_data_root(args.data)
    if args.cv:
        city = load_city(root)
        print(
            f"citywide network {len(city.network.nodes):,} nodes; {len(city.schools)} schools "
            f"with a visible SY1617 route in {city.schools['community_area'].nunique()} "
            f"community areas; {len(city.matched)} route lines of SY1314/SY1516/SY1617 matched"
        )
        print("setup seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in city.seconds.items()))
        cv_main(city)
        print(f"\npeak memory {peak_rss_mb():,.0f} MiB")
        return
    bench = load_bench(root, draw=args.draw)
    counts = bench.schools["community_area"].value_counts().to_dict()
    print(
        f"network {len(bench.network.nodes):,} nodes, {len(bench.network.edges):,} edges; "
        f"{len(bench.schools)} schools {counts}; {len(bench.origins)} origins, "
        f"{int(bench.origins['students'].sum()):,} students; {len(bench.reference)} official "
        f"route lines ({bench.reference.length.sum() / 1000:.1f} km)"
    )
    print("setup seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in bench.seconds.items()))
    if args.calibrate:
        start = time.perf_counter()
        scores = grid_scores(bench, GRID)
        print(f"grid: {len(scores)} configurations in {time.perf_counter() - start:.0f} s")
        if args.scores is not None:
            scores.to_csv(args.scores, index=False)
        report_calibration(scores, args.top)
    else:
        compare_main(bench, args.budget, args.risk_weight)
    print(f"\npeak memory {peak_rss_mb():,.0f} MiB")


if __name__ == "__main__":
    main()
