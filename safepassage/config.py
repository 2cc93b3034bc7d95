"""Plan configuration: pydantic models of a ``safepassage.toml`` file.

How to read this module
-----------------------
*Value types* first: small annotated types (``Number``, ``Count``, ``Clock``,
``InputFile``, ...) say what a TOML value may be; TOML integers count as numbers,
strings never do.  Then *one model class per TOML table*, in file order:
``[plan]`` :class:`PlanTable`, ``[data]`` :class:`DataConfig` (each
``[data.hazards.NAME]`` a :class:`HazardConfig`), ``[schools]``
:class:`SchoolSelection`, ``[windows]`` :class:`WindowConfig`, ``[network]``
:class:`NetworkConfig`, ``[risk]`` :class:`RiskConfig`, ``[routes]``
:class:`RoutesConfig`, ``[review]`` :class:`ReviewConfig`, ``[posts]``
:class:`PostsConfig` (each ``[[posts.mandatory]]`` a :class:`MandatoryPost`),
``[staffing]`` :class:`StaffingConfig`, ``[output]``
:class:`OutputConfig`; :class:`PlanConfig` holds them all.  Every key is one
``Field``: its default, its range and its description (with the unit) are written
there, once.  Validators check only what a range cannot (time zones, dates, clocks,
paths, the coordinates of a mandatory post).

Then *loading*: :func:`load_config` reads the TOML file and :func:`config_from_dict`
validates it; pydantic's errors become one :class:`~safepassage.errors.ConfigError`
that lists *all* problems, each with its TOML path
(``routes.radius_elementary_m: must be > 0, got -5``).  Unknown keys are problems
too, so a typo never silently falls back to a default.

Paths are relative to the folder of the config file, except those written with a
``data:`` prefix (``"data:osm/chicago_walk_2019_englewood.graphml.gz"``), which are
relative to the shared data root (see :func:`default_data_root`).

Last, :func:`config_template` writes a commented TOML file from the models
(``safepassage config --template``), so the documentation cannot drift from them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .errors import ConfigError
from .schedule import (
    ARRIVE_AFTER_MIN,
    ARRIVE_BEFORE_MIN,
    DISMISS_AFTER_MIN,
    DISMISS_BEFORE_MIN,
)

__all__ = [
    "DATA_ENV",
    "DATA_PREFIX",
    "TABLE_COLUMNS",
    "DataConfig",
    "HazardConfig",
    "MandatoryPost",
    "NetworkConfig",
    "OutputConfig",
    "PlanConfig",
    "PlanTable",
    "PostsConfig",
    "ReviewConfig",
    "RiskConfig",
    "RoutesConfig",
    "SchoolSelection",
    "StaffingConfig",
    "TableInput",
    "WindowConfig",
    "config_from_dict",
    "config_template",
    "default_cache_dir",
    "default_data_root",
    "load_config",
    "resolve_path",
]

DATA_ENV = "SAFEPASSAGE_DATA"
DATA_PREFIX = "data:"


# ----------------------------------------------------------------------------- folders


def default_data_root(start: Path | None = None) -> Path:
    """Folder holding the shared Chicago data.

    ``$SAFEPASSAGE_DATA`` when set; else ``shared/data/chicago`` beside the checkout
    this package lives in, when that folder exists; else the first
    ``shared/data/chicago`` found upwards from ``start`` (default: the working
    directory).  The folder may not exist; callers say so and how to fetch it.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    beside_checkout = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chicago"
    if beside_checkout.is_dir():
        return beside_checkout
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "data" / "chicago"
        if candidate.is_dir():
            return candidate
    return beside_checkout


