"""The stages of a plan as functions of the config: load, select, score, route, roster.

:func:`safepassage.pipeline.plan` composes them; analysts call them one at a
time (``notebooks/walkthrough.ipynb``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._tables import gdal_source
from .config import PlanConfig
from .errors import DataError
from .executor import Executor
from .routes.network import WalkNetwork, stitch
from .routes.origins import OriginSet, block_population, estimate_origins, tract_population
from .routes.paths import (
    DEFAULT_CLASS_FACTORS,
    RouteCosts,
    RouteSet,
    merge_routesets,
    prepare_route_costs,
    route_students,
)
from .staffing._cpsat import SolverSettings
from .staffing.roster import Roster, build_roster, parse_school_hours, school_windows

__all__ = [
    "RISK_OPTIONS",
    "load_network",
    "plan_roster",
    "risk_surface",
    "route_all_schools",
    "select_schools",
    "staffing_windows",
    "student_origins",
    "window_risk",
]

logger = logging.getLogger(__name__)
# How incidents become risk (bench/risk.py, fit Jan-Jun 2016, test Jul-Dec): a
# geometric blend of the rate snapped to each incident's street (weight 0.2) and
# the 150 m Gaussian rate; held-out PAI@5% 5.29 (linear blend, snap 0.7: 5.17).
RISK_OPTIONS: dict[str, Any] = {"snap_share": 0.2, "blend": "geometric", "blend_floor": 0.05}


def load_network(config: PlanConfig) -> WalkNetwork:
    """Load, stitch and cache the configured networks (cache keyed by inputs and tolerances)."""
    paths = [Path(p) for p in config.data.networks]
    if not paths:
        raise DataError("config [data] networks is empty; list at least one network file")
    key = hashlib.sha256(
        json.dumps(
            [[str(p), p.stat().st_size if p.exists() else 0] for p in paths]
            + [config.network.seam_tolerance_m, config.network.cut_tolerance_m]
        ).encode()
    ).hexdigest()[:16]
    cache = Path(config.data.cache_dir) / f"network-{key}"
    if cache.is_dir():
        try:
            return WalkNetwork.load(cache)
        except DataError:
            logger.warning("network cache %s unreadable; rebuilding", cache)
    pieces = [_load_one(p) for p in paths]
    network = stitch(
        pieces,
        seam_tolerance_m=config.network.seam_tolerance_m,
        cut_tolerance_m=config.network.cut_tolerance_m,
    )
    try:
        network.save(cache)
    except OSError as exc:  # a read-only cache folder must not stop the plan
        logger.warning("could not write the network cache %s: %s", cache, exc)
    return network


def _load_one(path: Path) -> WalkNetwork:
    name = path.name.lower()
    if name.endswith((".graphml", ".graphml.gz")):
        return WalkNetwork.from_graphml(path)
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".xml")):
        return WalkNetwork.from_osm_xml(path)
    return WalkNetwork.from_centerlines(path)


def select_schools(config: PlanConfig, network: WalkNetwork) -> gpd.GeoDataFrame:
    """Read schools, keep the configured ones, snap them to the network.

    Returns
    -------
    GeoDataFrame
        The reader's columns plus ``node`` (-1 when unsnapped) and ``snap_m``.
    """
    from .io import read_routes, read_schools
    from .io import select_schools as select_from

    schools = read_schools(config.data.schools, profiles=config.data.profiles, crs=network.crs)
    if schools["school_id"].duplicated().any():
        dupes = sorted(schools.loc[schools["school_id"].duplicated(), "school_id"].unique())
        raise DataError(f"{config.data.schools}: duplicate school ids {dupes[:10]}")
    routes = None
    if config.schools.safe_passage_year and config.data.reference_routes is not None:
        routes = read_routes(config.data.reference_routes, crs=network.crs)
    chosen = select_from(
        schools, config.schools, areas_path=config.data.community_areas, routes=routes
    ).copy()
    if chosen.empty:
        raise DataError("no school matches the [schools] selection of the config")
    snap = network.snap(chosen, max_m=config.network.snap_max_m)
    chosen["node"] = snap.nodes
    chosen["snap_m"] = snap.table["distance_m"].to_numpy()
    raw_hours = chosen["school_hours"] if "school_hours" in chosen else [None] * len(chosen)
    bells = [parse_school_hours(text) for text in raw_hours]
    chosen["bell_start"] = [b[0] if b else config.windows.default_start for b in bells]
    chosen["bell_end"] = [b[1] if b else config.windows.default_end for b in bells]
    return chosen.sort_values("school_id").reset_index(drop=True)


def risk_surface(config: PlanConfig, network: WalkNetwork) -> Any:
    """Score the configured incidents and hazards into a RiskSurface (windows am, pm, all)."""
    from .risk.incidents import read_hazard_points, read_incidents
    from .risk.surface import score

    weights = dict(config.risk.category_weights) or None
    sources = [*config.data.incidents]
    if config.data.homicides is not None:
        sources.append(config.data.homicides)
    tables = [
        read_incidents(p, network=network, category_weights=weights, tz=config.timezone)
        for p in sources
    ]
    incidents = _combine(tables)
    hazards = {
        name: (read_hazard_points(h.path, crs=network.crs), h.weight * config.risk.hazard_weight)
        for name, h in config.data.hazards.items()
    }
    windows: dict[str, tuple[str, str] | None] = {
        "am": (config.windows.am[0], config.windows.am[1]),
        "pm": (config.windows.pm[0], config.windows.pm[1]),
        "all": None,
    }
    return score(
        network,
        incidents,
        windows,
        bandwidth_m=config.risk.bandwidth_m,
        half_life_days=config.risk.half_life_days,
        hazards=hazards or None,
        **RISK_OPTIONS,
    )


def _combine(tables: list[Any]) -> Any:
    """One incident table from several sources (ids prefixed by source order)."""
    from .risk.incidents import Incidents

    if len(tables) == 1:
        return tables[0]
    parts = [
        t.table.assign(incident_id=f"{i}:" + t.table["incident_id"].astype(str))
        for i, t in enumerate(tables)
    ]
    table = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=tables[0].crs)
    problems = pd.concat([t.problems.assign(source=t.source) for t in tables], ignore_index=True)
    first = tables[0]
    return Incidents(
        table,
        problems,
        first.crs,
        first.tz,
        " + ".join(t.source for t in tables),
        first.category_weights,
    )


def window_risk(surface: Any, window: str) -> NDArray[np.float64]:
    """Risk used for routing and posts in ``window``.

    The window's own incident density (arrival or dismissal hours) plus a
    quarter of the all-day incident density, and the hazard term (vacant
    lots), the last two scaled by the window's share of all-day incidents:
    windowed counts are sparse and the all-day pattern (homicides with only a
    year, too) says where violence concentrates, while a hazard's weight is
    set against all-day incidents and must not outweigh a window's few.
    """
    own = _component(surface, window, "risk_incidents")
    hazards = _component(surface, window, "risk_hazards")
    if "all" not in surface.windows or window == "all":
        return own + hazards
    every = _component(surface, "all", "risk_incidents")
    share = own.sum() / every.sum() if every.sum() > 0 else 0.0
    return own + share * (0.25 * every + hazards)


def _component(surface: Any, window: str, column: str) -> NDArray[np.float64]:
    """One risk component per edge (all of ``risk`` when the surface has no components)."""
    table = surface.table
    if column not in table.columns:
        return (
            np.asarray(surface.risk(window), dtype=np.float64)
            if column == "risk_incidents"
            else np.zeros(surface.n_edges)
        )
    values = table[column].to_numpy(dtype=np.float64)
    i = surface.windows.index(window)
    return np.asarray(values[i * surface.n_edges : (i + 1) * surface.n_edges])


def student_origins(
    config: PlanConfig, network: WalkNetwork, schools: gpd.GeoDataFrame
) -> OriginSet:
    """Aggregated student origins per school from the census blocks of the config."""
    if config.data.blocks is None or config.data.population is None:
        raise DataError("config [data] needs blocks and population to estimate student origins")
    blocks = gpd.read_file(gdal_source(config.data.blocks))
    population = pd.read_csv(config.data.population)
    if "tract_bloc" not in blocks.columns and "tractce10" in blocks.columns:
        polygons = tract_population(blocks, population)  # tracts: sum of their blocks
    else:
        polygons = block_population(blocks, population)
    competitors = None
    if schools_path := config.data.schools:
        from .io import read_schools

        everyone = read_schools(schools_path, profiles=config.data.profiles, crs=network.crs)
        everyone["node"] = network.snap(everyone, max_m=config.network.snap_max_m).nodes
        competitors = everyone[everyone["node"] >= 0]
    return estimate_origins(
        network,
        schools,
        polygons,
        competitors=competitors,
        radius_m={
            "elementary": config.routes.radius_elementary_m,
            "high": config.routes.radius_high_m,
        },
        min_students=config.routes.min_students,
    )


def staffing_windows(config: PlanConfig, schools: gpd.GeoDataFrame) -> pd.DataFrame:
    """Morning and afternoon staffing windows per school from bell times (fallbacks reported)."""
    profile = pd.DataFrame(
        {"School_ID": schools["school_id"], "School_Hours": schools.get("school_hours")}
    )
    w = config.windows
    return school_windows(
        profile,
        default_start=w.default_start,
        default_end=w.default_end,
        arrive_before_min=w.arrive_before_min,
        arrive_after_min=w.arrive_after_min,
        dismiss_before_min=w.dismiss_before_min,
        dismiss_after_min=w.dismiss_after_min,
    )


def plan_roster(
    config: PlanConfig, posts: gpd.GeoDataFrame, windows: pd.DataFrame, settings: SolverSettings
) -> tuple[Roster | None, pd.DataFrame]:
    """Roster the configured vendors' workers onto the selected posts; also the vendor table."""
    from .io import read_vendors, read_workers

    if config.data.vendors is None or config.data.workers is None:
        logger.warning("no vendors/workers configured: skipping the roster")
        return None, pd.DataFrame(columns=["vendor_id", "name", "school_ids"])
    vendors = read_vendors(config.data.vendors)
    workers = read_workers(config.data.workers)
    # a plan of some schools: each vendor keeps only its schools in this plan
    planned = set(posts["school_ids"].explode().dropna().astype(str)) | set(windows["school_id"])
    kept: list[Any] = [[s for s in ids if s in planned] for ids in vendors["school_ids"]]
    vendors = vendors.assign(school_ids=kept)
    chosen = posts[posts["selected"]]
    demand = chosen[["post_id", "school_id", "value_am", "value_pm"]].merge(
        windows[["school_id", "window", "start", "end"]], on="school_id"
    )
    demand["value"] = np.where(demand["window"] == "am", demand["value_am"], demand["value_pm"])
    demand["headcount"] = 1
    # mandatory posts are staffed before any other
    kind = chosen.set_index("post_id")["kind"] if "kind" in chosen else pd.Series(dtype=str)
    demand["priority"] = (demand["post_id"].map(kind) == "mandatory").astype(int)
    served = {s for ids in vendors["school_ids"] for s in ids}
    demand = demand[demand["school_id"].isin(served)]
    roster = build_roster(
        vendors,
        workers,
        demand[
            ["post_id", "school_id", "window", "start", "end", "headcount", "value", "priority"]
        ],
        floater_share=config.staffing.floater_share,
        settings=settings,
        max_minutes_day=config.staffing.max_minutes_day,
        max_days_week=config.staffing.max_days_week,
    )
    return roster, vendors


