"""The split shift's walk rule and floaters covering before a post goes unfilled."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from safepassage.routes.network import WalkNetwork
from safepassage.staffing import SolverSettings, build_roster
from safepassage.staffing.program import DEMAND_COLUMNS
from safepassage.staffing.walk import WalkRule, walk_rule

SETTINGS = SolverSettings.for_tests()
SPANS = {"am": ("06:30", "08:30"), "pm": ("14:15", "17:15")}  # the 5-hour split shift
TWO_SCHOOLS = pd.DataFrame({"vendor_id": ["V1"], "name": ["One"], "school_ids": ["S1;S2"]})
SCHOOL_OF = {"A": "S1", "B": "S2"}


def _demand(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(post, school, win, *SPANS[win], 1, value, "Mon") for post, school, win, value in rows],
        columns=DEMAND_COLUMNS[:-1],
    )


def _workers(n: int) -> pd.DataFrame:
    return pd.DataFrame({"worker_id": [f"W{i}" for i in range(1, n + 1)], "vendor_id": ["V1"] * n})


# A at school S1 in the morning, B at school S2 in the afternoon
CROSS = _demand([("A", "S1", "am", 1.0), ("B", "S2", "pm", 1.0)])


def test_one_worker_takes_both_windows_when_the_posts_are_walkable() -> None:
    near = WalkRule(800.0, frozenset({("A", "B")}), SCHOOL_OF)
    roster = build_roster(TWO_SCHOOLS, _workers(1), CROSS, settings=SETTINGS, walk=near)
    assert len(roster.assignments) == 2
    assert roster.assignments["minutes"].sum() == 300  # 2 h + 3 h
    assert roster.unfilled.empty


def test_posts_too_far_apart_are_never_one_workers_day() -> None:
    far = WalkRule(800.0, frozenset(), SCHOOL_OF)
    alone = build_roster(TWO_SCHOOLS, _workers(1), CROSS, settings=SETTINGS, walk=far)
    assert len(alone.assignments) == 1  # one of the two windows, not both
    assert len(alone.unfilled) == 1
    pair = build_roster(TWO_SCHOOLS, _workers(2), CROSS, settings=SETTINGS, walk=far)
    assert pair.unfilled.empty
    assert pair.assignments.groupby("worker_id").size().max() == 1


def test_the_same_school_is_always_walkable() -> None:
    demand = _demand([("A", "S1", "am", 1.0), ("C", "S1", "pm", 1.0)])
    far = WalkRule(800.0, frozenset(), {"A": "S1", "C": "S1"})
    roster = build_roster(TWO_SCHOOLS, _workers(1), demand, settings=SETTINGS, walk=far)
    assert len(roster.assignments) == 2


def test_the_walk_rule_holds_over_a_larger_week() -> None:
    rows = [(f"A{i}", "S1", w, 1.0 + i) for i in range(3) for w in ("am", "pm")]
    rows += [(f"B{i}", "S2", w, 2.0 + i) for i in range(3) for w in ("am", "pm")]
    demand = _demand(rows).assign(weekdays="Mon;Tue;Wed")
    schools = {p: s for p, s, _, _ in rows}
    far = WalkRule(800.0, frozenset({("A0", "B0")}), schools)
    workers = _workers(5).assign(windows=["am;pm", "am;pm", "am;pm", "am", "pm"])
    roster = build_roster(TWO_SCHOOLS, workers, demand, settings=SETTINGS, walk=far)
    days = roster.assignments.pivot_table(
        index=["worker_id", "weekday"], columns="window", values="post_id", aggfunc="first"
    ).dropna()
    assert len(days)  # some workers hold both windows
    for am, pm in zip(days["am"], days["pm"], strict=True):
        assert far.allows(am, schools[am], pm, schools[pm])


def test_floaters_cover_before_a_post_goes_unfilled() -> None:
    demand = _demand([("A", "S1", "am", 1.0), ("C", "S1", "am", 1.0)])
    # W2 is the less available worker, so the floater
    workers = _workers(2).assign(weekdays=["Mon;Tue", "Mon"])
    roster = build_roster(TWO_SCHOOLS, workers, demand, floater_share=0.5, settings=SETTINGS)
    assert roster.floaters == ("W2",)
    assert roster.unfilled.empty  # the floater stands rather than leave C unstaffed
    assert set(roster.assignments["worker_id"]) == {"W1", "W2"}


def test_a_floater_stays_free_when_the_regular_workers_suffice() -> None:
    demand = _demand([("A", "S1", "am", 1.0)])
    workers = _workers(2).assign(weekdays=["Mon;Tue", "Mon"])
    roster = build_roster(TWO_SCHOOLS, workers, demand, floater_share=0.5, settings=SETTINGS)
    assert list(roster.assignments["worker_id"]) == ["W1"]


def _line_network() -> WalkNetwork:
    """Four corners 0-1-2-3 along one street, 300 m apart."""
    graph = nx.MultiDiGraph(crs="EPSG:32616")
    for i in range(4):
        graph.add_node(i, x=1000.0 + 300.0 * i, y=5000.0)
    for i in range(3):
        for u, v in ((i, i + 1), (i + 1, i)):
            graph.add_edge(u, v, key=0, length=300.0, highway="residential", name="Main")
    return WalkNetwork.from_graph(graph)


def test_walk_rule_measures_network_distance_between_schools() -> None:
    network = _line_network()
    posts = pd.DataFrame(
        {
            "post_id": ["P0", "P1", "P3"],
            "school_id": ["S1", "S2", "S3"],
            "node": [0, 1, 3],
        }
    )
    rule = walk_rule(network, posts, 800.0)
    assert rule.close == {("P0", "P1"), ("P1", "P3")}  # 300 m and 600 m
    assert not rule.allows("P0", "S1", "P3", "S3")  # 900 m
    wider = walk_rule(network, posts, 1000.0)
    assert ("P0", "P3") in wider.close


def test_walk_rule_only_pairs_schools_that_share_workers() -> None:
    network = _line_network()
    posts = pd.DataFrame({"post_id": ["P0", "P1"], "school_id": ["S1", "S2"], "node": [0, 1]})
    rule = walk_rule(network, posts, 800.0, groups=[{"S1"}, {"S2"}])
    assert rule.close == frozenset()


@pytest.mark.parametrize("limit", [0.0, -5.0])
def test_a_zero_walk_limit_allows_only_the_same_school(limit: float) -> None:
    network = _line_network()
    posts = pd.DataFrame({"post_id": ["P0", "P1"], "school_id": ["S1", "S2"], "node": [0, 1]})
    assert walk_rule(network, posts, limit).close == frozenset()
