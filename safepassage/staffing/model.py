"""The roster's CP-SAT model: vendor groups, assignment variables and hard rules.

Vendors sharing a school form one group (a *component*) solved on its own; the
model of a group has one Boolean per feasible (worker, post-window, weekday),
headcount, one-post-per-window, daily-minute and days-per-week rules, and the
continuity literals that :func:`~safepassage.staffing.roster.build_roster`
optimises second.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from safepassage.errors import ConfigError
from safepassage.schedule import WEEKDAYS
from safepassage.staffing.program import PostWindow, Program, Worker, can_stand
from safepassage.staffing.walk import WalkRule


@dataclass(frozen=True)
class Component:
    """Vendors that share schools, their workers and their post-windows.

    ``workers`` lists the regular workers first and the floaters last (also in
    ``floaters``): a floater stands at a post-window only where no regular
    worker can, so floaters cover before a post goes unfilled.
    """

    serves: dict[str, frozenset[str]]
    workers: list[Worker]
    floaters: list[Worker]
    posts: list[PostWindow]
    walk: WalkRule | None = None

    def is_floater(self, wi: int) -> bool:
        """Is worker index ``wi`` one of the floaters (the last ``len(floaters)``)?"""
        return wi >= len(self.workers) - len(self.floaters)

    def walkable(self, first: int, second: int) -> bool:
        """May one worker hold post-windows ``first`` and ``second`` (indices, either order)
        on the same day?"""
        if self.walk is None:
            return True
        a, b = self.posts[first], self.posts[second]
        return self.walk.allows(a.post_id, a.school_id, b.post_id, b.school_id)


def pick_floaters(workers: Iterable[Worker], share: float) -> set[str]:
    """Worker ids kept as floaters: ``ceil(share * n)`` per vendor.

    The least available workers are held back (fewest weekday-windows, then
    fewest days, then fewest minutes a day, then worker id), so the most
    available stay on the roster and coverage suffers least.
    """
    if not 0.0 <= share <= 1.0:
        raise ConfigError([f"floater_share must be between 0 and 1, got {share!r}"])
    by_vendor: dict[str, list[Worker]] = {}
    for worker in workers:
        by_vendor.setdefault(worker.vendor_id, []).append(worker)
    held: set[str] = set()
    for group in by_vendor.values():
        group.sort(key=lambda w: (w.slots, w.max_days_week, w.max_minutes_day, w.worker_id))
        held.update(w.worker_id for w in group[: math.ceil(share * len(group) - 1e-9)])
    return held


def split_components(program: Program, floaters: set[str]) -> list[Component]:
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
        components.append(
            Component(
                serves=serves,
                workers=[w for w in staff if w.worker_id not in floaters]
                + [w for w in staff if w.worker_id in floaters],
                floaters=[w for w in staff if w.worker_id in floaters],
                posts=[p for p in program.posts if p.school_id in schools],
                walk=program.walk,
            )
        )
    return components


# ----------------------------------------------------------------------------- model

Key = tuple[int, int, str]  # (worker index, post-window index, weekday)


@dataclass(frozen=True)
class Model:
    model: cp_model.CpModel
    x: dict[Key, Any]
    value: dict[Key, int]  # integer value of each assignment (priority bonus included)
    factor: float  # integer value units per value unit
    bonus: dict[Key, int]  # the priority part of ``value`` (not staffed value)


def _assignment_vars(comp: Component, model: cp_model.CpModel) -> dict[Key, Any]:
    """One Boolean per feasible (worker, post-window, weekday), in sorted order."""
    x: dict[Key, Any] = {}
    for wi, worker in enumerate(comp.workers):
        for pi, post in enumerate(comp.posts):
            for day in post.days:
                if can_stand(worker, post, day, comp.serves):
                    x[wi, pi, day] = model.new_bool_var(f"x{wi}_{pi}_{day}")
    return x


def _worker_day_rules(
    model: cp_model.CpModel,
    comp: Component,
    wi: int,
    day_vars: dict[str, list[Key]],
    x: dict[Key, Any],
) -> None:
    """One post per window, daily minutes and days per week for worker ``wi``.

    Written tight for the LP: ``sum_{p in window} x <= worked[d]`` per window
    (rather than ``sum x <= 2 worked``), and when no morning-afternoon pair fits
    in the daily minutes, one at-most-one over the whole day.
    """
    worker = comp.workers[wi]
    limit_days = len(day_vars) > worker.max_days_week
    worked_days = []
    for day, keys in day_vars.items():
        windows: dict[str, list[Key]] = {}
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


def build_model(comp: Component, value_factor: float) -> Model:
    """Hard rules: headcount, one post per window, daily minutes, days per week."""
    model = cp_model.CpModel()
    x = _assignment_vars(comp, model)
    per_post: dict[tuple[int, str], list[Any]] = {}
    per_worker: dict[int, dict[str, list[Key]]] = {}
    for key, var in x.items():
        wi, pi, day = key
        per_post.setdefault((pi, day), []).append(var)
        per_worker.setdefault(wi, {}).setdefault(day, []).append(key)
    for (pi, _), variables in per_post.items():
        if len(variables) > comp.posts[pi].headcount:
            model.add(sum(variables) <= comp.posts[pi].headcount)
    near = _near_schools(comp.walk) if comp.walk is not None else set()
    for wi, day_vars in per_worker.items():
        _worker_day_rules(model, comp, wi, day_vars, x)
        if comp.walk is not None:
            for day, keys in day_vars.items():
                _walk_rules(model, comp, (wi, day), keys, x, near)
    base = {key: unit_value(comp.posts[key[1]].value, value_factor) for key in x}
    bonus = _priority_bonus(comp, x, value_factor)
    value = {key: base[key] + bonus[key] for key in x}
    return Model(model, x, value, value_factor, bonus)


def _near_schools(walk: WalkRule) -> set[tuple[str, str]]:
    """Pairs of schools (both orders) with at least one pair of posts within the walk rule;
    every other pair of different schools is too far apart at every post."""
    pairs = set()
    for a, b in walk.close:
        s, t = walk.school_of.get(a, ""), walk.school_of.get(b, "")
        pairs |= {(s, t), (t, s)}
    return pairs


def _walk_rules(
    model: cp_model.CpModel,
    comp: Component,
    worker_day: tuple[int, str],
    keys: list[Key],
    x: dict[Key, Any],
    near: set[tuple[str, str]],
) -> None:
    """No morning and afternoon post of one worker on one day further apart than the rule.

    Written per pair of schools: one Boolean per school and window says the
    worker stands there (the sum of that school's assignments, at most one per
    window), so a pair of schools whose posts are all too far apart (not in
    ``near``, :func:`_near_schools`) costs one two-term constraint; a pair with
    some posts close enough gets one constraint per morning post, over the
    afternoon posts too far from it.
    """
    wi, day = worker_day
    by_school: dict[tuple[str, str], list[Key]] = {}
    for key in keys:
        post = comp.posts[key[1]]
        by_school.setdefault((post.window, post.school_id), []).append(key)
    am = {s: ks for (w, s), ks in by_school.items() if w == "am"}
    pm = {s: ks for (w, s), ks in by_school.items() if w == "pm"}
    if not am or not pm or (len(am) == 1 and am.keys() == pm.keys()):
        return
    at: dict[tuple[str, str], Any] = {}

    def there(window: str, school: str, group: list[Key]) -> Any:
        if (window, school) not in at:
            if len(group) == 1:
                at[window, school] = x[group[0]]
            else:
                at[window, school] = model.new_bool_var(f"at{wi}_{day}_{window}_{school}")
                model.add(sum(x[k] for k in group) == at[window, school])
        return at[window, school]

    for s, am_keys in am.items():
        for t, pm_keys in pm.items():
            if s == t:
                continue
            if (s, t) not in near:
                model.add(there("am", s, am_keys) + there("pm", t, pm_keys) <= 1)
                continue
            far = {a: [b for b in pm_keys if not comp.walkable(a[1], b[1])] for a in am_keys}
            for a, bs in far.items():
                if bs:
                    model.add(x[a] + sum(x[b] for b in bs) <= 1)


def unit_value(value: float, factor: float) -> int:
    """A post-window's value in the model's integer units, at least 1: a chosen post
    is staffed in each of its windows, even one its value rounds (or falls) to nothing in."""
    return max(round(value * factor), 1)


def _priority_bonus(comp: Component, x: dict[Key, Any], value_factor: float) -> dict[Key, int]:
    """Bonus per assignment that puts every higher priority before all lower ones.

    Priority level k's unit bonus exceeds the most the whole model could gain
    from all lower levels (value and bonus of every unit of headcount, every
    day), so one more staffed post-window of a higher priority always wins.
    """
    levels = sorted({p.priority for p in comp.posts})
    unit = dict.fromkeys(levels[:1], 0)
    below = 0  # most the model can gain from the levels done so far
    for low, high in itertools.pairwise(levels):
        below += sum(
            (unit_value(p.value, value_factor) + unit[low]) * p.headcount * len(p.days)
            for p in comp.posts
            if p.priority == low
        )
        unit[high] = below + 1
    return {key: unit[comp.posts[key[1]].priority] for key in x}


def floater_cost(comp: Component, weight: int) -> int:
    """Cost of one floater assignment: more than the whole continuity range (at
    most two literals of ``weight`` per possible assignment), so the secondary
    objective first spares the floaters, then keeps continuity."""
    return 2 * weight * len(comp.workers) * len(comp.posts) * len(WEEKDAYS) + 1


def continuity_score(
    comp: Component, assigned: Iterable[Key], weight: int, floater: int = 0
) -> int:
    """The value :func:`continuity_terms` give the roster ``assigned``: ``weight`` x
    (posts held morning and afternoon by the same worker - distinct post-windows
    per worker) - ``floater`` x floater assignments."""
    assigned = list(assigned)
    used = sum(1 for wi, _, _ in assigned if comp.is_floater(wi))
    holds = {(wi, pi) for wi, pi, _ in assigned}
    windows: dict[tuple[int, str], int] = {}
    for wi, pi in holds:
        key = (wi, comp.posts[pi].post_id)
        windows[key] = windows.get(key, 0) + 1
    same = sum(1 for n in windows.values() if n == 2)
    return weight * (same - len(holds)) - floater * used


def continuity_terms(
    built: Model, comp: Component, weight: int, floater: int
) -> list[tuple[Any, int]]:
    """Named bonus and penalty literals (shift_scheduling_sat.py style).

    Each floater assignment costs ``floater`` (see :func:`floater_cost`).

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
    terms += [(var, -floater) for (wi, _, _), var in built.x.items() if comp.is_floater(wi)]
    return terms
