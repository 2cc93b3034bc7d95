"""The SYNTHETIC program generator."""

from __future__ import annotations

import pandas as pd

from safepassage.staffing import synthetic_program, validate_roster_inputs


def test_same_seed_gives_identical_tables() -> None:
    first = synthetic_program(n_schools=20, n_posts=120, n_workers=100, n_vendors=3, seed=7)
    second = synthetic_program(n_schools=20, n_posts=120, n_workers=100, n_vendors=3, seed=7)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_different_seeds_give_different_programs() -> None:
    _, workers_a, _ = synthetic_program(n_schools=20, n_posts=120, n_workers=100, n_vendors=3)
    _, workers_b, _ = synthetic_program(
        n_schools=20, n_posts=120, n_workers=100, n_vendors=3, seed=1
    )
    assert not workers_a.equals(workers_b)


def test_program_scale_sizes_and_valid_inputs() -> None:
    vendors, workers, demand = synthetic_program()
    assert len(vendors) == 22
    assert len(workers) == 1300
    assert demand["post_id"].nunique() == 1500
    assert demand["school_id"].nunique() == 190
    validate_roster_inputs(vendors, workers, demand)
