"""Assign vendors' workers to post-windows for a school week, with CP-SAT.

A *post-window* is one row of the demand table: a post staffed in the morning
(``am``, before the bell) or the afternoon (``pm``, after dismissal) on some
weekdays.  Each vendor staffs only its own schools, so the program splits into
independent problems (vendors sharing a school are solved together); each is a
CP-SAT model whose objective puts the staffed value first and continuity (the
same worker at the same post all week, and morning and afternoon) second.
Post-windows left unstaffed come back with a reason found by counting workers
against posts, never a bare solver status.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model
from scipy.optimize import linear_sum_assignment

from safepassage.errors import ConfigError, DataError, MissingColumnError, SafePassageError
from safepassage.staffing._cpsat import SolverSettings, relative_gap, solve, solve_within

__all__ = [
    "WEEKDAYS",
    "WINDOWS",
    "Replan",
    "Roster",
    "build_roster",
    "parse_school_hours",
    "replan",
    "school_windows",
    "validate_roster_inputs",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
WINDOWS = ("am", "pm")
_WINDOW_WORDS = {"am": "morning", "pm": "afternoon"}
_VALUE_RESOLUTION = 1000  # integer units given to the most valuable post-window
_ASSIGNMENT_COLUMNS = ["worker_id", "vendor_id", "post_id", "school_id", "weekday", "window",
                       "start", "end", "minutes"]  # fmt: skip
_UNFILLED_COLUMNS = ["post_id", "school_id", "window", "weekday", "missing", "reason"]

# ----------------------------------------------------------------------------- school hours

_TIME = r"(\d{1,2})\s*[:.]\s*(\d{2})\s*([ap])?\.?\s*(?:m\b\.?)?"
_RANGE = re.compile(_TIME + r"\s*[-–]\s*" + _TIME.replace("[:.]", "[:.-]"), re.IGNORECASE)


def _minutes(hour: int, minute: int, meridiem: str | None, *, default: str) -> int:
    meridiem = (meridiem or default).lower()
    hour %= 12
    return (hour + (12 if meridiem == "p" else 0)) * 60 + minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_school_hours(text: object) -> tuple[str, str] | None:
    """Parse a CPS ``School_Hours`` value into bell start and end times.

    Handles ``07:45 AM-02:45 PM``, ``8:00 am-3:30 pm``, ``8:00AM - 3:00PM``,
    ``8:45 a.m. - 3:45 p.m.`` and ``7:45-2:45`` (no meridiem: the start is taken
    as morning and the end as afternoon).  When the text lists several
    schedules (``M-Th ...; F ...``, ``Main ..., Branch ...``) the first is used.
    An end earlier than the start (``7:30 am - 4:30 am``) is read as afternoon.

    Parameters
    ----------
    text : str or None
        The ``School_Hours`` cell; NaN, None or text without a time range give None.

    Returns
    -------
    tuple of str or None
        ``(start, end)`` as ``HH:MM`` (24-hour clock, local time), or None when
        no plausible range (start 05:00-11:59, end after start and before 21:00) is found.
    """
    if not isinstance(text, str):
        return None
    match = _RANGE.search(text)
    if match is None:
        return None
    h1, m1, ap1, h2, m2, ap2 = match.groups()
    start = _minutes(int(h1), int(m1), ap1, default="a")
    end = _minutes(int(h2), int(m2), ap2, default="p")
    if end <= start and end < 12 * 60:
        end += 12 * 60
    if not (5 * 60 <= start < 12 * 60 and start < end < 21 * 60) or int(m1) > 59 or int(m2) > 59:
        return None
    return _hhmm(start), _hhmm(end)


def school_windows(
    profile: pd.DataFrame,
    *,
    default_start: str = "08:00",
    default_end: str = "15:00",
    arrive_before_min: int = 60,
    arrive_after_min: int = 15,
    dismiss_before_min: int = 15,
    dismiss_after_min: int = 60,
) -> pd.DataFrame:
    """Morning and afternoon staffing windows of each school from its bell times.

    Parameters
    ----------
    profile : pandas.DataFrame
        CPS school profile with ``School_ID`` and ``School_Hours`` columns.
    default_start, default_end : str
        Bell times (``HH:MM``) used when ``School_Hours`` does not parse.
    arrive_before_min, arrive_after_min : int
        The morning window runs from this many minutes before the start bell to
        this many after it.
    dismiss_before_min, dismiss_after_min : int
        The afternoon window runs from this many minutes before dismissal to
        this many after it.

    Returns
    -------
    pandas.DataFrame
        Columns ``school_id`` (str), ``window`` (``am``/``pm``), ``start``,
        ``end`` (``HH:MM``), ``minutes`` (int) and ``used_fallback`` (bool: the
        default bell times were used).
    """
    missing = [c for c in ("School_ID", "School_Hours") if c not in profile.columns]
    if missing:
        raise MissingColumnError(missing, found=profile.columns, source="school profile")
    rows = []
    for school_id, hours in zip(profile["School_ID"], profile["School_Hours"], strict=True):
        parsed = parse_school_hours(hours)
        bell_start, bell_end = parsed or (default_start, default_end)
        spans = {
            "am": (_clock(bell_start) - arrive_before_min, _clock(bell_start) + arrive_after_min),
            "pm": (_clock(bell_end) - dismiss_before_min, _clock(bell_end) + dismiss_after_min),
        }
        for window, (start, end) in spans.items():
            rows.append((str(school_id), window, _hhmm(start), _hhmm(end), end - start,
                         parsed is None))  # fmt: skip
    return pd.DataFrame(rows, columns=["school_id", "window", "start", "end", "minutes",
                                       "used_fallback"])  # fmt: skip


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Worker:
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
class _PostWindow:
    post_id: str
    school_id: str
    window: str
    start: str
    end: str
    minutes: int
    headcount: int
    value: float
    days: tuple[str, ...]


@dataclass(frozen=True)
class _Program:
    serves: dict[str, frozenset[str]]  # vendor id -> school ids
    workers: list[_Worker]
    posts: list[_PostWindow]


def _as_list(value: object, default: Iterable[str]) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return list(default)
    if isinstance(value, str):
        items = [part.strip() for part in re.split(r"[;,]", value)]
        return [item for item in items if item] or list(default)
    if isinstance(value, Iterable):
        return [str(item).strip() for item in value]
    return [str(value)]


_DAY_NAMES = {name.lower(): name for name in WEEKDAYS} | {
    full: short for short, full in zip(WEEKDAYS, ("monday", "tuesday", "wednesday",
                                                  "thursday", "friday"), strict=True)
}  # fmt: skip


def _days(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    names = _as_list(value, WEEKDAYS)
    unknown = [n for n in names if n.lower() not in _DAY_NAMES]
    if unknown:
        problems.append(f"{where}: unknown weekday(s) {unknown}; use Mon, Tue, Wed, Thu, Fri")
    known = {_DAY_NAMES[n.lower()] for n in names if n.lower() in _DAY_NAMES}
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


def _duplicates(ids: list[str], label: str, source: str, problems: list[str]) -> None:
    seen: dict[str, list[int]] = {}
    for row, key in enumerate(ids):
        seen.setdefault(key, []).append(row)
    for key, rows in seen.items():
        if len(rows) > 1:
            problems.append(f"{source} rows {rows}: duplicate {label} {key!r}")


def _read_vendors(vendors: pd.DataFrame, problems: list[str]) -> dict[str, frozenset[str]]:
    _require(vendors, ("vendor_id", "school_ids"), "vendors")
    ids = [str(v) for v in vendors["vendor_id"]]
    _duplicates(ids, "vendor_id", "vendors", problems)
    serves: dict[str, set[str]] = {}
    for vendor_id, schools in zip(ids, vendors["school_ids"], strict=True):
        serves.setdefault(vendor_id, set()).update(_as_list(schools, ()))
    return {v: frozenset(s) for v, s in serves.items()}


def _read_workers(
    workers: pd.DataFrame, serves: Mapping[str, frozenset[str]], windows: set[str],
    problems: list[str],
) -> list[_Worker]:  # fmt: skip
    _require(workers, ("worker_id", "vendor_id"), "workers")
    ids = [str(w) for w in workers["worker_id"]]
    _duplicates(ids, "worker_id", "workers", problems)
    columns = zip(ids, workers["vendor_id"], _column(workers, "weekdays", None),
                  _column(workers, "windows", None), _column(workers, "max_minutes_day", 300),
                  _column(workers, "max_days_week", 5), strict=True)  # fmt: skip
    result = []
    for row, (worker_id, vendor, days, wins, minutes, max_days) in enumerate(columns):
        where = f"workers row {row} (worker_id {worker_id!r})"
        if str(vendor) not in serves:
            problems.append(f"{where}: vendor_id {vendor!r} is not in the vendors table")
        names = _as_list(wins, WINDOWS)
        if bad := [w for w in names if w not in WINDOWS]:
            problems.append(f"{where}: unknown window(s) {bad}; use am and/or pm")
        elif not set(names) & windows:
            problems.append(f"{where}: available only in {names}, outside every demand window "
                            f"{sorted(windows)}")  # fmt: skip
        if int(minutes) <= 0 or int(max_days) <= 0:
            problems.append(f"{where}: max_minutes_day={minutes} and max_days_week={max_days} "
                            "must both be positive")  # fmt: skip
        result.append(_Worker(worker_id, str(vendor), frozenset(_days(days, where, problems)),
                              frozenset(names), int(minutes), int(max_days)))  # fmt: skip
    return sorted(result, key=lambda w: w.worker_id)


def _read_demand(demand: pd.DataFrame, problems: list[str]) -> list[_PostWindow]:
    _require(demand, ("post_id", "school_id", "window", "start", "end", "value"), "demand")
    keys = [f"{p}/{w}" for p, w in zip(demand["post_id"], demand["window"], strict=True)]
    _duplicates(keys, "post_id/window", "demand", problems)
    columns = zip(demand["post_id"], demand["school_id"], demand["window"], demand["start"],
                  demand["end"], _column(demand, "headcount", 1), demand["value"],
                  _column(demand, "weekdays", None), strict=True)  # fmt: skip
    result = []
    for row, (post, school, window, start, end, headcount, value, days) in enumerate(columns):
        where = f"demand row {row} (post_id {post!r}, window {window!r})"
        try:
            minutes = _clock(str(end)) - _clock(str(start))
        except ValueError:
            problems.append(f"{where}: start {start!r} / end {end!r} are not HH:MM times")
            minutes = 0
        if window not in WINDOWS:
            problems.append(f"{where}: unknown window {window!r}; use am or pm")
        if minutes <= 0 and ":" in str(start) + str(end):
            problems.append(f"{where}: end {end!r} is not after start {start!r}")
        if int(headcount) < 1 or not float(value) >= 0:
            problems.append(f"{where}: headcount {headcount!r} must be >= 1 and value "
                            f"{value!r} >= 0")  # fmt: skip
        result.append(_PostWindow(str(post), str(school), str(window), str(start),
                                  str(end), max(minutes, 0), int(headcount), float(value),
                                  _days(days, where, problems)))  # fmt: skip
    return sorted(result, key=lambda p: (p.post_id, p.window))


def _read_program(vendors: pd.DataFrame, workers: pd.DataFrame, demand: pd.DataFrame) -> _Program:
    problems: list[str] = []
    serves = _read_vendors(vendors, problems)
    posts = _read_demand(demand, problems)
    staffed = set().union(*serves.values()) if serves else set()
    for school in sorted({p.school_id for p in posts} - staffed):
        rows = [i for i, s in enumerate(demand["school_id"].astype(str)) if s == school]
        problems.append(f"demand rows {rows}: school {school!r} is served by no vendor; "
                        "add it to a vendor's school_ids")  # fmt: skip
    worker_list = _read_workers(workers, serves, {p.window for p in posts}, problems)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise DataError(f"{len(problems)} problem(s) in the roster inputs:\n{lines}")
    return _Program(serves, worker_list, posts)


def validate_roster_inputs(
    vendors: pd.DataFrame, workers: pd.DataFrame, demand: pd.DataFrame
) -> None:
    """Check the three roster tables and report every problem at once.

    Parameters
    ----------
    vendors : pandas.DataFrame
        ``vendor_id``, ``name``, ``school_ids`` (list, or ``;``-separated string).
    workers : pandas.DataFrame
        ``worker_id``, ``vendor_id``; optional ``weekdays`` (default Mon-Fri),
        ``windows`` (default am and pm), ``max_minutes_day`` (minutes, default
        300), ``max_days_week`` (default 5).
    demand : pandas.DataFrame
        ``post_id``, ``school_id``, ``window``, ``start``, ``end`` (``HH:MM``),
        ``value``; optional ``headcount`` (default 1) and ``weekdays``.

    Raises
    ------
    MissingColumnError
        When a required column is absent.
    DataError
        Listing each bad row: duplicate ids, unknown vendors, weekdays or
        windows, availability outside every demand window, non-positive
        limits, bad times, and demand at schools no vendor serves.
    """
    _read_program(vendors, workers, demand)


# ----------------------------------------------------------------------------- components


@dataclass(frozen=True)
class _Component:
    """Vendors that share schools, their rostered workers and their post-windows."""

    serves: dict[str, frozenset[str]]
    workers: list[_Worker]
    floaters: list[_Worker]
    posts: list[_PostWindow]


def _pick_floaters(workers: Iterable[_Worker], share: float) -> set[str]:
    """Worker ids held back as floaters: ``ceil(share * n)`` per vendor.

    The least available workers are held back (fewest weekday-windows, then
    fewest days, then fewest minutes a day, then worker id), so the most
    available stay on the roster and coverage suffers least.
    """
    if not 0.0 <= share <= 1.0:
        raise ConfigError([f"floater_share must be between 0 and 1, got {share!r}"])
    by_vendor: dict[str, list[_Worker]] = {}
    for worker in workers:
        by_vendor.setdefault(worker.vendor_id, []).append(worker)
    held: set[str] = set()
    for group in by_vendor.values():
        group.sort(key=lambda w: (w.slots, w.max_days_week, w.max_minutes_day, w.worker_id))
        held.update(w.worker_id for w in group[: math.ceil(share * len(group) - 1e-9)])
    return held


def _components(program: _Program, floaters: set[str]) -> list[_Component]:
    parent = {v: v for v in program.serves}

    def root(vendor: str) -> str:
        while parent[vendor] != vendor:
            vendor = parent[vendor]
        return vendor

    owner: dict[str, str] = {}
    for vendor in sorted(program.serves):
        for school in sorted(program.serves[vendor]):
            if school in owner:
                parent[root(vendor)] = root(owner[school])
            owner.setdefault(school, vendor)
    groups: dict[str, list[str]] = {}
    for vendor in sorted(program.serves):
        groups.setdefault(root(vendor), []).append(vendor)
    components = []
    for vendors in groups.values():
        serves = {v: program.serves[v] for v in vendors}
        schools = set().union(*serves.values())
        staff = [w for w in program.workers if w.vendor_id in serves]
        components.append(_Component(
            serves=serves,
            workers=[w for w in staff if w.worker_id not in floaters],
            floaters=[w for w in staff if w.worker_id in floaters],
            posts=[p for p in program.posts if p.school_id in schools],
        ))  # fmt: skip
    return components


# ----------------------------------------------------------------------------- model

_Key = tuple[int, int, str]  # (worker index, post-window index, weekday)


@dataclass(frozen=True)
class _Model:
    model: cp_model.CpModel
    x: dict[_Key, Any]
    value: dict[_Key, int]  # integer value of each assignment
    factor: float  # integer value units per value unit


def _assignment_vars(comp: _Component, model: cp_model.CpModel) -> dict[_Key, Any]:
    """One Boolean per feasible (worker, post-window, weekday), in sorted order."""
    x: dict[_Key, Any] = {}
    for wi, worker in enumerate(comp.workers):
        schools = comp.serves[worker.vendor_id]
        for pi, post in enumerate(comp.posts):
            if (post.school_id not in schools or post.window not in worker.windows
                    or post.minutes > worker.max_minutes_day):  # fmt: skip
                continue
            for day in post.days:
                if day in worker.days:
                    x[wi, pi, day] = model.new_bool_var(f"x{wi}_{pi}_{day}")
    return x


def _worker_day_rules(
    model: cp_model.CpModel, comp: _Component, wi: int, day_vars: dict[str, list[_Key]],
    x: dict[_Key, Any],
) -> None:  # fmt: skip
    """One post per window, daily minutes and days per week for worker ``wi``.

    Written tight for the LP: ``sum_{p in window} x <= worked[d]`` per window
    (rather than ``sum x <= 2 worked``), and when no morning-afternoon pair fits
    in the daily minutes, one at-most-one over the whole day.
    """
    worker = comp.workers[wi]
    limit_days = len(day_vars) > worker.max_days_week
    worked_days = []
    for day, keys in day_vars.items():
        windows: dict[str, list[_Key]] = {}
        for key in keys:
            windows.setdefault(comp.posts[key[1]].window, []).append(key)
        shortest = [min(comp.posts[k[1]].minutes for k in ks) for ks in windows.values()]
        longest = [max(comp.posts[k[1]].minutes for k in ks) for ks in windows.values()]
        worked = model.new_bool_var(f"worked{wi}_{day}") if limit_days else None
        if sum(shortest) > worker.max_minutes_day:
            groups = [keys]  # only one window fits in the day
        else:
            groups = list(windows.values())
            if sum(longest) > worker.max_minutes_day:
                minutes = [comp.posts[k[1]].minutes for k in keys]
                expr = cp_model.LinearExpr.weighted_sum([x[k] for k in keys], minutes)
                model.add(expr <= worker.max_minutes_day)
        for group in groups:
            if worked is not None:
                model.add(sum(x[k] for k in group) <= worked)
            elif len(group) > 1:
                model.add_at_most_one(x[k] for k in group)
        if worked is not None:
            worked_days.append(worked)
    if limit_days:
        model.add(sum(worked_days) <= worker.max_days_week)


def _build_model(comp: _Component, value_factor: float) -> _Model:
    """Hard rules: headcount, one post per window, daily minutes, days per week."""
    model = cp_model.CpModel()
    x = _assignment_vars(comp, model)
    per_post: dict[tuple[int, str], list[Any]] = {}
    per_worker: dict[int, dict[str, list[_Key]]] = {}
    for key, var in x.items():
        wi, pi, day = key
        per_post.setdefault((pi, day), []).append(var)
        per_worker.setdefault(wi, {}).setdefault(day, []).append(key)
    for (pi, _), variables in per_post.items():
        if len(variables) > comp.posts[pi].headcount:
            model.add(sum(variables) <= comp.posts[pi].headcount)
    for wi, day_vars in per_worker.items():
        _worker_day_rules(model, comp, wi, day_vars, x)
    value = {key: round(comp.posts[key[1]].value * value_factor) for key in x}
    return _Model(model, x, value, value_factor)


def _continuity_terms(built: _Model, comp: _Component, weight: int) -> list[tuple[Any, int]]:
    """Named bonus and penalty literals (shift_scheduling_sat.py style).

    ``holds[w, p]`` is 1 when worker w holds post-window p on any day (cost
    ``weight``: fewer distinct posts per worker means the same post all week);
    ``same_post[w, post]`` is 1 when w holds the same post morning and
    afternoon (bonus ``weight``).
    """
    model, terms = built.model, []
    holds: dict[tuple[int, int], Any] = {}
    for (wi, pi, _), var in built.x.items():
        if (wi, pi) not in holds:
            holds[wi, pi] = model.new_bool_var(f"holds{wi}_{pi}")
            terms.append((holds[wi, pi], -weight))
        model.add_implication(var, holds[wi, pi])
    by_post: dict[tuple[int, str], list[Any]] = {}
    for (wi, pi), var in holds.items():
        by_post.setdefault((wi, comp.posts[pi].post_id), []).append(var)
    for (wi, post_id), pair in by_post.items():
        if len(pair) == 2:
            same = model.new_bool_var(f"same_post{wi}_{post_id}")
            model.add_implication(same, pair[0])
            model.add_implication(same, pair[1])
            terms.append((same, weight))
    return terms


def _greedy(comp: _Component) -> set[_Key]:
    """Greedy roster used as the phase-1 hint, so CP-SAT starts no worse than greedy.

    Per weekday and window, the most valuable post-windows first; each staffed
    unit goes to the eligible free worker within limits who has worked fewest days.
    """
    days_used: dict[int, set[str]] = {wi: set() for wi in range(len(comp.workers))}
    minutes: dict[tuple[int, str], int] = {}
    order = sorted(range(len(comp.posts)), key=lambda pi: (-comp.posts[pi].value, pi))
    chosen: set[_Key] = set()
    for day in WEEKDAYS:
        for window in WINDOWS:
            busy: set[int] = set()
            for pi in order:
                post = comp.posts[pi]
                if post.window != window or day not in post.days:
                    continue
                for _ in range(post.headcount):
                    free = [wi for wi, w in enumerate(comp.workers)
                            if wi not in busy and day in w.days and window in w.windows
                            and post.school_id in comp.serves[w.vendor_id]
                            and minutes.get((wi, day), 0) + post.minutes <= w.max_minutes_day
                            and (day in days_used[wi]
                                 or len(days_used[wi]) < w.max_days_week)]  # fmt: skip
                    if not free:
                        break
                    wi = min(free, key=lambda k: (len(days_used[k]), k))
                    busy.add(wi)
                    days_used[wi].add(day)
                    minutes[wi, day] = minutes.get((wi, day), 0) + post.minutes
                    chosen.add((wi, pi, day))
    return chosen


def _eligible(comp: _Component, wi: int, pi: int, day: str, minutes_cap: int) -> bool:
    worker, post = comp.workers[wi], comp.posts[pi]
    return (post.school_id in comp.serves[worker.vendor_id] and day in post.days
            and post.minutes <= minutes_cap)  # fmt: skip


def _home_posts(comp: _Component, slots: dict[tuple[str, str], list[_Key]]) -> dict[str, Any]:
    """Per window, one home post per worker: a maximum matching of days in common."""
    homes: dict[str, Any] = {}
    for window in WINDOWS:
        common = np.zeros((len(comp.workers), len(comp.posts)))
        for (_, win), keys in slots.items():
            if win == window:
                posts = sorted({pi for _, pi, _ in keys})
                for wi, _, _ in keys:
                    common[wi, posts] += 1
        if window == "pm" and "am" in homes:  # same post morning and afternoon
            for wi, pi in homes["am"].items():
                twins = [
                    q
                    for q, p in enumerate(comp.posts)
                    if p.post_id == comp.posts[pi].post_id and p.window == "pm"
                ]
                common[wi, twins] += 0.5  # fmt: skip
        rows, cols = linear_sum_assignment(common, maximize=True)
        homes[window] = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if common[r, c]}
    return homes


def _sticky(comp: _Component, assigned: list[_Key]) -> list[_Key]:
    """Re-match each day-window's workers to the same staffed posts, favouring home posts.

    Keeps who works when and which posts are staffed (so the value), never
    lengthens a worker's day; a day-window that cannot be re-matched keeps its pairs.
    """
    slots: dict[tuple[str, str], list[_Key]] = {}
    for key in assigned:
        slots.setdefault((key[2], comp.posts[key[1]].window), []).append(key)
    homes = _home_posts(comp, slots)
    result = []
    for (day, window), keys in slots.items():
        posts = [pi for _, pi, _ in keys]
        score = np.full((len(keys), len(keys)), -1e6)
        for r, (wi, pi, _) in enumerate(keys):
            cap = comp.posts[pi].minutes
            for c, qi in enumerate(posts):
                if _eligible(comp, wi, qi, day, cap):
                    score[r, c] = 2.0 * (homes[window].get(wi) == qi) + 1.0 * (qi == pi)
        rows, cols = linear_sum_assignment(score, maximize=True)
        if score[rows, cols].min() < 0:
            result.extend(keys)
        else:
            result.extend((keys[r][0], posts[c], day) for r, c in zip(rows, cols, strict=True))
    return sorted(result)


@dataclass(frozen=True)
class _Solved:
    assigned: list[_Key]
    status: str
    value: int  # integer value staffed
    value_bound: int
    wall_s: float


Secondary = Callable[[_Model, _Component], list[tuple[Any, int]]]


def _solve_lexicographic(
    built: _Model, comp: _Component, secondary: Secondary, settings: SolverSettings,
    deadline: float,
) -> _Solved:  # fmt: skip
    """Maximise staffed value, then the secondary terms without losing any value.

    Phase 1 maximises value alone (its status, bound and gap are reported).
    Phase 2 adds ``value >= phase-1 value``, the secondary literals, and the
    phase-1 solution as a hint, and maximises the secondary terms in the time
    left; if it finds nothing better the phase-1 solution stands.
    """
    keys = list(built.x)
    variables = [built.x[k] for k in keys]
    value_expr = cp_model.LinearExpr.weighted_sum(variables, [built.value[k] for k in keys])
    built.model.maximize(value_expr)
    start = _greedy(comp)
    for key, var in zip(keys, variables, strict=True):
        built.model.add_hint(var, key in start)
    first = solve_within(built.model, settings)
    if first is None:  # no solution in time: the greedy roster stands, bounded by all demand
        ceiling = sum(round(p.value * built.factor) * p.headcount * len(p.days) for p in comp.posts)
        value = sum(built.value[k] for k in start)
        return _Solved(sorted(start), "FEASIBLE", value, max(ceiling, value), settings.time_limit_s)
    chosen = first.values(variables)
    terms = secondary(built, comp)
    left = deadline - time.perf_counter()
    wall_s = first.wall_s
    if terms and (settings.deterministic or left > 0.05):
        value = int(sum(built.value[k] for k, on in zip(keys, chosen, strict=True) if on))
        built.model.add(value_expr >= value)
        built.model.maximize(sum(coef * var for var, coef in terms))
        built.model.clear_hints()  # type: ignore[no-untyped-call]  # phase-1 hints would repeat
        hint = set(_sticky(comp, [k for k, on in zip(keys, chosen, strict=True) if on]))
        for key, var in zip(keys, variables, strict=True):
            built.model.add_hint(var, key in hint)
        fallback = np.array([key in hint for key in keys], dtype=np.int64)
        # Continuity is rarely proven optimal: give it at most a quarter of the budget.
        limit = (
            settings.time_limit_s
            if settings.deterministic
            else min(left, max(1.0, settings.time_limit_s / 4))
        )
        try:
            second = solve(built.model, replace(settings, time_limit_s=limit))
        except SafePassageError:
            second = None  # keep the re-matched roster when phase 2 finds nothing in time
        chosen = fallback if second is None else second.values(variables)
        wall_s += 0.0 if second is None else second.wall_s
    assigned = [k for k, on in zip(keys, chosen, strict=True) if on]
    value = sum(built.value[k] for k in assigned)
    return _Solved(assigned, first.status, value, max(int(first.bound), value), wall_s)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Roster:
    """A week's roster and what it leaves unstaffed.

    Attributes
    ----------
    assignments : pandas.DataFrame
        ``worker_id``, ``vendor_id``, ``post_id``, ``school_id``, ``weekday``,
        ``window``, ``start``, ``end`` (``HH:MM``), ``minutes``.
    unfilled : pandas.DataFrame
        ``post_id``, ``school_id``, ``window``, ``weekday``, ``missing``
        (workers short), ``reason`` (a sentence naming the vendor and the count).
    status : str
        ``OPTIMAL`` when every vendor's model was solved to optimality, else ``FEASIBLE``.
    objective, bound : float
        Staffed value (sum of ``value`` over staffed units and days) and its proven upper bound.
    gap : float
        ``(bound - objective) / max(1, objective)``.
    wall_s : float
        Total solve time, in seconds.
    floaters : tuple of str
        Workers held back unassigned.
    """

    assignments: pd.DataFrame
    unfilled: pd.DataFrame
    status: str
    objective: float
    bound: float
    gap: float
    wall_s: float
    floaters: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Headline figures: status, objective, bound, gap, seconds and staffing counts."""
        table = self.assignments
        per_window = table.groupby(["worker_id", "window"])["post_id"].nunique()
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "wall_s": self.wall_s,
            "assignments": len(table),
            "workers_assigned": int(table["worker_id"].nunique()),
            "floaters": len(self.floaters),
            "unfilled_slots": int(self.unfilled["missing"].sum()),
            "single_post_worker_windows": float((per_window == 1).mean()) if len(table) else 1.0,
        }