def default_cache_dir() -> Path:
    """Stage cache folder: ``$XDG_CACHE_HOME/safepassage``, else ``~/.cache/safepassage``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "safepassage"


def resolve_path(text: str, base: Path, data_root: Path | None) -> Path:
    """Resolve a config path: ``data:`` prefix -> data root, ``~`` -> home, else ``base``."""
    if text.startswith(DATA_PREFIX):
        root = data_root if data_root is not None else default_data_root()
        return Path(os.path.normpath(root / text[len(DATA_PREFIX) :].lstrip("/")))
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


# ----------------------------------------------------------------------------- value types

# Validation context (set by config_from_dict): "base" folder of relative paths,
# "data_root" of data: paths, "name" of the plan (the default output folder).


def _context(info: ValidationInfo) -> Mapping[str, Any]:
    return info.context if isinstance(info.context, Mapping) else {}


def _resolved(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str | Path):
        return value  # the Path schema reports the wrong type
    context = _context(info)
    return resolve_path(str(value), context.get("base", Path.cwd()), context.get("data_root"))


def _existing(value: Any, info: ValidationInfo) -> Any:
    path = _resolved(value, info)
    if not isinstance(path, Path) or path.is_file():
        return path
    if str(value).startswith(DATA_PREFIX):
        root = _context(info).get("data_root") or default_data_root()
        origin = f"'data:' paths are read from the data root {root} (set ${DATA_ENV})"
    else:
        base = _context(info).get("base", Path.cwd())
        origin = f"relative paths are read from the config folder {base}"
    state = "is not a file" if path.exists() else "file not found"
    raise ValueError(f"{state}: {path} ({origin})")


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _clock(value: Any) -> Any:
    if isinstance(value, str):
        if not re.fullmatch(r"([01]?[0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f"must be a time of day HH:MM from 00:00 to 23:59, got {value!r}")
        return value.zfill(5)
    return value


def _pair(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'must be a pair of times ["HH:MM", "HH:MM"], got {value!r}')
    return value


def _ordered(pair: tuple[str, str]) -> tuple[str, str]:
    start, end = pair  # zero-padded HH:MM texts sort like the times
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    return pair


def _iso_day(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()  # an unquoted TOML date
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO date (YYYY-MM-DD), got {value!r}") from None
    return value


def _day_pair(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f'must be a pair of dates ["YYYY-MM-DD", "YYYY-MM-DD"], got {value!r}')
    return value


def _ordered_days(pair: tuple[str, str]) -> tuple[str, str]:
    start, end = pair  # ISO dates sort like the days
    if end < start:
        raise ValueError(f"end {end} must not be before start {start}")
    return pair


Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
SchoolId = Annotated[str, Strict(), BeforeValidator(_id_text)]
Clock = Annotated[str, Strict(), BeforeValidator(_clock)]
Window = Annotated[tuple[Clock, Clock], BeforeValidator(_pair), AfterValidator(_ordered)]
Day = Annotated[str, Strict(), BeforeValidator(_iso_day)]
Period = Annotated[tuple[Day, Day], BeforeValidator(_day_pair), AfterValidator(_ordered_days)]
InputFile = Annotated[Path, BeforeValidator(_existing)]
InputFiles = Annotated[tuple[InputFile, ...], BeforeValidator(_listed)]
Folder = Annotated[Path, BeforeValidator(_resolved)]
Weight = Annotated[float, Strict(), Field(ge=0)]
Factor = Annotated[float, Strict(), Field(gt=0)]


class _Table(BaseModel):
    """A TOML table: unknown keys are problems; loaded configs are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- tables


class PlanTable(_Table):
    """``[plan]``: the plan's name, random seed, time zone and date."""

    name: Text = Field(
        None,
        validate_default=True,
        description="Plan name, a plain folder name (default: the config file's name)",
        examples=["englewood"],
    )
    seed: Count = Field(0, ge=0, description="Random seed of every randomized step")
    timezone: Text = Field("America/Chicago", description="IANA time zone of clocks and dates")
    date: Text = Field(
        "",
        description='Plan date on maps and packets, ISO YYYY-MM-DD ("": none shown; the '
        "manifest records when the plan was made either way)",
    )

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, value: Any, info: ValidationInfo) -> Any:
        return _context(info).get("name", "plan") if value is None else value

    @field_validator("name")
    @classmethod
    def _plain_folder_name(cls, value: str) -> str:
        if not value or value.startswith(".") or any(c in value for c in '/\\:*?"<>|'):
            raise ValueError(f"must be a plain folder name, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'America/Chicago')") from None
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return value if value == "" else _iso_day(value)


