"""A small hand-made plan on the 5 x 5 test grid that meets the maps' data contract.

Grid nodes sit every 100 m from (440000, 4630000) in EPSG:26916.  School S1 is
named like a script injection; worker ``W&1`` has an ampersand.  Origin O2 has
3 students, below ``min_students`` = 10, so no map may show it.  Vendor V1 has a
contact, workers W&1 (named) and W2 (no name) and floater F1, who stands by at P2.

R1 (S1) is a designated route along E-W 0, its riskiest stretch the block
x = 100..200 m; R2 (S2) is a designed corridor.  S1's students also walk N-S 3
north of E-W 0, off every designated route (uncovered; the street is named like
a script), and extension E1 would add N-S 4 from E-W 0 to E-W 1 to R1.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from safepassage.maps import sheet
from safepassage.routes.network import WalkNetwork
from safepassage.staffing.roster import ASSIGNMENT_COLUMNS
from safepassage.staffing.staff import FLOATER_COLUMNS, STAFF_COLUMNS

X0, Y0 = 440_000.0, 4_630_000.0
EVIL_NAME = "<script>alert(1)</script>"
EVIL_STREET = "<script>alert('street')</script>"
EVIL_DESCRIPTION = "<img src=x onerror=alert(2)> N-S 4 to E-W 1"
RISKIEST_X = (X0 + 100.0, X0 + 200.0)  # R1's riskiest stretch, along E-W 0
SMALL_ORIGIN_XY = (X0 + 150.0, Y0 + 250.0)


@dataclass(frozen=True)
class Risk:
    table: pd.DataFrame


@dataclass(frozen=True)
class Plan:
    network: WalkNetwork
    schools: gpd.GeoDataFrame
    risk: Risk | None
    corridors: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame | None
    posts: gpd.GeoDataFrame
    roster: pd.DataFrame | None
    vendors: pd.DataFrame
    windows: pd.DataFrame
    plan_name: str = "Test plan"
    plan_date: str = "2016-09-06"
    min_students: int = 10
    review: gpd.GeoDataFrame | None = None
    uncovered: gpd.GeoDataFrame | None = None
    extensions: gpd.GeoDataFrame | None = None
    staff: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STAFF_COLUMNS))
    floaters: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FLOATER_COLUMNS))


def _node(net: WalkNetwork, dx: float, dy: float) -> int:
    return int(net.snap(np.array([[X0 + dx, Y0 + dy]]), max_m=1.0, strict=True).nodes[0])


def _route(net: WalkNetwork, stops: list[tuple[float, float]]) -> tuple[list[int], Any]:
    nodes = [_node(net, dx, dy) for dx, dy in stops]
    edge_ids: list[int] = []
    for a, b in itertools.pairwise(nodes):
        edge_ids += net.shortest_paths([a], [b]).edge_path(a, b)
    line = shapely.line_merge(shapely.union_all(net.edges.geometry.values[edge_ids]))
    return edge_ids, line


def _points(net: WalkNetwork, xy: list[tuple[float, float]]) -> Any:
    return shapely.points(np.array(xy))


def make_plan(net: WalkNetwork) -> Plan:
    crs = net.crs
    schools = gpd.GeoDataFrame(
        {
            "school_id": ["S1", "S2"],
            "name": [EVIL_NAME, "Hope & Unity Elementary"],
            "grades": ["K-8", "PK-8"],
            "bell_start": ["08:00", "08:15"],
            "bell_end": ["15:00", "15:15"],
            "node": [_node(net, 0, 0), _node(net, 400, 400)],
        },
        geometry=_points(net, [(X0, Y0), (X0 + 400, Y0 + 400)]),
        crs=crs,
    )
    r1_edges, r1 = _route(net, [(0, 0), (400, 0)])
    r2_edges, r2 = _route(net, [(400, 400), (400, 100)])
    corridors = gpd.GeoDataFrame(
        {
            "route_id": ["R1", "R2"],
            "school_id": ["S1", "S2"],
            "length_m": [400.0, 300.0],
            "students_served": [120, 45],
            "risk_exposure": [1.5, 0.7],
            "edge_ids": [r1_edges, r2_edges],
            "source": ["designated", "designed"],
            "matched_share": [0.97, np.nan],
        },
        geometry=[r1, r2],
        crs=crs,
    )
    edge_ids = np.arange(len(net.edges))
    risk = pd.DataFrame(
        {
            "edge_id": np.concatenate([edge_ids, edge_ids]),
            "window": ["am"] * len(edge_ids) + ["pm"] * len(edge_ids),
            "risk": np.concatenate([(edge_ids % 7) * 0.5, (edge_ids % 5) * 0.8]),
        }
    )
    origins = gpd.GeoDataFrame(
        {"origin_id": ["O1", "O2"], "school_id": ["S1", "S1"], "students": [25, 3]},
        geometry=_points(net, [(X0 + 300, Y0 + 100), SMALL_ORIGIN_XY]),
        crs=crs,
    )
    post_xy = [(100, 0), (200, 0), (300, 0), (400, 200)]
    posts = gpd.GeoDataFrame(
        {
            "post_id": ["P1", "P2", "P3", "P4"],
            "node": [_node(net, dx, dy) for dx, dy in post_xy],
            "school_id": ["S1", "S1", "S1", "S2"],
            "school_ids": [["S1"], ["S1"], ["S1"], ["S2"]],
            "route_ids": [["R1"], ["R1"], ["R1"], ["R2"]],
            "cross_streets": ["N-S 1 & E-W 0", "N-S 2 & E-W 0", "N-S 3 & E-W 0", "N-S 4 & E-W 2"],
            "value_am": [40.0, 35.0, 5.0, 20.0],
            "value_pm": [38.0, 30.0, 4.0, 18.0],
            "selected": [True, True, False, True],
        },
        geometry=_points(net, [(X0 + dx, Y0 + dy) for dx, dy in post_xy]),
        crs=crs,
    )
    shifts = [
        ("W&1", "V1", "P1", "S1", day, window, start, end)
        for day in ("Mon", "Tue", "Wed", "Thu", "Fri")
        for window, start, end in (("am", "07:15", "08:15"), ("pm", "14:45", "15:30"))
    ]
    shifts += [("W2", "V1", "P2", "S1", day, "am", "07:15", "08:15") for day in ("Mon", "Tue")]
    shifts += [("W3", "V2", "P4", "S2", "Mon", "pm", "15:00", "15:45")]
    roster = pd.DataFrame(
        shifts,
        columns=ASSIGNMENT_COLUMNS[:-1],  # minutes are added below
    )
    roster["minutes"] = 60
    vendors = pd.DataFrame(
        {
            "vendor_id": ["V1", "V2"],
            "name": ["Peace & Hope CBO", "Unity CBO"],
            "school_ids": [["S1"], ["S2"]],
            "contact": ["Dana Reyes", np.nan],
            "phone": ["773-555-0100", ""],
        }
    )
    staff = pd.DataFrame(
        [
            ("W&1", "V1", "Ana Núñez", "773-555-0111"),
            ("W2", "V1", "", ""),
            ("W3", "V2", "Lee Park", "773-555-0133"),
        ],
        columns=STAFF_COLUMNS,
    )
    floaters = pd.DataFrame(
        [("F1", "V1", "Flo Rivera", "773-555-0199", "S1", "P2", "Mon;Wed;Fri", "am;pm", 0)],
        columns=FLOATER_COLUMNS,
    )
    windows = pd.DataFrame(
        {
            "school_id": ["S1", "S1", "S2", "S2"],
            "window": ["am", "pm", "am", "pm"],
            "start": ["07:15", "14:45", "07:30", "15:00"],
            "end": ["08:15", "15:30", "08:30", "15:45"],
        }
    )
    return Plan(
        net,
        schools,
        Risk(risk),
        corridors,
        origins,
        posts,
        roster,
        vendors,
        windows,
        review=_review(net, corridors),
        staff=staff,
        floaters=floaters,
        uncovered=_uncovered(net),
        extensions=_extensions(net),
    )


def _review(net: WalkNetwork, corridors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    riskiest, _ = _route(net, [(100, 0), (200, 0)])
    row = {
        "route_id": "R1",
        "school_id": "S1",
        "length_m": 400.0,
        "matched_share": 0.97,
        "riskiest": "E-W 0 between N-S 1 and N-S 2",
        "riskiest_edge_ids": riskiest,
        "students_am": 110.0,
        "students_pm": 95.0,
        "risk_am": 2.5,
        "risk_pm": 3.2,
        "exposure_am": 110.0,
        "exposure_pm": 121.6,
        "uncovered_exposure_am": 12.0,
        "uncovered_exposure_pm": 15.0,
        "uncovered_share_am": 0.098,
        "uncovered_share_pm": 0.11,
    }
    return gpd.GeoDataFrame([row], geometry=[corridors.geometry.iloc[0]], crs=net.crs)


def _uncovered(net: WalkNetwork) -> gpd.GeoDataFrame:
    edge_ids, _ = _route(net, [(300, 0), (300, 200)])
    return gpd.GeoDataFrame(
        {
            "school_id": ["S1"] * len(edge_ids),
            "edge_id": edge_ids,
            "street": [EVIL_STREET] * len(edge_ids),
            "exposure_am": [5.0, 7.0][: len(edge_ids)],
            "exposure_pm": [6.0, 9.0][: len(edge_ids)],
        },
        geometry=net.edges.geometry.values[edge_ids],
        crs=net.crs,
    )


def _extensions(net: WalkNetwork) -> gpd.GeoDataFrame:
    edge_ids, line = _route(net, [(400, 0), (400, 100)])
    row = {
        "extension_id": "E1",
        "school_id": "S1",
        "route_id": "R1",
        "length_m": 100.0,
        "gain_am": 4.0,
        "gain_pm": 5.5,
        "gain_per_km": 55.0,
        "description": EVIL_DESCRIPTION,
        "edge_ids": edge_ids,
    }
    return gpd.GeoDataFrame([row], geometry=[line], crs=net.crs)


@pytest.fixture(scope="session")
def plan(grid: WalkNetwork) -> Plan:
    return make_plan(grid)


def texts_inside(fig: Figure) -> int:
    """Assert that every text of a printed page lies on the page, and each table cell's text
    in its cell, as matplotlib draws it; returns how many cells were checked.

    Drawn with DejaVu Sans (the packets' fallback font), wider than the Helvetica
    of the PDF core fonts.  Map labels (texts of an axes) are left out: they are
    placed, and kept apart, inside their map.
    """
    cells = 0
    with mpl.rc_context(sheet._RC):
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        page = fig.bbox
        for text in fig.findobj(Text):
            if text.axes is not None or not text.get_text():
                continue
            box = text.get_window_extent(renderer)
            where = f"{text.get_text()!r} at {text.get_fontsize()} pt"
            assert page.x0 <= box.x0, where
            assert box.x1 <= page.x1, where
            assert page.y0 <= box.y0, where
            assert box.y1 <= page.y1, where
            if text in sheet.CELLS:
                cell = sheet.CELLS[text].transformed(fig.transFigure)
                assert cell.x0 <= box.x0, where
                assert box.x1 <= cell.x1 + 0.5, where
                assert cell.y0 - 0.5 <= box.y0, where
                assert box.y1 <= cell.y1 + 0.5, where
                cells += 1
    return cells
