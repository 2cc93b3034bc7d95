"""Staffing: choose posts and roster vendors' workers onto them (CP-SAT)."""

from __future__ import annotations

from safepassage.staffing._cpsat import SolveOutcome, SolverSettings, scale, solve
from safepassage.staffing.choose import PostChoice, choose_posts, greedy_posts
from safepassage.staffing.roster import (
    WEEKDAYS,
    WINDOWS,
    Replan,
    Roster,
    build_roster,
    parse_school_hours,
    replan,
    school_windows,
    validate_roster_inputs,
)
from safepassage.staffing.synthetic import synthetic_program

__all__ = [
    "WEEKDAYS",
    "WINDOWS",
    "PostChoice",
    "Replan",
    "Roster",
    "SolveOutcome",
    "SolverSettings",
    "build_roster",
    "choose_posts",
    "greedy_posts",
    "parse_school_hours",
    "replan",
    "scale",
    "school_windows",
    "solve",
    "synthetic_program",
    "validate_roster_inputs",
]