# Canonical column names of each table input, as ``columns = { canonical = "source" }``
# maps them; readers also recognise the Chicago names of each.  One home for the names:
# the readers, the config check and the template all read this table.
_POINT_COLUMNS = {
    "longitude": "longitude, degrees (EPSG:4326 unless crs is given)",
    "latitude": "latitude, degrees",
    "x": "easting in the table's crs (a CSV with crs is read from x/y)",
    "y": "northing in the table's crs",
}
TABLE_COLUMNS: Mapping[str, Mapping[str, str]] = {
    "schools": {
        "school_id": "school id (required)",
        "name": "school name (default: the id)",
        "grades": 'grades offered, e.g. "K,1,2,...,8" (default: [schools] default_grade_band)',
        "grade_cat": '"HS" for a high school when grades are absent',
        "community_area": "community area name",
        "enrollment": "students enrolled (when there is no profiles table)",
        **_POINT_COLUMNS,
    },
    "profiles": {
        "school_id": "school id (required)",
        "enrollment": "students enrolled (required)",
        "school_hours": 'bell times, e.g. "8:00 AM - 3:00 PM"',
    },
    "incidents": {
        "incident_id": "incident id (default: the line number)",
        "occurred_at": "date and time (default: undated, counted in every window)",
        "year": "year, when there is no date",
        "category": "police category (default: [risk] default_category)",
        "description": "secondary description (a battery with a firearm is a shooting)",
        **_POINT_COLUMNS,
    },
    "population": {
        "block": "census block code (required)",
        "population": "people in the block (required)",
    },
    "blocks": {"block": "census block (or tract) code of the polygon (required)"},
    "community_areas": {"name": "community area name (required)"},
    "routes": {
        "school_id": "school id of the route (required)",
        "route_id": "route number",
        "school_name": "school name",
    },
    "vendors": {
        "vendor_id": "vendor id (required)",
        "school_ids": "schools served, ;-separated (required)",
        "name": "vendor name",
        "contact": "contact line",
        "phone": "phone number",
    },
    "workers": {
        "worker_id": "worker id (required)",
        "vendor_id": "the worker's vendor (required)",
        "weekdays": "days available, ;-separated (default: every weekday)",
        "windows": "windows available, am;pm (default: both)",
        "max_minutes_day": "most minutes a day",
        "max_days_week": "most days a week",
        "name": "worker name",
        "phone": "phone number",
        "cleared": "background check cleared",
    },
    "hazards": {"location": 'text holding "(lat, lon)"', **_POINT_COLUMNS},
}
# the config key of each table input -> its kind in TABLE_COLUMNS
_TABLE_KIND = {
    "schools": "schools",
    "profiles": "profiles",
    "incidents": "incidents",
    "homicides": "incidents",
    "population": "population",
    "blocks": "blocks",
    "community_areas": "community_areas",
    "reference_routes": "routes",
    "designated_routes": "routes",
    "vendors": "vendors",
    "workers": "workers",
}


def _table_form(value: Any) -> Any:
    """A path string is the short form of ``{ path = "..." }``."""
    return {"path": value} if isinstance(value, str | Path) else value


