"""The stages of a plan as functions of the config: load, select, score, route, roster.

:func:`safepassage.pipeline.plan` composes them; analysts call them one at a
time (``notebooks/walkthrough.ipynb``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from .config import (
    DataConfig,
    NetworkConfig,
    PlanConfig,
    PostsConfig,
    RiskConfig,
    RoutesConfig,
    SchoolSelection,
    StaffingConfig,
    WindowConfig,
)
from .errors import DataError
from .executor import Executor
from .inputs import PlanInputs, clip_problem, period_problem, planned_schools
from .io import named_areas, read_routes
from .risk.incidents import in_period, no_incidents, period_years
from .risk.surface import RiskModel, RiskSurface, score
from .routes.corridors import compare_routes, designate_corridors, designated_corridors
from .routes.extensions import ExtensionOptions
from .routes.matching import MatchOptions, match_routes
from .routes.network import WalkNetwork
from .routes.origins import OriginSet, estimate_origins, origins_from_enrollment
from .routes.paths import (
    RouteCosts,
    RouteSet,
    merge_routesets,
    prepare_route_costs,
    route_students,
)
from .routes.review import RouteReview, review_routes
from .routes.stitch import stitch
from .routes.style import (
    StreetContext,
    StyleModel,
    default_style,
    fit_budget,
    school_segments,
    segment_labels,
    train_style,
)
from .schedule import bell_times, windows_around_bells
from .staffing.needs import Wages
from .staffing.posts import PostPlan, plan_posts
from .staffing.roster import Roster, build_roster
from .staffing.solver import SolverSettings
from .staffing.staff import FLOATER_COLUMNS, clearance, floaters_table, staff_table
from .staffing.walk import WalkRule, walk_rule
from .streets import DEFAULT_CLASS_FACTORS

__all__ = [
    "RISK_MODEL",
    "compare_reference",
    "designated_on_network",
    "load_network",
    "network_area",
    "plan_corridors",
    "plan_roster",
    "review_designated",
    "risk_surface",
    "roster_demand",
    "route_all_schools",
    "select_schools",
    "site_posts",
    "solver_settings",
    "staffing_wages",
    "staffing_windows",
    "student_origins",
    "window_risk",
]

logger = logging.getLogger(__name__)
# How incidents become risk (bench/risk.py, fit Jan-Jun 2016, test Jul-Dec): a
# geometric blend of the rate snapped to each incident's street (weight 0.2) and
# the 150 m Gaussian rate; held-out PAI@5% 5.29 (linear blend, snap 0.7: 5.17).
# [risk] bandwidth_m and half_life_days replace its bandwidth and recency.
RISK_MODEL = RiskModel(snap_share=0.2, blend="geometric", blend_floor=0.05)


def load_network(
    data: DataConfig, options: NetworkConfig, schools: SchoolSelection | None = None
) -> WalkNetwork:
    """Load, stitch and cache the configured networks (cache keyed by inputs and tolerances).

    The key holds the files as a set (sorted), so listing them in another order
    reuses the cache; stitching does not depend on the order either.  With
    ``[network] clip_to_areas_m`` only the streets within that distance of the
    ``schools`` selection's community areas are kept (each file is clipped before
    stitching), so a few areas can be planned on the citywide network.
    """
    paths = sorted(Path(p) for p in data.networks)
    if not paths:
        raise DataError("config [data] networks is empty; list at least one network file")
    area = network_area(data, options, schools)
    key = hashlib.sha256(
        json.dumps(
            [[str(p), p.stat().st_size if p.exists() else 0] for p in paths]
            + [options.seam_tolerance_m, options.cut_tolerance_m]
            + ([] if area is None else [shapely.to_wkb(area).hex()])
        ).encode()
    ).hexdigest()[:16]
    cache = Path(data.cache_dir) / f"network-{key}"
    if cache.is_dir():
        try:
            return WalkNetwork.load(cache)
        except DataError:
            logger.warning("network cache %s unreadable; rebuilding", cache)
    pieces = [_load_one(p) for p in paths]
    if area is not None:
        pieces = [_clipped(piece, area) for piece in pieces]
        pieces = [piece for piece in pieces if len(piece.edges)]
        if not pieces:
            raise DataError(
                "no street of [data] networks lies within network.clip_to_areas_m of "
                f"[schools] community_areas {list(schools.community_areas) if schools else []}"
            )
    network = stitch(
        pieces,
        seam_tolerance_m=options.seam_tolerance_m,
        cut_tolerance_m=options.cut_tolerance_m,
    )
    try:
        network.save(cache)
    except OSError as exc:  # a read-only cache folder must not stop the plan
        logger.warning("could not write the network cache %s: %s", cache, exc)
    return network


def network_area(
    data: DataConfig, options: NetworkConfig, schools: SchoolSelection | None
) -> BaseGeometry | None:
    """The area ``[network] clip_to_areas_m`` keeps (EPSG:4326 lon/lat), or None.

    Raises
    ------
    DataError
        When the clip is asked for without the areas to clip to (see
        :func:`clip_problem`).
    """
    if options.clip_to_areas_m is None:
        return None
    problem = clip_problem(data, options, schools)
    if problem is not None or schools is None or data.community_areas is None:
        raise DataError(problem or "network.clip_to_areas_m: no area to clip to")
    chosen = named_areas(data.community_areas, schools.community_areas)
    metric = chosen.to_crs(chosen.estimate_utm_crs())
    grown = shapely.buffer(shapely.union_all(metric.geometry.values), options.clip_to_areas_m)
    return gpd.GeoSeries([grown], crs=metric.crs).to_crs(4326).iloc[0]


def _clipped(network: WalkNetwork, area: BaseGeometry) -> WalkNetwork:
    """The streets of ``network`` within ``area`` (lon/lat), by their end nodes."""
    local = gpd.GeoSeries([area], crs=4326).to_crs(network.crs).iloc[0]
    xy = network.nodes[["x", "y"]].to_numpy()
    shapely.prepare(local)
    inside = shapely.contains_xy(local, xy[:, 0], xy[:, 1])
    return network.subnetwork(np.asarray(inside, dtype=bool))


def _load_one(path: Path) -> WalkNetwork:
    name = path.name.lower()
    if name.endswith((".graphml", ".graphml.gz")):
        return WalkNetwork.from_graphml(path)
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".xml")):
        return WalkNetwork.from_osm_xml(path)
    return WalkNetwork.from_centerlines(path)


def select_schools(
    config: PlanConfig, inputs: PlanInputs, network: WalkNetwork
) -> gpd.GeoDataFrame:
    """The ``[schools]`` selection, snapped to the network, with its bell times.

    Returns
    -------
    GeoDataFrame
        The reader's columns plus ``node`` (-1 when unsnapped), ``snap_m``, and
        ``bell_start``/``bell_end`` (``HH:MM``: parsed ``school_hours``, else
        ``[windows] default_start``/``default_end``, then ``bells_default`` is
        True), sorted by ``school_id``.
    """
    chosen = planned_schools(config, inputs).copy()
    snap = network.snap(chosen, max_m=config.network.snap_max_m)
    chosen["node"] = snap.nodes
    chosen["snap_m"] = snap.table["distance_m"].to_numpy()
    w = config.windows
    bells = bell_times(
        chosen["school_hours"], default_start=w.default_start, default_end=w.default_end
    )
    return pd.concat([chosen, bells], axis=1)


def risk_surface(
    inputs: PlanInputs,
    network: WalkNetwork,
    options: RiskConfig,
    windows: WindowConfig,
    period: tuple[str, str] | None = None,
) -> RiskSurface:
    """Score the incidents and hazards into a RiskSurface (windows ``am``, ``pm``, ``all``).

    Only the incidents of ``period`` (first and last day) count, default
    ``[risk] period`` (all incidents read when that is unset too); the rates are
    per year of the period.
    """
    incidents = inputs.incidents
    if incidents is None:
        logger.warning(
            "no [data] incidents: every street's risk is 0, so corridors and posts follow "
            "the students alone; add an incident table to weigh risk"
        )
        incidents = no_incidents(network.crs)
    period = period or options.period
    years = None
    if period is not None:
        incidents, years = in_period(incidents, *period), period_years(*period)
        if not len(incidents):
            raise DataError(period_problem("the period", period))
    spans: dict[str, tuple[str, str] | None] = {"am": windows.am, "pm": windows.pm, "all": None}
    model = dataclasses.replace(
        RISK_MODEL,
        bandwidth_m=options.bandwidth_m,
        half_life_days=options.half_life_days,
        years=years,
    )
    return score(network, incidents, spans, model=model, hazards=inputs.hazards or None)


def window_risk(surface: RiskSurface, window: str) -> NDArray[np.float64]:
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


def _component(surface: RiskSurface, window: str, column: str) -> NDArray[np.float64]:
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
    inputs: PlanInputs,
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    options: RoutesConfig,
    snapping: NetworkConfig,
) -> OriginSet:
    """Aggregated student origins per school; every school in the network competes for them.

    Without population data each school's enrollment is spread along the residential
    streets within its walk radius (a warning says so).
    """
    radius_m = {"elementary": options.radius_elementary_m, "high": options.radius_high_m}
    if inputs.population is None:
        logger.warning(
            "no population data (data.blocks and data.population): each school's enrollment "
            "is spread along the residential streets within its walk radius (all streets when "
            "the network has no street classes)"
        )
        return origins_from_enrollment(
            network, schools, radius_m=radius_m, min_students=options.min_students
        )
    everyone = inputs.schools.copy()
    everyone["node"] = network.snap(everyone, max_m=snapping.snap_max_m).nodes
    return estimate_origins(
        network,
        schools,
        inputs.population,
        competitors=everyone[everyone["node"] >= 0],
        radius_m=radius_m,
        min_students=options.min_students,
    )


def staffing_windows(schools: gpd.GeoDataFrame, w: WindowConfig) -> pd.DataFrame:
    """Morning and afternoon staffing windows per school around its bells (as selected)."""
    return windows_around_bells(
        schools,
        arrive_before_min=w.arrive_before_min,
        arrive_after_min=w.arrive_after_min,
        dismiss_before_min=w.dismiss_before_min,
        dismiss_after_min=w.dismiss_after_min,
    )


def staffing_wages(options: StaffingConfig) -> Wages:
    """What the needs table prices a worker at (``[staffing]``)."""
    return Wages(
        hourly_wage=options.hourly_wage,
        school_days=options.school_days,
        max_minutes_day=options.max_minutes_day,
        floater_share=options.floater_share,
    )


def solver_settings(options: StaffingConfig, seed: int) -> SolverSettings:
    """CP-SAT settings of ``[staffing]``: limits in deterministic time, the same plan everywhere."""
    return SolverSettings(
        time_limit_s=options.time_limit_s,
        num_workers=options.num_workers,
        seed=seed,
        relative_gap=options.relative_gap,
        deterministic=True,
    )


def designated_on_network(
    inputs: PlanInputs,
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    routes: RouteSet,
    risk_by_window: dict[str, NDArray[np.float64]],
    options: RoutesConfig,
) -> gpd.GeoDataFrame | None:
    """The planned schools' designated routes matched onto the network's streets, as
    corridors (``source`` = ``designated``); None without ``data.designated_routes``.

    Matched whatever ``[routes] source`` says: with ``designed`` they are reviewed
    and compared, not planned on.
    """
    if inputs.designated_routes is None:
        return None
    official = inputs.designated_routes
    official = official[official["school_id"].isin(set(schools["school_id"]))]
    matching = MatchOptions(tolerance_m=options.match_tolerance_m, max_gap_m=options.match_gap_m)
    matched = match_routes(network, official, matching)
    return designated_corridors(network, matched, routes, risk=risk_by_window["pm"])


def plan_corridors(
    inputs: PlanInputs,
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    routes: RouteSet,
    risk_by_window: dict[str, NDArray[np.float64]],
    designated: gpd.GeoDataFrame | None,
    options: RoutesConfig,
    *,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """The plan's corridors.

    With ``[routes] source`` designated (see :func:`corridor_source`) a school's
    corridors are its ``designated`` routes; every other school gets a designed
    corridor (``source`` = ``designed``) in ``[routes] corridor_style``, within
    ``corridor_budget_m`` or the style's learned budget.
    """
    risk = risk_by_window["pm"]
    if corridor_source(options, inputs) == "designated" and designated is not None:
        rest = schools[~schools["school_id"].isin(designated["school_id"])]
    else:
        rest = schools
    style = None
    if options.corridor_style == "learned" and len(rest):
        style = corridor_style_model(inputs, network, rest, risk, options, seed=seed)
    if options.corridor_budget_m is not None:
        budget: float | dict[str, float] = float(options.corridor_budget_m)
    elif style is not None:
        learned = style.budget_m(rest, inputs.schools)
        budget = dict(zip(rest["school_id"].astype(str), learned.tolist(), strict=True))
    else:
        budget = HAND_BUDGET_M
    designed = designate_corridors(network, rest, routes, budget_m=budget, risk=risk, style=style)
    if rest is schools:
        return designed
    assert designated is not None
    return _concat_corridors(designated, designed)


HAND_BUDGET_M = 1600.0  # corridor_style = "hand" without corridor_budget_m (SY1617 mean 1.56 km)


def corridor_style_model(
    inputs: PlanInputs,
    network: WalkNetwork,
    planned: gpd.GeoDataFrame,
    risk: NDArray[np.float64],
    options: RoutesConfig,
    *,
    seed: int = 0,
) -> StyleModel:
    """The street style for designed corridors: trained on ``[routes] style_routes``
    without the ``planned`` schools' own routes, else the shipped Chicago model.

    Raises
    ------
    DataError
        No style route of another school lies on the network near its school.
    """
    if not options.style_routes:
        return default_style()
    parts = [read_routes(path, crs=network.crs) for path in options.style_routes]
    table = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=network.crs)
    table = table[~table["school_id"].isin(set(planned["school_id"].astype(str)))]
    where = inputs.schools[inputs.schools["school_id"].isin(set(table["school_id"]))].copy()
    where["node"] = network.snap(where, max_m=150.0).nodes
    where = where[where["node"] >= 0]
    matching = MatchOptions(tolerance_m=options.match_tolerance_m, max_gap_m=options.match_gap_m)
    matched = match_routes(
        network, table[table["school_id"].isin(set(where["school_id"]))], matching
    )
    context = StreetContext.of(network)
    labels = segment_labels(context, matched)
    where = where[where["school_id"].isin(set(labels))].sort_values("school_id")
    if where.empty:
        files = ", ".join(str(p) for p in options.style_routes)
        raise DataError(
            f"[routes] style_routes ({files}): no route of a school outside the plan lies on "
            "the network near its school (in data.schools); add routes of other schools, or "
            "remove style_routes to use the shipped Chicago style"
        )
    samples = [
        (school_segments(network, context, int(node), risk), labels[str(school_id)])
        for school_id, node in where[["school_id", "node"]].itertuples(index=False)
    ]
    route_m = matched.groupby("school_id")["route_m"].sum()
    style = train_style(samples, seed=seed, about={"style_routes": len(table)})
    coef = fit_budget(where, inputs.schools, route_m.loc[where["school_id"]].to_numpy())
    return dataclasses.replace(style, budget_coef=coef)


def compare_reference(
    inputs: PlanInputs, corridors: gpd.GeoDataFrame, options: RoutesConfig
) -> pd.DataFrame | None:
    """How the corridors agree with ``data.reference_routes`` (None without)."""
    if inputs.reference_routes is None:
        return None
    lines = inputs.reference_routes[inputs.reference_routes["kind"] == "line"]
    return compare_routes(corridors, lines, tolerance_m=options.reference_tolerance_m)


def corridor_source(options: RoutesConfig, inputs: PlanInputs) -> str:
    """``designated`` or ``designed``: ``[routes] source``, by default designated when
    ``data.designated_routes`` is given."""
    if options.source:
        return options.source
    return "designated" if inputs.designated_routes is not None else "designed"


def _concat_corridors(*parts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    table = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if table.empty:
        return parts[0]
    return gpd.GeoDataFrame(table, geometry="geometry", crs=parts[0].crs).sort_values(
        ["school_id", "route_id"], ignore_index=True
    )


def review_designated(
    inputs: PlanInputs,
    network: WalkNetwork,
    designated: gpd.GeoDataFrame | None,
    routes: RouteSet,
    risk_by_window: dict[str, NDArray[np.float64]],
    config: PlanConfig,
) -> RouteReview | None:
    """The review of the designated routes (None without); with ``[review]
    baseline_period`` the incidents of that period are scored too, for each route's
    change in risk."""
    if designated is None or designated.empty:
        return None
    baseline = None
    if (period := config.review.baseline_period) is not None:
        surface = risk_surface(inputs, network, config.risk, config.windows, period=period)
        baseline = {w: window_risk(surface, w) for w in risk_by_window}
    options = ExtensionOptions(
        per_school=config.review.extensions_per_school, max_m=config.review.extension_max_m
    )
    return review_routes(
        network, designated, routes, risk_by_window, baseline=baseline, extensions=options
    )


def site_posts(
    network: WalkNetwork,
    corridors: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    routes: RouteSet,
    risk_by_window: dict[str, NDArray[np.float64]],
    options: PostsConfig,
    solver: SolverSettings,
) -> PostPlan:
    """Candidate posts along the corridors and the chosen ones (one solver thread: reproducible)."""
    return plan_posts(
        network,
        corridors,
        schools,
        routes,
        risk=risk_by_window.__getitem__,
        windows=tuple(risk_by_window),
        options=options,
        settings=dataclasses.replace(solver, num_workers=1),
    )


def roster_demand(
    posts: pd.DataFrame, windows: pd.DataFrame, vendors: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The vendors of this plan's schools and the roster's demand table.

    Each vendor keeps only its schools in the plan; the demand has one row per
    selected post and staffing window of its school (value of that window,
    headcount 1, priority 1 for mandatory posts), at the schools some vendor serves.
    """
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
    columns = ["post_id", "school_id", "window", "start", "end", "headcount", "value", "priority"]
    return vendors, demand[columns].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class StaffingPlan:
    """What the roster stage gives: the roster, the plan's vendors and the staff.

    ``roster`` is None without vendors and workers.  ``vendors``: ``vendor_id``,
    ``name``, ``school_ids`` (the planned schools each serves), plus the vendors
    table's ``contact``, ``phone`` when given.  ``staff``: ``worker_id``,
    ``vendor_id``, ``name``, ``phone``.  ``floaters``: see
    :func:`~safepassage.staffing.staff.floaters_table`.  ``cleared``: per row of
    the workers table, may the worker stand at a post.  ``walk``: the walk rule
    the roster kept (None without a roster).
    """

    roster: Roster | None
    vendors: pd.DataFrame
    staff: pd.DataFrame
    floaters: pd.DataFrame
    cleared: pd.Series | None = None
    walk: WalkRule | None = None


