"""The ``safepassage`` command: ``fetch``, ``validate``, ``plan`` and ``compare``.

Exit codes
----------
0
    Success.
1
    Unexpected error (a bug: the traceback is printed; please report it).
2
    Bad input: an invalid config, a missing or malformed input file, or a
    download that failed.
3
    Infeasible: the inputs contradict each other (e.g. a mandatory post no vendor
    can staff); the message names the inputs in conflict.
130
    Interrupted (Ctrl-C); outputs of earlier runs are left untouched.

Every :class:`~safepassage.errors.SafePassageError` is printed as
``error: <message>`` without a traceback.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .config import PlanConfig, default_cache_dir, load_config
from .errors import DataError, InfeasibleError, MissingColumnError, SafePassageError

__all__ = [
    "EXIT_ERROR",
    "EXIT_INFEASIBLE",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "OutputComparison",
    "build_parser",
    "compare_outputs",
    "main",
]

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
MOVED_M = 10.0  # a post whose location changed by more than this has moved
EPILOG = """exit codes:
  0    success
  1    unexpected error (a bug; the traceback is printed)
  2    bad input: invalid config, missing or malformed file, failed download
  3    infeasible: the inputs contradict each other (the message names them)
  130  interrupted; earlier outputs untouched"""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# ----------------------------------------------------------------------------- validate

VALIDATION_CRS = "EPSG:3857"  # any metric CRS will do to check that tables read
_COORDINATES = (
    ("latitude", "longitude"),
    ("lat", "lon"),
    ("lat", "long"),
    ("x coordinate", "y coordinate"),
    ("x_coordinate", "y_coordinate"),
)
_INCIDENT_TIME = ("date", "occurred_at", "year")
_POPULATION = {
    "block": ("census block", "census_block", "tract_bloc", "geoid10", "block"),
    "population": ("total population", "population", "pop"),
}
_NETWORK_MAGIC = {
    ".graphml": ("<graphml", "<?xml"),
    ".osm": ("<osm", "<?xml"),
    ".xml": ("<osm", "<graphml", "<?xml"),
}
_GEO_TABLES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet")


def _columns(path: Path) -> list[str]:
    """Lower-cased column names of a table, reading only its header."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        try:
            header = pd.read_csv(path, nrows=0)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read it as CSV: {exc}") from exc
        return [str(c).strip().lower() for c in header.columns]
    import pyogrio

    source = f"/vsigzip/{path}" if name.endswith(".gz") else str(path)
    try:
        fields = pyogrio.read_info(source)["fields"]
    except Exception as exc:  # GDAL raises its own error types
        raise DataError(f"{path}: cannot read it as a spatial table: {exc}") from exc
    return [str(f).lower() for f in fields] + ["geometry"]


def _need(path: Path, roles: Mapping[str, Sequence[str]], columns: list[str]) -> None:
    missing = [" or ".join(names) for names in roles.values() if not set(names) & set(columns)]
    if missing:
        raise MissingColumnError(missing, found=columns, source=str(path))


def _check_points(path: Path, *, time: bool) -> None:
    columns = _columns(path)
    located = (
        "geometry" in columns
        or "location" in columns
        or any(set(pair) <= set(columns) for pair in _COORDINATES)
    )
    if not located:
        raise MissingColumnError(
            ["latitude/longitude, X/Y Coordinate or Location"], found=columns, source=str(path)
        )
    if time:
        _need(path, {"time": _INCIDENT_TIME}, columns)


def _check_network(path: Path) -> None:
    name = path.name.lower()
    plain = name.removesuffix(".gz").removesuffix(".bz2")
    suffix = Path(plain).suffix
    if suffix in _GEO_TABLES:
        _columns(path)
        return
    if suffix not in _NETWORK_MAGIC:
        raise DataError(
            f"{path}: unknown network format; use GraphML (.graphml[.gz]), "
            "OSM XML (.osm[.bz2]) or street centerlines (GeoJSON, GeoPackage)"
        )
    opener: Callable[..., Any] = (
        gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    )
    try:
        with opener(path, "rb") as stream:
            head = stream.read(4096).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read it: {exc}") from exc
    if not any(tag in head for tag in _NETWORK_MAGIC[suffix]):
        raise DataError(f"{path}: does not start like a {suffix[1:]} file")