class TableInput(_Table):
    """A table input: a path string, or ``{ path, columns, crs, layer }``.

    ``columns`` maps canonical names (:data:`TABLE_COLUMNS`) to the file's own
    column names; ``crs`` is the CRS of the coordinates (the x/y columns of a CSV,
    or the geometry of a spatial file, overriding what the file declares);
    ``layer`` picks a layer of a GeoPackage (default: the first).
    """

    path: InputFile = Field(
        description="The file: CSV(.gz) with coordinates, GeoJSON(.gz), GeoPackage, "
        "shapefile or GeoParquet",
        examples=["data:schools/CPS_School_Locations_SY1617.geojson.gz"],
    )
    columns: dict[Text, Text] = Field(
        default_factory=dict,
        description='Canonical name -> the file\'s column, e.g. { school_id = "SCHOOL_CODE" } '
        "(the canonical names of each table are listed at the end of this file)",
    )
    crs: Text = Field(
        "",
        description='CRS of the coordinates, e.g. "EPSG:2248" (a CSV with it is read from '
        "its x/y columns; default: lon/lat degrees in a CSV, the file's own CRS otherwise)",
    )
    layer: Text = Field("", description="Layer of a GeoPackage (default: the first)")

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        if value:
            import pyproj

            try:
                pyproj.CRS.from_user_input(value)
            except pyproj.exceptions.CRSError:
                raise ValueError(f'unknown CRS {value!r} (e.g. "EPSG:4326")') from None
        return value

    @model_serializer(mode="wrap")
    def _short_form(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        plain = not self.columns and not self.crs and not self.layer
        if plain and type(self) is TableInput:
            return data["path"]  # the short form, as most configs write it
        return {k: v for k, v in data.items() if k == "path" or v not in ({}, "")}

    def label(self) -> str:
        """The file, as messages name it."""
        return str(self.path)


Table = Annotated[TableInput, BeforeValidator(_table_form)]
Tables = Annotated[
    tuple[Table, ...], BeforeValidator(lambda v: [v] if isinstance(v, str | Mapping) else v)
]


class HazardConfig(TableInput):
    """``[data.hazards.NAME]``: a hazard layer (e.g. vacant lots) and its risk weight."""

    path: InputFile = Field(
        description="Point or polygon table of the hazards",
        examples=["data:vacant/city_owned_land_englewood.csv.gz"],
    )
    weight: Weight = Field(1.0, description="Risk of one hazard, in weighted incidents a year")


def _optional_input(description: str, example: str) -> Any:
    """The Field of an optional input table: None unless given."""
    return Field(None, description=description, examples=[example])


class DataConfig(_Table):
    """``[data]``: input files, resolved to absolute paths."""

    networks: InputFiles = Field(
        min_length=1,
        description="Walk networks stitched into one: GraphML(.gz), OSM XML or street centerlines",
        examples=[["data:osm/chicago_walk_2019_englewood.graphml.gz"]],
    )
    schools: Table = Field(
        description="School points: only an id and a point are needed (CPS school locations "
        "work as they are)",
        examples=["data:schools/CPS_School_Locations_SY1617.geojson.gz"],
    )
    cache_dir: Folder = Field(
        default_factory=default_cache_dir,
        description="Stage cache folder (default: $XDG_CACHE_HOME/safepassage or ~/.cache/...)",
        examples=["~/.cache/safepassage"],
    )
    profiles: Table | None = _optional_input(
        "CPS school profiles (enrollment, bell times)",
        "data:schools/CPS_School_Profile_SY1617.csv.gz",
    )
    incidents: Tables = Field(
        (),
        description="Police incident tables (the plan needs at least one; only coordinates "
        "are needed: undated rows count in every window)",
    )
    homicides: Table | None = _optional_input(
        "Homicide victims table, read like the incidents",
        "data:crime/homicides_2013-2018_citywide.csv.gz",
    )
    hazards: dict[str, HazardConfig] = Field(
        default_factory=dict, description="Hazard layers, one table each (NAME is yours)"
    )
    population: Table | None = _optional_input(
        "Census block population (with blocks; without both, each school's enrollment is "
        "spread along the residential streets within its walk radius)",
        "data:census/population_by_2010_census_block.csv.gz",
    )
    blocks: Table | None = _optional_input(
        "Census block (or tract) polygons, with population",
        "data:boundaries/census_blocks_2010_englewood_westenglewood.geojson.gz",
    )
    community_areas: Table | None = _optional_input(
        "Community area polygons (for [schools] community_areas)",
        "data:boundaries/community_areas.geojson.gz",
    )
    reference_routes: Table | None = _optional_input(
        "Official Safe Passage routes", "data:safe_passage/safe_passage_routes_SY1617.geojson.gz"
    )
    vendors: Table | None = _optional_input("Vendors table (CSV)", "vendors.csv")
    workers: Table | None = _optional_input("Workers table (CSV)", "workers.csv")
    designated_routes: Table | None = _optional_input(
        "The routes the city runs (any year's official route lines or buffers): the plan's "
        'corridors with [routes] source = "designated"',
        "data:safe_passage/safe_passage_routes_SY1617.geojson.gz",
    )

    def tables(self) -> dict[str, TableInput]:
        """Every table input, by its config key (``incidents[0]``, ``hazards.NAME``)."""
        found: dict[str, TableInput] = {}
        for key in _TABLE_KIND:
            value = getattr(self, key)
            if key == "incidents":
                found.update({f"incidents[{i}]": t for i, t in enumerate(value)})
            elif value is not None:
                found[key] = value
        found.update({f"hazards.{name}": h for name, h in self.hazards.items()})
        return found

    def input_files(self) -> list[Path]:
        """Every input file named here (not the cache folder), in a stable order."""
        singles = [
            self.schools,
            self.profiles,
            self.homicides,
            self.population,
            self.blocks,
            self.community_areas,
            self.reference_routes,
            self.designated_routes,
            self.vendors,
            self.workers,
        ]
        tables = [*self.incidents, *self.hazards.values()]
        return [*self.networks, *(t.path for t in tables)] + [
            t.path for t in singles if t is not None
        ]

    @model_validator(mode="after")
    def _canonical_columns(self) -> DataConfig:
        problems = []
        for key, table in self.tables().items():
            kind = "hazards" if key.startswith("hazards.") else _TABLE_KIND[key.split("[")[0]]
            unknown = sorted(set(table.columns) - set(TABLE_COLUMNS[kind]))
            if unknown:
                names = ", ".join(TABLE_COLUMNS[kind])
                problems.append(f"{key}.columns: unknown canonical name(s) {unknown}; use {names}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SchoolSelection(_Table):
    """``[schools]``: which schools to plan; each given criterion narrows, none: all schools."""

    ids: tuple[SchoolId, ...] = Field((), description="CPS school ids")
    community_areas: tuple[Text, ...] = Field(
        (), description="Community area names, as in the polygons (e.g. ENGLEWOOD)"
    )
    safe_passage_year: Text = Field(
        "",
        description="Keep schools with a route in data.reference_routes, the routes of this "
        'year (e.g. "SY1617"; a file whose name holds another year is refused)',
    )
    default_grade_band: Literal["elementary", "high", "both"] = Field(
        "elementary",
        description="Grade band of schools whose file gives no grades (sets the walk radius)",
    )
    default_enrollment: Count = Field(
        300,
        ge=1,
        description="Students of a school without an enrollment (no profile): a warning names them",
    )

    @field_validator("safe_passage_year")
    @classmethod
    def _school_year(cls, value: str) -> str:
        if value and not re.fullmatch(r"SY[0-9]{4}", value):
            raise ValueError(f"must look like 'SY1617', got {value!r}")
        return value


class WindowConfig(_Table):
    """``[windows]``: time windows (plan time zone) and shift spans around the bells."""

    am: Window = Field(("06:30", "09:00"), description="Morning window [start, end] (HH:MM)")
    pm: Window = Field(("14:00", "17:30"), description="Afternoon window [start, end] (HH:MM)")
    # defaults: the program's 5-hour split shift, 2 h around arrival and 3 h around dismissal
    arrive_before_min: Count = Field(
        ARRIVE_BEFORE_MIN, ge=0, description="Shift start before the bell (min)"
    )
    arrive_after_min: Count = Field(
        ARRIVE_AFTER_MIN, ge=0, description="Shift end after the bell (min)"
    )
    dismiss_before_min: Count = Field(
        DISMISS_BEFORE_MIN, ge=0, description="Shift start before dismissal (min)"
    )
    dismiss_after_min: Count = Field(
        DISMISS_AFTER_MIN, ge=0, description="Shift end after dismissal (min)"
    )
    default_start: Clock = Field("08:00", description="Bell time of schools without one (HH:MM)")
    default_end: Clock = Field(
        "15:00",
        validate_default=True,
        description="Dismissal time of schools without one (HH:MM)",
    )

    @field_validator("default_end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        start = info.data.get("default_start")
        if start is not None and value <= start:
            raise ValueError(f"{value} must be after default_start {start}")
        return value


class NetworkConfig(_Table):
    """``[network]``: stitching and snapping tolerances."""

    seam_tolerance_m: Number = Field(
        25.0, ge=0, description="Join a dead end to another network piece this close (m)"
    )
    cut_tolerance_m: Number = Field(
        80.0, ge=0, description="Rejoin streets cut at area boundaries this close (m)"
    )
    snap_max_m: Number = Field(
        150.0, gt=0, description="Farthest a school or origin may snap to a street (m)"
    )
    clip_to_areas_m: Number | None = Field(
        None,
        ge=0,
        description="Keep only the streets within this distance of [schools] community_areas "
        "(m), to plan a few areas on the citywide network (default: keep every street)",
        examples=[3500.0],
    )


class RiskConfig(_Table):
    """``[risk]``: the risk surface."""

    bandwidth_m: Number = Field(150.0, gt=0, description="Kernel bandwidth (m)")
    half_life_days: Number | None = Field(
        None, gt=0, description="Decay half-life of old incidents (days)", examples=[365.0]
    )
    category_weights: dict[str, Weight] = Field(
        default_factory=dict,
        description="Incident category -> weight (unlisted: the library defaults)",
    )
    hazard_weight: Weight = Field(1.0, description="Factor on every hazard layer's weight")
    default_category: Text = Field(
        "uncategorised",
        description='Category of incidents from a table without categories ("uncategorised" '
        'weighs 1; or a category whose weight they take, e.g. "assault")',
    )
    period: Period | None = Field(
        None,
        description="Incidents counted: [first, last] day, inclusive (default: all read; "
        "rows dated by year only count when their year overlaps)",
        examples=[["2016-01-01", "2016-12-31"]],
    )


class RoutesConfig(_Table):
    """``[routes]``: walk radii, privacy threshold, detours and street costs."""

    radius_elementary_m: Number = Field(
        2400.0, gt=0, description="Walk radius of elementary schools (m)"
    )
    radius_high_m: Number = Field(3200.0, gt=0, description="Walk radius of high schools (m)")
    min_students: Count = Field(
        10, ge=1, description="Fewest students an origin may stand for (privacy)"
    )
    detour_cap: Number = Field(
        1.25, ge=1, description="Longest safe route, as a multiple of the shortest"
    )
    risk_weight: Weight = Field(1.0, description="Weight of risk against length in route costs")
    class_factors: dict[str, Factor] = Field(
        default_factory=dict,
        description="OSM highway class -> cost factor (unlisted classes: the library defaults)",
    )
    corridor_budget_m: Number | None = Field(
        None,
        gt=0,
        description="Designed corridor street length per school (m); default: the learned "
        "style's budget per school (enrollment, grade band, neighbouring schools), 1600 m "
        'with corridor_style = "hand"',
        examples=[1600.0],
    )
    corridor_style: Literal["learned", "hand"] = Field(
        "learned",
        description='How designed corridors choose streets: "learned": legs from the school '
        "door along the streets a style model prefers (trained on style_routes, else the "
        'shipped Chicago model); "hand": the highest-flow streets of routes costed with '
        "class_factors",
    )
    style_routes: InputFiles = Field(
        (),
        description="Published routes of other schools (any year, lines or buffers) to learn "
        "the street style from; a planned school's own routes are left out "
        "(default: the model shipped with the package, trained on Chicago's routes)",
        examples=[["data:safe_passage/safe_passage_routes_SY1516.geojson.gz"]],
    )
    reference_tolerance_m: Number = Field(
        50.0, gt=0, description="Distance within which a street matches a reference route (m)"
    )
    source: Literal["", "designated", "designed"] = Field(
        "",
        description='"designated": each school\'s corridor is its route in '
        "data.designated_routes (schools without one get a designed corridor); "
        '"designed": every corridor is designed; "" (default): designated when '
        "data.designated_routes is given",
    )
    match_tolerance_m: Number = Field(
        20.0, gt=0, description="Distance within which a street lies along a designated route (m)"
    )
    match_gap_m: Number = Field(
        100.0, ge=0, description="Longest gap in a designated route bridged by the network (m)"
    )


class ReviewConfig(_Table):
    """``[review]``: the review of the designated routes."""

    baseline_period: Period | None = Field(
        None,
        description="Also score the incidents of these days [first, last] and give each "
        "route's change in risk from them to the plan's incidents (default: no baseline)",
        examples=[["2014-01-01", "2014-12-31"]],
    )
    extensions_per_school: Count = Field(
        3, ge=0, description="Most designed extensions proposed per school (0: none)"
    )
    extension_max_m: Number = Field(800.0, gt=0, description="Longest proposed extension (m)")


class MandatoryPost(_Table):
    """``[[posts.mandatory]]``: a post that must be staffed, at x/y or at lat/lon."""

    school_id: SchoolId = Field(
        min_length=1, description="CPS id of the school it serves", examples=["609791"]
    )
    name: Text = Field("", description="Label on maps and packets")
    x: Number | None = Field(None, description="Easting, plan CRS (m)", examples=[445000.0])
    y: Number | None = Field(None, description="Northing, plan CRS (m)", examples=[4627500.0])
    lat: Number | None = Field(
        None, ge=-90, le=90, description="Latitude (degrees)", examples=[41.7733]
    )
    lon: Number | None = Field(
        None, ge=-180, le=180, description="Longitude (degrees)", examples=[-87.6455]
    )

    @model_validator(mode="after")
    def _one_position(self) -> MandatoryPost:
        has_xy = self.x is not None and self.y is not None
        has_latlon = self.lat is not None and self.lon is not None
        if has_xy == has_latlon:
            raise ValueError("give either x and y (metres) or lat and lon (degrees)")
        return self


class PostsConfig(_Table):
    """``[posts]``: post budget, spacing, sight and mandatory posts."""

    per_km: Number = Field(
        5.5,
        gt=0,
        description="Posts per km of a school's corridors (the program: about 1,300 workers "
        "on about 140 routes of 1.5 km in SY1617, one post per 150-200 m)",
    )
    per_school: Count | None = Field(
        None,
        ge=1,
        description="Most posts per school, a cap on per_km (default: no cap)",
        examples=[8],
    )
    min_spacing_m: Number = Field(80.0, ge=0, description="Least distance between posts (m)")
    sight_m: Number = Field(100.0, gt=0, description="Distance a worker can watch (m)")
    mandatory: tuple[MandatoryPost, ...] = Field((), description="Posts that must be staffed")


class StaffingConfig(_Table):
    """``[staffing]``: roster rules and CP-SAT solver settings."""

    floater_share: Number = Field(0.1, ge=0, le=1, description="Share of workers kept as floaters")
    max_minutes_day: Count = Field(300, ge=1, description="Most a worker works a day (min)")
    max_days_week: Count = Field(5, ge=1, le=7, description="Most days a worker works a week")
    walk_between_m: Number = Field(
        800.0,
        ge=0,
        description="Longest walk along streets between a worker's morning and afternoon "
        "posts of different schools (m; posts of one school are always walkable)",
    )
    hourly_wage: Number = Field(
        10.50,
        gt=0,
        description="Worker pay per hour, dollars, for staffing_needs.csv (CPS paid "
        "$10.00-10.50 in 2013-2016)",
    )
    school_days: Count = Field(180, ge=1, description="School days a year, for the yearly cost")
    method: Literal["auto", "greedy", "cp-sat"] = Field(
        "auto",
        description='How the roster is made: "greedy" (most valuable post-windows first, '
        'then re-matched to home posts, without a solver), "cp-sat" (a proven bound), '
        'or "auto": greedy for each vendor group whose bound proves it within '
        "relative_gap, CP-SAT for the rest",
    )
    time_limit_s: Number = Field(60.0, gt=0, description="Solver time limit (s)")
    num_workers: Count = Field(
        2,
        ge=1,
        description="Vendor groups rostered at once, in threads (each CP-SAT solve runs on one "
        "worker so the plan is the same on any machine)",
    )
    relative_gap: Number = Field(
        0.01, ge=0, le=1, description="Stop when within this share of the best bound"
    )


class OutputConfig(_Table):
    """``[output]``: output folder and which products to write."""

    dir: Folder = Field(
        None,
        validate_default=True,
        description="Output folder (default: out/<plan name> beside the config file)",
        examples=["out/englewood"],
    )
    html: Flag = Field(True, description="Write the web map")
    pdf: Flag = Field(True, description="Write the printed post packets")
    self_contained: Flag = Field(True, description="Embed map assets so the map works offline")

    @field_validator("dir", mode="before")
    @classmethod
    def _default_dir(cls, value: Any, info: ValidationInfo) -> Any:
        return f"out/{_context(info).get('name', 'plan')}" if value is None else value


class PlanConfig(_Table):
    """A whole plan configuration (see :func:`load_config`).

    ``name``, ``seed``, ``timezone`` and ``plan_date`` read ``[plan]``;
    ``config_path`` is the TOML file it came from (None when built from a dict).
    """

    # an absent table is validated as an empty one, so its required keys are named
    plan: PlanTable = Field(default_factory=dict, validate_default=True)
    data: DataConfig = Field(default_factory=dict, validate_default=True)
    schools: SchoolSelection = Field(default_factory=dict, validate_default=True)
    windows: WindowConfig = Field(default_factory=dict, validate_default=True)
    network: NetworkConfig = Field(default_factory=dict, validate_default=True)
    risk: RiskConfig = Field(default_factory=dict, validate_default=True)
    routes: RoutesConfig = Field(default_factory=dict, validate_default=True)
    review: ReviewConfig = Field(default_factory=dict, validate_default=True)
    posts: PostsConfig = Field(default_factory=dict, validate_default=True)
    staffing: StaffingConfig = Field(default_factory=dict, validate_default=True)
    output: OutputConfig = Field(default_factory=dict, validate_default=True)
    config_path: Path | None = Field(None, description="The TOML file (not a TOML key)")

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def seed(self) -> int:
        return self.plan.seed

    @property
    def timezone(self) -> str:
        return self.plan.timezone

    @property
    def plan_date(self) -> str:
        return self.plan.date

    def to_dict(self) -> dict[str, Any]:
        """TOML-shaped plain dict (paths absolute, as strings) for the run manifest.

        ``config_from_dict(config.to_dict())`` rebuilds an equal config.
        """
        tables = self.model_dump(mode="json", exclude={"config_path"}, exclude_none=True)
        return {"config_path": str(self.config_path) if self.config_path else None, **tables}


# ----------------------------------------------------------------------------- loading


def load_config(path: str | os.PathLike[str], *, data_root: Path | None = None) -> PlanConfig:
    """Load and validate a plan configuration from a TOML file.

    Parameters
    ----------
    path
        The ``safepassage.toml`` file.
    data_root
        Folder that ``data:`` paths are relative to; default :func:`default_data_root`.

    Raises
    ------
    ConfigError
        Listing every problem (unknown keys, wrong types, bad values, missing files),
        each with its TOML path; ``source`` is the file name.
    """
    config_path = Path(path).expanduser().resolve()
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"config file not found: {config_path}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read {config_path}: {exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], source=str(config_path)) from exc
    return config_from_dict(raw, config_path=config_path, data_root=data_root)


def config_from_dict(
    raw: Mapping[str, Any],
    *,
    config_path: Path | None = None,
    data_root: Path | None = None,
) -> PlanConfig:
    """Build and validate a :class:`PlanConfig` from a TOML-shaped mapping.

    Relative paths are resolved against ``config_path``'s folder (the working
    directory when None).  A top-level ``config_path`` key (as written by
    :meth:`PlanConfig.to_dict`) is used when ``config_path`` is not given.

    Raises
    ------
    ConfigError
        Listing every problem, each with its TOML path.
    """
    raw = dict(raw)
    recorded = raw.pop("config_path", None)
    if config_path is None and isinstance(recorded, str):
        config_path = Path(recorded)
    plan = raw.get("plan")
    name = plan.get("name") if isinstance(plan, Mapping) else None
    if not isinstance(name, str):
        name = config_path.stem if config_path else "plan"
    context = {
        "base": config_path.parent if config_path else Path.cwd(),
        "data_root": data_root if data_root is not None else default_data_root(),
        "name": name,
    }
    try:
        return PlanConfig.model_validate({**raw, "config_path": config_path}, context=context)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False)]
        raise ConfigError(problems, source=str(config_path) if config_path else None) from None


_TYPE_WORDS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "path_type": "must be a path string",
}
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}
_KINDS = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
}


