"""Plan configuration: frozen dataclasses loaded from a ``safepassage.toml`` file.

:func:`load_config` reads the TOML file, checks every key and value, and
raises one :class:`~safepassage.errors.ConfigError` that lists *all* problems,
each with its TOML path (``routes.radius_elementary_m: must be > 0, got -5``).
Unknown keys are problems too, so a typo never silently falls back to a default.

Paths in ``[data]`` are relative to the folder of the config file, except those
written with a ``data:`` prefix (``"data:osm/chicago_walk_2019_englewood.graphml.gz"``),
which are relative to the shared data root (``$SAFEPASSAGE_DATA``, see
:func:`default_data_root`).
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

__all__ = [
    "DATA_ENV",
    "DATA_PREFIX",
    "DataConfig",
    "HazardConfig",
    "MandatoryPost",
    "NetworkConfig",
    "OutputConfig",
    "PlanConfig",
    "PostsConfig",
    "RiskConfig",
    "RoutesConfig",
    "SchoolSelection",
    "StaffingConfig",
    "WindowConfig",
    "config_from_dict",
    "default_cache_dir",
    "default_data_root",
    "load_config",
]

DATA_ENV = "SAFEPASSAGE_DATA"
DATA_PREFIX = "data:"


def default_data_root(start: Path | None = None) -> Path:
    """Folder holding the shared Chicago data.

    ``$SAFEPASSAGE_DATA`` when set, else ``../shared/data/chicago`` next to the
    checkout (searched upwards from ``start``, default the working directory).
    The folder may not exist; callers say so and how to fetch it.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "data" / "chicago"
        if candidate.is_dir():
            return candidate
    return here.parent / "shared" / "data" / "chicago"


# ----------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class HazardConfig:
    """A hazard layer (e.g. vacant lots): a point/polygon table and its risk weight."""

    path: Path
    weight: float = 1.0


@dataclass(frozen=True)
class DataConfig:
    """Input files, all resolved to absolute paths.

    ``networks``: GraphML(.gz) / OSM XML / street-centerline files stitched into one
    walk network; ``schools``: CPS school locations; ``profiles``: CPS school profile
    CSV (enrollment, hours); ``incidents``: police incident tables; ``hazards``: name
    -> layer; ``population``: census block population CSV; ``blocks``: census block
    polygons; ``community_areas``: community area polygons (for ``[schools]
    community_areas``); ``reference_routes``: official Safe Passage routes;
    ``vendors``/``workers``: CSV tables; ``cache_dir``: stage cache folder.
    """

    networks: tuple[Path, ...]
    schools: Path
    cache_dir: Path
    profiles: Path | None = None
    incidents: tuple[Path, ...] = ()
    homicides: Path | None = None
    hazards: Mapping[str, HazardConfig] = field(default_factory=dict)
    population: Path | None = None
    blocks: Path | None = None
    community_areas: Path | None = None
    reference_routes: Path | None = None
    vendors: Path | None = None
    workers: Path | None = None

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
            self.vendors,
            self.workers,
        ]
        files = [*self.networks, *self.incidents, *(h.path for h in self.hazards.values())]
        return files + [p for p in singles if p is not None]


@dataclass(frozen=True)
class SchoolSelection:
    """Which schools to plan: explicit ids, community areas, and/or a Safe Passage year.

    Each given criterion narrows the selection: schools whose id is in ``ids``, that
    lie in one of ``community_areas``, and (with ``safe_passage_year``, e.g.
    ``"SY1617"``) that have a route in the reference routes.  Nothing given: all schools.
    """

    ids: tuple[str, ...] = ()
    community_areas: tuple[str, ...] = ()
    safe_passage_year: str = ""


@dataclass(frozen=True)
class WindowConfig:
    """Time windows (``HH:MM``, plan time zone) and shift spans around the bells (minutes)."""

    am: tuple[str, str] = ("06:30", "09:00")
    pm: tuple[str, str] = ("14:00", "17:30")
    arrive_before_min: int = 60
    arrive_after_min: int = 15
    dismiss_before_min: int = 15
    dismiss_after_min: int = 60
    default_start: str = "08:00"
    default_end: str = "15:00"


