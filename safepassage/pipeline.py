"""The semester plan: every stage composed, from a config to outputs on disk.

``plan(config)`` runs network -> schools -> risk -> origins -> routes ->
corridors -> posts -> roster and returns a :class:`PlanResult`;
``plan(config, out=DIR)`` also writes the outputs atomically (a temporary
folder renamed into place, so a failed or interrupted run leaves earlier
outputs untouched).  Each stage is a plain function an analyst can call alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .config import PlanConfig, load_config
from .executor import make_executor
from .routes.corridors import compare_routes, designate_corridors
from .routes.network import WalkNetwork
from .routes.origins import OriginSet
from .routes.paths import DEFAULT_CLASS_FACTORS, RouteSet
from .staffing._cpsat import SolverSettings
from .staffing.posts import PostPlan, plan_posts
from .staffing.roster import Roster
from .stages import (
    load_network,
    plan_roster,
    risk_surface,
    route_all_schools,
    select_schools,
    staffing_windows,
    student_origins,
    window_risk,
)

__all__ = [
    "PlanResult",
    "load_network",
    "plan",
    "plan_roster",
    "risk_surface",
    "route_all_schools",
    "select_schools",
    "staffing_windows",
    "student_origins",
    "window_risk",
]

logger = logging.getLogger(__name__)
WINDOWS = ("am", "pm")


@dataclass
class PlanResult:
    """Everything a plan produced (tables in the network's metric CRS).

    Attributes
    ----------
    network, schools, risk, origins, routes, corridors, posts, roster
        The stage results (``risk`` is a ``RiskSurface``; ``posts`` a
        GeoDataFrame of candidate posts with ``selected``; ``roster`` the
        assignment table).
    post_plan, roster_result
        The solver results with status, objective, bound and gap.
    vendors, windows
        Vendor table and staffing windows per school.
    comparison
        Recall/precision against the reference routes (None without them).
    metrics, timings
        Headline numbers and seconds per stage.
    """

    config: PlanConfig
    network: WalkNetwork
    schools: gpd.GeoDataFrame
    risk: Any
    origin_set: OriginSet
    routes: RouteSet
    corridors: gpd.GeoDataFrame
    post_plan: PostPlan
    roster_result: Roster | None
    vendors: pd.DataFrame
    windows: pd.DataFrame
    comparison: pd.DataFrame | None
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def origins(self) -> gpd.GeoDataFrame:
        return self.origin_set.origins

    @property
    def posts(self) -> gpd.GeoDataFrame:
        return self.post_plan.table

    @property
    def roster(self) -> pd.DataFrame | None:
        return None if self.roster_result is None else self.roster_result.assignments

    @property
    def plan_name(self) -> str:
        return self.config.name

    @property
    def plan_date(self) -> str:
        return self.config.plan_date

    @property
    def min_students(self) -> int:
        return self.config.routes.min_students

    def summary(self) -> dict[str, Any]:
        """Headline metrics (what the CLI prints at the end)."""
        return dict(self.metrics)


class _Stages:
    """Times stages and reports progress (tqdm when asked)."""

    def __init__(self, names: list[str], progress: bool) -> None:
        self.timings: dict[str, float] = {}
        self._bar: Any = None
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(total=len(names), unit="stage", leave=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._bar is not None:
            self._bar.set_description(name)
        logger.info("%s started", name)
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)
        logger.info("%s done in %.1f s", name, self.timings[name])
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def plan(
    config: PlanConfig | str | Path,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> PlanResult:
    """Run every stage of the plan; write the outputs when ``out`` is given.

    Parameters
    ----------
    config
        A :class:`PlanConfig` or the path of a TOML config.
    out
        Output folder (default ``config.output.dir`` when writing); written
        atomically.  It must be new, empty or a previous plan output, which is
        checked before any work starts.  None returns the result without writing.
    workers, scheduler
        Run per-school routing in ``workers`` local processes, or on the Dask
        scheduler at ``scheduler``; the plan is identical for any value.
    progress
        Show a progress bar per stage.

    Raises
    ------
    OutputFolderError
        If ``out`` holds files that no plan wrote (before any planning work).
    """
    cfg = config if isinstance(config, PlanConfig) else load_config(config)
    if out is not None:
        from .outputs import check_output_folder

        check_output_folder(out)
    executor = make_executor(workers, scheduler)
    stages = _Stages(
        ["network", "schools", "risk", "origins", "routes", "corridors", "posts", "roster"],
        progress,
    )
    settings = SolverSettings(
        time_limit_s=cfg.staffing.time_limit_s,
        num_workers=cfg.staffing.num_workers,
        seed=cfg.seed,
        relative_gap=cfg.staffing.relative_gap,
        # limits in CP-SAT deterministic time: the same plan on every run and machine
        deterministic=True,
    )
    try:
        with stages.stage("network"):
            network = load_network(cfg)
        with stages.stage("schools"):
            schools = select_schools(cfg, network)
            windows = staffing_windows(cfg, schools)
        with stages.stage("risk"):
            risk = risk_surface(cfg, network)
        with stages.stage("origins"):
            origin_set = student_origins(cfg, network, schools)
        factors = {**DEFAULT_CLASS_FACTORS, **cfg.routes.class_factors}
        max_walk = max(cfg.routes.radius_elementary_m, cfg.routes.radius_high_m)
        with stages.stage("routes"):
            risk_by_window = {w: window_risk(risk, w) for w in WINDOWS}
            routes = route_all_schools(
                executor,
                network,
                schools,
                origin_set.origins,
                risk_by_window,
                risk_weight=cfg.routes.risk_weight,
                detour_cap=cfg.routes.detour_cap,
                factors=factors,
                max_walk_m=max_walk,
            )
        with stages.stage("corridors"):
            corridors = designate_corridors(
                network,
                schools,
                routes,
                budget_m=cfg.routes.corridor_budget_m,
                risk=risk_by_window["pm"],
            )
            comparison = None
            if cfg.data.reference_routes is not None:
                from .io import read_routes

                reference = read_routes(cfg.data.reference_routes, crs=network.crs)
                reference = reference[reference["kind"] == "line"]
                comparison = compare_routes(
                    corridors, reference, tolerance_m=cfg.routes.reference_tolerance_m
                )
        with stages.stage("posts"):
            post_plan = plan_posts(
                network,
                corridors,
                schools,
                routes,
                risk=risk_by_window.__getitem__,
                windows=WINDOWS,
                per_school=cfg.posts.per_school,
                min_spacing_m=cfg.posts.min_spacing_m,
                sight_m=cfg.posts.sight_m,
                settings=dataclasses.replace(settings, num_workers=1),  # reproducible
            )
        with stages.stage("roster"):
            roster, vendors = plan_roster(cfg, post_plan.table, windows, settings)
    finally:
        stages.close()
        executor.close()
    result = PlanResult(
        cfg,
        network,
        schools,
        risk,
        origin_set,
        routes,
        corridors,
        post_plan,
        roster,
        vendors,
        windows,
        comparison,
        stages.timings,
        problems=origin_set.problems,
    )
    result.metrics = _metrics(result)
    if out is not None:
        from .outputs import write_outputs

        write_outputs(result, Path(out))
    return result


def _metrics(result: PlanResult) -> dict[str, Any]:
    posts = result.posts
    chosen = posts[posts["selected"]]
    metrics: dict[str, Any] = {
        "schools": len(result.schools),
        "schools_unsnapped": int((result.schools["node"] < 0).sum()),
        "origins": len(result.origins),
        "students_routed": int(result.origins["students"].sum()),
        "corridor_km": round(float(result.corridors["length_m"].sum()) / 1000, 2),
        "students_served": round(float(result.corridors["students_served"].sum()), 1),
        "risk_exposure_on_corridors": round(float(result.corridors["risk_exposure"].sum()), 2),
        "posts_candidate": len(posts),
        "posts_selected": len(chosen),
        "post_value_covered": round(float(result.post_plan.objective), 3),
        "post_solver": {
            "status": result.post_plan.status,
            "gap": result.post_plan.gap,
            "seconds": round(result.post_plan.wall_s, 2),
        },
    }
    if result.roster_result is not None:
        roster = result.roster_result
        metrics["post_windows_staffed"] = int(
            roster.assignments.groupby(["post_id", "window", "weekday"]).ngroups
        )
        metrics["post_windows_unfilled"] = len(roster.unfilled)
        metrics["roster_solver"] = {
            "status": roster.status,
            "objective": roster.objective,
            "bound": roster.bound,
            "gap": roster.gap,
        }
    if result.comparison is not None:
        total = result.comparison[result.comparison["school_id"] == "ALL"].iloc[0]
        metrics["reference_recall"] = round(float(total["recall"]), 3)
        metrics["reference_precision"] = round(float(total["precision"]), 3)
    return metrics