def _problem(error: ErrorDetails) -> str:
    """One pydantic error as ``toml.path: message``."""
    loc = error["loc"]
    if len(loc) >= 3 and loc[0] == "data" and loc[1] != "hazards" and loc[-1] == "path":
        loc = loc[:-1]  # the short form names the file itself: data.schools = "..."
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if kind in _TYPE_WORDS:
        got = _KINDS.get(type(value), type(value).__name__)
        message = f"{_TYPE_WORDS[kind]}, got {got} {value!r}"
    elif kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        message = f"must be {sign} {ctx[key]:g}, got {value}"
    elif kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = f"unknown key (expected one of: {', '.join(_keys_at(loc)) or '(no keys)'})"
    elif kind in ("too_short", "string_too_short"):
        message = "must not be empty"
    elif kind in ("value_error", "assertion_error"):
        message = str(ctx["error"])
    else:
        message = error["msg"]
    return f"{where}: {message}" if where else message


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed in the table holding ``loc``."""
    model: type[BaseModel] = PlanConfig
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            continue  # a list index, or a table name of the user's (data.hazards.NAME)
        nested = _model_in(field.annotation)
        if nested is None:
            return []
        model = nested
    return sorted(key for key in model.model_fields if key != "config_path")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class in an annotation (``HazardConfig`` in ``dict[str, HazardConfig]``)."""
    if get_origin(annotation) is None and isinstance(annotation, type):
        return annotation if issubclass(annotation, BaseModel) else None
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# ----------------------------------------------------------------------------- template