@dataclass(frozen=True)
class NetworkConfig:
    """Stitching and snapping tolerances, metres."""

    seam_tolerance_m: float = 25.0
    cut_tolerance_m: float = 80.0
    snap_max_m: float = 150.0


@dataclass(frozen=True)
class RiskConfig:
    """Risk surface: kernel bandwidth (m), optional decay half-life (days), weights."""

    bandwidth_m: float = 150.0
    half_life_days: float | None = None
    category_weights: Mapping[str, float] = field(default_factory=dict)
    hazard_weight: float = 1.0


@dataclass(frozen=True)
class RoutesConfig:
    """Walk radii (m), privacy threshold, detour cap, risk weight and street-class factors.

    ``class_factors`` maps an OSM ``highway`` class to a cost factor (missing classes: 1).
    """

    radius_elementary_m: float = 2400.0
    radius_high_m: float = 3200.0
    min_students: int = 10
    detour_cap: float = 1.25
    risk_weight: float = 1.0
    class_factors: Mapping[str, float] = field(default_factory=dict)
    corridor_budget_m: float = 1600.0
    reference_tolerance_m: float = 50.0


@dataclass(frozen=True)
class MandatoryPost:
    """A post that must be staffed: at ``x``/``y`` (plan CRS, m) or ``lat``/``lon`` (degrees)."""

    school_id: str
    name: str = ""
    x: float | None = None
    y: float | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class PostsConfig:
    """Post budget per school, spacing and sight distance (m), mandatory posts."""

    per_school: int = 8
    min_spacing_m: float = 80.0
    sight_m: float = 100.0
    mandatory: tuple[MandatoryPost, ...] = ()


@dataclass(frozen=True)
class StaffingConfig:
    """Roster rules and CP-SAT settings (time limit in seconds)."""

    floater_share: float = 0.1
    max_minutes_day: int = 300
    max_days_week: int = 5
    time_limit_s: float = 60.0
    num_workers: int = 2
    relative_gap: float = 0.01


@dataclass(frozen=True)
class OutputConfig:
    """Output folder (absolute) and which products to write."""

    dir: Path
    html: bool = True
    pdf: bool = True
    self_contained: bool = True


@dataclass(frozen=True)
class PlanConfig:
    """A whole plan configuration (see :func:`load_config`).

    ``plan_date`` is an ISO date or ``""`` (the pipeline records the run date);
    ``config_path`` is the TOML file it came from (None when built from a dict).
    """

    name: str
    seed: int
    timezone: str
    plan_date: str
    config_path: Path | None
    data: DataConfig
    schools: SchoolSelection
    windows: WindowConfig
    network: NetworkConfig
    risk: RiskConfig
    routes: RoutesConfig
    posts: PostsConfig
    staffing: StaffingConfig
    output: OutputConfig

    def to_dict(self) -> dict[str, Any]:
        """TOML-shaped plain dict (paths absolute, as strings) for the run manifest.

        ``config_from_dict(config.to_dict())`` rebuilds an equal config.
        """
        raw = asdict(self)
        plan = {
            "name": self.name,
            "seed": self.seed,
            "timezone": self.timezone,
            "date": self.plan_date,
        }
        sections = {key: _plain(raw[key]) for key in _SECTIONS if key != "plan"}
        sections["risk"] = {k: v for k, v in sections["risk"].items() if v is not None}
        sections["posts"]["mandatory"] = [
            {k: v for k, v in post.items() if v is not None}
            for post in sections["posts"]["mandatory"]
        ]
        data = sections["data"]
        for key in [k for k, v in data.items() if v is None]:
            del data[key]
        config_path = str(self.config_path) if self.config_path else None
        return {"config_path": config_path, "plan": plan, **sections}


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_SECTIONS = (
    "plan",
    "data",
    "schools",
    "windows",
    "network",
    "risk",
    "routes",
    "posts",
    "staffing",
    "output",
)

