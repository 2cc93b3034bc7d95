"""Day-of re-plan: cover the post-windows of workers who call in absent.

``safepassage replan PLAN_DIR --absent W1,W2 --day Mon`` reads a plan folder
(``roster.csv``, ``staff.csv``, ``vendors.csv``, ``floaters.csv``,
``post_walks.csv``, ``posts.csv``, ``manifest.json``) and changes only the
absent workers' post-windows of that day: each goes to a free floater first,
else to a free regular worker of a vendor serving the school (a *move* of
another worker: the fewest such), within the program's rules (availability,
the background check, minutes a day, days a week, a walkable morning and
afternoon).  Nothing else changes hands and no other day changes.  The model
is a small CP-SAT problem::

    maximise  M * sum_{c,f} v_f y[c,f]  -  sum_{c,f} k_c y[c,f]
    s.t.      sum_c y[c,f] <= 1                       every freed post-window f
              sum_{f in window} y[c,f] <= 1           every candidate c and window
              minutes of c that day <= max_minutes_day
              y[c,f] + y[c,g] <= 1  unless f and g are walkable (am f, pm g)

with ``v_f`` the post-window's value (mandatory posts first), ``k_c`` 1 for a
floater and ``len(floaters) + 1`` for a regular worker (so floaters are used
first) and M above the whole cost range.  Post-windows no one may cover stay
unfilled, with the reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from ortools.sat.python import cp_model

from .errors import DataError, SafePassageError
from .schedule import WEEKDAYS, WINDOWS, school_weekday
from .staffing.program import cell_list
from .staffing.walk import WalkRule

__all__ = ["MOVE_COLUMNS", "DayReplan", "ReplanError", "read_plan_folder", "replan_day"]

logger = logging.getLogger(__name__)

MOVE_COLUMNS = [
    "weekday",
    "window",
    "post_id",
    "school_id",
    "absent_worker",
    "covered_by",
    "kind",
    "start",
    "end",
]
_NEEDED = ("roster.csv", "staff.csv", "vendors.csv", "posts.csv", "manifest.json")


class ReplanError(SafePassageError, ValueError):
    """A re-plan cannot start: a bad plan folder, worker id or day (the message says which)."""


@dataclass(frozen=True)
class PlanFolder:
    """The tables of a plan folder that a re-plan reads."""

    folder: Path
    roster: pd.DataFrame
    staff: pd.DataFrame
    vendors: pd.DataFrame
    posts: pd.DataFrame
    walk: WalkRule | None
    config: dict[str, Any]


@dataclass(frozen=True)
class DayReplan:
    """A re-planned day.

    Attributes
    ----------
    day : str
        ``Mon`` .. ``Fri``.
    absent : tuple of str
        The absent workers.
    roster : pandas.DataFrame
        The whole week's roster (the columns of ``roster.csv``) with that day
        re-planned; every other row is as it was.
    moves : pandas.DataFrame
        One row per freed post-window (:data:`MOVE_COLUMNS`): ``covered_by``
        (empty when unfilled) and ``kind`` (``floater``, ``moved`` for a
        regular worker taking it on, ``unfilled``).
    """

    day: str
    absent: tuple[str, ...]
    roster: pd.DataFrame
    moves: pd.DataFrame

    def lines(self) -> list[str]:
        """The moves in words, one line each (what the CLI prints)."""
        out = []
        for m in _records(self.moves):
            where = f"{m.weekday} {m.window} {m.start}-{m.end} post {m.post_id} ({m.school_id})"
            if m.kind == "unfilled":
                out.append(f"{where}: {m.absent_worker} absent -> UNFILLED (no free worker may)")
            else:
                word = "floater" if m.kind == "floater" else "moved from standby"
                out.append(f"{where}: {m.absent_worker} absent -> {m.covered_by} ({word})")
        return out


def _records(table: pd.DataFrame) -> list[Any]:
    """The rows of ``table`` as named tuples (typed loosely: columns are read as text)."""
    return list(table.itertuples(index=False))


def _read(folder: Path, name: str, **kwargs: Any) -> pd.DataFrame:
    path = folder / name
    try:
        table: pd.DataFrame = pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
        return table
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReplanError(f"{path}: cannot be read ({exc}); run `safepassage plan` again") from None


def read_plan_folder(folder: str | Path) -> PlanFolder:
    """Read what a re-plan needs from a plan output folder.

    Raises
    ------
    ReplanError
        When the folder or one of its files is missing (a plan without vendors
        and workers has no roster to re-plan).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplanError(f"{folder}: no such plan folder; give the --out folder of a plan")
    missing = [n for n in _NEEDED if not (folder / n).is_file()]
    if missing:
        raise ReplanError(
            f"{folder}: not a plan folder with a roster (missing {', '.join(missing)}); "
            "plan with [data] vendors and workers first"
        )
    try:
        config = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["config"]
    except (ValueError, KeyError) as exc:
        raise ReplanError(f"{folder / 'manifest.json'}: not a plan manifest ({exc})") from None
    posts = _read(folder, "posts.csv")
    if "selected" in posts:
        posts = posts[posts["selected"].str.lower() == "true"]
    walk = None
    if (folder / "post_walks.csv").is_file():
        school_of = dict(zip(posts["post_id"], posts["school_id"], strict=True))
        limit = float(config.get("staffing", {}).get("walk_between_m", 800.0))
        walk = WalkRule.from_table(_read(folder, "post_walks.csv"), limit, school_of)
    return PlanFolder(
        folder,
        _read(folder, "roster.csv"),
        _read(folder, "staff.csv"),
        _read(folder, "vendors.csv"),
        posts.reset_index(drop=True),
        walk,
        config,
    )


