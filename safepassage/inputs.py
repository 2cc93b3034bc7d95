"""Every input table of a plan, read once and checked together.

:func:`read_inputs` reads each file named in ``[data]`` exactly once (schools
with their profiles, reference routes, incidents, hazards, population
polygons, vendors, workers) and :func:`check_inputs` runs the checks that span
tables (the selection matches schools, vendors serve the selected schools,
every worker row is valid).  ``safepassage plan`` and ``safepassage validate``
call the same two functions, so they accept and refuse the same inputs; only
``plan`` goes on to build the network and plan.

Both collect every problem before raising one :class:`InputError`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd

from .config import DataConfig, NetworkConfig, PlanConfig, SchoolSelection, TableInput
from .errors import DataError, EmptyTableError, SafePassageError
from .io import (
    load_table,
    read_polygons,
    read_routes,
    read_schools,
    read_vendors,
    read_workers,
    select_schools,
)
from .risk.cpd import DEFAULT_CATEGORY_WEIGHTS
from .risk.hazards import read_hazard_points
from .risk.incidents import Incidents, in_period, read_incidents
from .routes.network import WalkNetwork
from .routes.origins import census_population
from .staffing.program import file_rows, staff_problems

__all__ = [
    "InputError",
    "PlanInputs",
    "check_inputs",
    "clip_problem",
    "period_problem",
    "read_inputs",
    "skipped_stages",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class InputError(DataError):
    """Several input problems at once; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the inputs:\n{lines}")


@dataclass(frozen=True)
class PlanInputs:
    """The tables named in a config's ``[data]``, in the CRS ``crs``.

    Attributes
    ----------
    crs
        The metric CRS every table was projected to (the network's when planning).
    schools
        Every school of ``data.schools`` (:func:`~safepassage.io.read_schools`
        columns), the planned ones and their competitors for students.
    reference_routes
        Official route lines and buffers (:func:`~safepassage.io.read_routes`), or None.
    incidents
        All incident sources combined (ids prefixed by source order when several), or None.
    hazards
        Layer name -> (points, weight: the layer's weight x ``risk.hazard_weight``).
    population
        Census polygons with a ``population`` column (blocks, or tracts summed from
        blocks), or None.
    community_areas
        Community area polygons (``data.community_areas``), or None.
    designated_routes
        The routes the city runs (:func:`~safepassage.io.read_routes`), or None.
    vendors, workers
        :func:`~safepassage.io.read_vendors` / :func:`~safepassage.io.read_workers`
        tables, or None when not configured.
    """

    crs: Any
    schools: gpd.GeoDataFrame
    reference_routes: gpd.GeoDataFrame | None = None
    incidents: Incidents | None = None
    hazards: dict[str, tuple[gpd.GeoDataFrame, float]] = field(default_factory=dict)
    population: gpd.GeoDataFrame | None = None
    community_areas: gpd.GeoDataFrame | None = None
    vendors: pd.DataFrame | None = None
    workers: pd.DataFrame | None = None
    designated_routes: gpd.GeoDataFrame | None = None


