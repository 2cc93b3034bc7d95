"""The ``safepassage`` command: ``fetch``, ``validate``, ``plan``, ``compare`` and ``config``.

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
    Interrupted (Ctrl-C or SIGTERM); outputs of earlier runs are left untouched.
141
    The reader of the output went away (``safepassage compare A B | head``): the
    command stops quietly, as Unix tools killed by SIGPIPE do (128 + 13).

Every :class:`~safepassage.errors.SafePassageError` is printed as
``error: <message>`` without a traceback.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import __version__
from .config import config_template, default_cache_dir, load_config
from .errors import InfeasibleError, SafePassageError
from .signals import raise_interrupt

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INFEASIBLE",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "build_parser",
    "main",
    "version",
]

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process killed by SIGPIPE
DEFAULT_CRIME_YEAR = 2016
EPILOG = """exit codes:
  0    success
  1    unexpected error (a bug; the traceback is printed)
  2    bad input: invalid config, missing or malformed file, failed download
  3    infeasible: the inputs contradict each other (the message names them)
  130  interrupted; earlier outputs untouched
  141  output pipe closed early (e.g. `| head`); ends quietly"""


def version() -> str:
    """The installed version of safepassage (``__version__`` when not installed)."""
    try:
        return importlib.metadata.version("safepassage")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# ----------------------------------------------------------------------------- validate


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except SafePassageError as exc:
        problems = getattr(exc, "problems", [str(exc)])
        _err(f"error: {args.config}: {len(problems)} problem(s) in the config")
        for problem in problems:
            _err(f"  - {problem}")
        return EXIT_INPUT
    from .validate import validate_inputs  # deferred, as every command's heavy imports

    found = validate_inputs(config)
    if found.problems:
        _err(f"error: {args.config}: {len(found.problems)} problem(s) in the inputs")
        for problem in found.problems:
            _err(f"  - {problem}")
    else:
        _out(f"ok: {args.config}")
    for line in found.facts:
        _out(f"  {line}")
    if len(found.schools):
        _out(f"  {len(found.schools)} schools would be planned:")
        for school_id, name in found.schools.itertuples(index=False):
            _out(f"    {school_id}  {name}")
    for stage in found.skipped:
        _out(f"  skipped: {stage}")
    return EXIT_INPUT if found.problems else EXIT_OK


# ----------------------------------------------------------------------------- plan


def _cmd_plan(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = Path(args.out) if args.out else config.output.dir
    from .outputs import check_output_folder

    check_output_folder(out)  # refuse a folder of the user's before any planning work
    from .pipeline import plan  # deferred: `safepassage --help` stays fast

    result = plan(
        config, out=out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    if not args.quiet:
        _out(f"plan {config.name!r} written to {out}")
        from .summary import figure_lines

        for line in figure_lines(result.metrics):
            _out(f"  {line}")
    return EXIT_OK


def _cmd_replan(args: argparse.Namespace) -> int:
    from .replan import read_plan_folder, replan_day, write_replan

    plan_dir = Path(args.plan_dir)
    folder = read_plan_folder(plan_dir)
    day = replan_day(folder, args.absent.split(","), args.day)
    out = Path(args.out) if args.out else plan_dir / f"replan_{day.day}"
    write_replan(folder, day, out)
    lines = day.lines()
    _out(f"{day.day}: {len(lines)} post-window(s) of {', '.join(day.absent)} re-planned")
    for line in lines:
        _out(f"  {line}")
    _out(f"written to {out}")
    return EXIT_OK


def _post_place(row: dict[str, str]) -> str:
    """``"S Halsted St & W 63rd St, BASS"`` (what the folder knows of the post)."""
    school = row["school_name"] or (f"school {row['school_id']}" if row["school_id"] else "")
    return ", ".join(part for part in (row["cross_streets"], school) if part)


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import MATCH_M, MOVED_M, compare_outputs

    diff = compare_outputs(args.old_dir, args.new_dir)
    _out(
        f"posts: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.moved)} moved (> {MOVED_M:g} m), {diff.unchanged} unchanged"
        + (f"; {len(diff.renamed)} matched by place (within {MATCH_M:g} m)" if diff.renamed else "")
    )
    marks = {"added": "+", "removed": "-", "moved": "~"}
    for record in diff.posts.to_dict("records"):
        post = {str(k): "" if v is None else str(v) for k, v in record.items()}
        if post["status"] not in marks:
            continue
        place = _post_place(post)
        where = f" ({place})" if place else ""
        if post["status"] == "moved":
            renamed = f" (was {post['old_id']})" if post["old_id"] != post["new_id"] else ""
            metres = float(post["distance_m"])
            _out(f"  ~ {post['new_id']}{renamed} moved {metres:.0f} m{where}")
        else:
            _out(f"  {marks[post['status']]} {post['new_id'] or post['old_id']}{where}")
    for old_id, new_id, distance in diff.renamed:
        if distance <= MOVED_M:
            _out(f"  = {old_id} is now {new_id} ({distance:.0f} m)")
    _out("workers per vendor (moved / added / removed):")
    for row in diff.workers.itertuples(index=False):
        _out(f"  {row.vendor_id}: {row.moved} / {row.added} / {row.removed}")
    change = diff.coverage_new - diff.coverage_old
    _out(f"coverage: staffed post-windows {diff.coverage_old} -> {diff.coverage_new} ({change:+d})")
    return EXIT_OK


# ----------------------------------------------------------------------------- config


def _cmd_config(args: argparse.Namespace) -> int:
    if not args.template:
        _err("error: nothing to print; use --template")
        return EXIT_INPUT
    sys.stdout.write(config_template())
    return EXIT_OK


# ----------------------------------------------------------------------------- fetch


def _cmd_fetch(args: argparse.Namespace) -> int:
    chosen = [
        f for f, v in (("AREA", args.area), ("--place", args.place), ("--bbox", args.bbox)) if v
    ]
    if len(chosen) != 1:
        what = " and ".join(chosen) if chosen else "nothing to fetch"
        _err(f"error: {what}; give one of AREA (a Chicago community area), --place or --bbox")
        return EXIT_INPUT
    cache = Path(args.cache).expanduser() if args.cache else default_cache_dir()
    if args.area is None:
        return _fetch_place(args, cache)
    if args.out is not None:
        _err("error: --out is for --place and --bbox; AREA goes into the cache (--cache DIR)")
        return EXIT_INPUT
    from .fetch import fetch_area

    year = DEFAULT_CRIME_YEAR if args.crime_year is None else args.crime_year
    files = fetch_area(args.area, cache, crime_year=year, force=args.force)
    _out(f"fetched {args.area!r} into {cache}")
    for name, path in files.items():
        _out(f"  {name}: {path}")
    return EXIT_OK


def _fetch_place(args: argparse.Namespace, cache: Path) -> int:
    """``fetch --place`` / ``--bbox``: OSM streets and schools plus a starter config."""
    if args.crime_year is not None:
        _err("error: --crime-year is for a Chicago AREA; OpenStreetMap holds no incidents")
        return EXIT_INPUT
    from .fetch import fetch_place, parse_bbox

    bbox = parse_bbox(",".join(args.bbox)) if args.bbox else None  # W S E N or W,S,E,N
    fetched = fetch_place(args.place, bbox=bbox, out=args.out, cache_dir=cache, force=args.force)
    _out(f"fetched {fetched.place} into {fetched.folder}")
    _out(
        f"  network: {fetched.network.name} ({fetched.street_nodes} nodes, "
        f"{fetched.street_edges} directed edges)"
    )
    _out(f"  schools: {fetched.schools.name} ({fetched.school_count} schools)")
    _out(f"  config:  {fetched.config.name} (a starter plan: add incidents, population, ...)")
    _out(f"next: safepassage validate {fetched.config}")
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
    parser.add_argument("--version", action="version", version=f"safepassage {version()}")
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
    replan = command(
        "replan",
        "Re-plan one day of a plan's roster when workers are absent "
        "(floaters first; only their post-windows change).",
        _cmd_replan,
    )
    replan.add_argument("plan_dir", metavar="PLAN_DIR", help="output folder of a plan")
    replan.add_argument(
        "--absent", required=True, metavar="W1,W2", help="absent worker ids, comma-separated"
    )
    replan.add_argument("--day", required=True, metavar="DAY", help="weekday: Mon .. Fri")
    replan.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the new roster and day sheets (PLAN_DIR/replan_DAY)",
    )
    fetch = command(
        "fetch",
        "Download a place's OSM streets and schools with a starter config (--place, --bbox), "
        "or a Chicago area's OSM network and Data Portal tables (AREA); needs internet.",
        _cmd_fetch,
    )
    fetch.add_argument(
        "area", metavar="AREA", nargs="?", help='Chicago community area, e.g. "Englewood"'
    )
    fetch.add_argument(
        "--place", metavar="NAME", help='any place Nominatim knows, e.g. "Evanston, Illinois, USA"'
    )
    fetch.add_argument(
        "--bbox",
        nargs="+",
        metavar="DEG",
        help="a lon/lat box instead of a place (degrees): --bbox W S E N, or "
        "--bbox=W,S,E,N (with '=' when W is negative)",
    )
    fetch.add_argument(
        "--out", metavar="DIR", help="folder for --place/--bbox (default: a slug of the place)"
    )
    fetch.add_argument("--cache", metavar="DIR", help="cache folder (default ~/.cache/safepassage)")
    fetch.add_argument(
        "--crime-year",
        type=int,
        metavar="YEAR",
        help=f"AREA: year of police incidents (default {DEFAULT_CRIME_YEAR})",
    )
    fetch.add_argument("--force", action="store_true", help="download again even if cached")
    config = command("config", "Print a plan configuration template.", _cmd_config)
    config.add_argument(
        "--template", action="store_true", help="every table and key, commented, with defaults"
    )
    return parser


class _BarSafeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each log line through tqdm, so it never cuts into the stage progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never end the run
            self.handleError(record)


def _configure_logging(quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.INFO
    # other libraries (fontTools, matplotlib, osmnx) speak only when something is wrong
    logging.basicConfig(
        level=logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=[_BarSafeHandler()],
    )
    logging.getLogger("safepassage").setLevel(level)


def _quiet_stdout() -> None:
    """Point stdout at the null device: its reader is gone (the Python docs' SIGPIPE recipe).

    Python flushes stdout at exit; into the closed pipe that would print another
    BrokenPipeError.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a stream without a descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``safepassage`` command; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    _configure_logging(getattr(args, "quiet", False))
    # SIGTERM (a service manager, `kill`) ends the run the way Ctrl-C does
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_interrupt) if main_thread else None
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
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
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
