"""Headcount and cost of the posts, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from safepassage.staffing.needs import Wages, staffing_needs

POSTS = pd.DataFrame(
    {
        "post_id": ["A1", "A2", "A3", "B1", "B9"],
        "school_id": ["A", "A", "A", "B", "B"],
        "selected": [True, True, True, True, False],
    }
)
# school A: 120 + 180 minutes (the 5-hour split shift); school B: 200 + 200 minutes
WINDOWS = pd.DataFrame(
    {
        "school_id": ["A", "A", "B", "B"],
        "window": ["am", "pm", "am", "pm"],
        "minutes": [120, 180, 200, 200],
    }
)
VENDORS = pd.DataFrame({"vendor_id": ["V"], "school_ids": [["A", "B"]]})
WORKERS = pd.DataFrame({"worker_id": ["w1", "w2", "w3"], "vendor_id": ["V"] * 3})


def test_split_shifts_floaters_hours_and_cost() -> None:
    wages = Wages(hourly_wage=10.0, school_days=180, max_minutes_day=300, floater_share=0.1)
    table = staffing_needs(POSTS, WINDOWS, VENDORS, WORKERS, wages).set_index(
        ["vendor_id", "school_id"]
    )
    a, b = table.loc[("V", "A")], table.loc[("V", "B")]
    assert (a["posts"], a["post_windows_week"], a["workers_needed"]) == (3, 30, 3)
    assert a["hours_week"] == pytest.approx(3 * 5 * 5)  # 3 workers x 5 h x 5 days
    assert a["cost_year"] == pytest.approx(75 / 5 * 180 * 10.0)
    # B's windows add up to 400 min, over a worker's day: one worker per window
    assert (b["posts"], b["workers_needed"]) == (1, 2)
    vendor = table.loc[("V", "ALL")]
    # 5 post workers; 10 % floaters: ceil(5 x 0.1 / 0.9) = 1, working the mean day
    assert (vendor["floaters"], vendor["workers_needed"]) == (1, 6)
    day_h = (75 + 1 * 400 * 5 / 60) / 5 / 5
    assert vendor["hours_week"] == pytest.approx(75 + 400 * 5 / 60 + day_h * 5)
    assert (vendor["workers_given"], vendor["shortfall"]) == (3, 3)
    total = table.loc[("ALL", "ALL")]
    assert total["cost_year"] == pytest.approx(vendor["cost_year"])


def test_without_vendors_the_program_is_sized_anyway() -> None:
    table = staffing_needs(POSTS, WINDOWS, None, None, Wages(floater_share=0.0))
    total = table[table["vendor_id"] == "ALL"].iloc[0]
    assert total["workers_needed"] == 5
    assert total["workers_given"] == 0
    assert total["shortfall"] == 5
    assert set(table["vendor_id"]) == {"", "ALL"}


def test_a_plan_without_chosen_posts_needs_nobody() -> None:
    none = POSTS.assign(selected=False)
    table = staffing_needs(none, WINDOWS, VENDORS, WORKERS, Wages())
    assert table.empty
    assert "shortfall" in table.columns