class _Collector:
    """Runs readers, turning each SafePassageError into one problem line."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def read(self, key: str, reader: Callable[[], T], *, optional: bool = False) -> T | None:
        """The reader's table, or None with its problem noted (an optional table without
        rows is a warning, not a problem)."""
        try:
            return reader()
        except EmptyTableError as exc:
            if not optional:
                self.problems.append(f"{key}: {exc}")
                return None
            logger.warning("%s: %s; planning without it", key, exc)
        except InputError as exc:
            self.problems.extend(f"{key}: {p}" for p in exc.problems)
        except SafePassageError as exc:
            self.problems.append(f"{key}: {exc}")
        return None


def read_inputs(config: PlanConfig, *, crs: Any, network: WalkNetwork | None = None) -> PlanInputs:
    """Read every table of ``config.data`` once, projected to ``crs``.

    With ``network``, incidents farther than 500 m from it are dropped (as
    ``outside_network``).

    Raises
    ------
    InputError
        Listing every input that could not be read, each with its config key.
    """
    data, collect = config.data, _Collector()
    unknown = sorted(set(config.risk.category_weights) - set(DEFAULT_CATEGORY_WEIGHTS))
    known = ", ".join(DEFAULT_CATEGORY_WEIGHTS)
    if unknown:
        collect.problems.append(f"risk.category_weights: unknown categories {unknown}; use {known}")
    default_category = config.risk.default_category
    if default_category not in DEFAULT_CATEGORY_WEIGHTS:
        collect.problems.append(
            f"risk.default_category: unknown category {default_category!r}; use {known}"
        )
        default_category = "uncategorised"  # to go on collecting the tables' problems
    schools = collect.read(
        "data.schools",
        partial(
            read_schools,
            data.schools,
            profiles=data.profiles,
            crs=crs,
            default_grade_band=config.schools.default_grade_band,
        ),
    )
    routes = None
    if (routes_path := data.reference_routes) is not None:
        routes = collect.read(
            "data.reference_routes", partial(read_routes, routes_path, crs=crs), optional=True
        )
    weights = {k: v for k, v in config.risk.category_weights.items() if k not in unknown}
    sources = {f"data.incidents[{i}]": table for i, table in enumerate(data.incidents)}
    if data.homicides is not None:
        sources["data.homicides"] = data.homicides
    tables = [
        collect.read(
            key,
            partial(
                read_incidents,
                path,
                crs=crs,
                network=network,
                category_weights=weights,
                tz=config.timezone,
                default_category=default_category,
            ),
            optional=key == "data.homicides",
        )
        for key, path in sources.items()
    ]
    hazards: dict[str, tuple[gpd.GeoDataFrame, float]] = {}
    for name, hazard in data.hazards.items():
        reader = partial(read_hazard_points, hazard, crs=crs)
        if (points := collect.read(f"data.hazards.{name}", reader, optional=True)) is not None:
            hazards[name] = (points, hazard.weight * config.risk.hazard_weight)
    population = _population(config, crs, collect)
    areas = None
    if (areas_path := data.community_areas) is not None:
        areas = collect.read("data.community_areas", partial(read_polygons, areas_path))
    vendors = workers = None
    if (vendors_path := data.vendors) is not None:
        vendors = collect.read("data.vendors", partial(read_vendors, vendors_path))
    if (workers_path := data.workers) is not None:
        workers = collect.read("data.workers", partial(read_workers, workers_path))
    designated = routes if data.designated_routes == routes_path else None  # one file, read once
    if (designated_path := data.designated_routes) is not None and designated is None:
        designated = collect.read(
            "data.designated_routes", partial(read_routes, designated_path, crs=crs), optional=True
        )
    if collect.problems or schools is None:
        raise InputError(collect.problems)
    schools = _default_enrollment(schools, config, population is None)
    read = [t for t in tables if t is not None]
    incidents = combine_incidents(read) if read else None
    return PlanInputs(
        crs, schools, routes, incidents, hazards, population, areas, vendors, workers, designated
    )


def _default_enrollment(
    schools: gpd.GeoDataFrame, config: PlanConfig, no_population: bool
) -> gpd.GeoDataFrame:
    """Schools without an enrollment get ``[schools] default_enrollment`` (a warning names
    them) when no school has one, or when the students are spread from enrollment (no
    population data)."""
    missing = schools["enrollment"].isna()
    if not missing.any() or not (missing.all() or no_population):
        return schools
    count = config.schools.default_enrollment
    ids = sorted(schools.loc[missing, "school_id"])
    logger.warning(
        "%d school(s) have no enrollment (e.g. %s): each counts %d students ([schools] "
        "default_enrollment; give data.profiles or an enrollment column for real counts)",
        len(ids),
        ", ".join(ids[:5]),
        count,
    )
    return schools.assign(enrollment=schools["enrollment"].fillna(float(count)))


def _population(config: PlanConfig, crs: Any, collect: _Collector) -> gpd.GeoDataFrame | None:
    """Census polygons with their population, or None (each file's problem under its key)."""
    blocks_path, counts_path = config.data.blocks, config.data.population
    if blocks_path is None or counts_path is None:
        return None
    polygons = collect.read("data.blocks", partial(read_polygons, blocks_path))
    counts = collect.read("data.population", partial(load_counts, counts_path))
    if polygons is None or counts is None:
        return None
    joined = collect.read(
        "data.population",
        partial(
            census_population,
            polygons,
            counts,
            sources=(str(blocks_path.path), str(counts_path.path)),
        ),
    )
    return None if joined is None else joined.to_crs(crs)


def load_counts(source: TableInput) -> pd.DataFrame:
    """The population table (rows required)."""
    return load_table(source)[0]


def combine_incidents(tables: list[Incidents]) -> Incidents:
    """One incident table from several sources (ids prefixed by source order)."""
    if len(tables) == 1:
        return tables[0]
    parts = [
        t.table.assign(incident_id=f"{i}:" + t.table["incident_id"].astype(str))
        for i, t in enumerate(tables)
    ]
    table = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=tables[0].crs)
    problems = pd.concat([t.problems.assign(source=t.source) for t in tables], ignore_index=True)
    first = tables[0]
    sources = " + ".join(t.source for t in tables)
    return Incidents(table, problems, first.crs, first.tz, sources, first.category_weights)


def planned_schools(config: PlanConfig, inputs: PlanInputs) -> gpd.GeoDataFrame:
    """The schools the ``[schools]`` selection picks (not yet snapped), sorted by id.

    Raises
    ------
    DataError
        When the selection names unknown schools or matches none.
    """
    chosen = select_schools(
        inputs.schools,
        config.schools,
        areas=inputs.community_areas,
        routes=inputs.reference_routes,
    )
    if chosen.empty:
        raise DataError("no school matches the [schools] selection of the config")
    return chosen.sort_values("school_id").reset_index(drop=True)


