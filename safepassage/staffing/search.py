"""Solve one vendor group: greedy hint, value first, then continuity (lexicographic).

Phase 1 maximises staffed value from a greedy start; phase 2 keeps that value
and maximises the secondary terms (continuity, or kept assignments when
re-planning), hinted by the phase-1 roster re-matched to home posts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import linear_sum_assignment

from safepassage.errors import SafePassageError
from safepassage.schedule import WEEKDAYS, WINDOWS
from safepassage.staffing.model import Component, Key, Model, unit_value
from safepassage.staffing.program import can_stand
from safepassage.staffing.solver import SolverSettings, solve, solve_within


def greedy_roster(comp: Component) -> set[Key]:
    """Greedy roster used as the phase-1 hint, so CP-SAT starts no worse than greedy.

    Per weekday and window, the highest priority then most valuable post-windows first; each staffed
    unit goes to an eligible free worker within limits: a regular worker before a floater, then
    the one who stood at the same post that morning, then one who held this post-window on an
    earlier day (continuity), then the one who has worked fewest days.
    """
    days_used: dict[int, set[str]] = {wi: set() for wi in range(len(comp.workers))}
    minutes: dict[tuple[int, str], int] = {}
    morning: dict[tuple[int, str], int] = {}  # the worker's morning post-window that day
    held: set[tuple[int, int]] = set()  # (worker, post-window) held on some day so far
    order = sorted(
        range(len(comp.posts)), key=lambda pi: (-comp.posts[pi].priority, -comp.posts[pi].value, pi)
    )
    chosen: set[Key] = set()
    for day in WEEKDAYS:
        for window in WINDOWS:
            busy: set[int] = set()
            for pi in order:
                post = comp.posts[pi]
                if post.window != window or day not in post.days:
                    continue
                for _ in range(post.headcount):
                    free = [
                        wi
                        for wi, w in enumerate(comp.workers)
                        if wi not in busy
                        and can_stand(w, post, day, comp.serves)
                        and minutes.get((wi, day), 0) + post.minutes <= w.max_minutes_day
                        and (day in days_used[wi] or len(days_used[wi]) < w.max_days_week)
                        and ((wi, day) not in morning or comp.walkable(morning[wi, day], pi))
                    ]
                    if not free:
                        break

                    # regular workers first: a floater covers only what they cannot
                    wi = min(free, key=partial(_rank, comp, pi, day, morning, held, days_used))
                    held.add((wi, pi))
                    busy.add(wi)
                    days_used[wi].add(day)
                    minutes[wi, day] = minutes.get((wi, day), 0) + post.minutes
                    chosen.add((wi, pi, day))
                    if window == "am":
                        morning[wi, day] = pi
    return chosen


def _rank(
    comp: Component,
    pi: int,
    day: str,
    morning: dict[tuple[int, str], int],
    held: set[tuple[int, int]],
    days_used: dict[int, set[str]],
    wi: int,
) -> tuple[bool, bool, bool, int, int]:
    """The greedy's order of workers for post-window ``pi`` on ``day`` (smallest first)."""
    am = morning.get((wi, day))
    same = am is not None and comp.posts[am].post_id == comp.posts[pi].post_id
    return (comp.is_floater(wi), not same, (wi, pi) not in held, len(days_used[wi]), wi)


def _eligible(comp: Component, wi: int, pi: int, day: str, minutes_cap: int) -> bool:
    """``can_stand``, and the swap never lengthens the worker's day beyond ``minutes_cap``."""
    worker, post = comp.workers[wi], comp.posts[pi]
    return can_stand(worker, post, day, comp.serves) and post.minutes <= minutes_cap


def _home_posts(comp: Component, slots: dict[tuple[str, str], list[Key]]) -> dict[str, Any]:
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
                common[wi, twins] += 0.5
                far = [
                    q
                    for q, p in enumerate(comp.posts)
                    if p.window == "pm" and not comp.walkable(pi, q)
                ]
                common[wi, far] = -1.0  # a home pair is walkable
        rows, cols = linear_sum_assignment(common, maximize=True)
        homes[window] = {
            int(r): int(c) for r, c in zip(rows, cols, strict=True) if common[r, c] > 0
        }
    return homes


