"""Read each section of a plan configuration into its dataclass.

One function per TOML table (``[data]``, ``[windows]``, ...); each reads its
keys through :class:`~safepassage._toml.Fields`, which records the problems,
and marks the table finished so unknown keys are reported.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._toml import Fields, default_cache_dir, resolve_path
from .config import (
    DataConfig,
    HazardConfig,
    MandatoryPost,
    NetworkConfig,
    OutputConfig,
    PostsConfig,
    RiskConfig,
    RoutesConfig,
    SchoolSelection,
    StaffingConfig,
    WindowConfig,
)


def _timezone(plan: Fields, problems: list[str]) -> str:
    timezone = plan.string("timezone", "America/Chicago")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"plan.timezone: unknown time zone {timezone!r} (e.g. 'America/Chicago')")
    return timezone


def _iso_date(plan: Fields, problems: list[str]) -> str:
    text = plan.string("date", "")
    if text:
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            problems.append(f"plan.date: not an ISO date (YYYY-MM-DD), got {text!r}")
    return text


def _data(t: Fields, base: Path) -> DataConfig:
    hazards: dict[str, HazardConfig] = {}
    for name in t.table_keys("hazards"):
        layer = t.table("hazards").table(name)
        hazards[name] = HazardConfig(
            path=layer.required_path("path"),
            weight=layer.number("weight", 1.0, minimum=0.0),
        )
        layer.finish()
    t.table("hazards").finish()
    networks = t.paths("networks", required=True)
    config = DataConfig(
        networks=networks,
        schools=t.required_path("schools"),
        cache_dir=t.path("cache_dir", must_exist=False) or default_cache_dir(),
        profiles=t.path("profiles"),
        incidents=t.paths("incidents"),
        homicides=t.path("homicides"),
        hazards=hazards,
        population=t.path("population"),
        blocks=t.path("blocks"),
        community_areas=t.path("community_areas"),
        reference_routes=t.path("reference_routes"),
        vendors=t.path("vendors"),
        workers=t.path("workers"),
    )
    t.finish()
    return config


def _schools(t: Fields) -> SchoolSelection:
    selection = SchoolSelection(
        ids=t.strings("ids"),
        community_areas=t.strings("community_areas"),
        safe_passage_year=t.string("safe_passage_year", ""),
    )
    year = selection.safe_passage_year
    if year and not (len(year) == 6 and year.startswith("SY") and year[2:].isdigit()):
        t.problem("safe_passage_year", f"must look like 'SY1617', got {year!r}")
    t.finish()
    return selection


def _windows(t: Fields, problems: list[str]) -> WindowConfig:
    defaults = WindowConfig()
    spans = {}
    for key in ("am", "pm"):
        start, end = t.clock_pair(key, getattr(defaults, key))
        if start and end and _minutes(end) <= _minutes(start):
            problems.append(f"windows.{key}: end {end} must be after start {start}")
        spans[key] = (start, end)
    config = WindowConfig(
        am=spans["am"],
        pm=spans["pm"],
        arrive_before_min=t.integer("arrive_before_min", 60, minimum=0),
        arrive_after_min=t.integer("arrive_after_min", 15, minimum=0),
        dismiss_before_min=t.integer("dismiss_before_min", 15, minimum=0),
        dismiss_after_min=t.integer("dismiss_after_min", 60, minimum=0),
        default_start=t.clock("default_start", "08:00"),
        default_end=t.clock("default_end", "15:00"),
    )
    if _minutes(config.default_end) <= _minutes(config.default_start):
        problems.append(
            f"windows.default_end: {config.default_end} must be after "
            f"default_start {config.default_start}"
        )
    t.finish()
    return config


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes) if hours.isdigit() and minutes.isdigit() else 0


def _network(t: Fields) -> NetworkConfig:
    config = NetworkConfig(
        seam_tolerance_m=t.number("seam_tolerance_m", 25.0, minimum=0.0),
        cut_tolerance_m=t.number("cut_tolerance_m", 80.0, minimum=0.0),
        snap_max_m=t.number("snap_max_m", 150.0, positive=True),
    )
    t.finish()
    return config


def _risk(t: Fields) -> RiskConfig:
    half_life = t.optional_number("half_life_days", positive=True)
    config = RiskConfig(
        bandwidth_m=t.number("bandwidth_m", 150.0, positive=True),
        half_life_days=half_life,
        category_weights=t.number_table("category_weights"),
        hazard_weight=t.number("hazard_weight", 1.0, minimum=0.0),
    )
    t.finish()
    return config


def _routes(t: Fields) -> RoutesConfig:
    config = RoutesConfig(
        radius_elementary_m=t.number("radius_elementary_m", 2400.0, positive=True),
        radius_high_m=t.number("radius_high_m", 3200.0, positive=True),
        min_students=t.integer("min_students", 10, minimum=1),
        detour_cap=t.number("detour_cap", 1.25, minimum=1.0),
        risk_weight=t.number("risk_weight", 1.0, minimum=0.0),
        class_factors=t.number_table("class_factors", positive=True),
        corridor_budget_m=t.number("corridor_budget_m", 1600.0, positive=True),
        reference_tolerance_m=t.number("reference_tolerance_m", 50.0, positive=True),
    )
    t.finish()
    return config


def _posts(t: Fields) -> PostsConfig:
    mandatory = []
    for index, post in enumerate(t.table_list("mandatory")):
        school_id = post.string("school_id", "")
        if not school_id:
            t.problem(f"mandatory[{index}].school_id", "is required")
        coords = {key: post.optional_number(key) for key in ("x", "y", "lat", "lon")}
        has_xy = coords["x"] is not None and coords["y"] is not None
        has_latlon = coords["lat"] is not None and coords["lon"] is not None
        if has_xy == has_latlon:
            t.problem(f"mandatory[{index}]", "give either x and y (metres) or lat and lon")
        lat, lon = coords["lat"], coords["lon"]
        if (
            has_latlon
            and lat is not None
            and lon is not None
            and not (-90 <= lat <= 90 and -180 <= lon <= 180)
        ):
            t.problem(f"mandatory[{index}]", f"lat/lon out of range ({lat}, {lon}); swapped?")
        mandatory.append(MandatoryPost(school_id=school_id, name=post.string("name", ""), **coords))
        post.finish()
    config = PostsConfig(
        per_school=t.integer("per_school", 8, minimum=1),
        min_spacing_m=t.number("min_spacing_m", 80.0, minimum=0.0),
        sight_m=t.number("sight_m", 100.0, positive=True),
        mandatory=tuple(mandatory),
    )
    t.finish()
    return config


def _staffing(t: Fields) -> StaffingConfig:
    config = StaffingConfig(
        floater_share=t.number("floater_share", 0.1, minimum=0.0, maximum=1.0),
        max_minutes_day=t.integer("max_minutes_day", 300, minimum=1),
        max_days_week=t.integer("max_days_week", 5, minimum=1, maximum=7),
        time_limit_s=t.number("time_limit_s", 60.0, positive=True),
        num_workers=t.integer("num_workers", 2, minimum=1),
        relative_gap=t.number("relative_gap", 0.01, minimum=0.0, maximum=1.0),
    )
    t.finish()
    return config


def _output(t: Fields, base: Path, name: str) -> OutputConfig:
    folder = t.string("dir", "")
    config = OutputConfig(
        dir=resolve_path(folder, base, None) if folder else base / "out" / name,
        html=t.boolean("html", True),
        pdf=t.boolean("pdf", True),
        self_contained=t.boolean("self_contained", True),
    )
    t.finish()
    return config
