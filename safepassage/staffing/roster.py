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

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from safepassage.errors import ConfigError
from safepassage.schedule import WEEKDAYS, WINDOW_WORDS, WINDOWS
from safepassage.staffing.model import (
    Component,
    Key,
    Model,
    build_model,
    continuity_score,
    continuity_terms,
    floater_cost,
    pick_floaters,
    split_components,
    unit_value,
)
from safepassage.staffing.program import (
    Limits,
    Program,
    can_stand,
    read_program,
)
from safepassage.staffing.search import (
    Secondary,
    SecondaryScore,
    Solved,
    greedy_roster,
    rematch_homes,
    solve_lexicographic,
    spare_floaters,
)
from safepassage.staffing.solver import SolverSettings, relative_gap, run_in_threads
from safepassage.staffing.walk import WalkRule

__all__ = ["ASSIGNMENT_COLUMNS", "UNFILLED_COLUMNS", "Replan", "Roster", "build_roster", "replan"]

# integer units given to the most valuable post-window: fine enough that rounding
# costs under 0.01 % of the staffed value on the citywide SY1617 program (1,000 lost 0.01 %
# and rounded 3 % of its post-windows to nothing)
_VALUE_RESOLUTION = 100_000
# the columns of Roster.assignments and Roster.unfilled
ASSIGNMENT_COLUMNS = [
    "worker_id",
    "vendor_id",
    "post_id",
    "school_id",
    "weekday",
    "window",
    "start",
    "end",
    "minutes",
]
UNFILLED_COLUMNS = ["post_id", "school_id", "window", "weekday", "missing", "reason"]


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


def _reasons(comp: Component, status: str) -> dict[tuple[frozenset[str], str, str], str]:
    """Why post-windows stay unstaffed, per (serving vendors, window, weekday)."""
    reasons = {}
    vendor_sets = {
        frozenset(v for v, s in comp.serves.items() if p.school_id in s) for p in comp.posts
    }
    for vendors in vendor_sets:
        schools = set().union(*(comp.serves[v] for v in vendors))
        name = ("vendor " if len(vendors) == 1 else "vendors ") + ", ".join(sorted(vendors))
        for window in WINDOWS:
            word = WINDOW_WORDS[window]
            for day in WEEKDAYS:
                posts = [
                    p
                    for p in comp.posts
                    if p.school_id in schools and p.window == window and day in p.days
                ]
                staff = [
                    w
                    for w in comp.workers
                    if w.vendor_id in vendors and day in w.days and window in w.windows
                ]
                slots = sum(p.headcount for p in posts)
                n_schools = len({p.school_id for p in posts})
                if not staff:
                    text = f"no worker of {name} is available on {day} {window}"
                elif len(staff) < slots:
                    text = (
                        f"{name} has {len(staff)} {word} workers available on {day} "
                        f"for {slots} {word} posts at {n_schools} schools"
                    )
                else:
                    text = (
                        f"{name}'s {len(staff)} {word} workers available on {day} are "
                        "used up by their daily-minute or weekly-day limits"
                    )
                    if status != "OPTIMAL":
                        text += " or the solver time limit"
                reasons[vendors, window, day] = text
    return reasons


def _tables(comp: Component, solved: Solved) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, staffed = (
        [],
        dict.fromkeys(((pi, d) for pi, p in enumerate(comp.posts) for d in p.days), 0),
    )
    for wi, pi, day in solved.assigned:
        worker, post = comp.workers[wi], comp.posts[pi]
        staffed[pi, day] += 1
        rows.append(
            (
                worker.worker_id,
                worker.vendor_id,
                post.post_id,
                post.school_id,
                day,
                post.window,
                post.start,
                post.end,
                post.minutes,
            )
        )
    reasons = _reasons(comp, solved.status)
    gaps = []
    for (pi, day), count in staffed.items():
        post = comp.posts[pi]
        if count < post.headcount:
            vendors = frozenset(v for v, s in comp.serves.items() if post.school_id in s)
            gaps.append(
                (
                    post.post_id,
                    post.school_id,
                    post.window,
                    day,
                    post.headcount - count,
                    reasons[vendors, post.window, day],
                )
            )
    return (
        pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS),
        pd.DataFrame(gaps, columns=UNFILLED_COLUMNS),
    )


