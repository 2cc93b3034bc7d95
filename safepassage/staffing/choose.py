"""Choose posts among candidates: a maximal covering model on CP-SAT, and a greedy baseline.

Each candidate post (a street corner near a school) watches some route
segments.  A segment counts once however many chosen posts watch it.  The
optimisation picks at most a budget of posts, never two closer than a minimum
spacing, always including the mandatory ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from ortools.sat.python import cp_model
from scipy.spatial import cKDTree

from safepassage.errors import DataError, InfeasibleError, MissingColumnError
from safepassage.staffing.solver import SolverSettings, scale, solve

__all__ = ["PostChoice", "choose_posts", "greedy_posts"]

_CANDIDATE_COLUMNS = ("candidate_id", "school_id", "x", "y")
_VALUE_RESOLUTION = 1_000_000  # integer units given to the most valuable segment

SegmentValues = Mapping[str, float] | pd.DataFrame
Budget = int | Mapping[str, int]


@dataclass(frozen=True)
class PostChoice:
    """Chosen posts and how the choice was made.

    Attributes
    ----------
    selected : list of str
        Chosen candidate ids, sorted.
    covered_value : float
        Total value of the segments watched by at least one chosen post
        (in the unit of ``segment_value``).
    status : str
        CP-SAT status (``OPTIMAL``/``FEASIBLE``), or ``GREEDY`` for the baseline.
    objective, bound : float
        Objective and proven bound in the value unit (bound is NaN for greedy).
    gap : float
        Relative gap between objective and bound (NaN for greedy).
    wall_s : float
        Solve time, in seconds.
    """

    selected: list[str]
    covered_value: float
    status: str
    objective: float
    bound: float
    gap: float
    wall_s: float


@dataclass(frozen=True)
class _Problem:
    """Validated inputs with string ids and per-school budgets."""

    candidates: pd.DataFrame
    coverage: dict[str, list[str]]
    values: dict[str, float]
    budget: dict[str, int]  # key "" is the total budget
    conflicts: list[tuple[str, str]]
    mandatory: list[str]


def _segment_values(segment_value: SegmentValues) -> dict[str, float]:
    if isinstance(segment_value, pd.DataFrame):
        missing = [c for c in ("segment_id", "value") if c not in segment_value.columns]
        if missing:
            raise MissingColumnError(missing, found=segment_value.columns, source="segment_value")
        totals = segment_value.groupby(segment_value["segment_id"].astype(str))["value"].sum()
        return {str(k): float(v) for k, v in totals.items()}
    return {str(k): float(v) for k, v in segment_value.items()}


def _budgets(budget: Budget, candidates: pd.DataFrame) -> dict[str, int]:
    if isinstance(budget, int):
        if budget < 0:
            raise DataError(f"budget must be >= 0 posts, got {budget}")
        return {"": budget}
    per_school = {str(k): int(v) for k, v in budget.items()}
    schools = sorted(set(candidates["school_id"]))
    missing = [s for s in schools if s not in per_school]
    negative = [f"{s}={b}" for s, b in per_school.items() if b < 0]
    problems = []
    if missing:
        problems.append(f"budget has no entry for school(s) {', '.join(missing)}")
    if negative:
        problems.append(f"negative budget(s): {', '.join(negative)}")
    if problems:
        raise DataError("; ".join(problems) + "; give every school a budget >= 0 posts")
    return per_school


def _spacing_conflicts(candidates: pd.DataFrame, min_spacing_m: float) -> list[tuple[str, str]]:
    """Pairs of candidates closer than ``min_spacing_m`` metres, as sorted id pairs."""
    if min_spacing_m <= 0 or len(candidates) < 2:
        return []
    points = candidates[["x", "y"]].to_numpy(dtype=float)
    ids = candidates["candidate_id"].to_list()
    pairs = cKDTree(points).query_pairs(r=min_spacing_m, output_type="ndarray")
    conflicts = []
    for i, j in pairs:
        if math.dist(points[i], points[j]) < min_spacing_m:
            a, b = sorted((ids[i], ids[j]))
            conflicts.append((a, b))
    return sorted(conflicts)


def _check_mandatory(problem: _Problem) -> None:
    """Raise InfeasibleError when the mandatory posts alone break a hard rule."""
    mandatory = set(problem.mandatory)
    clashes = [f"{a} and {b}" for a, b in problem.conflicts if a in mandatory and b in mandatory]
    if clashes:
        raise InfeasibleError(
            f"mandatory posts closer than the minimum spacing: {'; '.join(clashes)}; "
            "drop one of each pair from mandatory or lower min_spacing_m"
        )
    chosen = problem.candidates[problem.candidates["candidate_id"].isin(mandatory)]
    if "" in problem.budget:
        if len(chosen) > problem.budget[""]:
            raise InfeasibleError(
                f"{len(chosen)} mandatory posts ({', '.join(sorted(mandatory))}) exceed "
                f"the budget of {problem.budget['']} posts; raise the budget or drop some"
            )
        return
    over = []
    for school, group in chosen.groupby("school_id"):
        if len(group) > problem.budget[str(school)]:
            ids = ", ".join(sorted(group["candidate_id"]))
            over.append(
                f"school {school}: {len(group)} mandatory ({ids}) > budget "
                f"{problem.budget[str(school)]}"
            )
    if over:
        raise InfeasibleError("mandatory posts exceed the budget: " + "; ".join(over))


def _prepare(
    candidates: pd.DataFrame,
    coverage: Mapping[str, Sequence[str]],
    segment_value: SegmentValues,
    budget: Budget,
    min_spacing_m: float,
    mandatory: Iterable[str],
) -> _Problem:
    missing = [c for c in _CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise MissingColumnError(missing, found=candidates.columns, source="candidates")
    table = candidates.loc[:, list(_CANDIDATE_COLUMNS)].copy()
    table["candidate_id"] = table["candidate_id"].astype(str)
    table["school_id"] = table["school_id"].astype(str)
    table = table.sort_values("candidate_id", kind="stable").reset_index(drop=True)
    known = set(table["candidate_id"])
    problems = []
    duplicated = sorted(set(table.loc[table["candidate_id"].duplicated(), "candidate_id"]))
    if duplicated:
        problems.append(f"duplicate candidate_id(s): {', '.join(duplicated)}")
    mandatory_ids = sorted({str(m) for m in mandatory})
    unknown = [m for m in mandatory_ids if m not in known]
    if unknown:
        problems.append(f"mandatory id(s) not among the candidates: {', '.join(unknown)}")
    cover = {str(c): sorted({str(s) for s in segs}) for c, segs in coverage.items()}
    strays = sorted(c for c in cover if c not in known)
    if strays:
        problems.append(f"coverage names unknown candidate(s): {', '.join(strays)}")
    if problems:
        raise DataError("; ".join(problems))
    problem = _Problem(
        candidates=table,
        coverage=cover,
        values=_segment_values(segment_value),
        budget=_budgets(budget, table),
        conflicts=_spacing_conflicts(table, min_spacing_m),
        mandatory=mandatory_ids,
    )
    _check_mandatory(problem)
    return problem


def _covered_value(problem: _Problem, selected: Iterable[str]) -> float:
    segments = {s for c in selected for s in problem.coverage.get(c, [])}
    return float(sum(problem.values.get(s, 0.0) for s in segments))


def choose_posts(
    candidates: pd.DataFrame,
    coverage: Mapping[str, Sequence[str]],
    segment_value: SegmentValues,
    *,
    budget: Budget,
    min_spacing_m: float,
    mandatory: Iterable[str] = (),
    settings: SolverSettings | None = None,
) -> PostChoice:
    r"""Choose posts that watch the most valuable set of route segments.

    The maximal covering location model, solved with CP-SAT::

        maximise    sum_s v_s y_s
        subject to  y_s <= sum_{c in C(s)} x_c      for every segment s
                    sum_{c in K} x_c <= B_K          for the total budget, or per school K
                    x_i + x_j <= 1                   for every pair closer than D metres
                    x_c = 1                          for every mandatory candidate c
                    x_c, y_s in {0, 1}

    where ``C(s)`` are the candidates watching segment ``s``, ``v_s`` its value
    (scaled to integers, the largest to 1e6) and ``D = min_spacing_m``.

    Parameters
    ----------
    candidates : pandas.DataFrame
        Columns ``candidate_id``, ``school_id``, ``x``, ``y`` (metres, local metric CRS).
    coverage : mapping of candidate id to sequence of segment ids
        The segments each candidate watches.
    segment_value : mapping of segment id to float, or pandas.DataFrame
        Value of watching each segment, or a table ``segment_id``, ``window``,
        ``value`` whose values are summed over windows.
    budget : int or mapping of school id to int
        Most posts in total, or per school (every candidate's school needs an entry).
    min_spacing_m : float
        No two chosen posts closer than this, in metres.
    mandatory : iterable of str
        Candidates always chosen.
    settings : SolverSettings, optional
        Solver parameters; defaults to ``SolverSettings()``.

    Returns
    -------
    PostChoice

    Raises
    ------
    InfeasibleError
        When the mandatory posts exceed a budget or two of them are too close.
    DataError
        On unknown ids, duplicate candidates or missing budgets.
    """
    problem = _prepare(candidates, coverage, segment_value, budget, min_spacing_m, mandatory)
    model = cp_model.CpModel()
    ids = problem.candidates["candidate_id"].to_list()
    x = {c: model.new_bool_var(f"x[{c}]") for c in ids}
    watchers: dict[str, list[str]] = {}
    for c in ids:
        for s in problem.coverage.get(c, []):
            watchers.setdefault(s, []).append(c)
    segments = sorted(s for s in watchers if problem.values.get(s, 0.0) > 0)
    top = max((problem.values[s] for s in segments), default=1.0)
    weights = scale([problem.values[s] for s in segments], _VALUE_RESOLUTION / top)
    y = {s: model.new_bool_var(f"y[{s}]") for s in segments}
    for s in segments:
        model.add(y[s] <= sum(x[c] for c in watchers[s]))
    if "" in problem.budget:
        model.add(sum(x.values()) <= problem.budget[""])
    else:
        for school, group in problem.candidates.groupby("school_id"):
            model.add(sum(x[c] for c in group["candidate_id"]) <= problem.budget[str(school)])
    for a, b in problem.conflicts:
        model.add_at_most_one(x[a], x[b])
    for c in problem.mandatory:
        model.add(x[c] == 1)
    model.maximize(sum(int(w) * y[s] for w, s in zip(weights, segments, strict=True)))
    outcome = solve(model, settings or SolverSettings())
    selected = sorted(c for c in ids if outcome.value(x[c]))
    unit = top / _VALUE_RESOLUTION
    return PostChoice(
        selected=selected,
        covered_value=_covered_value(problem, selected),
        status=outcome.status,
        objective=outcome.objective * unit,
        bound=outcome.bound * unit,
        gap=outcome.gap,
        wall_s=outcome.wall_s,
    )


def greedy_posts(
    candidates: pd.DataFrame,
    coverage: Mapping[str, Sequence[str]],
    segment_value: SegmentValues,
    *,
    budget: Budget,
    min_spacing_m: float,
    mandatory: Iterable[str] = (),
) -> PostChoice:
    """Greedy baseline for :func:`choose_posts` with the same inputs and rules.

    Starts from the mandatory posts, then repeatedly adds the candidate with the
    largest gain in covered value that keeps within its budget and the spacing,
    ties broken by candidate id, until no candidate adds value.

    Returns
    -------
    PostChoice
        ``status="GREEDY"``; ``bound`` and ``gap`` are NaN.
    """
    problem = _prepare(candidates, coverage, segment_value, budget, min_spacing_m, mandatory)
    school_of = dict(
        zip(problem.candidates["candidate_id"], problem.candidates["school_id"], strict=True)
    )
    neighbours: dict[str, set[str]] = {}
    for a, b in problem.conflicts:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    selected = list(problem.mandatory)
    covered = {s for c in selected for s in problem.coverage.get(c, [])}
    used: dict[str, int] = {}
    for c in selected:
        key = "" if "" in problem.budget else school_of[c]
        used[key] = used.get(key, 0) + 1
    blocked = set(selected).union(*(neighbours.get(c, set()) for c in selected))
    started = time.perf_counter()
    while True:
        best, best_gain = None, 0.0
        for c in school_of:
            key = "" if "" in problem.budget else school_of[c]
            if c in blocked or used.get(key, 0) >= problem.budget[key]:
                continue
            gain = sum(
                problem.values.get(s, 0.0) for s in problem.coverage.get(c, []) if s not in covered
            )
            if gain > best_gain:
                best, best_gain = c, gain
        if best is None:
            break
        key = "" if "" in problem.budget else school_of[best]
        used[key] = used.get(key, 0) + 1
        selected.append(best)
        covered.update(problem.coverage.get(best, []))
        blocked |= {best} | neighbours.get(best, set())
    value = _covered_value(problem, selected)
    wall_s = time.perf_counter() - started
    return PostChoice(sorted(selected), value, "GREEDY", value, float("nan"), float("nan"), wall_s)
