"""Headcount and cost of a plan's posts: how many workers it needs and what they cost.

Per school: its chosen posts, the post-windows a week (each post in each of the
school's windows, Monday to Friday), the workers needed (one per post when the
school's windows fit in one worker's day, ``max_minutes_day``: the split shift;
else one per post and window) and their hours a week.  Per vendor, floaters are
added so that ``floater_share`` of its workers can stand by (``ceil(n s / (1 -
s))`` for ``n`` post workers and share ``s``), each working the vendor's mean
worker-day.  Cost a school year = hours a week / 5 x ``school_days`` x
``hourly_wage`` (wages only: no vendor overhead).  A row per vendor and school,
a subtotal row per vendor (``school_id`` ``ALL``, with the workers given, those
not yet cleared by the background check (counted apart: they cannot stand at a
post) and the shortfall against the cleared ones) and a total row (``vendor_id``
``ALL``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = ["NEEDS_COLUMNS", "Wages", "staffing_needs"]

NEEDS_COLUMNS = [
    "vendor_id",
    "school_id",
    "posts",
    "post_windows_week",
    "workers_needed",
    "floaters",
    "hours_week",
    "cost_year",
    "workers_given",
    "workers_uncleared",
    "shortfall",
]
ALL = "ALL"


@dataclass(frozen=True)
class Wages:
    """What a worker costs: dollars an hour, school days a year, and the day's cap (min)."""

    hourly_wage: float = 10.50
    school_days: int = 180
    max_minutes_day: int = 300
    floater_share: float = 0.1


def staffing_needs(
    posts: pd.DataFrame,
    windows: pd.DataFrame,
    vendors: pd.DataFrame | None,
    workers: pd.DataFrame | None,
    wages: Wages,
    cleared: pd.Series | None = None,
) -> pd.DataFrame:
    """The needs table (see the module docstring for its rows and columns).

    Parameters
    ----------
    posts
        ``post_id``, ``school_id``, ``selected``.
    windows
        ``school_id``, ``window``, ``minutes`` (the school's staffing windows).
    vendors, workers
        ``vendor_id`` and ``school_ids`` (lists); ``worker_id``, ``vendor_id``.
        Without vendors every school is one vendor ``""`` and no worker is given.
    cleared
        Per worker (aligned with ``workers``), may they stand at a post
        (:func:`~safepassage.staffing.staff.clearance`); default all.
    """
    chosen = posts[posts["selected"].astype(bool)]
    per_school = chosen.groupby(chosen["school_id"].astype(str)).size()
    shift = windows.groupby(windows["school_id"].astype(str))["minutes"].agg(["sum", "size"])
    rows = []
    owner = _vendor_of(vendors)
    minutes_of = shift["sum"].to_dict()
    windows_of = shift["size"].to_dict()
    for school, n_posts in per_school.items():
        minutes, n_windows = minutes_of.get(school, 0), windows_of.get(school, 0)
        split = minutes <= wages.max_minutes_day  # one worker stands all the school's windows
        rows.append(
            {
                "vendor_id": owner.get(str(school), ""),
                "school_id": str(school),
                "posts": int(n_posts),
                "post_windows_week": int(n_posts * n_windows * 5),
                "workers_needed": int(n_posts * (1 if split else n_windows)),
                "floaters": 0,
                "hours_week": float(n_posts * minutes * 5 / 60),
            }
        )
    table = pd.DataFrame(rows, columns=NEEDS_COLUMNS[:7]).assign(
        workers_given=0, workers_uncleared=0, shortfall=0
    )
    given = uncleared = pd.Series(dtype=int)
    if workers is not None:
        ok = cleared if cleared is not None else pd.Series(True, index=workers.index)
        vendor_of = workers["vendor_id"].astype(str)
        given, uncleared = vendor_of[ok].value_counts(), vendor_of[~ok].value_counts()
    parts, subtotals = [], []
    for vendor, schools in table.groupby("vendor_id", sort=True):
        counts = (int(given.get(vendor, 0)), int(uncleared.get(vendor, 0)))
        subtotals.append(_vendor_row(str(vendor), schools, counts, wages))
        parts += [schools, subtotals[-1]]
    if subtotals:
        parts.append(_total_row(pd.concat(subtotals, ignore_index=True)))
    out = pd.concat(parts, ignore_index=True) if parts else table
    out["cost_year"] = (out["hours_week"] / 5 * wages.school_days * wages.hourly_wage).round(2)
    out["hours_week"] = out["hours_week"].round(2)
    numbers = [c for c in NEEDS_COLUMNS[2:] if c not in ("hours_week", "cost_year")]
    out[numbers] = out[numbers].astype(int)
    return out[NEEDS_COLUMNS].reset_index(drop=True)


def _vendor_of(vendors: pd.DataFrame | None) -> dict[str, str]:
    """The vendor of each school (the first vendor id, sorted, that lists it)."""
    owner: dict[str, str] = {}
    if vendors is None:
        return owner
    for vendor, schools in sorted(
        zip(vendors["vendor_id"].astype(str), vendors["school_ids"], strict=True)
    ):
        for school in schools or []:
            owner.setdefault(str(school), vendor)
    return owner


def _vendor_row(
    vendor: str, schools: pd.DataFrame, counts: tuple[int, int], wages: Wages
) -> pd.DataFrame:
    given, uncleared = counts
    needed = int(schools["workers_needed"].sum())
    share = wages.floater_share
    floaters = math.ceil(needed * share / (1 - share) - 1e-9) if 0 < share < 1 else 0
    day_hours = float(schools["hours_week"].sum()) / 5 / needed if needed else 0.0
    row = {
        "vendor_id": vendor,
        "school_id": ALL,
        "posts": int(schools["posts"].sum()),
        "post_windows_week": int(schools["post_windows_week"].sum()),
        "workers_needed": needed + floaters,
        "floaters": floaters,
        "hours_week": float(schools["hours_week"].sum()) + floaters * day_hours * 5,
        "workers_given": given,
        "workers_uncleared": uncleared,
        "shortfall": max(0, needed + floaters - given),
    }
    return pd.DataFrame([row])


def _total_row(vendors: pd.DataFrame) -> pd.DataFrame:
    summed = vendors[
        [
            "posts",
            "post_windows_week",
            "workers_needed",
            "floaters",
            "hours_week",
            "workers_given",
            "workers_uncleared",
        ]
    ].sum()
    row = {"vendor_id": ALL, "school_id": ALL, **summed.to_dict()}
    row["shortfall"] = int(vendors["shortfall"].sum())  # each vendor's is >= 0
    return pd.DataFrame([row])
