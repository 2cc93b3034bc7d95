"""PlanResult: everything one plan produced, and the contract of its tables.

Every table is in the plan's metric CRS (the network's); lengths in metres,
times ``HH:MM`` in the plan's time zone, identifiers are strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import geopandas as gpd
import pandas as pd

from .config import PlanConfig
from .inputs import PlanInputs
from .risk.surface import RiskSurface
from .routes.network import WalkNetwork
from .routes.origins import OriginSet
from .routes.paths import RouteSet
from .routes.review import RouteReview
from .staffing.posts import PostPlan
from .staffing.roster import Roster
from .staffing.staff import FLOATER_COLUMNS, STAFF_COLUMNS
from .staffing.walk import WalkRule

__all__ = ["Metric", "PlanResult"]

# a headline number, a status, or a solver's figures (status, objective, bound, gap, seconds)
Metric: TypeAlias = int | float | str | dict[str, int | float | str]


@dataclass(frozen=True)
class PlanResult:
    """Everything a plan produced (:func:`safepassage.pipeline.plan`).

    Attributes and the columns of their tables
    ------------------------------------------
    config
        The :class:`~safepassage.config.PlanConfig` planned.
    inputs
        The input tables as read (:class:`~safepassage.inputs.PlanInputs`).
    network
        The stitched walk network; an edge id is a row of ``network.edges``
        (``u``, ``v``, ``key``, ``length``, ``highway``, ``name``, geometry).
    schools
        The planned schools: ``school_id``, ``name``, ``grades``, ``grade_band``
        (elementary/high/both), ``enrollment``, ``school_hours`` (raw text),
        ``community_area``, ``node`` (-1 unsnapped), ``snap_m``, ``bell_start``,
        ``bell_end`` (``HH:MM``), ``bells_default`` (the default bells were used),
        geometry (Point).
    risk
        :class:`~safepassage.risk.surface.RiskSurface`; ``risk.table``:
        ``edge_id``, ``window`` (am/pm/all), ``risk`` (weighted incidents per km
        per year), ``risk_incidents``, ``risk_hazards``.
    origin_set
        :class:`~safepassage.routes.origins.OriginSet`; ``origins`` (also
        ``result.origins``): ``origin_id``, ``school_id``, ``students`` (an
        aggregate of at least ``routes.min_students``), ``node``, geometry.
        ``problems``: ``school_id``, ``problem``.
    routes
        :class:`~safepassage.routes.paths.RouteSet`; ``routes.routes``:
        ``origin_id``, ``school_id``, ``window``, ``students``, ``length_m``,
        ``shortest_m``, ``risk``, ``detour_ratio``, ``lam``, ``edge_ids``,
        geometry; ``routes.flows``: ``edge_id``, ``window``, ``students``.
    corridors
        ``route_id``, ``school_id``, ``length_m``, ``students_served``,
        ``risk_exposure``, ``edge_ids`` (list), ``shared_with`` (other schools on
        the same streets), ``source`` (``designated``: the city's route matched
        onto the network; ``designed``: grown from the students' routes),
        ``matched_share`` (designated only: share of the official route's length
        matched), geometry ((Multi)LineString).
    post_plan
        :class:`~safepassage.staffing.posts.PostPlan` (status, objective, bound,
        gap); ``table`` (also ``result.posts``): ``post_id``, ``node``,
        ``school_id``, ``school_ids``, ``route_ids`` (lists), ``cross_streets``,
        ``kind`` (corner/door/mandatory), ``value_am``, ``value_pm``,
        ``selected``, geometry (Point).
    roster_result
        :class:`~safepassage.staffing.roster.Roster` or None (no vendors/workers);
        ``assignments`` (also ``result.roster``): ``worker_id``, ``vendor_id``,
        ``post_id``, ``school_id``, ``weekday`` (Mon..Fri), ``window``,
        ``start``, ``end`` (``HH:MM``), ``minutes``; ``unfilled``: ``post_id``,
        ``school_id``, ``window``, ``weekday``, ``missing``, ``reason``.
    vendors
        ``vendor_id``, ``name``, ``school_ids`` (the planned schools each serves).
    windows
        ``school_id``, ``window`` (am/pm), ``start``, ``end`` (``HH:MM``),
        ``minutes``, ``used_fallback`` (the default bells were used).
    comparison
        Against ``data.reference_routes`` (None without): ``school_id`` (``ALL``
        for the total), ``reference_m``, ``ours_m``, ``recall``, ``precision``.
    route_review
        :class:`~safepassage.routes.review.RouteReview` of the planned schools'
        designated routes (whatever ``[routes] source``), None without
        ``data.designated_routes``.  ``review`` (``route_review.routes``): one row
        per route, ``route_id``, ``school_id``, ``length_m``, ``matched_share``,
        ``riskiest`` (its riskiest stretches, by cross streets, ``; ``-separated),
        ``riskiest_edge_ids``, per window ``students_<w>``, ``risk_<w>``,
        ``exposure_<w>``, ``uncovered_exposure_<w>``, ``uncovered_share_<w>``,
        ``extension_gain_<w>``, ``extensions`` (how many are proposed for the
        school), with a baseline ``baseline_risk_<w>`` and ``risk_change_<w>``.
        ``uncovered``: ``school_id``, ``edge_id``, ``street``, ``exposure_<w>``
        (streets the school's students walk off every designated route).
        ``extensions``: ``extension_id``, ``school_id``, ``route_id``,
        ``length_m``, ``gain_<w>``, ``gain_per_km``, ``share_of_uncovered``,
        ``description``, ``edge_ids``.  All with geometry.
    needs
        Headcount and cost (:func:`safepassage.staffing.needs.staffing_needs`):
        ``vendor_id``, ``school_id`` (``ALL`` on a vendor's subtotal; ``vendor_id``
        ``ALL`` on the total), ``posts``, ``post_windows_week``, ``workers_needed``
        (floaters included on subtotals), ``floaters``, ``hours_week``,
        ``cost_year`` (dollars), ``workers_given`` (cleared), ``workers_uncleared``,
        ``shortfall``.
    timings
        Seconds per stage.
    staff
        The vendors' workers: ``worker_id``, ``vendor_id``, ``name``, ``phone``
        (``""`` when the workers table has none), for the packets.
    floaters
        ``worker_id``, ``vendor_id``, ``name``, ``phone``, ``school_id``,
        ``post_id`` (where the floater stands when not covering), ``weekdays``,
        ``windows`` (``;``-separated), ``covering`` (post-window-days of the week
        the floater already stands, where no regular worker could).
    walk
        The :class:`~safepassage.staffing.walk.WalkRule` the roster kept (pairs of
        posts of different schools within ``[staffing] walk_between_m``), or None.
    cleared
        Per row of ``inputs.workers``: has the worker passed the background check
        by the plan date (the optional ``cleared`` column), or None without workers.
    metrics
        Headline numbers (what ``safepassage plan`` prints).
    """

    config: PlanConfig
    inputs: PlanInputs
    network: WalkNetwork
    schools: gpd.GeoDataFrame
    risk: RiskSurface
    origin_set: OriginSet
    routes: RouteSet
    corridors: gpd.GeoDataFrame
    post_plan: PostPlan
    roster_result: Roster | None
    vendors: pd.DataFrame
    windows: pd.DataFrame
    comparison: pd.DataFrame | None
    route_review: RouteReview | None = None
    needs: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    staff: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STAFF_COLUMNS))
    floaters: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLOATER_COLUMNS))
    walk: WalkRule | None = None
    cleared: pd.Series | None = None

    @property
    def origins(self) -> gpd.GeoDataFrame:
        """The aggregated student origins (``origin_set.origins``)."""
        return self.origin_set.origins

    @property
    def problems(self) -> pd.DataFrame:
        """Schools the origins stage could not serve, with the reason."""
        return self.origin_set.problems

    @property
    def posts(self) -> gpd.GeoDataFrame:
        """Every candidate post, ``selected`` marking the chosen ones."""
        return self.post_plan.table

    @property
    def review(self) -> gpd.GeoDataFrame | None:
        """One row per designated route (``route_review.routes``), or None."""
        return None if self.route_review is None else self.route_review.routes

    @property
    def uncovered(self) -> gpd.GeoDataFrame | None:
        """Streets walked off every designated route (``route_review.uncovered``), or None."""
        return None if self.route_review is None else self.route_review.uncovered

    @property
    def extensions(self) -> gpd.GeoDataFrame | None:
        """Proposed extensions of the designated routes, or None."""
        return None if self.route_review is None else self.route_review.extensions

    @property
    def roster(self) -> pd.DataFrame | None:
        """The roster assignments, or None when the roster was skipped."""
        return None if self.roster_result is None else self.roster_result.assignments

    @property
    def plan_name(self) -> str:
        """``[plan] name``."""
        return self.config.name

    @property
    def plan_date(self) -> str:
        """``[plan] date`` (ISO), or ``""``."""
        return self.config.plan_date

    @property
    def min_students(self) -> int:
        """The smallest origin that may be shown (``[routes] min_students``)."""
        return self.config.routes.min_students

    def summary(self) -> dict[str, Metric]:
        """Headline metrics (what the CLI prints at the end)."""
        return dict(self.metrics)