def _check_staff(config: PlanConfig, school_ids: set[str], chosen: set[str]) -> list[str]:
    from .io import read_vendors, read_workers

    data, problems = config.data, []
    if data.vendors is None or data.workers is None:
        return ["data.vendors and data.workers: both are needed to build a roster"]
    vendors, workers = read_vendors(data.vendors), read_workers(data.workers)
    served = {s for ids in vendors["school_ids"] for s in ids}
    unknown = sorted(served - school_ids) if school_ids else []
    if unknown:
        problems.append(f"{data.vendors}: school_ids {unknown[:10]} are not in {data.schools.name}")
    unserved = sorted(chosen - served)
    if unserved:
        problems.append(
            f"{data.vendors}: selected schools {unserved[:10]} are served by no "
            "vendor; add them to a vendor's school_ids"
        )
    strangers = sorted(set(workers["vendor_id"]) - set(vendors["vendor_id"]))
    if strangers:
        problems.append(f"{data.workers}: vendor_id {strangers} not in {data.vendors.name}")
    return problems


def _check_categories(config: PlanConfig) -> list[str]:
    try:
        from .risk.incidents import DEFAULT_CATEGORY_WEIGHTS
    except ImportError:  # the risk stage reports unknown categories itself
        return []
    unknown = sorted(set(config.risk.category_weights) - set(DEFAULT_CATEGORY_WEIGHTS))
    if not unknown:
        return []
    known = ", ".join(DEFAULT_CATEGORY_WEIGHTS)
    return [f"risk.category_weights: unknown categories {unknown}; use {known}"]