# ----------------------------------------------------------------------------- field reader

_MISSING: Any = object()


def resolve_path(text: str, base: Path, data_root: Path | None) -> Path:
    """Resolve a config path: ``data:`` prefix -> data root, ``~`` -> home, else ``base``."""
    if text.startswith(DATA_PREFIX):
        root = data_root if data_root is not None else default_data_root(base)
        return Path(os.path.normpath(root / text[len(DATA_PREFIX) :].lstrip("/")))
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "safepassage"


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class Fields:
    """Reads one TOML table, recording every problem (with its TOML path) in ``problems``.

    Each getter marks its key as known and returns the default on a problem, so
    loading continues and all problems are reported together; :meth:`finish`
    reports the keys nobody asked for.
    """

    def __init__(
        self, raw: Any, prefix: str, problems: list[str], *, base: Path, data_root: Path | None
    ) -> None:
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        self.prefix = prefix
        self.problems = problems
        self.base = base
        self.data_root = data_root
        self.known: set[str] = set()
        self.children: dict[str, Fields] = {}

    def where(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where(key)}: {message}")

    def _get(self, key: str) -> Any:
        self.known.add(key)
        return self.raw.get(key, _MISSING)

    def _child(self, raw: Any, prefix: str) -> Fields:
        return Fields(raw, prefix, self.problems, base=self.base, data_root=self.data_root)

    def table(self, key: str) -> Fields:
        if key not in self.children:
            value = self._get(key)
            if value is not _MISSING and not isinstance(value, Mapping):
                self.problem(key, f"must be a table, got {_type_name(value)}")
            self.children[key] = self._child(value, self.where(key))
        return self.children[key]

    def table_keys(self, key: str) -> list[str]:
        return [str(k) for k in self.table(key).raw]

    def table_list(self, key: str) -> list[Fields]:
        value = self._get(key)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.problem(key, "must be a list of tables ([[...]] entries)")
            return []
        return [self._child(v, f"{self.where(key)}[{i}]") for i, v in enumerate(value)]

    def _typed(self, key: str, default: Any, kinds: tuple[type, ...], word: str) -> Any:
        value = self._get(key)
        if value is _MISSING:
            return default
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problem(key, f"must be {word}, got {_type_name(value)} {value!r}")
            return default
        return value

    def string(self, key: str, default: str) -> str:
        return str(self._typed(key, default, (str,), "a string"))

    def boolean(self, key: str, default: bool) -> bool:
        return bool(self._typed(key, default, (bool,), "true or false"))

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._typed(key, [], (list,), "a list of strings")
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
            self.problem(key, f"must be a list of strings, got {value!r}")
            return ()
        return tuple(str(v) for v in value)

    def _bounded(
        self, key: str, value: float, minimum: float | None, maximum: float | None, positive: bool
    ) -> bool:
        if positive and value <= 0:
            self.problem(key, f"must be > 0, got {value}")
        elif minimum is not None and value < minimum:
            self.problem(key, f"must be >= {minimum}, got {value}")
        elif maximum is not None and value > maximum:
            self.problem(key, f"must be <= {maximum}, got {value}")
        else:
            return True
        return False

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        value = self._typed(key, default, (int,), "an integer")
        return int(value) if self._bounded(key, value, minimum, maximum, False) else default

    def optional_number(
        self,
        key: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float | None:
        value = self._typed(key, None, (int, float), "a number")
        if value is None or not self._bounded(key, value, minimum, maximum, positive):
            return None
        return float(value)

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.optional_number(key, minimum=minimum, maximum=maximum, positive=positive)
        return default if value is None else value

    def number_table(self, key: str, *, positive: bool = False) -> dict[str, float]:
        table = self.table(key)
        result = {}
        for name in list(table.raw):
            value = table.optional_number(
                name, minimum=None if positive else 0.0, positive=positive
            )
            if value is not None:
                result[str(name)] = value
        return result

    def clock(self, key: str, default: str) -> str:
        text = self.string(key, default)
        hours, sep, minutes = text.partition(":")
        if (
            sep
            and hours.isdigit()
            and minutes.isdigit()
            and len(minutes) == 2
            and int(hours) < 24
            and int(minutes) < 60
        ):
            return f"{int(hours):02d}:{minutes}"
        self.problem(key, f"must be a time of day HH:MM, got {text!r}")
        return default

    def clock_pair(self, key: str, default: tuple[str, str]) -> tuple[str, str]:
        value = self._typed(key, list(default), (list,), 'a pair of times ["HH:MM", "HH:MM"]')
        if len(value) != 2:
            self.problem(key, f'must be a pair of times ["HH:MM", "HH:MM"], got {value!r}')
            return default
        pair = self._child({"start": value[0], "end": value[1]}, self.where(key))
        return pair.clock("start", default[0]), pair.clock("end", default[1])

    def path(self, key: str, *, must_exist: bool = True) -> Path | None:
        text = self._typed(key, None, (str,), "a path string")
        return None if text is None else self._resolve(key, text, must_exist)

    def required_path(self, key: str) -> Path:
        path = self.path(key)
        if key not in self.raw:
            self.problem(key, "is required")
        return path or Path()

    def paths(self, key: str, *, required: bool = False) -> tuple[Path, ...]:
        value = self._typed(key, [], (list, str), "a list of path strings")
        items = [value] if isinstance(value, str) else value
        if required and not items:
            self.problem(key, "needs at least one file")
        if not all(isinstance(v, str) for v in items):
            self.problem(key, f"must be a list of path strings, got {value!r}")
            return ()
        return tuple(self._resolve(f"{key}[{i}]", v, True) for i, v in enumerate(items))

    def _resolve(self, key: str, text: str, must_exist: bool) -> Path:
        path = resolve_path(text, self.base, self.data_root)
        if must_exist and not path.is_file():
            origin = (
                f"'data:' paths are read from the data root {self.data_root} (set ${DATA_ENV})"
                if text.startswith(DATA_PREFIX)
                else f"relative paths are read from the config folder {self.base}"
            )
            state = "is not a file" if path.exists() else "file not found"
            self.problem(key, f"{state}: {path} ({origin})")
        return path

    def finish(self) -> None:
        for key in self.raw:
            if key not in self.known:
                expected = ", ".join(sorted(self.known)) or "(no keys)"
                self.problem(str(key), f"unknown key (expected one of: {expected})")


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
    """
    raw = dict(raw)
    recorded = raw.pop("config_path", None)
    if config_path is None and isinstance(recorded, str):
        config_path = Path(recorded)
    base = config_path.parent if config_path else Path.cwd()
    root = data_root if data_root is not None else default_data_root(base)
    problems: list[str] = []
    top = Fields(raw, "", problems, base=base, data_root=root)
    tables = {name: top.table(name) for name in _SECTIONS}
    top.finish()
    plan = tables["plan"]
    name = plan.string("name", config_path.stem if config_path else "plan")
    if not name or any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        problems.append(f"plan.name: must be a plain folder name, got {name!r}")
    seed = plan.integer("seed", 0, minimum=0)
    timezone = _timezone(plan, problems)
    plan_date = _iso_date(plan, problems)
    plan.finish()
    config = PlanConfig(
        name=name,
        seed=seed,
        timezone=timezone,
        plan_date=plan_date,
        config_path=config_path,
        data=_data(tables["data"], base),
        schools=_schools(tables["schools"]),
        windows=_windows(tables["windows"], problems),
        network=_network(tables["network"]),
        risk=_risk(tables["risk"]),
        routes=_routes(tables["routes"]),
        posts=_posts(tables["posts"]),
        staffing=_staffing(tables["staffing"]),
        output=_output(tables["output"], base, name),
    )
    if problems:
        raise ConfigError(problems, source=str(config_path) if config_path else None)
    return config


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
