"""Englewood and West Englewood planned on their SY1617 designated routes (shared data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage.config import load_config
from safepassage.pipeline import plan
from safepassage.result import PlanResult

EXAMPLE = Path(__file__).parent.parent / "data" / "examples" / "englewood.toml"


@pytest.fixture(scope="module")
def designated(data_root: Path, network_cache: Path) -> PlanResult:
    """The example as configured, with the library's post defaults, without the roster."""
    cfg = load_config(EXAMPLE, data_root=data_root)
    assert cfg.posts.per_school is None  # the example keeps the program's density
    data = cfg.data.model_copy(
        update={"cache_dir": network_cache, "vendors": None, "workers": None}
    )
    return plan(cfg.model_copy(update={"data": data}))


def test_corridors_follow_the_designated_routes(designated: PlanResult) -> None:
    assert set(designated.corridors["source"]) == {"designated"}
    assert designated.comparison is not None
    total = designated.comparison.set_index("school_id").loc["ALL"]
    assert total["recall"] >= 0.95
    assert total["precision"] >= 0.90


def test_every_designated_route_has_a_review_row(designated: PlanResult) -> None:
    routes = designated.inputs.designated_routes
    assert routes is not None
    assert designated.review is not None
    planned = routes[routes["school_id"].isin(set(designated.schools["school_id"]))]
    assert len(designated.review) == len(planned) == 15
    assert (designated.review["matched_share"] > 0.6).all()
    assert designated.review["riskiest"].str.contains(" between ").all()


def test_posts_stand_at_the_programs_density(designated: PlanResult) -> None:
    km = designated.corridors["length_m"].sum() / 1000
    chosen = int(designated.posts["selected"].sum())
    assert chosen / km >= 3.5