def _sorted(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    order = table.assign(_day=table["weekday"].map(WEEKDAYS.index))
    keys = ["_day" if k == "weekday" else k for k in keys]
    return order.sort_values(keys, kind="stable").drop(columns="_day").reset_index(drop=True)


class _Schedule:
    """Shares the wall-clock budget among vendor groups in proportion to their size."""

    def __init__(self, settings: SolverSettings, sizes: list[int], threads: int) -> None:
        self.settings, self.threads, self.waiting = settings, threads, sum(sizes)
        self.total = sum(sizes)
        self.deadline = time.perf_counter() + settings.time_limit_s
        self.lock = threading.Lock()

    def next_budget(self, size: int) -> float:
        """Seconds for a group of ``size`` variables: its share of what is left (>= 5 s).

        With deterministic limits the share is of the whole budget, so it does not
        depend on which group a thread happened to start first.
        """
        if self.settings.deterministic:
            share = self.settings.time_limit_s * self.threads * size / max(self.total, 1)
            return min(max(share, 2.0), self.settings.time_limit_s)
        with self.lock:
            left = self.deadline - time.perf_counter()
            share = left * self.threads * size / max(self.waiting, 1)
            self.waiting -= size
        return max(min(share, left), 5.0)


def _size(comp: Component) -> int:
    """Rough model size: workers x post-windows."""
    return max(1, len(comp.workers) * len(comp.posts))


def _heuristic(comp: Component, factor: float) -> Solved:
    """The greedy roster, floaters spared, re-matched to home posts; bounded by
    :func:`matching_bound`."""
    started = time.perf_counter()
    assigned = rematch_homes(comp, spare_floaters(comp, sorted(greedy_roster(comp))))
    value = sum(unit_value(comp.posts[pi].value, factor) for _, pi, _ in assigned)
    bound = max(matching_bound(comp, factor), value)
    status = "OPTIMAL" if bound == value else "FEASIBLE"
    return Solved(assigned, status, value, bound, time.perf_counter() - started)


def matching_bound(comp: Component, factor: float) -> int:
    """An upper bound on a group's staffed value (integer units): per weekday and window,
    the best assignment of its workers to post-window units (each worker one unit,
    eligible by :func:`can_stand`), ignoring what ties a worker's windows and days."""
    total = 0
    for day in WEEKDAYS:
        for window in WINDOWS:
            units = [
                (pi, unit_value(p.value, factor))
                for pi, p in enumerate(comp.posts)
                if p.window == window and day in p.days
                for _ in range(p.headcount)
            ]
            staff = [
                wi for wi, w in enumerate(comp.workers) if day in w.days and window in w.windows
            ]
            if not units or not staff:
                continue
            gain = np.zeros((len(staff), len(units)))
            for r, wi in enumerate(staff):
                for c, (pi, v) in enumerate(units):
                    if can_stand(comp.workers[wi], comp.posts[pi], day, comp.serves):
                        gain[r, c] = v
            rows, cols = linear_sum_assignment(gain, maximize=True)
            total += int(gain[rows, cols].sum())
    return total


def _run(
    program: Program,
    floaters: set[str],
    settings: SolverSettings,
    secondary: Secondary,
    score: SecondaryScore | None = None,
    method: str = "cp-sat",
) -> Roster:
    """Solve every vendor group (``num_workers`` at a time, one CP-SAT worker each), combine.

    ``method`` ``greedy``: :func:`_heuristic` instead of CP-SAT (no solver);
    ``auto``: the heuristic where its bound proves it within ``relative_gap``,
    else CP-SAT.
    """
    top = max((p.value for p in program.posts), default=0.0)
    factor = _VALUE_RESOLUTION / top if top > 0 else 1.0
    components = split_components(program, floaters)
    threads = max(1, min(settings.num_workers, len(components)))
    sizes = [_size(comp) for comp in components]
    schedule = _Schedule(settings, sizes, threads)

    def task(comp: Component) -> tuple[pd.DataFrame, pd.DataFrame, Solved]:
        if method in ("greedy", "auto"):
            quick = _heuristic(comp, factor)
            within = relative_gap(quick.value, quick.value_bound) <= settings.relative_gap
            if method == "greedy" or within:
                return (*_tables(comp, quick), quick)
        budget = schedule.next_budget(_size(comp))
        local = replace(settings, num_workers=1, time_limit_s=budget)
        deadline = time.perf_counter() + local.time_limit_s
        built = build_model(comp, factor)
        solved = solve_lexicographic(built, comp, secondary, local, deadline, score)
        return (*_tables(comp, solved), solved)

    # Largest groups first balances the threads; results are combined in a fixed order.
    # run_in_threads stops the solves on Ctrl-C instead of waiting out their limits.
    order = sorted(range(len(components)), key=lambda i: -sizes[i])
    results = run_in_threads(task, components, threads, order=order)
    solved_all = [r[2] for r in results]
    objective = sum(r.value for r in solved_all) / factor
    upper = sum(r.value_bound for r in solved_all) / factor
    return Roster(
        assignments=_sorted(
            pd.concat([r[0] for r in results], ignore_index=True),
            ["worker_id", "weekday", "window"],
        ),
        unfilled=_sorted(
            pd.concat([r[1] for r in results], ignore_index=True), ["post_id", "window", "weekday"]
        ),
        status="OPTIMAL" if all(r.status == "OPTIMAL" for r in solved_all) else "FEASIBLE",
        objective=objective,
        bound=upper,
        gap=relative_gap(objective, upper),
        wall_s=sum(r.wall_s for r in solved_all),
        floaters=tuple(sorted(floaters)),
    )


def build_roster(  # noqa: PLR0913 - the roster rules, each a keyword of [staffing]
    vendors: pd.DataFrame,
    workers: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    floater_share: float = 0.0,
    settings: SolverSettings | None = None,
    continuity_weight: int = 1,
    max_minutes_day: int = 300,
    max_days_week: int = 5,
    walk: WalkRule | None = None,
    method: str = "auto",
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

    with ``v_p`` the value scaled to integers (the largest to 100,000, every positive
    value to at least 1) and M larger
    than the whole continuity range, so staffed value always comes first.
    Floaters (``floater_share`` of each vendor's workers) are in the model too,
    each of their assignments costing more than the whole continuity range, so
    they stand only where no regular worker can: they cover before a post goes
    unfilled.  With ``walk``, a worker's morning post p and afternoon post q
    of a day satisfy ``x[w,p,d] + x[w,q,d] <= 1`` unless walkable.
    A demand ``priority`` adds to ``v_p`` a bonus larger than everything the
    lower priorities could add, so mandatory posts (priority 1) are staffed
    before any other; the reported objective and bound leave the bonus out.

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
    max_minutes_day, max_days_week : int
        Program-wide caps on every worker (``[staffing]`` of the config); a
        worker's own column may be stricter, the smaller limit applies.
    walk : WalkRule, optional
        Which morning and afternoon posts one worker may hold the same day
        (same school, or close enough: :func:`~safepassage.staffing.walk.walk_rule`);
        None allows any pair.
    method : str
        ``cp-sat`` (the model above: a proven bound, and the continuity round);
        ``greedy``: per weekday and window the most valuable post-windows
        first, each to the least-used free eligible regular worker (floaters
        last), then floaters spared and workers re-matched to home posts,
        without a solver, bounded by :func:`matching_bound`; ``auto`` (the
        default): greedy for each vendor group its bound proves within
        ``settings.relative_gap``, CP-SAT for the others.  On the citywide SY1617
        program greedy and CP-SAT give the same value, continuity and
        walkability (``bench/staffing.py``), greedy in about 1 s.

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
    program = read_program(
        vendors, workers, demand, Limits(int(max_minutes_day), int(max_days_week)), walk
    )
    floaters = pick_floaters(program.workers, floater_share)

    def secondary(built: Model, comp: Component) -> list[tuple[Any, int]]:
        cost = floater_cost(comp, continuity_weight)
        if continuity_weight:
            return continuity_terms(built, comp, continuity_weight, cost)
        return [(var, -cost) for (wi, _, _), var in built.x.items() if comp.is_floater(wi)]

    def score(comp: Component, assigned: list[Key]) -> int:
        return continuity_score(
            comp, assigned, continuity_weight, floater_cost(comp, continuity_weight)
        )

    if method not in ("auto", "cp-sat", "greedy"):
        raise ConfigError([f"staffing.method must be 'auto', 'greedy' or 'cp-sat', got {method!r}"])
    return _run(program, floaters, settings or SolverSettings(), secondary, score, method)


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
    max_minutes_day: int = 300,
    max_days_week: int = 5,
    walk: WalkRule | None = None,
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
    max_minutes_day, max_days_week, walk
        Program-wide caps on every worker and the walk rule, as in :func:`build_roster`.

    Returns
    -------
    Replan
    """
    program = read_program(
        vendors, workers, demand, Limits(int(max_minutes_day), int(max_days_week)), walk
    )
    kept = set(
        zip(
            previous.assignments["worker_id"],
            previous.assignments["post_id"],
            previous.assignments["window"],
            previous.assignments["weekday"],
            strict=True,
        )
    )
    floaters = set(previous.floaters) & {w.worker_id for w in program.workers}

    def secondary(built: Model, comp: Component) -> list[tuple[Any, int]]:
        return [
            (var, 1)
            for (wi, pi, day), var in built.x.items()
            if (comp.workers[wi].worker_id, comp.posts[pi].post_id, comp.posts[pi].window, day)
            in kept
        ]

    roster = _run(program, floaters, settings or SolverSettings(), secondary)
    return Replan(roster, _moves(previous.assignments, roster.assignments))