_TEMPLATE_HEADER = f"""\
# safepassage plan configuration (written by `safepassage config --template`).
# Relative paths are read from this file's folder; paths starting with "{DATA_PREFIX}" from
# the shared data root (${DATA_ENV}, else shared/data/chicago beside the checkout).
# Keys marked "required" hold examples to replace; the other keys shown hold their
# defaults; commented-out keys are optional."""


def config_template() -> str:
    """A commented ``safepassage.toml`` naming every table and key, written from the models.

    Each key has a ``# description (unit), default: X`` comment; required keys hold
    an example value and optional keys without a fixed default are commented out.
    """
    lines = [_TEMPLATE_HEADER]
    for table, table_field in PlanConfig.model_fields.items():
        model = _model_in(table_field.annotation)
        if model is None:
            continue  # config_path: not a TOML key
        lines += ["", f"# {_summary(model)}", f"[{table}]"]
        nested: list[tuple[str, FieldInfo, type[BaseModel]]] = []
        for key, field in model.model_fields.items():
            inner = _model_in(field.annotation)
            if inner is None or inner is TableInput:
                lines += _key_lines(key, field, commented=False)
            else:
                nested.append((key, field, inner))
        for key, field, inner in nested:
            many = get_origin(field.annotation) is tuple
            header = f"[[{table}.{key}]]" if many else f"[{table}.{key}.NAME]"
            lines += ["", f"# {field.description}", f"# {header}"]
            for inner_key, inner_field in inner.model_fields.items():
                lines += _key_lines(inner_key, inner_field, commented=True)
    return "\n".join([*lines, *_columns_lines()]) + "\n"