@dataclass(frozen=True)
class Replan:
    """A re-planned roster and how it differs from the previous one.

    Attributes
    ----------
    roster : Roster
    moves : pandas.DataFrame
        ``worker_id``, ``weekday``, ``window``, ``from_post``, ``to_post`` (None
        when absent), ``kind`` in ``kept``, ``moved``, ``added``, ``removed``.
    """

    roster: Roster
    moves: pd.DataFrame


def _reasons(comp: _Component, status: str) -> dict[tuple[frozenset[str], str, str], str]:
    """Why post-windows stay unstaffed, per (serving vendors, window, weekday)."""
    reasons = {}
    vendor_sets = {frozenset(v for v, s in comp.serves.items() if p.school_id in s)
                   for p in comp.posts}  # fmt: skip
    for vendors in vendor_sets:
        schools = set().union(*(comp.serves[v] for v in vendors))
        name = ("vendor " if len(vendors) == 1 else "vendors ") + ", ".join(sorted(vendors))
        for window in WINDOWS:
            word = _WINDOW_WORDS[window]
            for day in WEEKDAYS:
                posts = [p for p in comp.posts if p.school_id in schools and p.window == window
                         and day in p.days]  # fmt: skip
                staff = [w for w in comp.workers if w.vendor_id in vendors
                         and day in w.days and window in w.windows]  # fmt: skip
                held = sum(1 for w in comp.floaters if w.vendor_id in vendors
                           and day in w.days and window in w.windows)  # fmt: skip
                slots = sum(p.headcount for p in posts)
                n_schools = len({p.school_id for p in posts})
                if not staff:
                    text = f"no worker of {name} is available on {day} {window}"
                elif len(staff) < slots:
                    text = (f"{name} has {len(staff)} {word} workers available on {day} "
                            f"for {slots} {word} posts at {n_schools} schools")  # fmt: skip
                else:
                    text = (f"{name}'s {len(staff)} {word} workers available on {day} are "
                            "used up by their daily-minute or weekly-day limits")  # fmt: skip
                    if status != "OPTIMAL":
                        text += " or the solver time limit"
                if held:
                    text += f" ({held} floaters held back)"
                reasons[vendors, window, day] = text
    return reasons


