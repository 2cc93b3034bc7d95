"""Staffing: choose posts and roster vendors' workers onto them (CP-SAT).

The names below are imported lazily, so a module of this package (e.g.
``safepassage.staffing.walk`` for ``safepassage replan``) loads without the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safepassage.staffing.choose import PostChoice, choose_posts, greedy_posts
    from safepassage.staffing.program import validate_roster_inputs
    from safepassage.staffing.roster import Replan, Roster, build_roster, replan
    from safepassage.staffing.solver import SolveOutcome, SolverSettings, scale, solve
    from safepassage.staffing.synthetic import synthetic_program

_LAZY = {
    "PostChoice": "choose",
    "choose_posts": "choose",
    "greedy_posts": "choose",
    "validate_roster_inputs": "program",
    "Replan": "roster",
    "Roster": "roster",
    "build_roster": "roster",
    "replan": "roster",
    "SolveOutcome": "solver",
    "SolverSettings": "solver",
    "scale": "solver",
    "solve": "solver",
    "synthetic_program": "synthetic",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safepassage.staffing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"safepassage.staffing.{module}"), name)