def clip_problem(
    data: DataConfig, options: NetworkConfig, schools: SchoolSelection | None
) -> str | None:
    """Why ``[network] clip_to_areas_m`` cannot be done, or None (validate and plan)."""
    if options.clip_to_areas_m is None:
        return None
    if schools is None or not schools.community_areas or data.community_areas is None:
        return (
            "network.clip_to_areas_m: needs [schools] community_areas and "
            "[data] community_areas (the areas to clip the networks to); set them or "
            "remove clip_to_areas_m"
        )
    return None


def period_problem(key: str, period: tuple[str, str]) -> str:
    """The message for a period holding no incident."""
    return (
        f"{key}: no incident of [data] incidents lies from {period[0]} to {period[1]}; "
        "widen the period or add the incident tables of those days"
    )


def _period_problems(config: PlanConfig, incidents: Incidents | None) -> list[str]:
    periods = {
        "risk.period": config.risk.period,
        "review.baseline_period": config.review.baseline_period,
    }
    return [
        period_problem(key, period)
        for key, period in periods.items()
        if period is not None and incidents is not None and not len(in_period(incidents, *period))
    ]


def check_inputs(config: PlanConfig, inputs: PlanInputs) -> list[str]:
    """Problems that span tables; empty when the plan can start.

    The school selection must match schools; origins need population polygons;
    the staffing tables (when given) must be valid row by row and serve the
    selected schools; risk category weights must name known categories.
    """
    problems: list[str] = []
    chosen: set[str] = set()
    try:
        chosen = set(planned_schools(config, inputs)["school_id"])
    except SafePassageError as exc:
        problems.append(f"schools: {exc}")
    problems.extend(_year_problems(config))
    problems.extend(_period_problems(config, inputs.incidents))
    if (clip := clip_problem(config.data, config.network, config.schools)) is not None:
        problems.append(clip)
    if config.routes.source == "designated" and inputs.designated_routes is None:
        problems.append(
            'routes.source: "designated" needs data.designated_routes (the routes the city '
            'runs); give the file or set source = "designed"'
        )
    if (config.data.blocks is None) != (config.data.population is None):
        given = "data.blocks" if config.data.blocks is not None else "data.population"
        problems.append(
            f"{given}: the population needs both data.blocks (polygons) and data.population "
            "(counts); give both, or neither to spread each school's enrollment along its "
            "streets"
        )
    _warn_plan_date(config)
    if (inputs.vendors is None) != (inputs.workers is None):
        given = "data.vendors" if inputs.vendors is not None else "data.workers"
        problems.append(f"{given}: the roster needs both data.vendors and data.workers")
    vendors_file, workers_file = config.data.vendors, config.data.workers
    if (
        inputs.vendors is not None
        and inputs.workers is not None
        and vendors_file is not None
        and workers_file is not None
    ):
        found = staff_problems(
            inputs.vendors,
            inputs.workers,
            school_ids=set(inputs.schools["school_id"]),
            planned=chosen,
            sources=(str(vendors_file.path), str(workers_file.path)),
            max_minutes_day=config.staffing.max_minutes_day,
            max_days_week=config.staffing.max_days_week,
            rows_of=file_rows({"vendors": vendors_file.path, "workers": workers_file.path}),
        )
        problems.extend(found)
    return problems


def _warn_plan_date(config: PlanConfig) -> None:
    """A plan dated on a weekend or in the summer holidays is most likely a typo."""
    if not config.plan_date:
        return
    day = dt.date.fromisoformat(config.plan_date)
    why = (
        day.strftime("a %A")
        if day.weekday() >= 5
        else day.strftime("in %B")
        if day.month in (7, 8)
        else ""
    )
    if why:
        logger.warning(
            "plan.date: %s is %s, not a school day; the maps and packets carry this date "
            "(set [plan] date to the first day the plan runs)",
            config.plan_date,
            why,
        )


def _year_problems(config: PlanConfig) -> list[str]:
    """``[schools] safe_passage_year`` must be the year of the reference routes' file."""
    year, routes = config.schools.safe_passage_year, config.data.reference_routes
    if not year or routes is None:
        return []
    named = re.findall(r"SY\d{4}", routes.path.name.upper())
    if named and year not in named:
        return [
            f"schools.safe_passage_year: {year}, but data.reference_routes "
            f"({routes.path.name}) holds the {named[0]} routes; point data.reference_routes "
            f"at the {year} routes file"
        ]
    return []


def skipped_stages(config: PlanConfig, inputs: PlanInputs) -> list[str]:
    """Stages the plan will skip with these inputs, each with the reason."""
    skipped = []
    if inputs.incidents is None:
        skipped.append("risk (no data.incidents): every street's risk is 0")
    if inputs.vendors is None or inputs.workers is None:
        skipped.append("roster (no data.vendors and data.workers): posts are sited, not staffed")
    if inputs.reference_routes is None:
        skipped.append("comparison (no data.reference_routes)")
    if not config.output.pdf or inputs.vendors is None:
        skipped.append("PDF packets (output.pdf is off or no vendors)")
    return skipped
