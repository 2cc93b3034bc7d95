"""Post choice: maximal covering on CP-SAT and the greedy baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safepassage.errors import DataError, InfeasibleError
from safepassage.staffing import SolverSettings, choose_posts, greedy_posts, scale

SETTINGS = SolverSettings.for_tests()


@pytest.fixture
def candidates() -> pd.DataFrame:
    # A and B are 50 m apart; C is far from both.
    return pd.DataFrame(
        {
            "candidate_id": ["A", "B", "C"],
            "school_id": ["S1", "S1", "S2"],
            "x": [0.0, 50.0, 500.0],
            "y": [0.0, 0.0, 0.0],
        }
    )


COVERAGE = {"A": ["s1", "s2"], "B": ["s2", "s3"], "C": ["s4"]}
VALUES = {"s1": 6.0, "s2": 5.0, "s3": 5.0, "s4": 4.0}


def test_budget_two_picks_the_pair_covering_most_value(candidates: pd.DataFrame) -> None:
    choice = choose_posts(
        candidates, COVERAGE, VALUES, budget=2, min_spacing_m=0, settings=SETTINGS
    )
    assert choice.selected == ["A", "B"]
    assert choice.covered_value == pytest.approx(16.0)  # s2 counts once
    assert choice.status == "OPTIMAL"
    assert choice.gap == 0.0


def test_min_spacing_excludes_the_close_pair(candidates: pd.DataFrame) -> None:
    choice = choose_posts(
        candidates, COVERAGE, VALUES, budget=2, min_spacing_m=100, settings=SETTINGS
    )
    assert choice.selected == ["A", "C"]
    assert choice.covered_value == pytest.approx(15.0)


def test_per_school_budget_limits_each_school(candidates: pd.DataFrame) -> None:
    choice = choose_posts(
        candidates, COVERAGE, VALUES, budget={"S1": 1, "S2": 1}, min_spacing_m=0, settings=SETTINGS
    )
    assert choice.selected == ["A", "C"]


def test_mandatory_post_is_always_chosen(candidates: pd.DataFrame) -> None:
    choice = choose_posts(
        candidates, COVERAGE, VALUES, budget=2, min_spacing_m=0, mandatory=["C"], settings=SETTINGS
    )
    assert choice.selected == ["A", "C"]


def test_window_values_are_summed_per_segment(candidates: pd.DataFrame) -> None:
    table = pd.DataFrame(
        {"segment_id": ["s1", "s1", "s4"], "window": ["am", "pm", "am"], "value": [1.0, 1.0, 3.0]}
    )
    choice = choose_posts(candidates, COVERAGE, table, budget=1, min_spacing_m=0, settings=SETTINGS)
    assert choice.selected == ["C"]
    assert choice.covered_value == pytest.approx(3.0)


def test_mandatory_over_budget_raises(candidates: pd.DataFrame) -> None:
    with pytest.raises(InfeasibleError, match="exceed the budget"):
        choose_posts(
            candidates,
            COVERAGE,
            VALUES,
            budget=1,
            min_spacing_m=0,
            mandatory=["A", "C"],
            settings=SETTINGS,
        )


def test_mandatory_posts_too_close_raise_naming_both(candidates: pd.DataFrame) -> None:
    with pytest.raises(InfeasibleError, match="A and B"):
        choose_posts(
            candidates,
            COVERAGE,
            VALUES,
            budget=3,
            min_spacing_m=100,
            mandatory=["A", "B"],
            settings=SETTINGS,
        )


def test_unknown_mandatory_id_is_a_data_error(candidates: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="Z"):
        choose_posts(
            candidates,
            COVERAGE,
            VALUES,
            budget=2,
            min_spacing_m=0,
            mandatory=["Z"],
            settings=SETTINGS,
        )


def test_greedy_respects_spacing_and_never_beats_the_optimum(candidates: pd.DataFrame) -> None:
    greedy = greedy_posts(candidates, COVERAGE, VALUES, budget=2, min_spacing_m=100)
    best = choose_posts(
        candidates, COVERAGE, VALUES, budget=2, min_spacing_m=100, settings=SETTINGS
    )
    assert not {"A", "B"} <= set(greedy.selected)
    assert greedy.covered_value <= best.covered_value
    assert greedy.status == "GREEDY"


def test_scale_rounds_to_integers() -> None:
    scaled = scale([0.1234, 2.5, 1.0], 100)
    assert scaled.dtype == np.int64
    assert scaled.tolist() == [12, 250, 100]
