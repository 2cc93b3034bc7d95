"""What the maps read from a plan, and the tables both map kinds derive from it.

:class:`PlanLike` is the structural type of a plan result; the helpers pick the
schools to show and join the roster to each school's window times.  Used by
:mod:`safepassage.maps.web` and :mod:`safepassage.maps.printed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import geopandas as gpd
import pandas as pd

from ..errors import DataError
from ..routes.network import WalkNetwork
from .assets import require_columns

__all__ = [
    "PlanLike",
    "RiskLike",
    "post_schedule",
    "school_names",
    "select_schools",
    "window_times",
]


class RiskLike(Protocol):
    """A risk surface: ``table`` has ``edge_id``, ``window`` (am/pm), ``risk`` (per km per year)."""

    @property
    def table(self) -> pd.DataFrame: ...


class PlanLike(Protocol):
    """What the maps read from a plan: the attributes of the same names of
    :class:`safepassage.result.PlanResult`, whose docstring lists every table's
    columns (the one home of that contract).  ``risk`` and ``origins`` may be None,
    ``roster`` is None when the roster was skipped; ``plan_name``, ``plan_date`` and
    ``min_students`` are the title, the ISO date and the smallest origin that may be
    shown.  Tests and benchmarks pass small stand-ins of this shape.

    The packets also read the vendors' people (either table may be empty):

    ``staff``
        Every worker: ``worker_id``, ``vendor_id``, ``name``, ``phone`` (text,
        empty when unknown).
    ``floaters``
        Workers held back to cover absences: ``worker_id``, ``vendor_id``,
        ``name``, ``phone``, ``school_id``, ``post_id`` (where they stand by;
        empty: at the school), ``weekdays``, ``windows`` (``;``-separated, or
        lists; empty: every weekday, both windows).

    ``vendors`` may carry ``contact`` (a person) and ``phone``; empty is absent.

    The route review's tables are None when the plan has no designated route:

    ``review``
        One row per designated route: ``route_id``, ``school_id``, ``length_m``,
        ``matched_share``, ``riskiest`` (text), ``riskiest_edge_ids`` (network
        edge ids of that stretch) and per window ``students_<w>``, ``risk_<w>``,
        ``exposure_<w>``, ``uncovered_exposure_<w>``, ``uncovered_share_<w>``;
        geometry (the route).
    ``uncovered``
        Streets a school's students walk outside every designated route:
        ``school_id``, ``edge_id``, ``street``, ``exposure_am``, ``exposure_pm``
        (student-weighted risk), geometry (LineString).
    ``extensions``
        Proposed designed extensions of a designated route: ``extension_id``,
        ``school_id``, ``route_id``, ``length_m``, ``gain_am``, ``gain_pm``
        (exposure covered), ``gain_per_km``, ``description``, ``edge_ids``,
        geometry ((Multi)LineString).

    All geometries are in the network's CRS.
    """

    @property
    def network(self) -> WalkNetwork: ...
    @property
    def schools(self) -> gpd.GeoDataFrame: ...
    @property
    def risk(self) -> RiskLike | None: ...
    @property
    def corridors(self) -> gpd.GeoDataFrame: ...
    @property
    def origins(self) -> gpd.GeoDataFrame | None: ...
    @property
    def posts(self) -> gpd.GeoDataFrame: ...
    @property
    def roster(self) -> pd.DataFrame | None: ...
    @property
    def vendors(self) -> pd.DataFrame: ...
    @property
    def windows(self) -> pd.DataFrame: ...
    @property
    def staff(self) -> pd.DataFrame: ...
    @property
    def floaters(self) -> pd.DataFrame: ...
    @property
    def plan_name(self) -> str: ...
    @property
    def plan_date(self) -> str: ...
    @property
    def min_students(self) -> int: ...
    @property
    def review(self) -> gpd.GeoDataFrame | None: ...
    @property
    def uncovered(self) -> gpd.GeoDataFrame | None: ...
    @property
    def extensions(self) -> gpd.GeoDataFrame | None: ...


# ------------------------------------------------------------------ helpers
def select_schools(result: PlanLike, school_ids: Sequence[str] | None) -> gpd.GeoDataFrame:
    """The schools to show (all when ``school_ids`` is None); unknown ids raise DataError."""
    schools = result.schools
    require_columns(schools, ["school_id", "name"], "result.schools")
    if school_ids is None:
        return schools
    wanted = [str(s) for s in school_ids]
    unknown = sorted(set(wanted) - set(schools["school_id"].astype(str)))
    if unknown:
        raise DataError(f"school_ids {unknown} are not in result.schools; pick from its school_id")
    return schools[schools["school_id"].astype(str).isin(wanted)]


def school_names(result: PlanLike) -> dict[str, str]:
    """``school_id -> name`` of every school of the plan (unescaped)."""
    schools = result.schools
    require_columns(schools, ["school_id", "name"], "result.schools")
    return dict(zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True))


def post_schedule(result: PlanLike) -> pd.DataFrame:
    """One row per assigned worker shift, joined to the school's window times.

    Returns
    -------
    pandas.DataFrame
        ``post_id``, ``window``, ``weekday``, ``worker_id``, ``start``,
        ``end`` (HH:MM; the roster's shift, else the school's window).
    """
    columns = ["post_id", "window", "weekday", "worker_id", "start", "end"]
    roster = result.roster
    if roster is None or roster.empty:
        return pd.DataFrame(columns=columns)
    require_columns(roster, columns, "result.roster")
    return roster[columns].astype(str).sort_values(["post_id", "window", "weekday", "worker_id"])


def window_times(result: PlanLike) -> dict[tuple[str, str], str]:
    """``(school_id, window) -> "HH:MM–HH:MM"`` from ``result.windows``."""
    windows = result.windows
    require_columns(windows, ["school_id", "window", "start", "end"], "result.windows")
    return {
        (str(r.school_id), str(r.window)): f"{r.start}–{r.end}"
        for r in windows.itertuples(index=False)
    }