def _day(day: str) -> str:
    name = school_weekday(day)
    if name is None:
        raise ReplanError(f"--day {day!r}: not a school weekday; use one of {', '.join(WEEKDAYS)}")
    return name


def _absent(ids: list[str], plan: PlanFolder) -> tuple[str, ...]:
    known = set(plan.staff["worker_id"])
    wanted = [i.strip() for i in ids if i.strip()]
    if not wanted:
        raise ReplanError("--absent: give at least one worker id, e.g. --absent W12,W40")
    unknown = [i for i in wanted if i not in known]
    if unknown:
        sample = ", ".join(sorted(known)[:5])
        raise ReplanError(
            f"--absent: worker id(s) {', '.join(unknown)} are not in "
            f"{plan.folder / 'staff.csv'} (ids look like {sample}, ...)"
        )
    return tuple(dict.fromkeys(wanted))


def _int(value: str, default: int) -> int:
    try:
        return int(float(value))
    except ValueError:
        return default


def _value_of(plan: PlanFolder) -> dict[tuple[str, str], float]:
    """(post, window) -> value, mandatory posts above every other."""
    values: dict[tuple[str, str], float] = {}
    top = 1.0
    for post in _records(plan.posts):
        for window in WINDOWS:
            raw = getattr(post, f"value_{window}", "0") or "0"
            values[str(post.post_id), window] = float(raw)
            top = max(top, float(raw))
    for post in _records(plan.posts):
        if getattr(post, "kind", "") == "mandatory":
            for window in WINDOWS:
                values[str(post.post_id), window] += 10 * top
    return values


@dataclass(frozen=True)
class _Day:
    """The day being re-planned: what stays, what is freed, who is free to cover."""

    freed: pd.DataFrame  # the absent workers' rows of the day
    held: dict[tuple[str, str], str]  # (worker, window) -> post held that day by those staying
    minutes: dict[str, int]  # minutes worked that day by those staying
    candidates: list[Any]  # staff rows who may cover something (not absent, cleared, ...)
    floaters: set[str]
    max_minutes: int  # the program's minutes a day ([staffing] max_minutes_day)


def _limit(worker: Any, column: str, cap: int) -> int:
    return min(cap, _int(str(getattr(worker, column, "")), cap))


def _the_day(plan: PlanFolder, gone: tuple[str, ...], day: str) -> _Day:
    roster = plan.roster
    today = roster[roster["weekday"] == day]
    freed = today[today["worker_id"].isin(gone)].reset_index(drop=True)
    idle = [w for w in gone if w not in set(today["worker_id"])]
    if idle:
        logger.warning("%s: not rostered on %s, nothing to cover", ", ".join(idle), day)
    staying = today[~today["worker_id"].isin(gone)]
    staffing = plan.config.get("staffing", {})
    cap_days = int(staffing.get("max_days_week", 5))
    week_days = roster.groupby("worker_id")["weekday"].nunique().to_dict()
    working = set(staying["worker_id"])
    candidates = []
    for worker in _records(plan.staff):
        wid = str(worker.worker_id)
        if wid in gone or str(getattr(worker, "cleared", "True")).lower() != "true":
            continue
        if day not in cell_list(getattr(worker, "weekdays", ""), WEEKDAYS):
            continue
        if wid not in working and week_days.get(wid, 0) >= _limit(
            worker, "max_days_week", cap_days
        ):
            continue
        candidates.append(worker)
    return _Day(
        freed,
        {(w, win): p for w, win, p in staying[["worker_id", "window", "post_id"]].to_numpy()},
        {
            str(w): int(m)
            for w, m in staying.groupby("worker_id")["minutes"]
            .apply(lambda m: sum(map(int, m)))
            .items()
        },
        candidates,
        {str(w.worker_id) for w in candidates if str(getattr(w, "floater", "")).lower() == "true"},
        int(staffing.get("max_minutes_day", 300)),
    )


