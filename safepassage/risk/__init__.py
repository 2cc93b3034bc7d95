"""Risk per street segment from police incidents and hazard layers."""

from __future__ import annotations

from .cpd import CATEGORIES, DEFAULT_CATEGORY_WEIGHTS
from .evaluation import evaluate
from .hazards import read_hazard_points
from .incidents import Incidents, filter_school_days, in_window, read_incidents, recency_weights
from .surface import RiskModel, RiskSurface, score

__all__ = [
    "CATEGORIES",
    "DEFAULT_CATEGORY_WEIGHTS",
    "Incidents",
    "RiskModel",
    "RiskSurface",
    "evaluate",
    "filter_school_days",
    "in_window",
    "read_hazard_points",
    "read_incidents",
    "recency_weights",
    "score",
]
