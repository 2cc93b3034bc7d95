"""Staffing: choose posts and roster vendors' workers onto them (CP-SAT)."""

from __future__ import annotations

from safepassage.staffing.choose import PostChoice, choose_posts, greedy_posts
from safepassage.staffing.program import validate_roster_inputs
from safepassage.staffing.roster import Replan, Roster, build_roster, replan
from safepassage.staffing.solver import SolveOutcome, SolverSettings, scale, solve
from safepassage.staffing.synthetic import synthetic_program

__all__ = [
    "PostChoice",
    "Replan",
    "Roster",
    "SolveOutcome",
    "SolverSettings",
    "build_roster",
    "choose_posts",
    "greedy_posts",
    "replan",
    "scale",
    "solve",
    "synthetic_program",
    "validate_roster_inputs",
]
