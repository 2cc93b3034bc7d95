"""stages.plan_roster passes [staffing] limits and mandatory priority to the roster."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd

from safepassage.config import PlanConfig, config_from_dict
from safepassage.inputs import PlanInputs
from safepassage.io import read_vendors, read_workers
from safepassage.routes.network import WalkNetwork
from safepassage.staffing import Roster, SolverSettings
from safepassage.stages import plan_roster

SETTINGS = SolverSettings.for_tests()


def _roster(config: PlanConfig, posts: pd.DataFrame, windows: pd.DataFrame) -> Roster | None:
    data = config.data
    assert data.vendors is not None
    assert data.workers is not None
    inputs = PlanInputs(
        "EPSG:26916",
        gpd.GeoDataFrame(),
        vendors=read_vendors(data.vendors),
        workers=read_workers(data.workers),
    )
    network = WalkNetwork.from_graph(_two_corners())
    return plan_roster(inputs, network, posts, windows, config.staffing, SETTINGS).roster


def _two_corners() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:26916")
    graph.add_node(0, x=440_000.0, y=4_630_000.0)
    graph.add_node(1, x=440_100.0, y=4_630_000.0)
    graph.add_edge(0, 1, key=0, length=100.0, highway="residential", name="Main")
    graph.add_edge(1, 0, key=0, length=100.0, highway="residential", name="Main")
    return graph


def _inputs(folder: Path, **staffing: object) -> tuple[PlanConfig, pd.DataFrame, pd.DataFrame]:
    (folder / "walk.graphml").write_text("<graphml/>")
    (folder / "schools.csv").write_text("SCHOOL_ID,SCHOOL_NM,X,Y\nS1,ONE,-87.6455,41.7733\n")
    (folder / "vendors.csv").write_text("vendor_id,name,school_ids\nV1,One,S1\n")
    (folder / "workers.csv").write_text("worker_id,vendor_id\nW1,V1\n")
    config = config_from_dict(
        {
            "data": {
                "networks": ["walk.graphml"],
                "schools": "schools.csv",
                "vendors": "vendors.csv",
                "workers": "workers.csv",
            },
            "staffing": {"floater_share": 0.0, **staffing},
        },
        config_path=folder / "plan.toml",
    )
    posts = pd.DataFrame(
        {
            "post_id": ["S1-Big-1st", "S1-Small-2nd"],
            "school_id": ["S1", "S1"],
            "school_ids": [["S1"], ["S1"]],
            "node": [0, 1],
            "kind": ["corner", "mandatory"],
            "value_am": [9.0, 1.0],
            "value_pm": [9.0, 1.0],
            "selected": [True, True],
        }
    )
    windows = pd.DataFrame(
        {
            "school_id": ["S1", "S1"],
            "window": ["am", "pm"],
            "start": ["07:00", "14:45"],
            "end": ["08:15", "16:00"],
        }
    )
    return config, posts, windows


def test_config_minutes_cap_every_worker_day(tmp_path: Path) -> None:
    config, posts, windows = _inputs(tmp_path)
    capped_config, _, _ = _inputs(tmp_path, max_minutes_day=90)
    free = _roster(config, posts, windows)
    capped = _roster(capped_config, posts, windows)
    assert free is not None
    assert capped is not None
    per_day = capped.assignments.groupby("weekday")["minutes"].sum()
    assert per_day.max() <= 90
    assert free.assignments.groupby("weekday")["minutes"].sum().max() == 150
    assert len(capped.assignments) < len(free.assignments)


def test_mandatory_posts_are_staffed_first(tmp_path: Path) -> None:
    config, posts, windows = _inputs(tmp_path, max_minutes_day=90)
    roster = _roster(config, posts, windows)
    assert roster is not None
    # one worker, one window a day: the mandatory post wins over the 9x more valuable one
    assert set(roster.assignments["post_id"]) == {"S1-Small-2nd"}
    assert len(roster.assignments) == 5  # every weekday
    assert (roster.unfilled["post_id"] == "S1-Big-1st").sum() == 10  # am and pm, all week