def validate_inputs(config: PlanConfig) -> tuple[list[str], list[str]]:
    """Check that every input file of ``config`` reads and has the columns it needs.

    Returns
    -------
    problems, facts
        Every problem found (empty when fine) and a few facts (counts) to print.
    """
    from .io import read_routes, read_schools, select_schools

    data, problems, facts = config.data, [], []

    def check(label: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except SafePassageError as exc:
            problems.append(f"{label}: {exc}")
            return None

    for path in data.input_files():
        if not os.access(path, os.R_OK):
            problems.append(f"{path}: not readable (check its permissions)")
    for path in data.networks:
        check("data.networks", partial(_check_network, path))
    for index, path in enumerate((*data.incidents, *filter(None, [data.homicides]))):
        check(f"data.incidents[{index}]", partial(_check_points, path, time=True))
    for name, hazard in data.hazards.items():
        check(f"data.hazards.{name}", partial(_check_points, hazard.path, time=False))
    if data.population is not None:
        population = data.population
        check("data.population", lambda: _need(population, _POPULATION, _columns(population)))
    if data.blocks is not None:
        blocks = data.blocks
        check(
            "data.blocks", lambda: _need(blocks, {"block": _POPULATION["block"]}, _columns(blocks))
        )
    schools = check(
        "data.schools",
        lambda: read_schools(data.schools, profiles=data.profiles, crs=VALIDATION_CRS),
    )
    routes = None
    if data.reference_routes is not None:
        reference = data.reference_routes
        routes = check("data.reference_routes", lambda: read_routes(reference, crs=VALIDATION_CRS))
    chosen = set()
    if schools is not None:
        facts.append(f"{len(schools)} schools in {data.schools.name}")
        selected = check(
            "schools",
            lambda: select_schools(
                schools, config.schools, areas_path=data.community_areas, routes=routes
            ),
        )
        if selected is not None:
            chosen = set(selected["school_id"])
            facts.append(f"{len(chosen)} schools selected: {', '.join(sorted(chosen))}")
            if not chosen:
                problems.append("schools: the selection matches no school")
    ids = set(schools["school_id"]) if schools is not None else set()
    staff = check("data.vendors/workers", lambda: _check_staff(config, ids, chosen))
    problems.extend(staff or [])
    problems.extend(_check_categories(config))
    if config.output.dir.exists() and not config.output.dir.is_dir():
        problems.append(f"output.dir: {config.output.dir} is a file, not a folder")
    facts.append(f"{len(data.input_files())} input files checked")
    return problems, facts


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except SafePassageError as exc:
        problems = getattr(exc, "problems", [str(exc)])
        _err(f"error: {args.config}: {len(problems)} problem(s) in the config")
        for problem in problems:
            _err(f"  - {problem}")
        return EXIT_INPUT
    problems, facts = validate_inputs(config)
    if problems:
        _err(f"error: {args.config}: {len(problems)} problem(s) in the inputs")
        for problem in problems:
            _err(f"  - {problem}")
        return EXIT_INPUT
    _out(f"ok: {args.config}")
    for line in facts:
        _out(f"  {line}")
    return EXIT_OK


# ----------------------------------------------------------------------------- plan


def _cmd_plan(args: argparse.Namespace) -> int:
    try:
        from .pipeline import plan
    except ImportError as exc:
        _err(f"error: the planning pipeline (safepassage.pipeline) is not available: {exc}")
        return EXIT_ERROR
    config = load_config(args.config)
    out = Path(args.out) if args.out else config.output.dir
    result = plan(
        config, out=out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    if not args.quiet:
        _out(f"plan {config.name!r} written to {out}")
        for key, value in (getattr(result, "metrics", None) or {}).items():
            if isinstance(value, int | float | str):
                _out(f"  {key}: {value}")
    return EXIT_OK


# ----------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class OutputComparison:
    """Differences between two plan output folders.

    Attributes
    ----------
    added, removed
        Post ids selected only in the new / only in the old plan.
    moved
        ``(post_id, distance_m)`` for posts in both whose location moved > 10 m.
    unchanged
        Number of posts in both plans that did not move.
    workers
        Per vendor: ``vendor_id``, ``moved`` (workers whose posts changed),
        ``added`` (only in the new roster), ``removed`` (only in the old roster).
    coverage_old, coverage_new
        Staffed post-windows (distinct ``post_id`` x ``window``) in each roster.
    """

    added: list[str]
    removed: list[str]
    moved: list[tuple[str, float]]
    unchanged: int
    workers: pd.DataFrame
    coverage_old: int
    coverage_new: int


def _read_output(folder: Path, name: str, columns: Sequence[str]) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise DataError(f"{path} not found; is {folder} a safepassage plan output folder?")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=str(path))
    return table


def _selected_posts(folder: Path) -> pd.DataFrame:
    posts = _read_output(folder, "posts.csv", ("post_id", "x", "y"))
    if "selected" in posts:
        posts = posts[posts["selected"].str.strip().str.lower().isin({"true", "1", "yes"})]
    coords = posts[["x", "y"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().any().any():
        raise DataError(f"{folder / 'posts.csv'}: columns x/y hold non-numbers")
    located: pd.DataFrame = coords.set_axis(posts["post_id"].to_numpy()).groupby(level=0).first()
    return located


def _worker_moves(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    def posts_of(roster: pd.DataFrame) -> dict[tuple[str, str], frozenset[str]]:
        groups = roster.groupby(["vendor_id", "worker_id"])["post_id"]
        return {(str(k[0]), str(k[1])): frozenset(v) for k, v in groups}

    before, after = posts_of(old), posts_of(new)
    vendors = sorted({v for v, _ in before} | {v for v, _ in after})
    rows = []
    for vendor in vendors:
        was = {w: p for (v, w), p in before.items() if v == vendor}
        now = {w: p for (v, w), p in after.items() if v == vendor}
        moved = sum(1 for w in was.keys() & now.keys() if was[w] != now[w])
        rows.append((vendor, moved, len(now.keys() - was.keys()), len(was.keys() - now.keys())))
    return pd.DataFrame(rows, columns=["vendor_id", "moved", "added", "removed"])


def compare_outputs(old_dir: str | Path, new_dir: str | Path) -> OutputComparison:
    """Compare the ``posts.csv`` and ``roster.csv`` of two plan output folders.

    Only selected posts count (all rows when ``posts.csv`` has no ``selected``
    column); ``x``/``y`` are metres in the plan CRS.
    """
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    old_posts, new_posts = _selected_posts(old_dir), _selected_posts(new_dir)
    both = old_posts.index.intersection(new_posts.index)
    shift = (new_posts.loc[both] - old_posts.loc[both]).pow(2).sum(axis=1).pow(0.5)
    moved = [(str(p), float(d)) for p, d in shift.items() if d > MOVED_M]
    roster_columns = ("worker_id", "vendor_id", "post_id", "weekday", "window")
    old_roster = _read_output(old_dir, "roster.csv", roster_columns)
    new_roster = _read_output(new_dir, "roster.csv", roster_columns)
    return OutputComparison(
        added=sorted(map(str, new_posts.index.difference(old_posts.index))),
        removed=sorted(map(str, old_posts.index.difference(new_posts.index))),
        moved=sorted(moved),
        unchanged=len(both) - len(moved),
        workers=_worker_moves(old_roster, new_roster),
        coverage_old=len(old_roster[["post_id", "window"]].drop_duplicates()),
        coverage_new=len(new_roster[["post_id", "window"]].drop_duplicates()),
    )


def _cmd_compare(args: argparse.Namespace) -> int:
    diff = compare_outputs(args.old_dir, args.new_dir)
    _out(
        f"posts: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.moved)} moved (> {MOVED_M:g} m), {diff.unchanged} unchanged"
    )
    for post in diff.added:
        _out(f"  + {post}")
    for post in diff.removed:
        _out(f"  - {post}")
    for post, distance in diff.moved:
        _out(f"  ~ {post} moved {distance:.0f} m")
    _out("workers per vendor (moved / added / removed):")
    for row in diff.workers.itertuples(index=False):
        _out(f"  {row.vendor_id}: {row.moved} / {row.added} / {row.removed}")
    change = diff.coverage_new - diff.coverage_old
    _out(f"coverage: staffed post-windows {diff.coverage_old} -> {diff.coverage_new} ({change:+d})")
    return EXIT_OK


# ----------------------------------------------------------------------------- fetch


def _cmd_fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch_area

    cache = Path(args.cache).expanduser() if args.cache else default_cache_dir()
    files = fetch_area(args.area, cache, crime_year=args.crime_year, force=args.force)
    _out(f"fetched {args.area!r} into {cache}")
    for name, path in files.items():
        _out(f"  {name}: {path}")
    return EXIT_OK


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``safepassage`` command (one subparser per command)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="safepassage",
        description="Plan Safe Passage routes, posts and worker rosters.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, run: Callable[[argparse.Namespace], int]) -> Any:
        sub = commands.add_parser(
            name, help=summary, description=summary, epilog=EPILOG, formatter_class=fmt
        )
        sub.set_defaults(run=run)
        return sub

    validate = command(
        "validate", "Check a config and every input file it names, without planning.", _cmd_validate
    )
    validate.add_argument("config", help="plan configuration (TOML)")
    plan = command("plan", "Run the whole plan and write its outputs.", _cmd_plan)
    plan.add_argument("config", help="plan configuration (TOML)")
    plan.add_argument("--out", metavar="DIR", help="output folder (default [output] dir)")
    plan.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="local worker processes for per-school work (default 1)",
    )
    plan.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    )
    plan.add_argument("--quiet", action="store_true", help="warnings only, no progress bars")
    compare = command("compare", "Show what changed between two plan output folders.", _cmd_compare)
    compare.add_argument("old_dir", metavar="OLD_DIR", help="earlier output folder")
    compare.add_argument("new_dir", metavar="NEW_DIR", help="later output folder")
    fetch = command(
        "fetch",
        "Download the OSM walk network and Chicago Data Portal "
        "datasets of an area (needs internet).",
        _cmd_fetch,
    )
    fetch.add_argument("area", metavar="AREA", help='place name, e.g. "Englewood"')
    fetch.add_argument("--cache", metavar="DIR", help="cache folder (default ~/.cache/safepassage)")
    fetch.add_argument("--crime-year", type=int, default=2016, help="year of police incidents")
    fetch.add_argument("--force", action="store_true", help="download again even if cached")
    return parser


def _configure_logging(quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.INFO
    # other libraries (fontTools, matplotlib, osmnx) speak only when something is wrong
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("safepassage").setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``safepassage`` command; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    _configure_logging(getattr(args, "quiet", False))
    try:
        code: int = args.run(args)
    except InfeasibleError as exc:
        _err(f"error: {exc}")
        return EXIT_INFEASIBLE
    except SafePassageError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _err("interrupted; earlier outputs untouched")
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc()
        _err("error: unexpected failure (a bug); please report it with the traceback above")
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