def _walkable(walk: WalkRule | None, post_a: str, post_b: str) -> bool:
    return walk is None or walk.allows_posts(post_a, post_b)


def _may_cover(
    plan: PlanFolder, the: _Day, worker: Any, f: Any, serves: dict[str, set[str]]
) -> bool:
    """May ``worker`` take freed post-window ``f`` on its own (window, school, minutes, walk)?"""
    wid = str(worker.worker_id)
    if f.window not in cell_list(getattr(worker, "windows", ""), WINDOWS):
        return False
    if (wid, f.window) in the.held or f.school_id not in serves.get(str(worker.vendor_id), set()):
        return False
    if the.minutes.get(wid, 0) + int(f.minutes) > _limit(
        worker, "max_minutes_day", the.max_minutes
    ):
        return False
    other = the.held.get((wid, "pm" if f.window == "am" else "am"))
    return other is None or _walkable(plan.walk, f.post_id, other)


def _cover(plan: PlanFolder, the: _Day) -> dict[int, Any]:
    """Solve the cover model (module docstring): freed row index -> covering staff row."""
    serves = {
        str(v): set(cell_list(s, ()))
        for v, s in zip(plan.vendors["vendor_id"], plan.vendors["school_ids"], strict=True)
    }
    rows = list(_records(the.freed))
    model = cp_model.CpModel()
    y = {
        (ci, fi): model.new_bool_var(f"y{ci}_{fi}")
        for ci, worker in enumerate(the.candidates)
        for fi, f in enumerate(rows)
        if _may_cover(plan, the, worker, f, serves)
    }
    for fi in range(len(rows)):
        model.add_at_most_one(v for (_, f), v in y.items() if f == fi)
    for ci, worker in enumerate(the.candidates):
        mine = {fi: v for (c, fi), v in y.items() if c == ci}
        for window in WINDOWS:
            model.add_at_most_one(v for fi, v in mine.items() if rows[fi].window == window)
        left = _limit(worker, "max_minutes_day", the.max_minutes) - the.minutes.get(
            str(worker.worker_id), 0
        )
        model.add(sum(int(rows[fi].minutes) * v for fi, v in mine.items()) <= left)
        for fa, va in mine.items():
            for fb, vb in mine.items():
                am, pm = rows[fa], rows[fb]
                far = not _walkable(plan.walk, am.post_id, pm.post_id)
                if am.window == "am" and pm.window == "pm" and far:
                    model.add(va + vb <= 1)
    value = _value_of(plan)
    regular = len(the.floaters) + 1  # a move of a regular worker costs more than every floater
    cost = {k: 1 if str(the.candidates[k[0]].worker_id) in the.floaters else regular for k in y}
    big = sum(cost.values()) + 1
    worth = {
        k: round(1000 * value.get((rows[k[1]].post_id, rows[k[1]].window), 0.0)) + 1 for k in y
    }
    model.maximize(sum((big * worth[k] - cost[k]) * v for k, v in y.items()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(plan.config.get("plan", {}).get("seed", 0))
    solver.parameters.max_time_in_seconds = 10.0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise DataError(f"the day's re-plan found no solution ({solver.status_name(status)})")
    return {fi: the.candidates[ci] for (ci, fi), v in y.items() if solver.value(v)}


def replan_day(plan: PlanFolder, absent: list[str], day: str) -> DayReplan:
    """Re-plan ``day`` with ``absent`` workers out (see the module docstring).

    Raises
    ------
    ReplanError
        On an unknown worker id or a day that is not Mon-Fri.
    """
    day, gone = _day(day), _absent(absent, plan)
    the = _the_day(plan, gone, day)
    chosen = _cover(plan, the)
    moves, added = [], []
    for fi, f in enumerate(_records(the.freed)):
        worker = chosen.get(fi)
        by = "" if worker is None else str(worker.worker_id)
        kind = "unfilled" if worker is None else "floater" if by in the.floaters else "moved"
        if worker is not None:
            added.append(f._asdict() | {"worker_id": by, "vendor_id": str(worker.vendor_id)})
        moves.append((day, f.window, f.post_id, f.school_id, f.worker_id, by, kind, f.start, f.end))
    roster = plan.roster
    others = roster[~((roster["weekday"] == day) & roster["worker_id"].isin(gone))]
    new = pd.concat([others, pd.DataFrame(added, columns=roster.columns)], ignore_index=True)
    new = new.assign(_d=new["weekday"].map(WEEKDAYS.index)).sort_values(
        ["worker_id", "_d", "window"], kind="stable"
    )
    return DayReplan(
        day,
        gone,
        new.drop(columns="_d").reset_index(drop=True),
        pd.DataFrame(moves, columns=MOVE_COLUMNS),
    )


#: Files a re-plan writes into its folder.
REPLAN_FILES = ("roster.csv", "moves.csv", "day_*.pdf", "manifest.json")


def write_replan(plan: PlanFolder, day: DayReplan, out: str | Path) -> Path:
    """Write the re-planned roster, the moves and a day sheet per vendor into ``out``.

    ``out`` is written only when new, empty or an earlier re-plan (see
    :mod:`safepassage.atomic`); a failure leaves it as it was.
    """
    from .atomic import atomic_output_dir

    out = Path(out)
    with atomic_output_dir(out, known=REPLAN_FILES) as tmp:
        day.roster.to_csv(tmp / "roster.csv", index=False)
        day.moves.to_csv(tmp / "moves.csv", index=False)
        for vendor_id, rows in day_sheet_rows(plan, day).items():
            _write_day_sheet(plan, day, vendor_id, rows, tmp / f"day_{day.day}_{vendor_id}.pdf")
    return out


def day_sheet_rows(plan: PlanFolder, day: DayReplan) -> dict[str, pd.DataFrame]:
    """Per vendor, who stands where on the day: the rows of its day sheet.

    Posts are numbered as in the vendor's post packet (its schools in order,
    then post id); ``changed`` marks the post-windows that changed hands, with
    a ``note`` saying whom the worker covers (or that no one could).
    """
    today = day.roster[day.roster["weekday"] == day.day]
    names = dict(zip(plan.staff["worker_id"], plan.staff.get("name", ""), strict=True))
    posts = plan.posts.set_index("post_id")
    cover = {(m.post_id, m.window): m for m in _records(day.moves)}
    sheets = {}
    for vendor in _records(plan.vendors):
        schools = cell_list(vendor.school_ids, ())
        mine = plan.posts[plan.posts["school_id"].isin(schools)]
        order = {s: i for i, s in enumerate(schools)}
        mine = mine.assign(_o=mine["school_id"].map(order)).sort_values(["_o", "post_id"])
        number = {p: i for i, p in enumerate(mine["post_id"], start=1)}
        rows = []
        staffed = today[today["school_id"].isin(schools)]
        for r in _records(staffed):
            move = cover.get((r.post_id, r.window))
            changed = move is not None and move.covered_by == r.worker_id
            note = f"covers {move.absent_worker} (absent)" if changed and move else ""
            rows.append((r.post_id, r.window, r.start, r.end, r.worker_id, changed, note))
        for m in _records(day.moves):
            if m.kind == "unfilled" and m.school_id in schools:
                rows.append(
                    (
                        m.post_id,
                        m.window,
                        m.start,
                        m.end,
                        "",
                        True,
                        f"UNFILLED: {m.absent_worker} absent, no free worker",
                    )
                )
        if not rows:
            continue
        table = pd.DataFrame(
            rows, columns=["post_id", "window", "start", "end", "worker_id", "changed", "note"]
        )
        table["post_number"] = table["post_id"].map(number).fillna(0).astype(int)
        school = posts["school_name"] if "school_name" in posts else posts["school_id"]
        table["school_name"] = table["post_id"].map(school)
        cross = posts["cross_streets"] if "cross_streets" in posts else posts["school_id"]
        table["cross_streets"] = table["post_id"].map(cross)
        table["worker_name"] = table["worker_id"].map(names).fillna("")
        table = table.assign(_w=table["window"].map(WINDOWS.index)).sort_values(
            ["_w", "post_number"], kind="stable"
        )
        sheets[str(vendor.vendor_id)] = table.drop(columns="_w").reset_index(drop=True)
    return sheets


def _write_day_sheet(
    plan: PlanFolder, day: DayReplan, vendor_id: str, rows: pd.DataFrame, path: Path
) -> Path:
    from .maps.daysheet import day_sheet

    vendors = plan.vendors.set_index("vendor_id")
    name = str(vendors.loc[vendor_id, "name"]) if "name" in vendors else vendor_id
    meta = plan.config.get("plan", {})
    written: Path = day_sheet(
        path,
        vendor_name=name or vendor_id,
        vendor_id=vendor_id,
        day=day.day,
        rows=rows,
        plan_name=str(meta.get("name", "")),
        plan_date=str(meta.get("date", "")),
    )
    return written