def plan_roster(
    inputs: PlanInputs,
    network: WalkNetwork,
    posts: gpd.GeoDataFrame,
    windows: pd.DataFrame,
    options: StaffingConfig,
    settings: SolverSettings,
    *,
    plan_date: str = "",
    source: str = "data.workers",
) -> StaffingPlan:
    """Roster the vendors' cleared workers onto the selected posts.

    Without vendors and workers the roster is skipped (None) with a warning.
    Workers whose ``cleared`` column says they have not passed the background
    check by ``plan_date`` (today when ``""``) stay off the roster; a worker's
    morning and afternoon posts are walkable (``walk_between_m``).
    """
    vendors, workers = inputs.vendors, inputs.workers
    if vendors is None or workers is None:
        logger.warning("no vendors/workers configured: skipping the roster")
        empty = pd.DataFrame(columns=["vendor_id", "name", "school_ids"])
        return StaffingPlan(None, empty, staff_table(None), pd.DataFrame(columns=FLOATER_COLUMNS))
    on = dt.date.fromisoformat(plan_date) if plan_date else dt.date.today()
    cleared = clearance(workers, on, source)
    if not cleared.all():
        logger.warning(
            "%d of %d workers are not cleared by the background check on %s: "
            "they stay off the roster (staffing_needs.csv counts them apart)",
            int((~cleared).sum()),
            len(cleared),
            on.isoformat(),
        )
    vendors, demand = roster_demand(posts, windows, vendors)
    chosen = posts[posts["selected"]]
    walk = walk_rule(network, chosen, options.walk_between_m, groups=vendors["school_ids"])
    roster = build_roster(
        vendors,
        workers[cleared.to_numpy()],
        demand,
        floater_share=options.floater_share,
        settings=settings,
        max_minutes_day=options.max_minutes_day,
        max_days_week=options.max_days_week,
        walk=walk,
        method=options.method,
    )
    floaters = floaters_table(roster.floaters, workers, vendors, posts, roster.assignments)
    return StaffingPlan(roster, vendors, staff_table(workers), floaters, cleared, walk)