def _route_chunk(
    shared: tuple[WalkNetwork, RouteCosts, dict[str, Any]],
    item: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> RouteSet:
    network, costs, options = shared
    schools, origins = item
    return route_students(network, schools, origins, costs=costs, **options)


def route_all_schools(
    executor: Executor,
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    risk_by_window: dict[str, NDArray[np.float64]],
    *,
    risk_weight: float = 1.0,
    detour_cap: float = 1.25,
    factors: Mapping[str, float] = DEFAULT_CLASS_FACTORS,
    max_walk_m: float | None = None,
) -> RouteSet:
    """Routes of every school, groups of schools mapped over ``executor``.

    Route costs are prepared once and shared; the result does not depend on
    the executor or the grouping (:func:`~safepassage.routes.paths.merge_routesets`).
    """
    routed = schools[schools["school_id"].isin(set(origins["school_id"]))]
    ids = sorted(routed["school_id"].astype(str))
    if not ids:
        raise DataError("no school has student origins to route; see the origins problems")
    costs = prepare_route_costs(
        network,
        windows=tuple(risk_by_window),
        risk=risk_by_window.__getitem__,
        risk_weight=risk_weight,
        factors=factors,
    )
    n_groups = min(len(ids), 8)
    groups = [ids[i::n_groups] for i in range(n_groups)]
    items = [
        (routed[routed["school_id"].isin(g)], origins[origins["school_id"].isin(g)]) for g in groups
    ]
    options = {"detour_cap": detour_cap, "max_walk_m": max_walk_m}
    parts = executor.map(_route_chunk, (network, costs, options), items)
    return merge_routesets(parts)
