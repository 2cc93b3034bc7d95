"""Read and check the roster inputs (vendors, workers, demand) into typed records.

Every problem found in the three tables is collected and reported in one
:class:`DataError`, naming the table, the row and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from safepassage.errors import DataError, MissingColumnError
from safepassage.schedule import WEEKDAYS, WINDOWS, clock_minutes, school_weekday
from safepassage.sources import lines_text
from safepassage.staffing.walk import WalkRule

__all__ = [
    "DEMAND_COLUMNS",
    "Limits",
    "PostWindow",
    "Program",
    "Worker",
    "cell_list",
    "file_rows",
    "read_program",
    "staff_problems",
    "table_rows",
    "validate_roster_inputs",
]

# the demand table: one row per post-window (``priority`` is optional, default 0)
DEMAND_COLUMNS = [
    "post_id",
    "school_id",
    "window",
    "start",
    "end",
    "headcount",
    "value",
    "weekdays",
    "priority",
]


@dataclass(frozen=True)
class Worker:
    worker_id: str
    vendor_id: str
    days: frozenset[str]
    windows: frozenset[str]
    max_minutes_day: int
    max_days_week: int

    @property
    def slots(self) -> int:
        return len(self.days) * len(self.windows)


@dataclass(frozen=True)
class PostWindow:
    post_id: str
    school_id: str
    window: str
    start: str
    end: str
    minutes: int
    headcount: int
    value: float
    days: tuple[str, ...]
    priority: int = 0  # > 0: staffed before every post-window of lower priority


@dataclass(frozen=True)
class Limits:
    """Program-wide caps on every worker (a worker's own column may be stricter)."""

    max_minutes_day: int = 300
    max_days_week: int = 5


@dataclass(frozen=True)
class Program:
    serves: dict[str, frozenset[str]]  # vendor id -> school ids
    workers: list[Worker]
    posts: list[PostWindow]
    walk: WalkRule | None = None  # None: any morning post goes with any afternoon post


def can_stand(
    worker: Worker, post: PostWindow, day: str, serves: Mapping[str, frozenset[str]]
) -> bool:
    """The staffing eligibility rule (its one home): may ``worker`` stand at ``post`` on ``day``?

    Yes when the worker's vendor serves the post's school, the post is staffed
    that weekday, the worker is available that weekday and in the post's
    window, and the post's shift fits in the worker's day (``max_minutes_day``).
    How many such shifts a worker takes in a day or a week is the roster's
    capacity rule, not eligibility.
    """
    return (
        post.school_id in serves.get(worker.vendor_id, frozenset())
        and day in post.days
        and day in worker.days
        and post.window in worker.windows
        and post.minutes <= worker.max_minutes_day
    )


def cell_list(value: object, default: Iterable[str]) -> list[str]:
    """A table cell as a list of names: ``"mon; tue"``, ``"am,pm"`` or a list; ``default``
    when empty or missing (NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return list(default)
    if isinstance(value, str):
        items = [part.strip() for part in re.split(r"[;,]", value)]
        return [item for item in items if item] or list(default)
    if isinstance(value, Iterable):
        return [str(item).strip() for item in value]
    return [str(value)]


def _days(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    names = cell_list(value, WEEKDAYS)
    read = {n: school_weekday(n) for n in names}
    unknown = [n for n, day in read.items() if day is None]
    if unknown:
        problems.append(f"{where}: unknown weekday(s) {unknown}; use Mon, Tue, Wed, Thu, Fri")
    known = set(read.values())
    return tuple(d for d in WEEKDAYS if d in known)


def _require(table: pd.DataFrame, columns: Iterable[str], source: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MissingColumnError(missing, found=table.columns, source=source)


def _column(table: pd.DataFrame, name: str, default: object) -> list[Any]:
    if name not in table.columns:
        return [default] * len(table)
    return [default if _is_missing(v) else v for v in table[name]]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


#: Names rows of a table in a problem: (table name, 0-based rows) -> text.
RowNames = Callable[[str, list[int]], str]


def table_rows(table: str, rows: list[int]) -> str:
    """Rows of an in-memory table, 0-based as pandas counts: ``workers row 1``,
    ``workers rows [0, 1]`` (the default :data:`RowNames`)."""
    return f"{table} row {rows[0]}" if len(rows) == 1 else f"{table} rows {rows}"


def file_rows(files: Mapping[str, Path]) -> RowNames:
    """:data:`RowNames` of tables read from ``files`` (table name -> path): the file and
    the lines an editor shows, ``/x/workers.csv: line 3``."""

    def name(table: str, rows: list[int]) -> str:
        path = files.get(table)
        return table_rows(table, rows) if path is None else f"{path}: {lines_text(path, rows)}"

    return name


def _duplicates(
    ids: list[str], label: str, source: str, problems: list[str], rows_of: RowNames
) -> None:
    seen: dict[str, list[int]] = {}
    for row, key in enumerate(ids):
        seen.setdefault(key, []).append(row)
    for key, rows in seen.items():
        if len(rows) > 1:
            problems.append(f"{rows_of(source, rows)}: duplicate {label} {key!r}")


def _read_vendors(
    vendors: pd.DataFrame, problems: list[str], rows_of: RowNames = table_rows
) -> dict[str, frozenset[str]]:
    _require(vendors, ("vendor_id", "school_ids"), "vendors")
    ids = [str(v) for v in vendors["vendor_id"]]
    _duplicates(ids, "vendor_id", "vendors", problems, rows_of)
    serves: dict[str, set[str]] = {}
    for vendor_id, schools in zip(ids, vendors["school_ids"], strict=True):
        serves.setdefault(vendor_id, set()).update(cell_list(schools, ()))
    return {v: frozenset(s) for v, s in serves.items()}


def _read_workers(
    workers: pd.DataFrame,
    serves: Mapping[str, frozenset[str]],
    windows: set[str],
    problems: list[str],
    limits: Limits,
    rows_of: RowNames = table_rows,
) -> list[Worker]:
    _require(workers, ("worker_id", "vendor_id"), "workers")
    ids = [str(w) for w in workers["worker_id"]]
    _duplicates(ids, "worker_id", "workers", problems, rows_of)
    columns = zip(
        ids,
        workers["vendor_id"],
        _column(workers, "weekdays", None),
        _column(workers, "windows", None),
        _column(workers, "max_minutes_day", limits.max_minutes_day),
        _column(workers, "max_days_week", limits.max_days_week),
        strict=True,
    )
    result = []
    for row, (worker_id, vendor, days, wins, minutes, max_days) in enumerate(columns):
        where = f"{rows_of('workers', [row])} (worker_id {worker_id!r})"
        if str(vendor) not in serves:
            problems.append(f"{where}: vendor_id {vendor!r} is not in the vendors table")
        names = cell_list(wins, WINDOWS)
        if bad := [w for w in names if w not in WINDOWS]:
            problems.append(f"{where}: unknown window(s) {bad}; use am and/or pm")
        elif not set(names) & windows:
            problems.append(
                f"{where}: available only in {names}, outside every demand window {sorted(windows)}"
            )
        if int(minutes) <= 0 or int(max_days) <= 0:
            problems.append(
                f"{where}: max_minutes_day={minutes} and max_days_week={max_days} "
                "must both be positive"
            )
        result.append(
            Worker(
                worker_id,
                str(vendor),
                frozenset(_days(days, where, problems)),
                frozenset(names),
                min(int(minutes), limits.max_minutes_day),
                min(int(max_days), limits.max_days_week),
            )
        )
    return sorted(result, key=lambda w: w.worker_id)


def _read_demand(demand: pd.DataFrame, problems: list[str]) -> list[PostWindow]:
    _require(demand, ("post_id", "school_id", "window", "start", "end", "value"), "demand")
    keys = [f"{p}/{w}" for p, w in zip(demand["post_id"], demand["window"], strict=True)]
    _duplicates(keys, "post_id/window", "demand", problems, table_rows)
    columns = zip(
        demand["post_id"],
        demand["school_id"],
        demand["window"],
        demand["start"],
        demand["end"],
        _column(demand, "headcount", 1),
        demand["value"],
        _column(demand, "weekdays", None),
        _column(demand, "priority", 0),
        strict=True,
    )
    result = []
    for row, (post, school, window, start, end, headcount, value, days, priority) in enumerate(
        columns
    ):
        where = f"demand row {row} (post_id {post!r}, window {window!r})"
        try:
            minutes = clock_minutes(str(end)) - clock_minutes(str(start))
        except ValueError:
            problems.append(f"{where}: start {start!r} / end {end!r} are not HH:MM times")
            minutes = 0
        if window not in WINDOWS:
            problems.append(f"{where}: unknown window {window!r}; use am or pm")
        if minutes <= 0 and ":" in str(start) + str(end):
            problems.append(f"{where}: end {end!r} is not after start {start!r}")
        if int(priority) < 0:
            problems.append(f"{where}: priority {priority!r} must be >= 0")
        if int(headcount) < 1 or not float(value) >= 0:
            problems.append(
                f"{where}: headcount {headcount!r} must be >= 1 and value {value!r} >= 0"
            )
        result.append(
            PostWindow(
                str(post),
                str(school),
                str(window),
                str(start),
                str(end),
                max(minutes, 0),
                int(headcount),
                float(value),
                _days(days, where, problems),
                max(int(priority), 0),
            )
        )
    return sorted(result, key=lambda p: (p.post_id, p.window))


def read_program(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    limits: Limits,
    walk: WalkRule | None = None,
) -> Program:
    """The roster tables as typed records; every problem in one DataError."""
    problems: list[str] = []
    if limits.max_minutes_day <= 0 or limits.max_days_week <= 0:
        problems.append(
            f"[staffing] max_minutes_day={limits.max_minutes_day} and "
            f"max_days_week={limits.max_days_week} must both be positive"
        )
    serves = _read_vendors(vendors, problems)
    posts = _read_demand(demand, problems)
    staffed = set().union(*serves.values()) if serves else set()
    for school in sorted({p.school_id for p in posts} - staffed):
        rows = [i for i, s in enumerate(demand["school_id"].astype(str)) if s == school]
        problems.append(
            f"demand rows {rows}: school {school!r} is served by no vendor; "
            "add it to a vendor's school_ids"
        )
    worker_list = _read_workers(workers, serves, {p.window for p in posts}, problems, limits)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise DataError(f"{len(problems)} problem(s) in the roster inputs:\n{lines}")
    return Program(serves, worker_list, posts, walk)


def validate_roster_inputs(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    max_minutes_day: int = 300,
    max_days_week: int = 5,
) -> None:
    """Check the three roster tables and report every problem at once.

    Parameters
    ----------
    vendors : pandas.DataFrame
        ``vendor_id``, ``name``, ``school_ids`` (list, or ``;``-separated string).
    workers : pandas.DataFrame
        ``worker_id``, ``vendor_id``; optional ``weekdays`` (default Mon-Fri),
        ``windows`` (default am and pm), ``max_minutes_day`` (minutes) and
        ``max_days_week``, each capped by (and defaulting to) the keyword of
        the same name.
    demand : pandas.DataFrame
        ``post_id``, ``school_id``, ``window``, ``start``, ``end`` (``HH:MM``),
        ``value``; optional ``headcount`` (default 1), ``weekdays`` and
        ``priority`` (integer >= 0, default 0: post-windows of a higher
        priority are staffed before any of a lower one, e.g. mandatory posts).
    max_minutes_day, max_days_week : int
        Program-wide limits (``[staffing]`` of the config): every worker's
        effective limit is the smaller of its own column and these.

    Raises
    ------
    MissingColumnError
        When a required column is absent.
    DataError
        Listing each bad row: duplicate ids, unknown vendors, weekdays or
        windows, availability outside every demand window, non-positive
        limits, bad times, and demand at schools no vendor serves.
    """
    read_program(vendors, workers, demand, Limits(int(max_minutes_day), int(max_days_week)))


def staff_problems(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    school_ids: set[str],
    planned: set[str],
    sources: tuple[str, str] = ("vendors", "workers"),
    max_minutes_day: int = 300,
    max_days_week: int = 5,
    rows_of: RowNames = table_rows,
) -> list[str]:
    """Every problem of the vendors and workers tables, before any post exists.

    The row checks the roster runs (duplicate ids, unknown vendors, weekdays and
    windows, non-positive limits) plus: vendors name only known schools, and every
    planned school is served by a vendor.  ``school_ids`` are the schools of the
    school file, ``planned`` the selected ones; the limits are ``[staffing]``'s;
    ``rows_of`` names the rows of a problem (:func:`file_rows` for tables read from files).
    """
    problems: list[str] = []
    try:
        serves = _read_vendors(vendors, problems, rows_of)
        limits = Limits(int(max_minutes_day), int(max_days_week))
        _read_workers(workers, serves, set(WINDOWS), problems, limits, rows_of)
    except MissingColumnError as exc:
        return [str(exc)]
    vendor_file, _ = sources
    served = set().union(*serves.values()) if serves else set()
    unknown = sorted(served - school_ids)
    if unknown:
        problems.append(f"{vendor_file}: school_ids {unknown[:10]} are not in the schools file")
    unserved = sorted(planned - served)
    if unserved:
        problems.append(
            f"{vendor_file}: selected schools {unserved[:10]} are served by no vendor; "
            "add them to a vendor's school_ids"
        )
    return problems