def _tables(comp: _Component, solved: _Solved) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, staffed = [], dict.fromkeys(((pi, d) for pi, p in enumerate(comp.posts)
                                       for d in p.days), 0)  # fmt: skip
    for wi, pi, day in solved.assigned:
        worker, post = comp.workers[wi], comp.posts[pi]
        staffed[pi, day] += 1
        rows.append((worker.worker_id, worker.vendor_id, post.post_id, post.school_id, day,
                     post.window, post.start, post.end, post.minutes))  # fmt: skip
    reasons = _reasons(comp, solved.status)
    gaps = []
    for (pi, day), count in staffed.items():
        post = comp.posts[pi]
        if count < post.headcount:
            vendors = frozenset(v for v, s in comp.serves.items() if post.school_id in s)
            gaps.append((post.post_id, post.school_id, post.window, day, post.headcount - count,
                         reasons[vendors, post.window, day]))  # fmt: skip
    return (pd.DataFrame(rows, columns=_ASSIGNMENT_COLUMNS),
            pd.DataFrame(gaps, columns=_UNFILLED_COLUMNS))  # fmt: skip


def _sorted(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = table.assign(_day=table["weekday"].map(WEEKDAYS.index))
    keys = ["_day" if k == "weekday" else k for k in keys]
    return order.sort_values(keys, kind="stable").drop(columns="_day").reset_index(drop=True)


class _Schedule:
    """Shares the wall-clock budget among vendor groups in proportion to their size."""

    def __init__(self, settings: SolverSettings, sizes: list[int], threads: int) -> None:
        self.settings, self.threads, self.waiting = settings, threads, sum(sizes)
        self.deadline = time.perf_counter() + settings.time_limit_s
        self.lock = threading.Lock()

    def next_budget(self, size: int) -> float:
        """Seconds for a group of ``size`` variables: its share of what is left (>= 5 s)."""
        if self.settings.deterministic:
            return self.settings.time_limit_s
        with self.lock:
            left = self.deadline - time.perf_counter()
            share = left * self.threads * size / max(self.waiting, 1)
            self.waiting -= size
        return max(min(share, left), 5.0)


def _size(comp: _Component) -> int:
    """Rough model size: workers x post-windows."""
    return max(1, len(comp.workers) * len(comp.posts))


def _run(
    program: _Program, floaters: set[str], settings: SolverSettings, secondary: Secondary
) -> Roster:
    """Solve every vendor group (``num_workers`` at a time, one CP-SAT worker each), combine."""
    top = max((p.value for p in program.posts), default=0.0)
    factor = _VALUE_RESOLUTION / top if top > 0 else 1.0
    components = _components(program, floaters)
    threads = max(1, min(settings.num_workers, len(components)))
    sizes = [_size(comp) for comp in components]
    schedule = _Schedule(settings, sizes, threads)

    def task(comp: _Component) -> tuple[pd.DataFrame, pd.DataFrame, _Solved]:
        budget = schedule.next_budget(_size(comp))
        local = replace(settings, num_workers=1, time_limit_s=budget)
        deadline = time.perf_counter() + local.time_limit_s
        solved = _solve_lexicographic(_build_model(comp, factor), comp, secondary, local,
                                      deadline)  # fmt: skip
        return (*_tables(comp, solved), solved)

    # Largest groups first balances the threads; results are combined in a fixed order.
    order = sorted(range(len(components)), key=lambda i: -sizes[i])
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {i: pool.submit(task, components[i]) for i in order}
        results = [futures[i].result() for i in range(len(components))]
    solved_all = [r[2] for r in results]
    objective = sum(r.value for r in solved_all) / factor
    upper = sum(r.value_bound for r in solved_all) / factor
    return Roster(
        assignments=_sorted(pd.concat([r[0] for r in results], ignore_index=True),
                            ["worker_id", "weekday", "window"]),
        unfilled=_sorted(pd.concat([r[1] for r in results], ignore_index=True),
                         ["post_id", "window", "weekday"]),
        status="OPTIMAL" if all(r.status == "OPTIMAL" for r in solved_all) else "FEASIBLE",
        objective=objective,
        bound=upper,
        gap=relative_gap(objective, upper),
        wall_s=sum(r.wall_s for r in solved_all),
        floaters=tuple(sorted(floaters)),
    )  # fmt: skip


def build_roster(
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    floater_share: float = 0.0,
    settings: SolverSettings | None = None,
    continuity_weight: int = 1,
) -> Roster:
    r"""Roster every vendor's workers onto post-windows for a Mon-Fri week.

    For each group of vendors sharing schools, with ``x[w,p,d] = 1`` when
    worker w staffs post-window p on weekday d (only where w's vendor serves
    p's school and w is available that weekday and window)::

        maximise  M * sum v_p x[w,p,d] + c * (sum same_post[w,post] - sum holds[w,p])
        s.t.      sum_w x[w,p,d] <= headcount_p               every post-window and day
                  sum_{p in window} x[w,p,d] <= 1              every worker, day, window
                  sum_p minutes_p x[w,p,d] <= max_minutes_day_w
                  sum_p x[w,p,d] <= 2 worked[w,d];  sum_d worked[w,d] <= max_days_week_w
                  x[w,p,d] => holds[w,p]
                  same_post[w,post] => holds[w,(post,am)] and holds[w,(post,pm)]

    with ``v_p`` the value scaled to integers (the largest to 1000) and M larger
    than the whole continuity range, so staffed value always comes first.

    Parameters
    ----------
    vendors, workers, demand : pandas.DataFrame
        See :func:`validate_roster_inputs`.
    floater_share : float
        Share (0-1) of each vendor's workers held back unassigned, rounded up;
        the least available are held back (fewest weekday-windows first, ties by worker id).
    settings : SolverSettings, optional
        ``time_limit_s`` is shared among the vendor groups.
    continuity_weight : int
        Weight c of the continuity literals; 0 turns them off.

    Returns
    -------
    Roster

    Raises
    ------
    DataError, MissingColumnError
        On bad inputs (all problems listed).
    ConfigError
        When ``floater_share`` is outside [0, 1].
    """
    program = _read_program(vendors, workers, demand)
    floaters = _pick_floaters(program.workers, floater_share)

    def secondary(built: _Model, comp: _Component) -> list[tuple[Any, int]]:
        return _continuity_terms(built, comp, continuity_weight) if continuity_weight else []

    return _run(program, floaters, settings or SolverSettings(), secondary)


def _moves(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    keys = ["worker_id", "weekday", "window"]
    merged = previous[[*keys, "post_id"]].merge(
        current[[*keys, "post_id"]], on=keys, how="outer", suffixes=("_from", "_to")
    )
    merged = merged.rename(columns={"post_id_from": "from_post", "post_id_to": "to_post"})
    merged = merged.astype({"from_post": object, "to_post": object})
    merged = merged.where(merged.notna(), None)
    kinds = []
    for before, after in zip(merged["from_post"], merged["to_post"], strict=True):
        if before is None:
            kinds.append("added")
        elif after is None:
            kinds.append("removed")
        else:
            kinds.append("kept" if before == after else "moved")
    return _sorted(merged.assign(kind=kinds), keys)


def replan(
    previous: Roster,
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    settings: SolverSettings | None = None,
) -> Replan:
    """Re-roster after workers or posts change, keeping as many assignments as possible.

    The model of :func:`build_roster` with, in place of continuity, one bonus
    literal per previous assignment still possible: staffed value first, then
    the number of (worker, post-window, weekday) assignments kept.  Workers who
    left lose theirs, dropped posts free their workers, new posts and workers
    are filled.  The previous floaters still on the books stay held back.

    Parameters
    ----------
    previous : Roster
        The roster in force.
    vendors, workers, demand : pandas.DataFrame
        The new inputs (see :func:`validate_roster_inputs`).
    settings : SolverSettings, optional

    Returns
    -------
    Replan
    """
    program = _read_program(vendors, workers, demand)
    kept = set(zip(previous.assignments["worker_id"], previous.assignments["post_id"],
                   previous.assignments["window"], previous.assignments["weekday"],
                   strict=True))  # fmt: skip
    floaters = set(previous.floaters) & {w.worker_id for w in program.workers}

    def secondary(built: _Model, comp: _Component) -> list[tuple[Any, int]]:
        return [(var, 1) for (wi, pi, day), var in built.x.items()
                if (comp.workers[wi].worker_id, comp.posts[pi].post_id, comp.posts[pi].window,
                    day) in kept]  # fmt: skip

    roster = _run(program, floaters, settings or SolverSettings(), secondary)
    return Replan(roster, _moves(previous.assignments, roster.assignments))
