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

import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._toml import (
    DATA_ENV,
    DATA_PREFIX,
    Fields,
    default_cache_dir,
    default_data_root,
)
from ._toml import resolve_path as resolve_path  # importable from here, as before
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
    # Deferred: the section readers build this module's dataclasses.
    from ._config_sections import (
        _data,
        _iso_date,
        _network,
        _output,
        _posts,
        _risk,
        _routes,
        _schools,
        _staffing,
        _timezone,
        _windows,
    )

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
