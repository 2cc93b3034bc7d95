"""A SYNTHETIC Safe Passage program for tests and benchmarks.

Nothing here is real CPS or vendor data: schools, posts, vendors and workers are
drawn at random with ``numpy.random.default_rng(seed)`` to look like a program
of Chicago's scale (about 190 schools, 1,500 posts, 1,300 workers, 22 vendors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from safepassage.errors import ConfigError
from safepassage.schedule import WEEKDAYS
from safepassage.staffing.program import DEMAND_COLUMNS

__all__ = ["synthetic_program"]

_DAYS = np.array(WEEKDAYS)
_BELLS_MIN = np.array([465, 480, 495, 510, 525, 540])  # 07:45 to 09:00, minutes after midnight
_SCHOOL_DAY_MIN = 420  # dismissal 7 hours after the start bell


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _vendors(rng: np.random.Generator, n_schools: int, n_vendors: int) -> pd.DataFrame:
    schools = rng.permutation(n_schools)
    groups = np.array_split(schools, n_vendors)
    return pd.DataFrame(
        {
            "vendor_id": [f"V{v + 1:02d}" for v in range(n_vendors)],
            "name": [f"Synthetic Community Org {v + 1}" for v in range(n_vendors)],
            "school_ids": [";".join(f"S{s:03d}" for s in sorted(g)) for g in groups],
        }
    )


def _demand(rng: np.random.Generator, n_schools: int, n_posts: int) -> pd.DataFrame:
    # Posts per school vary (busy high schools get many): at least 2 each.
    weights = rng.gamma(shape=2.0, scale=1.0, size=n_schools)
    extra = rng.multinomial(n_posts - 2 * n_schools, weights / weights.sum())
    bells = rng.choice(_BELLS_MIN, size=n_schools)
    rows = []
    for school in range(n_schools):
        start = int(bells[school])
        spans = {
            "am": (start - 60, start + 15),
            "pm": (start + _SCHOOL_DAY_MIN - 15, start + _SCHOOL_DAY_MIN + 60),
        }
        for post in range(2 + int(extra[school])):
            post_id = f"S{school:03d}-P{post:02d}"
            draw = rng.random()
            windows = ["am"] if draw < 0.05 else ["pm"] if draw < 0.08 else ["am", "pm"]
            headcount = 2 if rng.random() < 0.05 else 1
            base = float(np.round(rng.lognormal(mean=0.0, sigma=0.5), 2))
            for window in windows:
                value = base * (1.3 if window == "pm" else 1.0)  # more incidents after school
                rows.append(
                    (
                        post_id,
                        f"S{school:03d}",
                        window,
                        _hhmm(spans[window][0]),
                        _hhmm(spans[window][1]),
                        headcount,
                        round(value, 2),
                        "Mon;Tue;Wed;Thu;Fri",
                    )
                )
    return pd.DataFrame(
        rows,
        columns=DEMAND_COLUMNS[:-1],  # no priorities
    )


def _workers(
    rng: np.random.Generator, vendors: pd.DataFrame, demand: pd.DataFrame, n_workers: int
) -> pd.DataFrame:
    pairs = zip(vendors["vendor_id"], vendors["school_ids"], strict=True)
    school_vendor = {s: v for v, schools in pairs for s in schools.split(";")}
    counts_by_vendor = demand["school_id"].map(school_vendor).value_counts()
    need = counts_by_vendor.reindex(vendors["vendor_id"], fill_value=0).to_numpy(dtype=float)
    # A quarter of the vendors are short-staffed, so unfilled reasons appear.
    staffing = np.where(rng.random(len(need)) < 0.25, 0.6, 1.0)
    counts = rng.multinomial(n_workers, need * staffing / (need * staffing).sum())
    rows = []
    for vendor_id, count in zip(vendors["vendor_id"], counts, strict=True):
        for _ in range(int(count)):
            days = list(_DAYS)
            draw = rng.random()
            if draw < 0.15:  # misses one weekday
                days.remove(str(rng.choice(_DAYS)))
            elif draw < 0.20:  # part-timer, three days
                days = sorted(rng.choice(_DAYS, size=3, replace=False), key=list(_DAYS).index)
            draw = rng.random()
            windows = "am" if draw < 0.10 else "pm" if draw < 0.15 else "am;pm"
            max_minutes = 120 if rng.random() < 0.05 else 300
            max_days = 4 if rng.random() < 0.10 else 5
            rows.append((vendor_id, ";".join(days), windows, max_minutes, max_days))
    table = pd.DataFrame(
        rows, columns=["vendor_id", "weekdays", "windows", "max_minutes_day", "max_days_week"]
    )
    table.insert(0, "worker_id", [f"W{i + 1:04d}" for i in range(len(table))])
    return table


def synthetic_program(
    n_schools: int = 190,
    n_posts: int = 1500,
    n_workers: int = 1300,
    n_vendors: int = 22,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw a SYNTHETIC program: vendors, workers and post-window demand (not real CPS data).

    Each vendor serves about ``n_schools / n_vendors`` schools; posts per school
    vary (at least 2); most posts are staffed morning and afternoon, a few only
    one; 5% need two workers.  Windows run from 60 min before the start bell to
    15 min after, and from 15 min before dismissal to 60 min after.  About 15%
    of workers miss a weekday, 5% work three days, 10% only mornings, 5% only
    afternoons, some are capped at 120 min a day or 4 days a week, and about a
    quarter of the vendors have only 60% of the workers they need.

    Parameters
    ----------
    n_schools, n_posts, n_workers, n_vendors : int
        Program size; ``n_posts >= 2 * n_schools`` and ``n_vendors <= n_schools``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same tables.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(vendors, workers, demand)`` in the schema of
        :func:`safepassage.staffing.roster.validate_roster_inputs`.
    """
    if n_posts < 2 * n_schools or not 1 <= n_vendors <= n_schools or n_workers < 0:
        raise ConfigError(
            [
                f"need n_posts >= 2 * n_schools and 1 <= n_vendors <= n_schools, got "
                f"n_schools={n_schools}, n_posts={n_posts}, n_vendors={n_vendors}, "
                f"n_workers={n_workers}"
            ]
        )
    rng = np.random.default_rng(seed)
    vendors = _vendors(rng, n_schools, n_vendors)
    demand = _demand(rng, n_schools, n_posts)
    workers = _workers(rng, vendors, demand, n_workers)
    return vendors, workers, demand
