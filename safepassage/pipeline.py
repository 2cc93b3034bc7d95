"""The semester plan: every stage composed, from a config to outputs on disk.

Read :func:`plan` top to bottom: inputs are read once
(:mod:`safepassage.inputs`), then each stage (:mod:`safepassage.stages`) is one
call with the data it needs and its own config section.  ``plan(config,
out=DIR)`` also writes the outputs (:mod:`safepassage.outputs`): into a new,
empty or earlier plan folder only, atomically, so a failed or interrupted run
leaves earlier outputs untouched.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from .config import PlanConfig, load_config
from .executor import make_executor
from .inputs import InputError, PlanInputs, check_inputs, read_inputs
from .outputs import check_output_folder, write_outputs
from .result import Metric, PlanResult
from .routes.network import WalkNetwork
from .schedule import WINDOWS
from .staffing.needs import staffing_needs
from .stages import (
    compare_reference,
    designated_on_network,
    load_network,
    plan_corridors,
    plan_roster,
    review_designated,
    risk_surface,
    route_all_schools,
    select_schools,
    site_posts,
    solver_settings,
    staffing_wages,
    staffing_windows,
    student_origins,
    window_risk,
)

__all__ = ["STAGES", "plan"]

logger = logging.getLogger(__name__)
STAGES = (
    "network",
    "inputs",
    "schools",
    "risk",
    "origins",
    "routes",
    "corridors",
    "review",
    "posts",
    "roster",
)


class _Stages:
    """Times each stage, logs its start and end, and shows a progress bar when asked."""

    def __init__(self, progress: bool) -> None:
        self.timings: dict[str, float] = {}
        self._bar = tqdm(total=len(STAGES), unit="stage", leave=False) if progress else None

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
    SafePassageError
        A subclass naming the input at fault (all input problems at once);
        :class:`~safepassage.errors.OutputFolderError` when ``out`` holds files
        that no plan wrote (checked before any work).
    """
    cfg = config if isinstance(config, PlanConfig) else load_config(config)
    if out is not None:
        check_output_folder(out)
    solver = solver_settings(cfg.staffing, cfg.seed)
    stages, executor = _Stages(progress), make_executor(workers, scheduler)
    try:
        with stages.stage("network"):
            network = load_network(cfg.data, cfg.network, cfg.schools)
        with stages.stage("inputs"):
            inputs = _checked_inputs(cfg, network)
        with stages.stage("schools"):
            schools = select_schools(cfg, inputs, network)
            windows = staffing_windows(schools, cfg.windows)
        with stages.stage("risk"):
            risk = risk_surface(inputs, network, cfg.risk, cfg.windows)
            by_window = {w: window_risk(risk, w) for w in WINDOWS}
        with stages.stage("origins"):
            origins = student_origins(inputs, network, schools, cfg.routes, cfg.network)
        with stages.stage("routes"):
            routes = route_all_schools(
                executor, network, schools, origins.origins, by_window, cfg.routes
            )
        with stages.stage("corridors"):
            designated = designated_on_network(
                inputs, network, schools, routes, by_window, cfg.routes
            )
            corridors = plan_corridors(
                inputs, network, schools, routes, by_window, designated, cfg.routes, seed=cfg.seed
            )
            comparison = compare_reference(inputs, corridors, cfg.routes)
        with stages.stage("review"):
            review = review_designated(inputs, network, designated, routes, by_window, cfg)
        with stages.stage("posts"):
            posts = site_posts(network, corridors, schools, routes, by_window, cfg.posts, solver)
        with stages.stage("roster"):
            staffing = plan_roster(
                inputs,
                network,
                posts.table,
                windows,
                cfg.staffing,
                solver,
                plan_date=cfg.plan_date,
                source=str(cfg.data.workers),
            )
            needs = staffing_needs(
                posts.table,
                windows,
                staffing.vendors,
                inputs.workers,
                staffing_wages(cfg.staffing),
                staffing.cleared,
            )
    finally:
        stages.close()
        executor.close()
    result = PlanResult(
        cfg,
        inputs,
        network,
        schools,
        risk,
        origins,
        routes,
        corridors,
        posts,
        staffing.roster,
        staffing.vendors,
        windows,
        comparison,
        review,
        needs,
        stages.timings,
        staff=staffing.staff,
        floaters=staffing.floaters,
        walk=staffing.walk,
        cleared=staffing.cleared,
    )
    result = dataclasses.replace(result, metrics=_metrics(result))
    if out is not None:
        write_outputs(result, Path(out))
    return result


def _checked_inputs(cfg: PlanConfig, network: WalkNetwork) -> PlanInputs:
    """Every input read once and checked together (as ``safepassage validate`` does)."""
    inputs = read_inputs(cfg, crs=network.crs, network=network)
    problems = check_inputs(cfg, inputs)
    if problems:
        raise InputError(problems)
    return inputs


def _metrics(result: PlanResult) -> dict[str, Metric]:
    posts = result.posts
    chosen = posts[posts["selected"]]
    metrics: dict[str, Metric] = {
        "schools": len(result.schools),
        "schools_unsnapped": int((result.schools["node"] < 0).sum()),
        "origins": len(result.origins),
        "students_routed": int(result.origins["students"].sum()),
        "corridor_km": round(float(result.corridors["length_m"].sum()) / 1000, 2),
        "corridors_designated": int((result.corridors["source"] == "designated").sum()),
        "corridors_designed": int((result.corridors["source"] == "designed").sum()),
        "students_served": round(float(result.corridors["students_served"].sum()), 1),
        "risk_exposure_on_corridors": round(float(result.corridors["risk_exposure"].sum()), 2),
        "posts_candidate": len(posts),
        "posts_selected": len(chosen),
        "routes_reviewed": 0 if result.review is None else len(result.review),
        "extensions_proposed": 0 if result.extensions is None else len(result.extensions),
        "post_value_covered": round(float(result.post_plan.objective), 3),
        "post_solver": {
            "status": result.post_plan.status,
            "gap": result.post_plan.gap,
            "seconds": round(result.post_plan.wall_s, 2),
        },
    }
    needed = result.needs[result.needs["vendor_id"] == "ALL"]
    if len(needed):
        metrics["workers_needed"] = int(needed["workers_needed"].iloc[0])
        metrics["wage_cost_year_usd"] = round(float(needed["cost_year"].iloc[0]))
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
