"""Program-wide worker limits ([staffing] max_minutes_day/max_days_week) and demand priority."""

from __future__ import annotations

import pandas as pd
import pytest

from safepassage.errors import DataError
from safepassage.staffing import SolverSettings, build_roster
from safepassage.staffing.program import DEMAND_COLUMNS

SETTINGS = SolverSettings.for_tests()
VENDORS = pd.DataFrame({"vendor_id": ["V1"], "name": ["One"], "school_ids": ["S1"]})
SPANS = {"am": ("07:00", "08:15"), "pm": ("14:45", "16:00")}  # 75 minutes each


def _demand(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(p, "S1", w, *SPANS[w], 1, v, "Mon;Tue;Wed;Thu;Fri", k) for p, w, v, k in rows],
        columns=DEMAND_COLUMNS,
    )


def _worker_days(roster: pd.DataFrame) -> pd.Series:
    return roster.groupby(["worker_id", "weekday"])["minutes"].sum()


def test_program_minutes_cap_every_worker_day() -> None:
    workers = pd.DataFrame({"worker_id": ["W1", "W2"], "vendor_id": ["V1", "V1"]})
    demand = _demand(
        [("A", "am", 2.0, 0), ("A", "pm", 2.0, 0), ("B", "am", 1.0, 0), ("B", "pm", 1.0, 0)]
    )
    free = build_roster(VENDORS, workers, demand, settings=SETTINGS)
    capped = build_roster(VENDORS, workers, demand, settings=SETTINGS, max_minutes_day=90)
    assert _worker_days(free.assignments).max() == 150  # both windows by default (300 min)
    assert _worker_days(capped.assignments).max() <= 90
    assert len(capped.assignments) < len(free.assignments)
    assert len(capped.unfilled) > 0


def test_stricter_limit_wins_between_column_and_program() -> None:
    workers = pd.DataFrame({"worker_id": ["W1"], "vendor_id": ["V1"], "max_days_week": [2]})
    demand = _demand([("A", "am", 1.0, 0)])
    loose = build_roster(VENDORS, workers, demand, settings=SETTINGS, max_days_week=4)
    tight = build_roster(
        VENDORS, workers.drop(columns="max_days_week"), demand, settings=SETTINGS, max_days_week=3
    )
    assert loose.assignments["weekday"].nunique() == 2  # the worker's own 2 days
    assert tight.assignments["weekday"].nunique() == 3  # the program's 3 days


def test_program_limits_must_be_positive() -> None:
    workers = pd.DataFrame({"worker_id": ["W1"], "vendor_id": ["V1"]})
    with pytest.raises(DataError, match=r"\[staffing\] max_minutes_day=0"):
        build_roster(VENDORS, workers, _demand([("A", "am", 1.0, 0)]), max_minutes_day=0)


def test_priority_post_windows_are_staffed_first_when_workers_are_short() -> None:
    workers = pd.DataFrame({"worker_id": ["W1"], "vendor_id": ["V1"], "windows": ["am"]})
    demand = _demand([("BIG", "am", 10.0, 0), ("MUST", "am", 0.5, 1)])
    plain = build_roster(VENDORS, workers, demand.assign(priority=0), settings=SETTINGS)
    first = build_roster(VENDORS, workers, demand, settings=SETTINGS)
    assert set(plain.assignments["post_id"]) == {"BIG"}
    assert set(first.assignments["post_id"]) == {"MUST"}
    assert set(first.unfilled["post_id"]) == {"BIG"}
    assert first.objective == pytest.approx(5 * 0.5)  # the bonus is not staffed value
    assert first.bound >= first.objective