def rematch_homes(comp: Component, assigned: list[Key]) -> list[Key]:
    """Re-match each day-window's workers to the same staffed posts, favouring home posts.

    Keeps who works when and which posts are staffed (so the value) and never
    lengthens a worker's day.  Home posts are walkable morning-afternoon pairs
    (:func:`_home_posts`); a day's mornings are re-matched first, then its
    afternoons among the posts walkable from each worker's new morning post.  A
    day-window that cannot be re-matched keeps its pairs, and a day whose
    afternoons cannot follow its new mornings keeps the day as given (walkable).
    """
    slots: dict[tuple[str, str], list[Key]] = {}
    for key in assigned:
        slots.setdefault((key[2], comp.posts[key[1]].window), []).append(key)
    homes = _home_posts(comp, slots)
    result = []
    for day in WEEKDAYS:
        # a morning is always re-matched or kept (None only for an afternoon)
        morning = _rematch(comp, slots.get((day, "am"), []), homes["am"], {}) or []
        am = {wi: pi for wi, pi, _ in morning}
        afternoon = _rematch(comp, slots.get((day, "pm"), []), homes["pm"], am)
        if afternoon is None:
            given = slots.get((day, "am"), []) + slots.get((day, "pm"), [])
            result.extend(given)
        else:
            result.extend(morning + afternoon)
    return sorted(result)


def _rematch(
    comp: Component, keys: list[Key], homes: dict[int, int], morning: dict[int, int]
) -> list[Key] | None:
    """One day-window's workers matched to its staffed posts (home first, then their own);
    an afternoon post must be walkable from the worker's ``morning`` post.  The pairs
    as given when no worker can move; None when the walk rule admits no matching."""
    if not keys:
        return []
    day = keys[0][2]
    posts = [pi for _, pi, _ in keys]
    score = np.full((len(keys), len(keys)), -1e6)
    for r, (wi, pi, _) in enumerate(keys):
        cap = comp.posts[pi].minutes
        for c, qi in enumerate(posts):
            walkable = wi not in morning or comp.walkable(morning[wi], qi)
            if walkable and _eligible(comp, wi, qi, day, cap):
                score[r, c] = 2.0 * (homes.get(wi) == qi) + 1.0 * (qi == pi)
    rows, cols = linear_sum_assignment(score, maximize=True)
    if score[rows, cols].min() >= 0:
        return [(keys[r][0], posts[c], day) for r, c in zip(rows, cols, strict=True)]
    if not morning:
        return list(keys)  # a morning no one can change: kept
    return None


def spare_floaters(comp: Component, assigned: list[Key]) -> list[Key]:
    """Hand each floater's post-window to a free regular worker who may take it.

    Keeps the staffed post-windows (so the value); a regular worker takes one
    when free in that window that day, eligible, within the day's minutes and
    the week's days, and walkable from the post of the other window.
    """
    if not comp.floaters:
        return assigned
    held = {(wi, day, comp.posts[pi].window): pi for wi, pi, day in assigned}
    minutes: dict[tuple[int, str], int] = {}
    days: dict[int, set[str]] = {}
    for wi, pi, day in assigned:
        minutes[wi, day] = minutes.get((wi, day), 0) + comp.posts[pi].minutes
        days.setdefault(wi, set()).add(day)
    regulars = range(len(comp.workers) - len(comp.floaters))
    result = []
    for wi, pi, day in sorted(assigned):
        post = comp.posts[pi]
        if comp.is_floater(wi):
            twin = "pm" if post.window == "am" else "am"
            for rj in regulars:
                worker, other = comp.workers[rj], held.get((rj, day, twin))
                if (
                    (rj, day, post.window) not in held
                    and can_stand(worker, post, day, comp.serves)
                    and minutes.get((rj, day), 0) + post.minutes <= worker.max_minutes_day
                    and (
                        day in days.get(rj, set())
                        or len(days.get(rj, set())) < worker.max_days_week
                    )
                    and (other is None or comp.walkable(pi, other))
                ):
                    del held[wi, day, post.window]
                    held[rj, day, post.window] = pi
                    minutes[rj, day] = minutes.get((rj, day), 0) + post.minutes
                    days.setdefault(rj, set()).add(day)
                    wi = rj
                    break
        result.append((wi, pi, day))
    return sorted(result)


@dataclass(frozen=True)
class Solved:
    assigned: list[Key]
    status: str
    value: int  # integer value staffed (priority bonuses left out)
    value_bound: int  # bound on it with at least the staffed priority bonuses
    wall_s: float