def _columns_lines() -> list[str]:
    """The closing comment: the inline-table form of a table input and its canonical names."""
    lines = [
        "",
        "# Table inputs ([data] schools, profiles, incidents, homicides, population, blocks,",
        "# community_areas, reference_routes, designated_routes, vendors, workers and each",
        "# hazard) are a path string or an inline table:",
        '#   schools = { path = "schools.gpkg", columns = { school_id = "CODE" }, '
        'crs = "EPSG:2248", layer = "schools" }',
    ]
    for key, field in TableInput.model_fields.items():
        lines.append(f"#   {key}: {field.description}")
    lines.append("# Canonical column names, by table (the tables' own names are also recognised):")
    for kind, names in TABLE_COLUMNS.items():
        lines.append(f"#   {kind}:")
        lines += [f"#     {name}: {text}" for name, text in names.items()]
    return lines


def _summary(model: type[BaseModel]) -> str:
    """The first line of a model's docstring, without the table name it starts with."""
    first = (model.__doc__ or model.__name__).strip().splitlines()[0]
    text = re.sub(r"^``\[[^`]*\]``: ", "", first)
    return text[:1].upper() + text[1:]


def _key_lines(key: str, field: FieldInfo, *, commented: bool) -> list[str]:
    """The ``# description`` comment and the ``key = value`` line of one field."""
    if field.is_required():
        note, value = "required", _example(key, field)
    else:
        default = field.get_default(call_default_factory=True)
        if default is None or isinstance(default, Path):  # decided at load time
            note, value, commented = "optional", _example(key, field), True
        else:
            note, value = f"default: {_toml(default)}", _toml(default)
    line = f"{key} = {value}"
    return [f"# {field.description}, {note}", f"# {line}" if commented else line]


def _example(key: str, field: FieldInfo) -> str:
    if not field.examples:
        raise ValueError(f"config field {key!r} needs an example for the template")
    return _toml(field.examples[0])


def _toml(value: Any) -> str:
    """A TOML literal of a default or example value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML literal for {value!r}")
