"""The learned street style: training, the shipped model, corridors grown as legs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from safepassage.config import RoutesConfig
from safepassage.errors import DataError
from safepassage.inputs import PlanInputs
from safepassage.routes.corridors import designate_corridors, grow_from_probability, grow_legs
from safepassage.routes.network import WalkNetwork
from safepassage.routes.paths import RouteSet, prepare_route_costs, route_students
from safepassage.routes.style import (
    FEATURES,
    SchoolSegments,
    StreetContext,
    StyleModel,
    default_style,
    fit_budget,
    school_segments,
    segment_labels,
    train_style,
)
from safepassage.stages import corridor_style_model
from tests.conftest import CHICAGO_EPSG

X0, Y0 = 440_000.0, 4_630_000.0
N, STEP = 13, 100.0
AVENUES = (2, 6, 10)  # grid rows and columns that are arterials (secondary)


@pytest.fixture(scope="module")
def town() -> WalkNetwork:
    """13 x 13 grid, 100 m blocks; rows and columns 2, 6 and 10 are arterials."""
    lines, names, classes = [], [], []
    span = (N - 1) * STEP
    for i in range(N):
        kind = "secondary" if i in AVENUES else "residential"
        lines.append(shapely.LineString([(X0, Y0 + i * STEP), (X0 + span, Y0 + i * STEP)]))
        names.append(f"{i} St")
        lines.append(shapely.LineString([(X0 + i * STEP, Y0), (X0 + i * STEP, Y0 + span)]))
        names.append(f"{i} Ave")
        classes += [kind, kind]
    table = gpd.GeoDataFrame({"name": names, "highway": classes}, geometry=lines, crs=CHICAGO_EPSG)
    return WalkNetwork.from_centerlines(table)


def node(net: WalkNetwork, col: int, row: int) -> int:
    point = np.array([[X0 + col * STEP, Y0 + row * STEP]])
    return int(net.snap(point, max_m=1.0, strict=True).nodes[0])


def avenue_route(net: WalkNetwork, col: int, row: int) -> list[int]:
    """Edge ids of a route that walks from a school to the nearest arterial row and
    follows it 400 m each way: what every training route does."""
    avenue = min(AVENUES, key=lambda r: abs(r - row))
    stops = [(col, r) for r in range(row, avenue, 1 if avenue > row else -1)]
    stops += [(col, avenue)]
    along = [(c, avenue) for c in range(max(col - 4, 0), min(col + 4, N - 1) + 1)]
    ids: list[int] = []
    for path in (stops, along):
        for a, b in itertools.pairwise(path):
            ids.extend(net.edges_between([node(net, *a)], [node(net, *b)]).tolist())
    return ids


TRAINING = [(1, 1), (4, 4), (8, 3), (11, 9), (3, 8), (9, 11), (5, 12), (12, 5)]
PLANNED = (4, 9)  # off every arterial


def training_samples(
    net: WalkNetwork, context: StreetContext
) -> list[tuple[SchoolSegments, np.ndarray]]:
    matched = pd.DataFrame(
        {
            "school_id": [f"T{i}" for i in range(len(TRAINING))],
            "edge_ids": [avenue_route(net, c, r) for c, r in TRAINING],
        }
    )
    labels = segment_labels(context, matched)
    return [
        (school_segments(net, context, node(net, c, r)), labels[f"T{i}"])
        for i, (c, r) in enumerate(TRAINING)
    ]


@pytest.fixture(scope="module")
def learned(town: WalkNetwork) -> StyleModel:
    context = StreetContext.of(town)
    return train_style(training_samples(town, context), seed=3, max_iter=40)


def planned_routes(net: WalkNetwork) -> tuple[gpd.GeoDataFrame, RouteSet]:
    """The planned school and students from every grid node 300-600 m away (shortest paths)."""
    school = node(net, *PLANNED)
    schools = gpd.GeoDataFrame(
        {"school_id": ["P"], "node": [school]},
        geometry=[shapely.Point(X0 + PLANNED[0] * STEP, Y0 + PLANNED[1] * STEP)],
        crs=CHICAGO_EPSG,
    )
    far = [
        node(net, c, r)
        for c in range(N)
        for r in range(N)
        if 300 <= STEP * (abs(c - PLANNED[0]) + abs(r - PLANNED[1])) <= 600
    ]
    origins = gpd.GeoDataFrame(
        {
            "origin_id": [f"P-{i}" for i in range(len(far))],
            "school_id": "P",
            "students": 12,
            "node": far,
        },
        geometry=list(net.nodes.geometry.values[far]),
        crs=CHICAGO_EPSG,
    )
    routes = route_students(
        net,
        schools,
        origins,
        costs=prepare_route_costs(net, windows=("am",), risk=None, risk_weight=0.0, factors={}),
        max_walk_m=2000,
    )
    return schools, routes


def arterial_share(net: WalkNetwork, corridors: gpd.GeoDataFrame) -> float:
    ids = [int(e) for ids in corridors["edge_ids"] for e in ids]
    edges = net.edges.iloc[ids]
    return float(edges.loc[edges["highway"] == "secondary", "length"].sum() / edges["length"].sum())


def test_learned_corridor_follows_the_street_class_the_training_routes_take(
    town: WalkNetwork, learned: StyleModel
) -> None:
    schools, routes = planned_routes(town)
    designed = designate_corridors(town, schools, routes, budget_m=1200.0, style=learned)
    flow_only = designate_corridors(town, schools, routes, budget_m=1200.0)
    assert len(designed) == 1
    assert designed["length_m"].iloc[0] <= 1200.0 * 1.05
    # the school is on no arterial; the flow corridor stays mostly on residential streets
    assert arterial_share(town, flow_only) < 0.5
    assert arterial_share(town, designed) > 0.7
    # and the corridor starts at the school door
    ids = designed["edge_ids"].iloc[0]
    ends = set(town.edges["u"].iloc[ids]) | set(town.edges["v"].iloc[ids])
    assert node(town, *PLANNED) in ends
    assert learned.importances["arterial"] > 0


def test_same_seed_same_corridors(town: WalkNetwork) -> None:
    context = StreetContext.of(town)
    schools, routes = planned_routes(town)
    runs = []
    for _ in range(2):
        model = train_style(training_samples(town, context), seed=11, max_iter=20)
        runs.append(designate_corridors(town, schools, routes, budget_m=900.0, style=model))
    assert runs[0]["edge_ids"].tolist() == runs[1]["edge_ids"].tolist()
    assert runs[0]["edge_ids"].iloc[0]


def test_exported_trees_give_the_classifier_s_probabilities(
    town: WalkNetwork, tmp_path: Path
) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    context = StreetContext.of(town)
    samples = training_samples(town, context)
    model = train_style(samples, seed=0, max_iter=15)
    x = np.concatenate([s.features for s, _ in samples])
    y = np.concatenate([np.isin(s.rows, labels) for s, labels in samples])
    reference = HistGradientBoostingClassifier(
        max_iter=15,
        learning_rate=0.1,
        max_depth=4,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=0,
    ).fit(x, y)
    reloaded = StyleModel.load(model.save(tmp_path / "style.json"))
    np.testing.assert_allclose(model.probability(x), reference.predict_proba(x)[:, 1], atol=1e-9)
    np.testing.assert_allclose(reloaded.probability(x), model.probability(x), atol=1e-4)


def write_routes(path: Path, net: WalkNetwork, routes: dict[str, list[int]]) -> Path:
    """A route file as the city publishes it (lon/lat lines, schoolid/rt_num columns)."""
    lines = [
        shapely.line_merge(shapely.union_all(net.edges.geometry.values[ids]))
        for ids in routes.values()
    ]
    table = gpd.GeoDataFrame(
        {"schoolid": list(routes), "rt_num": ["1"] * len(routes)}, geometry=lines, crs=CHICAGO_EPSG
    )
    table.to_crs(4326).to_file(path, driver="GeoJSON")
    return path


def test_training_leaves_out_the_planned_school_s_own_route(
    town: WalkNetwork, tmp_path: Path
) -> None:
    everyone = [*TRAINING, PLANNED]
    ids = [f"T{i}" for i in range(len(TRAINING))] + ["P"]
    schools = gpd.GeoDataFrame(
        {"school_id": ids, "enrollment": 400.0, "grade_band": "elementary"},
        geometry=[shapely.Point(X0 + c * STEP, Y0 + r * STEP) for c, r in everyone],
        crs=CHICAGO_EPSG,
    )
    inputs = PlanInputs(crs=town.crs, schools=schools)
    others = {s: avenue_route(town, c, r) for s, (c, r) in zip(ids, TRAINING, strict=False)}
    # the planned school's own published route keeps to residential 4 Ave and 9 St
    own = [
        e
        for a, b in [((4, r), (4, r + 1)) for r in range(3, 9)]
        + [((c, 9), (c + 1, 9)) for c in range(4, 9)]
        for e in town.edges_between([node(town, *a)], [node(town, *b)]).tolist()
    ]
    without = write_routes(tmp_path / "without.geojson", town, others)
    with_own = write_routes(tmp_path / "with.geojson", town, {**others, "P": own})
    planned = schools[schools["school_id"] == "P"]
    trainees = schools[schools["school_id"] == "T0"]

    def model(path: Path, plan: gpd.GeoDataFrame) -> dict[str, object]:
        options = RoutesConfig(style_routes=(path,))
        return corridor_style_model(
            inputs, town, plan, np.zeros(len(town.edges)), options, seed=5
        ).to_dict()

    assert model(with_own, planned) == model(without, planned)
    # the check can fail: planning another school, P's route is used and the model changes
    assert model(with_own, trainees)["trees"] != model(without, trainees)["trees"]


def test_style_routes_of_planned_schools_only_are_refused(
    town: WalkNetwork, tmp_path: Path
) -> None:
    schools = gpd.GeoDataFrame(
        {"school_id": ["P"]}, geometry=[shapely.Point(X0, Y0)], crs=CHICAGO_EPSG
    )
    path = write_routes(tmp_path / "own.geojson", town, {"P": avenue_route(town, 1, 1)})
    with pytest.raises(DataError, match="style_routes"):
        corridor_style_model(
            PlanInputs(crs=town.crs, schools=schools),
            town,
            schools,
            np.zeros(len(town.edges)),
            RoutesConfig(style_routes=(path,)),
        )


def test_shipped_model_is_chicago_s_and_loads(tmp_path: Path) -> None:
    style = default_style()
    assert style.about["trained_on"]
    assert set(style.importances) == set(FEATURES)
    low, high = style.budget_range_m
    schools = gpd.GeoDataFrame(
        {
            "school_id": ["a", "b"],
            "enrollment": [200.0, 1500.0],
            "grade_band": ["elementary", "high"],
        },
        geometry=[shapely.Point(X0, Y0), shapely.Point(X0 + 5000, Y0)],
        crs=CHICAGO_EPSG,
    )
    budgets = style.budget_m(schools)
    assert ((budgets >= low) & (budgets <= high)).all()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 99, "features": ["x"]}))
    with pytest.raises(DataError, match=r"bad\.json"):
        StyleModel.load(bad)


def test_budget_model_learns_longer_routes_for_bigger_schools() -> None:
    enrollment = np.array([200.0, 300, 450, 600, 800, 1000, 1300, 1600])
    schools = pd.DataFrame({"enrollment": enrollment, "grade_band": "elementary"})
    route_m = 100 * np.sqrt(enrollment)  # length ~ enrollment ** 0.5
    coef = fit_budget(schools, schools, route_m, ridge=1e-6)
    assert coef[1] == pytest.approx(0.5, abs=1e-3)
    model = StyleModel(trees=(), baseline=0.0, base_rate=0.1, budget_coef=coef)
    np.testing.assert_allclose(model.budget_m(schools), np.clip(route_m, 600, 4100), rtol=1e-3)


def test_growth_from_given_probabilities_is_the_style_s_growth(
    town: WalkNetwork, learned: StyleModel
) -> None:
    """bench/style_probes.py grows corridors from probabilities of its own; given the
    style's own, the corridor is the style's; a wrong count is refused."""
    context = StreetContext.of(town)
    _, routes = planned_routes(town)
    segments = school_segments(town, context, node(town, *PLANNED))
    p = learned.probability(segments.features)
    args = (learned.base_rate, learned.growth, routes.routes, 900.0)
    grown = grow_from_probability(segments, context, p, *args)
    assert grown == grow_legs(segments, context, learned, routes.routes, 900.0)
    assert town.edges["length"].iloc[grown].sum() <= 900.0 * 1.05
    # all the weight on the column of the school door: the corridor runs along it
    door_column = np.array([n == f"{PLANNED[0]} Ave" for n in context.name[segments.rows]])
    along = grow_from_probability(segments, context, np.where(door_column, 0.9, 0.01), *args)
    names = set(town.edges["name"].iloc[along])
    assert names == {f"{PLANNED[0]} Ave"}
    with pytest.raises(DataError, match="probabilities for"):
        grow_from_probability(segments, context, p[:-1], *args)