def _solved(built: Model, assigned: list[Key], status: str, bound: int, wall_s: float) -> Solved:
    """Strip the priority bonuses from the value and its bound."""
    total = sum(built.value[k] for k in assigned)
    bonus = sum(built.bonus[k] for k in assigned)
    return Solved(assigned, status, total - bonus, max(bound, total) - bonus, wall_s)


Secondary = Callable[[Model, Component], list[tuple[Any, int]]]
# the value of the secondary terms for a roster (its keys), to compare phase 2 with its hint
SecondaryScore = Callable[[Component, list[Key]], int]


def _hint(model: cp_model.CpModel, variables: list[Any], on: list[bool]) -> None:
    """Set the model's solution hint to ``on`` for ``variables`` (replacing any hint).

    Written into the proto in one go: ``add_hint`` per variable costs seconds on a
    program-sized model and gives the same hint.
    """
    hint = model.proto.solution_hint
    hint.vars.clear()
    hint.values.clear()
    hint.vars.extend([var.index for var in variables])
    hint.values.extend([int(flag) for flag in on])


def solve_lexicographic(
    built: Model,
    comp: Component,
    secondary: Secondary,
    settings: SolverSettings,
    deadline: float,
    score: SecondaryScore | None = None,
) -> Solved:
    """Maximise staffed value, then the secondary terms without losing any value.

    Phase 1 maximises value alone (its status, bound and gap are reported).
    Phase 2 adds ``value >= phase-1 value``, the secondary literals, and the
    phase-1 solution re-matched for continuity (:func:`rematch_homes`) as a hint, and
    maximises the secondary terms in the time left; when it finds nothing, or
    (by ``score``) something worse than that hint, the hint stands.  (CP-SAT
    completes the hint's auxiliary literals itself and may stop, at a
    deterministic limit, below it: on the citywide SY1617 program phase 2 ended
    at continuity -1,305 against its hint's -1,237.)
    """
    keys = list(built.x)
    variables = [built.x[k] for k in keys]
    value_expr = cp_model.LinearExpr.weighted_sum(variables, [built.value[k] for k in keys])
    built.model.maximize(value_expr)
    start = greedy_roster(comp)
    _hint(built.model, variables, [key in start for key in keys])
    first = solve_within(built.model, settings)
    if first is None:  # no solution in time: the greedy roster stands, bounded by all demand
        ceiling = sum(
            unit_value(p.value, built.factor) * p.headcount * len(p.days) for p in comp.posts
        )
        bonus = sum(built.bonus[k] for k in start)
        return _solved(built, sorted(start), "FEASIBLE", ceiling + bonus, settings.time_limit_s)
    chosen = first.values(variables)
    terms = secondary(built, comp)
    left = deadline - time.perf_counter()
    wall_s = first.wall_s
    if terms and (settings.deterministic or left > 0.05):
        value = int(sum(built.value[k] for k, on in zip(keys, chosen, strict=True) if on))
        built.model.add(value_expr >= value)
        built.model.maximize(
            cp_model.LinearExpr.weighted_sum([var for var, _ in terms], [c for _, c in terms])
        )
        phase1 = [k for k, on in zip(keys, chosen, strict=True) if on]
        hint = set(rematch_homes(comp, spare_floaters(comp, phase1)))
        _hint(built.model, variables, [key in hint for key in keys])  # replaces phase 1's
        fallback = np.array([key in hint for key in keys], dtype=np.int64)
        # Continuity is rarely proven optimal: give it at most a quarter of the budget.
        quarter = max(1.0, settings.time_limit_s / 4)
        limit = quarter if settings.deterministic else min(left, quarter)
        try:
            second = solve(built.model, replace(settings, time_limit_s=limit))
        except SafePassageError:
            second = None  # keep the re-matched roster when phase 2 finds nothing in time
        chosen = fallback if second is None else second.values(variables)
        if second is not None and score is not None:
            got = [k for k, on in zip(keys, chosen, strict=True) if on]
            if score(comp, got) < score(comp, sorted(hint)):
                chosen = fallback  # phase 2 stopped below its own hint: the hint stands
        wall_s += 0.0 if second is None else second.wall_s
    assigned = [k for k, on in zip(keys, chosen, strict=True) if on]
    return _solved(built, assigned, first.status, int(first.bound), wall_s)