def _route_chunk(
    shared: tuple[WalkNetwork, RouteCosts, RoutesConfig],
    item: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> RouteSet:
    network, costs, options = shared
    schools, origins = item
    return route_students(
        network,
        schools,
        origins,
        costs=costs,
        detour_cap=options.detour_cap,
        max_walk_m=max(options.radius_elementary_m, options.radius_high_m),
    )


def route_all_schools(
    executor: Executor,
    network: WalkNetwork,
    schools: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    risk_by_window: dict[str, NDArray[np.float64]],
    options: RoutesConfig,
) -> RouteSet:
    """Routes of every school in every window, groups of schools mapped over ``executor``.

    Route costs (``[routes] risk_weight`` and ``class_factors`` over
    :data:`~safepassage.streets.DEFAULT_CLASS_FACTORS`) are prepared once
    and shared; walks are searched up to the largest walk radius.  The result
    does not depend on the executor or the grouping
    (:func:`~safepassage.routes.paths.merge_routesets`).
    """
    routed = schools[schools["school_id"].isin(set(origins["school_id"]))]
    ids = sorted(routed["school_id"].astype(str))
    if not ids:
        raise DataError("no school has student origins to route; see the origins problems")
    costs = prepare_route_costs(
        network,
        windows=tuple(risk_by_window),
        risk=risk_by_window.__getitem__,
        risk_weight=options.risk_weight,
        factors={**DEFAULT_CLASS_FACTORS, **options.class_factors},
    )
    n_groups = min(len(ids), 8)
    groups = [ids[i::n_groups] for i in range(n_groups)]
    items = [
        (routed[routed["school_id"].isin(g)], origins[origins["school_id"].isin(g)]) for g in groups
    ]
    return merge_routesets(executor.map(_route_chunk, (network, costs, options), items))
